//! The Images API's request and response shapes.
//!
//! Responses are parsed tolerantly: unknown fields are ignored and every enum-like value
//! (`size`, `quality`, `output_format`…) is a plain string, because compatible servers and new
//! models keep adding values.

use serde::{Deserialize, Serialize};

use crate::catalog::{self, ResultEncoding};
use crate::files::ImageFormat;

/// `POST /images/generations`. Only the fields that are set are sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationRequest {
    pub prompt: String,
    #[serde(default)]
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_compression: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation: Option<String>,
    /// Answer as Server-Sent Events (GPT image models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Previews sent before each finished image when streaming, 0–3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_images: Option<u32>,
    /// Planning effort, `low`/`medium`/`high` (gpt-image-2.6); the model's default when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complexity: Option<String>,
    /// Frames of an animated GIF (`output_format: gif`), 2–16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_count: Option<u32>,
    /// How long each GIF frame shows, in ms (the API rounds to 10 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_duration_ms: Option<u32>,
    /// Who writes an SVG (`output_format: svg`), and how hard it thinks; sent as
    /// `{"model": …, "reasoning": {"effort": …}}`. Never read back by serde: a deserializer for
    /// it costs every visitor a few KB of wasm, so a server reading requests (the relay) takes
    /// it from the body itself ([`SvgAuthor::from_json`]).
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub svg: Option<SvgAuthor>,
    /// A stable, anonymous id of the person asking (replaces the deprecated `user`), so OpenAI
    /// can tell one abusive user from a whole app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    /// Edits only: how closely the result keeps the input images' details, `low` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_fidelity: Option<String>,
}

impl GenerationRequest {
    /// A request with the model's defaults: one image, default size and quality, and base64
    /// results where the model lets us choose (URLs expire after an hour).
    pub fn for_model(model: &str, prompt: &str) -> GenerationRequest {
        let mut request = GenerationRequest {
            prompt: prompt.to_owned(),
            model: model.to_owned(),
            n: Some(1),
            ..GenerationRequest::default()
        };
        if let Some(entry) = catalog::find(model) {
            request.size = Some(entry.default_size().to_owned());
            request.quality = entry.default_quality().map(str::to_owned);
            request.output_format = entry.default_output_format().map(str::to_owned);
            if entry.results == ResultEncoding::UrlOrBase64 {
                request.response_format = Some("b64_json".to_owned());
            }
        }
        request
    }

    /// Sets `svg` from the SVG author model and its reasoning effort; neither removes it.
    pub fn set_svg_author(&mut self, model: Option<&str>, effort: Option<&str>) {
        self.svg = (model.is_some() || effort.is_some()).then(|| SvgAuthor {
            model: model.map(str::to_owned),
            effort: effort.map(str::to_owned),
            well_formed: true,
        });
    }

    /// `svg.model` and `svg.reasoning.effort`.
    pub fn svg_author(&self) -> (Option<&str>, Option<&str>) {
        self.svg.as_ref().map_or((None, None), |svg| {
            (svg.model.as_deref(), svg.effort.as_deref())
        })
    }

    /// How many images this request asks for (the API's default is one).
    pub fn image_count(&self) -> u32 {
        self.n.unwrap_or(1)
    }

    /// The most bytes a genuine answer to this request can have; anything longer is refused
    /// unread. Each image is bounded by its uncompressed size (4 bytes a pixel, or one a pixel
    /// a frame for a GIF), a quarter more for a stored PNG's or GIF's overhead, then 4/3 for
    /// base64, plus room for the JSON around it. A size that is not `WxH` (`auto`, none) counts
    /// as 4096 × 4096, the largest any model draws. So one 1024² image allows ~8 MB and ten
    /// 4096² ones ~1.1 GB: no real answer is refused, and a runaway body (a broken proxy, an
    /// endless stream) stops at a bound that follows the request rather than at wasm's 4 GB.
    pub fn answer_limit_bytes(&self) -> u64 {
        let pixels = self
            .size
            .as_deref()
            .and_then(crate::size::Size::parse)
            .map_or(4096 * 4096, crate::size::Size::pixels);
        let frames = match self.output_format.as_deref() {
            Some("gif") => u64::from(
                self.frame_count
                    .unwrap_or(*crate::catalog::GIF_FRAMES.end()),
            ),
            _ => 0,
        };
        let raw = (pixels * 4).max(pixels * frames);
        let per_image = (raw + raw / 4) / 3 * 4 + 64 * 1024;
        u64::from(self.image_count().max(1)) * per_image + 1024 * 1024
    }

