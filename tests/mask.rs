//! The mask painter in a real browser: pointer strokes on a real canvas, the mask PNG the
//! browser encodes (decoded again here by the browser), invert, undo and redo by button and
//! by keyboard.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use easel::components::{MaskHandle, MaskPainter};
use easel::pages::add_edit_styles;
use easel_core::Size;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{
    Blob, HtmlCanvasElement, HtmlElement, HtmlImageElement, ImageBitmap, ImageEncodeOptions,
    KeyboardEvent, KeyboardEventInit, OffscreenCanvas, OffscreenCanvasRenderingContext2d,
    PointerEvent, PointerEventInit,
};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{document, use_app_stylesheet, wait_until};

const WIDTH: u32 = 200;
const HEIGHT: u32 = 100;
/// The painter is shown 400 CSS px wide: two screen pixels per image pixel.
const SHOWN: f64 = 400.0;

/// An empty PNG of the image's size, as the picture under the mask.
async fn picture() -> String {
    let canvas = OffscreenCanvas::new(WIDTH, HEIGHT).unwrap();
    let _context = canvas.get_context("2d").unwrap();
    let options = ImageEncodeOptions::new();
    options.set_type("image/png");
    let blob: Blob = JsFuture::from(canvas.convert_to_blob_with_options(&options).unwrap())
        .await
        .unwrap()
        .unchecked_into();
    web_sys::Url::create_object_url_with_blob(&blob).unwrap()
}

struct Painter {
    root: HtmlElement,
    mask: MaskHandle,
    _handle: Box<dyn std::any::Any>,
}

impl Drop for Painter {
    fn drop(&mut self) {
        self.root.remove();
    }
}

impl Painter {
    async fn mount() -> Painter {
        Painter::mount_with(false).await
    }

    /// The painter for a model that takes a markup guide (`markup`) or not.
    async fn mount_with(markup: bool) -> Painter {
        use_app_stylesheet();
        add_edit_styles();
        let url = picture().await;
        let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
        root.style()
            .set_property("width", &format!("{SHOWN}px"))
            .unwrap();
        document().body().unwrap().append_child(&root).unwrap();
        let slot: Rc<Cell<Option<MaskHandle>>> = Rc::new(Cell::new(None));
        let out = Rc::clone(&slot);
        let handle = leptos::mount::mount_to(root.clone(), move || {
            let mask = MaskHandle::new(Size {
                width: WIDTH,
                height: HEIGHT,
            });
            out.set(Some(mask));
            view! { <MaskPainter mask image_url=url alt="test picture".to_owned() markup /> }
        });
        let painter = Painter {
            root,
            mask: slot.get().expect("the painter was mounted"),
            _handle: Box::new(handle),
        };
        let image: HtmlImageElement = painter.find(".mask-stage img").unchecked_into();
        wait_until("the picture to load", 10, || {
            image.complete() && image.natural_width() == WIDTH
        })
        .await;
        painter
    }

    fn find(&self, css: &str) -> web_sys::Element {
        self.root.query_selector(css).unwrap().expect(css)
    }

    fn canvas(&self) -> HtmlCanvasElement {
        self.find("#mask-canvas").unchecked_into()
    }

    fn pointer(&self, kind: &str, x: f64, y: f64) {
        let rect = self.canvas().get_bounding_client_rect();
        let init = PointerEventInit::new();
        init.set_bubbles(true);
        init.set_button(0);
        init.set_pointer_id(1);
        init.set_client_x((rect.left() + x).round() as i32);
        init.set_client_y((rect.top() + y).round() as i32);
        let event = PointerEvent::new_with_event_init_dict(kind, &init).unwrap();
        self.canvas().dispatch_event(&event).unwrap();
    }

    /// A stroke through CSS points on the canvas.
    async fn stroke(&self, points: &[(f64, f64)]) {
        let (x, y) = points[0];
        self.pointer("pointerdown", x, y);
        for &(x, y) in &points[1..] {
            self.pointer("pointermove", x, y);
        }
        let (x, y) = points[points.len() - 1];
        self.pointer("pointerup", x, y);
        leptos::task::tick().await;
    }

