//! Share links in a real browser: the recipe codec through CompressionStream and
//! DecompressionStream, the zip-bomb defence, tiny previews, and the shared view showing a
//! link's prompts — or, for a tampered link, what is wrong with it.
#![cfg(target_arch = "wasm32")]

use easel::pages::SharedPage;
use easel::state::{Draft, Gallery, Settings};
use easel::storage::browser;
use easel::storage::deflate::{decode_recipe, deflate_raw, encode_recipe, inflate_raw};
use easel_core::GenerationRequest;
use easel_core::share::{
    Inflated, MAX_INFLATED_BYTES, Preview, ShareError, ShareItem, ShareManifest, encode_payload,
};
use leptos::prelude::*;
use leptos_router::components::Router;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Blob, HtmlElement, OffscreenCanvas, OffscreenCanvasRenderingContext2d};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{document, fresh_db_name, wait_until};

/// A 1x1 WebP, as a preview.
const WEBP: &[u8] = &[
    0x52, 0x49, 0x46, 0x46, 0x1a, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c,
    0x0d, 0x00, 0x00, 0x00, 0x2f, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe,
    0x07, 0x00,
];

fn shared(prompt: &str, preview: bool) -> ShareItem {
    let mut request = GenerationRequest::for_model("gpt-image-1", prompt);
    request.quality = Some("high".into());
    ShareItem {
        prompt: prompt.to_owned(),
        revised_prompt: Some(format!("{prompt}, revised")),
        model: "gpt-image-1".into(),
        request,
        width: 1024,
        height: 1024,
        mime: "image/png".into(),
        made_by: Default::default(),
        sha256: None,
        preview: preview.then(|| Preview::new("image/webp", WEBP)),
    }
}

fn sample() -> ShareManifest {
    ShareManifest::new(
        vec![
            shared("a lighthouse at dusk", true),
            shared("a fox in the snow", false),
        ],
        1_795_868_000_000,
    )
}

#[wasm_bindgen_test]
async fn the_browser_codec_roundtrips() {
    let manifest = sample();
    let payload = encode_recipe(&manifest).await.unwrap();
    assert!(payload.starts_with('1'), "{payload}");
    assert!(
        payload.len() < manifest.to_json().len(),
        "compressed: {} < {}",
        payload.len(),
        manifest.to_json().len()
    );
    assert_eq!(decode_recipe(&payload).await.unwrap(), manifest);
    // Text of every kind survives, and the browser's raw deflate is what the format says.
    let mut odd = sample();
    odd.items[1].prompt = "emoji 🦊, RTL ‏שלום, quotes \" and \\ and \u{0}".into();
    let payload = encode_recipe(&odd).await.unwrap();
    assert_eq!(decode_recipe(&payload).await.unwrap(), odd);
    let deflated = deflate_raw(b"hello hello hello").await.unwrap();
    let mut out = Inflated::default();
    inflate_raw(&deflated, &mut out).await.unwrap();
    assert_eq!(out.into_bytes(), b"hello hello hello");
}

#[wasm_bindgen_test]
async fn a_zip_bomb_is_refused_while_inflating() {
    // 16 MiB of spaces deflate to about 16 KB: a small link that would inflate 64 times past
    // the limit.
    let bomb = deflate_raw(&vec![b' '; 16 << 20]).await.unwrap();
    let payload = encode_payload(&bomb);
    assert!(payload.len() < 40_000, "a small payload: {}", payload.len());
    let err = decode_recipe(&payload).await.unwrap_err();
    assert_eq!(err, ShareError::InflatesTooLarge);
    assert!(err.to_string().contains("256 KiB"), "{err}");
    // Stopped at the limit: what was gathered never passed it.
    let mut out = Inflated::new(1_000);
    assert_eq!(
        inflate_raw(&bomb, &mut out).await,
        Err(ShareError::InflatesTooLarge)
    );
    assert!(out.len() <= 1_000);
    // Just under the limit is fine (as JSON it is not a share, but it inflates).
    let big = deflate_raw(&vec![b' '; MAX_INFLATED_BYTES]).await.unwrap();
    let mut out = Inflated::default();
    inflate_raw(&big, &mut out).await.unwrap();
    assert_eq!(out.len(), MAX_INFLATED_BYTES);
    // Damaged deflate data is a typed error too.
    let err = decode_recipe(&encode_payload(&[0xff; 12]))
        .await
        .unwrap_err();
    assert!(matches!(err, ShareError::Inflate(_)), "{err:?}");
}

