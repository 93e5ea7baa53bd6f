//! The gallery in a real browser with real IndexedDB: what is saved reopens byte for byte,
//! a job cut off by a reload comes back as interrupted, a full disk loses nothing, and the
//! grid stays small in the page however many images there are.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use easel::pages::{GalleryPage, Studio};
use easel::state::{
    Draft, GALLERY_DB, Gallery, GalleryStatus, GalleryView, JobState, Jobs, Settings,
};
use easel::storage::{GalleryDb, NewImage, StorageError, Thumbnail, browser};
use easel_core::files::dimensions;
use easel_core::gallery::{GalleryItem, ITEM_SCHEMA, Timing};
use easel_core::{GenerationRequest, Mode};
use js_sys::Uint8Array;
use leptos::prelude::*;
use leptos_router::components::Router;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{
    RELAY, Store, blob_of, bytes_of, document, fresh_db_name, relay, sleep, use_app_stylesheet,
    wait_until,
};

fn request(prompt: &str, n: u32) -> GenerationRequest {
    let mut request = GenerationRequest::for_model("gpt-image-2", prompt);
    request.n = Some(n);
    request
}

#[wasm_bindgen_test]
async fn saved_images_reopen_with_the_same_bytes_and_metadata() {
    let store = Store::open().await;
    let made = store
        .generate(request("a red lantern in the rain", 2))
        .await;

    // A second connection, as after a reload.
    let reopened = GalleryDb::open(store.db_name).await.unwrap();
    let mut listed: Vec<GalleryItem> = reopened
        .list()
        .await
        .unwrap()
        .iter()
        .map(|s| GalleryItem::from_json(&s.meta).unwrap())
        .collect();
    listed.sort_by_key(|i| i.index);
    assert_eq!(listed, made, "metadata comes back as saved");
    for item in &listed {
        assert_eq!(item.prompt, "a red lantern in the rain");
        assert_eq!(item.request.n, Some(2));
        assert!(item.usage.is_some() && item.timing.finished_ms >= item.timing.started_ms);
        let blob = reopened
            .image(&item.sha256)
            .await
            .unwrap()
            .expect("image bytes");
        let bytes = bytes_of(&blob).await;
        let hash = browser::sha256_hex(&Uint8Array::from(bytes.as_slice()))
            .await
            .unwrap();
        assert_eq!(hash, item.sha256, "the same bytes");
        assert_eq!(bytes.len() as u64, item.bytes);
        assert_eq!(item.crc32, Some(easel_core::crc32::crc32(&bytes)));
        assert_eq!(dimensions(&bytes), Some((1024, 1024)));
        let thumb = reopened
            .thumb(&item.sha256)
            .await
            .unwrap()
            .expect("a thumbnail");
        assert_eq!(thumb.mime, "image/webp");
        assert!(
            f64::from(thumb.bytes.length()) < blob.size(),
            "thumbnails are small"
        );
    }
    assert_ne!(listed[0].sha256, listed[1].sha256);
}

#[wasm_bindgen_test]
async fn a_job_cut_off_by_a_reload_comes_back_as_interrupted() {
    let db_name = fresh_db_name();
    let db = GalleryDb::open(db_name).await.unwrap();
    let sent = request("a kite over the dunes", 1);
    db.add_pending("cut-off-job", &serde_json::to_string(&sent).unwrap(), None)
        .await
        .unwrap();

    let owner = Owner::new();
    let (gallery, jobs) = owner.with(|| {
        let gallery = Gallery::provide(db_name);
        (gallery, Jobs::provide(gallery))
    });
    wait_until("the interrupted job", 10, || {
        jobs.list.with_untracked(|l| !l.is_empty())
    })
    .await;
    let job = jobs.list.with_untracked(|l| l[0].clone());
    assert_eq!(job.uid, "cut-off-job");
    assert_eq!(job.request, sent);
    assert_eq!(job.state.get_untracked(), JobState::Interrupted);

    // Retrying sends the same request again; dismissing forgets the interrupted one.
    jobs.start(job.request.clone(), relay());
    jobs.dismiss(job.id);
    wait_until("the retry", 30, || {
        gallery.items.with_untracked(|i| i.len() == 1)
    })
    .await;
    assert_eq!(
        gallery.items.with_untracked(|i| i[0].prompt.clone()),
        "a kite over the dunes"
    );
    // The pending record goes once the retry is stored; poll the database for it.
    let mut pending = db.pending().await.unwrap();
    for _ in 0..100 {
        if pending.is_empty() {
            break;
        }
        sleep(100).await;
        pending = db.pending().await.unwrap();
    }
    assert!(pending.is_empty(), "nothing left pending");
}

