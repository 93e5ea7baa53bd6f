//! Browser storage: the IndexedDB gallery, image helpers, object-URL ownership, preferences.

pub mod browser;
mod gallery_db;
mod object_url;
mod preferences;

pub use gallery_db::{GalleryDb, NewImage, StorageError, StoredItem};
pub use object_url::ObjectUrl;
pub use preferences::{load_json, load_text, remove, save_json, save_text};
