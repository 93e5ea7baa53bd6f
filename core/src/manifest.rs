//! `manifest.json`, the index of a gallery ZIP export: which file holds which image, with all
//! of its metadata. The schema is documented in `docs/manifest.md`.
//!
//! Export, in the app: [`Manifest::for_export`] names the files; the manifest's JSON and each
//! image become stored ZIP entries through [`crate::zip::ZipWriter`] (the manifest first).
//! Import: [`Manifest::parse`] (strict: format, version, limits, names, hashes), then
//! [`plan_import`] against the archive's entries and the hashes already in the gallery, then
//! for each planned item the app slices its bytes, computes SHA-256, and calls
//! [`check_hash`] before storing.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::files::{ImageFormat, download_name};
use crate::gallery::{GalleryItem, ItemError};
use crate::zip::{self, Entry, ZipError};

pub const FORMAT: &str = "easel-gallery";
pub const VERSION: u32 = 1;
/// The manifest's name inside the archive.
pub const FILE_NAME: &str = "manifest.json";
/// The largest manifest read (about 30,000 items with long prompts).
pub const MAX_MANIFEST_BYTES: usize = 32 << 20;
/// The most items a manifest may list (one ZIP entry is the manifest).
pub const MAX_ITEMS: usize = zip::MAX_ENTRIES - 1;

/// The whole manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] when written.
    pub version: u32,
    /// When the export was made, unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_ms: Option<u64>,
    pub items: Vec<ManifestItem>,
}

/// One image: the file that holds it, and its gallery metadata (flattened beside `file`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestItem {
    /// The entry's path inside the archive, e.g. `images/a-fox-in-snow-1.png`.
    pub file: String,
    #[serde(flatten)]
    pub item: GalleryItem,
}

/// Why a manifest or an import could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestError {
    /// The archive has no `manifest.json`: not an Easel export.
    Missing,
    TooLarge {
        bytes: usize,
    },
    TooManyItems {
        count: usize,
    },
    /// Not JSON, or JSON of the wrong shape (serde's message, with line and column).
    Json(String),
    /// JSON, but not an Easel gallery manifest.
    NotEasel,
    /// Written by a newer Easel (or an unknown version).
    UnsupportedVersion {
        found: u64,
    },
    /// Item `index` (from 0) breaks a rule.
    Item {
        index: usize,
        reason: String,
    },
    /// The manifest names a file the archive does not have.
    MissingFile {
        file: String,
    },
    /// An entry of the archive cannot be read as is.
    Entry(ZipError),
    /// The bytes of `file` do not match the manifest (size or SHA-256).
    Mismatch {
        file: String,
    },
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::Missing => f.write_str(
                "This ZIP file has no manifest.json, so it is not an Easel gallery export.",
            ),
            ManifestError::TooLarge { bytes } => write!(
                f,
                "The manifest is too large ({bytes} bytes; at most {MAX_MANIFEST_BYTES})."
            ),
            ManifestError::TooManyItems { count } => write!(
                f,
                "The manifest lists {count} images; at most {MAX_ITEMS} can be imported at once."
            ),
            ManifestError::Json(why) => write!(f, "The manifest is not valid: {why}"),
            ManifestError::NotEasel => f.write_str(
                "The manifest is not an Easel gallery manifest (format \"easel-gallery\").",
            ),
            ManifestError::UnsupportedVersion { found } => write!(
                f,
                "This export is manifest version {found}, and this Easel reads version {VERSION}. Update Easel (reload the page) and try again."
            ),
            ManifestError::Item { index, reason } => {
                write!(
                    f,
                    "Image {} in the manifest is not valid: {reason}",
                    index + 1
                )
            }
            ManifestError::MissingFile { file } => {
                write!(
                    f,
                    "The manifest lists '{file}', which is not in the ZIP file."
                )
            }
            ManifestError::Entry(e) => e.fmt(f),
            ManifestError::Mismatch { file } => write!(
                f,
                "'{file}' does not match the manifest (it was changed or damaged)."
            ),
        }
    }
}

