//! The results: medians, the goals, and `bench/results/gallery-<UTC time>.{md,json}`.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::page::{LONG_FRAME_MS, Run, SCROLL_STEP_PX, Scroll};
use crate::seed::{self, Seeded};

/// Goal: navigation → first row of thumbnails, at most this (median).
pub const FIRST_ROW_GOAL_MS: f64 = 300.0;
/// Goal: the heap after load with 1,000 images, at most this many times an empty gallery's.
pub const HEAP_RATIO_GOAL: f64 = 2.0;

pub struct Results {
    pub browser: String,
    pub seeded: Seeded,
    pub import_secs: f64,
    pub empty: Vec<Run>,
    pub gallery: Vec<Run>,
    pub total_secs: f64,
    /// `/proc/loadavg`'s 1, 5 and 15-minute averages when the benchmark started and ended:
    /// other work on the machine shows in every time measured.
    pub load_start: String,
    pub load_end: String,
}

/// The load averages, e.g. `0.52 0.61 0.70` (empty where /proc is missing).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

const MIB: f64 = (1 << 20) as f64;

/// The median (mean of the middle two for an even count); NaN for none.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut sorted: Vec<f64> = values.into_iter().collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn median_of(runs: &[Run], field: impl Fn(&Run) -> f64) -> f64 {
    median(runs.iter().map(field))
}

/// Each phase's median time over the runs that reached it, earliest first.
fn phase_medians(runs: &[Run]) -> Vec<(String, f64)> {
    let mut names: Vec<&str> = Vec::new();
    for run in runs {
        for (name, _) in &run.phases {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    let mut phases: Vec<(String, f64)> = names
        .into_iter()
        .map(|name| {
            let at = median(runs.iter().flat_map(|r| {
                r.phases
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, at)| *at)
            }));
            (name.to_owned(), at)
        })
        .collect();
    phases.sort_by(|a, b| a.1.total_cmp(&b.1));
    phases
}

/// The phases of both kinds of visit side by side, as Markdown table rows.
fn phase_rows(empty: &[Run], gallery: &[Run]) -> String {
    let (empty, gallery) = (phase_medians(empty), phase_medians(gallery));
    let cell = |phases: &[(String, f64)], name: &str| {
        phases
            .iter()
            .find(|(n, _)| n == name)
            .map_or("–".to_owned(), |(_, at)| format!("{at:.0}"))
    };
    gallery
        .iter()
        .map(|(name, _)| name)
        .chain(
            empty
                .iter()
                .map(|(name, _)| name)
                .filter(|n| gallery.iter().all(|(g, _)| g != *n)),
        )
        .map(|name| {
            format!(
                "| {name} | {} | {} |\n",
                cell(&empty, name),
                cell(&gallery, name)
            )
        })
        .collect()
}

fn scroll_median(runs: &[Run], field: impl Fn(&Scroll) -> f64) -> f64 {
    median(runs.iter().filter_map(|r| r.scroll.as_ref()).map(field))
}

/// A run as one progress line.
pub fn one_line(n: usize, run: &Run) -> String {
    let grid = if run.grid_ms.is_finite() {
        format!("grid {:.0} ms, ", run.grid_ms)
    } else {
        String::new()
    };
    let mut line = format!(
        "run {n}: wasm started {:.0} ms, {grid}loaded {:.0} ms, JS heap {:.1} MiB, wasm memory {:.1} MiB, {} DOM nodes",
        run.started_ms,
        run.loaded_ms,
        run.js_heap_bytes / MIB,
        run.wasm_bytes / MIB,
        run.dom_nodes
    );
    if let Some(s) = &run.scroll {
        line += &format!(
            "; scroll: {} frames, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms, then heap {:.1} MiB",
            s.frames,
            s.p50_ms,
            s.p95_ms,
            s.max_ms,
            s.heap_after_bytes / MIB
        );
    }
    line
}

