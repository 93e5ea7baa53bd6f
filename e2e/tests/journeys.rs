//! User journeys: a new user in headless Chromium against the relay serving the release
//! build. Each test has its own relay and browser, so they never share state.

use std::path::Path;
use std::time::{Duration, Instant};

use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};

/// Offline generation at 300 ms latency is quick; leave room for a cold dev-profile relay.
const GENERATION: Duration = Duration::from_secs(30);

/// The harness itself: relay, chromedriver, Chromium and polling all work.
#[tokio::test]
async fn harness_smoke() {
    // Its own tiny site: the harness is checked even while the app does not build.
    let site = harness_site();
    let relay = Relay::start(site.path(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/healthz")).await;
    let text = browser.wait_for_text("body", "ok", WAIT).await;
    assert_eq!(text.trim(), "ok", "GET /healthz should answer just `ok`");
    browser.close().await;
}

/// The harness's keyboard, download and console plumbing, on a page of its own (so it is
/// proven independently of the app): Ctrl+Enter reaches a keydown handler, a blob link
/// with `download` lands a finished file, console errors are readable.
#[tokio::test]
async fn harness_keys_downloads_and_console() {
    let site = harness_site();
    let relay = Relay::start(site.path(), &[]);
    let browser = Browser::start().await;

    browser.goto(&relay.at("/")).await;
    browser.wait_for("#download[data-ready]", WAIT).await;
    browser.fill("#prompt", "hello").await;
    browser.press_ctrl_enter("#prompt").await;
    browser
        .wait_for_text("#status", "submitted: hello", WAIT)
        .await;

    browser.click("#download").await;
    let file = browser.wait_for_download(WAIT).await;
    assert_eq!(file.file_name().unwrap(), "harness-check.png");
    assert_eq!(decode(&file, image::ImageFormat::Png), (8, 4));

    let console = browser.console_errors().await;
    assert!(
        console
            .iter()
            .any(|line| line.contains("harness console check")),
        "console errors should be readable, got {console:?}"
    );
    browser.close().await;
}

#[tokio::test]
async fn generates_two_images_offline() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;

    browser.wait_visible("#offline-banner", WAIT).await;
    browser.fill("#prompt", "a lighthouse at dusk").await;
    browser.select("#count", "2").await;
    browser.press_ctrl_enter("#prompt").await;

    let done = "article.job[data-state=done]";
    browser.wait_for(done, GENERATION).await;
    browser
        .wait_until_js(
            "(() => { const imgs = [...document.querySelectorAll(\
             'article.job[data-state=done] img.result')]; \
             return imgs.length === 2 && imgs.every(i => i.src.startsWith('blob:') \
             && i.complete && i.naturalWidth > 0); })()",
            WAIT,
        )
        .await;
    assert_eq!(browser.count(&format!("{done} img.result")).await, 2);

    let link = browser.wait_for(&format!("{done} a.download"), WAIT).await;
    let suggested = link.attr("download").await.unwrap().unwrap_or_default();
    link.click().await.unwrap();
    let file = browser.wait_for_download(WAIT).await;
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("a-lighthouse-at-dusk") && name.ends_with(".png"),
        "downloaded file {name:?} should be named from the prompt slug, as .png"
    );
    assert_eq!(name, suggested, "the file keeps the link's download name");
    assert_eq!(
        decode(&file, image::ImageFormat::Png),
        (1024, 1024),
        "size `auto` resolves to 1024x1024"
    );

    browser.screenshot("generates_two_images_offline").await;
    browser.close().await;
}