#[wasm_bindgen_test]
async fn previews_are_tiny_webp() {
    // A 512x256 picture, as a stored thumbnail.
    let canvas = OffscreenCanvas::new(512, 256).unwrap();
    let context: OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    for x in 0..16 {
        context.set_fill_style_str(&format!("hsl({} 80% 50%)", x * 22));
        context.fill_rect(f64::from(x * 32), 0.0, 32.0, 256.0);
    }
    let png: Blob = JsFuture::from(canvas.convert_to_blob().unwrap())
        .await
        .unwrap()
        .unchecked_into();
    let thumb = browser::thumbnail(&png, 512, 256).await.unwrap();
    let (mime, bytes) = browser::tiny_preview(&thumb, 512, 256, 64, 4096)
        .await
        .expect("a preview");
    assert_eq!(mime, "image/webp");
    assert!(bytes.len() <= 4096, "{} bytes", bytes.len());
    assert_eq!(easel_core::files::dimensions(&bytes), Some((64, 32)));
    // And it passes a share's checks.
    let mut item = shared("stripes", false);
    item.preview = Some(Preview::new(&mime, &bytes));
    ShareManifest::new(vec![item], 0).check().unwrap();
}

/// The shared view mounted on its own, with the app's contexts, for `hash`.
fn mount_shared(
    hash: &str,
) -> (
    HtmlElement,
    leptos::mount::UnmountHandle<impl Mountable + use<>>,
) {
    web_sys::window()
        .unwrap()
        .location()
        .set_hash(hash)
        .unwrap();
    let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&root).unwrap();
    let db_name = fresh_db_name();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        Settings::provide();
        Draft::provide();
        Gallery::provide(db_name);
        view! { <Router><SharedPage /></Router> }
    });
    (root, handle)
}

#[wasm_bindgen_test]
async fn the_shared_view_shows_a_recipe_links_prompts() {
    let payload = encode_recipe(&sample()).await.unwrap();
    let (root, _handle) = mount_shared(&format!("r={payload}"));
    let count = || root.query_selector_all(".shared-prompt").unwrap().length();
    wait_until("the shared prompts", 10, || count() == 2).await;
    let text = root.text_content().unwrap();
    assert!(text.contains("a lighthouse at dusk"), "{text}");
    assert!(text.contains("a fox in the snow, revised"), "{text}");
    assert!(text.contains("high"), "{text}");
    let image = root.query_selector("img.shared-image").unwrap().unwrap();
    assert!(
        image
            .get_attribute("src")
            .unwrap()
            .starts_with("data:image/webp;base64,")
    );
    assert_eq!(
        root.query_selector_all(".shared-image.none")
            .unwrap()
            .length(),
        1
    );
    assert!(root.query_selector("#shared-error").unwrap().is_none());
    root.remove();
}

#[wasm_bindgen_test]
async fn a_tampered_link_says_what_is_wrong() {
    let payload = encode_recipe(&sample()).await.unwrap();
    let cut = &payload[..payload.len() / 2];
    let cases = [
        (format!("r={cut}"), "damaged"),
        (format!("r=9{}", &payload[1..]), "format version \"9\""),
        (format!("r={payload}%%%"), "damaged"),
        ("r=".to_owned(), "empty"),
        (
            format!(
                "r={}",
                encode_payload(
                    &deflate_raw(br#"{"format":"easel-share","version":7}"#)
                        .await
                        .unwrap()
                )
            ),
            "version 7",
        ),
    ];
    for (hash, words) in cases {
        let (root, handle) = mount_shared(&hash);
        let error = || root.query_selector("#shared-error").unwrap();
        wait_until("the error message", 10, || error().is_some()).await;
        let text = error().unwrap().text_content().unwrap();
        assert!(text.contains(words), "{hash:.30}: {text} / {words}");
        assert_eq!(
            root.query_selector_all(".shared-prompt").unwrap().length(),
            0
        );
        drop(handle);
        root.remove();
    }
    web_sys::window().unwrap().location().set_hash("").unwrap();
}