#[wasm_bindgen_test]
async fn a_full_disk_keeps_the_images_on_the_page_and_says_so() {
    let db_name = fresh_db_name();
    let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&root).unwrap();
    let shared = Rc::new(Cell::new(None::<Gallery>));
    let stash = shared.clone();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        let settings = Settings::provide();
        settings.mode.set(Mode::Relay);
        settings.relay_url.set(RELAY.to_owned());
        Draft::provide();
        let gallery = Gallery::provide(db_name);
        stash.set(Some(gallery));
        Jobs::provide(gallery);
        view! { <Studio /> }
    });
    let gallery = shared.get().unwrap();
    wait_until("the gallery", 10, || {
        gallery.status.get_untracked() == GalleryStatus::Ready
    })
    .await;
    gallery
        .db()
        .await
        .unwrap()
        .inject_failure(StorageError::QuotaExceeded);

    let prompt: web_sys::HtmlTextAreaElement = root
        .query_selector("#prompt")
        .unwrap()
        .unwrap()
        .unchecked_into();
    prompt.set_value("a glass of water");
    prompt
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    leptos::task::tick().await;
    root.query_selector("#generate")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    wait_until("the answer", 30, || {
        root.query_selector("article.job[data-state=done]")
            .unwrap()
            .is_some()
    })
    .await;

    let note = root
        .query_selector(".unsaved")
        .unwrap()
        .expect("the user is told")
        .text_content()
        .unwrap();
    assert!(note.contains("storage for this site is full"), "{note}");
    let img: web_sys::HtmlImageElement = root
        .query_selector("img.result")
        .unwrap()
        .unwrap()
        .unchecked_into();
    wait_until("the image to show", 10, || {
        img.complete() && img.natural_width() > 0
    })
    .await;
    assert!(img.src().starts_with("blob:"));
    assert!(
        root.query_selector("a.download").unwrap().is_some(),
        "still downloadable"
    );
    // Nothing half-written.
    let db = GalleryDb::open(db_name).await.unwrap();
    assert!(db.list().await.unwrap().is_empty());
    assert!(gallery.items.with_untracked(Vec::is_empty));

    // Once there is room again, the same images are saved from the page.
    root.query_selector(".save-again")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    wait_until("the second save", 20, || {
        gallery.items.with_untracked(|i| i.len() == 1)
    })
    .await;
    wait_until("the note to go", 10, || {
        root.query_selector(".unsaved").unwrap().is_none()
    })
    .await;
    assert_eq!(db.list().await.unwrap().len(), 1);
    drop(handle);
    root.remove();
}

/// Counts object URLs alive in the page by wrapping `URL.createObjectURL`/`revokeObjectURL`.
fn count_object_urls() {
    js_sys::Function::new_no_args(
        "if (!window.__urls) { window.__urls = { live: 0 }; \
         const create = URL.createObjectURL, revoke = URL.revokeObjectURL; \
         URL.createObjectURL = b => { window.__urls.live++; return create(b); }; \
         URL.revokeObjectURL = u => { window.__urls.live--; return revoke(u); }; }",
    )
    .call0(&wasm_bindgen::JsValue::NULL)
    .unwrap();
}

fn live_object_urls() -> i32 {
    js_sys::eval("window.__urls.live")
        .unwrap()
        .as_f64()
        .unwrap() as i32
}

/// A 2x2 PNG, so the seed is quick: 1,000 items share its bytes.
const TINY_PNG: [u8; 74] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06, 0x00, 0x00, 0x00, 0x72, 0xb6, 0x0d,
    0x24, 0x00, 0x00, 0x00, 0x11, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x38, 0x11, 0xa0, 0xf1,
    0x1f, 0x84, 0x19, 0x60, 0x0c, 0x00, 0x4f, 0xf4, 0x08, 0xfd, 0x09, 0x12, 0x7c, 0x07, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

