//! The studio in a real browser (headless Chromium), against a real relay with the offline
//! generator. `cargo xtask test` starts the relay and passes its address as EASEL_TEST_RELAY.
#![cfg(target_arch = "wasm32")]

use std::any::Any;

use easel::pages::Studio;
use easel::state::{Draft, Gallery, Jobs, Settings};
use easel_core::Mode;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{
    Element, Event, EventInit, HtmlElement, HtmlImageElement, HtmlSelectElement,
    HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit,
};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{RELAY, Within, document, fresh_db_name, sleep};

/// The studio mounted in its own element; unmounted and removed when dropped.
struct Mounted {
    root: HtmlElement,
    handle: Option<Box<dyn Any>>,
}

impl Within for Mounted {
    fn root(&self) -> &Element {
        &self.root
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.handle.take();
        self.root.remove();
    }
}

impl Mounted {
    fn option_values(&self, select: &str) -> Vec<String> {
        self.all(&format!("{select} option"))
            .into_iter()
            .map(|o| o.get_attribute("value").unwrap_or_default())
            .collect()
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

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).expect(css);
        if let Some(area) = element.dyn_ref::<HtmlTextAreaElement>() {
            area.set_value(text);
        } else {
            element
                .unchecked_ref::<web_sys::HtmlInputElement>()
                .set_value(text);
        }
        let init = EventInit::new();
        init.set_bubbles(true);
        element
            .dispatch_event(&Event::new_with_event_init_dict("input", &init).unwrap())
            .unwrap();
        leptos::task::tick().await;
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .expect(css)
            .unchecked_into::<HtmlElement>()
            .click();
        leptos::task::tick().await;
    }

    /// Polls until `done` holds, failing after `seconds`.
    async fn wait_until(&self, what: &str, seconds: u32, done: impl Fn(&Mounted) -> bool) {
        for _ in 0..seconds * 20 {
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
}

fn mount(configure: impl FnOnce(Settings) + 'static) -> Mounted {
    mount_with_db(fresh_db_name(), configure)
}

fn mount_with_db(db_name: &'static str, configure: impl FnOnce(Settings) + 'static) -> Mounted {
    let window = web_sys::window().unwrap();
    window.local_storage().unwrap().unwrap().clear().unwrap();
    window.session_storage().unwrap().unwrap().clear().unwrap();
    let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&root).unwrap();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        let settings = Settings::provide();
        Draft::provide();
        Jobs::provide(Gallery::provide(db_name));
        configure(settings);
        view! { <Studio /> }
    });
    Mounted {
        root,
        handle: Some(Box::new(handle)),
    }
}

fn through_relay(settings: Settings) {
    settings.mode.set(Mode::Relay);
    settings.relay_url.set(RELAY.to_owned());
}

fn direct_at_relay(settings: Settings) {
    settings.mode.set(Mode::Direct);
    settings.base_url.set(format!("{RELAY}/v1"));
    settings.api_key.set("sk-browser-test-key".to_owned());
}

/// Every loaded `img.result` whose source is a `blob:` URL.
fn loaded_blob_images(page: &Mounted) -> usize {
    page.all("img.result")
        .into_iter()
        .map(|e| e.unchecked_into::<HtmlImageElement>())
        .filter(|img| img.src().starts_with("blob:") && img.complete() && img.natural_width() > 0)
        .count()
}

