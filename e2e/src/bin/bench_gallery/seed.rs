//! The benchmark's gallery: real images from the relay's offline generator, packed natively
//! into an Easel export ZIP (`easel_core::manifest` + `easel_core::zip`, the app's own format)
//! that the page then imports through its real path (IndexedDB, thumbnails made in the browser).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use easel_core::api::{GenerationRequest, ImagesResponse};
use easel_core::crc32::crc32;
use easel_core::gallery::{GalleryItem, ITEM_SCHEMA, Timing};
use easel_core::manifest::{FILE_NAME, Manifest};
use easel_core::zip::{DosTime, ZipWriter};
use easel_e2e::http;
use sha2::{Digest, Sha256};

/// Images per generation, as a person asking for a few variants would get.
pub const PER_JOB: u32 = 4;
pub const MODEL: &str = "gpt-image-1";
pub const SIZE: &str = "1024x1024";
/// Requests in flight: one per core of the small machines this runs on.
const WORKERS: usize = 2;
/// Drawing and encoding four 1024² PNGs takes about half a second in the dev relay.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Consecutive generations are this far apart in `created_ms`, like a real history.
const JOB_SPACING_MS: u64 = 60_000;

const SUBJECTS: [&str; 10] = [
    "a lighthouse at dusk",
    "a red fox in fresh snow",
    "a paper crane on a desk",
    "a tram in the rain",
    "a bowl of lemons",
    "a mountain hut at night",
    "a koi pond in autumn",
    "an old typewriter",
    "a city rooftop garden",
    "a sailboat in fog",
];
const STYLES: [&str; 5] = [
    "oil on canvas",
    "watercolour",
    "35mm photograph",
    "ink sketch",
    "isometric 3D render",
];

/// One generated image with its gallery metadata.
struct Image {
    item: GalleryItem,
    bytes: Vec<u8>,
}

/// What seeding made.
pub struct Seeded {
    pub images: usize,
    pub generations: usize,
    pub image_bytes: u64,
    pub archive_bytes: u64,
    pub generate_secs: f64,
    /// Choosing the archive → the gallery's import report.
    pub import_secs: f64,
}

impl Seeded {
    /// What an earlier run recorded about the gallery it seeded (see `EASEL_BENCH_WORK`).
    pub fn read(path: &Path) -> Option<Seeded> {
        let value: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        Some(Seeded {
            images: value["images"].as_u64()? as usize,
            generations: value["generations"].as_u64()? as usize,
            image_bytes: value["image_bytes"].as_u64()?,
            archive_bytes: value["archive_bytes"].as_u64()?,
            generate_secs: value["generate_secs"].as_f64()?,
            import_secs: value["import_secs"].as_f64()?,
        })
    }

    pub fn write(&self, path: &Path) {
        let value = serde_json::json!({
            "images": self.images,
            "generations": self.generations,
            "image_bytes": self.image_bytes,
            "archive_bytes": self.archive_bytes,
            "generate_secs": self.generate_secs,
            "import_secs": self.import_secs,
        });
        std::fs::write(path, value.to_string())
            .unwrap_or_else(|e| panic!("cannot write {path:?}: {e}"));
    }
}

/// Asks the relay at `relay` for `count` images and writes them, as an export, to `zip_path`.
pub fn export_zip(relay: SocketAddr, count: usize, zip_path: &Path) -> Seeded {
    let started = Instant::now();
    let jobs = count.div_ceil(PER_JOB as usize);
    let now = unix_ms();
    let next = AtomicUsize::new(0);
    let made = Mutex::new(Vec::with_capacity(count));
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let job = next.fetch_add(1, Ordering::Relaxed);
                    if job >= jobs {
                        break;
                    }
                    let n = (count - job * PER_JOB as usize).min(PER_JOB as usize) as u32;
                    // Newest last, so the gallery's newest-first order starts at the last job.
                    let created_ms = now - (jobs - job) as u64 * JOB_SPACING_MS;
                    let images = generate(relay, job, n, created_ms);
                    let mut made = made.lock().expect("images");
                    made.extend(images);
                    if made.len() % 100 < n as usize {
                        println!("  generated {} of {count} images", made.len());
                    }
                }
            });
        }
    });
    let mut images = made.into_inner().expect("images");
    // The archive in generation order, whatever order the workers finished in.
    images.sort_by_key(|image| image.item.created_ms * 16 + u64::from(image.item.index));
    let hashes: HashSet<&str> = images.iter().map(|i| i.item.sha256.as_str()).collect();
    assert_eq!(
        hashes.len(),
        images.len(),
        "the generator drew the same picture twice: the import would skip duplicates"
    );
    let generate_secs = started.elapsed().as_secs_f64();
    let archive_bytes = write_zip(&images, now, zip_path);
    Seeded {
        images: images.len(),
        generations: jobs,
        image_bytes: images.iter().map(|i| i.bytes.len() as u64).sum(),
        archive_bytes,
        generate_secs,
        import_secs: 0.0,
    }
}

