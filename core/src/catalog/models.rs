//! The catalog's data: one entry per model. Each entry names its source in `source`:
//! - "spec": the official OpenAPI spec (2026-08-21) for gpt-image-1.x, gpt-image-2 and DALL·E;
//! - "sdk": the Python SDK's types (openai 3.57.0, late 2026), §7 of
//!   `shared/reference/openai-images-api.md`: the 2.5 models, the dated snapshots, shutdowns;
//! - "third-party": pages quoted in that reference (apidog, apiyi, OpenAI's 2.6 model page) for
//!   the 2.6 models, whose exact limits OpenAI's machine-readable sources do not show yet.
//!
//! Facts marked "assumed" or "measured" are the first to correct when OpenAI publishes numbers.

use super::{Model, ModelStatus, ResultEncoding};
use crate::size::CustomSizeRule;

const GPT_SIZES: &[&str] = &["auto", "1024x1024", "1536x1024", "1024x1536"];
const GPT2_SIZES: &[&str] = &[
    "auto",
    "1024x1024",
    "1536x1024",
    "1024x1536",
    "2048x2048",
    "2048x1152",
    "1152x2048",
    "3840x2160",
    "2160x3840",
];
const GPT_QUALITIES: &[&str] = &["auto", "low", "medium", "high"];
const GPT25_QUALITIES: &[&str] = &["auto", "low", "medium", "high", "xhigh", "max"];
const GPT_FORMATS: &[&str] = &["png", "jpeg", "webp"];
/// 2.6 adds animated GIF and SVG (third-party; OpenAI's model page mentions both).
const GPT26_FORMATS: &[&str] = &["png", "jpeg", "webp", "gif", "svg"];
const GPT_BACKGROUNDS: &[&str] = &["auto", "opaque", "transparent"];
const NONE: &[&str] = &[];
/// Planning effort, independent of quality; the model's default (high) when omitted.
const GPT26_COMPLEXITIES: &[&str] = &["low", "medium", "high"];

/// gpt-image-2 and later: both sides multiples of 16, aspect within 1:3..3:1, at most 3840 px
/// a side and 8,294,400 px in all (3840x2160); the floor of 655,360 px is measured.
const GPT2_CUSTOM: CustomSizeRule = CustomSizeRule {
    multiple_of: 16,
    max_aspect: 3,
    max_edge: 3840,
    min_pixels: 655_360,
    max_pixels: 8_294_400,
    experimental_above_pixels: 2560 * 1440,
};

/// The family a GPT image model belongs to: what differs between generations.
#[derive(Clone, Copy)]
enum Gen {
    /// gpt-image-1, -1-mini, -1.5, chatgpt-image-latest: three sizes, no custom ones.
    One { input_fidelity: bool },
    /// gpt-image-2 (+dated): custom sizes, transparency in preview.
    Two,
    /// gpt-image-2.5-*: xhigh/max quality, transparency, markup edits.
    TwoFive,
    /// gpt-image-2.6-*: as 2.5, plus complexity and GIF/SVG output.
    TwoSix,
}

const fn gpt_image(
    id: &'static str,
    snapshot_of: Option<&'static str>,
    blurb: &'static str,
    status: ModelStatus,
    generation: Gen,
    source: &'static str,
) -> Model {
    let (custom, qualities, formats, complexities, input_fidelity, markup, preview) =
        match generation {
            Gen::One { input_fidelity } => (
                false,
                GPT_QUALITIES,
                GPT_FORMATS,
                NONE,
                input_fidelity,
                false,
                false,
            ),
            Gen::Two => (true, GPT_QUALITIES, GPT_FORMATS, NONE, true, false, true),
            Gen::TwoFive => (true, GPT25_QUALITIES, GPT_FORMATS, NONE, true, true, false),
            Gen::TwoSix => (
                true,
                GPT25_QUALITIES,
                GPT26_FORMATS,
                GPT26_COMPLEXITIES,
                true,
                true,
                false,
            ),
        };
    Model {
        id,
        snapshot_of,
        blurb,
        status,
        prompt_max_chars: 32_000,
        n_max: 10,
        sizes: if custom { GPT2_SIZES } else { GPT_SIZES },
        custom_sizes: if custom { Some(GPT2_CUSTOM) } else { None },
        qualities,
        output_formats: formats,
        backgrounds: GPT_BACKGROUNDS,
        transparent_is_preview: preview,
        styles: &[],
        complexities,
        moderation: true,
        results: ResultEncoding::AlwaysBase64,
        streams: true,
        edits: true,
        input_fidelity,
        markup,
        source,
    }
}

const DEPRECATED_DEC_1: ModelStatus = ModelStatus::Deprecated {
    shutdown: "2026-12-01",
};

