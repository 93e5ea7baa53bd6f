//! The gallery at 1,000 images, in headless Chromium: `cargo xtask bench gallery` builds the
//! release app and the relay, then runs this.
//!
//! 1. Baseline: an empty gallery (a fresh profile), visited once, then measured `runs` times.
//! 2. Seeding: 1,000 images of 1024x1024 from the relay's offline generator, packed into an
//!    export ZIP and imported through the gallery's own "Import ZIP" (IndexedDB, thumbnails
//!    made by the browser) into a second profile, which every measured run then reuses.
//! 3. Each run is a new Chromium on that profile navigating to `/gallery`: navigation → first
//!    row of thumbnails, the heap after load, and frame times while scrolling to the end.
//!
//! Results go to `<results>/gallery-<UTC time>.{md,json}`. Environment: `EASEL_DIST`,
//! `EASEL_RELAY_BIN`, `CHROMEDRIVER`, `CHROME` as for the end-to-end tests;
//! `EASEL_BENCH_IMAGES` (default 1000) and `EASEL_BENCH_RUNS` (default 5).

mod page;
mod report;
mod seed;

use std::path::PathBuf;
use std::time::Instant;

use easel_e2e::{Relay, dist_dir, workspace_root};
use tempfile::TempDir;

use crate::page::Run;

const USAGE: &str =
    "usage: bench-gallery [--results <dir>]   (EASEL_BENCH_IMAGES, EASEL_BENCH_RUNS)";

/// What to run, from the command line and the environment.
struct Options {
    images: usize,
    runs: usize,
    results: PathBuf,
}

impl Options {
    fn parse() -> Options {
        let number = |name: &str, default: usize| match std::env::var(name) {
            Ok(text) => match text.parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => panic!("{name}={text:?} is not a positive whole number"),
            },
            Err(_) => default,
        };
        let mut results = workspace_root().join("bench/results");
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--results" => results = PathBuf::from(args.next().expect(USAGE)),
                _ => panic!("unexpected argument {arg:?}\n{USAGE}"),
            }
        }
        Options {
            images: number("EASEL_BENCH_IMAGES", 1000),
            runs: number("EASEL_BENCH_RUNS", 5),
            results,
        }
    }
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let started = Instant::now();
    let load_start = report::load_average();
    // No latency and no rate limit: seeding asks for hundreds of generations in a minute.
    let relay = Relay::start(
        &dist_dir(),
        &["--latency-ms", "0", "--rate-limit-per-minute", "0"],
    );
    let work = TempDir::new().expect("a temp dir for profiles and the archive");

    println!(
        "→ empty gallery: a first visit, then {} measured visits",
        options.runs
    );
    let empty_profile = work.path().join("empty-profile");
    let first = page::prepare(&relay, &empty_profile, None, 0).await;
    let mut empty: Vec<Run> = Vec::new();
    for n in 1..=options.runs {
        let run = page::measure(&relay, &empty_profile, 0).await;
        println!("  {}", report::one_line(n, &run));
        empty.push(run);
    }

    println!(
        "→ generating {} images of {} with the offline generator",
        options.images,
        seed::SIZE
    );
    let archive = work.path().join("gallery-export.zip");
    let seeded = {
        let (addr, images, archive) = (relay.addr(), options.images, archive.clone());
        tokio::task::spawn_blocking(move || seed::export_zip(addr, images, &archive))
            .await
            .expect("seeding")
    };
    println!(
        "  {} images in {} generations, {:.1} MB archive, {:.0} s",
        seeded.images,
        seeded.generations,
        seeded.archive_bytes as f64 / 1e6,
        seeded.generate_secs
    );

    println!("→ importing the archive through the gallery's Import ZIP");
    let gallery_profile = work.path().join("gallery-profile");
    let imported = page::prepare(&relay, &gallery_profile, Some(&archive), seeded.images).await;
    println!("  imported in {:.0} s", imported.import_secs);
    // The archive has done its job; the profile holds the gallery now.
    let _ = std::fs::remove_file(&archive);

    println!(
        "→ {} images: {} measured visits",
        seeded.images, options.runs
    );
    let mut gallery: Vec<Run> = Vec::new();
    for n in 1..=options.runs {
        let run = page::measure(&relay, &gallery_profile, seeded.images).await;
        println!("  {}", report::one_line(n, &run));
        gallery.push(run);
    }

    let results = report::Results {
        browser: first.browser,
        seeded,
        import_secs: imported.import_secs,
        empty,
        gallery,
        total_secs: started.elapsed().as_secs_f64(),
        load_start,
        load_end: report::load_average(),
    };
    report::write(&results, &options.results);
}
