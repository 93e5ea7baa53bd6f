//! What is measured in the page: load milestones (recorded by a script that runs before the
//! app, so times are relative to navigation start), the heap after load, and frame times
//! while scrolling the grid.

use std::path::Path;
use std::time::{Duration, Instant};

use easel_e2e::{Browser, Relay};
use fantoccini::Locator;
use fantoccini::wd::TimeoutConfiguration;
use serde_json::{Value, json};

/// Pixels scrolled per frame: one mouse-wheel notch (100 px in Chromium) every frame, a brisk
/// scroll of 6,000 px/s at 60 Hz.
pub const SCROLL_STEP_PX: f64 = 100.0;
/// A frame longer than this is a visible stutter.
pub const LONG_FRAME_MS: f64 = 50.0;
/// Scripts that wait in the page (loading, scrolling a long grid on a slow machine).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);
/// Time after the first row for the app's follow-up work (storage estimate, persistence
/// request) before the heap is read, so each run reads the same settled state.
const SETTLE: Duration = Duration::from_secs(1);

/// Installed with `Page.addScriptToEvaluateOnNewDocument`: runs in every new document before
/// the app, watching the DOM and every image load (load events do not bubble, so a capturing
/// listener on the document sees them) and noting `performance.now()` at each milestone.
const PROBE: &str = r#"
(() => {
  const b = window.__bench = { started: null, grid: null, firstRow: null, empty: null, wasm: null };
  addEventListener('TrunkApplicationStarted', e => {
    b.started = performance.now();
    b.wasm = e.detail && e.detail.wasm;
  });
  const check = () => {
    if (b.firstRow !== null) return;
    if (b.empty === null) {
      const empty = document.querySelector('.gallery-page .empty');
      if (empty && empty.textContent.includes('No images yet')) b.empty = performance.now();
    }
    const row = document.querySelector('.gallery-scroll .grid-row');
    if (!row) return;
    if (b.grid === null) b.grid = performance.now();
    const cells = row.querySelectorAll('.grid-cell').length;
    const thumbs = [...row.querySelectorAll('img.thumb')];
    if (cells > 0 && thumbs.length === cells && thumbs.every(i => i.complete && i.naturalWidth > 0)) {
      b.firstRow = performance.now();
      observer.disconnect();
      document.removeEventListener('load', check, true);
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true, characterData: true });
  document.addEventListener('load', check, true);
})();
"#;

/// Waits (polling in the page) until the milestone `arguments[0]` is recorded; returns them all.
const WAIT_FOR_MILESTONE: &str = r#"
const [key, done] = [arguments[0], arguments[arguments.length - 1]];
const poll = () => {
  const b = window.__bench;
  if (b && b[key] !== null) {
    // The app's own marks (`easel:*`) and when each script and wasm file had arrived.
    const marks = performance.getEntriesByType('mark')
      .filter(m => m.name.startsWith('easel:'))
      .map(m => [m.name.slice(6), m.startTime]);
    const files = performance.getEntriesByType('resource')
      .filter(r => /\.(js|wasm)$/.test(r.name))
      .map(r => [r.name.split('/').pop(), r.responseEnd]);
    done({ started: b.started, grid: b.grid, firstRow: b.firstRow, empty: b.empty, marks, files });
  } else {
    setTimeout(poll, 5);
  }
};
poll();
"#;

/// Scrolls the grid's scroller from the top to the end by `arguments[0]` px per animation
/// frame and returns the time between consecutive frames.
const SCROLL: &str = r#"
const [step, done] = [arguments[0], arguments[arguments.length - 1]];
const scroller = document.querySelector('.gallery-scroll');
scroller.scrollTop = 0;
const deltas = [];
let last = null;
const frame = t => {
  if (last !== null) deltas.push(t - last);
  last = t;
  const end = scroller.scrollHeight - scroller.clientHeight;
  if (scroller.scrollTop >= end - 1) {
    done({ deltas, height: scroller.scrollHeight, cells: document.querySelectorAll('.grid-cell').length });
    return;
  }
  scroller.scrollTop = Math.min(end, scroller.scrollTop + step);
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);
"#;

/// One measured page load.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// Navigation start → the app's wasm started (Trunk's `TrunkApplicationStarted`).
    pub started_ms: f64,
    /// Navigation start → the first grid row in the page (items listed, before thumbnails);
    /// NaN for an empty gallery.
    pub grid_ms: f64,
    /// Navigation start → the gallery loaded: every thumbnail of the first grid row loaded,
    /// or for an empty gallery its "No images yet" message.
    pub loaded_ms: f64,
    /// V8's used JS heap after a forced garbage collection (`Performance.getMetrics`).
    pub js_heap_bytes: f64,
    /// The wasm module's linear memory (it grows, never shrinks: the peak so far).
    pub wasm_bytes: f64,
    /// DOM nodes (shows the virtualization: not 1,000 cells).
    pub dom_nodes: f64,
    /// Where the load time went: the app's start-up marks (`easel:<name>`, see
    /// `storage::browser::mark`) and the arrival of each script and wasm file, in ms since
    /// navigation start.
    pub phases: Vec<(String, f64)>,
    pub scroll: Option<Scroll>,
}

