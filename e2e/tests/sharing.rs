//! Sharing as people do it: three generated images shared as a recipe link open in another
//! browser (a fresh profile, nothing stored) with their prompts and previews, and "make one
//! like this" fills the studio. Hosted shares go through the relay's `/v1/shares`.

use std::time::Duration;

use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};
use serde_json::Value;

const GENERATION: Duration = Duration::from_secs(30);
const PROMPTS: [&str; 3] = [
    "a lighthouse at dusk",
    "a fox asleep in the snow",
    "a teapot shaped like a whale",
];

/// Generates the three images, selects them in the gallery and opens the share dialog.
async fn share_three(browser: &Browser, relay: &Relay) {
    browser.goto(&relay.at("/")).await;
    for prompt in PROMPTS {
        browser.fill("#prompt", prompt).await;
        browser.generate_now(GENERATION).await;
    }
    browser.goto(&relay.at("/gallery")).await;
    browser
        .wait_until_js(
            "document.querySelectorAll('.grid-cell img.thumb').length === 3",
            GENERATION,
        )
        .await;
    browser.click("#select-all").await;
    browser
        .wait_for_text("#selected-count", "3 selected", WAIT)
        .await;
    browser.click("#bulk-share").await;
    browser.wait_visible(".share-dialog", WAIT).await;
}

#[tokio::test]
async fn a_recipe_link_opens_in_a_fresh_browser_with_prompts_and_previews() {
    let relay = Relay::start(&dist_dir(), &["--latency-ms", "0"]);
    let browser = Browser::start().await;
    share_three(&browser, &relay).await;
    browser.wait_visible("#share-link", WAIT).await;
    let link = browser.value_of("#share-link").await;
    assert!(
        link.starts_with(&relay.at("/shared#r=1")),
        "a recipe link of this app: {link}"
    );
    let length = browser
        .wait_for_text("#share-link-length", "characters", WAIT)
        .await;
    assert!(
        length.starts_with(&link.chars().count().to_string()),
        "{length}"
    );
    browser.screenshot("share-dialog-recipe-1280").await;
    // Without previews the link is much shorter.
    browser.click("#share-previews").await;
    browser
        .wait_until_js(
            &format!(
                "(() => {{ const e = document.querySelector('#share-link'); return !!e && e.value.length < {}; }})()",
                link.len() / 2
            ),
            WAIT,
        )
        .await;
    let short = browser.value_of("#share-link").await;
    browser.click("#share-previews").await;
    browser
        .wait_until_js(
            &format!(
                "(() => {{ const e = document.querySelector('#share-link'); return !!e && e.value.length > {}; }})()",
                short.len()
            ),
            WAIT,
        )
        .await;
    browser
        .client()
        .set_window_size(390, 844)
        .await
        .expect("phone width");
    browser.screenshot("share-dialog-recipe-390").await;
    // The hosted tab names the relay that would keep the images.
    browser.click("#share-kind-hosted").await;
    browser
        .wait_for_text("#hosted-relay", relay.url(), WAIT)
        .await;
    browser.wait_visible("#hosted-upload", WAIT).await;
    browser.screenshot("share-dialog-hosted-390").await;
    browser.close().await;

    // Someone else: a fresh profile with an empty gallery.
    let other = Browser::start().await;
    other.goto(&link).await;
    other
        .wait_until_js(
            "document.querySelectorAll('.shared-prompt').length === 3",
            WAIT,
        )
        .await;
    let text = other.page_text().await;
    for prompt in PROMPTS {
        assert!(text.contains(prompt), "{prompt} in: {text}");
    }
    // Every preview is a real, decoded image.
    other
        .wait_until_js(
            "(() => { const i = [...document.querySelectorAll('img.shared-image')]; \
             return i.length === 3 && i.every(i => i.complete && i.naturalWidth > 0 \
             && i.naturalWidth <= 64 && i.src.startsWith('data:image/')); })()",
            WAIT,
        )
        .await;
    assert!(
        other.console_errors().await.is_empty(),
        "{:?}",
        other.console_errors().await
    );
    other.screenshot("shared-recipe-1280").await;
    other
        .client()
        .set_window_size(390, 844)
        .await
        .expect("phone width");
    other.screenshot("shared-recipe-390").await;

    // "Save to my gallery" keeps the three recipes with their previews.
    other.click("#shared-save").await;
    other
        .wait_for_text("#shared-saved", "Saved 3 images", WAIT)
        .await;

    // "Make one like this" fills the studio's form.
    let first = other
        .wait_for(".shared-card .shared-prompt", WAIT)
        .await
        .text()
        .await
        .unwrap();
    other.click(".shared-card .make-like").await;
    other
        .wait_until_js(
            &format!(
                "(() => {{ const p = document.querySelector('#prompt'); return !!p && p.value === {}; }})()",
                Value::from(first.clone())
            ),
            WAIT,
        )
        .await;
    assert!(
        other.current_url().await.ends_with('/'),
        "{}",
        other.current_url().await
    );
    other.close().await;
}

