use easel_core::gallery::GalleryItem;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use crate::state::GalleryView;
use crate::storage::{export_zip, import_zip, save_as};

/// A long file operation under way: what, and how far.
#[derive(Clone, Debug, PartialEq)]
struct Progress {
    label: &'static str,
    done: usize,
    total: usize,
}

/// Export the selection or everything as a ZIP; import such a ZIP back (duplicates skipped).
#[component]
pub fn GalleryFiles() -> impl IntoView {
    let view = expect_context::<GalleryView>();
    let progress = RwSignal::new(None::<Progress>);
    let busy = move || progress.with(Option::is_some);

    let export = move |items: Vec<GalleryItem>| {
        if items.is_empty() || busy() {
            return;
        }
        progress.set(Some(Progress {
            label: "Exporting",
            done: 0,
            total: items.len(),
        }));
        spawn_local(async move {
            let outcome = match view.gallery.db().await {
                Ok(db) => export_zip(&db, &items, &|done, total| {
                    progress.set(Some(Progress {
                        label: "Exporting",
                        done,
                        total,
                    }));
                })
                .await
                .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            progress.set(None);
            match outcome {
                Ok(zip) => {
                    let day = String::from(js_sys::Date::new_0().to_iso_string())
                        .chars()
                        .take(10)
                        .collect::<String>();
                    save_as(&zip, &format!("easel-gallery-{day}.zip"));
                    view.message
                        .set(Some(format!("Exported {} images.", items.len())));
                }
                Err(e) => view.message.set(Some(format!("Export failed: {e}"))),
            }
        });
    };
    let import = move |input: HtmlInputElement| {
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        input.set_value("");
        progress.set(Some(Progress {
            label: "Importing",
            done: 0,
            total: 0,
        }));
        spawn_local(async move {
            let outcome = import_zip(&view.gallery, &file, &|done, total| {
                progress.set(Some(Progress {
                    label: "Importing",
                    done,
                    total,
                }));
            })
            .await;
            progress.set(None);
            view.message.set(Some(match outcome {
                Ok(report) => {
                    let mut text = format!(
                        "Imported {} images; {} already in the gallery.",
                        report.added, report.skipped_duplicates
                    );
                    if report.failed > 0 {
                        text.push_str(&format!(
                            " {} could not be read: {}",
                            report.failed,
                            report.problems.join("; ")
                        ));
                    }
                    text
                }
                Err(e) => format!("Import failed: {e}"),
            }));
        });
    };
    let all_items = move || view.gallery.items.get_untracked();

    view! {
        <div class="gallery-files">
            <button type="button" id="export-selection"
                disabled=move || view.selected.with(|s| s.is_empty()) || busy()
                on:click=move |_| export(view.selected_items())>"Export selection"</button>
            <button type="button" id="export-all" disabled=busy on:click=move |_| export(all_items())>"Export all"</button>
            <label class="button" for="import-zip">"Import ZIP"</label>
            <input id="import-zip" type="file" accept=".zip,application/zip" class="visually-hidden"
                on:change=move |ev| {
                    if let Some(input) = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) {
                        import(input);
                    }
                } />
            {move || progress.get().map(|p| view! {
                <span class="file-progress" role="status">
                    {format!("{}… {} of {}", p.label, p.done, p.total)}
                    <progress max=p.total.max(1) value=p.done></progress>
                </span>
            })}
        </div>
    }
}