impl std::error::Error for ManifestError {}

impl From<ZipError> for ManifestError {
    fn from(e: ZipError) -> ManifestError {
        ManifestError::Entry(e)
    }
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    format: Option<serde_json::Value>,
    #[serde(default)]
    version: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ItemCount {
    items: Count,
}

/// The length of a JSON array, counted without building its elements.
#[derive(Default)]
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of items")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(Visitor)
    }
}

impl Manifest {
    /// A manifest for exporting `items`, naming each file `images/<prompt-words>-<n>.<ext>`.
    pub fn for_export<'a>(
        items: impl IntoIterator<Item = &'a GalleryItem>,
        exported_ms: u64,
    ) -> Manifest {
        let items = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| ManifestItem {
                file: format!(
                    "images/{}",
                    download_name(&item.prompt, i + 1, extension_for(&item.mime))
                ),
                item: item.clone(),
            })
            .collect();
        Manifest {
            format: FORMAT.to_owned(),
            version: VERSION,
            exported_ms: Some(exported_ms),
            items,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a manifest always serializes")
    }

    /// Parses and checks a manifest: its size, format marker and version first (so a newer
    /// export gets a clear message rather than a shape error), then every item.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge { bytes: bytes.len() });
        }
        let header: Header =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        if header.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(ManifestError::NotEasel);
        }
        match header.version.as_ref().map(|v| v.as_u64()) {
            Some(Some(v)) if v == u64::from(VERSION) => {}
            Some(Some(found)) => return Err(ManifestError::UnsupportedVersion { found }),
            _ => {
                return Err(ManifestError::Json(
                    "\"version\" must be a whole number".into(),
                ));
            }
        }
        let count: ItemCount =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        if count.items.0 > MAX_ITEMS {
            return Err(ManifestError::TooManyItems {
                count: count.items.0,
            });
        }
        let mut manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        let mut files = HashSet::new();
        let mut ids = HashSet::new();
        for (index, entry) in manifest.items.iter_mut().enumerate() {
            let fail = |reason: String| ManifestError::Item { index, reason };
            zip::check_name(&entry.file).map_err(|e| fail(e.to_string()))?;
            if entry.file == FILE_NAME || entry.file.ends_with('/') {
                return Err(fail(format!("'{}' cannot hold an image", entry.file)));
            }
            if !files.insert(entry.file.as_str()) {
                return Err(fail(format!("the file '{}' is listed twice", entry.file)));
            }
            let item = &mut entry.item;
            item.check_schema()
                .map_err(|e: ItemError| fail(e.to_string()))?;
            if item.id.is_empty() {
                return Err(fail("the id is empty".into()));
            }
            if !ids.insert(item.id.as_str()) {
                return Err(fail(format!("the id '{}' is used twice", item.id)));
            }
            if item.sha256.len() != 64 || !item.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(fail("sha256 must be 64 hexadecimal digits".into()));
            }
            item.sha256.make_ascii_lowercase();
            if !item.mime.starts_with("image/") {
                return Err(fail(format!("'{}' is not an image type", item.mime)));
            }
        }
        Ok(manifest)
    }
}

fn extension_for(mime: &str) -> &'static str {
    ImageFormat::ALL
        .into_iter()
        .find(|f| f.mime() == mime)
        .map_or("bin", ImageFormat::extension)
}

/// What importing an archive will do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportPlan {
    /// Items to store: (index in `manifest.items`, index in the archive's entries).
    pub import: Vec<(usize, usize)>,
    /// Items whose image the gallery already has (same SHA-256), or that repeat an earlier
    /// item of the same archive: skipped.
    pub duplicates: Vec<usize>,
}