#[tokio::test]
async fn a_tampered_recipe_link_says_what_is_wrong() {
    let relay = Relay::start(&dist_dir(), &["--latency-ms", "0"]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/shared#r=1AAAA$$$")).await;
    let text = browser
        .wait_for_text("#shared-error", "damaged", WAIT)
        .await;
    assert!(text.contains("share link"), "{text}");
    browser.screenshot("shared-tampered-1280").await;
    browser.close().await;
}

#[tokio::test]
async fn a_hosted_share_shows_identical_images_and_can_be_deleted() {
    let relay = Relay::start(&dist_dir(), &["--latency-ms", "0"]);
    let browser = Browser::start().await;
    share_three(&browser, &relay).await;
    browser.click("#share-kind-hosted").await;
    browser
        .wait_for_text("#hosted-relay", relay.url(), WAIT)
        .await;
    browser.click("#hosted-upload").await;
    browser.wait_visible("#hosted-link", GENERATION).await;
    let link = browser.value_of("#hosted-link").await;
    assert!(link.starts_with(&relay.at("/shared#h=")), "{link}");
    let token = browser
        .wait_for("#hosted-delete-token", WAIT)
        .await
        .text()
        .await
        .unwrap();
    assert!(token.len() >= 22, "a delete token: {token}");
    browser.screenshot("share-dialog-hosted-1280").await;
    // The full images, byte for byte, in a fresh profile.
    let originals = full_image_hashes(&browser, &relay).await;
    let other = Browser::start().await;
    other.goto(&link).await;
    other
        .wait_until_js(
            "(() => { const i = [...document.querySelectorAll('img.shared-image')]; \
             return i.length === 3 && i.every(i => i.complete && i.naturalWidth > 64 && i.src.startsWith('blob:')); })()",
            GENERATION,
        )
        .await;
    assert_eq!(other.image_hashes("img.shared-image").await, originals);
    other.screenshot("shared-hosted-1280").await;
    // Deleted with the token: the link says so.
    browser.click("#hosted-delete").await;
    browser
        .wait_for_text("#hosted-delete", "Deleted", WAIT)
        .await;
    other.goto(&relay.at("/")).await;
    other.goto(&link).await;
    other
        .wait_for_text("#shared-error", "This share was deleted", WAIT)
        .await;
    other.close().await;
    browser.close().await;
}

/// The SHA-256 of every stored image of the gallery (the item records name them).
async fn full_image_hashes(browser: &Browser, _relay: &Relay) -> Vec<String> {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const open = indexedDB.open("easel-gallery");
        open.onsuccess = () => {
            const all = open.result.transaction("items").objectStore("items").getAll();
            all.onsuccess = () => done(all.result.map(r => r.hash));
        };
    "#;
    let value = browser
        .client()
        .execute_async(script, vec![])
        .await
        .expect("stored hashes");
    let mut hashes: Vec<String> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    hashes.sort();
    hashes
}
