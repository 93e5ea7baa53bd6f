//! The offline generator: answers `POST /v1/images/generations`, `/edits` and `/variations`
//! the way the Images API does (validation errors, sizes, formats, `b64_json` or expiring URLs,
//! usage, revised prompts, streamed partial images), with deterministic pictures drawn here, so
//! Easel runs and is tested without a network. In test mode it also fails on request.

use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use easel_core::api::TokenDetails;
use easel_core::catalog::{self, ResultEncoding};
use easel_core::{GenerationRequest, ImageData, ImagesResponse, Size, Usage, validate};

use crate::inspect::{Incoming, Operation};
use crate::{AppError, AppState, Config};

pub mod draw;
mod edit;
mod fault;
mod gif_svg;
mod store;
mod stream;

use draw::{Format, Spec};
pub use fault::Fault;
pub use store::ImageStore;
use store::StoredImage;
pub(crate) use store::random_hex;

/// The API's size when none (or `auto`) is asked for.
const DEFAULT_SIZE: Size = Size {
    width: 1024,
    height: 1024,
};

/// Bounds for models outside the catalog, whose sizes are free-form: enough for 4K, not
/// enough to exhaust memory.
const MAX_EDGE: u32 = 4096;
const MAX_PIXELS: u64 = 4096 * 2304;

/// Answers an image request that passed the relay's checks.
pub(crate) async fn answer(state: &AppState, incoming: Incoming) -> Response {
    // Dropping this future (the client went away) cancels the wait and the remaining images.
    let mut response = match incoming.fault.filter(|f| f.applies()) {
        Some(fault) => {
            tokio::time::sleep(state.config.generator_latency).await;
            fault.respond(state.config.upstream_timeout).await
        }
        None => match incoming.operation {
            Operation::Generations => generate(state, &incoming).await,
            Operation::Edits => edit::edit(state, &incoming).await,
            Operation::Variations => edit::variations(state, &incoming).await,
        }
        .unwrap_or_else(IntoResponse::into_response),
    };
    let id = HeaderValue::from_str(&format!("req_{}", random_hex()))
        .expect("hex is a valid header value");
    response.headers_mut().insert("x-request-id", id);
    response
}

async fn generate(state: &AppState, incoming: &Incoming) -> Result<Response, AppError> {
    let request = parse(&incoming.body)?;
    if let Some(problem) = validate(&request).into_iter().next() {
        return Err(AppError::InvalidRequest {
            message: problem.message,
            param: Some(problem.param.to_owned()),
            code: "invalid_value",
        });
    }
    if let Some(kind) = gif_svg::Kind::of(&request) {
        return gif_svg::generate(state, &request, kind).await;
    }
    let plan = Plan::new(&request)?;
    if let Some(partials) = stream::requested(&request.model, &incoming.form)? {
        let (prompt, spec) = (request.prompt.clone(), plan.spec);
        let job = stream::Job {
            kind: "image_generation",
            count: request.image_count(),
            partials,
            latency: state.config.generator_latency,
            usage: usage(&request.prompt, plan_size(&plan), plan.quality(), 1),
            plan,
            render: Arc::new(move |index| {
                draw::picture_with_partials(&prompt, index, &spec, partials)
            }),
        };
        return Ok(stream::respond(job));
    }

    tokio::time::sleep(state.config.generator_latency).await;
    let mut data = Vec::new();
    for index in 0..request.image_count() {
        let prompt = request.prompt.clone();
        let spec = plan.spec;
        let bytes = blocking(move || draw::picture(&prompt, index, &spec)).await?;
        data.push(deliver(state, &incoming.origin, &plan, bytes));
    }
    let usage = plan.gpt_quality.map(|quality| {
        usage(
            &request.prompt,
            plan_size(&plan),
            quality,
            request.image_count(),
        )
    });
    Ok(Json(images_response(&plan, data, usage)).into_response())
}

/// Pictures drawn at once: one per core. More would not be done sooner, only hold their
/// buffers and a blocking thread each for longer: with a thread per request, 100 clients took
/// over 100 threads and 700 MB (tests/soak.rs); the rest wait their turn here.
static DRAWING: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(crate::workers::default_count()));

