//! The gallery's item metadata, the settings embedded in downloaded PNGs, and search, filter,
//! sort and grouping as pure functions over item metadata.
//!
//! Image bytes and thumbnails are not here: the app stores them as Blobs beside this record.
//! Times are unix milliseconds given by the caller (`Date.now()` in the browser): `core` never
//! reads a clock, because `SystemTime::now()` panics in wasm.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::api::{GenerationRequest, Usage};
use crate::png_text::{self, PngError};
use crate::size::Size;

/// The version of [`GalleryItem`]'s shape. Records of an older version still parse (new fields
/// have defaults); a record of a newer version is refused by [`GalleryItem::from_json`].
pub const ITEM_SCHEMA: u32 = 1;

/// One image in the gallery and everything known about how it was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GalleryItem {
    /// [`ITEM_SCHEMA`] when written.
    #[serde(default = "schema_one")]
    pub schema: u32,
    /// Unique within a gallery (the app chooses it, e.g. `{job_id}-{index}`).
    pub id: String,
    /// SHA-256 of the image bytes, 64 lowercase hex digits (SubtleCrypto in the browser).
    pub sha256: String,
    /// `image/png`, `image/jpeg`, `image/webp`…
    pub mime: String,
    /// Size of the image file in bytes.
    #[serde(default)]
    pub bytes: u64,
    /// CRC-32 of the image bytes, when known: a ZIP export needs it for each entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc32: Option<u32>,
    pub width: u32,
    pub height: u32,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revised_prompt: Option<String>,
    pub model: String,
    /// Every parameter that was sent, exactly as sent.
    pub request: GenerationRequest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Estimated cost in US dollars, when the price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    #[serde(default)]
    pub timing: Timing,
    /// When the image was stored, unix ms.
    pub created_ms: u64,
    /// The items this one was made from (edits, variations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    /// How it was made from `parents`; records written before edits existed are generations.
    #[serde(default, skip_serializing_if = "MadeBy::is_generation")]
    pub made_by: MadeBy,
    #[serde(default)]
    pub favorite: bool,
    /// Names of the collections the item belongs to, in the order they were added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<String>,
    /// The generation (one request) this image came from.
    pub job_id: String,
    /// Position within the generation, from 0.
    #[serde(default)]
    pub index: u32,
}

/// Which endpoint made an image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MadeBy {
    /// From a prompt alone (`/images/generations`).
    #[default]
    Generation,
    /// From images, a prompt and maybe a mask (`/images/edits`).
    Edit,
    /// From one image, no prompt (`/images/variations`).
    Variation,
    /// Written by a newer Easel: shown without a label rather than refused.
    #[serde(other)]
    Other,
}

impl MadeBy {
    pub fn is_generation(&self) -> bool {
        *self == MadeBy::Generation
    }

    /// What the lightbox calls it, if it is not a plain generation.
    pub fn label(self) -> Option<&'static str> {
        match self {
            MadeBy::Edit => Some("Edit"),
            MadeBy::Variation => Some("Variation"),
            MadeBy::Generation | MadeBy::Other => None,
        }
    }
}

fn schema_one() -> u32 {
    1
}

/// When a generation was sent and when its answer was complete, unix ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    pub started_ms: u64,
    pub finished_ms: u64,
}

impl Timing {
    /// How long the generation took (0 when the clock went backwards).
    pub fn duration_ms(self) -> u64 {
        self.finished_ms.saturating_sub(self.started_ms)
    }
}

/// A stored record that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemError {
    /// Written by a newer Easel.
    NewerSchema { found: u32 },
    /// Not the JSON of an item.
    Json(String),
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemError::NewerSchema { found } => write!(
                f,
                "This item was saved by a newer version of Easel (schema {found}, this one reads {ITEM_SCHEMA}). Reload to update."
            ),
            ItemError::Json(why) => write!(f, "A gallery record is damaged: {why}"),
        }
    }
}

impl std::error::Error for ItemError {}

impl GalleryItem {
    /// Parses a stored record, refusing one of a newer schema.
    pub fn from_json(json: &str) -> Result<GalleryItem, ItemError> {
        let item: GalleryItem =
            serde_json::from_str(json).map_err(|e| ItemError::Json(e.to_string()))?;
        item.check_schema()?;
        Ok(item)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an item always serializes")
    }

    pub(crate) fn check_schema(&self) -> Result<(), ItemError> {
        if self.schema > ITEM_SCHEMA {
            return Err(ItemError::NewerSchema { found: self.schema });
        }
        Ok(())
    }

