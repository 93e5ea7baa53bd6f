mod app_header;
mod gallery_files;
mod gallery_grid;
mod gallery_toolbar;
mod job_card;
mod key_storage;
mod lightbox;
mod mask_painter;
mod prompt_form;
mod relay_banner;
mod settings_drop;
mod share_dialog;
mod storage_health;

pub use app_header::{AppHeader, ProfileSwitch};
pub use gallery_files::GalleryFiles;
pub use gallery_grid::{GalleryGrid, StoredThumb};
pub use gallery_toolbar::GalleryToolbar;
pub use job_card::JobCard;
pub use key_storage::{KeyPrompt, KeyStorageChoice};
pub use lightbox::Lightbox;
pub use mask_painter::{MaskHandle, MaskPainter};
pub use prompt_form::{ModelSelect, Pick, PromptForm};
pub use relay_banner::RelayBanner;
pub use settings_drop::SettingsDrop;
pub use share_dialog::{ShareDialog, add_share_styles, app_base};
pub use storage_health::StorageHealth;

/// Adds a page's styles to the document once (`id` names the `<style>`): lazy pages carry
/// their CSS in their chunk, so the first load's stylesheet does not grow.
pub fn add_styles(id: &str, css: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document.get_element_by_id(id).is_some() {
        return;
    }
    // In the body rather than the head: the same effect, one browser call fewer in the glue.
    if let (Ok(style), Some(body)) = (document.create_element("style"), document.body()) {
        style.set_id(id);
        style.set_text_content(Some(css));
        let _ = body.append_child(&style);
    }
}