    /// The file extension the results will most likely have, before any bytes are seen.
    pub fn expected_extension(&self) -> &str {
        self.output_format
            .as_deref()
            .and_then(ImageFormat::from_output_format)
            .map_or("png", ImageFormat::extension)
    }
}

/// The `svg` object of a request: the model that writes the SVG and its reasoning effort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SvgAuthor {
    pub model: Option<String>,
    pub effort: Option<String>,
    /// False when the body's `svg` was not `{"model": text, "reasoning": {"effort": text}}`.
    pub well_formed: bool,
}

impl SvgAuthor {
    /// Reads a request body's `svg` value.
    pub fn from_json(value: &serde_json::Value) -> SvgAuthor {
        let text = |v: Option<&serde_json::Value>| match v {
            None => Ok(None),
            Some(v) => v.as_str().map(|s| Some(s.to_owned())).ok_or(()),
        };
        let (model, effort) = (
            text(value.get("model")),
            text(value.pointer("/reasoning/effort")),
        );
        SvgAuthor {
            well_formed: value.is_object() && model.is_ok() && effort.is_ok(),
            model: model.unwrap_or_default(),
            effort: effort.unwrap_or_default(),
        }
    }
}

impl Serialize for SvgAuthor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some(model) = &self.model {
            map.serialize_entry("model", model)?;
        }
        if let Some(effort) = &self.effort {
            map.serialize_entry("reasoning", &Reasoning { effort })?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Reasoning<'a> {
    effort: &'a str,
}

/// The body of a successful images response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagesResponse {
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub data: Vec<ImageData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What writing an SVG cost (`output_format: svg`), billed apart from the image:
    /// `{"model", "input_tokens", "output_tokens"}`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svg_usage: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b64_json: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revised_prompt: Option<String>,
}

/// Token usage of GPT image models. Every field is optional: servers differ.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_details: Option<TokenDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_details: Option<TokenDetails>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
}

/// `{"error": {...}}`, the API's error envelope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    /// Some servers send numbers here; anything that is not a string is dropped.
    #[serde(default, deserialize_with = "string_or_none")]
    pub code: Option<String>,
}

impl ErrorEnvelope {
    pub fn new(
        message: impl Into<String>,
        kind: &str,
        param: Option<&str>,
        code: Option<&str>,
    ) -> Self {
        ErrorEnvelope {
            error: ErrorBody {
                message: message.into(),
                kind: Some(kind.to_owned()),
                param: param.map(str::to_owned),
                code: code.map(str::to_owned),
            },
        }
    }
}

