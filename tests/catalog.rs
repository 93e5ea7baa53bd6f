//! The prompt form against the catalog, custom sizes, and connection profiles, in a real
//! browser (headless Chromium) against a real relay with the offline generator.
#![cfg(target_arch = "wasm32")]

use std::any::Any;

use easel::components::AppHeader;
use easel::pages::Studio;
use easel::state::{Draft, Gallery, Jobs, Settings};
use easel_core::catalog::{self, ModelStatus};
use easel_core::{KeyStorage, Mode, Profile};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, Event, EventInit, HtmlElement, HtmlInputElement, HtmlSelectElement};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{RELAY, Within, document, fresh_db_name, sleep};

/// The header and the studio mounted in their own element; removed when dropped.
struct Page {
    root: HtmlElement,
    settings: Settings,
    handle: Option<Box<dyn Any>>,
}

impl Within for Page {
    fn root(&self) -> &Element {
        &self.root
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        self.handle.take();
        self.root.remove();
    }
}

impl Page {
    fn mount() -> Page {
        let window = web_sys::window().unwrap();
        window.local_storage().unwrap().unwrap().clear().unwrap();
        window.session_storage().unwrap().unwrap().clear().unwrap();
        let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
        document().body().unwrap().append_child(&root).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = leptos::mount::mount_to(root.clone(), move || {
            let settings = Settings::provide();
            settings.mode.set(Mode::Relay);
            settings.relay_url.set(RELAY.to_owned());
            tx.send(settings).unwrap();
            Draft::provide();
            Jobs::provide(Gallery::provide(fresh_db_name()));
            view! { <AppHeader /> <Studio /> }
        });
        Page {
            root,
            settings: rx.recv().unwrap(),
            handle: Some(Box::new(handle)),
        }
    }

    /// Whether the element exists and is not hidden.
    fn shown(&self, css: &str) -> bool {
        self.find(css)
            .is_some_and(|e| e.closest("[hidden]").unwrap().is_none())
    }

    /// The values of a select's options, or `None` when the select is not shown.
    fn options(&self, select: &str) -> Option<Vec<String>> {
        if !self.shown(select) {
            return None;
        }
        Some(
            self.all(&format!("{select} option"))
                .into_iter()
                .map(|o| o.get_attribute("value").unwrap_or_default())
                .collect(),
        )
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
        match element.dyn_ref::<HtmlInputElement>() {
            Some(input) => input.set_value(text),
            None => element
                .unchecked_ref::<web_sys::HtmlTextAreaElement>()
                .set_value(text),
        }
        let init = EventInit::new();
        init.set_bubbles(true);
        element
            .dispatch_event(&Event::new_with_event_init_dict("input", &init).unwrap())
            .unwrap();
        leptos::task::tick().await;
    }

    fn generate_disabled(&self) -> bool {
        self.find("#generate")
            .unwrap()
            .unchecked_into::<web_sys::HtmlButtonElement>()
            .disabled()
    }

