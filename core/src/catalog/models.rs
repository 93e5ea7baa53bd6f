//! The catalog's data: one entry per model. Sources: `shared/reference/openai-images-api.md`
//! (the official spec for gpt-image-1.x, gpt-image-2 and DALL·E; §7, the Python SDK's types,
//! for 2.5 and the shutdown dates). Facts marked "measured" come from third-party reports and
//! are the first to correct when OpenAI publishes numbers.

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
const GPT_BACKGROUNDS: &[&str] = &["auto", "opaque", "transparent"];

/// gpt-image-2 and 2.5: both sides multiples of 16, aspect within 1:3..3:1, at most 3840 px
/// a side and 8,294,400 px in all (3840x2160); the floor of 655,360 px is measured.
const GPT2_CUSTOM: CustomSizeRule = CustomSizeRule {
    multiple_of: 16,
    max_aspect: 3,
    max_edge: 3840,
    min_pixels: 655_360,
    max_pixels: 8_294_400,
    experimental_above_pixels: 2560 * 1440,
};

const fn gpt_image(
    id: &'static str,
    blurb: &'static str,
    status: ModelStatus,
    qualities: &'static [&'static str],
    custom: bool,
    transparent_is_preview: bool,
) -> Model {
    Model {
        id,
        blurb,
        status,
        prompt_max_chars: 32_000,
        n_max: 10,
        sizes: if custom { GPT2_SIZES } else { GPT_SIZES },
        custom_sizes: if custom { Some(GPT2_CUSTOM) } else { None },
        qualities,
        output_formats: GPT_FORMATS,
        backgrounds: GPT_BACKGROUNDS,
        transparent_is_preview,
        styles: &[],
        results: ResultEncoding::AlwaysBase64,
        streams: true,
    }
}

pub static MODELS: &[Model] = &[
    gpt_image(
        "gpt-image-2",
        "The default; any size up to 4K",
        ModelStatus::Current,
        GPT_QUALITIES,
        true,
        true,
    ),
    gpt_image(
        "gpt-image-2.5-flare",
        "Fast; xhigh and max quality",
        ModelStatus::Current,
        GPT25_QUALITIES,
        true,
        false,
    ),
    gpt_image(
        "gpt-image-2.5-sunburst",
        "Most detailed; xhigh and max quality",
        ModelStatus::Current,
        GPT25_QUALITIES,
        true,
        false,
    ),
    gpt_image(
        "gpt-image-1.5",
        "Previous generation",
        ModelStatus::Deprecated {
            shutdown: "2026-12-01",
        },
        GPT_QUALITIES,
        false,
        false,
    ),
    gpt_image(
        "gpt-image-1-mini",
        "Low cost",
        ModelStatus::Deprecated {
            shutdown: "2026-12-01",
        },
        GPT_QUALITIES,
        false,
        false,
    ),
    gpt_image(
        "gpt-image-1",
        "The first GPT image model",
        ModelStatus::ShutDown {
            since: "2026-10-23",
        },
        GPT_QUALITIES,
        false,
        false,
    ),
    Model {
        id: "dall-e-3",
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
        results: ResultEncoding::UrlOrBase64,
        streams: false,
    },
    Model {
        id: "dall-e-2",
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
        results: ResultEncoding::UrlOrBase64,
        streams: false,
    },
];
