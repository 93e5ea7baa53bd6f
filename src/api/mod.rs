//! Talking to the Images API (directly or through a relay). The only module that calls
//! `fetch`.

mod edit;
mod fetch;
mod generate;
mod relay;

pub use edit::{Upload, send_upload};
pub use generate::{GenerateError, GeneratedImage, Generation, generate};
pub use relay::{RelayInfo, relay_info};