    /// The image's pixel size.
    pub fn size(&self) -> Size {
        Size {
            width: self.width,
            height: self.height,
        }
    }

    /// The settings to embed in a downloaded PNG.
    pub fn embedded_settings(&self) -> EmbeddedSettings {
        EmbeddedSettings::from_item(self)
    }
}

/// Marks the JSON in a PNG's `easel` chunk as Easel's and gives its version.
pub const SETTINGS_FORMAT: &str = "easel-settings";
pub const SETTINGS_VERSION: u32 = 1;

/// What a downloaded PNG carries in its `easel` `iTXt` chunk: enough to make the image again.
///
/// ```json
/// {"format":"easel-settings","version":1,"prompt":"a fox","model":"gpt-image-1",
///  "params":{"n":1,"size":"1024x1024","quality":"high"},"created_ms":1764300000000}
/// ```
/// `params` holds every request parameter except `prompt` and `model`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddedSettings {
    pub format: String,
    pub version: u32,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revised_prompt: Option<String>,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_ms: Option<u64>,
}

/// Why a PNG's settings could not be restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingsError {
    Png(PngError),
    /// The PNG has no `easel` chunk: it was not made (or was re-saved) elsewhere.
    Missing,
    /// The chunk is not Easel's settings JSON.
    Invalid(String),
    /// Written by a newer Easel.
    NewerVersion {
        found: u32,
    },
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::Png(e) => e.fmt(f),
            SettingsError::Missing => f.write_str("This image carries no Easel settings."),
            SettingsError::Invalid(why) => {
                write!(f, "The image's Easel settings are damaged: {why}")
            }
            SettingsError::NewerVersion { found } => write!(
                f,
                "The image's settings were written by a newer version of Easel (version {found}). Reload to update."
            ),
        }
    }
}

impl std::error::Error for SettingsError {}

impl From<PngError> for SettingsError {
    fn from(e: PngError) -> SettingsError {
        SettingsError::Png(e)
    }
}

impl EmbeddedSettings {
    pub fn from_item(item: &GalleryItem) -> EmbeddedSettings {
        let mut params = match serde_json::to_value(&item.request) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        params.remove("prompt");
        params.remove("model");
        EmbeddedSettings {
            format: SETTINGS_FORMAT.to_owned(),
            version: SETTINGS_VERSION,
            prompt: item.request.prompt.clone(),
            revised_prompt: item.revised_prompt.clone(),
            model: item.request.model.clone(),
            params,
            created_ms: Some(item.created_ms),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("settings always serialize")
    }

    /// Parses the chunk's JSON, checking the format marker and version.
    pub fn from_json(json: &str) -> Result<EmbeddedSettings, SettingsError> {
        let settings: EmbeddedSettings =
            serde_json::from_str(json).map_err(|e| SettingsError::Invalid(e.to_string()))?;
        if settings.format != SETTINGS_FORMAT {
            return Err(SettingsError::Invalid(format!(
                "unknown format '{}'",
                settings.format
            )));
        }
        if settings.version > SETTINGS_VERSION {
            return Err(SettingsError::NewerVersion {
                found: settings.version,
            });
        }
        Ok(settings)
    }

    /// `png` with these settings in its `easel` chunk (pixels untouched).
    pub fn write_into_png(&self, png: &[u8]) -> Result<Vec<u8>, PngError> {
        png_text::write_itxt(png, png_text::KEYWORD, &self.to_json())
    }

    /// The settings in a PNG's `easel` chunk.
    pub fn read_from_png(png: &[u8]) -> Result<EmbeddedSettings, SettingsError> {
        let text = png_text::read_itxt(png, png_text::KEYWORD)?.ok_or(SettingsError::Missing)?;
        EmbeddedSettings::from_json(&text)
    }

    /// "Reuse settings": the request to put back into the studio form. The original prompt is
    /// used, not the revised one. A parameter this version does not know, or whose value has
    /// the wrong type, is dropped rather than failing the whole restore.
    pub fn to_request(&self) -> GenerationRequest {
        let mut kept = serde_json::Map::new();
        for (key, value) in &self.params {
            if key == "prompt" || key == "model" {
                continue;
            }
            let mut probe = serde_json::Map::new();
            probe.insert(
                "prompt".to_owned(),
                serde_json::Value::String(String::new()),
            );
            probe.insert(key.clone(), value.clone());
            // Through text, like every other request read: one deserializer in the app's code.
            let probe = serde_json::Value::Object(probe).to_string();
            if serde_json::from_str::<GenerationRequest>(&probe).is_ok() {
                kept.insert(key.clone(), value.clone());
            }
        }
        kept.insert("prompt".to_owned(), self.prompt.clone().into());
        kept.insert("model".to_owned(), self.model.clone().into());
        serde_json::from_str(&serde_json::Value::Object(kept).to_string()).unwrap_or_else(|_| {
            GenerationRequest {
                prompt: self.prompt.clone(),
                model: self.model.clone(),
                ..GenerationRequest::default()
            }
        })
    }
}

/// Sort order of the grid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// What the gallery shows: a text search, filters, and an order. The default shows everything,
/// newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Words that must all appear (case-insensitive) in the prompt or the revised prompt.
    pub text: String,
    pub model: Option<String>,
    /// The image's pixel size.
    pub size: Option<Size>,
    pub favorites_only: bool,
    pub collection: Option<String>,
    /// Created at or after, unix ms.
    pub created_from_ms: Option<u64>,
    /// Created before, unix ms (exclusive).
    pub created_until_ms: Option<u64>,
    pub sort: SortOrder,
}

