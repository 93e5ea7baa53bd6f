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
    /// For a dated snapshot (`gpt-image-2-2026-04-21`): the model name it pins.
    pub snapshot_of: Option<&'static str>,
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
    /// `complexity` values (planning effort, independent of quality); empty when not taken.
    /// The model chooses when it is omitted.
    pub complexities: &'static [&'static str],
    /// Whether it takes `moderation` (`auto` or `low`).
    pub moderation: bool,
    pub results: ResultEncoding,
    /// Whether it can stream (`stream: true`, with 0–3 `partial_images` previews).
    pub streams: bool,
    /// Whether `/images/edits` takes it.
    pub edits: bool,
    /// Whether its edits take `input_fidelity` (`high` or `low`).
    pub input_fidelity: bool,
    /// Whether its edits take a `markup` guide (a transparent PNG drawn over the first image).
    pub markup: bool,
    /// Where these facts come from, so a wrong one can be traced and corrected.
    pub source: &'static str,
}

/// Animated GIF output (`output_format: gif`, sdk): `frame_count` 2–16 (9 when omitted),
/// `frame_duration_ms` 200 when omitted and rounded by the API to 10 ms. No streaming, previews,
/// compression or masks; the API asks for preview access.
pub const GIF_FRAMES: std::ops::RangeInclusive<u32> = 2..=16;
pub const GIF_DEFAULT_FRAMES: u32 = 9;
pub const GIF_DEFAULT_FRAME_MS: u32 = 200;
/// GIF stores delays in hundredths of a second, in 16 bits: the longest a frame can last.
/// The API's own upper bound is not published; this is the format's.
pub const GIF_FRAME_MS: std::ops::RangeInclusive<u32> = 10..=655_350;
/// `svg.reasoning.effort` values for the SVG author model (assumed from the OpenAI reasoning
/// efforts; the SDK types it as a string).
pub const SVG_EFFORTS: &[&str] = &["low", "medium", "high"];
/// `input_fidelity` values for edits.
pub const INPUT_FIDELITIES: &[&str] = &["low", "high"];
/// `moderation` values.
pub const MODERATIONS: &[&str] = &["auto", "low"];

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

    /// Why an output format this family knows is not offered here, or what it restricts:
    /// the one line the form shows beside the choice.
    pub fn format_note(&self, format: &str) -> Option<&'static str> {
        let offered = self.output_formats.contains(&format);
        match format {
            "gif" | "svg" if !offered => Some("GIF and SVG need a gpt-image-2.6 model."),
            "gif" => {
                Some("Animated; no previews or compression. OpenAI may require preview access.")
            }
            "svg" => Some("One image per request; no previews or compression."),
            _ if self.output_formats.is_empty() => {
                Some("This model always returns PNG and takes no format.")
            }
            _ => None,
        }
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

