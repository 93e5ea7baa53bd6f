//! Easel as an installed web app (DESIGN.md, "Installable: the service worker"): the release
//! build's service worker keeps the app's files, so the studio and the gallery open with the
//! server gone and generating says that it needs a connection; a new deploy is offered in a
//! banner, and its Reload button starts the new version.

use std::path::Path;
use std::time::Duration;

use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};
use serde_json::{Value, json};

const GENERATION: Duration = Duration::from_secs(30);
const PROMPT: &str = "a lighthouse on a cliff at dusk";

/// Waits until a service worker controls the page: the first version takes over the page that
/// installed it once every file is in its cache.
async fn wait_for_the_worker(browser: &Browser) {
    browser
        .wait_until_js("navigator.serviceWorker.controller !== null", WAIT)
        .await;
}

/// Takes the browser's network away, as DevTools' "Offline" does: `navigator.onLine` is false,
/// requests fail, and what the service worker answers from its cache still arrives.
fn go_offline(browser: &Browser) {
    let offline = json!({
        "offline": true,
        "latency": 0,
        "downloadThroughput": -1,
        "uploadThroughput": -1,
    });
    browser.cdp("Network.enable", json!({}));
    browser
        .cdp("Network.emulateNetworkConditions", offline)
        .expect("DevTools takes the network away");
}

/// The names of the page's origin's Cache Storage caches, sorted.
async fn cache_names(browser: &Browser) -> Vec<String> {
    let value = browser
        .client()
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             caches.keys().then(keys => done(keys.sort()), e => done('error: ' + e));",
            vec![],
        )
        .await
        .expect("cache names script");
    value
        .as_array()
        .unwrap_or_else(|| panic!("cache names: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Console errors other than the failed requests to a server that is gone.
async fn unexpected_console_errors(browser: &Browser) -> Vec<String> {
    browser
        .console_errors()
        .await
        .into_iter()
        .filter(|line| !(line.contains("Failed to load resource") || line.contains("net::ERR_")))
        .collect()
}

#[tokio::test]
async fn the_studio_and_the_gallery_open_without_a_connection() {
    let mut relay = Relay::start(&dist_dir(), &["--latency-ms", "0"]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.fill("#prompt", PROMPT).await;
    browser.generate_now(GENERATION).await;
    wait_for_the_worker(&browser).await;

    // The server goes away and so does the network; the page is reloaded, as after a
    // restart of the browser.
    relay.kill();
    go_offline(&browser);
    browser.goto(&relay.at("/")).await;
    assert_eq!(
        browser.execute("return navigator.onLine;", vec![]).await,
        Value::Bool(false),
        "the browser knows it is offline"
    );
    browser.wait_visible("#prompt", WAIT).await;
    browser.fill("#prompt", "a second picture").await;
    browser.press_ctrl_enter("#prompt").await;
    browser
        .wait_for_text(
            "article.job[data-state=failed] .error-message",
            "You are offline: generating needs a connection.",
            WAIT,
        )
        .await;
    browser
        .wait_for_text(
            "article.job[data-state=failed] .error-explanation",
            "gallery still works",
            WAIT,
        )
        .await;
    // No relay answers, but suggesting another one would mislead: the network is gone.
    assert_eq!(
        browser.count("#no-relay-banner").await,
        0,
        "no relay banner"
    );
    browser.screenshot("offline-studio").await;

    // The gallery: its code and its image, both from this browser.
    browser.click("#nav-gallery").await;
    let one_thumbnail = "document.querySelectorAll('.grid-cell img.thumb').length === 1";
    browser.wait_until_js(one_thumbnail, WAIT).await;
    browser.wait_for_text(".gallery-page", PROMPT, WAIT).await;
    // A deep link reloaded offline opens the same page.
    browser.goto(&relay.at("/gallery")).await;
    browser.wait_until_js(one_thumbnail, WAIT).await;
    browser.screenshot("offline-gallery").await;

    assert_eq!(browser.count("#crash-notice").await, 0, "no crash");
    let unexpected = unexpected_console_errors(&browser).await;
    assert!(unexpected.is_empty(), "console errors: {unexpected:?}");
    browser.close().await;
}

/// A copy of the release build, as a host has it deployed.
fn deploy(dist: &Path) -> tempfile::TempDir {
    let site = tempfile::tempdir().expect("a folder for the site");
    for entry in std::fs::read_dir(dist).expect("read the build") {
        let path = entry.expect("a built file").path();
        if path.is_file() {
            std::fs::copy(&path, site.path().join(path.file_name().unwrap())).expect("copy");
        }
    }
    site
}

/// What a new deploy changes: a page that differs (a marker in index.html), and so a service
/// worker with another version.
fn deploy_a_new_version(site: &Path) {
    let index = site.join("index.html");
    let html = std::fs::read_to_string(&index).expect("index.html");
    assert!(html.contains("<title>"), "index.html has a title: {html}");
    let html = html.replacen(
        "<title>",
        "<meta name=\"easel-deploy\" content=\"2\"><title>",
        1,
    );
    std::fs::write(&index, html).expect("write index.html");
    let worker = site.join("sw.js");
    let js = std::fs::read_to_string(&worker).expect("sw.js");
    let line = js
        .lines()
        .find(|line| line.starts_with("const VERSION = "))
        .unwrap_or_else(|| panic!("sw.js names its version: {js}"))
        .to_owned();
    std::fs::write(&worker, js.replace(&line, "const VERSION = \"second\";")).expect("sw.js");
}

#[tokio::test]
async fn a_new_deploy_is_offered_and_reload_starts_it() {
    let site = deploy(&dist_dir());
    let relay = Relay::start(site.path(), &["--latency-ms", "0"]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.wait_visible("#prompt", WAIT).await;
    wait_for_the_worker(&browser).await;
    let first = cache_names(&browser).await;
    assert_eq!(first.len(), 1, "one version cached: {first:?}");
    assert_eq!(browser.count("#update-banner").await, 0, "nothing new yet");

    deploy_a_new_version(site.path());
    browser.goto(&relay.at("/")).await;
    browser
        .wait_for_text("#update-banner", "A new version of Easel is ready", WAIT)
        .await;
    // Until Reload, the page runs the version it has; the banner covers nothing it needs.
    let marker = "document.querySelector('meta[name=easel-deploy]') !== null";
    let running_new = browser.execute(&format!("return {marker};"), vec![]).await;
    assert_eq!(
        running_new,
        Value::Bool(false),
        "the old version still runs"
    );
    browser.wait_visible("#prompt", WAIT).await;
    browser.screenshot("update-banner-1280").await;
    browser
        .client()
        .set_window_size(390, 844)
        .await
        .expect("a phone-sized window");
    browser.screenshot("update-banner-390").await;

    browser.click("#update-banner button.primary").await;
    browser.wait_until_js(marker, WAIT).await;
    browser.wait_visible("#prompt", WAIT).await;
    assert_eq!(browser.count("#update-banner").await, 0, "offered once");
    let after = cache_names(&browser).await;
    assert_eq!(
        after,
        vec!["easel-second".to_owned()],
        "the new version's files replaced the old ones ({first:?})"
    );
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
}
