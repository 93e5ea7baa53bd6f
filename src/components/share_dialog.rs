//! Sharing images of the gallery: a recipe link (prompts, settings and tiny previews inside
//! the link; any static host) or a hosted link (the relay keeps the images). Opened from the
//! selection bar and from the lightbox; part of the gallery's chunk.

use std::collections::HashSet;

use easel_core::Mode;
use easel_core::files::ImageFormat;
use easel_core::gallery::GalleryItem;
use easel_core::share::{
    self, MAX_PAYLOAD_CHARS, MAX_PREVIEW_BYTES, PREVIEW_EDGE, Preview, ShareItem, ShareManifest,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::{AbortController, Blob};

use crate::api::{self, HostedError};
use crate::state::{Gallery, MadeShare, MadeShares, Settings};
use crate::storage::browser;
use crate::storage::deflate::encode_recipe;

const SHARE_CSS: &str = include_str!("../../style/share.css");

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Recipe,
    Hosted,
}

/// The share dialog for `items`; `close` is called by its close button, Escape or a click
/// beside it.
#[component]
pub fn ShareDialog(items: Vec<GalleryItem>, close: Callback<()>) -> impl IntoView {
    add_share_styles();
    let kind = RwSignal::new(Kind::Recipe);
    let count = items.len();
    let title = if count == 1 {
        "Share this image".to_owned()
    } else {
        format!("Share {count} images")
    };
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            ev.stop_propagation();
            close.run(());
        }
    });
    on_cleanup(move || keys.remove());
    let tab = move |which: Kind, id: &'static str, label: &'static str| {
        view! {
            <button type="button" role="tab" id=id class="tab"
                aria-selected=move || (kind.get() == which).to_string()
                on:click=move |_| kind.set(which)>{label}</button>
        }
    };
    let recipe_items = items.clone();
    view! {
        <div class="dialog-backdrop" on:click=move |ev| {
            if ev.target() == ev.current_target() {
                close.run(());
            }
        }>
            <section class="dialog share-dialog" role="dialog" aria-modal="true" aria-labelledby="share-title">
                <header class="dialog-head">
                    <h2 id="share-title">{title}</h2>
                    <button type="button" class="dismiss" id="share-close" aria-label="Close"
                        on:click=move |_| close.run(())>"×"</button>
                </header>
                <div class="tabs" role="tablist">
                    {tab(Kind::Recipe, "share-kind-recipe", "Recipe link")}
                    {tab(Kind::Hosted, "share-kind-hosted", "Hosted link")}
                </div>
                <Show when=move || kind.get() == Kind::Recipe
                    fallback={
                        let items = items.clone();
                        move || view! { <HostedShare items=items.clone() /> }
                    }>
                    <RecipeShare items=recipe_items.clone() />
                </Show>
            </section>
        </div>
    }
}

