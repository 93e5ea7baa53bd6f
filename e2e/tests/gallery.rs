//! The gallery as a user relies on it: images survive a reload byte for byte, search narrows
//! the grid, the lightbox follows the keys, and an export can be imported back after deleting
//! everything.

use std::collections::BTreeSet;
use std::time::Duration;

use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};
use fantoccini::Locator;
use serde_json::Value;

const GENERATION: Duration = Duration::from_secs(30);
/// The gallery deletes for good after its undo window (6 s).
const UNDO_WINDOW: Duration = Duration::from_secs(8);

/// Generates `count` images for `prompt` and waits until they show as done (stored).
async fn generate(browser: &Browser, prompt: &str, count: &str) {
    browser.fill("#prompt", prompt).await;
    browser.select("#count", count).await;
    browser.generate_now(GENERATION).await;
}

/// Waits until the gallery shows exactly `n` cells with loaded thumbnails.
async fn wait_for_cells(browser: &Browser, n: usize) {
    let expression = format!(
        "(() => {{ const cells = [...document.querySelectorAll('.grid-cell')]; \
         return cells.length === {n} && cells.every(c => {{ const i = c.querySelector('img.thumb'); \
         return i && i.complete && i.naturalWidth > 0; }}); }})()"
    );
    browser.wait_until_js(&expression, GENERATION).await;
}

const LOADED: &str = "(() => { const i = document.querySelector('.lightbox-image'); \
                      return !!i && i.complete && i.naturalWidth > 0; })()";

/// Opens the first cell and steps through `n` images with the arrow key: the SHA-256 of each
/// full image, and the prompt of the first. Closes the lightbox with Escape.
async fn lightbox_hashes(browser: &Browser, n: usize) -> (BTreeSet<String>, String) {
    browser.click(".grid-cell .cell-open").await;
    let mut hashes = BTreeSet::new();
    let mut first_prompt = String::new();
    for step in 0..n {
        browser.wait_until_js(LOADED, WAIT).await;
        if step == 0 {
            first_prompt = browser
                .wait_for(".detail-prompt", WAIT)
                .await
                .text()
                .await
                .unwrap();
            browser.screenshot("gallery-lightbox").await;
        }
        hashes.extend(browser.image_hashes(".lightbox-image").await);
        if step + 1 < n {
            let src = browser
                .execute(
                    "return document.querySelector('.lightbox-image').src",
                    vec![],
                )
                .await;
            press(browser, "\u{E014}").await; // ArrowRight
            let changed = format!(
                "(() => {{ const i = document.querySelector('.lightbox-image'); return !!i && i.src !== {src}; }})()"
            );
            browser.wait_until_js(&changed, WAIT).await;
        }
    }
    press(browser, "\u{E00C}").await; // Escape
    browser
        .wait_until_js("document.querySelector('.lightbox') === null", WAIT)
        .await;
    (hashes, first_prompt)
}

async fn press(browser: &Browser, key: &str) {
    let active = browser
        .client()
        .active_element()
        .await
        .expect("an active element");
    active.send_keys(key).await.expect("keys");
}

#[tokio::test]
async fn the_gallery_keeps_images_across_a_reload_and_finds_them() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    generate(&browser, "a red lantern in the rain", "2").await;
    generate(&browser, "a blue whale at night", "1").await;
    let made: BTreeSet<String> = browser
        .image_hashes("article.job[data-state=done] img.result")
        .await
        .into_iter()
        .collect();
    assert_eq!(made.len(), 3, "three different images");

    // A reload drops everything in memory: what shows now comes from IndexedDB.
    browser.goto(&relay.at("/gallery")).await;
    wait_for_cells(&browser, 3).await;
    assert_eq!(
        browser.count(".grid-heading").await,
        2,
        "one heading per generation"
    );
    browser.screenshot("gallery-three-images").await;

    // The lightbox shows each stored image at full size: the same bytes as generated.
    let (stored, first_prompt) = lightbox_hashes(&browser, 3).await;
    assert_eq!(first_prompt, "a blue whale at night", "newest first");
    assert_eq!(stored, made, "identical bytes after the reload");

    // Search narrows the grid to the matching generation.
    browser.fill("#gallery-search", "whale").await;
    wait_for_cells(&browser, 1).await;
    browser.fill("#gallery-search", "LANTERN rain").await;
    wait_for_cells(&browser, 2).await;
    browser.fill("#gallery-search", "nothing like this").await;
    browser
        .wait_for_text(".gallery-page .empty", "Nothing matches", WAIT)
        .await;

    // A favorite, then the favorites filter and the model filter narrow the grid.
    // Erased as a person does (WebDriver's clear() fires no input event).
    let search = browser.wait_for("#gallery-search", WAIT).await;
    search
        .send_keys("\u{E009}a\u{E000}\u{E003}")
        .await
        .expect("erase the search");
    wait_for_cells(&browser, 3).await;
    browser.click(".grid-cell .cell-open").await;
    browser.click("#lightbox-favorite").await;
    browser.wait_for_text("#lightbox-favorite", "★", WAIT).await;
    press(&browser, "\u{E00C}").await; // Escape
    browser.click("#filter-favorites").await;
    wait_for_cells(&browser, 1).await;
    browser.click("#filter-favorites").await;
    browser.select("#filter-model", "gpt-image-2").await;
    wait_for_cells(&browser, 3).await;
    browser.close().await;
}