#[wasm_bindgen_test]
async fn the_form_offers_only_the_selected_models_sizes() {
    let page = mount(through_relay);
    leptos::task::tick().await;
    assert_eq!(
        page.find("#model")
            .map(|m| m.unchecked_into::<HtmlSelectElement>().value()),
        Some("gpt-image-2".into())
    );
    assert!(
        page.option_values("#size")
            .contains(&"3840x2160".to_owned())
    );

    page.choose("#model", "dall-e-2").await;
    assert_eq!(
        page.option_values("#size"),
        ["256x256", "512x512", "1024x1024"]
    );
    assert!(
        page.find("#format")
            .is_none_or(|f| f.closest("[hidden]").unwrap().is_some()),
        "DALL·E takes no output format"
    );
    assert_eq!(page.option_values("#count").len(), 10);

    page.choose("#model", "dall-e-3").await;
    assert_eq!(
        page.option_values("#size"),
        ["1024x1024", "1792x1024", "1024x1792"]
    );
    assert_eq!(page.option_values("#quality"), ["standard", "hd"]);
    assert_eq!(page.option_values("#count"), ["1"]);
    assert!(page.text(".model-note").contains("2026-05-12"));

    page.choose("#model", "gpt-image-1.5").await;
    assert_eq!(
        page.option_values("#size"),
        ["auto", "1024x1024", "1536x1024", "1024x1536"]
    );
    assert_eq!(page.option_values("#format"), ["png", "jpeg", "webp"]);
    page.choose("#model", "gpt-image-2.5-flare").await;
    assert!(page.option_values("#quality").contains(&"max".to_owned()));
}

#[wasm_bindgen_test]
async fn generate_is_disabled_with_a_reason() {
    let page = mount(through_relay);
    leptos::task::tick().await;
    let button = || {
        page.find("#generate")
            .unwrap()
            .unchecked_into::<web_sys::HtmlButtonElement>()
    };
    assert!(button().disabled());
    assert_eq!(page.text("#generate-reason"), "Write a prompt first.");

    page.choose("#model", "dall-e-2").await;
    page.type_into("#prompt", &"a".repeat(1200)).await;
    assert!(button().disabled());
    assert!(
        page.text("#generate-reason").contains("at most 1000"),
        "{}",
        page.text("#generate-reason")
    );

    page.type_into("#prompt", "a red fox").await;
    assert!(!button().disabled());
    assert_eq!(page.text("#generate-reason"), "");
}

#[wasm_bindgen_test]
async fn a_generation_through_the_relay_renders_n_blob_images() {
    let page = mount(through_relay);
    page.type_into("#prompt", "a lighthouse at dusk").await;
    page.choose("#count", "3").await;
    page.click("#generate").await;
    assert_eq!(
        page.all("article.job").len(),
        1,
        "the job card appears at once"
    );
    page.wait_until("3 loaded blob images", 30, |p| loaded_blob_images(p) == 3)
        .await;
    assert_eq!(
        page.find("article.job")
            .unwrap()
            .get_attribute("data-state")
            .as_deref(),
        Some("done")
    );
    let names: Vec<String> = page
        .all("a.download")
        .iter()
        .map(|a| a.get_attribute("download").unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [
            "a-lighthouse-at-dusk-1.png",
            "a-lighthouse-at-dusk-2.png",
            "a-lighthouse-at-dusk-3.png"
        ]
    );
}

#[wasm_bindgen_test]
async fn ctrl_enter_in_the_prompt_submits() {
    let page = mount(through_relay);
    page.choose("#format", "webp").await;
    page.type_into("#prompt", "a quiet harbour").await;
    let init = KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_ctrl_key(true);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    page.find("#prompt")
        .unwrap()
        .dispatch_event(&event)
        .unwrap();
    leptos::task::tick().await;
    page.wait_until("one image", 30, |p| loaded_blob_images(p) == 1)
        .await;
    let name = page
        .find("a.download")
        .unwrap()
        .get_attribute("download")
        .unwrap();
    assert_eq!(
        name, "a-quiet-harbour-1.webp",
        "extension from the sniffed bytes"
    );
}

#[wasm_bindgen_test]
async fn url_results_are_fetched_into_blobs() {
    // Models outside the catalog get URL results from the generator, like many compatible servers.
    let page = mount(through_relay);
    page.choose("#model", "custom").await;
    page.type_into("#custom-model", "local-diffusion").await;
    page.type_into("#custom-size", "512x512").await;
    page.type_into("#prompt", "a paper boat").await;
    page.choose("#count", "2").await;
    page.click("#generate").await;
    page.wait_until("2 images from URLs", 30, |p| loaded_blob_images(p) == 2)
        .await;
    let img = page
        .find("img.result")
        .unwrap()
        .unchecked_into::<HtmlImageElement>();
    assert_eq!(img.natural_width(), 512);
}