    async fn wait_until(&self, what: &str, seconds: u32, done: impl Fn(&Page) -> bool) {
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

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Every model in the catalog, chosen in the picker: the form shows exactly its options and
/// no control for a parameter it does not take.
#[wasm_bindgen_test]
async fn the_form_shows_exactly_each_models_catalog_options() {
    let page = Page::mount();
    leptos::task::tick().await;
    let mut expected_models: Vec<String> =
        catalog::MODELS.iter().map(|m| m.id.to_owned()).collect();
    expected_models.push("custom".to_owned());
    assert_eq!(page.options("#model"), Some(expected_models));

    for model in catalog::MODELS {
        let id = model.id;
        page.choose("#model", id).await;
        let mut sizes = strings(model.sizes);
        if model.custom_sizes.is_some() {
            sizes.push("custom".to_owned());
        }
        assert_eq!(page.options("#size"), Some(sizes), "{id}: sizes");
        assert_eq!(
            page.options("#quality"),
            Some(strings(model.qualities)),
            "{id}: qualities"
        );
        let listed = |list: &[&str], with_default: bool| {
            (!list.is_empty()).then(|| {
                let mut values = if with_default {
                    vec![String::new()]
                } else {
                    vec![]
                };
                values.extend(strings(list));
                values
            })
        };
        assert_eq!(
            page.options("#format"),
            listed(model.output_formats, false),
            "{id}: formats"
        );
        assert_eq!(
            page.options("#background"),
            listed(model.backgrounds, false),
            "{id}"
        );
        assert_eq!(
            page.options("#complexity"),
            listed(model.complexities, true),
            "{id}"
        );
        assert_eq!(
            page.options("#style"),
            listed(model.styles, true),
            "{id}: styles"
        );
        assert_eq!(
            page.options("#moderation"),
            model.moderation.then(|| strings(catalog::MODERATIONS)),
            "{id}: moderation"
        );
        assert_eq!(
            page.options("#count").map(|o| o.len()),
            Some(usize::from(model.n_max)),
            "{id}: n"
        );
        assert_eq!(page.shown("#previews"), model.streams, "{id}: previews");
        assert_eq!(
            page.shown("#compression"),
            !model.output_formats.is_empty(),
            "{id}"
        );
        // The picker's label says when the model goes or went away.
        let label = page
            .find(&format!("#model option[value='{id}']"))
            .and_then(|o| o.text_content())
            .unwrap_or_default();
        match model.status {
            ModelStatus::Current => assert_eq!(label, id),
            ModelStatus::Deprecated { shutdown: date } | ModelStatus::ShutDown { since: date } => {
                assert!(label.contains(date), "{label}");
                assert!(page.text(".model-note").contains(date), "{id}: note");
            }
        }
        // A GPT model without GIF/SVG says why; one with them says what they restrict.
        if !model.output_formats.is_empty() && !model.output_formats.contains(&"gif") {
            assert_eq!(
                page.text("#format-note"),
                "GIF and SVG need a gpt-image-2.6 model."
            );
        }
        // Unavailable format-specific controls stay hidden.
        assert!(!page.shown("#frames") && !page.shown("#svg-model"), "{id}");
    }

    // GIF and SVG bring their own controls and take away what they exclude.
    page.choose("#model", "gpt-image-2.6-sunburst").await;
    page.choose("#format", "gif").await;
    assert!(page.shown("#frames") && page.shown("#frame-ms"));
    assert!(!page.shown("#previews"), "a GIF cannot stream");
    assert!(page.text("#format-note").contains("Animated"));
    page.choose("#count", "4").await;
    page.choose("#format", "svg").await;
    assert_eq!(
        page.options("#count"),
        Some(strings(&["1"])),
        "one SVG per request"
    );
    assert_eq!(
        page.options("#svg-effort"),
        Some([vec![String::new()], strings(catalog::SVG_EFFORTS)].concat())
    );
    assert!(!page.shown("#frames"));
    page.type_into("#prompt", "an owl").await;
    assert!(
        !page.generate_disabled(),
        "{}",
        page.text("#generate-reason")
    );

    // Transparent needs png or webp, and the form says so before validation refuses it.
    page.choose("#format", "jpeg").await;
    page.choose("#background", "transparent").await;
    assert_eq!(
        page.text("#background-note"),
        "Transparent needs the png or webp format."
    );
    assert!(page.generate_disabled());
    assert!(page.text("#generate-reason").contains("png or webp"));
}

#[wasm_bindgen_test]
async fn custom_size_errors_explain_themselves() {
    let page = Page::mount();
    page.type_into("#prompt", "a wide harbour").await;
    page.choose("#model", "gpt-image-2").await;
    assert!(!page.shown("#width"));
    page.choose("#size", "custom").await;
    assert!(page.text("#size-rule").contains("multiples of 16"));

    page.type_into("#width", "1000").await;
    page.type_into("#height", "1024").await;
    assert_eq!(
        page.text("#size-note"),
        "Width and height must be multiples of 16 (1000x1024 is not)."
    );
    assert!(page.generate_disabled());
    assert!(page.text("#generate-reason").contains("multiples of 16"));

    page.type_into("#width", "3200").await;
    assert!(page.text("#size-note").contains("at most 3 times"));
    page.type_into("#width", "").await;
    assert_eq!(page.text("#size-note"), "Enter the width in pixels.");
    assert!(page.generate_disabled());

    page.type_into("#width", "3840").await;
    page.type_into("#height", "2160").await;
    assert!(page.text("#size-note").contains("experimental"));
    assert!(!page.generate_disabled());

    page.type_into("#width", "1920").await;
    page.type_into("#height", "1088").await;
    assert_eq!(page.text("#size-note"), "");
    assert!(!page.generate_disabled());

    // A model without custom sizes offers no custom choice and falls back to its default.
    page.choose("#model", "gpt-image-1.5").await;
    assert!(!page.shown("#width"));
    assert!(
        !page
            .options("#size")
            .unwrap()
            .contains(&"custom".to_owned())
    );
    assert!(!page.generate_disabled());
}

/// The resource timing entries of image generations so far: where requests went.
fn generation_urls() -> Vec<String> {
    let performance = web_sys::window().unwrap().performance().unwrap();
    let entries = performance.get_entries_by_type("resource");
    (0..entries.length())
        .filter_map(|i| {
            js_sys::Reflect::get(&entries.get(i), &"name".into())
                .ok()?
                .as_string()
        })
        .filter(|url| url.ends_with("/images/generations"))
        .collect()
}

#[wasm_bindgen_test]
async fn switching_profiles_changes_where_requests_go() {
    let page = Page::mount();
    web_sys::window()
        .unwrap()
        .performance()
        .unwrap()
        .clear_resource_timings();
    let settings = page.settings;
    settings.name.set("Team relay".to_owned());
    assert!(!page.shown("#profile"), "no switch with one profile");
    // The same relay under another name: a Direct profile with a key, and its own model.
    let other_origin = RELAY.replace("127.0.0.1", "localhost");
    settings.add(Profile {
        name: "Direct".to_owned(),
        mode: Mode::Direct,
        base_url: format!("{other_origin}/v1"),
        default_model: Some("gpt-image-1.5".to_owned()),
        ..Profile::default()
    });
    settings.api_key.set("sk-profile-test".to_owned());
    leptos::task::tick().await;
    let relay_profile = settings.profiles.get_untracked()[0].id.clone();
    assert_eq!(
        page.options("#profile").unwrap(),
        settings
            .profiles
            .get_untracked()
            .iter()
            .map(|p| p.id.clone())
            .collect::<Vec<_>>()
    );

    page.choose("#profile", &relay_profile).await;
    assert_eq!(settings.backend().mode, Mode::Relay);
    assert_eq!(
        settings.api_key.get_untracked(),
        "",
        "each profile has its own key"
    );
    page.type_into("#prompt", "a lighthouse").await;
    page.find("#generate")
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    page.wait_until("the relay's image", 30, |p| {
        p.all("article.job[data-state=done]").len() == 1
    })
    .await;

    let direct = settings.profiles.get_untracked()[1].id.clone();
    page.choose("#profile", &direct).await;
    assert_eq!(settings.api_key.get_untracked(), "sk-profile-test");
    let model: HtmlSelectElement = page.find("#model").unwrap().unchecked_into();
    assert_eq!(
        model.value(),
        "gpt-image-1.5",
        "the profile's default model"
    );
    page.find("#generate")
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    page.wait_until("the direct image", 30, |p| {
        p.all("article.job[data-state=done]").len() == 2
    })
    .await;

    assert_eq!(
        generation_urls(),
        [
            format!("{RELAY}/v1/images/generations"),
            format!("{other_origin}/v1/images/generations"),
        ]
    );
    // The switch is remembered, the key is not written where profiles are saved.
    let saved = web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .get_item("easel.profiles")
        .unwrap()
        .unwrap();
    assert!(
        saved.contains("name=Direct\n") && !saved.contains("sk-profile-test"),
        "{saved}"
    );
}

/// Settings saved before profiles existed become the first profile, remembered key included.
#[wasm_bindgen_test]
async fn old_settings_migrate_into_the_first_profile() {
    let window = web_sys::window().unwrap();
    let local = window.local_storage().unwrap().unwrap();
    local.clear().unwrap();
    local
        .set_item(
            "easel.settings",
            r#"{"mode":"direct","relay_url":null,"base_url":"https://llm.example.com/v1","organization":"org-7","project":"","remember_key":true,"daily_budget":3.5}"#,
        )
        .unwrap();
    local.set_item("easel.api-key", "sk-kept").unwrap();
    let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        tx.send(Settings::provide()).unwrap();
    });
    let settings = rx.recv().unwrap();
    leptos::task::tick().await;
    assert_eq!(settings.mode.get_untracked(), Mode::Direct);
    assert_eq!(
        settings.base_url.get_untracked(),
        "https://llm.example.com/v1"
    );
    assert_eq!(settings.organization.get_untracked(), "org-7");
    assert_eq!(settings.api_key.get_untracked(), "sk-kept");
    assert_eq!(settings.key_storage.get_untracked(), KeyStorage::Device);
    assert_eq!(settings.daily_budget.get_untracked(), Some(3.5));
    assert_eq!(settings.name.get_untracked(), "llm.example.com");
    assert_eq!(
        local.get_item("easel.api-key").unwrap(),
        None,
        "the old slot is emptied"
    );
    assert_eq!(
        local.get_item("easel.api-key.default").unwrap().as_deref(),
        Some("sk-kept")
    );
    drop(handle);
}