#[tokio::test]
async fn direct_mode_invalid_request_shows_the_api_error() {
    const KEY: &str = "sk-e2e-test-key";
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.wait_for("#prompt", WAIT).await;
    // Survives only in-app navigation: proves the key typed below is never lost to a reload.
    browser
        .execute("window.__easelE2e = 'same page'; return true;", vec![])
        .await;

    browser.click("#nav-settings").await;
    browser.click("#mode-direct").await;
    browser.fill("#base-url", &relay.at("/v1")).await;
    browser.fill("#api-key", KEY).await;
    browser.click("#back-to-studio").await;
    browser.wait_for("#prompt", WAIT).await;
    let marker = browser
        .execute("return window.__easelE2e || null;", vec![])
        .await;
    assert_eq!(
        marker, "same page",
        "#back-to-studio must navigate in-app, without a page reload"
    );

    browser.select("#model", "custom").await;
    browser.fill("#custom-model", "dall-e-2").await;
    browser.fill("#custom-size", "1536x1024").await;
    browser.fill("#prompt", "a paper boat on a pond").await;
    browser.click("#generate").await;

    let failed = "article.job[data-state=failed]";
    browser
        .wait_for_text(
            &format!("{failed} .error-message"),
            "Supported values are",
            GENERATION,
        )
        .await;
    browser
        .wait_for_text(&format!("{failed} .error-explanation"), "size", WAIT)
        .await;
    assert_eq!(
        browser
            .count(&format!("{failed} .job-error[role=alert]"))
            .await,
        1,
        "the error is announced (role=alert)"
    );

    let text = browser.page_text().await;
    let html = browser.page_html().await;
    assert!(
        !text.contains(KEY),
        "the API key is rendered in the page text"
    );
    assert!(!html.contains(KEY), "the API key is in the page's HTML");
    assert!(
        !relay.logs().contains(KEY),
        "the API key leaked into relay logs"
    );

    browser
        .screenshot("direct_mode_invalid_request_shows_the_api_error")
        .await;
    browser.close().await;
}

/// A relay whose operator hands out access tokens: the page says it needs one, a request
/// without it fails with that explanation (not "bad API key"), and once the token is entered
/// in Settings generations work. The token never shows in the page or the relay's logs.
#[tokio::test]
async fn a_relay_with_access_tokens_asks_for_one_and_then_works() {
    const TOKEN: &str = "relay-e2e-token-4f2a";
    let tokens = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(tokens.path(), format!("{TOKEN}\n")).expect("write tokens");
    let tokens_path = tokens.path().to_string_lossy().into_owned();
    let relay = Relay::start(&dist_dir(), &["--access-tokens-file", &tokens_path]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser
        .wait_for_text("#token-banner", "access token", WAIT)
        .await;

    browser.fill("#prompt", "a kite over dunes").await;
    browser.click("#generate").await;
    browser
        .wait_for_text(
            "article.job[data-state=failed] .error-explanation",
            "access token",
            GENERATION,
        )
        .await;

    browser.click("#nav-settings").await;
    browser.fill("#relay-token", TOKEN).await;
    browser.click("#back-to-studio").await;
    browser.wait_for("#prompt", WAIT).await;
    browser
        .wait_until_js("document.querySelector('#token-banner') === null", WAIT)
        .await;
    browser.fill("#prompt", "a kite over dunes").await;
    browser.click("#generate").await;
    browser.wait_for_a_done_image(GENERATION).await;

    assert!(
        !browser.page_text().await.contains(TOKEN),
        "token in the page text"
    );
    assert!(
        !browser.page_html().await.contains(TOKEN),
        "token in the page's HTML"
    );
    assert!(!relay.logs().contains(TOKEN), "token in the relay's logs");
    browser.close().await;
}

/// A daily budget: a generation that could pass it asks first; "Cancel" sends nothing, "OK"
/// generates.
#[tokio::test]
async fn a_daily_budget_asks_before_spending_past_it() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.click("#nav-settings").await;
    browser.fill("#daily-budget", "0.05").await;
    // The amount is taken when the field is left.
    browser.click("#back-to-studio").await;
    browser.wait_for("#prompt", WAIT).await;

    browser.fill("#prompt", "a castle made of glass").await;
    browser.select("#model", "gpt-image-2").await;
    browser.select("#size", "1024x1024").await;
    browser.select("#quality", "high").await;
    browser.click("#generate").await;
    let client = browser.client();
    let question = client.get_alert_text().await.expect("a confirmation");
    assert!(
        question.contains("daily budget of $0.05"),
        "the question names the budget: {question}"
    );
    client.dismiss_alert().await.expect("dismiss");
    assert_eq!(
        browser.count("article.job").await,
        0,
        "Cancel sends nothing"
    );

    browser.click("#generate").await;
    client.get_alert_text().await.expect("asked again");
    client.accept_alert().await.expect("accept");
    browser.wait_for_a_done_image(GENERATION).await;
    browser.close().await;
}