/// Runs `work` on the blocking pool once a drawing slot is free. The slot goes with the work,
/// so a request that is given up cannot leave more than one drawing per core running.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let slot = DRAWING
        .acquire()
        .await
        .expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
}

/// Runs image work off the async threads; drawing and encoding take milliseconds to seconds.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> image::ImageResult<T> + Send + 'static,
) -> Result<T, AppError> {
    off_thread(work)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// One result: inline base64, or stored for an hour behind a URL.
fn deliver(state: &AppState, origin: &str, plan: &Plan, bytes: Vec<u8>) -> ImageData {
    let (b64_json, url) = if plan.url {
        let format = plan.spec.format;
        let stored = StoredImage {
            content_type: format.mime(),
            bytes: Bytes::from(bytes),
        };
        let name = state.generated.insert(format.extension(), stored);
        (None, Some(format!("{origin}/v1/generated/{name}")))
    } else {
        (Some(STANDARD.encode(bytes)), None)
    };
    ImageData {
        b64_json,
        url,
        revised_prompt: plan.revised_prompt.clone(),
    }
}

fn plan_size(plan: &Plan) -> Size {
    Size {
        width: plan.spec.width,
        height: plan.spec.height,
    }
}

fn images_response(plan: &Plan, data: Vec<ImageData>, usage: Option<Usage>) -> ImagesResponse {
    let mut response = ImagesResponse {
        created: now(),
        data,
        ..ImagesResponse::default()
    };
    if let Some(quality) = plan.gpt_quality {
        response.size = Some(plan_size(plan).to_string());
        response.output_format = Some(plan.spec.format.name().to_owned());
        response.background = Some(plan.background().to_owned());
        response.usage = usage;
        response.quality = Some(quality.to_owned());
    }
    response
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `GET /v1/generated/{file}`: an image made for a `url` result, while it lasts.
pub(crate) async fn generated_image(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let image = state.generated.get(&file).ok_or(AppError::ImageExpired)?;
    let headers = [
        (header::CONTENT_TYPE, image.content_type),
        // Like the API's links: only for whoever asked, and only for the hour it lives.
        (header::CACHE_CONTROL, "private, max-age=3600"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    Ok((headers, image.bytes).into_response())
}

/// The body as a request, with the API's answers to broken bodies.
fn parse(body: &[u8]) -> Result<GenerationRequest, AppError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| AppError::InvalidJson { detail: None })?;
    let Some(object) = value.as_object() else {
        return Err(AppError::InvalidJson {
            detail: Some("expected a JSON object".into()),
        });
    };
    if !object.contains_key("prompt") {
        return Err(AppError::InvalidRequest {
            message: "Missing required parameter: 'prompt'.".into(),
            param: Some("prompt".into()),
            code: "missing_required_parameter",
        });
    }
    let mut request: GenerationRequest =
        serde_json::from_value(value.clone()).map_err(|error| {
            // Name the field at fault, as the API does, by trying each field on its own.
            let culprit = object.iter().find(|(key, field)| {
                let alone = serde_json::json!({ "prompt": "", *key: field });
                serde_json::from_value::<GenerationRequest>(alone).is_err()
            });
            match culprit {
                Some((key, _)) => AppError::InvalidRequest {
                    message: format!("Invalid type for '{key}': {error}."),
                    param: Some(key.clone()),
                    code: "invalid_type",
                },
                None => AppError::InvalidJson {
                    detail: Some(error.to_string()),
                },
            }
        })?;
    // Not read by serde (see `GenerationRequest::svg`): taken as the body has it.
    request.svg = object.get("svg").map(easel_core::api::SvgAuthor::from_json);
    if request.model.is_empty() {
        request.model = default_model(&request).to_owned();
    }
    Ok(request)
}

/// The API's rule for a missing `model`: dall-e-2, unless a parameter only GPT image models
/// take is present.
fn default_model(request: &GenerationRequest) -> &'static str {
    let gpt_only = request.output_format.is_some()
        || request.output_compression.is_some()
        || request.background.is_some()
        || request.moderation.is_some();
    if gpt_only { "gpt-image-1" } else { "dall-e-2" }
}

/// How a valid request is answered.
#[derive(Clone, Debug)]
struct Plan {
    spec: Spec,
    /// `url` results rather than `b64_json`.
    url: bool,
    /// For GPT image models: the resolved quality; they also report size, format, background
    /// and usage.
    gpt_quality: Option<&'static str>,
    revised_prompt: Option<String>,
}

impl Plan {
    fn quality(&self) -> &'static str {
        self.gpt_quality.unwrap_or("standard")
    }

    fn background(&self) -> &'static str {
        if self.spec.transparent {
            "transparent"
        } else {
            "opaque"
        }
    }

    fn new(request: &GenerationRequest) -> Result<Plan, AppError> {
        Plan::with_default_size(request, DEFAULT_SIZE)
    }

    /// As `new`, with the size `auto` stands for (an edit keeps its image's size).
    fn with_default_size(request: &GenerationRequest, default: Size) -> Result<Plan, AppError> {
        let model = catalog::find(&request.model);
        let size = match request.size.as_deref() {
            None | Some("auto") => default,
            Some(text) => Size::parse(text).ok_or_else(|| invalid("size", text))?,
        };
        if size.width > MAX_EDGE || size.height > MAX_EDGE || size.pixels() > MAX_PIXELS {
            return Err(AppError::InvalidRequest {
                message: format!(
                    "Invalid size '{size}': the offline generator draws at most {MAX_EDGE} pixels \
                     a side and {MAX_PIXELS} pixels in all."
                ),
                param: Some("size".into()),
                code: "invalid_value",
            });
        }
        let format = match request.output_format.as_deref() {
            None => Format::Png,
            Some(name) => Format::parse(name).ok_or_else(|| {
                invalid_choice("output_format", name, "'png', 'jpeg', and 'webp'")
            })?,
        };
        let transparent = request.background.as_deref() == Some("transparent");
        if transparent && format == Format::Jpeg {
            return Err(AppError::InvalidRequest {
                message: "A transparent background needs the png or webp output format.".into(),
                param: Some("background".into()),
                code: "invalid_value",
            });
        }
        let always_base64 = model.is_some_and(|m| m.results == ResultEncoding::AlwaysBase64);
        let url = match request.response_format.as_deref() {
            _ if always_base64 => false,
            None | Some("url") => true,
            Some("b64_json") => false,
            Some(other) => {
                return Err(invalid_choice(
                    "response_format",
                    other,
                    "'url' and 'b64_json'",
                ));
            }
        };
        let gpt_quality = always_base64.then(|| match request.quality.as_deref() {
            None | Some("auto") => "medium",
            Some(quality) => catalog_value(model.map_or(&[], |m| m.qualities), quality),
        });
        let revised_prompt = (request.model == "dall-e-3")
            .then(|| revise(&request.prompt, request.style.as_deref()));
        let jpeg_quality = request
            .output_compression
            .map_or(90, |c| c.clamp(1, 100) as u8);
        Ok(Plan {
            spec: Spec {
                width: size.width,
                height: size.height,
                format,
                transparent,
                jpeg_quality,
            },
            url,
            gpt_quality,
            revised_prompt,
        })
    }
}