impl Run {
    /// What the page holds for the app: JS heap plus wasm memory.
    pub fn heap_bytes(&self) -> f64 {
        self.js_heap_bytes + self.wasm_bytes
    }
}

/// Frame times while scrolling to the end.
#[derive(Clone, Debug, Default)]
pub struct Scroll {
    pub frames: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    pub long_frames: usize,
    pub duration_ms: f64,
    pub height_px: f64,
    /// JS heap + wasm memory once the scroll has settled at the end.
    pub heap_after_bytes: f64,
}

impl Scroll {
    fn from_deltas(deltas: &[f64], height_px: f64) -> Scroll {
        Scroll {
            frames: deltas.len(),
            p50_ms: percentile(deltas, 50.0),
            p95_ms: percentile(deltas, 95.0),
            max_ms: deltas.iter().copied().fold(0.0, f64::max),
            long_frames: deltas.iter().filter(|d| **d > LONG_FRAME_MS).count(),
            duration_ms: deltas.iter().sum(),
            height_px,
            heap_after_bytes: 0.0,
        }
    }
}

/// Nearest-rank percentile (`p` in 0–100) of unsorted values; 0 for none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A new Chromium on `profile` with the probe installed and waits that fit a benchmark.
async fn open(profile: &Path) -> Browser {
    let browser = Browser::start_with_profile(profile).await;
    browser
        .client()
        .update_timeouts(TimeoutConfiguration::new(
            Some(SCRIPT_TIMEOUT),
            Some(Duration::from_secs(60)),
            Some(Duration::ZERO),
        ))
        .await
        .expect("set WebDriver timeouts");
    cdp(&browser, "Performance.enable", json!({}));
    cdp(
        &browser,
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": PROBE }),
    );
    browser
}

fn cdp(browser: &Browser, command: &str, params: Value) -> Value {
    browser
        .cdp(command, params)
        .unwrap_or_else(|| panic!("the DevTools command {command} failed"))
}

/// What the first visit to a profile did.
pub struct Prepared {
    /// Choosing the archive → the import's report, in seconds (0 without an archive).
    pub import_secs: f64,
    /// The browser, e.g. `HeadlessChrome/156.0.8078.108`.
    pub browser: String,
}