#[wasm_bindgen_test]
async fn an_api_error_renders_its_message_and_never_the_key() {
    let page = mount(direct_at_relay);
    page.choose("#model", "custom").await;
    page.type_into("#custom-model", "dall-e-2").await;
    page.type_into("#custom-size", "1536x1024").await;
    page.type_into("#prompt", "a red fox").await;
    page.click("#generate").await;
    page.wait_until("the error", 30, |p| {
        p.find("article.job[data-state=failed] .job-error")
            .is_some()
    })
    .await;
    assert_eq!(
        page.text(".error-message"),
        "Invalid value: '1536x1024'. Supported values are: '256x256', '512x512', and '1024x1024'."
    );
    assert!(page.text(".error-explanation").contains("'size'"));
    assert!(page.text(".error-status").contains("HTTP 400"));
    assert!(!page.root.inner_html().contains("sk-browser-test-key"));
}

#[wasm_bindgen_test]
async fn an_unreachable_server_is_explained() {
    let page = mount(|settings| {
        settings.mode.set(Mode::Direct);
        // Port 9 (discard) is closed on the test machine: the fetch is refused.
        settings.base_url.set("http://127.0.0.1:9/v1".to_owned());
        settings.api_key.set("sk-unreachable".to_owned());
    });
    page.type_into("#prompt", "a red fox").await;
    page.click("#generate").await;
    page.wait_until("the network error", 30, |p| p.find(".job-error").is_some())
        .await;
    let explanation = page.text(".error-explanation");
    assert!(
        explanation.contains("Could not reach the server"),
        "{explanation}"
    );
    assert!(explanation.contains("CORS"));
    assert!(page.text(".error-status").contains("No answer"));
}

#[wasm_bindgen_test]
async fn the_offline_generator_is_announced() {
    let page = mount(through_relay);
    page.wait_until("the offline banner", 20, |p| {
        p.find("#offline-banner").is_some()
    })
    .await;
    assert!(page.text("#offline-banner").contains("Offline demo"));
}

#[wasm_bindgen_test]
async fn the_cost_is_estimated_before_and_counted_after() {
    let page = mount_with_db(fresh_db_name(), through_relay);
    page.type_into("#prompt", "a lighthouse at dusk").await;
    page.choose("#model", "gpt-image-2").await;
    page.choose("#size", "1024x1024").await;
    page.choose("#quality", "high").await;
    // gpt-image-2 at $30 per million output tokens, 4160 tokens for a high 1024² image.
    page.wait_until("one price", 5, |p| p.text("#cost-estimate") == "≈ $0.125")
        .await;
    page.choose("#quality", "auto").await;
    page.wait_until("a range for auto quality", 5, |p| {
        p.text("#cost-estimate").contains('–')
    })
    .await;
    page.choose("#model", "custom").await;
    page.type_into("#custom-model", "my-local-model").await;
    page.wait_until("no price for an unknown model", 5, |p| {
        p.text("#cost-estimate").is_empty()
    })
    .await;

    page.choose("#model", "gpt-image-2").await;
    page.choose("#quality", "low").await;
    assert_eq!(page.text("#spending"), "", "nothing spent yet");
    page.click("#generate").await;
    page.wait_until("the job's cost from usage", 30, |p| {
        p.text("article.job[data-state=done] .job-cost")
            .starts_with("Cost $")
    })
    .await;
    // The stored image carries the cost, so the day's total counts it.
    page.wait_until("today's spending", 10, |p| {
        p.text("#spending").starts_with("Spent $0.0")
    })
    .await;
}