/// Settings mounted alone on a cleared device, with `config` as the host's `config.json`
/// (what the page's prelude leaves in `window.easelConfig`; `None`: the host has none).
fn settings_with_host_config(config: Option<&str>, clear: bool) -> (Settings, Box<dyn Any>) {
    let window = web_sys::window().unwrap();
    if clear {
        window.local_storage().unwrap().unwrap().clear().unwrap();
    }
    let text = config.map_or(wasm_bindgen::JsValue::NULL, wasm_bindgen::JsValue::from);
    js_sys::Reflect::set(
        &window,
        &"easelConfig".into(),
        &js_sys::Promise::resolve(&text),
    )
    .unwrap();
    let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = leptos::mount::mount_to(root, move || {
        tx.send(Settings::provide()).unwrap();
    });
    (rx.recv().unwrap(), Box::new(handle))
}

/// `config.json` sets a new visitor's first profile and model; saved settings win over it
/// afterwards; a broken one leaves the built-in defaults.
#[wasm_bindgen_test]
async fn a_hosts_config_sets_up_a_new_visitor_only() {
    let config =
        r#"{"mode": "direct", "base_url": "https://llm.example.com/v1", "model": "dall-e-3"}"#;
    let (settings, handle) = settings_with_host_config(Some(config), true);
    assert_eq!(
        settings.adopt_deployment().await.as_deref(),
        Some("dall-e-3")
    );
    assert_eq!(settings.mode.get_untracked(), Mode::Direct);
    assert_eq!(
        settings.base_url.get_untracked(),
        "https://llm.example.com/v1"
    );
    assert_eq!(settings.name.get_untracked(), "llm.example.com");
    let local = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let saved = local
        .get_item("easel.profiles")
        .unwrap()
        .unwrap_or_default();
    assert!(saved.contains("llm.example.com"), "{saved}");
    drop(handle);

    // A returning visitor keeps what is saved, even when the host's config changes.
    let other = r#"{"mode": "relay", "relay_url": "https://relay.example.org"}"#;
    let (settings, handle) = settings_with_host_config(Some(other), false);
    assert_eq!(settings.adopt_deployment().await, None);
    assert_eq!(settings.mode.get_untracked(), Mode::Direct);
    assert_eq!(
        settings.base_url.get_untracked(),
        "https://llm.example.com/v1"
    );
    drop(handle);

    // No config, or one that cannot be used: the built-in default (the relay that served
    // the page).
    for config in [None, Some("{\"mode\": \"proxy\"}"), Some("not json")] {
        let (settings, handle) = settings_with_host_config(config, true);
        assert_eq!(settings.adopt_deployment().await, None, "{config:?}");
        assert_eq!(settings.mode.get_untracked(), Mode::Relay, "{config:?}");
        assert_eq!(settings.name.get_untracked(), Profile::default().name);
        drop(handle);
    }
    let window = web_sys::window().unwrap();
    js_sys::Reflect::delete_property(&window, &"easelConfig".into()).unwrap();
    local.clear().unwrap();
}
