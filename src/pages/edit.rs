//! `/edit`: change images with a prompt and a painted mask, or make variations of one. Opened
//! from the gallery's lightbox (`?from=<item id>`, `&mode=variations`) or with files (picker,
//! drop, paste). A page of its own chunk in release builds: the studio never pays for it.

use std::rc::Rc;
use std::sync::Arc;

use easel_core::catalog::{self, DEFAULT_MODEL, INPUT_FIDELITIES};
use easel_core::edit::{self, Guide, InputImage, Layer};
use easel_core::files::ImageFormat;
use easel_core::gallery::MadeBy;
use easel_core::{EditGuides, GenerationRequest, Size, pricing, validate, validate_edit};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use send_wrapper::SendWrapper;
use web_sys::{Blob, ClipboardEvent, DragEvent, File};

use crate::api::{self, Upload};
use crate::components::{JobCard, MaskHandle, MaskPainter, ModelSelect, Pick};
use crate::state::jobs::FromImages;
use crate::state::{Gallery, Jobs, Settings};
use crate::storage::ObjectUrl;
use crate::storage::download::blob_bytes;

/// The page's styles (and the lightbox's "Made from") travel in the chunks that use them,
/// added to the document on first use, so the first load's CSS does not grow. They use the
/// design tokens of `style/main.css`.
const EDIT_CSS: &str = include_str!("../../style/edit.css");

/// The only model that makes variations on servers that still offer them.
const VARIATION_MODEL: &str = "dall-e-2";

/// A file larger than this is refused before it is read (no model takes more).
const MAX_READ_BYTES: f64 = edit::GPT_IMAGE_MAX_BYTES as f64;

/// One chosen image.
#[derive(Clone)]
struct Source {
    key: u64,
    blob: SendWrapper<Blob>,
    url: Arc<ObjectUrl>,
    info: InputImage,
    name: String,
    /// The gallery item it came from.
    parent: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Edit,
    Variations,
}