async fn seed(db_name: &'static str, count: usize) {
    let db = GalleryDb::open(db_name).await.unwrap();
    let png = blob_of(&TINY_PNG, "image/png");
    let hash = browser::sha256_hex(&Uint8Array::from(&TINY_PNG[..]))
        .await
        .unwrap();
    let records: Vec<NewImage> = (0..count)
        .map(|i| {
            let job = format!("job-{:04}", i / 4);
            let created_ms = 1_800_000_000_000 - (i as u64 / 4) * 1000;
            // Every other item is stored under a key without a thumbnail (as when making one
            // failed): the grid shows its full image instead.
            let with_thumbnail = i % 2 == 0;
            let hash = if with_thumbnail {
                hash.clone()
            } else {
                format!("{hash}-no-thumbnail")
            };
            let item = GalleryItem {
                schema: ITEM_SCHEMA,
                id: format!("{job}-{}", i % 4),
                sha256: hash.clone(),
                mime: "image/png".into(),
                bytes: TINY_PNG.len() as u64,
                crc32: None,
                width: 1,
                height: 1,
                prompt: format!("seeded picture number {i}"),
                revised_prompt: None,
                model: "gpt-image-2".into(),
                request: request("seeded", 4),
                usage: None,
                cost: None,
                timing: Timing::default(),
                created_ms,
                parents: Vec::new(),
                made_by: easel_core::gallery::MadeBy::Generation,
                favorite: false,
                collections: Vec::new(),
                job_id: job.clone(),
                index: (i % 4) as u32,
            };
            NewImage {
                id: item.id.clone(),
                job,
                created: created_ms as f64,
                hash: hash.clone(),
                meta: item.to_json(),
                image: png.clone(),
                thumb: with_thumbnail.then(|| Thumbnail {
                    mime: "image/png".into(),
                    bytes: Uint8Array::from(&TINY_PNG[..]),
                }),
            }
        })
        .collect();
    db.save(&records).await.unwrap();
}

/// The gallery page over the database `db_name`, in a 700 px tall box, as the app mounts it.
fn mount_gallery_page(
    db_name: &'static str,
) -> (
    HtmlElement,
    leptos::mount::UnmountHandle<impl Mountable>,
    GalleryView,
) {
    let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    root.set_attribute(
        "style",
        "height: 700px; display: flex; flex-direction: column",
    )
    .unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    let shared: Rc<Cell<Option<GalleryView>>> = Rc::new(Cell::new(None));
    let handle = leptos::mount::mount_to(root.clone(), {
        let shared = shared.clone();
        move || {
            Settings::provide();
            Draft::provide();
            let gallery = Gallery::provide(db_name);
            Jobs::provide(gallery);
            shared.set(Some(GalleryView::provide(gallery)));
            view! { <Router><GalleryPage /></Router> }
        }
    });
    (root, handle, shared.get().expect("the gallery view"))
}

/// Runs the page's prelude (public/prelude.js), as the page does before the app's code arrives.
fn run_prelude() {
    js_sys::eval(include_str!("../public/prelude.js")).expect("the prelude runs");
}

/// What the prelude left for the app: `{db, items}` or null.
async fn prelude_result() -> wasm_bindgen::JsValue {
    let promise = js_sys::Reflect::get(&web_sys::window().unwrap(), &"easelGallery".into())
        .unwrap()
        .dyn_into::<js_sys::Promise>()
        .expect("the prelude's promise");
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap()
}

async fn gallery_exists() -> bool {
    let listing: js_sys::Promise = js_sys::eval("indexedDB.databases()")
        .unwrap()
        .unchecked_into();
    let names = wasm_bindgen_futures::JsFuture::from(listing).await.unwrap();
    js_sys::Array::from(&names).iter().any(|info| {
        js_sys::Reflect::get(&info, &"name".into())
            .unwrap()
            .as_string()
            .as_deref()
            == Some(GALLERY_DB)
    })
}

