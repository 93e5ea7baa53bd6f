//! Files in and out, in a real browser with real IndexedDB: PNG downloads carry their settings,
//! ZIP export and import round-trip the gallery, and a PNG dropped or pasted on the studio
//! restores its settings. Images come from a real relay with the offline generator
//! (`cargo xtask test` starts it and passes its address as EASEL_TEST_RELAY).
#![cfg(target_arch = "wasm32")]

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use easel::pages::Studio;
use easel::state::{Draft, Gallery, Jobs, Settings};
use easel::storage::{
    ArchiveError, ExportFormat, GalleryDb, ImportReport, export_zip, file_for_download, import_zip,
    save_as,
};
use easel_core::gallery::{EmbeddedSettings, SETTINGS_FORMAT, SETTINGS_VERSION};
use easel_core::manifest::{ManifestError, VERSION};
use easel_core::zip::{self, DosTime, ZipError};
use easel_core::{GenerationRequest, png_text};
use js_sys::Uint8Array;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{
    Blob, ClipboardEvent, ClipboardEventInit, DataTransfer, DragEvent, DragEventInit, Element,
    File, HtmlElement, HtmlSelectElement, HtmlTextAreaElement,
};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{Store, blob_of, bytes_of, document, fresh_db_name, sleep};

/// A 2x2 RGBA PNG with no text chunks.
const PLAIN_PNG: [u8; 75] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06, 0x00, 0x00, 0x00, 0x72, 0xb6, 0x0d,
    0x24, 0x00, 0x00, 0x00, 0x12, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x84, 0x19, 0xa0, 0xf4, 0x7f, 0x00, 0x43, 0xce, 0x07, 0xf9, 0xfa, 0x81, 0x4a, 0xfd, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn small_request(prompt: &str, n: u32) -> GenerationRequest {
    let mut request = GenerationRequest::for_model("dall-e-2", prompt);
    request.size = Some("256x256".to_owned());
    request.n = Some(n);
    request
}

fn chunk_kinds(png: &[u8]) -> Vec<[u8; 4]> {
    png_text::chunks(png)
        .unwrap()
        .iter()
        .map(|c| c.kind)
        .collect()
}

#[wasm_bindgen_test]
async fn a_downloaded_png_carries_its_prompt_and_settings() {
    let store = Store::open().await;
    let mut request =
        GenerationRequest::for_model("gpt-image-1", "a lighthouse at dusk, oil on canvas");
    request.size = Some("1024x1024".to_owned());
    request.quality = Some("low".to_owned());
    request.output_format = Some("png".to_owned());
    let item = store.generate(request.clone()).await.remove(0);
    assert_eq!(item.mime, "image/png");
    let original = store.db().await.image(&item.sha256).await.unwrap().unwrap();

    let download = file_for_download(&item, &original).await.unwrap();
    assert_eq!(download.type_(), "image/png");
    let original = bytes_of(&original).await;
    let download = bytes_of(&download).await;
    assert!(download.len() > original.len());

    let settings = EmbeddedSettings::read_from_png(&download).unwrap();
    assert_eq!(settings.prompt, "a lighthouse at dusk, oil on canvas");
    assert_eq!(settings.model, "gpt-image-1");
    assert_eq!(settings.params["size"], "1024x1024");
    assert_eq!(settings.params["quality"], "low");
    assert_eq!(settings.created_ms, Some(item.created_ms));
    assert_eq!(
        settings.to_request(),
        request,
        "the same request comes back"
    );

    // Pixels are not re-encoded: every original chunk is there, byte for byte, in order.
    let before = png_text::chunks(&original).unwrap();
    let after = png_text::chunks(&download).unwrap();
    let kept: Vec<_> = after.iter().filter(|c| &c.kind != b"iTXt").collect();
    assert_eq!(kept.len(), before.len());
    for (a, b) in kept.iter().zip(&before) {
        assert_eq!((a.kind, a.data), (b.kind, b.data));
    }
    assert_eq!(
        chunk_kinds(&download)
            .iter()
            .filter(|k| *k == b"iTXt")
            .count(),
        1
    );

    // Downloading twice does not stack a second chunk.
    let again = file_for_download(&item, &blob_of(&download, "image/png"))
        .await
        .unwrap();
    assert_eq!(bytes_of(&again).await, download);

    // Saving goes through a temporary link and leaves nothing behind in the page.
    let links = document()
        .query_selector_all("a[download]")
        .unwrap()
        .length();
    save_as(
        &blob_of(&download, "image/png"),
        "a-lighthouse-at-dusk-1.png",
    );
    assert_eq!(
        document()
            .query_selector_all("a[download]")
            .unwrap()
            .length(),
        links
    );
}