#[component]
pub fn EditPage() -> impl IntoView {
    add_edit_styles();
    let jobs = expect_context::<Jobs>();
    let settings = expect_context::<Settings>();
    let gallery = expect_context::<Gallery>();
    let query = use_query_map();

    // Edits (new ones, and those a reload interrupted) are sent with this page's code.
    jobs.set_uploader(Rc::new(|backend, request, upload, signal, on_preview| {
        Box::pin(async move {
            api::send_upload(&backend, &request, &upload, &signal, &*on_preview).await
        })
    }));

    let mode = RwSignal::new(Mode::Edit);
    let sources = RwSignal::new(Vec::<Source>::new());
    let next_key = StoredValue::new(0u64);
    let problem = RwSignal::new(None::<String>);
    let prompt = RwSignal::new(String::new());
    let model = RwSignal::new(DEFAULT_MODEL.to_owned());
    let count = RwSignal::new(1u32);
    let size = RwSignal::new("auto".to_owned());
    let quality = RwSignal::new(String::new());
    let format = RwSignal::new(String::new());
    let previews = RwSignal::new(0u32);
    // `input_fidelity`; empty sends nothing (the model's default).
    let fidelity = RwSignal::new(String::new());
    let dragging = RwSignal::new(false);

    let first_size = move || sources.with_untracked(|s| s.first().and_then(|s| s.info.size));
    // The model's own defaults, and the size that keeps the first image's.
    let reset_params = move || {
        let id = match mode.get_untracked() {
            Mode::Edit => model.get_untracked(),
            Mode::Variations => VARIATION_MODEL.to_owned(),
        };
        let entry = catalog::find(&id);
        size.set(edit::default_edit_size(&id, first_size()));
        quality.set(
            entry
                .and_then(|m| m.default_quality())
                .unwrap_or_default()
                .to_owned(),
        );
        format.set(
            entry
                .and_then(|m| m.default_output_format())
                .unwrap_or_default()
                .to_owned(),
        );
        if !entry.is_some_and(|m| m.streams) {
            previews.set(0);
        }
        if !entry.is_some_and(|m| m.input_fidelity) {
            fidelity.set(String::new());
        }
        let max = entry.map_or(10, |m| u32::from(m.n_max));
        count.update(|c| *c = (*c).clamp(1, max));
    };
    reset_params();

    // A new first image gets a new, empty mask.
    // Only a change of the first image redraws the painter (not adding more images).
    let first = Memo::new(move |_| {
        sources.with(|s| {
            s.first()
                .map(|s| (s.key, Arc::clone(&s.url), s.name.clone()))
        })
    });
    let first_key = Memo::new(move |_| sources.with(|s| s.first().map(|s| (s.key, s.info.size))));
    let mask = Memo::new(move |_| {
        first_key
            .get()
            .and_then(|(_, size)| size)
            .map(MaskHandle::new)
    });

    let add = move |source: Source| {
        problem.set(None);
        let was_empty = sources.with_untracked(Vec::is_empty);
        sources.update(|s| s.push(source));
        if was_empty {
            reset_params();
        }
    };
    let read_file = move |file: File| {
        let file = SendWrapper::new(file);
        spawn_local(async move {
            match read_source(&file, next_key).await {
                Ok(source) => add(source),
                Err(why) => problem.set(Some(why)),
            }
        });
    };

    // `&mode=variations` opens on variations.
    Effect::new(move |_| {
        let variations = query.with(|q| q.get("mode")).as_deref() == Some("variations");
        mode.set(if variations {
            Mode::Variations
        } else {
            Mode::Edit
        });
        reset_params();
    });
    // `?from=<id>`: start from a gallery image (once the gallery's records are loaded).
    let loaded = StoredValue::new(None::<String>);
    Effect::new(move |_| {
        let Some(id) = query.with(|q| q.get("from")) else {
            return;
        };
        if loaded.with_value(|l| l.as_deref() == Some(id.as_str())) {
            return;
        }
        let Some(item) = gallery
            .items
            .with(|all| all.iter().find(|i| i.id == id).cloned())
        else {
            return;
        };
        loaded.set_value(Some(id.clone()));
        if edit::edit_limits(&item.model).is_some() && catalog::find(&item.model).is_some() {
            model.set(item.model.clone());
        }
        if prompt.with_untracked(String::is_empty) {
            prompt.set(item.prompt.clone());
        }
        spawn_local(async move {
            let blob = match gallery.db().await {
                Ok(db) => db.image(&item.sha256).await.ok().flatten(),
                Err(_) => None,
            };
            let Some(blob) = blob else {
                problem.set(Some(
                    "This image's bytes are missing from storage.".to_owned(),
                ));
                return;
            };
            let name = item.prompt.chars().take(40).collect::<String>();
            match source_from_blob(blob, name, Some(item.id.clone()), next_key).await {
                Ok(source) => {
                    sources.set(Vec::new());
                    add(source);
                }
                Err(why) => problem.set(Some(why)),
            }
        });
    });

    let paste = window_event_listener(ev::paste, move |ev: ClipboardEvent| {
        let Some(files) = ev.clipboard_data().and_then(|d| d.files()) else {
            return;
        };
        if files.length() > 0 {
            ev.prevent_default();
        }
        for i in 0..files.length() {
            if let Some(file) = files.get(i) {
                read_file(file);
            }
        }
    });
    on_cleanup(move || paste.remove());
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(files) = ev.data_transfer().and_then(|d| d.files()) {
            for i in 0..files.length() {
                if let Some(file) = files.get(i) {
                    read_file(file);
                }
            }
        }
    };

    // The request as the form stands (read without tracking: `estimate` tracks what it needs).
    let current_request = move || {
        let current = mode.get();
        let id = match current {
            Mode::Edit => model.get(),
            Mode::Variations => VARIATION_MODEL.to_owned(),
        };
        let first_prompt = sources.with(|s| s.first().map(|s| s.name.clone()).unwrap_or_default());
        let mut request = GenerationRequest::for_model(
            &id,
            &match current {
                Mode::Edit => prompt.get(),
                // A variation has no prompt; its record keeps the source's for search.
                Mode::Variations => first_prompt,
            },
        );
        request.n = Some(count.get());
        request.size = Some(size.get());
        if current == Mode::Edit {
            request.quality = Some(quality.get()).filter(|q| !q.is_empty());
            request.output_format = Some(format.get()).filter(|f| !f.is_empty());
            request.input_fidelity = Some(fidelity.get()).filter(|f| !f.is_empty());
            let partials = previews.get();
            if partials > 0 {
                request.stream = Some(true);
                request.partial_images = Some(partials);
            }
        } else {
            request.quality = None;
        }
        request
    };
    // What it may cost: the images made and, for token-billed models, the images sent.
    let estimate = Memo::new(move |_| {
        let inputs: Vec<Size> = sources.with(|s| s.iter().filter_map(|s| s.info.size).collect());
        pricing::estimate_edit(&current_request(), &inputs)
    });

    let submit = move || {
        problem.set(None);
        let chosen = sources.get_untracked();
        let current = mode.get_untracked();
        let request = untrack(current_request);
        let id = request.model.clone();
        let infos: Vec<InputImage> = chosen.iter().map(|s| s.info).collect();
        let checked = match current {
            Mode::Edit => edit::check_edit(&id, &request.prompt, &infos, None),
            Mode::Variations => edit::check_variation(&id, &infos),
        };
        if let Err(why) = checked {
            problem.set(Some(why.to_string()));
            return;
        }
        // Nothing painted sends no layer: the whole image may change.
        let handle = mask
            .get_untracked()
            .filter(|m| current == Mode::Edit && m.marked_count() > 0);
        let guide = handle.map(|m| m.guide.get_untracked());
        let problems = match current {
            Mode::Edit => validate_edit(
                &request,
                EditGuides {
                    mask: guide == Some(Guide::Mask),
                    markup: guide == Some(Guide::Markup),
                },
            ),
            Mode::Variations => validate(&request),
        };
        if let Some(found) = problems.into_iter().next() {
            problem.set(Some(found.message));
            return;
        }
        let budget = settings.daily_budget.get_untracked();
        if !gallery.budget_allows(budget, estimate.get_untracked().as_ref()) {
            return;
        }
        let parents: Vec<String> = chosen.iter().filter_map(|s| s.parent.clone()).collect();
        let images: Vec<Blob> = chosen.iter().map(|s| (*s.blob).clone()).collect();
        spawn_local(async move {
            let layer_png = match handle {
                Some(handle) => match handle.to_png().await {
                    Ok(png) => {
                        let size = handle.size();
                        let layer = Layer {
                            guide: handle.guide.get_untracked(),
                            image: InputImage {
                                format: Some(ImageFormat::Png),
                                size: Some(size),
                                bytes: png.size() as u64,
                            },
                            has_transparency: (handle.marked_count() as u64) < size.pixels(),
                        };
                        if let Err(why) =
                            edit::check_edit(&request.model, &request.prompt, &infos, Some(&layer))
                        {
                            problem.set(Some(why.to_string()));
                            return;
                        }
                        Some((layer.guide, png))
                    }
                    Err(_) => {
                        problem.set(Some(
                            "The mask could not be made in this browser.".to_owned(),
                        ));
                        return;
                    }
                },
                None => None,
            };
            let (mut mask_png, mut markup_png) = (None, None);
            match layer_png {
                Some((Guide::Mask, png)) => mask_png = Some(png),
                Some((Guide::Markup, png)) => markup_png = Some(png),
                None => {}
            }
            let upload = Rc::new(Upload {
                variation: current == Mode::Variations,
                images,
                mask: mask_png,
                markup: markup_png,
            });
            let from = FromImages {
                made_by: match current {
                    Mode::Edit => MadeBy::Edit,
                    Mode::Variations => MadeBy::Variation,
                },
                parents,
                files: upload,
            };
            jobs.start_from(request, settings.backend(), from);
        });
    };

    let edit_models: Vec<&'static str> = edit::editing_models().map(|m| m.id).collect();
    let entry = move || match mode.get() {
        Mode::Edit => catalog::find(&model.get()),
        Mode::Variations => catalog::find(VARIATION_MODEL),
    };
    // The model whose own options the edit form offers (variations take none of them).
    let edit_model = Memo::new(move |_| match mode.get() {
        Mode::Edit => catalog::find(&model.get()),
        Mode::Variations => None,
    });
    let size_options = move || {
        let mut options: Vec<String> = entry().map_or_else(Vec::new, |m| {
            m.sizes.iter().map(|s| (*s).to_owned()).collect()
        });
        let current = size.get();
        if !options.contains(&current) {
            options.insert(0, current);
        }
        options
    };

    let edit_jobs = move || {
        let list = jobs.list.get();
        list.into_iter()
            .filter(|j| j.from.is_some())
            .collect::<Vec<_>>()
    };

    view! {
        <main class="edit-page">
            <h1>{move || match mode.get() { Mode::Edit => "Edit images", Mode::Variations => "Variations" }}</h1>
            <div class="mode-switch" role="group" aria-label="What to make">
                <button type="button" id="mode-edit" aria-pressed=move || (mode.get() == Mode::Edit).to_string()
                    on:click=move |_| { mode.set(Mode::Edit); reset_params(); }>"Edit with a prompt"</button>
                <button type="button" id="mode-variations" aria-pressed=move || (mode.get() == Mode::Variations).to_string()
                    on:click=move |_| { mode.set(Mode::Variations); reset_params(); }>"Variations"</button>
            </div>
            <div class="edit-layout">
                <section class="edit-canvas" aria-label="Image"
                    class:dragging=move || dragging.get()
                    on:dragover=move |ev: DragEvent| { ev.prevent_default(); dragging.set(true); }
                    on:dragleave=move |_| dragging.set(false)
                    on:drop=on_drop>
                    {move || {
                        match (first.get(), mask.get()) {
                            (Some((_, url, name)), Some(handle)) if mode.get() == Mode::Edit => view! {
                                <MaskPainter mask=handle image_url=url.as_str().to_owned()
                                    alt=format!("The image to edit: {name}")
                                    markup=Signal::derive(move || entry().is_some_and(|m| m.markup)) />
                            }.into_any(),
                            (Some((_, url, name)), _) => view! {
                                <img class="edit-preview" src=url.as_str().to_owned()
                                    alt=format!("The image to vary: {name}") />
                            }.into_any(),
                            (None, _) => view! {
                                <div class="drop-zone">
                                    <p>"Drop images here, paste one, or "
                                        <label for="edit-files" class="button">"choose files"</label></p>
                                    <p class="hint">"Or open an image in the gallery and choose Edit or Variations."</p>
                                </div>
                            }.into_any(),
                        }
                    }}
                </section>
                <form class="edit-form prompt-form" on:submit=move |ev| { ev.prevent_default(); submit(); }>
                    <label class="field" for="edit-files">{move || match mode.get() {
                        Mode::Edit => "Images (the mask applies to the first)",
                        Mode::Variations => "Image (a square PNG under 4 MB)",
                    }}</label>
                    <input type="file" id="edit-files" multiple accept="image/png,image/jpeg,image/webp"
                        on:change:target=move |ev| {
                            let input = ev.target();
                            if let Some(files) = input.files() {
                                for i in 0..files.length() {
                                    if let Some(file) = files.get(i) { read_file(file); }
                                }
                            }
                            input.set_value("");
                        } />
                    <ol class="edit-sources" aria-label="Chosen images">
                        <For each=move || sources.get() key=|s| s.key let:source>
                            <SourceCard source sources />
                        </For>
                    </ol>
                    <Show when=move || mode.get() == Mode::Variations>
                        <p class="hint">"Variations are made by dall-e-2, on servers that still offer it. They need no prompt."</p>
                    </Show>
                    <Show when=move || mode.get() == Mode::Edit>
                        <label class="field" for="edit-prompt">"What to change"</label>
                        <textarea id="edit-prompt" rows="3" placeholder="e.g. a red scarf around the neck"
                            prop:value=move || prompt.get()
                            on:input:target=move |ev| prompt.set(ev.target().value())
                            on:keydown=move |ev: web_sys::KeyboardEvent| {
                                if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) { ev.prevent_default(); submit(); }
                            }></textarea>
                    </Show>
                    <div class="params">
                        <Show when=move || mode.get() == Mode::Edit>
                            <div class="param">
                                <label for="edit-model">"Model"</label>
                                <select id="edit-model"
                                    on:change:target=move |ev| { model.set(ev.target().value()); reset_params(); }>
                                    {edit_models.iter().map(|&id| view! {
                                        <option value=id prop:selected=move || model.get() == id>{id}</option>
                                    }).collect_view()}
                                </select>
                            </div>
                        </Show>
                        <div class="param">
                            <label for="edit-count">"Images"</label>
                            <select id="edit-count"
                                on:change:target=move |ev| count.set(ev.target().value().parse().unwrap_or(1))>
                                {move || (1..=entry().map_or(10, |m| m.n_max)).map(|n| view! {
                                    <option value=n.to_string() prop:selected=move || count.get() == u32::from(n)>{n}</option>
                                }).collect_view()}
                            </select>
                        </div>
                        <div class="param">
                            <label for="edit-size">"Size"</label>
                            <select id="edit-size"
                                on:change:target=move |ev| size.set(ev.target().value())>
                                {move || size_options().into_iter().map(|s| {
                                    let label = if s == "auto" { "auto (as the image)".to_owned() } else { s.clone() };
                                    let chosen = s.clone();
                                    view! { <option value=s prop:selected=move || size.get() == chosen>{label}</option> }
                                }).collect_view()}
                            </select>
                        </div>
                        {[
                            ("edit-quality", "Quality", quality,
                                (|m, _| if m.qualities.len() > 1 { m.qualities } else { &[] }) as Pick, false),
                            ("edit-format", "Format", format, |m, _| m.output_formats, false),
                            ("edit-fidelity", "Input fidelity", fidelity,
                                |m, _| if m.input_fidelity { INPUT_FIDELITIES } else { &[] }, true),
                        ]
                        .into_iter()
                        .map(|(id, label, value, pick, optional)| view! {
                            <ModelSelect model=edit_model format id label value pick optional />
                        })
                        .collect_view()}
                        <Show when=move || mode.get() == Mode::Edit && entry().is_some_and(|m| m.streams)>
                            <div class="param">
                                <label for="edit-previews">"Previews"</label>
                                <select id="edit-previews"
                                    on:change:target=move |ev| previews.set(ev.target().value().parse().unwrap_or(0))>
                                    {(0..=3u32).map(|p| view! {
                                        <option value=p.to_string() prop:selected=move || previews.get() == p>{p}</option>
                                    }).collect_view()}
                                </select>
                            </div>
                        </Show>
                    </div>
                    <p class="problem" id="edit-problem" role="alert">{move || problem.get()}</p>
                    <div class="actions">
                        <button type="submit" class="primary" id="edit-submit"
                            disabled=move || sources.with(Vec::is_empty)>
                            {move || match mode.get() { Mode::Edit => "Edit", Mode::Variations => "Make variations" }}
                        </button>
                        <span id="edit-cost" class="hint"
                            title="Estimated from published prices, input images included; each result shows what it cost.">
                            {move || estimate.get().map(|e| e.text())}
                        </span>
                        <span class="hint shortcut">{move || (mode.get() == Mode::Edit).then_some("Ctrl+Enter in the prompt")}</span>
                    </div>
                </form>
            </div>
            <section class="jobs" aria-label="Edits and variations" aria-live="polite">
                <For each=edit_jobs key=|job| job.id let:job>
                    <JobCard job />
                </For>
            </section>
        </main>
    }
}