    async fn click(&self, css: &str) {
        self.find(css).unchecked_into::<HtmlElement>().click();
        leptos::task::tick().await;
    }

    async fn keys(&self, key: &str, shift: bool) {
        let init = KeyboardEventInit::new();
        init.set_bubbles(true);
        init.set_key(key);
        init.set_ctrl_key(true);
        init.set_shift_key(shift);
        let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        document().body().unwrap().dispatch_event(&event).unwrap();
        leptos::task::tick().await;
    }

    /// The mask PNG the painter makes, decoded by the browser: its size and alpha per pixel.
    async fn exported_alpha(&self) -> (u32, u32, Vec<u8>) {
        let (w, h, rgba) = self.exported_rgba().await;
        (w, h, rgba.chunks_exact(4).map(|p| p[3]).collect())
    }

    /// The PNG the painter makes (mask or markup), decoded by the browser, RGBA.
    async fn exported_rgba(&self) -> (u32, u32, Vec<u8>) {
        let png = self.mask.to_png().await.unwrap();
        assert_eq!(png.type_(), "image/png");
        let window = web_sys::window().unwrap();
        let bitmap: ImageBitmap =
            JsFuture::from(window.create_image_bitmap_with_blob(&png).unwrap())
                .await
                .unwrap()
                .unchecked_into();
        let (w, h) = (bitmap.width(), bitmap.height());
        let canvas = OffscreenCanvas::new(w, h).unwrap();
        let context: OffscreenCanvasRenderingContext2d =
            canvas.get_context("2d").unwrap().unwrap().unchecked_into();
        context
            .draw_image_with_image_bitmap(&bitmap, 0.0, 0.0)
            .unwrap();
        let data = context
            .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
            .unwrap()
            .data();
        (w, h, data.to_vec())
    }
}

