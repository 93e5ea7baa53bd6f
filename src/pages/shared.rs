//! `/shared`: a read-only gallery from a share link (its own chunk: the studio never loads
//! it). `#r=…` carries the share itself (a recipe link); `#h=…` names a share a relay keeps.
//! A link is untrusted input: it is decoded with limits and checked, images are sniffed and
//! shown only through `<img>`, and anything wrong is said in words, never a blank page.

use std::collections::HashSet;
use std::rc::Rc;

use easel_core::crc32::crc32;
use easel_core::files::{ImageFormat, dimensions};
use easel_core::gallery::{GalleryItem, ITEM_SCHEMA, Timing};
use easel_core::share::{self, Fragment, ShareItem, ShareManifest};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use web_sys::{AbortController, Blob};

use crate::api::{self, HostedError};
use crate::components::add_share_styles;
use crate::state::{Draft, Gallery};
use crate::storage::deflate::decode_recipe;
use crate::storage::{NewImage, ObjectUrl, browser};

/// The collection that saved shares go into, so they are easy to find.
const SAVED_COLLECTION: &str = "Shared with me";

/// An image of a hosted share, fetched, sniffed and checked against its hash.
struct Fetched {
    url: ObjectUrl,
    blob: Blob,
    bytes: Vec<u8>,
}

/// What the link holds, once read.
struct Opened {
    manifest: ShareManifest,
    hosted: bool,
    /// Hosted shares: each item's image (`None` where it could not be fetched or checked).
    images: Vec<Option<Rc<Fetched>>>,
    /// Why some images are missing.
    image_problem: Option<String>,
}

#[component]
pub fn SharedPage() -> impl IntoView {
    add_share_styles();
    let hash = RwSignal::new(current_hash());
    let listener = window_event_listener_untyped("hashchange", move |_| hash.set(current_hash()));
    on_cleanup(move || listener.remove());
    let controller = StoredValue::new_local(None::<AbortController>);
    on_cleanup(move || {
        if let Some(c) = controller.try_get_value().flatten() {
            c.abort();
        }
    });
    let opened = LocalResource::new(move || {
        let hash = hash.get();
        if let Some(old) = controller.get_value() {
            old.abort();
        }
        let abort = AbortController::new().ok();
        let signal = abort.as_ref().map(AbortController::signal);
        controller.set_value(abort);
        async move {
            let Some(signal) = signal else {
                return Some(Err("This browser cannot load shares.".to_owned()));
            };
            match share::parse_fragment(&hash) {
                None => None,
                Some(Fragment::Recipe(payload)) => Some(
                    decode_recipe(&payload)
                        .await
                        .map(|manifest| {
                            Rc::new(Opened {
                                manifest,
                                hosted: false,
                                images: Vec::new(),
                                image_problem: None,
                            })
                        })
                        .map_err(|e| e.to_string()),
                ),
                Some(Fragment::Hosted(url)) => Some(
                    open_hosted(&url, &signal)
                        .await
                        .map(Rc::new)
                        .map_err(|e| e.to_string()),
                ),
            }
        }
    });

    view! {
        <main class="page shared-page">
            <h1>"Shared images"</h1>
            {move || match opened.get() {
                None => view! { <p class="hint" id="shared-loading">"Opening the share…"</p> }.into_any(),
                Some(None) => view! {
                    <p class="hint" id="shared-empty">
                        "This page shows images someone shared with a link. Open a share link to see them, or "
                        <a href=crate::site::href("/")>"make your own"</a> "."
                    </p>
                }
                .into_any(),
                Some(Some(Err(problem))) => view! {
                    <p class="banner warn" role="alert" id="shared-error">{problem}</p>
                    <p><a href=crate::site::href("/")>"Go to the studio"</a></p>
                }
                .into_any(),
                Some(Some(Ok(opened))) => view! { <SharedGallery opened /> }.into_any(),
            }}
        </main>
    }
}

fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Reads a hosted share and its images (each sniffed and checked against its SHA-256).
async fn open_hosted(url: &str, signal: &web_sys::AbortSignal) -> Result<Opened, HostedError> {
    share::check_share_url(url)?;
    let hosted = api::fetch_share(url, signal).await?;
    let mut images = Vec::with_capacity(hosted.manifest.items.len());
    let mut problem = None;
    for item in &hosted.manifest.items {
        let hash = item.sha256.clone().unwrap_or_default();
        let listed = hosted.images.iter().find(|i| i.sha256 == hash);
        let fetched = match listed {
            None => Err("the relay does not list one of the images".to_owned()),
            Some(listed) => match share::resolve_image_url(url, &listed.url) {
                Err(e) => Err(e.to_string()),
                Ok(image_url) => fetch_checked(&image_url, &hash, signal).await,
            },
        };
        match fetched {
            Ok(image) => images.push(Some(Rc::new(image))),
            Err(why) => {
                if signal.aborted() {
                    return Err(HostedError::Cancelled);
                }
                problem.get_or_insert(format!("Some images could not be shown: {why}."));
                images.push(None);
            }
        }
    }
    Ok(Opened {
        manifest: hosted.manifest,
        hosted: true,
        images,
        image_problem: problem,
    })
}

async fn fetch_checked(
    url: &str,
    hash: &str,
    signal: &web_sys::AbortSignal,
) -> Result<Fetched, String> {
    let bytes = api::fetch_image(url, signal)
        .await
        .map_err(|e| e.to_string())?;
    let format = ImageFormat::sniff(&bytes).ok_or("one of the files is not an image")?;
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let computed = browser::sha256_hex(&array)
        .await
        .map_err(|_| "the browser could not check an image")?;
    if computed != hash {
        return Err("an image does not match its hash (it was changed)".into());
    }
    let (url, blob) = ObjectUrl::from_array(&array, format.mime())
        .map_err(|_| "the browser could not hold an image")?;
    Ok(Fetched { url, blob, bytes })
}

/// The share's images, read-only, with "make one like this" and "save to my gallery".
#[component]
fn SharedGallery(opened: Rc<Opened>) -> impl IntoView {
    let gallery = expect_context::<Gallery>();
    let saved = RwSignal::new(None::<Result<String, String>>);
    let saving = RwSignal::new(false);
    let manifest = &opened.manifest;
    let count = manifest.items.len();
    let savable = if opened.hosted {
        opened.images.iter().filter(|i| i.is_some()).count()
    } else {
        manifest
            .items
            .iter()
            .filter(|i| i.preview.is_some())
            .count()
    };
    let explain = if opened.hosted {
        "Saves the full images into your gallery (in the collection \u{201c}Shared with me\u{201d}); images you already have are skipped."
    } else if savable == 0 {
        "This link carries no previews, only prompts and settings, so there is no image to save: use \u{201c}Make one like this\u{201d} to make your own."
    } else {
        "A recipe link carries tiny 64-pixel previews, not the images: saving keeps each recipe with its preview in your gallery (collection \u{201c}Shared with me\u{201d}), so its settings can be reused later."
    };
    let for_save = opened.clone();
    let save = move |_| {
        let opened = for_save.clone();
        saving.set(true);
        spawn_local(async move {
            let outcome = save_to_gallery(gallery, &opened).await;
            saving.set(false);
            let _ = saved.try_set(Some(outcome));
        });
    };
    let cards = manifest
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let image = opened.images.get(index).cloned().flatten();
            view! { <SharedCard item=item.clone() image /> }
        })
        .collect_view();
    view! {
        <p class="hint" id="shared-summary">
            {format!("{count} image{} shared {}", if count == 1 { "" } else { "s" },
                if opened.hosted { "through a relay." } else { "as a recipe link: prompts and settings." })}
        </p>
        {opened.image_problem.clone().map(|p| view! { <p class="banner warn" role="alert">{p}</p> })}
        <div class="shared-actions">
            <button type="button" id="shared-save" class="primary"
                disabled=move || saving.get() || savable == 0 || matches!(saved.get(), Some(Ok(_)))
                on:click=save>"Save to my gallery"</button>
            <span class="hint">{explain}</span>
        </div>
        {move || saved.get().map(|outcome| match outcome {
            Ok(message) => view! { <p class="banner" role="status" id="shared-saved">{message}</p> }.into_any(),
            Err(problem) => view! { <p class="banner warn" role="alert" id="shared-saved">{problem}</p> }.into_any(),
        })}
        <ul class="shared-grid" id="shared-items">{cards}</ul>
    }
}