/// One chosen image in the list, with a button to take it out.
#[component]
fn SourceCard(source: Source, sources: RwSignal<Vec<Source>>) -> impl IntoView {
    let key = source.key;
    let first = move || sources.with(|s| s.first().is_some_and(|f| f.key == key));
    let size = source
        .info
        .size
        .map_or_else(|| "unknown size".to_owned(), |s| s.to_string());
    let label = format!("{} ({size})", source.name);
    view! {
        <li class="edit-source" class:first=first title=label.clone()>
            <img src=source.url.as_str().to_owned() alt=label.clone() />
            <button type="button" class="remove" aria-label=format!("Remove {label}")
                on:click=move |_| sources.update(|s| s.retain(|x| x.key != key))>"×"</button>
        </li>
    }
}

async fn read_source(file: &File, next_key: StoredValue<u64>) -> Result<Source, String> {
    let name = file.name();
    if file.size() >= MAX_READ_BYTES {
        return Err(format!("{name} is too large: images must be under 50 MB."));
    }
    source_from_blob(file.clone().into(), name, None, next_key).await
}

/// Reads what the checks need from an image: its format, pixel size and length.
async fn source_from_blob(
    blob: Blob,
    name: String,
    parent: Option<String>,
    next_key: StoredValue<u64>,
) -> Result<Source, String> {
    let bytes = blob_bytes(&blob)
        .await
        .map_err(|_| format!("{name} could not be read."))?;
    let info = InputImage::from_bytes(&bytes);
    drop(bytes);
    let format = match info.format {
        Some(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Webp)) => f,
        _ => return Err(format!("{name} is not a PNG, JPEG or WebP picture.")),
    };
    if info
        .size
        .is_none_or(|s: Size| s.width == 0 || s.height == 0)
    {
        return Err(format!("{name}: its size could not be read."));
    }
    // A Blob of the right type, so the upload names the file correctly.
    let blob = if blob.type_() == format.mime() {
        blob
    } else {
        let bytes = blob_bytes(&blob)
            .await
            .map_err(|_| format!("{name} could not be read."))?;
        crate::storage::download::bytes_to_blob(&bytes, format.mime())
            .map_err(|_| format!("{name} could not be read."))?
    };
    let url = ObjectUrl::from_blob(&blob).map_err(|_| format!("{name} could not be shown."))?;
    let key = next_key.get_value();
    next_key.set_value(key + 1);
    Ok(Source {
        key,
        blob: SendWrapper::new(blob),
        url: Arc::new(url),
        info,
        name,
        parent,
    })
}

/// Adds `style/edit.css` to the document once.
pub fn add_edit_styles() {
    crate::components::add_styles("edit-styles", EDIT_CSS);
}