#[wasm_bindgen_test]
async fn the_page_opens_the_gallery_before_the_app_starts_and_the_app_adopts_it() {
    let factory = idb::Factory::new().unwrap();
    factory.delete(GALLERY_DB).unwrap().await.unwrap();

    // A first visit: the prelude finds no gallery and creates none; the app does.
    run_prelude();
    assert!(prelude_result().await.is_null());
    assert!(!gallery_exists().await, "the prelude created nothing");
    seed(GALLERY_DB, 3).await;
    assert!(gallery_exists().await);

    // A revisit: the prelude opens the gallery and reads its records.
    run_prelude();
    let opened = prelude_result().await;
    let items = js_sys::Reflect::get(&opened, &"items".into()).unwrap();
    assert_eq!(js_sys::Array::from(&items).length(), 3);
    // Emptied through another connection after the prelude read: the app's first listing is
    // the prelude's, the next one reads anew.
    {
        let db = factory.open(GALLERY_DB, None).unwrap().await.unwrap();
        let tx = db
            .transaction(&["items"], idb::TransactionMode::ReadWrite)
            .unwrap();
        tx.object_store("items")
            .unwrap()
            .clear()
            .unwrap()
            .await
            .unwrap();
        tx.await.unwrap();
        db.close();
    }
    let adopted = GalleryDb::open(GALLERY_DB).await.unwrap();
    assert_eq!(
        adopted.list().await.unwrap().len(),
        3,
        "the prelude's records"
    );
    assert_eq!(adopted.list().await.unwrap().len(), 0, "read anew");
    assert!(
        js_sys::Reflect::get(&web_sys::window().unwrap(), &"easelGallery".into())
            .unwrap()
            .is_undefined(),
        "adopted once"
    );
    // The adopted connection works for writing too.
    adopted.add_pending("job-x", "{}", None).await.unwrap();
    assert_eq!(adopted.pending().await.unwrap().len(), 1);
}

#[wasm_bindgen_test]
async fn a_thumbnail_saved_as_a_blob_by_an_earlier_version_still_reads() {
    let db_name = fresh_db_name();
    seed(db_name, 1).await;
    let hash = browser::sha256_hex(&Uint8Array::from(&TINY_PNG[..]))
        .await
        .unwrap();
    {
        // What versions before inline thumbnails stored: the Blob itself.
        let factory = idb::Factory::new().unwrap();
        let db = factory.open(db_name, None).unwrap().await.unwrap();
        let tx = db
            .transaction(&["thumbs"], idb::TransactionMode::ReadWrite)
            .unwrap();
        tx.object_store("thumbs")
            .unwrap()
            .put(
                &blob_of(&TINY_PNG, "image/png"),
                Some(&wasm_bindgen::JsValue::from_str(&hash)),
            )
            .unwrap()
            .await
            .unwrap();
        tx.await.unwrap();
        db.close();
    }
    let thumb = GalleryDb::open(db_name)
        .await
        .unwrap()
        .thumb(&hash)
        .await
        .unwrap()
        .expect("the old thumbnail");
    assert_eq!(thumb.mime, "image/png");
    assert_eq!(thumb.bytes.to_vec(), TINY_PNG);
    let url = String::from(thumb.data_url());
    assert!(
        url.starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{url}"
    );
}

