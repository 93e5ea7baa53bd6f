//! Typed contexts shared across pages.

mod draft;
mod gallery;
pub mod jobs;
mod settings;

pub use draft::{CUSTOM_MODEL, Draft};
pub use gallery::{GALLERY_DB, Gallery, GalleryStatus};
pub use jobs::{Job, JobState, Jobs};
pub use settings::Settings;