fn string_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_sends_only_what_is_set() {
        let request = GenerationRequest::for_model("gpt-image-2", "a fox");
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "prompt": "a fox", "model": "gpt-image-2", "n": 1,
                "size": "auto", "quality": "auto", "output_format": "png"
            })
        );
    }

    #[test]
    fn the_answer_limit_follows_the_request_and_admits_the_largest_real_answer() {
        let mut request = GenerationRequest::for_model("gpt-image-2", "a fox");
        request.size = Some("1024x1024".into());
        let one = request.answer_limit_bytes();
        // A 1024² RGBA PNG stored uncompressed, in base64, fits; a 10 MB answer does not.
        assert!(one > 1024 * 1024 * 4 * 4 / 3, "{one}");
        assert!(one < 10_000_000, "{one}");
        request.n = Some(10);
        request.size = Some("4096x4096".into());
        let most = request.answer_limit_bytes();
        assert!(most > 10 * 4096 * 4096 * 4 * 4 / 3, "{most}");
        request.size = Some("auto".into());
        assert_eq!(
            request.answer_limit_bytes(),
            most,
            "auto counts as the largest size"
        );
        request.n = Some(1);
        request.size = Some("512x512".into());
        request.output_format = Some("gif".into());
        request.frame_count = Some(16);
        assert!(request.answer_limit_bytes() > 512 * 512 * 16 * 4 / 3);
    }

    #[test]
    fn dalle_asks_for_base64_because_urls_expire() {
        let request = GenerationRequest::for_model("dall-e-3", "a fox");
        assert_eq!(request.response_format.as_deref(), Some("b64_json"));
        assert_eq!(request.output_format, None);
        assert_eq!(request.size.as_deref(), Some("1024x1024"));
    }

    #[test]
    fn unknown_models_get_no_guessed_parameters() {
        let request = GenerationRequest::for_model("flux-dev", "a fox");
        assert_eq!(request.size, None);
        assert_eq!(request.quality, None);
        assert_eq!(request.response_format, None);
    }

    #[test]
    fn parses_the_spec_example_and_ignores_unknown_fields() {
        let body = r#"{
          "created": 1713833628,
          "data": [{"b64_json": "aGk=", "future_field": 3}],
          "background": "transparent", "output_format": "png",
          "size": "2048x1152", "quality": "xhigh",
          "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
                    "input_tokens_details": {"text_tokens": 10, "image_tokens": 40}},
          "svg_usage": {"model": "x"}
        }"#;
        let response: ImagesResponse = serde_json::from_str(body).unwrap();
        assert_eq!(response.svg_usage.as_ref().unwrap()["model"], "x");
        assert_eq!(response.data.len(), 1);
        assert_eq!(response.size.as_deref(), Some("2048x1152"));
        assert_eq!(response.quality.as_deref(), Some("xhigh"));
        assert_eq!(
            response
                .usage
                .unwrap()
                .input_tokens_details
                .unwrap()
                .image_tokens,
            Some(40)
        );
    }

    #[test]
    fn parses_url_results_and_minimal_bodies() {
        let body = r#"{"created": 1, "data": [{"url": "https://example.com/a.png", "revised_prompt": "A fox."}]}"#;
        let response: ImagesResponse = serde_json::from_str(body).unwrap();
        assert_eq!(
            response.data[0].url.as_deref(),
            Some("https://example.com/a.png")
        );
        assert_eq!(response.data[0].revised_prompt.as_deref(), Some("A fox."));
        let bare: ImagesResponse = serde_json::from_str("{}").unwrap();
        assert!(bare.data.is_empty());
    }

    #[test]
    fn error_envelope_tolerates_numeric_and_missing_codes() {
        let e: ErrorEnvelope =
            serde_json::from_str(r#"{"error":{"message":"m","code":429}}"#).unwrap();
        assert_eq!(e.error.code.as_deref(), Some("429"));
        assert_eq!(e.error.kind, None);
        let e: ErrorEnvelope = serde_json::from_str(
            r#"{"error":{"message":"m","type":"t","param":null,"code":null}}"#,
        )
        .unwrap();
        assert_eq!(e.error.code, None);
    }

    #[test]
    fn expected_extension_follows_format() {
        let mut r = GenerationRequest::for_model("gpt-image-2", "x");
        assert_eq!(r.expected_extension(), "png");
        r.output_format = Some("jpeg".into());
        assert_eq!(r.expected_extension(), "jpg");
        r.output_format = Some("webp".into());
        assert_eq!(r.expected_extension(), "webp");
        r.output_format = Some("gif".into());
        assert_eq!(r.expected_extension(), "gif");
        r.output_format = Some("svg".into());
        assert_eq!(r.expected_extension(), "svg");
    }

    #[test]
    fn svg_author_is_read_from_a_body_and_checked_for_shape() {
        let good = SvgAuthor::from_json(
            &serde_json::json!({"model": "m", "reasoning": {"effort": "low"}}),
        );
        assert_eq!(
            (
                good.model.as_deref(),
                good.effort.as_deref(),
                good.well_formed
            ),
            (Some("m"), Some("low"), true)
        );
        for bad in [
            serde_json::json!("gpt-5"),
            serde_json::json!({"model": 5}),
            serde_json::json!({"reasoning": {"effort": ["low"]}}),
        ] {
            assert!(!SvgAuthor::from_json(&bad).well_formed, "{bad}");
        }
        assert!(
            SvgAuthor::from_json(&serde_json::json!({})).well_formed,
            "both are optional"
        );
    }

    #[test]
    fn gif_and_svg_fields_use_the_api_names() {
        let mut r = GenerationRequest::for_model("gpt-image-2.6-flare", "a fox");
        r.output_format = Some("svg".into());
        r.set_svg_author(Some("gpt-5"), Some("low"));
        assert_eq!(r.svg_author(), (Some("gpt-5"), Some("low")));
        r.complexity = Some("medium".into());
        r.safety_identifier = Some("user-1".into());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["svg"],
            serde_json::json!({"model": "gpt-5", "reasoning": {"effort": "low"}})
        );
        assert_eq!(json["complexity"], "medium");
        assert_eq!(json["safety_identifier"], "user-1");
        r.output_format = Some("gif".into());
        r.svg = None;
        r.frame_count = Some(4);
        r.frame_duration_ms = Some(120);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            (
                json["frame_count"].as_u64(),
                json["frame_duration_ms"].as_u64()
            ),
            (Some(4), Some(120))
        );
        assert!(json.get("svg").is_none() && json.get("input_fidelity").is_none());
    }
}
