//! The model catalog: what each known model accepts.
//!
//! The facts live in one data file, `catalog/models.rs`, so a changed limit or a new model is
//! a one-line edit there. Names outside the catalog are allowed (compatible servers name their
//! models freely); they get free-form parameters and only basic checks.

use crate::size::CustomSizeRule;

mod models;

pub use models::MODELS;

/// The model a new user starts with.
pub const DEFAULT_MODEL: &str = "gpt-image-2";

/// Where a model stands on OpenAI's own API. Retired models stay usable, because compatible
/// servers still offer them, but the form says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelStatus {
    Current,
    /// Still served, with a shutdown date announced (YYYY-MM-DD).
    Deprecated {
        shutdown: &'static str,
    },
    /// No longer served by OpenAI since the date (YYYY-MM-DD).
    ShutDown {
        since: &'static str,
    },
}

/// How a model's results come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultEncoding {
    /// Always base64 in `b64_json` (GPT image models); `response_format` is not accepted.
    AlwaysBase64,
    /// `response_format` chooses `url` (the default; links expire after an hour) or `b64_json`.
    UrlOrBase64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Model {
    pub id: &'static str,
    /// A short note for the picker, e.g. "Fast; xhigh and max quality".
    pub blurb: &'static str,
    pub status: ModelStatus,
    pub prompt_max_chars: usize,
    pub n_max: u8,
    /// Preset sizes in the order the form offers them; `auto` where the model chooses.
    pub sizes: &'static [&'static str],
    /// Arbitrary `WIDTHxHEIGHT` sizes, when the model accepts them.
    pub custom_sizes: Option<CustomSizeRule>,
    /// Qualities in the order the form offers them; the first is the default.
    pub qualities: &'static [&'static str],
    /// `output_format` values; empty when the model always returns PNG and takes no format.
    pub output_formats: &'static [&'static str],
    /// `background` values; empty when the model takes no background.
    pub backgrounds: &'static [&'static str],
    /// Whether a transparent background is only a preview feature on this model.
    pub transparent_is_preview: bool,
    /// `style` values (dall-e-3 only).
    pub styles: &'static [&'static str],
    pub results: ResultEncoding,
    /// Whether it can stream (`stream: true`, with 0–3 `partial_images` previews).
    pub streams: bool,
}

impl Model {
    pub fn is_retired(&self) -> bool {
        matches!(self.status, ModelStatus::ShutDown { .. })
    }

    /// The size a new request starts with.
    pub fn default_size(&self) -> &'static str {
        self.sizes.first().copied().unwrap_or("auto")
    }

    pub fn default_quality(&self) -> Option<&'static str> {
        self.qualities.first().copied()
    }

    pub fn default_output_format(&self) -> Option<&'static str> {
        self.output_formats.first().copied()
    }

    /// A line the picker shows about the model's standing, if any.
    pub fn status_note(&self) -> Option<String> {
        match self.status {
            ModelStatus::Current => None,
            ModelStatus::Deprecated { shutdown } => {
                Some(format!("deprecated: OpenAI shuts it down on {shutdown}"))
            }
            ModelStatus::ShutDown { since } => Some(format!(
                "retired on OpenAI since {since}; still offered by some compatible servers"
            )),
        }
    }
}

/// The catalog entry for a model name, if it is one we know.
pub fn find(id: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::size::Size;

    #[test]
    fn default_model_is_in_the_catalog_and_current() {
        let model = find(DEFAULT_MODEL).expect("default model in catalog");
        assert_eq!(model.status, ModelStatus::Current);
    }

    #[test]
    fn ids_are_unique() {
        for (i, a) in MODELS.iter().enumerate() {
            for b in &MODELS[i + 1..] {
                assert_ne!(a.id, b.id);
            }
        }
    }

    #[test]
    fn every_model_has_a_valid_default_request_shape() {
        for model in MODELS {
            assert!(!model.sizes.is_empty(), "{} has sizes", model.id);
            assert!(!model.qualities.is_empty(), "{} has qualities", model.id);
            assert!(model.n_max >= 1, "{} makes at least one image", model.id);
            for size in model.sizes {
                assert!(
                    *size == "auto" || Size::parse(size).is_some(),
                    "{}: preset {size} parses",
                    model.id
                );
                if let (Some(rule), Some(parsed)) = (model.custom_sizes, Size::parse(size)) {
                    assert_eq!(
                        rule.check(parsed),
                        Ok(()),
                        "{}: preset {size} obeys its rule",
                        model.id
                    );
                }
            }
        }
    }

    #[test]
    fn retired_and_deprecated_models_carry_their_dates() {
        let dalle3 = find("dall-e-3").unwrap();
        assert!(dalle3.is_retired());
        assert!(dalle3.status_note().unwrap().contains("2026-05-12"));
        let gpt1 = find("gpt-image-1").unwrap();
        assert_eq!(
            gpt1.status,
            ModelStatus::ShutDown {
                since: "2026-10-23"
            }
        );
        let mini = find("gpt-image-1-mini").unwrap();
        assert!(mini.status_note().unwrap().contains("2026-12-01"));
    }

    #[test]
    fn facts_from_the_reference() {
        let dalle2 = find("dall-e-2").unwrap();
        assert_eq!(dalle2.sizes, &["256x256", "512x512", "1024x1024"]);
        assert_eq!(dalle2.prompt_max_chars, 1000);
        assert_eq!(dalle2.results, ResultEncoding::UrlOrBase64);
        let dalle3 = find("dall-e-3").unwrap();
        assert_eq!(dalle3.n_max, 1);
        assert_eq!(dalle3.styles, &["vivid", "natural"]);
        let flare = find("gpt-image-2.5-flare").unwrap();
        assert!(flare.qualities.contains(&"xhigh") && flare.qualities.contains(&"max"));
        assert!(find("gpt-image-2").unwrap().custom_sizes.is_some());
        assert!(find("gpt-image-1.5").unwrap().custom_sizes.is_none());
        assert!(find("no-such-model").is_none());
    }
}