/// A link that carries the prompts and settings (and maybe tiny previews) itself.
#[component]
fn RecipeShare(items: Vec<GalleryItem>) -> impl IntoView {
    let gallery = expect_context::<Gallery>();
    let with_previews = RwSignal::new(true);
    let copied = RwSignal::new(false);
    let source = StoredValue::new(items);
    // The previews, made once from the stored thumbnails.
    let previews = LocalResource::new(move || {
        let items = source.get_value();
        async move { make_previews(gallery, &items).await }
    });
    let link = LocalResource::new(move || {
        let with = with_previews.get();
        let previews = previews.get();
        let items = source.get_value();
        async move {
            let previews = previews?;
            let shared = items
                .iter()
                .zip(previews)
                .map(|(item, preview)| {
                    ShareItem::from_gallery(item, preview.filter(|_| with), false)
                })
                .collect();
            let manifest = ShareManifest::new(shared, js_sys::Date::now() as u64);
            Some(recipe_link(&manifest).await)
        }
    });
    let link_text = move || link.get().flatten().and_then(Result::ok);
    let copy = move |_| {
        if let (Some(text), Some(window)) = (link_text(), web_sys::window()) {
            let _ = window.navigator().clipboard().write_text(&text);
            copied.set(true);
        }
    };
    let missing = move || {
        previews
            .get()
            .map(|p| p.iter().filter(|p| p.is_none()).count())
            .unwrap_or(0)
    };

    view! {
        <div class="share-body" role="tabpanel">
            <p class="hint">
                "The link itself carries the prompts and settings"
                {move || if with_previews.get() { ", with a tiny preview of each image" } else { "" }}
                ". It works from any host, and the part after # never reaches a server. "
                "Nothing secret is in it: no API key, no relay token, no identifier."
            </p>
            <label class="choice">
                <input type="checkbox" id="share-previews"
                    prop:checked=move || with_previews.get()
                    on:change:target=move |ev| {
                        copied.set(false);
                        with_previews.set(ev.target().checked());
                    } />
                "Include tiny previews (64 px)"
            </label>
            {move || (with_previews.get() && missing() > 0).then(|| view! {
                <p class="hint">{format!("{} image(s) have no preview (no thumbnail could be made).", missing())}</p>
            })}
            {move || match link.get().flatten() {
                None => view! { <p class="hint" id="share-link-status">"Making the link…"</p> }.into_any(),
                Some(Err(problem)) => view! { <p class="banner warn" role="alert" id="share-link-error">{problem}</p> }.into_any(),
                Some(Ok(text)) => {
                    let length = text.chars().count();
                    view! {
                        <textarea id="share-link" class="share-link" readonly rows="3" aria-label="Share link"
                            prop:value=text.clone()></textarea>
                        <p class="hint" id="share-link-length">
                            {format!("{length} characters")}
                            {(length > 8_000 && with_previews.get_untracked()).then_some(
                                " — long for some mail clients and chat apps: without previews it is much shorter.")}
                        </p>
                    }
                    .into_any()
                }
            }}
            <div class="dialog-actions">
                <button type="button" id="share-copy" class="primary" disabled=move || link_text().is_none()
                    on:click=copy>{move || if copied.get() { "Copied" } else { "Copy link" }}</button>
            </div>
        </div>
    }
}

/// Each item's tiny preview from its stored thumbnail (`None` where it cannot be made).
async fn make_previews(gallery: Gallery, items: &[GalleryItem]) -> Vec<Option<Preview>> {
    let db = gallery.db().await.ok();
    let mut previews = Vec::with_capacity(items.len());
    for item in items {
        let thumb = match &db {
            Some(db) => db.thumb(&item.sha256).await.ok().flatten(),
            None => None,
        };
        let preview = match thumb {
            Some(thumb) => browser::tiny_preview(
                &thumb,
                item.width,
                item.height,
                PREVIEW_EDGE,
                MAX_PREVIEW_BYTES,
            )
            .await
            .map(|(mime, bytes)| Preview::new(&mime, &bytes)),
            None => None,
        };
        previews.push(preview);
    }
    previews
}

async fn recipe_link(manifest: &ShareManifest) -> Result<String, String> {
    let payload = encode_recipe(manifest)
        .await
        .map_err(|e| format!("This selection cannot be shared as a link: {e}"))?;
    if payload.len() > MAX_PAYLOAD_CHARS {
        return Err(format!(
            "The link would be {} characters long, more than a share link may be ({MAX_PAYLOAD_CHARS}). \
             Leave out the previews, or share fewer images.",
            payload.len()
        ));
    }
    Ok(share::recipe_link(&app_base(), &payload))
}

/// This app's address: the page's origin and the app's base path (`/easel/` on a project
/// site).
pub fn app_base() -> String {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    share::app_base(&origin, crate::site::base_path())
}

/// Expiry choices: label and seconds (`None`: the relay's default).
const EXPIRIES: [(&str, &str); 5] = [
    ("", "The relay's default"),
    ("3600", "1 hour"),
    ("86400", "1 day"),
    ("604800", "7 days"),
    ("2592000", "30 days"),
];