/// The catalog's own `'static` copy of a value that validation already accepted.
fn catalog_value(allowed: &'static [&'static str], value: &str) -> &'static str {
    allowed
        .iter()
        .copied()
        .find(|a| *a == value)
        .unwrap_or("medium")
}

fn invalid(param: &str, value: &str) -> AppError {
    AppError::InvalidRequest {
        message: format!("Invalid value: '{value}'."),
        param: Some(param.to_owned()),
        code: "invalid_value",
    }
}

fn invalid_choice(param: &str, value: &str, supported: &str) -> AppError {
    AppError::InvalidRequest {
        message: format!("Invalid value: '{value}'. Supported values are: {supported}."),
        param: Some(param.to_owned()),
        code: "invalid_value",
    }
}

/// Plausible token counts: about four characters a text token, and image tokens that grow with
/// the area and the quality, on the scale of gpt-image-1's published table (1056 for a medium
/// 1024x1024).
fn usage(prompt: &str, size: Size, quality: &str, n: u32) -> Usage {
    let text_tokens = (prompt.chars().count() as u64).div_ceil(4).max(1);
    let per_megapixel: u64 = match quality {
        "low" => 272,
        "high" => 4160,
        "xhigh" => 6240,
        "max" => 8320,
        _ => 1056,
    };
    let output_tokens = per_megapixel * size.pixels() / (1024 * 1024) * u64::from(n);
    Usage {
        input_tokens: Some(text_tokens),
        output_tokens: Some(output_tokens),
        total_tokens: Some(text_tokens + output_tokens),
        input_tokens_details: Some(TokenDetails {
            text_tokens: Some(text_tokens),
            image_tokens: Some(0),
        }),
        output_tokens_details: None,
    }
}

