//! Gallery ZIP export and import, with bounded memory.
//!
//! **Export** builds the archive as a Blob of parts — `[manifest header, manifest, image header,
//! image Blob, …, central directory]` — so image bytes stay where the browser keeps them
//! (IndexedDB's files) and are never gathered into one buffer. Entries are stored, not
//! compressed: images already are. The layout and `manifest.json` are `easel_core::zip` and
//! `easel_core::manifest`.
//!
//! **Import** reads the archive's tail to find its directory, then `manifest.json`, then one
//! image at a time (a slice of the file): checks its CRC-32 and SHA-256, skips what the gallery
//! already has, makes a thumbnail, and stores in batches of [`IMPORT_BATCH`] items per
//! transaction. Anything wrong with the file is an [`ArchiveError`] or a counted failure,
//! never a panic.

use std::collections::HashSet;

use easel_core::crc32::crc32;
use easel_core::files::{ImageFormat, dimensions};
use easel_core::gallery::GalleryItem;
use easel_core::manifest::{self, Manifest, ManifestError, ManifestItem};
use easel_core::web_page;
use easel_core::zip::{self, Directory, DosTime, Entry, ZipError, ZipWriter};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsValue;
use web_sys::{Blob, BlobPropertyBag};

use crate::state::Gallery;
use crate::storage::download::blob_bytes;
use crate::storage::{GalleryDb, NewImage, StorageError, browser};

/// What an export is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Images and `manifest.json`, to import again.
    Archive,
    /// The same plus an `index.html` that shows them, to open or publish (`easel_core::web_page`).
    WebPage,
}

/// Items stored per IndexedDB transaction during an import.
pub const IMPORT_BATCH: usize = 20;
/// The MIME type of an export.
pub const ZIP_MIME: &str = "application/zip";
/// At most this many failure reasons are kept in an [`ImportReport`].
const MAX_PROBLEMS: usize = 10;

/// Why an export or an import could not be done. Every message is meant for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// Not a ZIP file, a damaged one, or one this reader cannot open (ZIP64, split).
    #[error("{0}")]
    Zip(#[from] ZipError),
    /// A ZIP file, but not a usable Easel export: no manifest, unknown version, invalid items.
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// The gallery lists an image whose bytes are gone.
    #[error(
        "The image of “{prompt}” is missing from the browser's storage, so it cannot be exported."
    )]
    MissingImage { prompt: String },
    /// The browser refused to read or build a file.
    #[error("The browser could not read the file: {0}")]
    Browser(String),
}