/// Matches each manifest item to its archive entry and skips images already present.
/// `known(sha256)` says whether the gallery has that hash. Every listed file must exist, be
/// stored (not compressed), and have the size the manifest says.
pub fn plan_import(
    manifest: &Manifest,
    entries: &[Entry],
    known: impl Fn(&str) -> bool,
) -> Result<ImportPlan, ManifestError> {
    let by_name: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    let mut plan = ImportPlan::default();
    let mut seen = HashSet::new();
    for (index, entry) in manifest.items.iter().enumerate() {
        let at = *by_name
            .get(entry.file.as_str())
            .ok_or_else(|| ManifestError::MissingFile {
                file: entry.file.clone(),
            })?;
        let zipped = &entries[at];
        zipped.require_stored()?;
        if entry.item.bytes != 0 && zipped.size != entry.item.bytes {
            return Err(ManifestError::Mismatch {
                file: entry.file.clone(),
            });
        }
        let hash = entry.item.sha256.as_str();
        if known(hash) || !seen.insert(hash) {
            plan.duplicates.push(index);
        } else {
            plan.import.push((index, at));
        }
    }
    Ok(plan)
}

/// Checks the SHA-256 the app computed (hex, any case) for an item's bytes.
pub fn check_hash(entry: &ManifestItem, computed_sha256: &str) -> Result<(), ManifestError> {
    if entry.item.sha256.eq_ignore_ascii_case(computed_sha256) {
        Ok(())
    } else {
        Err(ManifestError::Mismatch {
            file: entry.file.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crc32::crc32;
    use crate::gallery::tests::item;
    use crate::png_text::tests::PIXEL_PNG;
    use crate::zip::{DosTime, ZipWriter, list, write_stored};

    const PYTHON_ZIP: &[u8] = include_bytes!("../tests/fixtures/python-stored.zip");
    const PIXEL_SHA256: &str = "fa3b693059daa1f77754db7b97c790aba2c920a7311a33282189042af054be25";

    fn sample_manifest() -> Manifest {
        let mut a = item("job1", 0, 1_000, "A lighthouse at dusk");
        a.mime = "image/jpeg".into();
        let b = item("job1", 1, 1_000, "A lighthouse at dusk");
        Manifest::for_export([&a, &b], 2_000)
    }

    fn json_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value = serde_json::to_value(sample_manifest()).unwrap();
        edit(&mut value);
        serde_json::to_vec(&value).unwrap()
    }

    #[test]
    fn the_documented_examples_parse() {
        let doc = include_str!("../../docs/manifest.md");
        let mut blocks = doc
            .split("```json\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap());
        let manifest = Manifest::parse(blocks.next().unwrap().as_bytes()).unwrap();
        let item = &manifest.items[0].item;
        assert_eq!(item.request.n, Some(2));
        assert_eq!(item.timing.duration_ms(), 58_000);
        let settings = blocks.next().unwrap().replace('…', "");
        let settings = crate::gallery::EmbeddedSettings::from_json(&settings).unwrap();
        assert_eq!(settings.to_request().quality.as_deref(), Some("high"));
    }

    #[test]
    fn export_names_and_json_roundtrip() {
        let manifest = sample_manifest();
        assert_eq!(manifest.items[0].file, "images/a-lighthouse-at-dusk-1.jpg");
        assert_eq!(manifest.items[1].file, "images/a-lighthouse-at-dusk-2.png");
        let json = manifest.to_json();
        assert!(json.starts_with(r#"{"format":"easel-gallery","version":1,"exported_ms":2000,"items":[{"file":"images/a-lighthouse-at-dusk-1.jpg","schema":1,"id":"job1-0","sha256":"#));
        assert_eq!(Manifest::parse(json.as_bytes()).unwrap(), manifest);
    }

    #[test]
    fn reads_the_python_fixture_manifest() {
        let listed = list(PYTHON_ZIP).unwrap();
        let (_, range) = listed.iter().find(|(e, _)| e.name == FILE_NAME).unwrap();
        let manifest =
            Manifest::parse(&PYTHON_ZIP[range.start as usize..range.end as usize]).unwrap();
        let first = &manifest.items[0];
        assert_eq!(first.file, "images/pixel.png");
        assert_eq!(first.item.sha256, PIXEL_SHA256);
        assert_eq!(first.item.cost, Some(0.011));
        assert_eq!(first.item.usage.as_ref().unwrap().total_tokens, Some(282));
        assert_eq!(first.item.timing.duration_ms(), 9_000);
        assert!(first.item.favorite);
        let entries: Vec<Entry> = listed.into_iter().map(|(e, _)| e).collect();
        let plan = plan_import(&manifest, &entries, |_| false).unwrap();
        assert_eq!(plan.import, [(0, 2)]);
        check_hash(first, &PIXEL_SHA256.to_uppercase()).unwrap();
        let plan = plan_import(&manifest, &entries, |h| h == PIXEL_SHA256).unwrap();
        assert_eq!(plan.duplicates, [0]);
        assert!(plan.import.is_empty());
    }

    #[test]
    fn version_and_format_errors_are_clear() {
        let newer = json_with(|v| v["version"] = 2.into());
        let err = Manifest::parse(&newer).unwrap_err();
        assert_eq!(err, ManifestError::UnsupportedVersion { found: 2 });
        assert!(err.to_string().contains("version 2"), "{err}");
        // Even when the rest of a newer manifest has a shape this version cannot read.
        let newer_shape = br#"{"format":"easel-gallery","version":3,"items":{"new":"shape"}}"#;
        assert_eq!(
            Manifest::parse(newer_shape),
            Err(ManifestError::UnsupportedVersion { found: 3 })
        );
        assert_eq!(
            Manifest::parse(br#"{"format":"other","version":1,"items":[]}"#),
            Err(ManifestError::NotEasel)
        );
        assert_eq!(Manifest::parse(br#"[1]"#), Err(ManifestError::NotEasel));
        assert!(matches!(Manifest::parse(b"7"), Err(ManifestError::Json(_))));
        assert!(matches!(
            Manifest::parse(br#"{"format":"easel-gallery","version":1,"items":{}}"#),
            Err(ManifestError::Json(_))
        ));
        assert!(matches!(
            Manifest::parse(br#"{"format":"easel-gallery","version":"1","items":[]}"#),
            Err(ManifestError::Json(_))
        ));
        assert!(matches!(
            Manifest::parse(b"{\"format\":"),
            Err(ManifestError::Json(_))
        ));
        assert!(matches!(
            Manifest::parse(&[0xff, 0xfe]),
            Err(ManifestError::Json(_))
        ));
        let missing = json_with(|v| {
            v["items"][0].as_object_mut().unwrap().remove("sha256");
        });
        let err = Manifest::parse(&missing).unwrap_err();
        assert!(err.to_string().contains("sha256"), "{err}");
    }

    #[test]
    fn item_rules_and_limits() {
        type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|v| v["items"][0]["file"] = "../../etc/passwd".into()),
                "cannot be used",
            ),
            (
                Box::new(|v| v["items"][0]["file"] = "manifest.json".into()),
                "cannot hold",
            ),
            (
                Box::new(|v| v["items"][1]["file"] = v["items"][0]["file"].clone()),
                "listed twice",
            ),
            (
                Box::new(|v| v["items"][1]["id"] = "job1-0".into()),
                "used twice",
            ),
            (Box::new(|v| v["items"][0]["id"] = "".into()), "id is empty"),
            (
                Box::new(|v| v["items"][0]["sha256"] = "abc".into()),
                "64 hexadecimal",
            ),
            (
                Box::new(|v| v["items"][0]["mime"] = "text/html".into()),
                "not an image",
            ),
            (
                Box::new(|v| v["items"][1]["schema"] = 7.into()),
                "newer version",
            ),
        ];
        for (edit, expected) in cases {
            let err = Manifest::parse(&json_with(edit)).unwrap_err();
            assert!(matches!(err, ManifestError::Item { .. }), "{err:?}");
            assert!(err.to_string().contains(expected), "{err} / {expected}");
        }
        let upper = json_with(|v| v["items"][0]["sha256"] = "AB".repeat(32).into());
        assert_eq!(
            Manifest::parse(&upper).unwrap().items[0].item.sha256,
            "ab".repeat(32)
        );

        let huge = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert_eq!(
            Manifest::parse(&huge),
            Err(ManifestError::TooLarge {
                bytes: MAX_MANIFEST_BYTES + 1
            })
        );
        // Counted before any item is built.
        let many = format!(
            r#"{{"format":"easel-gallery","version":1,"items":[{}{{}}]}}"#,
            "{},".repeat(MAX_ITEMS)
        );
        assert_eq!(
            Manifest::parse(many.as_bytes()),
            Err(ManifestError::TooManyItems {
                count: MAX_ITEMS + 1
            })
        );
    }

    #[test]
    fn export_then_import_dedups_by_hash() {
        // Export: three items, two of them the same image (same hash).
        let mut items = vec![
            item("j", 0, 1_000, "first"),
            item("j", 1, 1_000, "second"),
            item("k", 0, 2_000, "third"),
        ];
        for it in &mut items {
            it.bytes = PIXEL_PNG.len() as u64;
            it.crc32 = Some(crc32(&PIXEL_PNG));
        }
        items[1].sha256 = items[0].sha256.clone();
        let manifest = Manifest::for_export(&items, 5_000);
        let json = manifest.to_json();
        let mut writer = ZipWriter::new();
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let time = DosTime::from_unix_ms(5_000);
        parts.push(
            writer
                .entry_header(FILE_NAME, json.len() as u64, crc32(json.as_bytes()), time)
                .unwrap(),
        );
        parts.push(json.into_bytes());
        for entry in &manifest.items {
            let it = &entry.item;
            parts.push(
                writer
                    .entry_header(
                        &entry.file,
                        it.bytes,
                        it.crc32.unwrap(),
                        DosTime::from_unix_ms(it.created_ms),
                    )
                    .unwrap(),
            );
            parts.push(PIXEL_PNG.to_vec());
        }
        parts.push(writer.finish());
        let archive = parts.concat();

        // Import into a gallery that already has the third image.
        let listed = list(&archive).unwrap();
        let (_, range) = listed.iter().find(|(e, _)| e.name == FILE_NAME).unwrap();
        let back = Manifest::parse(&archive[range.start as usize..range.end as usize]).unwrap();
        assert_eq!(back, manifest);
        let entries: Vec<Entry> = listed.iter().map(|(e, _)| e.clone()).collect();
        let third = items[2].sha256.clone();
        let plan = plan_import(&back, &entries, |h| h == third).unwrap();
        assert_eq!(plan.import, [(0, 1)]);
        assert_eq!(plan.duplicates, [1, 2]);
        let (entry, data) = &listed[plan.import[0].1];
        entry
            .check_crc(&archive[data.start as usize..data.end as usize])
            .unwrap();
        assert!(check_hash(&back.items[0], &"0".repeat(64)).is_err());
    }

    #[test]
    fn import_refuses_missing_compressed_and_resized_files() {
        let manifest = sample_manifest();
        let archive = write_stored(
            &[("images/a-lighthouse-at-dusk-1.jpg", b"x")],
            DosTime::default(),
        )
        .unwrap();
        let entries: Vec<Entry> = list(&archive)
            .unwrap()
            .into_iter()
            .map(|(e, _)| e)
            .collect();
        assert_eq!(
            plan_import(&manifest, &entries, |_| false),
            Err(ManifestError::Mismatch {
                file: "images/a-lighthouse-at-dusk-1.jpg".into()
            })
        );
        let mut unsized_manifest = manifest.clone();
        unsized_manifest.items[0].item.bytes = 0;
        assert_eq!(
            plan_import(&unsized_manifest, &entries, |_| false),
            Err(ManifestError::MissingFile {
                file: "images/a-lighthouse-at-dusk-2.png".into()
            })
        );
        let mut deflated = entries.clone();
        deflated[0].method = crate::zip::Method::Deflated;
        assert!(matches!(
            plan_import(&unsized_manifest, &deflated, |_| false),
            Err(ManifestError::Entry(ZipError::Compressed { .. }))
        ));
    }
}
