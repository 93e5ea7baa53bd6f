use easel_core::decimal::{self, bytes};
use leptos::prelude::*;

use crate::state::{GalleryTransfer, GalleryView};

/// Share of the quota at which the gallery warns and offers to make room (the meter's `low`).
const WARN_AT: f64 = 0.8;

/// How much room the gallery takes, whether the browser promised to keep it, and what to do
/// when space runs low.
#[component]
pub fn StorageHealth() -> impl IntoView {
    let view = expect_context::<GalleryView>();
    let transfer = expect_context::<GalleryTransfer>();
    let gallery = view.gallery;
    let share = move || {
        gallery
            .usage
            .get()
            .map(|(used, quota)| if quota > 0.0 { used / quota } else { 0.0 })
    };
    let delete_all_but_favorites = move |_| {
        let ids: Vec<String> = gallery.items.with_untracked(|all| {
            all.iter()
                .filter(|i| !i.favorite)
                .map(|i| i.id.clone())
                .collect()
        });
        view.delete(ids);
    };
    view! {
        <section class="storage-health" aria-label="Storage">
            {move || gallery.usage.get().map(|(used, quota)| view! {
                <label class="storage-meter">
                    <span>{format!("Storage: {} of {}", bytes(used), bytes(quota))}</span>
                    <meter id="storage-meter" min="0" max="1" low="0.8" high="0.95"
                        value=decimal::fixed(share().unwrap_or(0.0), 4)></meter>
                </label>
            })}
            <span class="hint" id="persistence">
                {move || match gallery.persisted.get() {
                    Some(true) => "The browser keeps this gallery even when space runs low.",
                    Some(false) => "The browser may clear this gallery when space runs low: export it now and then.",
                    None => "At the first save Easel asks the browser to keep the gallery, so it is not cleared when space runs low.",
                }}
            </span>
            <Show when=move || share().is_some_and(|s| s >= WARN_AT)>
                <p class="banner warn" role="alert" id="storage-warning">
                    "Storage is almost full. Export what you want to keep, or make room. "
                    <button type="button" id="warning-export" disabled=move || transfer.busy()
                        on:click=move |_| transfer.export_all()>"Export all"</button>
                    <button type="button" id="delete-non-favorites" on:click=delete_all_but_favorites>
                        "Delete all but favorites"
                    </button>
                </p>
            </Show>
        </section>
    }
}