impl From<JsValue> for ArchiveError {
    fn from(value: JsValue) -> ArchiveError {
        let text = value
            .as_string()
            .or_else(|| {
                js_sys::Reflect::get(&value, &JsValue::from_str("message"))
                    .ok()?
                    .as_string()
            })
            .unwrap_or_else(|| format!("{value:?}"));
        ArchiveError::Browser(text)
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Items stored.
    pub added: usize,
    /// Items whose image (or id) the gallery already had, or repeated within the archive.
    pub skipped_duplicates: usize,
    /// Items whose bytes were damaged or not an image.
    pub failed: usize,
    /// Why items failed (the first few), for the user.
    pub problems: Vec<String>,
}

/// A ZIP of `items`' images and a `manifest.json` (and for a web page its `index.html`), as a
/// Blob assembled from parts.
/// `progress(done, total)` is called as items are added. (A `dyn` callback: one copy of this
/// long function in the wasm, not one per caller.)
pub async fn export_zip(
    db: &GalleryDb,
    items: &[GalleryItem],
    format: ExportFormat,
    progress: &dyn Fn(usize, usize),
) -> Result<Blob, ArchiveError> {
    let total = items.len();
    progress(0, total);
    // First the image handles (cheap: IndexedDB Blobs are backed by files) and their exact
    // sizes and CRCs, which the manifest records.
    let mut images = Vec::with_capacity(total);
    let mut listed = Vec::with_capacity(total);
    for item in items {
        let image = db
            .image(&item.sha256)
            .await?
            .ok_or_else(|| ArchiveError::MissingImage {
                prompt: item.prompt.clone(),
            })?;
        let mut item = item.clone();
        item.bytes = image.size() as u64;
        if item.crc32.is_none() {
            // Only records from before CRCs were kept: read this one image to compute it.
            item.crc32 = Some(crc32(&blob_bytes(&image).await?));
        }
        images.push(image);
        listed.push(item);
    }

    let now = js_sys::Date::now() as u64;
    let mut manifest = Manifest::for_export(&listed, now);
    let mut writer = ZipWriter::new();
    let parts = Array::new();
    let mut add_text = |name: &str, text: String| -> Result<(), ArchiveError> {
        let bytes = text.into_bytes();
        let header = writer.entry_header(
            name,
            bytes.len() as u64,
            crc32(&bytes),
            DosTime::from_unix_ms(now),
        )?;
        parts.push(&Uint8Array::from(header.as_slice()));
        parts.push(&Uint8Array::from(bytes.as_slice()));
        Ok(())
    };
    if format == ExportFormat::WebPage {
        manifest = web_page::for_publishing(manifest);
    }
    add_text(manifest::FILE_NAME, manifest.to_json())?;
    if format == ExportFormat::WebPage {
        add_text(web_page::FILE_NAME, web_page::render(&manifest))?;
    }
    for (done, (entry, image)) in manifest.items.iter().zip(&images).enumerate() {
        let item = &entry.item;
        let header = writer.entry_header(
            &entry.file,
            item.bytes,
            item.crc32.unwrap_or_default(),
            DosTime::from_unix_ms(item.created_ms),
        )?;
        parts.push(&Uint8Array::from(header.as_slice()));
        parts.push(image);
        progress(done + 1, total);
    }
    parts.push(&Uint8Array::from(writer.finish().as_slice()));
    let options = BlobPropertyBag::new();
    options.set_type(ZIP_MIME);
    Ok(Blob::new_with_blob_sequence_and_options(&parts, &options)?)
}

/// Imports an Easel ZIP export into the gallery. Items whose image (by SHA-256) or id the
/// gallery already has are skipped; damaged entries are counted as failed and the rest still
/// imported. `progress(done, total)` counts manifest items.
pub async fn import_zip(
    gallery: &Gallery,
    file: &Blob,
    progress: &dyn Fn(usize, usize),
) -> Result<ImportReport, ArchiveError> {
    let archive = Archive::open(file).await?;
    let manifest = archive.manifest().await?;
    let total = manifest.items.len();
    progress(0, total);

    let db = gallery.db().await?;
    let stored = db.list().await?;
    let mut known_hashes: HashSet<String> = stored.iter().map(|s| s.hash.clone()).collect();
    let known_ids: HashSet<String> = stored.into_iter().map(|s| s.id).collect();
    let plan = manifest::plan_import(&manifest, &archive.entries, |hash| {
        known_hashes.contains(hash)
    })?;

    let mut report = ImportReport {
        skipped_duplicates: plan.duplicates.len(),
        ..ImportReport::default()
    };
    let mut done = report.skipped_duplicates;
    progress(done, total);
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    for &(item_at, entry_at) in &plan.import {
        let listed = &manifest.items[item_at];
        if known_ids.contains(&listed.item.id) || known_hashes.contains(&listed.item.sha256) {
            report.skipped_duplicates += 1;
        } else {
            match archive.image(listed, &archive.entries[entry_at]).await {
                Ok(record) => {
                    known_hashes.insert(record.1.hash.clone());
                    batch.push(record);
                }
                Err(problem) => {
                    report.failed += 1;
                    if report.problems.len() < MAX_PROBLEMS {
                        report.problems.push(problem.to_string());
                    }
                }
            }
        }
        if batch.len() >= IMPORT_BATCH {
            report.added += batch.len();
            gallery.save(std::mem::take(&mut batch)).await?;
        }
        done += 1;
        progress(done, total);
    }
    if !batch.is_empty() {
        report.added += batch.len();
        gallery.save(batch).await?;
    }
    Ok(report)
}

/// An archive being read: the file and its directory.
struct Archive<'a> {
    file: &'a Blob,
    directory: Directory,
    entries: Vec<Entry>,
}

