//! The release build with a large gallery: it opens through index.html's prelude, shows the
//! newest images first and then counts them all, and scrolling to the end keeps the page alive.
//! (A heap-corruption abort was once seen only in the release build with the 1,000-image
//! benchmark gallery; this synthetic gallery did not reproduce it, see the session note.)

use std::time::Duration;

use easel_core::GenerationRequest;
use easel_core::gallery::{GalleryItem, ITEM_SCHEMA, MadeBy, Timing};
use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};
use serde_json::{Value, json};

const ITEMS: usize = 1000;

/// A 2x2 PNG shared by every item (stored once under its hash, like identical images).
const TINY_PNG: [u8; 74] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06, 0x00, 0x00, 0x00, 0x72, 0xb6, 0x0d,
    0x24, 0x00, 0x00, 0x00, 0x11, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x38, 0x11, 0xa0, 0xf1,
    0x1f, 0x84, 0x19, 0x60, 0x0c, 0x00, 0x4f, 0xf4, 0x08, 0xfd, 0x09, 0x12, 0x7c, 0x07, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Item records as the gallery stores them (`{id, job, created, hash, meta}`).
fn records(hash: &str) -> Vec<Value> {
    (0..ITEMS)
        .map(|i| {
            let job = format!("job-{:04}", i / 4);
            let created_ms = 1_800_000_000_000 - (i as u64 / 4) * 1000;
            let item = GalleryItem {
                schema: ITEM_SCHEMA,
                id: format!("{job}-{}", i % 4),
                sha256: hash.to_owned(),
                mime: "image/png".into(),
                bytes: TINY_PNG.len() as u64,
                crc32: None,
                width: 2,
                height: 2,
                prompt: format!("stored picture number {i}"),
                revised_prompt: None,
                model: "gpt-image-2".into(),
                request: GenerationRequest::for_model("gpt-image-2", "stored"),
                usage: None,
                cost: None,
                timing: Timing::default(),
                created_ms,
                parents: Vec::new(),
                made_by: MadeBy::Generation,
                favorite: false,
                collections: Vec::new(),
                job_id: job.clone(),
                index: (i % 4) as u32,
            };
            json!({
                "id": item.id,
                "job": job,
                "created": created_ms as f64,
                "hash": hash,
                "meta": item.to_json(),
            })
        })
        .collect()
}

/// Writes the records, the image and its thumbnail into the page's gallery database (which
/// the app has created).
const STORE: &str = r#"
const [records, bytes, hash, done] = arguments;
const open = indexedDB.open("easel-gallery");
open.onerror = () => done("open failed: " + open.error);
open.onsuccess = () => {
  const db = open.result;
  const tx = db.transaction(["items", "images", "thumbs"], "readwrite");
  // Padded past its end to a real thumbnail's size (~12 KB): decoders stop at IEND.
  const png = new Uint8Array(12000);
  png.set(bytes);
  tx.objectStore("images").put(new Blob([png], { type: "image/png" }), hash);
  tx.objectStore("thumbs").put({ type: "image/png", bytes: png }, hash);
  for (const record of records) tx.objectStore("items").put(record);
  tx.oncomplete = () => { db.close(); done("stored"); };
  tx.onerror = () => done("write failed: " + tx.error);
};
"#;

/// Rendered rows (headings and rows of cells) that overlap the next one, and cells that stick
/// out of their row, as readable strings.
const ROW_OVERLAPS: &str = r#"
const rows = [...document.querySelectorAll('.grid-heading, .grid-row')]
  .map(e => ({ e, r: e.getBoundingClientRect() }))
  .sort((a, b) => a.r.top - b.r.top);