#[tokio::test]
async fn an_export_comes_back_after_deleting_everything() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    generate(&browser, "a paper crane on a desk", "3").await;
    browser.click("#nav-gallery").await;
    wait_for_cells(&browser, 3).await;
    let (before, _) = lightbox_hashes(&browser, 3).await;

    browser.click("#export-all").await;
    let zip = browser.wait_for_download(GENERATION).await;
    assert!(zip.to_string_lossy().ends_with(".zip"), "{zip:?}");

    browser.click("#select-all").await;
    browser
        .wait_for_text("#selected-count", "3 selected", WAIT)
        .await;
    browser.click("#bulk-delete").await;
    browser
        .wait_for_text(".gallery-page .empty", "No images yet", WAIT)
        .await;
    browser.wait_for("#undo-delete", WAIT).await;
    // Let the undo window pass so the deletion is final, then reload to be sure.
    tokio::time::sleep(UNDO_WINDOW).await;
    browser.goto(&relay.at("/gallery")).await;
    browser
        .wait_for_text(".gallery-page .empty", "No images yet", WAIT)
        .await;

    let input = browser
        .client()
        .find(Locator::Css("#import-zip"))
        .await
        .expect("import input");
    input
        .send_keys(&zip.to_string_lossy())
        .await
        .expect("choose the ZIP");
    browser
        .wait_for_text(".toast", "Imported 3 images", GENERATION)
        .await;
    wait_for_cells(&browser, 3).await;
    let prompts = browser
        .execute(
            "return [...document.querySelectorAll('.group-prompt')].map(p => p.textContent)",
            vec![],
        )
        .await;
    assert_eq!(prompts, serde_json::json!(["a paper crane on a desk"]));
    let (after, _) = lightbox_hashes(&browser, 3).await;
    assert_eq!(after, before, "the same images, byte for byte");
    browser.close().await;
}

/// In the release build, reading a PNG's settings is a chunk of its own (fetched on the first
/// drop): a downloaded PNG dropped on the studio still puts its prompt and model back.
#[tokio::test]
async fn a_downloaded_png_dropped_on_the_studio_restores_its_settings() {
    use base64::Engine as _;

    let relay = Relay::start(&dist_dir(), &["--latency-ms", "0"]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.select("#model", "dall-e-3").await;
    generate(&browser, "a brass telescope on a balcony", "1").await;
    browser.click("#nav-gallery").await;
    wait_for_cells(&browser, 1).await;
    browser.click(".grid-cell .cell-open").await;
    browser.wait_until_js(LOADED, WAIT).await;
    browser.click("#lightbox-download").await;
    let png = browser.wait_for_download(GENERATION).await;
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(&png).expect("read the downloaded PNG"));

    browser.goto(&relay.at("/")).await;
    browser.select("#model", "gpt-image-1").await;
    browser.fill("#prompt", "something else").await;
    browser
        .execute(
            "const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0)); \
             const data = new DataTransfer(); \
             data.items.add(new File([bytes], 'telescope.png', { type: 'image/png' })); \
             document.querySelector('.settings-drop').dispatchEvent( \
               new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));",
            vec![Value::from(encoded)],
        )
        .await;
    browser
        .wait_for_text(
            "#settings-note",
            "Settings restored from telescope.png",
            WAIT,
        )
        .await;
    let form = browser
        .execute(
            "return [document.querySelector('#prompt').value, document.querySelector('#model').value]",
            vec![],
        )
        .await;
    assert_eq!(
        form,
        serde_json::json!(["a brass telescope on a balcony", "dall-e-3"])
    );
}