#[wasm_bindgen_test]
async fn the_grid_stays_small_in_the_page_with_a_thousand_images() {
    let db_name = fresh_db_name();
    seed(db_name, 1000).await;
    count_object_urls();
    use_app_stylesheet();
    let live_before = live_object_urls();

    let (root, handle, _) = mount_gallery_page(db_name);
    wait_until("the first cells", 20, || {
        root.query_selector(".grid-cell img.thumb")
            .unwrap()
            .is_some()
    })
    .await;
    // The newest are shown first; the rest are listed right after.
    wait_until("all 1,000 listed", 20, || {
        root.query_selector("#shown-count")
            .unwrap()
            .and_then(|count| count.text_content())
            .as_deref()
            == Some("1000 images")
    })
    .await;

    let scroller: HtmlElement = root
        .query_selector(".gallery-scroll")
        .unwrap()
        .unwrap()
        .unchecked_into();
    let (mut most_cells, mut most_urls, mut most_shown, mut steps) = (0, 0, 0, 0);
    loop {
        sleep(30).await;
        let cells = root.query_selector_all(".grid-cell").unwrap().length();
        most_cells = most_cells.max(cells);
        most_urls = most_urls.max(live_object_urls() - live_before);
        // Thumbnails are data: URLs on their elements, so they leave with the cells.
        let shown = root
            .query_selector_all(".grid-cell img.thumb[src^='data:image/png']")
            .unwrap()
            .length();
        most_shown = most_shown.max(shown);
        let before = scroller.scroll_top();
        scroller.set_scroll_top(before + 500);
        steps += 1;
        if scroller.scroll_top() == before {
            break;
        }
    }
    sleep(100).await;
    assert!(
        steps > 50,
        "scrolled through a long grid ({steps} steps; scroll height {}, client height {})",
        scroller.scroll_height(),
        scroller.client_height(),
    );
    let last_heading = root.query_selector_all(".group-prompt").unwrap();
    let texts: Vec<String> = (0..last_heading.length())
        .filter_map(|i| last_heading.item(i)?.text_content())
        .collect();
    assert!(
        texts.iter().any(|t| t == "seeded picture number 996"),
        "the end is reached: {texts:?}"
    );
    assert!(most_cells <= 120, "cells in the page at once: {most_cells}");
    assert!(most_urls <= 140, "object URLs alive at once: {most_urls}");
    assert!(
        most_shown <= most_cells,
        "thumbnails shown at once: {most_shown}"
    );
    assert!(most_cells > 0, "cells were shown");
    assert!(most_shown > 0, "thumbnails were shown");
    assert!(
        most_urls > 0,
        "full images were shown for items without a thumbnail"
    );

    drop(handle);
    root.remove();
}

#[wasm_bindgen_test]
async fn a_nearly_full_disk_offers_an_export_and_keeping_only_favorites() {
    let db_name = fresh_db_name();
    seed(db_name, 8).await;
    use_app_stylesheet();
    let (root, handle, view) = mount_gallery_page(db_name);
    let cells = {
        let root = root.clone();
        move || root.query_selector_all(".grid-cell").unwrap().length()
    };
    let count = {
        let root = root.clone();
        move || {
            root.query_selector("#shown-count")
                .unwrap()
                .and_then(|c| c.text_content())
                .unwrap_or_default()
        }
    };
    // The gallery's own reading of the storage estimate comes last when it opens; the
    // simulated one below must not be overwritten by it.
    wait_until("the 8 seeded images and the storage estimate", 20, || {
        count() == "8 images" && cells() > 0 && view.gallery.usage.get_untracked().is_some()
    })
    .await;
    assert!(
        root.query_selector("#storage-warning").unwrap().is_none(),
        "no warning while there is room"
    );

    view.set_favorite(&["job-0001-2".to_owned()], true);
    // What `navigator.storage.estimate()` reports when 90% of the quota is used.
    view.gallery.usage.set(Some((900.0, 1000.0)));
    wait_until("the warning", 5, || {
        root.query_selector("#storage-warning").unwrap().is_some()
    })
    .await;

    // The warning's export makes a ZIP of everything.
    let export: HtmlElement = root
        .query_selector("#warning-export")
        .unwrap()
        .expect("an export button in the warning")
        .unchecked_into();
    export.click();
    wait_until("the export's message", 20, || {
        root.query_selector(".toast")
            .unwrap()
            .and_then(|t| t.text_content())
            .is_some_and(|t| t.contains("Exported 8 images"))
    })
    .await;

    // Making room keeps the favorite only.
    let keep_favorites: HtmlElement = root
        .query_selector("#delete-non-favorites")
        .unwrap()
        .unwrap()
        .unchecked_into();
    keep_favorites.click();
    wait_until("only the favorite left", 5, || {
        count() == "1 image" && cells() == 1
    })
    .await;
    let left = root
        .query_selector(".grid-cell")
        .unwrap()
        .unwrap()
        .get_attribute("data-id");
    assert_eq!(left.as_deref(), Some("job-0001-2"));
    drop(handle);
    root.remove();
}