#[wasm_bindgen_test]
async fn other_formats_download_unchanged() {
    let store = Store::open().await;
    let mut request = GenerationRequest::for_model("gpt-image-1", "a quiet harbour");
    request.size = Some("1024x1024".to_owned());
    request.quality = Some("low".to_owned());
    request.output_format = Some("webp".to_owned());
    let item = store.generate(request).await.remove(0);
    assert_eq!(item.mime, "image/webp");
    let original = store.db().await.image(&item.sha256).await.unwrap().unwrap();
    let download = file_for_download(&item, &original).await.unwrap();
    assert_eq!(bytes_of(&download).await, bytes_of(&original).await);
    assert_eq!(
        easel::storage::download::download_name(&item),
        "a-quiet-harbour-1.webp"
    );
}

#[wasm_bindgen_test]
async fn export_delete_import_restores_the_same_images_and_a_second_import_adds_nothing() {
    let store = Store::open().await;
    let mut items = store
        .generate(small_request("three paper boats on a pond", 2))
        .await;
    items.extend(store.generate(small_request("a red fox in snow", 1)).await);
    let hashes: std::collections::HashSet<_> = items.iter().map(|i| &i.sha256).collect();
    assert_eq!(hashes.len(), 3, "three different images");
    let before = store.sorted_items();

    let calls = Rc::new(RefCell::new(Vec::new()));
    let seen = calls.clone();
    let db = store.db().await;
    let archive = export_zip(&db, &items, ExportFormat::Archive, &move |done, total| {
        seen.borrow_mut().push((done, total))
    })
    .await
    .unwrap();
    assert_eq!(archive.type_(), "application/zip");
    assert_eq!(calls.borrow().first(), Some(&(0, 3)));
    assert_eq!(calls.borrow().last(), Some(&(3, 3)));

    // The archive is an ordinary stored ZIP: manifest first, then the images by prompt.
    let bytes = bytes_of(&archive).await;
    let listed = zip::list(&bytes).unwrap();
    let names: Vec<&str> = listed.iter().map(|(e, _)| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "manifest.json",
            "images/three-paper-boats-on-a-pond-1.png",
            "images/three-paper-boats-on-a-pond-2.png",
            "images/a-red-fox-in-snow-3.png",
        ]
    );
    for (entry, range) in &listed {
        entry.require_stored().unwrap();
        entry
            .check_crc(&bytes[range.start as usize..range.end as usize])
            .unwrap();
    }

    // Delete everything, then import.
    store
        .gallery
        .delete(items.iter().map(|i| i.id.clone()).collect())
        .await
        .unwrap();
    assert!(store.gallery.items.with_untracked(Vec::is_empty));
    assert!(db.image(&items[0].sha256).await.unwrap().is_none());

    let calls = Rc::new(RefCell::new(Vec::new()));
    let seen = calls.clone();
    let report = import_zip(&store.gallery, &archive, &move |done, total| {
        seen.borrow_mut().push((done, total))
    })
    .await
    .unwrap();
    assert_eq!(
        report,
        ImportReport {
            added: 3,
            ..ImportReport::default()
        }
    );
    assert_eq!(calls.borrow().last(), Some(&(3, 3)));
    let after = store.sorted_items();
    assert_eq!(after, before, "same ids, hashes, prompts and metadata");

    // The bytes are back, stored, with thumbnails, and survive reopening the store.
    let reopened = GalleryDb::open(store.db_name).await.unwrap();
    assert_eq!(reopened.list().await.unwrap().len(), 3);
    for item in &after {
        let image = reopened.image(&item.sha256).await.unwrap().unwrap();
        let hash = easel::storage::browser::sha256_hex(&Uint8Array::from(
            bytes_of(&image).await.as_slice(),
        ))
        .await
        .unwrap();
        assert_eq!(hash, item.sha256);
        assert!(reopened.thumb(&item.sha256).await.unwrap().is_some());
    }

    // Everything is already there: a second import adds nothing.
    let report = import_zip(&store.gallery, &archive, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(
        report,
        ImportReport {
            skipped_duplicates: 3,
            ..ImportReport::default()
        }
    );
    assert_eq!(store.gallery.items.with_untracked(Vec::len), 3);
}