impl<'a> Archive<'a> {
    async fn open(file: &'a Blob) -> Result<Archive<'a>, ArchiveError> {
        let len = file.size() as u64;
        let tail_start = len.saturating_sub(zip::MAX_TAIL as u64);
        let tail = read_range(file, tail_start, len).await?;
        let directory = zip::find_directory(&tail, len)?;
        let range = directory.range();
        let listing = if range.start >= tail_start {
            tail[(range.start - tail_start) as usize..(range.end - tail_start) as usize].to_vec()
        } else {
            read_range(file, range.start, range.end).await?
        };
        let entries = zip::read_directory(&listing, &directory)?;
        Ok(Archive {
            file,
            directory,
            entries,
        })
    }

    /// The archive's manifest, checked.
    async fn manifest(&self) -> Result<Manifest, ArchiveError> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.name == manifest::FILE_NAME)
            .ok_or(ManifestError::Missing)?;
        entry.require_stored()?;
        if entry.size > manifest::MAX_MANIFEST_BYTES as u64 {
            return Err(ManifestError::TooLarge {
                bytes: entry.size as usize,
            }
            .into());
        }
        let bytes = self.read_entry(entry).await?;
        entry.check_crc(&bytes)?;
        Ok(Manifest::parse(&bytes)?)
    }

    /// The byte range of an entry's data, from its local header.
    async fn data_range(&self, entry: &Entry) -> Result<(u64, u64), ArchiveError> {
        let start = entry.header_offset;
        let header = read_range(self.file, start, start + zip::LOCAL_HEADER_LEN as u64).await?;
        let range = zip::data_range(&header, entry, &self.directory)?;
        Ok((range.start, range.end))
    }

    async fn read_entry(&self, entry: &Entry) -> Result<Vec<u8>, ArchiveError> {
        let (start, end) = self.data_range(entry).await?;
        read_range(self.file, start, end).await
    }

    /// One item ready to store: its bytes checked against the archive's CRC-32 and the
    /// manifest's SHA-256, its thumbnail made. The stored Blob is a slice of the file, so the
    /// bytes read for checking are dropped at once.
    async fn image(
        &self,
        listed: &ManifestItem,
        entry: &Entry,
    ) -> Result<(GalleryItem, NewImage), ArchiveError> {
        let (start, end) = self.data_range(entry).await?;
        let mut item = listed.item.clone();
        let (hash, width, height) = {
            let bytes = read_range(self.file, start, end).await?;
            entry.check_crc(&bytes)?;
            let hash = browser::sha256_hex(&Uint8Array::from(bytes.as_slice())).await?;
            manifest::check_hash(listed, &hash)?;
            let format = ImageFormat::sniff(&bytes).ok_or_else(|| ManifestError::Mismatch {
                file: listed.file.clone(),
            })?;
            item.mime = format.mime().to_owned();
            let (w, h) = dimensions(&bytes).unwrap_or((item.width, item.height));
            (hash, w, h)
        };
        item.sha256 = hash.clone();
        item.width = width;
        item.height = height;
        item.bytes = end - start;
        item.crc32 = Some(entry.crc32);
        let image = self.file.slice_with_f64_and_f64_and_content_type(
            start as f64,
            end as f64,
            &item.mime,
        )?;
        // A missing thumbnail only costs speed: the grid falls back to the full image.
        let thumb = browser::thumbnail(&image, width, height).await.ok();
        let record = NewImage {
            id: item.id.clone(),
            job: item.job_id.clone(),
            created: item.created_ms as f64,
            hash,
            meta: item.to_json(),
            image,
            thumb,
        };
        Ok((item, record))
    }
}

/// Bytes `start..end` of a Blob (clamped to its end by the browser).
async fn read_range(blob: &Blob, start: u64, end: u64) -> Result<Vec<u8>, ArchiveError> {
    let part = blob.slice_with_f64_and_f64(start as f64, end as f64)?;
    Ok(blob_bytes(&part).await?)
}
