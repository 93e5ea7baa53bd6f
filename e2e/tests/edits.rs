//! Edits and variations end to end: the release build's editor chunk, real pointer strokes on
//! the mask canvas, the relay's offline generator doing the edit, the gallery recording where
//! each image came from.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use serde_json::Value;

const GENERATION: Duration = Duration::from_secs(30);

const LIGHTBOX_LOADED: &str = "(() => { const i = document.querySelector('.lightbox-image'); \
                               return !!i && i.complete && i.naturalWidth > 0; })()";

/// The bytes behind the first image matching `css`, fetched in the page, decoded here.
async fn image_at(browser: &Browser, css: &str) -> image::RgbaImage {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const img = document.querySelector(arguments[0]);
        if (!img) { done('error: no image'); return; }
        fetch(img.src).then(r => r.arrayBuffer()).then(buffer => {
            const bytes = new Uint8Array(buffer);
            let text = '';
            for (let i = 0; i < bytes.length; i += 0x8000) {
                text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
            }
            done(btoa(text));
        }, e => done('error: ' + e));
    "#;
    let value = browser
        .client()
        .execute_async(script, vec![Value::from(css)])
        .await
        .expect("image script");
    let b64 = value.as_str().unwrap_or_default();
    assert!(!b64.starts_with("error"), "{css}: {b64}");
    let bytes = STANDARD.decode(b64).expect("base64 from the page");
    image::load_from_memory(&bytes)
        .unwrap_or_else(|e| panic!("{css} is not an image: {e}"))
        .to_rgba8()
}

/// Generates one image in the studio with `model` at `size` and waits until it is stored.
async fn generate(browser: &Browser, prompt: &str, model: &str, size: &str) {
    browser.select("#model", model).await;
    browser.select("#size", size).await;
    browser.fill("#prompt", prompt).await;
    browser.press_ctrl_enter("#prompt").await;
    browser.wait_for_a_done_image(GENERATION).await;
}

/// Generates "a quiet harbour at noon" and opens it in the editor from the lightbox.
async fn edit_a_new_image(browser: &Browser, relay: &Relay) {
    browser.goto(&relay.at("/")).await;
    generate(
        browser,
        "a quiet harbour at noon",
        "gpt-image-2",
        "1024x1024",
    )
    .await;
    open_newest(browser).await;
    browser.click("#lightbox-edit").await;
}

/// Opens the newest image of the gallery in the lightbox.
async fn open_newest(browser: &Browser) {
    browser.click("#nav-gallery").await;
    browser.click(".grid-cell .cell-open").await;
    browser.wait_until_js(LIGHTBOX_LOADED, WAIT).await;
}

fn distance_to_segment(x: u32, y: u32, a: (f64, f64), b: (f64, f64)) -> f64 {
    let (px, py) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let t = (((px - a.0) * dx + (py - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    ((a.0 + t * dx - px).powi(2) + (a.1 + t * dy - py).powi(2)).sqrt()
}

/// Where the mask canvas is on the page and how large its image is.
struct Canvas {
    left: f64,
    top: f64,
    shown_w: f64,
    shown_h: f64,
    image_w: f64,
    image_h: f64,
}

/// A real drag across the middle of the mask canvas: 240 CSS px long, with the default 40 px
/// brush. Returns the canvas and the stroke's ends on the page.
async fn paint_across_the_middle(browser: &Browser) -> (Canvas, (f64, f64), (f64, f64)) {
    let geometry = browser
        .execute(
            "const c = document.querySelector('#mask-canvas'); \
             c.scrollIntoView({block: 'center'}); const r = c.getBoundingClientRect(); \
             return [r.left, r.top, r.width, r.height, c.width, c.height];",
            vec![],
        )
        .await;
    let g: Vec<f64> = geometry
        .as_array()
        .expect("canvas geometry")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let canvas = Canvas {
        left: g[0],
        top: g[1],
        shown_w: g[2],
        shown_h: g[3],
        image_w: g[4],
        image_h: g[5],
    };
    assert!(
        canvas.shown_w > 200.0 && canvas.shown_h > 200.0,
        "the painter is shown: {g:?}"
    );
    let (cx, cy) = (
        (canvas.left + canvas.shown_w / 2.0).round(),
        (canvas.top + canvas.shown_h / 2.0).round(),
    );
    let (x0, x1) = (cx - 120.0, cx + 120.0);
    let stroke = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x: x0,
            y: cy,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(150)),
            x: cx,
            y: cy,
        })
        .then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(150)),
            x: x1,
            y: cy,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    browser
        .client()
        .perform_actions(stroke)
        .await
        .expect("the stroke");
    (canvas, (x0, cy), (x1, cy))
}