/// Visits the gallery once in a new session on `profile` (fills the HTTP cache as a first
/// visit does) and, when `archive` is given, imports it there.
pub async fn prepare(
    relay: &Relay,
    profile: &Path,
    archive: Option<&Path>,
    images: usize,
) -> Prepared {
    let browser = open(profile).await;
    let version = cdp(&browser, "Browser.getVersion", json!({}))["product"]
        .as_str()
        .unwrap_or("unknown")
        .to_owned();
    browser.goto(&relay.at("/gallery")).await;
    // A profile seeded by an earlier run shows its images; a new one, the empty gallery.
    wait(
        &browser,
        if archive.is_none() && images > 0 {
            "firstRow"
        } else {
            "empty"
        },
    )
    .await;
    let Some(archive) = archive else {
        browser.close().await;
        return Prepared {
            import_secs: 0.0,
            browser: version,
        };
    };
    let started = Instant::now();
    browser
        .client()
        .find(Locator::Css("#import-zip"))
        .await
        .expect("the import input")
        .send_keys(&archive.to_string_lossy())
        .await
        .expect("choose the archive");
    let expected = format!("Imported {images} images; 0 already in the gallery.");
    let mut reported = Instant::now();
    loop {
        let state = browser
            .execute(
                "const t = document.querySelector('.toast span'); \
                 const p = document.querySelector('.file-progress'); \
                 return [t ? t.textContent : null, p ? p.textContent : null];",
                vec![],
            )
            .await;
        match state[0].as_str() {
            Some(toast) if toast == expected => break,
            Some(toast) if toast.starts_with("Import") => {
                panic!("the import ended with {toast:?}, expected {expected:?}")
            }
            _ => {}
        }
        if reported.elapsed() > Duration::from_secs(10) {
            println!("  {}", state[1].as_str().unwrap_or("importing…"));
            reported = Instant::now();
        }
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "the import took more than an hour"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let import_secs = started.elapsed().as_secs_f64();
    browser
        .wait_for_text(
            "#shown-count",
            &format!("{images} images"),
            easel_e2e::browser::WAIT,
        )
        .await;
    browser.close().await;
    Prepared {
        import_secs,
        browser: version,
    }
}

/// One measured visit: a new Chromium on `profile`, navigation to `/gallery`, then the load
/// milestones, the heap, and (when the gallery has `images`) frame times while scrolling.
pub async fn measure(relay: &Relay, profile: &Path, images: usize) -> Run {
    let browser = open(profile).await;
    browser.goto(&relay.at("/gallery")).await;
    let milestones = wait(&browser, if images > 0 { "firstRow" } else { "empty" }).await;
    let number = |key: &str| milestones[key].as_f64().unwrap_or(f64::NAN);
    let loaded_ms = number(if images > 0 { "firstRow" } else { "empty" });
    browser
        .wait_for_text(
            "#shown-count",
            &format!("{images} images"),
            easel_e2e::browser::WAIT,
        )
        .await;
    tokio::time::sleep(SETTLE).await;

    let loaded = heap(&browser).await;
    let mut phases: Vec<(String, f64)> = Vec::new();
    for (key, label) in [("marks", ""), ("files", "arrived: ")] {
        for entry in milestones[key].as_array().into_iter().flatten() {
            if let (Some(name), Some(at)) = (entry[0].as_str(), entry[1].as_f64()) {
                let name = if label.is_empty() {
                    name.to_owned()
                } else {
                    phase_name(name)
                };
                phases.push((format!("{label}{name}"), at));
            }
        }
    }
    phases.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut run = Run {
        phases,
        started_ms: number("started"),
        grid_ms: number("grid"),
        loaded_ms,
        js_heap_bytes: loaded.js_bytes,
        wasm_bytes: loaded.wasm_bytes,
        dom_nodes: loaded.dom_nodes,
        scroll: None,
    };
    if images > 0 {
        let scrolled = browser
            .client()
            .execute_async(SCROLL, vec![json!(SCROLL_STEP_PX)])
            .await
            .unwrap_or_else(|e| panic!("scrolling the grid: {e}"));
        let deltas: Vec<f64> = scrolled["deltas"]
            .as_array()
            .expect("frame times")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        assert!(
            scrolled["cells"].as_u64().unwrap_or(0) > 0,
            "no grid cells at the end of the scroll: {scrolled}"
        );
        let mut scroll = Scroll::from_deltas(&deltas, scrolled["height"].as_f64().unwrap_or(0.0));
        // Rows that left the screen must have let go of their object URLs and nodes.
        tokio::time::sleep(SETTLE).await;
        let after = heap(&browser).await;
        scroll.heap_after_bytes = after.js_bytes + after.wasm_bytes;
        run.scroll = Some(scroll);
    }
    browser.close().await;
    run
}

/// What the page holds, read after a forced garbage collection so that each reading is the
/// live heap rather than whatever garbage the collector has not reached yet.
struct Heap {
    js_bytes: f64,
    wasm_bytes: f64,
    dom_nodes: f64,
}

async fn heap(browser: &Browser) -> Heap {
    cdp(browser, "HeapProfiler.collectGarbage", json!({}));
    let metrics = cdp(browser, "Performance.getMetrics", json!({}));
    let metric = |name: &str| {
        metrics["metrics"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["name"] == name))
            .and_then(|m| m["value"].as_f64())
            .unwrap_or_else(|| panic!("no {name} in Performance.getMetrics: {metrics}"))
    };
    let wasm_bytes = browser
        .execute(
            "const w = window.__bench && window.__bench.wasm; \
             return w && w.memory ? w.memory.buffer.byteLength : null;",
            vec![],
        )
        .await
        .as_f64()
        .expect("the wasm memory (TrunkApplicationStarted carries the module's exports)");
    Heap {
        js_bytes: metric("JSHeapUsedSize"),
        wasm_bytes,
        dom_nodes: metric("Nodes"),
    }
}

/// A file's name without the content hash that changes with every build, so that runs of
/// different builds line up: `split_easel_gallery-1a2b3c4d5e6f7a8b.wasm` →
/// `split_easel_gallery.wasm`, `easel-1a2b3c4d5e6f7a8b_bg.wasm` → `easel_bg.wasm`.
fn phase_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(dash) = rest.find('-') {
        let after = &rest[dash + 1..];
        let hex = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        out.push_str(&rest[..dash]);
        if hex >= 8 {
            rest = &after[hex..];
        } else {
            out.push('-');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Waits for the probe's milestone `key` ("firstRow" or "empty"); returns every milestone.
async fn wait(browser: &Browser, key: &str) -> Value {
    match browser
        .client()
        .execute_async(WAIT_FOR_MILESTONE, vec![json!(key)])
        .await
    {
        Ok(value) => value,
        Err(e) => panic!(
            "{}",
            browser
                .diagnose(&format!("the gallery never reached `{key}`: {e}"))
                .await
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=20).map(f64::from).rev().collect();
        assert_eq!(percentile(&values, 95.0), 19.0);
        assert_eq!(percentile(&values, 50.0), 10.0);
        assert_eq!(percentile(&values, 100.0), 20.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert_eq!(percentile(&[], 95.0), 0.0);
    }

    #[test]
    fn phase_names_drop_build_hashes() {
        use super::phase_name;
        assert_eq!(
            phase_name("split_easel_gallery-1a2b3c4d5e6f7a8b.wasm"),
            "split_easel_gallery.wasm"
        );
        assert_eq!(
            phase_name("easel-3f9e1c0b7a6d5e4f_bg.wasm"),
            "easel_bg.wasm"
        );
        assert_eq!(phase_name("index-x.js"), "index-x.js");
        assert_eq!(phase_name("chunk_3-deadbeef.wasm"), "chunk_3.wasm");
    }
}
