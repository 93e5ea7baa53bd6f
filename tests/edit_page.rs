//! The edit page in a real browser: pasted files, the mask sized to the first image, and the
//! reasons it gives before sending anything it cannot send.
#![cfg(target_arch = "wasm32")]

use easel::pages::EditPage;
use easel::state::{Gallery, Jobs, Settings};
use js_sys::Uint8Array;
use leptos::prelude::*;
use leptos_router::components::Router;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{
    Blob, ClipboardEvent, ClipboardEventInit, DataTransfer, Element, Event, EventInit, File,
    HtmlElement, HtmlSelectElement, HtmlTextAreaElement, ImageEncodeOptions, OffscreenCanvas,
};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{bytes_of, document, fresh_db_name, sleep};

struct Page {
    root: HtmlElement,
    _handle: Box<dyn std::any::Any>,
}

impl Drop for Page {
    fn drop(&mut self) {
        self.root.remove();
    }
}

impl Page {
    fn mount() -> Page {
        let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
        document().body().unwrap().append_child(&root).unwrap();
        let db = fresh_db_name();
        let handle = leptos::mount::mount_to(root.clone(), move || {
            Settings::provide();
            Jobs::provide(Gallery::provide(db));
            view! { <Router><EditPage /></Router> }
        });
        Page {
            root,
            _handle: Box::new(handle),
        }
    }

    fn find(&self, css: &str) -> Option<Element> {
        self.root.query_selector(css).unwrap()
    }

    fn count(&self, css: &str) -> u32 {
        self.root.query_selector_all(css).unwrap().length()
    }

    fn problem(&self) -> String {
        self.find("#edit-problem")
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    async fn wait_until(&self, what: &str, done: impl Fn(&Page) -> bool) {
        for _ in 0..200 {
            if done(self) {
                return;
            }
            sleep(50).await;
        }
        panic!(
            "timed out waiting for {what}; page text: {}",
            self.root.text_content().unwrap_or_default()
        );
    }

    async fn choose(&self, select: &str, value: &str) {
        let element: HtmlSelectElement = self.find(select).expect(select).unchecked_into();
        element.set_value(value);
        assert_eq!(element.value(), value, "{select} offers {value}");
        element
            .dispatch_event(&Event::new("change").unwrap())
            .unwrap();
        leptos::task::tick().await;
    }

    async fn type_prompt(&self, text: &str) {
        let area: HtmlTextAreaElement = self.find("#edit-prompt").unwrap().unchecked_into();
        area.set_value(text);
        let init = EventInit::new();
        init.set_bubbles(true);
        area.dispatch_event(&Event::new_with_event_init_dict("input", &init).unwrap())
            .unwrap();
        leptos::task::tick().await;
    }

    async fn submit(&self) {
        self.find("#edit-submit")
            .unwrap()
            .unchecked_into::<HtmlElement>()
            .click();
        leptos::task::tick().await;
    }

    fn canvas_size(&self) -> Option<(String, String)> {
        let canvas = self.find("#mask-canvas")?;
        Some((
            canvas.get_attribute("width")?,
            canvas.get_attribute("height")?,
        ))
    }
}

/// Pastes files on the page, as Ctrl+V with files on the clipboard does.
fn paste(files: &[File]) {
    let transfer = DataTransfer::new().unwrap();
    for file in files {
        transfer.items().add_with_file(file).unwrap();
    }
    let init = ClipboardEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_clipboard_data(Some(&transfer));
    let event = ClipboardEvent::new_with_event_init_dict("paste", &init).unwrap();
    document().dispatch_event(&event).unwrap();
}

fn file(bytes: &[u8], name: &str) -> File {
    File::new_with_u8_array_sequence(&js_sys::Array::of1(&Uint8Array::from(bytes)), name).unwrap()
}

async fn png(width: u32, height: u32, name: &str) -> File {
    let canvas = OffscreenCanvas::new(width, height).unwrap();
    let _context = canvas.get_context("2d").unwrap();
    let options = ImageEncodeOptions::new();
    options.set_type("image/png");
    let blob: Blob = JsFuture::from(canvas.convert_to_blob_with_options(&options).unwrap())
        .await
        .unwrap()
        .unchecked_into();
    file(&bytes_of(&blob).await, name)
}

#[wasm_bindgen_test]
async fn pasted_files_are_checked_before_anything_is_sent() {
    let page = Page::mount();
    page.wait_until("the form", |p| p.find("#edit-submit").is_some())
        .await;
    assert!(
        page.find("#edit-submit").unwrap().has_attribute("disabled"),
        "nothing to send yet"
    );

    // Not a picture: refused when it arrives.
    paste(&[file(b"just some notes", "notes.txt")]);
    page.wait_until("the refusal", |p| {
        p.problem()
            .contains("notes.txt is not a PNG, JPEG or WebP picture")
    })
    .await;
    assert_eq!(page.count(".edit-source"), 0);

    // A wide PNG: the mask is made at its size.
    paste(&[png(300, 200, "wide.png").await]);
    page.wait_until("the painter", |p| p.canvas_size().is_some())
        .await;
    assert_eq!(
        page.canvas_size(),
        Some(("300".to_owned(), "200".to_owned()))
    );
    assert_eq!(page.count(".edit-source"), 1);

    // dall-e-2 takes one square PNG.
    page.choose("#edit-model", "dall-e-2").await;
    page.type_prompt("a hat").await;
    page.submit().await;
    page.wait_until("the square rule", |p| {
        p.problem()
            .contains("dall-e-2 takes a square image; image 1 is 300x200.")
    })
    .await;
    paste(&[png(64, 64, "square.png").await]);
    page.wait_until("a second image", |p| p.count(".edit-source") == 2)
        .await;
    page.submit().await;
    page.wait_until("the count rule", |p| {
        p.problem()
            .contains("dall-e-2 takes at most 1 image at once; 2 are chosen.")
    })
    .await;

    // A GPT image model needs a prompt.
    page.choose("#edit-model", "gpt-image-2").await;
    page.type_prompt("  ").await;
    page.submit().await;
    page.wait_until("the prompt rule", |p| {
        p.problem().contains("Describe the edit")
    })
    .await;

    // Removing the first image puts the mask on the next one, at its size.
    page.find(".edit-source .remove")
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    page.wait_until("the second image's mask", |p| {
        p.canvas_size() == Some(("64".to_owned(), "64".to_owned()))
    })
    .await;
    assert!(page.find(".edit-source.first").is_some());
    assert_eq!(page.count("article.job"), 0, "nothing was sent");
}
