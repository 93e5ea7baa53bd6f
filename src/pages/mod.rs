mod edit;
mod gallery;
mod not_found;
mod settings;
mod shared;
mod studio;

pub use edit::{EditPage, add_edit_styles};
pub use gallery::GalleryPage;
pub use not_found::NotFound;
pub use settings::SettingsPage;
pub use shared::SharedPage;
pub use studio::Studio;
