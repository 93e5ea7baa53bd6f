//! Images the generator made for `response_format=url`, kept in memory for a while, like
//! OpenAI's links that expire after an hour. Bounded in count and bytes, oldest dropped first.

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;

const MAX_IMAGES: usize = 64;
const MAX_BYTES: usize = 256 * 1024 * 1024;
const LIFETIME: Duration = Duration::from_secs(60 * 60);

#[derive(Clone)]
pub(crate) struct StoredImage {
    pub content_type: &'static str,
    pub bytes: Bytes,
}

struct Entry {
    name: String,
    image: StoredImage,
    stored_at: Instant,
}

pub struct ImageStore {
    entries: Mutex<VecDeque<Entry>>,
    lifetime: Duration,
}

impl Default for ImageStore {
    fn default() -> ImageStore {
        ImageStore::with_lifetime(LIFETIME)
    }
}

impl ImageStore {
    fn with_lifetime(lifetime: Duration) -> ImageStore {
        ImageStore {
            entries: Mutex::new(VecDeque::new()),
            lifetime,
        }
    }

    /// Keeps the image and returns its file name, `<random id>.<extension>`.
    pub(crate) fn insert(&self, extension: &str, image: StoredImage) -> String {
        let name = format!("img_{}.{extension}", random_hex());
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| now.duration_since(e.stored_at) < self.lifetime);
        let mut bytes: usize = entries.iter().map(|e| e.image.bytes.len()).sum();
        while !entries.is_empty()
            && (entries.len() >= MAX_IMAGES || bytes + image.bytes.len() > MAX_BYTES)
        {
            if let Some(oldest) = entries.pop_front() {
                bytes -= oldest.image.bytes.len();
            }
        }
        entries.push_back(Entry {
            name: name.clone(),
            image,
            stored_at: now,
        });
        name
    }

    pub(crate) fn get(&self, name: &str) -> Option<StoredImage> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .find(|e| e.name == name && e.stored_at.elapsed() < self.lifetime)
            .map(|e| e.image.clone())
    }
}

/// 128 unguessable bits as hex, for image names and request ids. SipHash keyed with the
/// process's random keys, over a counter, is a keyed PRF: good enough that one client cannot
/// guess another's image URL, without pulling in a random-number crate.
pub(crate) fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let keys = RandomState::new();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let high = keys.hash_one((count, 0u8));
    let low = keys.hash_one((count, 1u8));
    format!("{high:016x}{low:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(len: usize) -> StoredImage {
        StoredImage {
            content_type: "image/png",
            bytes: Bytes::from(vec![0; len]),
        }
    }

    #[test]
    fn keeps_the_newest_images() {
        let store = ImageStore::default();
        let first = store.insert("png", image(1));
        let names: Vec<String> = (0..MAX_IMAGES)
            .map(|_| store.insert("png", image(1)))
            .collect();
        assert!(store.get(&first).is_none(), "oldest dropped");
        assert!(names.iter().all(|n| store.get(n).is_some()));
    }

    #[test]
    fn images_expire() {
        let store = ImageStore::with_lifetime(Duration::ZERO);
        let name = store.insert("webp", image(1));
        assert!(name.ends_with(".webp"));
        assert!(store.get(&name).is_none());
    }

    #[test]
    fn ids_differ() {
        assert_ne!(random_hex(), random_hex());
        assert_eq!(random_hex().len(), 32);
    }
}
