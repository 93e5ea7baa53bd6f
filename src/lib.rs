//! Easel: a browser studio for AI image generation.

pub mod api;
pub mod components;
pub mod pages;
pub mod state;
pub mod storage;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, path};

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
                <Route path=path!("/gallery") view={Lazy::<GalleryRoute>::new()} />
                <Route path=path!("/settings") view=SettingsPage />
            </Routes>
        </Router>
    }
}

/// The gallery page, loaded only when first visited: its code is a separate wasm chunk in
/// release builds (`--cfg easel_split`, see DESIGN.md), so the studio starts sooner.
struct GalleryRoute;

impl LazyRoute for GalleryRoute {
    fn data() -> Self {
        GalleryRoute
    }

    async fn view(_: Self) -> AnyView {
        #[cfg(easel_split)]
        return gallery_chunk()
            .await
            .unwrap_or_else(|_| view! { <ChunkFailed /> }.into_any());
        #[cfg(not(easel_split))]
        return view! { <GalleryPage /> }.into_any();
    }
}

/// A failed download (say, the connection dropped) returns an error instead of stopping the
/// app; the next visit fetches it again.
#[cfg(easel_split)]
#[leptos::wasm_split::wasm_split(easel_gallery, wasm_split_path = ::leptos::wasm_split, fallible)]
fn gallery_chunk() -> Result<AnyView, leptos::wasm_split::SplitLoaderError> {
    Ok(view! { <GalleryPage /> }.into_any())
}

/// The gallery's code could not be downloaded.
#[cfg_attr(not(easel_split), allow(dead_code))]
#[component]
fn ChunkFailed() -> impl IntoView {
    let reload = |_| {
        if let Some(window) = web_sys::window() {
            window.location().reload().ok();
        }
    };
    view! {
        <main class="page narrow">
            <p class="banner warn" role="alert" id="chunk-failed">
                "The gallery could not be loaded: the connection may have dropped. Your images are \
                 safe in this browser. "
                <button type="button" on:click=reload>"Reload"</button>
            </p>
        </main>
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