/// dall-e-3 rewrites every prompt into a more detailed one; this does so the same way each time.
fn revise(prompt: &str, style: Option<&str>) -> String {
    let subject = prompt.trim().trim_end_matches(['.', '!', '?']);
    let subject = lowercase_article(subject);
    match style {
        Some("natural") => format!(
            "A natural, true-to-life photograph of {subject}, in soft daylight, with realistic \
             textures and an uncluttered composition."
        ),
        _ => format!(
            "A vivid, richly detailed illustration of {subject}, with dramatic lighting, \
             saturated colours and a carefully balanced composition."
        ),
    }
}

/// "A fox" → "a fox" inside a sentence, but "NASA" stays as it is.
fn lowercase_article(text: &str) -> String {
    let mut words = text.splitn(2, ' ');
    match words.next() {
        Some(first @ ("A" | "An" | "The")) => {
            let rest = words.next().unwrap_or("");
            format!("{} {rest}", first.to_lowercase())
                .trim_end()
                .to_owned()
        }
        _ => text.to_owned(),
    }
}

/// Where clients reach the relay: the configured public URL, else `http://` and the Host the
/// request named (checked, so a crafted Host cannot inject anything into the URL).
pub(crate) fn public_origin(config: &Config, uri: &axum::http::Uri, headers: &HeaderMap) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
        .filter(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_follows_the_api() {
        let request = parse(br#"{"prompt":"x"}"#).unwrap();
        assert_eq!(request.model, "dall-e-2");
        let request = parse(br#"{"prompt":"x","output_format":"webp"}"#).unwrap();
        assert_eq!(request.model, "gpt-image-1");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let Err(AppError::InvalidRequest { param, message, .. }) =
            parse(br#"{"prompt":"x","n":"2"}"#)
        else {
            panic!("expected an invalid request");
        };
        assert_eq!(param.as_deref(), Some("n"));
        assert!(message.starts_with("Invalid type for 'n'"), "{message}");
    }

    #[test]
    fn revised_prompts_read_well() {
        assert_eq!(
            revise("A fox in snow.", None),
            "A vivid, richly detailed illustration of a fox in snow, with dramatic lighting, \
             saturated colours and a carefully balanced composition."
        );
        assert!(revise("NASA rocket", Some("natural")).contains("of NASA rocket,"));
    }

    #[test]
    fn usage_grows_with_area_and_quality() {
        let small = usage("a fox", DEFAULT_SIZE, "low", 1);
        assert_eq!(small.output_tokens, Some(272));
        assert_eq!(small.input_tokens, Some(2));
        let tall = Size {
            width: 1024,
            height: 1536,
        };
        assert_eq!(
            usage("a fox", tall, "medium", 2).output_tokens,
            Some(1584 * 2)
        );
    }

    #[test]
    fn origin_comes_from_config_or_a_clean_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        let uri = axum::http::Uri::from_static("/v1/images/generations");
        let config = Config::default();
        assert_eq!(
            public_origin(&config, &uri, &headers),
            "http://127.0.0.1:8080"
        );
        headers.insert(header::HOST, HeaderValue::from_static("evil/\"x"));
        assert_eq!(public_origin(&config, &uri, &headers), "http://localhost");
        let config = Config {
            public_url: Some("https://easel.example/".into()),
            ..Config::default()
        };
        assert_eq!(
            public_origin(&config, &uri, &headers),
            "https://easel.example"
        );
    }
}