/// Whether `text` is a real calendar date written `YYYY-MM-DD` (the catalog's dates).
pub fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &text[range];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
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
    fn every_models_options_are_consistent() {
        for m in MODELS {
            let id = m.id;
            assert!(!m.source.is_empty(), "{id} names its source");
            if let Some(alias) = m.snapshot_of {
                let of = find(alias).unwrap_or_else(|| panic!("{id}: {alias} in the catalog"));
                assert!(
                    of.snapshot_of.is_none(),
                    "{id} pins a model, not a snapshot"
                );
                let date = id.strip_prefix(alias).and_then(|d| d.strip_prefix('-'));
                assert!(date.is_some_and(is_date), "{id} ends in its date");
                let same = Model {
                    id: of.id,
                    snapshot_of: None,
                    ..*m
                };
                assert_eq!(same, *of, "{id} accepts what {alias} accepts");
            }
            match m.status {
                ModelStatus::Current => {}
                ModelStatus::Deprecated { shutdown: date }
                | ModelStatus::ShutDown { since: date } => {
                    assert!(is_date(date), "{id}: {date} is a date")
                }
            }
            // A transparent background needs png or webp, so offering it needs one of them.
            if m.backgrounds.contains(&"transparent") {
                assert!(
                    m.output_formats.iter().any(|f| *f == "png" || *f == "webp"),
                    "{id}"
                );
            }
            assert!(
                !m.transparent_is_preview || m.backgrounds.contains(&"transparent"),
                "{id}"
            );
            // GIF and SVG come only as base64 and never stream; the form and validation
            // rely on these coming with the newest models' other options.
            if m.output_formats.iter().any(|f| *f == "gif" || *f == "svg") {
                assert_eq!(m.results, ResultEncoding::AlwaysBase64, "{id}");
                assert!(!m.complexities.is_empty(), "{id}");
            }
            if m.results == ResultEncoding::UrlOrBase64 {
                assert!(
                    m.output_formats.is_empty() && !m.moderation && !m.streams,
                    "{id}"
                );
            }
            assert!(!m.markup || m.edits, "{id}: markup is an edit guide");
            assert!(
                !m.input_fidelity || m.edits,
                "{id}: input_fidelity is an edit option"
            );
            assert!(
                m.styles.is_empty() || m.results == ResultEncoding::UrlOrBase64,
                "{id}"
            );
            for list in [
                m.sizes,
                m.qualities,
                m.output_formats,
                m.backgrounds,
                m.styles,
                m.complexities,
            ] {
                for (i, a) in list.iter().enumerate() {
                    assert!(!list[i + 1..].contains(a), "{id}: {a} listed once");
                }
            }
            for format in m.output_formats {
                assert!(
                    crate::files::ImageFormat::from_output_format(format).is_some(),
                    "{id}: {format}"
                );
            }
        }
        assert!(GIF_FRAMES.contains(&GIF_DEFAULT_FRAMES));
        assert!(GIF_FRAME_MS.contains(&GIF_DEFAULT_FRAME_MS));
    }

    #[test]
    fn every_model_of_the_reference_is_in_the_catalog() {
        for id in [
            "gpt-image-2.6-flare",
            "gpt-image-2.6-sunburst",
            "gpt-image-2.5-flare",
            "gpt-image-2.5-flare-2026-09-08",
            "gpt-image-2.5-sunburst",
            "gpt-image-2.5-sunburst-2026-09-08",
            "gpt-image-2",
            "gpt-image-2-2026-04-21",
            "gpt-image-1.5",
            "gpt-image-1-mini",
            "chatgpt-image-latest",
            "gpt-image-1",
            "dall-e-3",
            "dall-e-2",
        ] {
            assert!(find(id).is_some(), "{id}");
        }
        let flare = find("gpt-image-2.6-flare").unwrap();
        assert!(flare.output_formats.contains(&"gif") && flare.output_formats.contains(&"svg"));
        assert_eq!(flare.complexities, &["low", "medium", "high"]);
        assert!(
            !find("gpt-image-2.5-flare")
                .unwrap()
                .output_formats
                .contains(&"gif")
        );
        assert!(!find("gpt-image-1-mini").unwrap().input_fidelity);
        assert!(find("gpt-image-2.5-sunburst").unwrap().markup);
        assert!(!find("gpt-image-2").unwrap().markup);
        assert!(!find("dall-e-3").unwrap().edits);
    }

    #[test]
    fn dates_are_checked_as_dates() {
        assert!(is_date("2026-12-01"));
        assert!(is_date("2028-02-29"));
        assert!(!is_date("2026-02-29"));
        assert!(!is_date("2026-13-01"));
        assert!(!is_date("2026-04-31"));
        assert!(!is_date("2026-4-01"));
        assert!(!is_date("20x6-04-01"));
        assert!(!is_date("2026-04-00"));
    }

    #[test]
    fn unavailable_formats_say_why() {
        let gpt2 = find("gpt-image-2").unwrap();
        assert!(gpt2.format_note("gif").unwrap().contains("2.6"));
        let flare = find("gpt-image-2.6-flare").unwrap();
        assert!(flare.format_note("svg").unwrap().contains("One image"));
        assert_eq!(flare.format_note("png"), None);
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