pub static MODELS: &[Model] = &[
    gpt_image(
        "gpt-image-2.6-flare",
        None,
        "Fast; animated GIF and SVG, complexity",
        ModelStatus::Current,
        Gen::TwoSix,
        "third-party (apidog, apiyi) and OpenAI's model page, 2026-11-04",
    ),
    gpt_image(
        "gpt-image-2.6-sunburst",
        None,
        "Most detailed; animated GIF and SVG, complexity",
        ModelStatus::Current,
        Gen::TwoSix,
        "third-party (apidog, apiyi) and OpenAI's model page, 2026-11-04",
    ),
    gpt_image(
        "gpt-image-2.5-flare",
        None,
        "Fast; xhigh and max quality",
        ModelStatus::Current,
        Gen::TwoFive,
        "sdk",
    ),
    gpt_image(
        "gpt-image-2.5-flare-2026-09-08",
        Some("gpt-image-2.5-flare"),
        "Fast; xhigh and max quality",
        ModelStatus::Current,
        Gen::TwoFive,
        "sdk",
    ),
    gpt_image(
        "gpt-image-2.5-sunburst",
        None,
        "Most detailed; xhigh and max quality",
        ModelStatus::Current,
        Gen::TwoFive,
        "sdk",
    ),
    gpt_image(
        "gpt-image-2.5-sunburst-2026-09-08",
        Some("gpt-image-2.5-sunburst"),
        "Most detailed; xhigh and max quality",
        ModelStatus::Current,
        Gen::TwoFive,
        "sdk",
    ),
    gpt_image(
        "gpt-image-2",
        None,
        "Any size up to 4K",
        ModelStatus::Current,
        Gen::Two,
        "spec",
    ),
    gpt_image(
        "gpt-image-2-2026-04-21",
        Some("gpt-image-2"),
        "Any size up to 4K",
        ModelStatus::Current,
        Gen::Two,
        "spec",
    ),
    gpt_image(
        "gpt-image-1.5",
        None,
        "Previous generation",
        DEPRECATED_DEC_1,
        Gen::One {
            input_fidelity: true,
        },
        "spec; shutdown from OpenAI's deprecations page",
    ),
    gpt_image(
        "gpt-image-1-mini",
        None,
        "Low cost",
        DEPRECATED_DEC_1,
        // The spec: input_fidelity "not supported on gpt-image-1-mini".
        Gen::One {
            input_fidelity: false,
        },
        "spec; shutdown from OpenAI's deprecations page",
    ),
    gpt_image(
        "chatgpt-image-latest",
        None,
        "The model ChatGPT uses",
        DEPRECATED_DEC_1,
        Gen::One {
            input_fidelity: true,
        },
        // The spec lists it for edits only; the SDKs' ImageModel (used for generations too)
        // lists it as well: assumed to generate like gpt-image-1.5.
        "sdk (generations assumed); shutdown from OpenAI's deprecations page",
    ),
    gpt_image(
        "gpt-image-1",
        None,
        "The first GPT image model",
        ModelStatus::ShutDown {
            since: "2026-10-23",
        },
        Gen::One {
            input_fidelity: true,
        },
        "spec; shutdown from the sdk",
    ),
    Model {
        id: "dall-e-3",
        snapshot_of: None,
        blurb: "One image per request; rewrites prompts",
        status: ModelStatus::ShutDown {
            since: "2026-05-12",
        },
        prompt_max_chars: 4_000,
        n_max: 1,
        sizes: &["1024x1024", "1792x1024", "1024x1792"],
        custom_sizes: None,
        qualities: &["standard", "hd"],
        output_formats: &[],
        backgrounds: &[],
        transparent_is_preview: false,
        styles: &["vivid", "natural"],
        complexities: &[],
        moderation: false,
        results: ResultEncoding::UrlOrBase64,
        streams: false,
        edits: false,
        input_fidelity: false,
        markup: false,
        source: "spec; shutdown from OpenAI's model page",
    },
    Model {
        id: "dall-e-2",
        snapshot_of: None,
        blurb: "Small square images",
        status: ModelStatus::ShutDown {
            since: "2026-05-12",
        },
        prompt_max_chars: 1_000,
        n_max: 10,
        sizes: &["256x256", "512x512", "1024x1024"],
        custom_sizes: None,
        qualities: &["standard"],
        output_formats: &[],
        backgrounds: &[],
        transparent_is_preview: false,
        styles: &[],
        complexities: &[],
        moderation: false,
        results: ResultEncoding::UrlOrBase64,
        streams: false,
        edits: true,
        input_fidelity: false,
        markup: false,
        source: "spec; shutdown from OpenAI's model page",
    },
];
