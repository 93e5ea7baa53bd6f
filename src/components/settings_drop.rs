//! Drop or paste a PNG that Easel downloaded, and the studio form takes back its prompt, model
//! and parameters (from the image's `easel` `iTXt` chunk).

use easel_core::GenerationRequest;
use easel_core::files::ImageFormat;
use easel_core::gallery::EmbeddedSettings;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use web_sys::{ClipboardEvent, DragEvent, File};

use crate::state::Draft;
use crate::storage::download::blob_bytes;

/// The largest file read for settings; a downloaded PNG is far smaller.
const MAX_FILE_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// What became of the last dropped or pasted file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Note {
    restored: bool,
    text: String,
}

/// Wraps the studio: a PNG dropped on it, or pasted anywhere on the page, restores the
/// settings it carries into the form, with a note saying so (or why not).
#[component]
pub fn SettingsDrop(children: Children) -> impl IntoView {
    let draft = expect_context::<Draft>();
    let note = RwSignal::new(None::<Note>);
    let dragging = RwSignal::new(false);

    let restore = move |file: File| {
        let file = SendWrapper::new(file);
        spawn_local(async move {
            let name = file.name();
            let outcome = settings_in(file.take()).await;
            note.set(Some(match outcome {
                Ok(request) => {
                    draft.apply(&request);
                    Note {
                        restored: true,
                        text: format!("Settings restored from {name}"),
                    }
                }
                Err(why) => Note {
                    restored: false,
                    text: format!("{name}: {why}"),
                },
            }));
        });
    };

    let handle = window_event_listener(ev::paste, move |ev: ClipboardEvent| {
        let file = ev
            .clipboard_data()
            .and_then(|data| data.files())
            .and_then(|files| files.get(0));
        if let Some(file) = file {
            ev.prevent_default();
            restore(file);
        }
    });
    on_cleanup(move || handle.remove());

    let on_dragover = move |ev: DragEvent| {
        if carries_files(&ev) {
            // Without this the browser would open the file instead of dropping it here.
            ev.prevent_default();
            if let Some(data) = ev.data_transfer() {
                data.set_drop_effect("copy");
            }
            dragging.set(true);
        }
    };
    let on_drop = move |ev: DragEvent| {
        dragging.set(false);
        let file = ev
            .data_transfer()
            .and_then(|data| data.files())
            .and_then(|files| files.get(0));
        if let Some(file) = file {
            ev.prevent_default();
            restore(file);
        }
    };

    view! {
        <div
            class="settings-drop"
            class:dragging=move || dragging.get()
            on:dragover=on_dragover
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            {move || {
                note.get()
                    .map(|n| {
                        view! {
                            <p
                                id="settings-note"
                                class="settings-note"
                                data-restored=n.restored.to_string()
                                role="status"
                            >
                                <span>{n.text}</span>
                                <button
                                    type="button"
                                    class="dismiss"
                                    aria-label="Dismiss"
                                    on:click=move |_| note.set(None)
                                >
                                    "×"
                                </button>
                            </p>
                        }
                    })
            }}
            {children()}
        </div>
    }
}

fn carries_files(ev: &DragEvent) -> bool {
    ev.data_transfer()
        .map(|data| {
            data.types()
                .iter()
                .any(|t| t.as_string().as_deref() == Some("Files"))
        })
        .unwrap_or(false)
}

/// The request of the Easel settings in a PNG file, or a sentence saying why there are none.
/// Few visits drop a file, so in release builds (`--cfg easel_split`) the code that reads one
/// (PNG chunks, the settings' JSON and the request made of them) is a wasm chunk of its own,
/// fetched on the first drop or paste.
async fn settings_in(file: File) -> Result<GenerationRequest, String> {
    #[cfg(easel_split)]
    return match easel_png_settings(SendWrapper::new(file)).await {
        Ok(reading) => reading.await,
        Err(_) => Err(
            "Easel could not download the code that reads settings; check the \
                       connection and try again."
                .into(),
        ),
    };
    #[cfg(not(easel_split))]
    return read_settings(&file).await;
}

#[cfg(easel_split)]
#[leptos::wasm_split::wasm_split(easel_png_settings, wasm_split_path = ::leptos::wasm_split, fallible)]
fn easel_png_settings(
    file: SendWrapper<File>,
) -> Result<
    futures::future::LocalBoxFuture<'static, Result<GenerationRequest, String>>,
    leptos::wasm_split::SplitLoaderError,
> {
    Ok(Box::pin(async move { read_settings(&file).await }))
}

async fn read_settings(file: &File) -> Result<GenerationRequest, String> {
    if file.size() > MAX_FILE_BYTES {
        return Err("This file is too large to be an image Easel made.".into());
    }
    let bytes = blob_bytes(file)
        .await
        .map_err(|_| "The browser could not read this file.".to_owned())?;
    if ImageFormat::sniff(&bytes) != Some(ImageFormat::Png) {
        return Err(
            "This is not a PNG image; only PNGs downloaded from Easel carry settings.".into(),
        );
    }
    EmbeddedSettings::read_from_png(&bytes)
        .map(|settings| settings.to_request())
        .map_err(|e| e.to_string())
}