/// "Export as a web page": the archive also holds an `index.html` that names every image by
/// its entry, carries nothing identifying, and still imports like any export.
#[wasm_bindgen_test]
async fn a_web_page_export_shows_every_image_and_imports_back() {
    let store = Store::open().await;
    let mut items = store.generate(small_request("a paper lantern", 2)).await;
    for item in &mut items {
        item.request.safety_identifier = Some("person-4711".to_owned());
    }
    let archive = store.export(&items, ExportFormat::WebPage).await;
    let bytes = bytes_of(&archive).await;
    let listed = zip::list(&bytes).unwrap();
    let names: Vec<&str> = listed.iter().map(|(e, _)| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "manifest.json",
            "index.html",
            "images/a-paper-lantern-1.png",
            "images/a-paper-lantern-2.png",
        ]
    );
    let text = |name: &str| {
        let (_, range) = listed.iter().find(|(e, _)| e.name == name).unwrap();
        String::from_utf8(bytes[range.start as usize..range.end as usize].to_vec()).unwrap()
    };
    let page = text("index.html");
    for image in &names[2..] {
        assert!(
            page.contains(&format!("<img src=\"{image}\"")),
            "{image} in the page"
        );
    }
    assert!(page.contains("a paper lantern"));
    assert!(!page.contains("person-4711") && !text("manifest.json").contains("person-4711"));

    store
        .gallery
        .delete(items.iter().map(|i| i.id.clone()).collect())
        .await
        .unwrap();
    let report = import_zip(&store.gallery, &archive, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(report.added, 2, "{report:?}");
}

