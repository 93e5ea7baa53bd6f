//! The shared truth of Easel: what each model accepts, the shapes the Images API speaks,
//! validation with reasons a person can read, and error classification.
//!
//! Pure Rust with no browser or server dependencies, so it is tested natively and ships
//! inside both the wasm app and the relay.

pub mod api;
pub mod backend;
pub mod catalog;
pub mod crc32;
pub mod decimal;
pub mod edit;
pub mod error;
pub mod files;
pub mod gallery;
pub mod manifest;
pub mod markup;
pub mod png_text;
pub mod pricing;
pub mod retry;
pub mod sealed;
pub mod share;
pub mod size;
pub mod sse;
pub mod validate;
pub mod web_page;
pub mod zip;

pub use api::{GenerationRequest, ImageData, ImagesResponse, Usage};
pub use backend::{AuthStyle, Backend, Deployment, KeyStorage, Mode, Profile, Profiles};
pub use catalog::{Model, ModelStatus};
pub use error::{ApiFailure, FailureKind};
pub use size::Size;
pub use validate::{EditGuides, Problem, validate, validate_edit, validate_free_form};
