use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use crate::state::{GalleryTransfer, GalleryView};
use crate::storage::ExportFormat;

/// Export the selection or everything as a ZIP, or as a web page to open or publish (the
/// selection when there is one); import such a ZIP back (duplicates skipped).
#[component]
pub fn GalleryFiles() -> impl IntoView {
    let view = expect_context::<GalleryView>();
    let transfer = expect_context::<GalleryTransfer>();
    let busy = move || transfer.busy();
    let selecting = move || view.selected.with(|s| !s.is_empty());
    let import = move |input: HtmlInputElement| {
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            // Cleared so that choosing the same file again fires `change` again.
            input.set_value("");
            transfer.import(file);
        }
    };

    view! {
        <div class="gallery-files">
            <button type="button" id="export-selection"
                disabled=move || !selecting() || busy()
                on:click=move |_| transfer.export(view.selected_items(), ExportFormat::Archive)>"Export selection"</button>
            <button type="button" id="export-all" disabled=busy on:click=move |_| transfer.export_all()>"Export all"</button>
            <button type="button" id="export-page" disabled=busy
                title="A ZIP with an index.html that shows the images with their prompts: open it from disk or publish the folder"
                on:click=move |_| {
                    let items = if selecting() { view.selected_items() } else { view.gallery.items.get_untracked() };
                    transfer.export(items, ExportFormat::WebPage);
                }>
                {move || if selecting() { "Selection as a web page" } else { "All as a web page" }}
            </button>
            <label class="button" for="import-zip">"Import ZIP"</label>
            <input id="import-zip" type="file" accept=".zip,application/zip" class="visually-hidden"
                on:change=move |ev| {
                    if let Some(input) = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) {
                        import(input);
                    }
                } />
            {move || transfer.progress.get().map(|p| view! {
                <span class="file-progress" role="status">
                    {format!("{}… {} of {}", p.label, p.done, p.total)}
                    <progress max=p.total.max(1) value=p.done></progress>
                </span>
            })}
        </div>
    }
}