/// Waits for the finished edit and its source under the painter, then compares them.
async fn assert_the_edit_changed_only_the_stroke(
    browser: &Browser,
    canvas: &Canvas,
    from: (f64, f64),
    to: (f64, f64),
) {
    browser
        .wait_until_js(
            "document.querySelectorAll('article.job[data-state=done] img.result').length > 0",
            GENERATION,
        )
        .await;
    browser
        .wait_until_js(
            "(() => { const i = document.querySelector('.mask-stage img'); \
             return !!i && i.complete && i.naturalWidth > 0; })()",
            WAIT,
        )
        .await;
    let source = image_at(browser, ".mask-stage img").await;
    let result = image_at(browser, "article.job[data-state=done] img.result").await;
    assert_only_the_stroke_changed(&source, &result, canvas, from, to);
}

/// Every pixel farther than the brush from the stroke is unchanged; most under it changed.
fn assert_only_the_stroke_changed(
    source: &image::RgbaImage,
    result: &image::RgbaImage,
    canvas: &Canvas,
    from: (f64, f64),
    to: (f64, f64),
) {
    assert_eq!(result.dimensions(), source.dimensions());
    assert_eq!(
        (f64::from(source.width()), f64::from(source.height())),
        (canvas.image_w, canvas.image_h)
    );
    let scale = canvas.image_w / canvas.shown_w;
    let to_image = |(x, y): (f64, f64)| ((x - canvas.left) * scale, (y - canvas.top) * scale);
    let (a, b) = (to_image(from), to_image(to));
    let radius = 20.0 * scale;
    let (mut inside, mut inside_changed) = (0u32, 0u32);
    for (x, y, pixel) in result.enumerate_pixels() {
        let d = distance_to_segment(x, y, a, b);
        let same = pixel == source.get_pixel(x, y);
        if d > radius + 2.0 * scale + 1.0 {
            assert!(
                same,
                "pixel ({x},{y}), {d:.0} px from the stroke, changed: {:?} → {:?}",
                source.get_pixel(x, y),
                pixel
            );
        } else if d < radius - scale - 1.0 {
            inside += 1;
            inside_changed += u32::from(!same);
        }
    }
    assert!(
        inside > 1000,
        "the stroke covers part of the image ({inside} px)"
    );
    assert!(
        inside_changed * 2 > inside,
        "the painted region was edited: {inside_changed} of {inside} pixels changed"
    );
}

#[tokio::test]
async fn an_edit_changes_only_the_painted_region() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    edit_a_new_image(&browser, &relay).await;

    // The editor's chunk loads and shows the gallery image under the mask canvas.
    browser
        .wait_until_js(
            "(() => { const i = document.querySelector('.mask-stage img'); \
             return !!i && i.complete && i.naturalWidth > 0; })()",
            WAIT,
        )
        .await;
    let (canvas, from, to) = paint_across_the_middle(&browser).await;
    browser
        .wait_for_text("#mask-status", "% of the image marked", WAIT)
        .await;
    browser.screenshot("edit-painted").await;

    browser.fill("#edit-prompt", "a red lighthouse").await;
    browser.click("#edit-submit").await;
    assert_the_edit_changed_only_the_stroke(&browser, &canvas, from, to).await;

    // The edit is in the gallery, labelled, and made from the original.
    open_newest(&browser).await;
    browser.wait_for_text(".detail-params", "Edit", WAIT).await;
    browser
        .wait_for_text(".made-from", "a quiet harbour at noon", WAIT)
        .await;

    // Back on the editor, on a phone-sized window: a look for people (saved, not asserted).
    browser.client().back().await.expect("back to the editor");
    browser.wait_for("#mask-canvas", WAIT).await;
    browser
        .client()
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    browser.screenshot("edit-phone").await;
    browser.close().await;
    drop(relay);
}

