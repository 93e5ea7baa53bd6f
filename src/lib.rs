//! Easel: a browser studio for AI image generation.

pub mod api;
pub mod components;
pub mod pages;
pub mod state;
pub mod storage;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::AppHeader;
use crate::pages::{GalleryPage, NotFound, SettingsPage, Studio};
use crate::state::{Draft, GALLERY_DB, Gallery, GalleryView, Jobs, Settings};

#[component]
pub fn App() -> impl IntoView {
    Settings::provide();
    Draft::provide();
    let gallery = Gallery::provide(GALLERY_DB);
    Jobs::provide(gallery);
    GalleryView::provide(gallery);
    view! {
        <Router>
            <AppHeader />
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Studio />
                <Route path=path!("/gallery") view=GalleryPage />
                <Route path=path!("/settings") view=SettingsPage />
            </Routes>
        </Router>
    }
}

/// After a panic the app can no longer update the page: say so plainly instead of leaving a
/// frozen screen. Plain DOM calls, since the reactive system may be what failed.
pub fn show_crash_notice() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let (Ok(notice), Some(body)) = (document.create_element("div"), document.body()) else {
        return;
    };
    notice.set_id("crash-notice");
    notice.set_attribute("role", "alert").ok();
    notice.set_text_content(Some(
        "Easel hit an internal error and stopped. Reload the page to continue; your settings are kept. \
         Details are in the browser console.",
    ));
    body.prepend_with_node_1(&notice).ok();
}