/// A [`Query`] prepared for matching many items: its words lowercased once.
#[derive(Clone, Debug)]
pub struct Matcher<'q> {
    query: &'q Query,
    words: Vec<String>,
}

impl Query {
    pub fn matcher(&self) -> Matcher<'_> {
        Matcher {
            query: self,
            words: self
                .text
                .split_whitespace()
                .map(str::to_lowercase)
                .collect(),
        }
    }

    /// Whether the query narrows anything (for "no results" vs "empty gallery").
    /// How many filters beyond the search text are set (shown on the phone's "Filters" button).
    pub fn active_filters(&self) -> usize {
        [
            self.model.is_some(),
            self.size.is_some(),
            self.favorites_only,
            self.collection.is_some(),
            self.created_from_ms.is_some(),
            self.created_until_ms.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count()
    }

    pub fn is_filtering(&self) -> bool {
        !self.text.trim().is_empty()
            || self.model.is_some()
            || self.size.is_some()
            || self.favorites_only
            || self.collection.is_some()
            || self.created_from_ms.is_some()
            || self.created_until_ms.is_some()
    }
}

impl Matcher<'_> {
    pub fn matches(&self, item: &GalleryItem) -> bool {
        let q = self.query;
        if q.favorites_only && !item.favorite {
            return false;
        }
        if q.model.as_deref().is_some_and(|m| m != item.model) {
            return false;
        }
        if q.size.is_some_and(|s| s != item.size()) {
            return false;
        }
        if let Some(collection) = q.collection.as_deref()
            && !item.collections.iter().any(|c| c == collection)
        {
            return false;
        }
        if q.created_from_ms.is_some_and(|from| item.created_ms < from) {
            return false;
        }
        if q.created_until_ms
            .is_some_and(|until| item.created_ms >= until)
        {
            return false;
        }
        if self.words.is_empty() {
            return true;
        }
        let prompt = item.prompt.to_lowercase();
        let revised = item
            .revised_prompt
            .as_deref()
            .map(str::to_lowercase)
            .unwrap_or_default();
        self.words
            .iter()
            .all(|w| prompt.contains(w.as_str()) || revised.contains(w.as_str()))
    }
}

/// The items the query selects, in its order. Items of one generation stay together in index
/// order; ties in time are broken by job id so the order is stable across calls.
pub fn search<'a>(items: &'a [GalleryItem], query: &Query) -> Vec<&'a GalleryItem> {
    let matcher = query.matcher();
    let mut found: Vec<&GalleryItem> = items.iter().filter(|i| matcher.matches(i)).collect();
    sort(&mut found, query.sort);
    found
}

/// Sorts by creation time in `order`; within one time and job, by index (first image first).
pub fn sort(items: &mut [&GalleryItem], order: SortOrder) {
    items.sort_by(|a, b| {
        let by_time = a
            .created_ms
            .cmp(&b.created_ms)
            .then_with(|| a.job_id.cmp(&b.job_id));
        let by_time = match order {
            SortOrder::NewestFirst => by_time.reverse(),
            SortOrder::OldestFirst => by_time,
        };
        by_time.then_with(|| a.index.cmp(&b.index))
    });
}