#[wasm_bindgen_test]
async fn a_damaged_entry_fails_alone() {
    let store = Store::open().await;
    let items = store.generate(small_request("a lantern", 2)).await;
    let archive = store.export(&items, ExportFormat::Archive).await;
    let mut bytes = bytes_of(&archive).await;
    let listed = zip::list(&bytes).unwrap();
    let (_, range) = &listed[1];
    let middle = ((range.start + range.end) / 2) as usize;
    bytes[middle] ^= 0xFF;
    store
        .gallery
        .delete(items.iter().map(|i| i.id.clone()).collect())
        .await
        .unwrap();

    let report = import_zip(
        &store.gallery,
        &blob_of(&bytes, "application/zip"),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!((report.added, report.failed), (1, 1), "{report:?}");
    assert!(
        report.problems[0].contains("checksum"),
        "{:?}",
        report.problems
    );
    assert_eq!(
        store.gallery.items.get_untracked()[0].sha256,
        items[1].sha256
    );
}

#[wasm_bindgen_test]
async fn files_that_are_not_easel_exports_are_refused_clearly() {
    let store = Store::open().await;
    let import = |blob: Blob| {
        let gallery = store.gallery;
        async move { import_zip(&gallery, &blob, &|_, _| {}).await }
    };

    let error = import(blob_of(b"just some text, not an archive", "text/plain"))
        .await
        .unwrap_err();
    assert_eq!(error, ArchiveError::Zip(ZipError::NotZip));
    assert_eq!(
        error.to_string(),
        "This is not a ZIP file, or it is cut short."
    );
    let error = import(blob_of(&PLAIN_PNG, "image/png")).await.unwrap_err();
    assert_eq!(error, ArchiveError::Zip(ZipError::NotZip));
    let error = import(blob_of(b"", "")).await.unwrap_err();
    assert_eq!(error, ArchiveError::Zip(ZipError::NotZip));

    let time = DosTime::from_unix_ms(1_795_000_000_000);
    let other = zip::write_stored(&[("notes.txt", b"hello")], time).unwrap();
    let error = import(blob_of(&other, "application/zip"))
        .await
        .unwrap_err();
    assert_eq!(error, ArchiveError::Manifest(ManifestError::Missing));
    assert!(error.to_string().contains("not an Easel gallery export"));

    let newer = format!(
        r#"{{"format":"easel-gallery","version":{},"items":[]}}"#,
        VERSION + 1
    );
    let newer = zip::write_stored(&[("manifest.json", newer.as_bytes())], time).unwrap();
    let error = import(blob_of(&newer, "application/zip"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ArchiveError::Manifest(ManifestError::UnsupportedVersion { .. })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("Update Easel"), "{error}");

    // A real export cut short is damaged, not a crash.
    let items = store.generate(small_request("a kite", 1)).await;
    let archive = store.export(&items, ExportFormat::Archive).await;
    let bytes = bytes_of(&archive).await;
    let error = import(blob_of(&bytes[..bytes.len() / 2], "application/zip"))
        .await
        .unwrap_err();
    assert_eq!(error, ArchiveError::Zip(ZipError::NotZip));
    let mut bad_manifest = bytes.clone();
    bad_manifest[zip::LOCAL_HEADER_LEN + "manifest.json".len() + 2] ^= 0x20;
    let error = import(blob_of(&bad_manifest, "application/zip"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ArchiveError::Zip(ZipError::BadCrc { .. })),
        "{error:?}"
    );
    assert_eq!(store.gallery.items.with_untracked(Vec::len), 1);
}

/// The studio mounted in its own element; unmounted and removed when dropped.
struct Mounted {
    root: HtmlElement,
    handle: Option<Box<dyn Any>>,
    owner: Owner,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.handle.take();
        self.root.remove();
    }
}

impl Mounted {
    fn new() -> Mounted {
        let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
        document().body().unwrap().append_child(&root).unwrap();
        let db_name = fresh_db_name();
        let owner = Rc::new(RefCell::new(None));
        let root_owner = owner.clone();
        let handle = leptos::mount::mount_to(root.clone(), move || {
            *root_owner.borrow_mut() = Owner::current();
            Settings::provide();
            Draft::provide();
            Jobs::provide(Gallery::provide(db_name));
            view! { <Studio /> }
        });
        let owner = owner.borrow_mut().take().unwrap();
        Mounted {
            root,
            handle: Some(Box::new(handle)),
            owner,
        }
    }

    /// Unmounts the studio the way leaving its route does: its reactive owner is cleaned up.
    fn unmount(mut self) {
        self.owner.cleanup();
        self.handle.take();
    }

    fn find(&self, css: &str) -> Element {
        self.root.query_selector(css).unwrap().expect(css)
    }

    fn value(&self, css: &str) -> String {
        let element = self.find(css);
        match element.dyn_ref::<HtmlTextAreaElement>() {
            Some(area) => area.value(),
            None => element.unchecked_into::<HtmlSelectElement>().value(),
        }
    }

    fn note(&self) -> String {
        self.root
            .query_selector("#settings-note")
            .unwrap()
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    async fn wait_for_note(&self, containing: &str) {
        for _ in 0..200 {
            if self.note().contains(containing) {
                return;
            }
            sleep(25).await;
        }
        panic!(
            "no note containing {containing:?}; the note says {:?}",
            self.note()
        );
    }

    /// Drops `file` on the prompt box, as a person dragging it from their files would.
    fn drop_file(&self, file: &File) -> bool {
        let transfer = DataTransfer::new().unwrap();
        transfer.items().add_with_file(file).unwrap();
        let init = DragEventInit::new();
        init.set_bubbles(true);
        init.set_cancelable(true);
        init.set_data_transfer(Some(&transfer));
        let over = DragEvent::new_with_event_init_dict("dragover", &init).unwrap();
        self.find("#prompt").dispatch_event(&over).unwrap();
        assert!(over.default_prevented(), "dragover accepts files");
        let drop = DragEvent::new_with_event_init_dict("drop", &init).unwrap();
        self.find("#prompt").dispatch_event(&drop).unwrap();
        drop.default_prevented()
    }
}

fn file(bytes: &[u8], name: &str) -> File {
    File::new_with_u8_array_sequence(&js_sys::Array::of1(&Uint8Array::from(bytes)), name).unwrap()
}

fn png_with_settings(prompt: &str, model: &str, params: serde_json::Value) -> Vec<u8> {
    let settings = EmbeddedSettings {
        format: SETTINGS_FORMAT.to_owned(),
        version: SETTINGS_VERSION,
        prompt: prompt.to_owned(),
        revised_prompt: None,
        model: model.to_owned(),
        params: params.as_object().unwrap().clone(),
        created_ms: Some(1_795_000_000_000),
    };
    settings.write_into_png(&PLAIN_PNG).unwrap()
}

#[wasm_bindgen_test]
async fn dropping_a_png_with_settings_fills_the_form() {
    let page = Mounted::new();
    leptos::task::tick().await;
    assert_eq!(page.value("#prompt"), "");
    let png = png_with_settings(
        "a red fox in fresh snow",
        "dall-e-3",
        serde_json::json!({"n": 1, "size": "1792x1024", "quality": "hd", "style": "natural"}),
    );
    assert!(
        page.drop_file(&file(&png, "fox.png")),
        "the drop is handled"
    );
    page.wait_for_note("Settings restored from fox.png").await;
    leptos::task::tick().await;
    assert_eq!(page.value("#prompt"), "a red fox in fresh snow");
    assert_eq!(page.value("#model"), "dall-e-3");
    assert_eq!(page.value("#size"), "1792x1024");
    assert_eq!(page.value("#quality"), "hd");
    assert_eq!(
        page.find("#settings-note")
            .get_attribute("data-restored")
            .as_deref(),
        Some("true")
    );

    // A PNG made elsewhere, and a file that is not a PNG: the form is left alone.
    page.drop_file(&file(&PLAIN_PNG, "screenshot.png"));
    page.wait_for_note("screenshot.png: This image carries no Easel settings.")
        .await;
    page.drop_file(&file(b"hello", "notes.txt"));
    page.wait_for_note("notes.txt: This is not a PNG image")
        .await;
    assert_eq!(
        page.find("#settings-note")
            .get_attribute("data-restored")
            .as_deref(),
        Some("false")
    );
    assert_eq!(page.value("#prompt"), "a red fox in fresh snow");
    assert_eq!(page.value("#model"), "dall-e-3");
}

#[wasm_bindgen_test]
async fn pasting_a_png_with_settings_fills_the_form() {
    let page = Mounted::new();
    leptos::task::tick().await;
    let png = png_with_settings(
        "a paper boat",
        "gpt-image-1",
        serde_json::json!({"n": 2, "size": "1536x1024", "quality": "medium", "output_format": "webp"}),
    );
    let transfer = DataTransfer::new().unwrap();
    transfer
        .items()
        .add_with_file(&file(&png, "boat.png"))
        .unwrap();
    let init = ClipboardEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_clipboard_data(Some(&transfer));
    let paste = ClipboardEvent::new_with_event_init_dict("paste", &init).unwrap();
    document().dispatch_event(&paste).unwrap();
    page.wait_for_note("Settings restored from boat.png").await;
    leptos::task::tick().await;
    assert_eq!(page.value("#prompt"), "a paper boat");
    assert_eq!(page.value("#model"), "gpt-image-1");
    assert_eq!(page.value("#size"), "1536x1024");
    assert_eq!(page.value("#format"), "webp");
    assert_eq!(page.value("#count"), "2");

    // Unmounted, the studio stops listening.
    page.unmount();
    let paste = ClipboardEvent::new_with_event_init_dict("paste", &init).unwrap();
    document().dispatch_event(&paste).unwrap();
    assert!(!paste.default_prevented());
}