const problems = [];
for (let i = 0; i + 1 < rows.length; i++) {
  if (rows[i].r.bottom > rows[i + 1].r.top + 0.5) {
    problems.push(`${rows[i].e.className} ends at ${rows[i].r.bottom}, next starts at ${rows[i + 1].r.top}`);
  }
}
for (const { e, r } of rows) {
  for (const cell of e.querySelectorAll('.grid-cell')) {
    const c = cell.getBoundingClientRect();
    if (c.bottom > r.bottom + 0.5 || c.right > r.right + 0.5) {
      problems.push(`cell ${c.width}x${c.height} overflows its row ${r.width}x${r.height}`);
    }
  }
}
return problems;
"#;

#[tokio::test]
async fn a_large_gallery_opens_scrolls_to_the_end_and_stays_alive() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    // The app creates the gallery database on its first start.
    browser.goto(&relay.at("/gallery")).await;
    browser
        .wait_for_text(".gallery-page", "No images yet", WAIT)
        .await;
    let hash = "ab".repeat(32);
    let stored = browser
        .client()
        .execute_async(
            STORE,
            vec![json!(records(&hash)), json!(TINY_PNG.to_vec()), json!(hash)],
        )
        .await
        .expect("the store script runs");
    assert_eq!(stored, json!("stored"));

    // A new visit: index.html's prelude opens the gallery, the app adopts it.
    browser.goto(&relay.at("/gallery")).await;
    browser
        .wait_for_text("#shown-count", &format!("{ITEMS} images"), WAIT)
        .await;
    browser
        .wait_until_js(
            "document.querySelectorAll('.grid-cell img.thumb[src^=\"data:image/png\"]').length > 0",
            WAIT,
        )
        .await;
    let first = browser
        .execute(
            "return document.querySelector('.group-prompt').textContent;",
            vec![],
        )
        .await;
    // The newest generation holds pictures 0 to 3.
    let first = first.as_str().unwrap_or_default().to_owned();
    assert!(
        (0..4).any(|i| first == format!("stored picture number {i}")),
        "newest first: {first}"
    );

    // The window narrowed (a resized window, a rotated tablet, a phone): the rows on screen
    // are laid out again, and none overlaps another or is overflowed by its cells. At 800 px a
    // generation still fits one row, so the rows keep their places in the list and only
    // their sizes change; at 390 px each takes two rows.
    for (width, height) in [(800, 900), (390, 844)] {
        browser
            .client()
            .set_window_size(width, height)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let overlaps = browser.execute(ROW_OVERLAPS, vec![]).await;
        assert_eq!(overlaps, json!([]), "rows overlap at {width} px wide");
        assert!(
            browser.count(".grid-cell").await > 0,
            "{}",
            browser.page_text().await
        );
    }
    assert_eq!(browser.count("#crash-notice").await, 0);

    // To the end, a screen at a time.
    let reached = browser
        .client()
        .execute_async(
            r#"
            const done = arguments[arguments.length - 1];
            const scroller = document.querySelector('.gallery-scroll');
            const step = () => {
              const end = scroller.scrollHeight - scroller.clientHeight;
              if (scroller.scrollTop >= end - 1) { setTimeout(() => done(true), 300); return; }
              scroller.scrollTop = Math.min(end, scroller.scrollTop + scroller.clientHeight);
              setTimeout(step, 30);
            };
            step();
            "#,
            vec![],
        )
        .await
        .expect("scrolling runs");
    assert_eq!(reached, json!(true));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        browser.count("#crash-notice").await,
        0,
        "{}",
        browser.page_text().await
    );
    // The oldest generation's cells are on screen (its heading may be above, when a narrow
    // window gives each image a row of its own).
    let shown = browser
        .execute(
            "return [...document.querySelectorAll('.cell-open')].map(b => b.getAttribute('aria-label'));",
            vec![],
        )
        .await;
    let shown: Vec<String> = serde_json::from_value(shown).unwrap_or_default();
    assert!(
        (ITEMS - 4..ITEMS).any(|i| shown.contains(&format!("Open: stored picture number {i}"))),
        "the oldest generation is reached: {shown:?}"
    );

    assert!(
        browser.console_errors().await.is_empty(),
        "{:?}",
        browser.console_errors().await
    );
    browser.close().await;
}
