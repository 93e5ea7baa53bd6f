//! Helpers shared by the browser test suites: timing, a fresh gallery database per test, and
//! the app's gallery and jobs on their own, as the studio uses them.
// Each suite uses a different subset.
#![allow(dead_code)]

use std::rc::Rc;

use easel::state::{Gallery, GalleryStatus, JobState, Jobs};
use easel::storage::{ExportFormat, GalleryDb, export_zip};
use easel_core::gallery::GalleryItem;
use easel_core::{Backend, GenerationRequest, Mode};
use js_sys::Uint8Array;
use leptos::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

pub const RELAY: &str = match option_env!("EASEL_TEST_RELAY") {
    Some(url) => url,
    None => "http://127.0.0.1:18431",
};

pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// Polls until `done` holds, failing after `seconds`.
pub async fn wait_until(what: &str, seconds: u32, done: impl Fn() -> bool) {
    for _ in 0..seconds * 20 {
        if done() {
            return;
        }
        sleep(50).await;
    }
    panic!("timed out waiting for {what}");
}

/// A fresh gallery database per test, so tests never see each other's images.
pub fn fresh_db_name() -> &'static str {
    let name = format!("easel-test-{}", js_sys::Math::random().to_bits());
    Box::leak(name.into_boxed_str())
}

pub fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

pub fn relay() -> Backend {
    Backend {
        mode: Mode::Relay,
        relay_url: RELAY.to_owned(),
        ..Backend::default()
    }
}

pub async fn bytes_of(blob: &Blob) -> Vec<u8> {
    let buffer = JsFuture::from(blob.array_buffer()).await.unwrap();
    Uint8Array::new(&buffer).to_vec()
}

pub fn blob_of(bytes: &[u8], mime: &str) -> Blob {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(
        &js_sys::Array::of1(&Uint8Array::from(bytes)),
        &options,
    )
    .unwrap()
}

/// The app's gallery and jobs on their own database, without a page: what the studio and the
/// gallery page use underneath.
pub struct Store {
    pub gallery: Gallery,
    pub jobs: Jobs,
    pub db_name: &'static str,
    _owner: Owner,
}

impl Store {
    pub async fn open() -> Store {
        let db_name = fresh_db_name();
        let owner = Owner::new();
        let (gallery, jobs) = owner.with(|| {
            let gallery = Gallery::provide(db_name);
            (gallery, Jobs::provide(gallery))
        });
        wait_until("the gallery to open", 10, || {
            gallery.status.get_untracked() != GalleryStatus::Loading
        })
        .await;
        assert_eq!(gallery.status.get_untracked(), GalleryStatus::Ready);
        Store {
            gallery,
            jobs,
            db_name,
            _owner: owner,
        }
    }

    pub async fn db(&self) -> Rc<GalleryDb> {
        self.gallery.db().await.unwrap()
    }

    /// Generates through the relay exactly as the studio does, and returns the new items
    /// (stored before the job shows as done), in index order.
    pub async fn generate(&self, request: GenerationRequest) -> Vec<GalleryItem> {
        let before = self.gallery.items.with_untracked(Vec::len);
        let count = request.image_count() as usize;
        self.jobs.start(request, relay());
        let job = self.jobs.list.with_untracked(|l| l[0].clone());
        wait_until("the generation", 60, || {
            job.state.with_untracked(|s| !s.is_pending())
        })
        .await;
        let state = job.state.get_untracked();
        assert!(
            matches!(state, JobState::Done { unsaved: None, .. }),
            "{state:?}"
        );
        let mut items: Vec<GalleryItem> = self.gallery.items.with_untracked(|all| {
            all.iter()
                .filter(|i| i.job_id == job.uid)
                .cloned()
                .collect()
        });
        items.sort_by_key(|i| i.index);
        assert_eq!(items.len(), count);
        assert_eq!(self.gallery.items.with_untracked(Vec::len), before + count);
        items
    }

    /// `items` exported from this gallery as `format`, as the gallery's export buttons do.
    pub async fn export(&self, items: &[GalleryItem], format: ExportFormat) -> Blob {
        export_zip(&*self.db().await, items, format, &|_, _| {})
            .await
            .unwrap()
    }

    pub fn sorted_items(&self) -> Vec<GalleryItem> {
        let mut items = self.gallery.items.get_untracked();
        items.sort_by(|a, b| a.id.cmp(&b.id));
        items
    }
}

/// Puts the app's own stylesheet in the test page (once), so layout-dependent behaviour such
/// as the virtualized grid sees the same sizes as in the real page.
pub fn use_app_stylesheet() {
    let document = document();
    if document.get_element_by_id("app-stylesheet").is_some() {
        return;
    }
    let style = document.create_element("style").unwrap();
    style.set_id("app-stylesheet");
    style.set_text_content(Some(include_str!("../../style/main.css")));
    document.head().unwrap().append_child(&style).unwrap();
}

/// Queries inside a mounted piece of the app (the suites' `Mounted` roots).
pub trait Within {
    fn root(&self) -> &web_sys::Element;

    fn find(&self, css: &str) -> Option<web_sys::Element> {
        self.root().query_selector(css).unwrap()
    }

    fn all(&self, css: &str) -> Vec<web_sys::Element> {
        use wasm_bindgen::JsCast;
        let list = self.root().query_selector_all(css).unwrap();
        (0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into().ok())
            .collect()
    }

    fn text(&self, css: &str) -> String {
        self.find(css)
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }
}