#[component]
fn SharedCard(item: ShareItem, image: Option<Rc<Fetched>>) -> impl IntoView {
    let draft = expect_context::<Draft>();
    let navigate = use_navigate();
    let r = &item.request;
    let mut params = vec![("Model", item.model.clone())];
    if item.width > 0 && item.height > 0 {
        params.push(("Size", format!("{}x{}", item.width, item.height)));
    }
    for (label, value) in [
        ("Quality", &r.quality),
        ("Format", &r.output_format),
        ("Background", &r.background),
        ("Style", &r.style),
    ] {
        if let Some(value) = value {
            params.push((label, value.clone()));
        }
    }
    if let Some(kind) = item.made_by.label() {
        params.push(("Made by", kind.to_owned()));
    }
    // Only ever through <img>: an SVG's scripts never run there.
    let src = image
        .as_ref()
        .map(|i| i.url.as_str().to_owned())
        .or_else(|| item.preview.as_ref().map(|p| p.data_url()));
    let request = item.to_request();
    let alt = item.prompt.clone();
    view! {
        <li class="shared-card">
            {match src {
                Some(src) => view! { <img class="shared-image" src=src alt=alt /> }.into_any(),
                None => view! { <div class="shared-image none" aria-hidden="true">"No preview"</div> }.into_any(),
            }}
            <div class="shared-text">
                <h2 class="shared-prompt">{item.prompt.clone()}</h2>
                {item.revised_prompt.clone().map(|revised| view! {
                    <p class="detail-revised"><strong>"Revised by the server: "</strong>{revised}</p>
                })}
                <dl class="detail-params">
                    {params.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                </dl>
                <button type="button" class="make-like" on:click=move |_| {
                    draft.apply(&request);
                    navigate("/", Default::default());
                }>"Make one like this"</button>
            </div>
        </li>
    }
}

/// Saves what the share holds through the gallery's normal save (deduplicated by SHA-256):
/// a hosted share's full images, a recipe link's previews.
async fn save_to_gallery(gallery: Gallery, opened: &Opened) -> Result<String, String> {
    let mut known: HashSet<String> = gallery
        .items
        .with_untracked(|all| all.iter().map(|i| i.sha256.clone()).collect());
    let now = js_sys::Date::now() as u64;
    let job = format!("shared-{now}");
    let mut records = Vec::new();
    let mut skipped = 0;
    for (index, item) in opened.manifest.items.iter().enumerate() {
        let (blob, bytes) = if opened.hosted {
            match opened.images.get(index).cloned().flatten() {
                Some(image) => (image.blob.clone(), image.bytes.clone()),
                None => continue,
            }
        } else {
            let Some(bytes) = item.preview.as_ref().and_then(|p| p.bytes()) else {
                continue;
            };
            let Some(format) = ImageFormat::sniff(&bytes) else {
                continue;
            };
            let array = js_sys::Uint8Array::from(bytes.as_slice());
            match ObjectUrl::from_array(&array, format.mime()) {
                Ok((_, blob)) => (blob, bytes),
                Err(_) => continue,
            }
        };
        let array = js_sys::Uint8Array::from(bytes.as_slice());
        let hash = browser::sha256_hex(&array)
            .await
            .map_err(|_| "The browser could not read an image.".to_owned())?;
        if !known.insert(hash.clone()) {
            skipped += 1;
            continue;
        }
        let mime =
            ImageFormat::sniff(&bytes).map_or_else(|| item.mime.clone(), |f| f.mime().to_owned());
        let (width, height) = dimensions(&bytes).unwrap_or((item.width, item.height));
        let gallery_item = GalleryItem {
            schema: ITEM_SCHEMA,
            id: format!("{job}-{index}"),
            sha256: hash.clone(),
            mime,
            bytes: bytes.len() as u64,
            crc32: Some(crc32(&bytes)),
            width,
            height,
            prompt: item.prompt.clone(),
            revised_prompt: item.revised_prompt.clone(),
            model: item.model.clone(),
            request: item.to_request(),
            usage: None,
            cost: None,
            timing: Timing::default(),
            created_ms: now,
            parents: Vec::new(),
            made_by: item.made_by,
            favorite: false,
            collections: vec![SAVED_COLLECTION.to_owned()],
            job_id: job.clone(),
            index: index as u32,
        };
        let thumb = browser::thumbnail(&blob, width, height).await.ok();
        records.push((
            gallery_item.clone(),
            NewImage {
                id: gallery_item.id.clone(),
                job: job.clone(),
                created: now as f64,
                hash,
                meta: gallery_item.to_json(),
                image: blob,
                thumb,
            },
        ));
    }
    let added = records.len();
    if added > 0 {
        gallery.save(records).await.map_err(|e| e.to_string())?;
    }
    let mut message = format!(
        "Saved {added} image{} to your gallery.",
        if added == 1 { "" } else { "s" }
    );
    if skipped > 0 {
        message.push_str(&format!(
            " {skipped} you already had {} skipped.",
            if skipped == 1 { "was" } else { "were" }
        ));
    }
    Ok(message)
}
