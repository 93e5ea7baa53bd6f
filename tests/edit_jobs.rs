//! Edits and variations through the real relay's offline generator, in a real browser: the
//! multipart upload, streamed `image_edit.*` previews, and gallery records that name their
//! parents.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use easel::api::{self, Upload};
use easel::components::MaskHandle;
use easel::state::JobState;
use easel::state::jobs::FromImages;
use easel_core::gallery::{GalleryItem, MadeBy};
use easel_core::{GenerationRequest, Size};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{AbortController, Blob, ImageEncodeOptions, OffscreenCanvas};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{Store, relay, wait_until};

/// A blank PNG of `width` x `height`, encoded by the browser.
async fn blank_png(width: u32, height: u32) -> Blob {
    let canvas = OffscreenCanvas::new(width, height).unwrap();
    let _context = canvas.get_context("2d").unwrap();
    let options = ImageEncodeOptions::new();
    options.set_type("image/png");
    JsFuture::from(canvas.convert_to_blob_with_options(&options).unwrap())
        .await
        .unwrap()
        .unchecked_into()
}

#[wasm_bindgen_test]
async fn a_streamed_edit_shows_previews_then_the_image() {
    let owner = Owner::new();
    let mask = owner.with(|| {
        MaskHandle::new(Size {
            width: 64,
            height: 64,
        })
    });
    mask.invert(); // everything may change
    let upload = Upload {
        variation: false,
        images: vec![blank_png(64, 64).await],
        mask: Some(mask.to_png().await.unwrap()),
        markup: None,
    };
    let mut request = GenerationRequest::for_model("gpt-image-2", "a red hat");
    request.stream = Some(true);
    request.partial_images = Some(2);
    let previews = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&previews);
    let signal = AbortController::new().unwrap().signal();
    let generation = api::send_upload(&relay(), &request, &upload, &signal, &move |index, _| {
        seen.borrow_mut().push(index)
    })
    .await
    .unwrap();
    assert_eq!(
        *previews.borrow(),
        [0, 0],
        "two previews of the first image"
    );
    assert_eq!(generation.images.len(), 1);
    let image = &generation.images[0];
    assert_eq!((image.width, image.height), (64, 64), "auto keeps the size");
    assert!(
        generation.usage.is_some(),
        "the completed event carries usage"
    );
}

/// Sends edits as the edit page does, counting each send.
fn count_uploads(jobs: &easel::state::Jobs, sends: &Rc<RefCell<u32>>) {
    let counted = Rc::clone(sends);
    jobs.set_uploader(Rc::new(
        move |backend, request, upload, signal, on_preview| {
            *counted.borrow_mut() += 1;
            Box::pin(async move {
                api::send_upload(&backend, &request, &upload, &signal, &*on_preview).await
            })
        },
    ));
}

