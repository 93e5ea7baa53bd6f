use easel_core::decimal;
use easel_core::gallery::{GalleryItem, Query};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use web_sys::{KeyboardEvent, PointerEvent};

use crate::components::StoredThumb;
use crate::state::{Draft, GalleryView};
use crate::storage::download::download_name;
use crate::storage::{ObjectUrl, file_for_download, save_as};

/// A horizontal swipe longer than this, in CSS pixels, moves to the next or previous image.
const SWIPE: f64 = 50.0;

/// The open image at full size with everything known about it, and what can be done with it.
#[component]
pub fn Lightbox() -> impl IntoView {
    let view = expect_context::<GalleryView>();
    let item = Memo::new(move |_| {
        view.open
            .get()
            .and_then(|i| view.shown.with(|s| s.get(i).cloned()))
    });
    let full = RwSignal::new_local(None::<ObjectUrl>);
    let gallery = view.gallery;
    Effect::new(move |_| {
        let Some(hash) = item.with(|i| i.as_ref().map(|i| i.sha256.clone())) else {
            full.set(None);
            return;
        };
        spawn_local(async move {
            let blob = match gallery.db().await {
                Ok(db) => db.image(&hash).await.ok().flatten(),
                Err(_) => None,
            };
            let url = match blob {
                Some(blob) => ObjectUrl::shown(&blob).await.ok(),
                None => None,
            };
            let still_open = item.with_untracked(|i| i.as_ref().is_some_and(|i| i.sha256 == hash));
            if still_open {
                let _ = full.try_set(url);
            }
        });
    });

    let step = move |delta: isize| {
        let count = view.shown.with_untracked(Vec::len) as isize;
        view.open.update(|open| {
            if let Some(i) = open {
                *i = (*i as isize + delta).clamp(0, (count - 1).max(0)) as usize;
            }
        });
    };
    let keys = window_event_listener(leptos::ev::keydown, move |ev: KeyboardEvent| {
        // The share dialog, when open over the lightbox, has the keys.
        if view.open.get_untracked().is_none() || view.sharing.with_untracked(Option::is_some) {
            return;
        }
        match ev.key().as_str() {
            "ArrowRight" => step(1),
            "ArrowLeft" => step(-1),
            "Escape" => view.open.set(None),
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || keys.remove());
    let swipe_from = StoredValue::new(None::<f64>);

    move || {
        item.get().map(|item| {
            let alt = item.prompt.clone();
            view! {
                <div class="lightbox" role="dialog" aria-modal="true" aria-label="Image"
                    on:pointerdown=move |ev: PointerEvent| swipe_from.set_value(Some(f64::from(ev.client_x())))
                    on:pointerup=move |ev: PointerEvent| {
                        if let Some(from) = swipe_from.get_value() {
                            let dx = f64::from(ev.client_x()) - from;
                            if dx <= -SWIPE { step(1) } else if dx >= SWIPE { step(-1) }
                        }
                        swipe_from.set_value(None);
                    }>
                    <div class="lightbox-stage">
                        <button type="button" class="lightbox-nav prev" aria-label="Previous" on:click=move |_| step(-1)>"‹"</button>
                        {move || full.with(|f| f.as_ref().map(|url| view! {
                            <img class="lightbox-image" src=url.as_str().to_owned() alt=alt.clone() />
                        }))}
                        <button type="button" class="lightbox-nav next" aria-label="Next" on:click=move |_| step(1)>"›"</button>
                    </div>
                    <Details item=item.clone() />
                    <button type="button" class="lightbox-close" id="lightbox-close" aria-label="Close"
                        on:click=move |_| view.open.set(None)>"×"</button>
                </div>
            }
        })
    }
}

#[component]
fn Details(item: GalleryItem) -> impl IntoView {
    let view = expect_context::<GalleryView>();
    let draft = expect_context::<Draft>();
    let navigate = use_navigate();
    let collection = RwSignal::new(String::new());
    let copied = RwSignal::new(false);

    let r = &item.request;
    let mut params = Vec::new();
    if let Some(kind) = item.made_by.label() {
        params.push(("Made by", kind.to_owned()));
    }
    params.extend([
        ("Model", item.model.clone()),
        ("Size", item.size().to_string()),
    ]);
    if let Some(asked) = r.size.as_ref().filter(|s| **s != item.size().to_string()) {
        params.push(("Asked size", asked.clone()));
    }
    for (label, value) in [
        ("Quality", &r.quality),
        ("Format", &r.output_format),
        ("Background", &r.background),
        ("Style", &r.style),
        ("Input fidelity", &r.input_fidelity),
    ] {
        if let Some(value) = value {
            params.push((label, value.clone()));
        }
    }
    params.push(("Images in request", r.image_count().to_string()));
    if let Some(total) = item.usage.as_ref().and_then(|u| u.total_tokens) {
        params.push(("Tokens", total.to_string()));
    }
    params.push((
        "Cost",
        item.cost.map_or("unknown".to_owned(), |c| {
            format!("${}", decimal::fixed(c, 3))
        }),
    ));
    params.push((
        "Duration",
        format!(
            "{} s",
            decimal::fixed(item.timing.duration_ms() as f64 / 1000.0, 1)
        ),
    ));
    let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(item.created_ms as f64));
    params.push((
        "Created",
        String::from(when.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)),
    ));

    let id = item.id.clone();
    let favorite = item.favorite;
    let prompt = item.prompt.clone();
    let request = item.request.clone();
    let start_from = move |path: String| {
        let navigate = use_navigate();
        move |_| {
            view.open.set(None);
            navigate(&path, Default::default());
        }
    };

    view! {
        <aside class="lightbox-details">
            <h2 class="detail-prompt">{item.prompt.clone()}</h2>
            {item.revised_prompt.clone().map(|revised| view! {
                <p class="detail-revised"><strong>"Revised by the server: "</strong>{revised}</p>
            })}
            <dl class="detail-params">
                {params.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
            </dl>
            {(!item.parents.is_empty()).then(|| view! { <MadeFrom parents=item.parents.clone() /> })}
            {(!item.collections.is_empty()).then(|| view! {
                <p class="hint">{format!("Collections: {}", item.collections.join(", "))}</p>
            })}
            <div class="detail-actions">
                <button type="button" id="lightbox-download" on:click={
                    let item = item.clone();
                    move |_| {
                        let (item, gallery) = (item.clone(), view.gallery);
                        spawn_local(async move {
                            let Ok(db) = gallery.db().await else { return };
                            let Ok(Some(image)) = db.image(&item.sha256).await else {
                                view.message.set(Some("This image's bytes are missing from storage.".to_owned()));
                                return;
                            };
                            // The prompt and settings travel inside PNGs; other formats as stored.
                            let file = file_for_download(&item, &image).await.unwrap_or(image);
                            save_as(&file, &download_name(&item));
                        });
                    }
                }>"Download"</button>
                <button type="button" id="lightbox-copy" on:click=move |_| {
                    if let Some(window) = web_sys::window() {
                        let _ = window.navigator().clipboard().write_text(&prompt);
                        copied.set(true);
                    }
                }>{move || if copied.get() { "Copied" } else { "Copy prompt" }}</button>
                <button type="button" id="lightbox-reuse" on:click=move |_| {
                    draft.apply(&request);
                    view.open.set(None);
                    navigate("/", Default::default());
                }>"Reuse settings"</button>
                <button type="button" id="lightbox-share" on:click={
                    let item = item.clone();
                    move |_| view.sharing.set(Some(vec![item.clone()]))
                }>"Share…"</button>
                <button type="button" id="lightbox-edit"
                    on:click=start_from(format!("/edit?from={id}"))>"Edit"</button>
                <button type="button" id="lightbox-variations"
                    on:click=start_from(format!("/edit?from={id}&mode=variations"))>"Variations"</button>
                <button type="button" id="lightbox-favorite" aria-pressed=favorite.to_string()
                    on:click={
                        let id = id.clone();
                        move |_| view.set_favorite(std::slice::from_ref(&id), !favorite)
                    }>{if favorite { "★ Favorite" } else { "☆ Favorite" }}</button>
                <button type="button" id="lightbox-delete" class="danger"
                    on:click={
                        let id = id.clone();
                        move |_| view.delete(vec![id.clone()])
                    }>"Delete"</button>
            </div>
            <div class="detail-collection">
                <input type="text" id="lightbox-collection" placeholder="Collection name" aria-label="Collection name"
                    prop:value=move || collection.get()
                    on:input:target=move |ev| collection.set(ev.target().value()) />
                <button type="button" id="lightbox-add-collection"
                    disabled=move || collection.with(|c| c.trim().is_empty())
                    on:click=move |_| {
                        view.add_to_collection(std::slice::from_ref(&id), &collection.get_untracked());
                        collection.set(String::new());
                    }>"Add to collection"</button>
            </div>
        </aside>
    }
}

/// The images this one was made from (an edit's sources, a variation's original): each opens
/// in the lightbox.
#[component]
fn MadeFrom(parents: Vec<String>) -> impl IntoView {
    crate::pages::add_edit_styles();
    let view = expect_context::<GalleryView>();
    view! {
        <section class="made-from" aria-label="Made from">
            <h3>"Made from"</h3>
            <ul>
                {parents.into_iter().map(|id| match view.gallery.find(&id) {
                    Some(parent) => view! { <li><ParentLink parent /></li> }.into_any(),
                    None => view! { <li class="hint">"An image no longer in the gallery"</li> }.into_any(),
                }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn ParentLink(parent: GalleryItem) -> impl IntoView {
    let view = expect_context::<GalleryView>();
    let id = parent.id.clone();
    let open = move |_| {
        let find = || {
            view.shown
                .with_untracked(|s| s.iter().position(|i| i.id == id))
        };
        // A parent hidden by the current search is shown by clearing the search.
        let index = find().or_else(|| {
            view.query.set(Query::default());
            find()
        });
        if index.is_some() {
            view.open.set(index);
        }
    };
    let prompt = parent.prompt.clone();
    view! {
        <button type="button" class="parent-link" on:click=open
            aria-label=format!("Open the image it was made from: {prompt}")>
            <StoredThumb hash=parent.sha256.clone() class="parent-thumb" />
            <span>{parent.prompt.clone()}</span>
        </button>
    }
}