/// The images of one generation, as shown under one heading.
#[derive(Clone, Debug, PartialEq)]
pub struct Group<'a> {
    pub job_id: &'a str,
    pub items: Vec<&'a GalleryItem>,
}

/// Groups sorted items by generation. Groups come in the order of their first item; inside a
/// group items are in index order, even when the generation's images were stored at different
/// times while another generation was also finishing.
pub fn group_by_job<'a>(items: &[&'a GalleryItem]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut position: HashMap<&'a str, usize> = HashMap::new();
    for &item in items {
        let at = *position.entry(item.job_id.as_str()).or_insert_with(|| {
            groups.push(Group {
                job_id: item.job_id.as_str(),
                items: Vec::new(),
            });
            groups.len() - 1
        });
        groups[at].items.push(item);
    }
    for group in &mut groups {
        group.items.sort_by_key(|i| i.index);
    }
    groups
}

/// The distinct models, sizes and collections of the gallery, each sorted, for the filter menus.
pub fn facets(items: &[GalleryItem]) -> Facets {
    let mut facets = Facets::default();
    for item in items {
        facets.models.push(item.model.clone());
        facets.sizes.push(item.size());
        facets.collections.extend(item.collections.iter().cloned());
    }
    facets.models.sort();
    facets.models.dedup();
    facets.sizes.sort_by_key(|s| (s.pixels(), s.width));
    facets.sizes.dedup();
    facets.collections.sort();
    facets.collections.dedup();
    facets
}

