//! Where this copy of the app is served from, and how its host configured it.
//!
//! **Base path.** A project site on GitHub Pages lives under `/<repo>/`: `cargo xtask build
//! --public-url /easel/` makes Trunk write `<base href="/easel/">` into `index.html` (and its
//! `404.html` copy, which GitHub Pages serves for deep links). The router, the app's own links
//! and share links all start from that base; without a `<base>` element it is the root.
//!
//! **Deployment config.** `config.json` beside `index.html` (from `public/`) holds a host's
//! defaults — mode, relay URL, API base URL, model — so one build serves many deployments. The
//! page's prelude fetches it while the app's code downloads (`window.easelConfig`, a promise of
//! its text or `null`); [`deployment`] reads that. What it means is `easel_core::backend::
//! Deployment`.

use std::sync::OnceLock;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The router's base: `""` at the root, else the path without its trailing slash (`/easel`).
pub fn base_path() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    // Trunk writes the public URL as it was given: an absolute path.
    BASE.get_or_init(|| {
        let declared = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("base[href]").ok().flatten())
            .and_then(|base| base.get_attribute("href"))
            .unwrap_or_default();
        declared.trim_end_matches('/').to_owned()
    })
}

/// `path` (starting with `/`, as a route is written) under the base: `/gallery` →
/// `/easel/gallery`.
pub fn href(path: &str) -> String {
    [base_path(), path].concat()
}

/// The text of the host's `config.json`, when there is one (the prelude's fetch found it).
pub async fn deployment() -> Option<String> {
    let window = web_sys::window()?;
    let pending = js_sys::Reflect::get(&window, &"easelConfig".into()).ok()?;
    let promise = pending.dyn_into::<js_sys::Promise>().ok()?;
    JsFuture::from(promise).await.ok()?.as_string()
}
