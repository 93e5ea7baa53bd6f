//! Typed contexts shared across pages.

mod draft;
mod gallery;
mod gallery_transfer;
mod gallery_view;
pub mod grid_layout;
pub mod jobs;
mod settings;
mod shares;

pub use draft::{CUSTOM_MODEL, CUSTOM_SIZE, Draft};
pub use gallery::{GALLERY_DB, Gallery, GalleryStatus};
pub use gallery_transfer::{GalleryTransfer, Progress};
pub use gallery_view::{GalleryQuery, GalleryView};
pub use jobs::{Job, JobState, Jobs};
pub use settings::Settings;
pub use shares::{MadeShare, MadeShares};