#[wasm_bindgen_test]
async fn a_variation_job_is_stored_with_its_parent() {
    // Mounting starts Leptos's task executor, which the gallery and jobs need.
    let root: web_sys::HtmlElement = common::document()
        .create_element("div")
        .unwrap()
        .unchecked_into();
    let _mounted = leptos::mount::mount_to(root, || ());
    let store = Store::open().await;
    let mut request = GenerationRequest::for_model("dall-e-2", "a paper boat");
    request.size = Some("256x256".into());
    let parent = store.generate(request.clone()).await.remove(0);
    let blob = store
        .db()
        .await
        .image(&parent.sha256)
        .await
        .unwrap()
        .unwrap();

    let upload = Rc::new(Upload {
        variation: true,
        images: vec![blob],
        mask: None,
        markup: None,
    });
    let sends = Rc::new(RefCell::new(0));
    count_uploads(&store.jobs, &sends);
    let from = FromImages {
        made_by: MadeBy::Variation,
        parents: vec![parent.id.clone()],
        files: upload,
    };
    store.jobs.start_from(request, relay(), from);
    let job = store.jobs.list.with_untracked(|l| l[0].clone());
    wait_until("the variation", 60, || {
        job.state.with_untracked(|s| !s.is_pending())
    })
    .await;
    assert!(
        matches!(
            job.state.get_untracked(),
            JobState::Done { unsaved: None, .. }
        ),
        "{:?}",
        job.state.get_untracked()
    );
    assert_eq!(*sends.borrow(), 1);

    let item = store
        .gallery
        .items
        .with_untracked(|all| all.iter().find(|i| i.job_id == job.uid).cloned())
        .expect("the variation is in the gallery");
    assert_eq!(item.parents, std::slice::from_ref(&parent.id));
    assert_eq!(item.made_by, MadeBy::Variation);
    assert_ne!(item.sha256, parent.sha256);
    // As stored, too.
    let stored = store.db().await.list().await.unwrap();
    let record = stored.iter().find(|s| s.id == item.id).unwrap();
    let reread = GalleryItem::from_json(&record.meta).unwrap();
    assert_eq!(reread.parents, std::slice::from_ref(&parent.id));
    assert_eq!(reread.made_by, MadeBy::Variation);

    // "Try again" sends the same files once more.
    store.jobs.again(&job, relay());
    let again = store.jobs.list.with_untracked(|l| l[0].clone());
    wait_until("the second variation", 60, || {
        again.state.with_untracked(|s| !s.is_pending())
    })
    .await;
    assert_eq!(*sends.borrow(), 2);
    assert!(matches!(again.state.get_untracked(), JobState::Done { .. }));
}

#[wasm_bindgen_test]
async fn an_edit_cut_off_by_a_reload_comes_back_with_its_files_and_retries() {
    let root: web_sys::HtmlElement = common::document()
        .create_element("div")
        .unwrap()
        .unchecked_into();
    let _mounted = leptos::mount::mount_to(root, || ());
    let first = Store::open().await;
    let mut request = GenerationRequest::for_model("gpt-image-2", "a paper hat");
    request.size = Some("auto".into());
    let owner = Owner::new();
    let mask = owner.with(|| {
        MaskHandle::new(Size {
            width: 64,
            height: 64,
        })
    });
    mask.invert();
    let upload = Upload {
        variation: false,
        images: vec![blank_png(64, 64).await, blank_png(32, 32).await],
        mask: Some(mask.to_png().await.unwrap()),
        markup: None,
    };
    let parents = vec!["parent-1".to_owned()];
    // What the page records when it sends the edit, then the tab is reloaded.
    first
        .db()
        .await
        .add_pending(
            "cut-off-edit",
            &serde_json::to_string(&request).unwrap(),
            Some((&parents, &upload)),
        )
        .await
        .unwrap();

    let owner = Owner::new();
    let jobs = owner.with(|| {
        let gallery = easel::state::Gallery::provide(first.db_name);
        easel::state::Jobs::provide(gallery)
    });
    wait_until("the interrupted edit", 10, || {
        jobs.list.with_untracked(|l| !l.is_empty())
    })
    .await;
    let job = jobs.list.with_untracked(|l| l[0].clone());
    assert_eq!(job.state.get_untracked(), JobState::Interrupted);
    let from = (*job.from).clone().expect("the edit's files came back");
    assert_eq!(from.made_by, MadeBy::Edit);
    assert_eq!(from.parents, parents);
    assert_eq!(from.files.images.len(), 2);
    assert_eq!(from.files.images[1].size(), upload.images[1].size());
    assert!(from.files.mask.is_some() && from.files.markup.is_none());

    // Retry sends the same files; the result is stored with its parents.
    let sends = Rc::new(RefCell::new(0));
    count_uploads(&jobs, &sends);
    jobs.again(&job, relay());
    let again = jobs.list.with_untracked(|l| l[0].clone());
    wait_until("the retried edit", 60, || {
        again.state.with_untracked(|s| !s.is_pending())
    })
    .await;
    assert!(
        matches!(
            again.state.get_untracked(),
            JobState::Done { unsaved: None, .. }
        ),
        "{:?}",
        again.state.get_untracked()
    );
    assert_eq!(*sends.borrow(), 1);
}
