//! Nothing lost under faults: each case first makes two images and records the SHA-256 of
//! their stored bytes (IndexedDB), then meets one fault mid-generation — a reload, a closed
//! tab, a killed relay, an upstream 500 or timeout, the origin's storage quota exceeded, an
//! answer that is malformed, truncated, huge or not an image — and ends with every finished
//! image still stored with the same bytes (also after a reload), a clear message on the failed
//! job, and no panic on the page. A tampered share link is `sharing.rs`'s
//! `a_tampered_recipe_link_says_what_is_wrong`.
//!
//! The fault phase runs on a relay restarted on the same address (so the same origin and
//! gallery) with the fault's flags.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};

const ANSWER: Duration = Duration::from_secs(30);
/// Long enough to reload, close or kill while the request is open.
const HELD: &str = "8000";

/// SHA-256 (hex) of every image Blob in the gallery's IndexedDB, computed in the page.
/// Only called once the app has opened (created) the database.
async fn stored_hashes(browser: &Browser) -> BTreeSet<String> {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const hex = async blob => {
            const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
            return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
        };
        const open = indexedDB.open('easel-gallery');
        open.onerror = () => done('error: ' + open.error);
        open.onsuccess = () => {
            const db = open.result;
            const all = db.transaction('images').objectStore('images').getAll();
            all.onerror = () => done('error: ' + all.error);
            all.onsuccess = () => Promise.all(all.result.map(hex))
                .then(h => { db.close(); done(h); }, e => done('error: ' + e));
        };
    "#;
    let value = browser
        .client()
        .execute_async(script, vec![])
        .await
        .expect("hash script");
    value
        .as_array()
        .unwrap_or_else(|| panic!("stored hashes: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Opens the studio and makes two images successfully; their stored hashes.
async fn two_finished_images(relay: &Relay, browser: &Browser) -> BTreeSet<String> {
    browser.goto(&relay.at("/")).await;
    browser.fill("#prompt", "a lighthouse at dawn").await;
    browser.select("#count", "2").await;
    browser.generate_now(ANSWER).await;
    let shown: BTreeSet<String> = browser
        .image_hashes("article.job[data-state=done] img.result")
        .await
        .into_iter()
        .collect();
    assert_eq!(shown.len(), 2, "two different images");
    let stored = stored_hashes(browser).await;
    assert_eq!(stored, shown, "what shows is what is stored");
    stored
}

/// Sends one more generation (one image) from the studio.
async fn send_one(browser: &Browser, prompt: &str) {
    browser.fill("#prompt", prompt).await;
    browser.select("#count", "1").await;
    browser.click("#generate").await;
}

/// Waits until the gallery database records a job as sent and unfinished, so a reload or a
/// closed tab can find it.
async fn wait_for_pending(browser: &Browser) {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const open = indexedDB.open('easel-gallery');
        open.onerror = () => done(-1);
        open.onsuccess = () => {
            const db = open.result;
            const count = db.transaction('pending').objectStore('pending').count();
            count.onsuccess = () => { db.close(); done(count.result); };
            count.onerror = () => { db.close(); done(-1); };
        };
    "#;
    let started = Instant::now();
    loop {
        let value = browser
            .client()
            .execute_async(script, vec![])
            .await
            .expect("pending script");
        if value.as_i64().unwrap_or(0) > 0 {
            return;
        }
        assert!(
            started.elapsed() < WAIT,
            "{}",
            browser.diagnose("no pending job was recorded").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Network errors the faults cause on purpose; any other console error fails the case.
fn expected_console_error(line: &str) -> bool {
    line.contains("Failed to load resource") || line.contains("net::ERR_")
}

/// No panic reached the page (the panic hook shows `#crash-notice`) and the console holds
/// only the expected network errors.
async fn assert_no_panic(browser: &Browser) {
    assert_eq!(
        browser.count("#crash-notice").await,
        0,
        "{}",
        browser.diagnose("a panic reached the page").await
    );
    let unexpected: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|line| !expected_console_error(line))
        .collect();
    assert!(unexpected.is_empty(), "console errors: {unexpected:?}");
}

/// Every image in `before` is still stored with the same bytes, now and after a reload
/// (which also shows them in the gallery); no panic either time.
async fn assert_intact(relay: &Relay, browser: &Browser, before: &BTreeSet<String>) {
    assert_no_panic(browser).await;
    let now = stored_hashes(browser).await;
    assert!(now.is_superset(before), "lost: {:?}", before - &now);
    browser.goto(&relay.at("/gallery")).await;
    let at_least = before.len();
    browser
        .wait_until_js(
            &format!(
                "(() => {{ const cells = [...document.querySelectorAll('.grid-cell')]; \
                 return cells.length >= {at_least} && cells.every(c => {{ \
                 const i = c.querySelector('img.thumb'); \
                 return i && i.complete && i.naturalWidth > 0; }}); }})()"
            ),
            ANSWER,
        )
        .await;
    let reloaded = stored_hashes(browser).await;
    assert!(
        reloaded.is_superset(before),
        "lost after a reload: {:?}",
        before - &reloaded
    );
    assert_no_panic(browser).await;
}

/// The failed job's message and explanation; waits for it.
async fn failure_shown(browser: &Browser, explanation: &str, timeout: Duration) -> String {
    let shown = browser
        .wait_for_text(
            "article.job[data-state=failed] .error-explanation",
            explanation,
            timeout,
        )
        .await;
    let message = browser
        .wait_for("article.job[data-state=failed] .error-message", WAIT)
        .await
        .text()
        .await
        .unwrap_or_default();
    format!("{message} / {shown}")
}

#[tokio::test]
async fn a_reload_mid_generation_keeps_the_gallery_and_marks_the_job_interrupted() {
    let mut relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    let before = two_finished_images(&relay, &browser).await;

    relay.restart(&["--latency-ms", HELD]);
    browser.goto(&relay.at("/")).await;
    send_one(&browser, "a ship in a storm").await;
    browser
        .wait_for("article.job[data-state=running]", WAIT)
        .await;
    wait_for_pending(&browser).await;
    browser.goto(&relay.at("/")).await;
    let note = browser
        .wait_for_text(
            "article.job[data-state=interrupted] .interrupted",
            "Interrupted",
            WAIT,
        )
        .await;
    assert!(note.contains("closed or reloaded"), "{note}");
    assert_intact(&relay, &browser, &before).await;
    browser.close().await;
}

#[tokio::test]
async fn a_tab_closed_mid_generation_keeps_the_gallery_and_the_next_visit_says_so() {
    let mut relay = Relay::start(&dist_dir(), &[]);
    let profile = tempfile::tempdir().expect("a profile directory");
    let browser = Browser::start_with_profile(profile.path()).await;
    let before = two_finished_images(&relay, &browser).await;

    relay.restart(&["--latency-ms", HELD]);
    browser.goto(&relay.at("/")).await;
    send_one(&browser, "a ship in a storm").await;
    browser
        .wait_for("article.job[data-state=running]", WAIT)
        .await;
    wait_for_pending(&browser).await;
    assert_no_panic(&browser).await;
    browser.close().await;

    let browser = Browser::start_with_profile(profile.path()).await;
    browser.goto(&relay.at("/")).await;
    browser
        .wait_for_text(
            "article.job[data-state=interrupted] .interrupted",
            "closed or reloaded",
            WAIT,
        )
        .await;
    assert_intact(&relay, &browser, &before).await;
    browser.close().await;
}

#[tokio::test]
async fn a_relay_killed_mid_request_fails_clearly_and_succeeds_once_it_is_back() {
    let mut relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    let before = two_finished_images(&relay, &browser).await;

    relay.restart(&["--latency-ms", HELD]);
    browser.goto(&relay.at("/")).await;
    send_one(&browser, "a ship in a storm").await;
    browser
        .wait_for("article.job[data-state=running]", WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.kill();
    // No answer is not retried by itself: the request may have reached the server and cost
    // money. The person is told and can try again.
    let shown = failure_shown(&browser, "Could not reach the server", ANSWER).await;
    assert!(shown.contains("Failed to fetch"), "{shown}");
    assert_eq!(stored_hashes(&browser).await, before);
    relay.restart(&[]);
    browser.click("article.job[data-state=failed] .retry").await;
    browser
        .wait_for("article.job[data-state=done] img.result", ANSWER)
        .await;
    assert_eq!(
        stored_hashes(&browser).await.len(),
        3,
        "the retry is stored too"
    );
    assert_intact(&relay, &browser, &before).await;
    browser.close().await;
}

#[tokio::test]
async fn an_upstream_500_then_success_is_retried_and_keeps_the_gallery() {
    let mut relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    let before = two_finished_images(&relay, &browser).await;

    relay.restart(&["--test-mode", "--fault", "server-error-once"]);
    browser.goto(&relay.at("/")).await;
    send_one(&browser, "a ship in a storm").await;
    browser
        .wait_for_text(
            "article.job[data-state=retrying]",
            "HTTP 500: retrying in",
            ANSWER,
        )
        .await;
    browser
        .wait_for_text(
            "article.job[data-state=done] .job-retried",
            "Succeeded after 1 automatic retry.",
            ANSWER,
        )
        .await;
    assert_eq!(stored_hashes(&browser).await.len(), 3);
    assert_intact(&relay, &browser, &before).await;
    browser.close().await;
}

#[tokio::test]
async fn an_upstream_timeout_fails_clearly_after_its_retries_and_keeps_the_gallery() {
    let mut relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    let before = two_finished_images(&relay, &browser).await;

    relay.restart(&["--test-mode", "--fault", "timeout", "--timeout-secs", "1"]);
    browser.goto(&relay.at("/")).await;
    send_one(&browser, "a ship in a storm").await;
    // A 504 each time: retried twice by itself (about 1 s, then 2 s later), then explained.
    browser
        .wait_for_text(
            "article.job[data-state=retrying]",
            "HTTP 504: retrying in",
            ANSWER,
        )
        .await;
    let shown = failure_shown(&browser, "took too long to answer", ANSWER).await;
    assert!(shown.contains("did not answer in time"), "{shown}");
    let status = browser
        .wait_for("article.job[data-state=failed] .error-status", WAIT)
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(status.contains("HTTP 504"), "{status}");
    assert_intact(&relay, &browser, &before).await;
    browser.close().await;
}

/// A 200 that is no usable answer: the job fails at once with `message` (not retried), and
/// the gallery is untouched.
async fn a_bad_answer_fails_clearly(fault: &str, message: &str) {
    let mut relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    let before = two_finished_images(&relay, &browser).await;

    relay.restart(&["--test-mode", "--fault", fault]);
    browser.goto(&relay.at("/")).await;
    send_one(&browser, "a ship in a storm").await;
    let shown = failure_shown(&browser, "not with images this page can read", ANSWER).await;
    assert!(shown.contains(message), "{fault}: {shown}");
    assert_eq!(stored_hashes(&browser).await, before, "{fault}");
    assert_intact(&relay, &browser, &before).await;
    browser.close().await;
}

#[tokio::test]
async fn a_malformed_answer_fails_clearly_and_keeps_the_gallery() {
    a_bad_answer_fails_clearly("malformed", "invalid JSON").await;
}

#[tokio::test]
async fn an_answer_that_is_not_an_image_fails_clearly_and_keeps_the_gallery() {
    a_bad_answer_fails_clearly("not-an-image", "is not a PNG, JPEG, WebP or GIF").await;
}

#[tokio::test]
async fn a_huge_answer_is_refused_at_the_limit_and_keeps_the_gallery() {
    a_bad_answer_fails_clearly("huge", "too large for the images asked for").await;
}

#[tokio::test]
async fn a_truncated_answer_fails_clearly_and_keeps_the_gallery() {
    let mut relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    let before = two_finished_images(&relay, &browser).await;

    relay.restart(&["--test-mode", "--fault", "truncated"]);
    browser.goto(&relay.at("/")).await;
    send_one(&browser, "a ship in a storm").await;
    let shown = failure_shown(&browser, "", ANSWER).await;
    assert!(shown.contains("broke off"), "{shown}");
    assert_eq!(stored_hashes(&browser).await, before);
    assert_intact(&relay, &browser, &before).await;
    browser.close().await;
}

/// The answer limit leaves genuine answers alone: ten images in one answer are stored.
#[tokio::test]
async fn ten_images_in_one_answer_are_within_the_limit() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.fill("#prompt", "ten pebbles").await;
    browser.select("#count", "10").await;
    browser.generate_now(Duration::from_secs(60)).await;
    assert_eq!(stored_hashes(&browser).await.len(), 10);
    assert_no_panic(&browser).await;
    browser.close().await;
}

/// The origin's storage usage in bytes, as the browser counts it against the quota.
fn storage_usage(browser: &Browser, origin: &str) -> u64 {
    let answer = browser
        .cdp(
            "Storage.getUsageAndQuota",
            serde_json::json!({ "origin": origin }),
        )
        .expect("usage and quota");
    answer["usage"]
        .as_u64()
        .unwrap_or_else(|| panic!("storage usage: {answer}"))
}

#[tokio::test]
async fn a_full_disk_keeps_the_new_image_on_the_page_and_saves_it_once_there_is_room() {
    let relay = Relay::start(&dist_dir(), &["--latency-ms", "0"]);
    let profile = tempfile::tempdir().expect("a profile directory");
    let browser = Browser::start_with_profile(profile.path()).await;
    let before = two_finished_images(&relay, &browser).await;
    browser.close().await;

    // The next visit finds the disk full: the quota the browser enforces for this origin is
    // what is stored plus room for the job's small records, not for one more image. Set before
    // the page opens its storage, since Chromium keeps the room it found when it opened it.
    // (Pages cannot see this quota: Chromium tells them a made-up one, so that a private
    // window cannot be told apart.)
    let browser = Browser::start_with_profile(profile.path()).await;
    let origin = relay.url().trim_end_matches('/').to_owned();
    let room = storage_usage(&browser, &origin) + 2048;
    browser
        .cdp(
            "Storage.overrideQuotaForOrigin",
            serde_json::json!({ "origin": origin, "quotaSize": room }),
        )
        .expect("quota override");
    browser.goto(&relay.at("/")).await;
    send_one(&browser, "a ship in a storm").await;
    let note = browser
        .wait_for_text(
            "article.job[data-state=done] .unsaved",
            "storage for this site is full",
            ANSWER,
        )
        .await;
    // The new image stays on the page, whole, and can be downloaded.
    let unsaved_job = "article.job[data-state=done]:has(.unsaved)";
    browser
        .wait_until_js(
            &format!(
                "(() => {{ const i = document.querySelector('{unsaved_job} img.result'); \
                 return !!i && i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:'); }})()"
            ),
            WAIT,
        )
        .await;
    assert_eq!(
        browser.count(&format!("{unsaved_job} a.download")).await,
        1,
        "the unsaved image can still be downloaded: {note}"
    );
    let unsaved = browser
        .image_hashes(&format!("{unsaved_job} img.result"))
        .await;
    assert_eq!(unsaved.len(), 1);
    assert_eq!(
        stored_hashes(&browser).await,
        before,
        "nothing half-written"
    );
    assert_no_panic(&browser).await;

    // Room again (the override lifted): the same image is saved from the page.
    browser
        .cdp(
            "Storage.overrideQuotaForOrigin",
            serde_json::json!({ "origin": origin }),
        )
        .expect("quota reset");
    browser.click(".save-again").await;
    browser
        .wait_until_js("document.querySelector('.unsaved') === null", WAIT)
        .await;
    let mut expected = before.clone();
    expected.insert(unsaved[0].clone());
    assert_eq!(
        stored_hashes(&browser).await,
        expected,
        "saved once, as shown"
    );
    assert_intact(&relay, &browser, &expected).await;
    browser.close().await;
}