/// What the filter menus offer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facets {
    pub models: Vec<String>,
    pub sizes: Vec<Size>,
    pub collections: Vec<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::png_text::tests::PIXEL_PNG;

    pub(crate) fn item(job: &str, index: u32, created_ms: u64, prompt: &str) -> GalleryItem {
        let mut request = GenerationRequest::for_model("gpt-image-1", prompt);
        request.quality = Some("high".to_owned());
        GalleryItem {
            schema: ITEM_SCHEMA,
            id: format!("{job}-{index}"),
            sha256: format!("{:064x}", created_ms * 100 + u64::from(index)),
            mime: "image/png".to_owned(),
            bytes: 70,
            crc32: None,
            width: 1024,
            height: 1024,
            prompt: prompt.to_owned(),
            revised_prompt: None,
            model: "gpt-image-1".to_owned(),
            request,
            usage: None,
            cost: None,
            timing: Timing {
                started_ms: created_ms.saturating_sub(5000),
                finished_ms: created_ms,
            },
            created_ms,
            parents: Vec::new(),
            made_by: MadeBy::Generation,
            favorite: false,
            collections: Vec::new(),
            job_id: job.to_owned(),
            index,
        }
    }

    fn ids(items: &[&GalleryItem]) -> Vec<String> {
        items.iter().map(|i| i.id.clone()).collect()
    }

    #[test]
    fn item_json_roundtrip_and_defaults() {
        let mut full = item("j1", 0, 1_700_000_000_000, "a fox");
        full.revised_prompt = Some("A red fox.".into());
        full.usage = Some(Usage {
            total_tokens: Some(10),
            ..Usage::default()
        });
        full.cost = Some(0.042);
        full.parents = vec!["j0-0".into()];
        full.made_by = MadeBy::Edit;
        full.favorite = true;
        full.collections = vec!["foxes".into(), "red".into()];
        full.crc32 = Some(0xDEAD_BEEF);
        let json = full.to_json();
        assert_eq!(GalleryItem::from_json(&json).unwrap(), full);
        assert_eq!(full.timing.duration_ms(), 5000);

        // A minimal record, as an older writer may have left it.
        let minimal = r#"{"id":"a","sha256":"00","mime":"image/png","width":1,"height":2,
            "prompt":"p","model":"m","request":{"prompt":"p"},"created_ms":5,"job_id":"j",
            "some_future_field":true}"#;
        let parsed = GalleryItem::from_json(minimal).unwrap();
        assert_eq!(parsed.schema, 1);
        assert!(!parsed.favorite && parsed.collections.is_empty() && parsed.index == 0);
        assert_eq!(parsed.timing.duration_ms(), 0);
        assert!(parsed.parents.is_empty() && parsed.made_by == MadeBy::Generation);
        // A plain generation writes neither field, so older readers see the same record.
        let plain = item("j2", 0, 1, "p").to_json();
        assert!(!plain.contains("made_by") && !plain.contains("parents"));
        assert!(full.to_json().contains(r#""made_by":"edit""#));
        let future = minimal.replace(r#""job_id":"j""#, r#""job_id":"j","made_by":"remix""#);
        assert_eq!(
            GalleryItem::from_json(&future).unwrap().made_by,
            MadeBy::Other
        );
    }

    #[test]
    fn newer_or_broken_records_are_refused_clearly() {
        let mut json: serde_json::Value =
            serde_json::from_str(&item("j", 0, 10_000, "x").to_json()).unwrap();
        json["schema"] = 2.into();
        let err = GalleryItem::from_json(&json.to_string()).unwrap_err();
        assert_eq!(err, ItemError::NewerSchema { found: 2 });
        assert!(err.to_string().contains("newer version"));
        assert!(matches!(
            GalleryItem::from_json("{\"id\":1}"),
            Err(ItemError::Json(_))
        ));
        let backwards = Timing {
            started_ms: 10,
            finished_ms: 5,
        };
        assert_eq!(backwards.duration_ms(), 0);
    }

    #[test]
    fn embedded_settings_are_compact_and_restore_the_request() {
        let mut it = item("j", 0, 1_700_000_000_000, "a fox");
        it.revised_prompt = Some("A red fox in snow.".into());
        it.request.background = Some("transparent".into());
        let settings = it.embedded_settings();
        let json: serde_json::Value = serde_json::from_str(&settings.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "format": "easel-settings", "version": 1, "prompt": "a fox",
                "revised_prompt": "A red fox in snow.", "model": "gpt-image-1",
                "params": {"n": 1, "size": "auto", "quality": "high", "output_format": "png",
                           "background": "transparent"},
                "created_ms": 1_700_000_000_000u64
            })
        );
        assert_eq!(settings.to_request(), it.request);
    }

    #[test]
    fn settings_survive_a_png_roundtrip() {
        let it = item("j", 0, 1_700_000_000_000, "ein Fuchs im Schnee 🦊");
        let png = it.embedded_settings().write_into_png(&PIXEL_PNG).unwrap();
        let back = EmbeddedSettings::read_from_png(&png).unwrap();
        assert_eq!(back, it.embedded_settings());
        assert_eq!(back.to_request(), it.request);
        assert_eq!(
            EmbeddedSettings::read_from_png(&PIXEL_PNG),
            Err(SettingsError::Missing)
        );
        assert!(matches!(
            EmbeddedSettings::read_from_png(b"not a png"),
            Err(SettingsError::Png(PngError::NotPng))
        ));
        let foreign = crate::png_text::write_itxt(&PIXEL_PNG, "easel", "{\"a\":1}").unwrap();
        assert!(matches!(
            EmbeddedSettings::read_from_png(&foreign),
            Err(SettingsError::Invalid(_))
        ));
    }

    #[test]
    fn restore_is_tolerant_of_unknown_and_mistyped_params() {
        let settings = EmbeddedSettings::from_json(
            r#"{"format":"easel-settings","version":1,"prompt":"p","model":"dall-e-3",
                "params":{"size":"1024x1792","n":"three","quality":7,"future":"x",
                          "style":"vivid","prompt":"ignored","model":"ignored"}}"#,
        )
        .unwrap();
        let request = settings.to_request();
        assert_eq!(request.prompt, "p");
        assert_eq!(request.model, "dall-e-3");
        assert_eq!(request.size.as_deref(), Some("1024x1792"));
        assert_eq!(request.style.as_deref(), Some("vivid"));
        assert_eq!(request.n, None);
        assert_eq!(request.quality, None);

        let newer = r#"{"format":"easel-settings","version":9,"prompt":"p"}"#;
        assert_eq!(
            EmbeddedSettings::from_json(newer),
            Err(SettingsError::NewerVersion { found: 9 })
        );
        let other = r#"{"format":"comfy","version":1,"prompt":"p"}"#;
        assert!(matches!(
            EmbeddedSettings::from_json(other),
            Err(SettingsError::Invalid(_))
        ));
        assert!(matches!(
            EmbeddedSettings::from_json("[1,2]"),
            Err(SettingsError::Invalid(_))
        ));
    }

    fn sample() -> Vec<GalleryItem> {
        let mut items = vec![
            item("a", 0, 1_000, "A Lighthouse at dusk"),
            item("a", 1, 1_000, "A Lighthouse at dusk"),
            item("b", 0, 2_000, "red fox in the snow"),
            item("c", 0, 3_000, "Straße im Regen"),
        ];
        items[1].favorite = true;
        items[2].revised_prompt = Some("A red fox standing in fresh SNOW at dawn.".into());
        items[2].model = "dall-e-3".into();
        items[2].width = 1792;
        items[3].collections = vec!["city".into(), "rain".into()];
        items
    }

    #[test]
    fn text_search_needs_every_word_in_prompt_or_revision() {
        let items = sample();
        let q = |text: &str| {
            ids(&search(
                &items,
                &Query {
                    text: text.into(),
                    ..Query::default()
                },
            ))
        };
        assert_eq!(q(""), ["c-0", "b-0", "a-0", "a-1"]);
        assert_eq!(q("LIGHTHOUSE"), ["a-0", "a-1"]);
        assert_eq!(q("  fox   dawn "), ["b-0"]);
        assert_eq!(q("fox lighthouse"), Vec::<String>::new());
        assert_eq!(q("STRASSE"), Vec::<String>::new());
        assert_eq!(q("STRAßE regen"), ["c-0"]);
        assert_eq!(q("house"), ["a-0", "a-1"]);
    }

    #[test]
    fn filters_combine() {
        let items = sample();
        let run = |query: Query| ids(&search(&items, &query));
        assert_eq!(
            run(Query {
                favorites_only: true,
                ..Query::default()
            }),
            ["a-1"]
        );
        assert_eq!(
            run(Query {
                model: Some("dall-e-3".into()),
                ..Query::default()
            }),
            ["b-0"]
        );
        assert_eq!(
            run(Query {
                size: Some(Size {
                    width: 1024,
                    height: 1024
                }),
                sort: SortOrder::OldestFirst,
                ..Query::default()
            }),
            ["a-0", "a-1", "c-0"]
        );
        assert_eq!(
            run(Query {
                collection: Some("rain".into()),
                ..Query::default()
            }),
            ["c-0"]
        );
        let range = Query {
            created_from_ms: Some(1_000),
            created_until_ms: Some(3_000),
            ..Query::default()
        };
        assert!(range.is_filtering());
        assert!(!Query::default().is_filtering());
        assert_eq!(range.active_filters(), 2);
        let search_only = Query {
            text: "fox".into(),
            ..Query::default()
        };
        assert_eq!(
            search_only.active_filters(),
            0,
            "the search box is not a filter"
        );
        assert!(search_only.is_filtering());
        assert_eq!(run(range), ["b-0", "a-0", "a-1"]);
        assert_eq!(
            run(Query {
                text: "lighthouse".into(),
                favorites_only: true,
                ..Query::default()
            }),
            ["a-1"]
        );
    }

    #[test]
    fn grouping_keeps_generations_together_and_in_index_order() {
        // Job "x" has three images stored at different times; job "y" finished in between.
        let items = vec![
            item("x", 2, 1_300, "p"),
            item("y", 0, 1_200, "q"),
            item("x", 0, 1_100, "p"),
            item("x", 1, 1_250, "p"),
        ];
        let sorted = search(&items, &Query::default());
        let groups = group_by_job(&sorted);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].job_id, "x");
        assert_eq!(ids(&groups[0].items), ["x-0", "x-1", "x-2"]);
        assert_eq!(ids(&groups[1].items), ["y-0"]);
        assert!(group_by_job(&[]).is_empty());

        let oldest = search(
            &items,
            &Query {
                sort: SortOrder::OldestFirst,
                ..Query::default()
            },
        );
        assert_eq!(ids(&oldest), ["x-0", "y-0", "x-1", "x-2"]);
        assert_eq!(group_by_job(&oldest)[0].job_id, "x");
    }

    #[test]
    fn facets_list_each_value_once() {
        let facets = facets(&sample());
        assert_eq!(facets.models, ["dall-e-3", "gpt-image-1"]);
        assert_eq!(facets.sizes.len(), 2);
        assert_eq!(facets.sizes[0].width, 1024);
        assert_eq!(facets.collections, ["city", "rain"]);
    }

    #[test]
    fn searching_thousands_of_items_is_fast() {
        let items: Vec<GalleryItem> = (0..5_000u64)
            .map(|i| {
                item(
                    &format!("j{}", i / 4),
                    (i % 4) as u32,
                    1_000 + i,
                    "a quiet harbour at dawn with boats",
                )
            })
            .collect();
        let query = Query {
            text: "harbour BOATS".into(),
            ..Query::default()
        };
        let found = search(&items, &query);
        assert_eq!(found.len(), 5_000);
        assert_eq!(group_by_job(&found).len(), 1_250);
    }
}
