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
//! `EASEL_BENCH_IMAGES` (default 1000) and `EASEL_BENCH_RUNS` (default 5);
//! `EASEL_BENCH_WORK=<dir>` keeps the browser profiles there, and a later run with the same
//! number of images reuses the seeded gallery (the relay then listens on port 18499, the
//! origin the profile's data belongs to) instead of generating and importing it again
//! (for iterating on the gallery's load; a new build's files are fetched by the first visit).
//! Remove `<dir>/gallery-profile` to import the kept archive again (after a change to how
//! the gallery stores images).

mod page;
mod report;
mod seed;

use std::path::{Path, PathBuf};
use std::time::Instant;

use easel_e2e::{Relay, dist_dir, workspace_root};
use tempfile::TempDir;

use crate::page::Run;

const USAGE: &str =
    "usage: bench-gallery [--results <dir>]   (EASEL_BENCH_IMAGES, EASEL_BENCH_RUNS)";

/// The relay's address when the profiles are kept (`EASEL_BENCH_WORK`).
const KEPT_ADDR: &str = "127.0.0.1:18499";

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
    let kept_dir = std::env::var_os("EASEL_BENCH_WORK");
    let kept = kept_dir.is_some();
    // Stored data belongs to an origin: a kept profile needs the same port every time.
    let addr = if kept { KEPT_ADDR } else { "127.0.0.1:0" };
    let relay = Relay::start(
        &dist_dir(),
        &[
            "--latency-ms",
            "0",
            "--rate-limit-per-minute",
            "0",
            "--addr",
            addr,
        ],
    );
    let temp;
    let work: &Path = match kept_dir {
        Some(dir) => {
            let dir = Box::leak(PathBuf::from(dir).into_boxed_path());
            std::fs::create_dir_all(&*dir).expect("create EASEL_BENCH_WORK");
            dir
        }
        None => {
            temp = TempDir::new().expect("a temp dir for profiles and the archive");
            temp.path()
        }
    };

    println!(
        "→ empty gallery: a first visit, then {} measured visits",
        options.runs
    );
    let empty_profile = work.join("empty-profile");
    let first = page::prepare(&relay, &empty_profile, None, 0).await;
    let mut empty: Vec<Run> = Vec::new();
    for n in 1..=options.runs {
        let run = page::measure(&relay, &empty_profile, 0).await;
        println!("  {}", report::one_line(n, &run));
        empty.push(run);
    }

    let gallery_profile = work.join("gallery-profile");
    let record = work.join(format!("seeded-{}.json", options.images));
    let archive = work.join(format!("gallery-export-{}.zip", options.images));
    let (seeded, import_secs) = match seed::Seeded::read(&record) {
        Some(seeded) if gallery_profile.is_dir() => {
            println!("→ reusing the gallery seeded earlier in {}", work.display());
            // The first visit fetches this build's files into the HTTP cache.
            page::prepare(&relay, &gallery_profile, None, seeded.images).await;
            let import_secs = seeded.import_secs;
            (seeded, import_secs)
        }
        Some(mut seeded) if archive.is_file() => {
            // The profile was removed (say, to store the gallery the way a new build does).
            seeded.import_secs = import(&relay, &gallery_profile, &archive, seeded.images).await;
            seeded.write(&record);
            let import_secs = seeded.import_secs;
            (seeded, import_secs)
        }
        _ => {
            let mut seeded = generate(&relay, &archive, options.images).await;
            seeded.import_secs = import(&relay, &gallery_profile, &archive, seeded.images).await;
            if kept {
                seeded.write(&record);
            } else {
                // The archive has done its job; the profile holds the gallery now.
                let _ = std::fs::remove_file(&archive);
            }
            let import_secs = seeded.import_secs;
            (seeded, import_secs)
        }
    };

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
        import_secs,
        empty,
        gallery,
        total_secs: started.elapsed().as_secs_f64(),
        load_start,
        load_end: report::load_average(),
    };
    report::write(&results, &options.results);
}

/// Generates `images` images and exports them as a ZIP to `archive`.
async fn generate(relay: &Relay, archive: &Path, images: usize) -> seed::Seeded {
    println!(
        "→ generating {images} images of {} with the offline generator",
        seed::SIZE
    );
    let seeded = {
        let (addr, archive) = (relay.addr(), archive.to_owned());
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
    seeded
}

/// Imports `archive` through the gallery's Import ZIP into `profile`; the seconds it took.
async fn import(relay: &Relay, profile: &Path, archive: &Path, images: usize) -> f64 {
    println!("→ importing the archive through the gallery's Import ZIP");
    let imported = page::prepare(relay, profile, Some(archive), images).await;
    println!("  imported in {:.0} s", imported.import_secs);
    imported.import_secs
}
