use easel_core::gallery::GalleryItem;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use crate::state::GalleryView;
use crate::storage::{ExportFormat, export_zip, import_zip, save_as};

/// A long file operation under way: what, and how far.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub label: &'static str,
    pub done: usize,
    pub total: usize,
}

/// ZIP export and import of the gallery, one at a time, with progress. Shared by the file
/// buttons and the storage warning (which offers an export when space runs low).
#[derive(Clone, Copy)]
pub struct GalleryTransfer {
    view: GalleryView,
    pub progress: RwSignal<Option<Progress>>,
}

impl GalleryTransfer {
    pub fn provide(view: GalleryView) -> Self {
        let transfer = GalleryTransfer {
            view,
            progress: RwSignal::new(None),
        };
        provide_context(transfer);
        transfer
    }

    /// Progress callback for the archive code: `done` of `total` under `label`.
    fn reporter(&self, label: &'static str) -> impl Fn(usize, usize) + 'static {
        let progress = self.progress;
        move |done, total| progress.set(Some(Progress { label, done, total }))
    }

    pub fn busy(&self) -> bool {
        self.progress.with(Option::is_some)
    }

    /// Every stored image, as a ZIP download.
    pub fn export_all(&self) {
        self.export(
            self.view.gallery.items.get_untracked(),
            ExportFormat::Archive,
        );
    }

    /// `items` as a ZIP download (`easel-gallery-<date>.zip`, or `easel-page-<date>.zip` for a
    /// web page); the outcome shows as a message.
    pub fn export(&self, items: Vec<GalleryItem>, format: ExportFormat) {
        if items.is_empty() || self.busy() {
            return;
        }
        let (view, progress) = (self.view, self.progress);
        let report = self.reporter("Exporting");
        report(0, items.len());
        spawn_local(async move {
            let outcome = match view.gallery.db().await {
                Ok(db) => export_zip(&db, &items, format, &report)
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
                    let (name, what) = match format {
                        ExportFormat::Archive => ("gallery", "images"),
                        ExportFormat::WebPage => {
                            ("page", "images as a web page: unzip and open index.html")
                        }
                    };
                    save_as(&zip, &format!("easel-{name}-{day}.zip"));
                    view.message
                        .set(Some(format!("Exported {} {what}.", items.len())));
                }
                Err(e) => view.message.set(Some(format!("Export failed: {e}"))),
            }
        });
    }

    /// Adds the images of an Easel ZIP export, skipping those already stored.
    pub fn import(&self, file: File) {
        if self.busy() {
            return;
        }
        let (view, progress) = (self.view, self.progress);
        let report = self.reporter("Importing");
        report(0, 0);
        spawn_local(async move {
            let outcome = import_zip(&view.gallery, &file, &report).await;
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
    }
}
