//! Talking to the Images API (directly or through a relay). The only module that calls
//! `fetch`.

mod edit;
mod fetch;
mod generate;
mod relay;
mod shares;

pub use edit::{Upload, send_upload};
pub use fetch::offline;
pub use generate::{GenerateError, GeneratedImage, Generation, generate};
pub use relay::{RelayInfo, relay_info};
pub use shares::{
    CreatedShare, HostedError, HostedImage, HostedShare, create_share, delete_share, fetch_image,
    fetch_share,
};