/// A link to a share the relay keeps: full images.
#[component]
fn HostedShare(items: Vec<GalleryItem>) -> impl IntoView {
    let settings = expect_context::<Settings>();
    let gallery = expect_context::<Gallery>();
    let made = MadeShares::load();
    let expiry = RwSignal::new(String::new());
    let status = RwSignal::new(None::<String>);
    let problem = RwSignal::new(None::<String>);
    let result = RwSignal::new(None::<MadeShare>);
    let busy = RwSignal::new(false);
    let controller = StoredValue::new_local(None::<AbortController>);
    on_cleanup(move || {
        if let Some(c) = controller.try_get_value().flatten() {
            c.abort();
        }
    });
    let source = StoredValue::new(items);
    let relay = move || {
        (settings.mode.get() == Mode::Relay).then(|| {
            settings
                .relay_url
                .get()
                .trim()
                .trim_end_matches('/')
                .to_owned()
        })
    };

    let upload = move |_| {
        let Some(relay_url) = relay() else { return };
        let Ok(abort) = AbortController::new() else {
            return;
        };
        let signal = abort.signal();
        controller.set_value(Some(abort));
        let token = settings.relay_token.get_untracked();
        let items = source.get_value();
        let expires = expiry.get_untracked().parse::<u64>().ok();
        busy.set(true);
        problem.set(None);
        result.set(None);
        spawn_local(async move {
            let outcome = upload_share(
                gallery, &relay_url, &token, &items, expires, &signal, status,
            )
            .await;
            busy.set(false);
            status.set(None);
            match outcome {
                Ok(share) => {
                    made.add(share.clone());
                    result.set(Some(share));
                }
                Err(HostedError::Cancelled) => {}
                Err(e) => problem.set(Some(e.to_string())),
            }
        });
    };

    view! {
        <div class="share-body" role="tabpanel">
            {move || match relay() {
                Some(url) => view! {
                    <p class="hint" id="hosted-relay">
                        "The full images will be kept by the relay at " <strong>{url}</strong>
                        ". Anyone with the link can see them until you delete the share or it expires."
                    </p>
                }
                .into_any(),
                None => view! {
                    <p class="banner warn" id="hosted-needs-relay">
                        "Hosting needs an Easel relay, and this connection profile talks to the API directly. "
                        "Add or choose a profile in Relay mode in " <a href=crate::site::href("/settings")>"Settings"</a>
                        " (the relay's address), or share a recipe link instead: it needs no server."
                    </p>
                }
                .into_any(),
            }}
            <Show when=move || relay().is_some()>
                <label class="inline">"Expires "
                    <select id="hosted-expiry" on:change:target=move |ev| expiry.set(ev.target().value())>
                        {EXPIRIES.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                    </select>
                </label>
                <div class="dialog-actions">
                    <button type="button" id="hosted-upload" class="primary" disabled=move || busy.get()
                        on:click=upload>"Upload and make link"</button>
                    <Show when=move || busy.get()>
                        <button type="button" id="hosted-cancel" on:click=move |_| {
                            if let Some(c) = controller.get_value() { c.abort(); }
                        }>"Cancel"</button>
                    </Show>
                </div>
            </Show>
            {move || status.get().map(|s| view! { <p class="hint" id="hosted-progress" role="status">{s}</p> })}
            {move || problem.get().map(|p| view! { <p class="banner warn" role="alert" id="hosted-error">{p}</p> })}
            {move || result.get().map(|share| view! { <MadeLink share made /> })}
            <MadeList made />
        </div>
    }
}

/// Reads the distinct images, then uploads them with the manifest.
async fn upload_share(
    gallery: Gallery,
    relay_url: &str,
    token: &str,
    items: &[GalleryItem],
    expires: Option<u64>,
    signal: &web_sys::AbortSignal,
    status: RwSignal<Option<String>>,
) -> Result<MadeShare, HostedError> {
    let failed = |e: String| HostedError::Failed(e);
    let db = gallery.db().await.map_err(|e| failed(e.to_string()))?;
    let mut images: Vec<(Blob, String)> = Vec::new();
    let mut seen = HashSet::new();
    let mut total = 0.0;
    for (done, item) in items.iter().enumerate() {
        status.set(Some(format!(
            "Reading images: {} of {}…",
            done + 1,
            items.len()
        )));
        if !seen.insert(item.sha256.clone()) {
            continue;
        }
        let blob = db.image(&item.sha256).await.ok().flatten().ok_or_else(|| {
            failed(format!(
                "The image of “{}” is missing from this browser's storage.",
                item.prompt
            ))
        })?;
        total += blob.size();
        let extension = ImageFormat::from_mime(&item.mime).map_or("bin", ImageFormat::extension);
        images.push((blob, format!("{}.{extension}", item.sha256)));
    }
    let manifest = ShareManifest::new(
        items
            .iter()
            .map(|i| ShareItem::from_gallery(i, None, true))
            .collect(),
        js_sys::Date::now() as u64,
    );
    manifest.check()?;
    status.set(Some(format!(
        "Uploading {} image{} ({})…",
        images.len(),
        if images.len() == 1 { "" } else { "s" },
        megabytes(total)
    )));
    let created = api::create_share(
        relay_url,
        token,
        &manifest.to_json(),
        &images,
        expires,
        signal,
    )
    .await?;
    Ok(MadeShare {
        link: share::hosted_link(&app_base(), &created.url),
        id: created.id,
        url: created.url,
        relay: relay_url.to_owned(),
        delete_token: created.delete_token,
        created_ms: js_sys::Date::now() as u64,
        expires_ms: created.expires_ms,
        images: images.len(),
    })
}

fn megabytes(bytes: f64) -> String {
    let tenths = (bytes / 100_000.0).round() as u64;
    format!("{}.{} MB", tenths / 10, tenths % 10)
}

/// The share just made: its link, its delete token, and a way to delete it.
#[component]
fn MadeLink(share: MadeShare, made: MadeShares) -> impl IntoView {
    let copied = RwSignal::new(false);
    let link = share.link.clone();
    view! {
        <div class="made-share" id="hosted-result">
            <label for="hosted-link">"Link"</label>
            <input id="hosted-link" type="text" readonly prop:value=share.link.clone() />
            <div class="dialog-actions">
                <button type="button" id="hosted-copy" class="primary" on:click=move |_| {
                    if let Some(window) = web_sys::window() {
                        let _ = window.navigator().clipboard().write_text(&link);
                        copied.set(true);
                    }
                }>{move || if copied.get() { "Copied" } else { "Copy link" }}</button>
                <DeleteButton share=share.clone() made id="hosted-delete" label="Delete this share" />
            </div>
            <p class="hint">
                "Delete token: " <code id="hosted-delete-token">{share.delete_token.clone()}</code>
                ". This browser keeps it (below); whoever has it can delete the share."
            </p>
        </div>
    }
}

/// The shares this browser made, newest first.
#[component]
fn MadeList(made: MadeShares) -> impl IntoView {
    view! {
        <Show when=move || !made.0.with(Vec::is_empty)>
            <h3 class="made-title">"Shares made in this browser"</h3>
            <ul class="made-list" id="made-shares">
                {move || made.0.get().into_iter().map(|share| {
                    let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(share.created_ms as f64));
                    let when = String::from(when.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED));
                    view! {
                        <li>
                            <a href=share.link.clone() target="_blank" rel="noopener">{format!("{} image(s), {when}", share.images)}</a>
                            <span class="hint">{format!(" on {}", share.relay)}</span>
                            <DeleteButton share made id="" label="Delete" />
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Show>
    }
}

#[component]
fn DeleteButton(
    share: MadeShare,
    made: MadeShares,
    id: &'static str,
    label: &'static str,
) -> impl IntoView {
    let state = RwSignal::new(None::<Result<(), String>>);
    let busy = RwSignal::new(false);
    let delete = move |_| {
        let share = share.clone();
        busy.set(true);
        spawn_local(async move {
            let outcome = api::delete_share(&share.url, &share.delete_token).await;
            busy.set(false);
            match outcome {
                Ok(()) => {
                    let _ = state.try_set(Some(Ok(())));
                    made.forget(&share.id);
                }
                Err(e) => {
                    let _ = state.try_set(Some(Err(e.to_string())));
                }
            }
        });
    };
    view! {
        <button type="button" class="danger" id=(!id.is_empty()).then_some(id)
            disabled=move || busy.get() || matches!(state.get(), Some(Ok(())))
            on:click=delete>
            {move || match state.get() { Some(Ok(())) => "Deleted", _ => label }}
        </button>
        {move || match state.get() {
            Some(Err(e)) => Some(view! { <span class="hint error" role="alert">{e}</span> }),
            _ => None,
        }}
    }
}

/// Inserts the sharing styles (the dialog and the shared view) on first use, so the first
/// load does not carry them.
pub fn add_share_styles() {
    crate::components::add_styles("share-styles", SHARE_CSS);
}