#[tokio::test]
async fn a_variation_appears_in_the_gallery_made_from_its_parent() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    generate(&browser, "a paper boat on a pond", "dall-e-2", "256x256").await;
    open_newest(&browser).await;
    let parent = image_at(&browser, ".lightbox-image").await;
    browser.click("#lightbox-variations").await;

    browser
        .wait_until_js(
            "(() => { const i = document.querySelector('img.edit-preview'); \
             return !!i && i.complete && i.naturalWidth > 0; })()",
            WAIT,
        )
        .await;
    let pressed = browser
        .execute(
            "return document.querySelector('#mode-variations').getAttribute('aria-pressed')",
            vec![],
        )
        .await;
    assert_eq!(pressed, Value::from("true"));
    browser.click("#edit-submit").await;
    browser
        .wait_until_js(
            "document.querySelectorAll('article.job[data-state=done] img.result').length > 0",
            GENERATION,
        )
        .await;
    browser
        .wait_for_text(
            "article.job .job-meta",
            "Variation · dall-e-2 · 256x256",
            WAIT,
        )
        .await;
    let variation = image_at(&browser, "article.job[data-state=done] img.result").await;
    assert_eq!(variation.dimensions(), (256, 256));
    assert_ne!(variation, parent, "a variation differs from its original");

    // In the gallery: the newest image is the variation, labelled and linked to its parent.
    open_newest(&browser).await;
    browser
        .wait_for_text(".detail-params", "Variation", WAIT)
        .await;
    let link = browser
        .wait_for_text(".made-from .parent-link", "a paper boat on a pond", WAIT)
        .await;
    assert!(!link.is_empty());
    browser.screenshot("variation-made-from").await;
    assert_eq!(image_at(&browser, ".lightbox-image").await, variation);

    // The link opens the parent in the lightbox.
    let shown = browser
        .execute(
            "return document.querySelector('.lightbox-image').src",
            vec![],
        )
        .await;
    browser.click(".made-from .parent-link").await;
    let replaced = format!(
        "(() => {{ const i = document.querySelector('.lightbox-image'); return !!i && i.src !== {shown}; }})()"
    );
    browser.wait_until_js(&replaced, WAIT).await;
    browser
        .wait_until_js(
            "!document.querySelector('.made-from') && \
             !document.querySelector('.detail-params').textContent.includes('Variation')",
            WAIT,
        )
        .await;
    browser.wait_until_js(LIGHTBOX_LOADED, WAIT).await;
    assert_eq!(image_at(&browser, ".lightbox-image").await, parent);
    browser.close().await;
    drop(relay);
}

#[tokio::test]
async fn a_markup_edit_cut_off_by_a_reload_is_retried_with_its_files() {
    // Slow enough to reload while the edit is on its way.
    let relay = Relay::start(&dist_dir(), &["--latency-ms", "4000"]);
    let browser = Browser::start().await;
    edit_a_new_image(&browser, &relay).await;
    browser.wait_for("#mask-canvas", WAIT).await;
    // A model that takes markup offers it; the marks are sent as the guide.
    browser.select("#edit-model", "gpt-image-2.5-flare").await;
    browser.click("#guide-markup").await;
    browser.select("#edit-fidelity", "high").await;
    let (canvas, from, to) = paint_across_the_middle(&browser).await;
    browser
        .wait_for_text("#mask-status", "sent as a guide, not a mask", WAIT)
        .await;
    browser
        .fill("#edit-prompt", "turn the marked line into a pier")
        .await;
    browser.click("#edit-submit").await;
    browser
        .wait_for("article.job[data-state=running]", WAIT)
        .await;

    browser.client().refresh().await.expect("reload");
    browser
        .wait_for("article.job[data-state=interrupted]", WAIT)
        .await;
    browser.screenshot("edit-interrupted").await;
    browser
        .click("article.job[data-state=interrupted] .retry")
        .await;
    assert_the_edit_changed_only_the_stroke(&browser, &canvas, from, to).await;

    // Stored with what it was made from and how.
    open_newest(&browser).await;
    browser
        .wait_for_text(".detail-params", "Input fidelity", WAIT)
        .await;
    browser
        .wait_for_text(".made-from", "a quiet harbour at noon", WAIT)
        .await;
    browser.close().await;
    drop(relay);
}
