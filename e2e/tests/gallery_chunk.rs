//! The gallery's and the settings' code, and the code that runs a job, are separate wasm
//! chunks (see DESIGN.md, "Release bundle"): the studio starts without them, a page fetches its
//! chunk on first visit, and a chunk that cannot be fetched leaves a message and a working
//! studio, not a crashed page.

use std::time::Duration;

use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};

const GENERATION: Duration = Duration::from_secs(30);

/// Names of the wasm files the page has fetched so far.
async fn fetched_wasm(browser: &Browser) -> Vec<String> {
    let value = browser
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)\
             .filter(n => n.endsWith('.wasm')).map(n => n.split('/').pop());",
            vec![],
        )
        .await;
    value
        .as_array()
        .unwrap_or_else(|| panic!("resource names: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

fn is_chunk(name: &str) -> bool {
    name.starts_with("split_")
}

fn is_gallery_chunk(name: &str) -> bool {
    name.starts_with("split_easel_gallery")
}

#[tokio::test]
async fn the_gallery_code_arrives_only_when_the_gallery_opens() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.wait_visible("#prompt", WAIT).await;
    let at_start = fetched_wasm(&browser).await;
    assert_eq!(
        at_start.len(),
        1,
        "only the main module at start: {at_start:?}"
    );
    assert!(!is_chunk(&at_start[0]), "{at_start:?}");

    browser.click("#nav-gallery").await;
    browser.wait_for(".gallery-page", WAIT).await;
    let after = fetched_wasm(&browser).await;
    assert!(
        after.iter().any(|n| is_gallery_chunk(n)),
        "opening the gallery fetched its chunk: {after:?}"
    );
    browser
        .wait_for_text(".gallery-page", "No images yet", WAIT)
        .await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
}

#[tokio::test]
async fn a_gallery_chunk_that_cannot_be_fetched_leaves_a_message_and_a_working_studio() {
    // A copy of the release build without its gallery chunk: what a visitor meets when the
    // connection drops as they open the gallery.
    let dist = tempfile::tempdir().expect("temp dir");
    let mut removed = 0;
    for entry in std::fs::read_dir(dist_dir()).expect("dist") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if is_gallery_chunk(&name) && name.ends_with(".wasm") {
            removed += 1;
        } else if path.is_file() {
            std::fs::copy(&path, dist.path().join(&name)).expect("copy");
        }
    }
    assert_eq!(removed, 1, "the release build has one gallery chunk");

    let relay = Relay::start(dist.path(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.wait_visible("#prompt", WAIT).await;
    browser.click("#nav-gallery").await;
    browser
        .wait_for_text("#chunk-failed", "could not be loaded", WAIT)
        .await;
    assert_eq!(browser.count("#crash-notice").await, 0, "no crash");
    browser.screenshot("gallery-chunk-missing").await;

    // The app still runs: the studio generates and shows images.
    browser.click("#nav-studio").await;
    browser.fill("#prompt", "a lighthouse in fog").await;
    browser.press_ctrl_enter("#prompt").await;
    browser.wait_for_a_done_image(GENERATION).await;
    browser.close().await;
}

#[tokio::test]
async fn a_job_runner_that_cannot_be_fetched_fails_the_job_with_a_message() {
    // Running a job is a chunk of its own (`easel_jobs`): without it the studio still opens,
    // and a generation says what went wrong instead of hanging.
    let dist = tempfile::tempdir().expect("temp dir");
    let mut removed = 0;
    for entry in std::fs::read_dir(dist_dir()).expect("dist") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("split_easel_jobs") && name.ends_with(".wasm") {
            removed += 1;
        } else if path.is_file() {
            std::fs::copy(&path, dist.path().join(&name)).expect("copy");
        }
    }
    assert_eq!(removed, 1, "the release build has one job runner chunk");

    let relay = Relay::start(dist.path(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.wait_visible("#prompt", WAIT).await;
    browser.fill("#prompt", "a lighthouse in fog").await;
    browser.press_ctrl_enter("#prompt").await;
    browser
        .wait_for_text(
            "article.job[data-state=failed] .error-message",
            "could not download the code that sends requests",
            WAIT,
        )
        .await;
    assert_eq!(browser.count("#crash-notice").await, 0, "no crash");
    browser.close().await;
}