/// Distance from the centre of image pixel (`x`, `y`) to the segment `a`–`b`.
fn distance(x: u32, y: u32, a: (f64, f64), b: (f64, f64)) -> f64 {
    let (px, py) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let t = (((px - a.0) * dx + (py - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    ((a.0 + t * dx - px).powi(2) + (a.1 + t * dy - py).powi(2)).sqrt()
}

#[wasm_bindgen_test]
async fn the_mask_png_has_the_image_size_and_is_transparent_only_where_painted() {
    let painter = Painter::mount().await;
    let rect = painter.canvas().get_bounding_client_rect();
    assert_eq!(
        rect.width(),
        SHOWN,
        "the canvas covers the picture as shown"
    );
    let undo = painter.find("#mask-undo");
    assert!(undo.has_attribute("disabled"), "nothing to undo yet");

    // Nothing painted: fully opaque.
    let (w, h, alpha) = painter.exported_alpha().await;
    assert_eq!((w, h), (WIDTH, HEIGHT));
    assert!(alpha.iter().all(|&a| a == 255));

    // The default brush is 40 CSS px wide: a radius of 10 image pixels at this scale.
    // From CSS (80, 100) to (240, 100) is image (40, 50) to (120, 50).
    painter
        .stroke(&[(80.0, 100.0), (160.0, 100.0), (240.0, 100.0)])
        .await;
    assert!(!undo.has_attribute("disabled"));
    let (w, h, painted) = painter.exported_alpha().await;
    assert_eq!((w, h), (WIDTH, HEIGHT), "the mask has the image's size");
    let (a, b) = ((40.0, 50.0), (120.0, 50.0));
    for y in 0..h {
        for x in 0..w {
            let alpha = painted[(y * w + x) as usize];
            let d = distance(x, y, a, b);
            assert!(alpha == 0 || alpha == 255, "({x},{y}) alpha {alpha}");
            if d <= 9.0 {
                assert_eq!(
                    alpha, 0,
                    "({x},{y}) is {d:.1} px from the stroke: transparent"
                );
            } else if d >= 11.0 {
                assert_eq!(alpha, 255, "({x},{y}) is {d:.1} px from the stroke: opaque");
            }
        }
    }
    let status = painter.find("#mask-status").text_content().unwrap();
    assert!(status.contains("% of the image marked"), "{status}");

    // Invert: exactly the other pixels are transparent.
    painter.click("#mask-invert").await;
    let (_, _, inverted) = painter.exported_alpha().await;
    assert!(inverted.iter().zip(&painted).all(|(&i, &p)| i == 255 - p));

    // Undo by button takes back the invert; Ctrl+Z the stroke; Ctrl+Shift+Z brings it back.
    painter.click("#mask-undo").await;
    assert_eq!(painter.exported_alpha().await.2, painted);
    painter.keys("z", false).await;
    assert!(painter.exported_alpha().await.2.iter().all(|&a| a == 255));
    painter.keys("Z", true).await;
    assert_eq!(painter.exported_alpha().await.2, painted);

    // Clear, then undo the clear.
    painter.click("#mask-clear").await;
    assert!(painter.exported_alpha().await.2.iter().all(|&a| a == 255));
    painter.click("#mask-undo").await;
    assert_eq!(painter.exported_alpha().await.2, painted);
}

#[wasm_bindgen_test]
async fn the_eraser_makes_painted_pixels_opaque_again() {
    let painter = Painter::mount().await;
    painter.stroke(&[(40.0, 100.0), (360.0, 100.0)]).await;
    painter.click("#mask-erase").await;
    assert_eq!(
        painter
            .find("#mask-erase")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );
    // Erase around image (100, 50), the middle of the stroke.
    painter.stroke(&[(200.0, 100.0)]).await;
    let (w, _, alpha) = painter.exported_alpha().await;
    let at = |x: u32, y: u32| alpha[(y * w + x) as usize];
    assert_eq!(at(100, 50), 255, "erased");
    assert_eq!(at(30, 50), 0, "still painted left of the eraser");
    assert_eq!(at(170, 50), 0, "still painted right of the eraser");
}

#[wasm_bindgen_test]
async fn a_markup_guide_is_the_marks_in_ink_on_a_transparent_sheet() {
    let plain = Painter::mount().await;
    assert!(
        plain
            .root
            .query_selector("#guide-markup")
            .unwrap()
            .is_none(),
        "a model without markup offers only the mask"
    );
    drop(plain);

    let painter = Painter::mount_with(true).await;
    painter.stroke(&[(80.0, 100.0), (240.0, 100.0)]).await;
    painter.click("#guide-markup").await;
    assert_eq!(
        painter
            .find("#guide-markup")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );
    let status = painter.find("#mask-status").text_content().unwrap();
    assert!(status.contains("sent as a guide, not a mask"), "{status}");
    // The same strokes, now sent as markup: opaque ink where painted, clear elsewhere.
    let (w, h, rgba) = painter.exported_rgba().await;
    assert_eq!((w, h), (WIDTH, HEIGHT), "the markup has the image's size");
    let (a, b) = ((40.0, 50.0), (120.0, 50.0));
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 4) as usize;
            let pixel = &rgba[i..i + 4];
            let d = distance(x, y, a, b);
            if d <= 9.0 {
                assert_eq!(pixel, easel_core::edit::MARKUP_INK, "({x},{y}) is marked");
            } else if d >= 11.0 {
                assert_eq!(pixel[3], 0, "({x},{y}) is {d:.1} px away: transparent");
            }
        }
    }
    // Back to a mask: the same pixels, as holes in an opaque sheet.
    painter.click("#guide-mask").await;
    let (_, _, alpha) = painter.exported_alpha().await;
    let at = |x: u32, y: u32| alpha[(y * w + x) as usize];
    assert_eq!((at(80, 50), at(10, 10)), (0, 255));
}
