//! Browser storage: object-URL ownership now; the IndexedDB gallery later.

mod object_url;
mod preferences;

pub use object_url::ObjectUrl;
pub use preferences::{load_json, load_text, remove, save_json, save_text};
