//! Easel: a browser studio for AI image generation.

pub mod api;
pub mod components;
pub mod pages;
pub mod site;
pub mod state;
pub mod storage;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, path};

use crate::components::AppHeader;
use crate::pages::{EditPage, GalleryPage, NotFound, SettingsPage, SharedPage, Studio};
use crate::state::{Draft, GALLERY_DB, Gallery, GalleryQuery, Jobs, Settings};

#[component]
pub fn App() -> impl IntoView {
    storage::browser::mark("app");
    let settings = Settings::provide();
    let draft = Draft::provide();
    leptos::task::spawn_local(async move {
        if let Some(model) = settings.adopt_deployment().await {
            draft.use_model(&model);
        }
    });
    let gallery = Gallery::provide(GALLERY_DB);
    Jobs::provide(gallery);
    GalleryQuery::provide();
    view! {
        <Router base=site::base_path()>
            <AppHeader />
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Studio />
                <Route path=path!("/gallery") view={Lazy::<GalleryRoute>::new()} />
                <Route path=path!("/settings") view={Lazy::<SettingsRoute>::new()} />
                <Route path=path!("/edit") view={Lazy::<EditRoute>::new()} />
                <Route path=path!("/shared") view={Lazy::<SharedRoute>::new()} />
            </Routes>
        </Router>
    }
}

/// Declares a route whose page is loaded only when first visited: in release builds
/// (`--cfg easel_split`, see DESIGN.md) the page's code is a separate wasm chunk, so the
/// studio starts sooner. A chunk that cannot be downloaded (say, the connection dropped)
/// shows [`ChunkFailed`] instead of stopping the app; the next visit fetches it again.
macro_rules! lazy_page {
    ($route:ident, $chunk:ident, $page:ident) => {
        struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_: Self) -> AnyView {
                #[cfg(easel_split)]
                return $chunk()
                    .await
                    .unwrap_or_else(|_| view! { <ChunkFailed /> }.into_any());
                #[cfg(not(easel_split))]
                return view! { <$page /> }.into_any();
            }
        }

        #[cfg(easel_split)]
        #[leptos::wasm_split::wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible)]
        fn $chunk() -> Result<AnyView, leptos::wasm_split::SplitLoaderError> {
            Ok(view! { <$page /> }.into_any())
        }
    };
}

lazy_page!(GalleryRoute, easel_gallery, GalleryPage);
lazy_page!(SettingsRoute, easel_settings, SettingsPage);
lazy_page!(EditRoute, easel_edit, EditPage);
lazy_page!(SharedRoute, easel_shared, SharedPage);

/// A page's code could not be downloaded.
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
                "This page could not be loaded: the connection may have dropped. Your images are \
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