/// Generation `job`: `n` images for a prompt of its own, the way the studio sends it.
fn generate(relay: SocketAddr, job: usize, n: u32, created_ms: u64) -> Vec<Image> {
    let prompt = format!(
        "{}, {}, study {}",
        SUBJECTS[job % SUBJECTS.len()],
        STYLES[(job / SUBJECTS.len()) % STYLES.len()],
        job + 1
    );
    let request = GenerationRequest {
        prompt: prompt.clone(),
        model: MODEL.to_owned(),
        n: Some(n),
        size: Some(SIZE.to_owned()),
        quality: Some("medium".to_owned()),
        output_format: Some("png".to_owned()),
        ..GenerationRequest::default()
    };
    let body = serde_json::to_string(&request).expect("a request serializes");
    let sent = Instant::now();
    let response = http::request(
        relay,
        "POST",
        "/v1/images/generations",
        Some(&body),
        REQUEST_TIMEOUT,
    )
    .unwrap_or_else(|| panic!("the relay did not answer generation {}", job + 1));
    assert_eq!(
        response.status,
        200,
        "generation {} failed: {}",
        job + 1,
        response.body
    );
    let answer: ImagesResponse = serde_json::from_str(&response.body)
        .unwrap_or_else(|e| panic!("generation {}: not an images response: {e}", job + 1));
    assert_eq!(
        answer.data.len(),
        n as usize,
        "images in generation {}",
        job + 1
    );
    let took_ms = sent.elapsed().as_millis() as u64;
    let job_id = format!("bench-{:04}", job + 1);
    answer
        .data
        .iter()
        .enumerate()
        .map(|(index, data)| {
            let b64 = data
                .b64_json
                .as_deref()
                .unwrap_or_else(|| panic!("generation {}: {MODEL} answers base64 images", job + 1));
            let bytes = STANDARD
                .decode(b64)
                .unwrap_or_else(|e| panic!("generation {}: bad base64: {e}", job + 1));
            let item = GalleryItem {
                schema: ITEM_SCHEMA,
                id: format!("{job_id}-{index}"),
                sha256: hex(&Sha256::digest(&bytes)),
                mime: "image/png".to_owned(),
                bytes: bytes.len() as u64,
                crc32: Some(crc32(&bytes)),
                width: 1024,
                height: 1024,
                prompt: prompt.clone(),
                revised_prompt: data.revised_prompt.clone(),
                model: MODEL.to_owned(),
                request: request.clone(),
                usage: answer.usage.clone(),
                cost: None,
                timing: Timing {
                    started_ms: created_ms - took_ms,
                    finished_ms: created_ms,
                },
                created_ms,
                parents: Vec::new(),
                made_by: easel_core::gallery::MadeBy::Generation,
                favorite: false,
                collections: Vec::new(),
                job_id: job_id.clone(),
                index: index as u32,
            };
            Image { item, bytes }
        })
        .collect()
}

/// A stored ZIP: `manifest.json` first, then every image, as the app's "Export all" writes it.
fn write_zip(images: &[Image], exported_ms: u64, path: &Path) -> u64 {
    let manifest = Manifest::for_export(images.iter().map(|i| &i.item), exported_ms);
    let json = manifest.to_json();
    let file = File::create(path).unwrap_or_else(|e| panic!("cannot create {path:?}: {e}"));
    let mut out = BufWriter::new(file);
    let mut zip = ZipWriter::new();
    let mut put = |name: &str, data: &[u8], created_ms: u64| {
        let header = zip
            .entry_header(
                name,
                data.len() as u64,
                crc32(data),
                DosTime::from_unix_ms(created_ms),
            )
            .unwrap_or_else(|e| panic!("cannot add {name} to the archive: {e}"));
        out.write_all(&header)
            .and_then(|()| out.write_all(data))
            .unwrap_or_else(|e| panic!("cannot write {path:?}: {e}"));
    };
    put(FILE_NAME, json.as_bytes(), exported_ms);
    for (listed, image) in manifest.items.iter().zip(images) {
        put(&listed.file, &image.bytes, image.item.created_ms);
    }
    let size = zip.offset();
    let directory = zip.finish();
    out.write_all(&directory)
        .and_then(|()| out.flush())
        .unwrap_or_else(|e| panic!("cannot write {path:?}: {e}"));
    size + directory.len() as u64
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis() as u64
}