/// Writes the Markdown and JSON files into `dir` and prints the summary.
pub fn write(results: &Results, dir: &Path) {
    let stamp = utc_stamp(SystemTime::now());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let (empty, gallery) = (&results.empty, &results.gallery);
    let first_row = median_of(gallery, |r| r.loaded_ms);
    let heap = |runs: &[Run]| median_of(runs, Run::heap_bytes);
    let js = |runs: &[Run]| median_of(runs, |r| r.js_heap_bytes);
    let wasm = |runs: &[Run]| median_of(runs, |r| r.wasm_bytes);
    let heap_ratio = heap(gallery) / heap(empty);
    let p95 = scroll_median(gallery, |s| s.p95_ms);
    let first_row_met = first_row <= FIRST_ROW_GOAL_MS;
    let heap_met = heap_ratio <= HEAP_RATIO_GOAL;
    let yes = |met: bool| if met { "yes" } else { "**no**" };
    let seeded = &results.seeded;

    let mut md = format!(
        "# Gallery benchmark, {stamp}\n\n\
         `cargo xtask bench gallery` on {cores} cores, {browser} (headless, software rendering, \
         1280×900 window), the release build served by the relay. The gallery holds {images} \
         PNG images of {size} ({generations} generations of up to {per_job}) from the offline \
         generator ({image_mb:.1} MB), imported through the gallery's *Import ZIP* \
         ({archive_mb:.1} MB archive, {import:.0} s). Every run is a new Chromium on the same \
         profile navigating to `/gallery`; \
         medians of {runs} runs. The empty-gallery baseline is \
         measured the same way on a fresh profile.\n\n\
         ## Goals\n\n| goal | median | met |\n|---|---:|:---:|\n\
         | navigation → first row of thumbnails ≤ {FIRST_ROW_GOAL_MS:.0} ms | {first_row:.0} ms | {first_ok} |\n\
         | heap after load ≤ {HEAP_RATIO_GOAL:.0}× an empty gallery (JS heap + wasm memory) | {heap_ratio:.2}× | {heap_ok} |\n\n\
         p95 frame time while scrolling to the end: {p95:.1} ms (median of the runs' p95).\n\n",
        browser = results.browser,
        images = seeded.images,
        size = seed::SIZE,
        generations = seeded.generations,
        per_job = seed::PER_JOB,
        image_mb = seeded.image_bytes as f64 / 1e6,
        archive_mb = seeded.archive_bytes as f64 / 1e6,
        import = results.import_secs,
        runs = gallery.len(),
        first_ok = yes(first_row_met),
        heap_ok = yes(heap_met),
    );

    md += &format!(
        "## {} images\n\n\
         | run | wasm started (ms) | grid shown (ms) | first row (ms) | JS heap (MiB) | wasm memory (MiB) | DOM nodes | frames | frame p50 (ms) | frame p95 (ms) | frame max (ms) | frames > {LONG_FRAME_MS:.0} ms | heap after scroll (MiB) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        seeded.images
    );
    let scroll_cells = |s: Option<&Scroll>| match s {
        Some(s) => format!(
            "{} | {:.1} | {:.1} | {:.1} | {} | {:.1}",
            s.frames,
            s.p50_ms,
            s.p95_ms,
            s.max_ms,
            s.long_frames,
            s.heap_after_bytes / MIB
        ),
        None => "– | – | – | – | – | –".into(),
    };
    for (n, run) in gallery.iter().enumerate() {
        md += &format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} | {} |\n",
            n + 1,
            run.started_ms,
            run.grid_ms,
            run.loaded_ms,
            run.js_heap_bytes / MIB,
            run.wasm_bytes / MIB,
            run.dom_nodes,
            scroll_cells(run.scroll.as_ref())
        );
    }
    md += &format!(
        "| **median** | {:.0} | {:.0} | {first_row:.0} | {:.1} | {:.1} | {:.0} | {:.0} | {:.1} | {p95:.1} | {:.1} | {:.0} | {:.1} |\n\n",
        median_of(gallery, |r| r.started_ms),
        median_of(gallery, |r| r.grid_ms),
        js(gallery) / MIB,
        wasm(gallery) / MIB,
        median_of(gallery, |r| r.dom_nodes),
        scroll_median(gallery, |s| s.frames as f64),
        scroll_median(gallery, |s| s.p50_ms),
        scroll_median(gallery, |s| s.max_ms),
        scroll_median(gallery, |s| s.long_frames as f64),
        scroll_median(gallery, |s| s.heap_after_bytes) / MIB,
    );

    md += "## Empty gallery\n\n\
           | run | wasm started (ms) | \"No images yet\" (ms) | JS heap (MiB) | wasm memory (MiB) | DOM nodes |\n\
           |---|---:|---:|---:|---:|---:|\n";
    for (n, run) in empty.iter().enumerate() {
        md += &format!(
            "| {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} |\n",
            n + 1,
            run.started_ms,
            run.loaded_ms,
            run.js_heap_bytes / MIB,
            run.wasm_bytes / MIB,
            run.dom_nodes
        );
    }
    md += &format!(
        "| **median** | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} |\n\n",
        median_of(empty, |r| r.started_ms),
        median_of(empty, |r| r.loaded_ms),
        js(empty) / MIB,
        wasm(empty) / MIB,
        median_of(empty, |r| r.dom_nodes),
    );

    md += &format!(
        "## Heap: {} images ÷ empty (medians)\n\n\
         | | empty (MiB) | {} images (MiB) | ratio |\n|---|---:|---:|---:|\n\
         | JS heap | {:.1} | {:.1} | {:.2} |\n| wasm memory | {:.1} | {:.1} | {:.2} |\n\
         | total | {:.1} | {:.1} | {heap_ratio:.2} |\n\n",
        seeded.images,
        seeded.images,
        js(empty) / MIB,
        js(gallery) / MIB,
        js(gallery) / js(empty),
        wasm(empty) / MIB,
        wasm(gallery) / MIB,
        wasm(gallery) / wasm(empty),
        heap(empty) / MIB,
        heap(gallery) / MIB,
    );

    md += &format!(
        "## Where the time goes (medians, ms since navigation start)\n\n\
         | phase | empty | {} images |\n|---|---:|---:|\n{}\n\
         *arrived* is a file's `responseEnd` (from the HTTP cache on these visits); the other \
         rows are the app's marks: `app` the app's first line, `gallery-open` the database \
         open (started by index.html before the app's code arrives), `gallery-read` every \
         record read, `gallery-first-screen` the newest records parsed for the first screen, \
         `gallery-page` the gallery page's code loaded and its view built, `gallery-listed` \
         the rest parsed after the first screen was painted.\n\n",
        seeded.images,
        phase_rows(empty, gallery),
    );

    md += &format!(
        "## Method\n\n\
         - Times are `performance.now()` in the page (milliseconds since navigation start), noted \
         by a script installed with `Page.addScriptToEvaluateOnNewDocument` that watches the DOM \
         and every image load: *wasm started* is Trunk's `TrunkApplicationStarted` event, *grid \
         shown* the first `.grid-row` in the page (items listed, thumbnails not yet), *first \
         row* the moment every `img.thumb` of the first `.grid-row` is complete with a \
         `naturalWidth`.\n\
         - Each measured visit is a revisit of `/gallery`: the page is revalidated (304) and \
         every hashed asset comes from the HTTP cache.\n\
         - Heap: one second after load, after a forced garbage collection \
         (`HeapProfiler.collectGarbage`): `JSHeapUsedSize` from `Performance.getMetrics`, plus the \
         wasm module's linear memory (`memory.buffer.byteLength`, which grows and never shrinks). \
         Decoded images and Blobs live outside both.\n\
         - Scrolling: the grid's scroller (`.gallery-scroll`) from the top to the end, \
         {SCROLL_STEP_PX:.0} px per animation frame; frame time is the difference between \
         consecutive `requestAnimationFrame` timestamps (multiples of the 16.7 ms frame interval).\n\
         - Whole benchmark: {:.0} s (generating {:.0} s, importing {:.0} s); load average \
         {} at the start, {} at the end.\n",
        results.total_secs,
        seeded.generate_secs,
        results.import_secs,
        results.load_start,
        results.load_end,
    );

    let run_json = |run: &Run| {
        let mut value = json!({
            "wasm_started_ms": round(run.started_ms),
            "loaded_ms": round(run.loaded_ms),
            "js_heap_bytes": run.js_heap_bytes,
            "wasm_memory_bytes": run.wasm_bytes,
            "dom_nodes": run.dom_nodes,
        });
        value["phases"] = run
            .phases
            .iter()
            .map(|(name, at)| json!([name, round(*at)]))
            .collect();
        if run.grid_ms.is_finite() {
            value["grid_ms"] = json!(round(run.grid_ms));
        }
        if let Some(s) = &run.scroll {
            value["scroll"] = json!({
                "frames": s.frames,
                "p50_ms": round(s.p50_ms),
                "p95_ms": round(s.p95_ms),
                "max_ms": round(s.max_ms),
                "long_frames": s.long_frames,
                "duration_ms": round(s.duration_ms),
                "height_px": s.height_px,
                "heap_after_bytes": s.heap_after_bytes,
            });
        }
        value
    };
    let medians = |runs: &[Run]| {
        json!({
            "wasm_started_ms": round(median_of(runs, |r| r.started_ms)),
            "loaded_ms": round(median_of(runs, |r| r.loaded_ms)),
            "js_heap_bytes": js(runs),
            "wasm_memory_bytes": wasm(runs),
            "heap_bytes": heap(runs),
            "dom_nodes": median_of(runs, |r| r.dom_nodes),
        })
    };
    let mut gallery_medians = medians(gallery);
    gallery_medians["grid_ms"] = json!(round(median_of(gallery, |r| r.grid_ms)));
    gallery_medians["scroll_p95_ms"] = json!(round(p95));
    gallery_medians["scroll_p50_ms"] = json!(round(scroll_median(gallery, |s| s.p50_ms)));
    gallery_medians["scroll_max_ms"] = json!(round(scroll_median(gallery, |s| s.max_ms)));
    gallery_medians["heap_after_scroll_bytes"] =
        json!(scroll_median(gallery, |s| s.heap_after_bytes));
    let json = json!({
        "date": stamp,
        "cores": cores,
        "browser": results.browser,
        "images": seeded.images,
        "image_size": seed::SIZE,
        "generations": seeded.generations,
        "image_bytes": seeded.image_bytes,
        "archive_bytes": seeded.archive_bytes,
        "generate_secs": round(seeded.generate_secs),
        "import_secs": round(results.import_secs),
        "scroll_step_px": SCROLL_STEP_PX,
        "load_average": { "start": results.load_start, "end": results.load_end },
        "empty": { "runs": empty.iter().map(run_json).collect::<Vec<Value>>(), "median": medians(empty) },
        "gallery": { "runs": gallery.iter().map(run_json).collect::<Vec<Value>>(), "median": gallery_medians },
        "ratios": {
            "js_heap": round(js(gallery) / js(empty)),
            "wasm_memory": round(wasm(gallery) / wasm(empty)),
            "heap": round(heap_ratio),
        },
        "goals": {
            "first_row_ms": { "goal": FIRST_ROW_GOAL_MS, "median": round(first_row), "met": first_row_met },
            "heap_ratio": { "goal": HEAP_RATIO_GOAL, "value": round(heap_ratio), "met": heap_met },
        },
    });

    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {dir:?}: {e}"));
    let pretty = serde_json::to_string_pretty(&json).expect("results serialize") + "\n";
    for (extension, text) in [("md", &md), ("json", &pretty)] {
        let path = dir.join(format!("gallery-{stamp}.{extension}"));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {path:?}: {e}"));
        println!("✓ wrote {}", path.display());
    }
    let verdict = |met: bool| if met { "✓ met" } else { "✗ not met" };
    println!(
        "\nGallery with {} images (median of {} runs):\n  \
         first row of thumbnails  {first_row:.0} ms   (goal ≤ {FIRST_ROW_GOAL_MS:.0} ms: {})\n  \
         heap after load          {:.1} MiB = {heap_ratio:.2}× the empty gallery's {:.1} MiB   (goal ≤ {HEAP_RATIO_GOAL:.0}×: {})\n  \
         scroll frame time p95    {p95:.1} ms",
        seeded.images,
        gallery.len(),
        verdict(first_row_met),
        heap(gallery) / MIB,
        heap(empty) / MIB,
        verdict(heap_met),
    );
}

/// Two decimals are plenty for milliseconds and ratios.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// `2026-11-29T004512Z`, the relay benchmark's file-name format.
fn utc_stamp(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (Howard
/// Hinnant's `civil_from_days`), so no date crate is needed for a file name.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{median, utc_stamp};

    #[test]
    fn medians() {
        assert_eq!(median([5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median([]).is_nan());
    }

    #[test]
    fn stamps_in_utc() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "1970-01-01T000000Z");
        // 2024-02-29 23:59:59 UTC: a leap day.
        let leap = UNIX_EPOCH + Duration::from_secs(1_709_251_199);
        assert_eq!(utc_stamp(leap), "2024-02-29T235959Z");
        let later = UNIX_EPOCH + Duration::from_secs(1_795_913_443);
        assert_eq!(utc_stamp(later), "2026-11-29T005043Z");
    }
}
