use leptos::prelude::*;

use crate::components::{
    GalleryFiles, GalleryGrid, GalleryToolbar, Lightbox, ShareDialog, StorageHealth,
};
use crate::state::{Gallery, GalleryStatus, GalleryTransfer, GalleryView};

const GALLERY_CSS: &str = include_str!("../../style/gallery.css");

/// Every stored image: search, filter, select, open.
#[component]
pub fn GalleryPage() -> impl IntoView {
    crate::storage::browser::mark("gallery-page");
    crate::components::add_styles("gallery-styles", GALLERY_CSS);
    let gallery = expect_context::<Gallery>();
    let view = GalleryView::provide(gallery);
    let gallery = view.gallery;
    GalleryTransfer::provide(view);
    view! {
        <main class="gallery-page">
            <GalleryToolbar />
            <div class="gallery-status">
                <StorageHealth />
                <GalleryFiles />
            </div>
            {move || match gallery.status.get() {
                GalleryStatus::Loading => view! { <p class="empty">"Opening the gallery…"</p> }.into_any(),
                GalleryStatus::Unavailable(reason) => view! {
                    <p class="banner warn" role="alert">
                        {format!("The gallery cannot be opened in this browser: {reason}. ")}
                        "New images stay on the studio page until it closes."
                    </p>
                }
                .into_any(),
                GalleryStatus::Ready => view! {
                    <Show
                        when=move || !view.shown.with(Vec::is_empty)
                        fallback=move || view! {
                            <p class="empty">
                                {move || if view.query.with(|q| q.is_filtering()) {
                                    "Nothing matches this search."
                                } else {
                                    "No images yet. Generate some in the studio: every image is kept here."
                                }}
                            </p>
                        }
                    >
                        <GalleryGrid />
                    </Show>
                }
                .into_any(),
            }}
            <UndoToast />
            <Lightbox />
            {move || view.sharing.get().map(|items| view! {
                <ShareDialog items close=Callback::new(move |()| view.sharing.set(None)) />
            })}
        </main>
    }
}

#[component]
fn UndoToast() -> impl IntoView {
    let view = expect_context::<GalleryView>();
    move || {
        view.message.get().map(|message| {
            let undoable = !view.deleting.with(Vec::is_empty);
            view! {
                <div class="toast" role="status">
                    <span>{message}</span>
                    {undoable.then(|| view! {
                        <button type="button" id="undo-delete" on:click=move |_| view.undo_delete()>"Undo"</button>
                    })}
                    <button type="button" class="dismiss" aria-label="Close" on:click=move |_| view.message.set(None)>"×"</button>
                </div>
            }
        })
    }
}