/// Streaming with previews: a preview replaces the placeholder before the final image
/// arrives; cancelling mid-stream keeps nothing.
#[tokio::test]
async fn streamed_previews_come_before_the_image_and_cancel_keeps_nothing() {
    // 3 s of generator latency, spread over the events: time to see and to cancel.
    let relay = Relay::start(&dist_dir(), &["--latency-ms", "3000"]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.fill("#prompt", "a paper lantern festival").await;
    browser.select("#model", "gpt-image-2").await;
    browser.select("#previews", "2").await;
    browser.click("#generate").await;
    browser
        .wait_until_js(
            "(() => { const p = document.querySelector('article.job[data-state=running] img.preview'); \
             return !!p && p.complete && p.naturalWidth > 0; })()",
            GENERATION,
        )
        .await;
    assert_eq!(
        browser.count("article.job img.result").await,
        0,
        "the preview came first"
    );
    browser.screenshot("streamed-preview").await;
    browser
        .wait_until_js(
            "document.querySelectorAll('article.job[data-state=done] img.result').length === 1",
            GENERATION,
        )
        .await;
    assert_eq!(
        browser.count("img.preview").await,
        0,
        "the final image replaced it"
    );

    // Again, cancelled while previews arrive: no image, nothing stored.
    browser.click("#generate").await;
    browser
        .wait_for("article.job[data-state=running] img.preview", GENERATION)
        .await;
    browser
        .click("article.job[data-state=running] .cancel")
        .await;
    browser
        .wait_for("article.job[data-state=cancelled]", WAIT)
        .await;
    browser.click("#nav-gallery").await;
    browser
        .wait_for_text("#shown-count", "1 image", GENERATION)
        .await;
    browser.close().await;
}

/// A second visit revalidates the cached page (a 304): the app must start again.
#[tokio::test]
async fn a_revisit_from_the_browser_cache_starts_the_app() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    for visit in 1..=2 {
        browser.goto(&relay.at("/")).await;
        browser.wait_visible("#prompt", WAIT).await;
        let errors = browser.console_errors().await;
        assert!(errors.is_empty(), "visit {visit}: {errors:?}");
    }
    browser.close().await;
}

#[tokio::test]
async fn cancel_stops_a_running_generation() {
    const LATENCY: Duration = Duration::from_secs(5);
    let relay = Relay::start(&dist_dir(), &["--latency-ms", "5000"]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;

    browser.fill("#prompt", "a slow sunrise").await;
    browser.click("#generate").await;
    let submitted = Instant::now();
    browser
        .click("article.job[data-state=running] button.cancel")
        .await;
    let cancelled = "article.job[data-state=cancelled]";
    browser.wait_for(cancelled, WAIT).await;

    // Outlast the relay's latency: a cancel that only hid the job would now show results.
    let rest = (LATENCY + Duration::from_millis(1500)).saturating_sub(submitted.elapsed());
    tokio::time::sleep(rest).await;
    assert_eq!(browser.count(cancelled).await, 1, "the job stays cancelled");
    assert_eq!(
        browser.count("article.job img.result").await,
        0,
        "a cancelled generation shows no images"
    );

    browser
        .screenshot("cancel_stops_a_running_generation")
        .await;
    browser.close().await;
}

/// Decodes a downloaded image as `format` and returns its dimensions.
fn decode(path: &Path, format: image::ImageFormat) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    let guessed = image::guess_format(&bytes).expect("a known image format");
    assert_eq!(guessed, format, "{} has the wrong format", path.display());
    let image = image::load_from_memory_with_format(&bytes, format)
        .unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()));
    (image.width(), image.height())
}

/// A throwaway dist dir with a page exercising what the journeys rely on.
fn harness_site() -> tempfile::TempDir {
    let site = tempfile::tempdir().expect("temp dist");
    std::fs::write(site.path().join("index.html"), HARNESS_PAGE).unwrap();
    std::fs::write(site.path().join("harness.js"), HARNESS_SCRIPT).unwrap();
    site
}

const HARNESS_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>harness</title></head>
<body>
<textarea id="prompt"></textarea>
<p id="status">idle</p>
<a id="download" download="harness-check.png">download</a>
<script src="/harness.js"></script>
</body></html>
"#;

const HARNESS_SCRIPT: &str = r#"
const prompt = document.getElementById('prompt');
prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && e.ctrlKey) {
    e.preventDefault();
    document.getElementById('status').textContent = 'submitted: ' + prompt.value;
  }
});
const canvas = document.createElement('canvas');
canvas.width = 8;
canvas.height = 4;
const g = canvas.getContext('2d');
g.fillStyle = '#c33';
g.fillRect(0, 0, 8, 4);
canvas.toBlob((blob) => {
  const link = document.getElementById('download');
  link.href = URL.createObjectURL(blob);
  link.dataset.ready = '1';
}, 'image/png');
console.error('harness console check');
"#;
