//! Typed contexts shared across pages.

pub mod jobs;
mod settings;

pub use jobs::{Job, JobState, Jobs};
pub use settings::Settings;
