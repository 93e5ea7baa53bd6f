use std::sync::Arc;

use base64::Engine;
use easel_core::error::{classify, redact};
use easel_core::files::{ImageFormat, dimensions};
use easel_core::retry;
use easel_core::sse::{ImageEvent, SseParser};
use easel_core::{ApiFailure, Backend, GenerationRequest, ImagesResponse, Usage};
use send_wrapper::SendWrapper;
use web_sys::{AbortSignal, Blob};

use super::fetch;
use crate::storage::{ObjectUrl, browser};

/// One finished image, held in the browser as a Blob behind an object URL.
#[derive(Clone, Debug)]
pub struct GeneratedImage {
    pub url: Arc<ObjectUrl>,
    pub blob: SendWrapper<Blob>,
    pub format: ImageFormat,
    /// SHA-256 of the bytes, hex.
    pub hash: String,
    pub width: u32,
    pub height: u32,
    /// Length and CRC-32 of the bytes (a ZIP export needs both).
    pub byte_len: u64,
    pub crc32: u32,
    pub revised_prompt: Option<String>,
}

impl PartialEq for GeneratedImage {
    /// The same image: the same object URL (the Blob behind it cannot be compared).
    fn eq(&self, other: &GeneratedImage) -> bool {
        self.url == other.url
    }
}

/// The outcome of a successful request.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    pub images: Vec<GeneratedImage>,
    /// The size the server actually made (useful when `auto` was asked).
    pub size: Option<String>,
    pub usage: Option<Usage>,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GenerateError {
    #[error("cancelled")]
    Cancelled,
    #[error("{}", .0.message)]
    Failed(ApiFailure),
}

/// Sends a generation request and turns every result into a Blob. URL results are fetched
/// at once, because they expire upstream.
pub async fn generate(
    backend: &Backend,
    request: &GenerationRequest,
    signal: &AbortSignal,
    on_preview: &dyn Fn(usize, Arc<ObjectUrl>),
) -> Result<Generation, GenerateError> {
    let fail = |failure: ApiFailure| failed(backend, signal, failure);

    let body =
        serde_json::to_string(request).map_err(|e| fail(ApiFailure::malformed(e.to_string())))?;
    let mut headers = backend.auth_headers();
    headers.push(("Content-Type", "application/json".to_owned()));
    let url = backend.endpoint("images/generations");
    let response = fetch::send(&url, "POST", &headers, Some(&body), Some(signal))
        .await
        .map_err(|e| fail(fetch::no_answer(&e)))?;
    read_answer(backend, &response, request, signal, on_preview).await
}

/// A failure as the user sees it: "cancelled" once they cancelled, and never the key.
pub(super) fn failed(
    backend: &Backend,
    signal: &AbortSignal,
    failure: ApiFailure,
) -> GenerateError {
    if signal.aborted() {
        return GenerateError::Cancelled;
    }
    let message = redact(&failure.message, &backend.api_key);
    GenerateError::Failed(ApiFailure { message, ..failure })
}

/// Reads the answer to an images request (a JSON body, or events when `request.stream`) into
/// finished images. Generations, edits and variations answer alike.
pub(super) async fn read_answer(
    backend: &Backend,
    response: &web_sys::Response,
    request: &GenerationRequest,
    signal: &AbortSignal,
    on_preview: &dyn Fn(usize, Arc<ObjectUrl>),
) -> Result<Generation, GenerateError> {
    let fail = |failure: ApiFailure| failed(backend, signal, failure);
    if response.ok() && request.stream == Some(true) {
        return read_stream(response, request.image_count(), on_preview)
            .await
            .map_err(fail);
    }
    let text = fetch::text_within(response, request.answer_limit_bytes())
        .await
        .map_err(&fail)?;
    if !response.ok() {
        let header = |name: &str| response.headers().get(name).ok().flatten();
        let failure = ApiFailure {
            retry_after_ms: retry::retry_after_ms(
                header("retry-after-ms").as_deref(),
                header("retry-after").as_deref(),
            ),
            request_id: header("x-request-id"),
            ..classify(response.status(), &text)
        };
        return Err(fail(failure));
    }
    let parsed: ImagesResponse = serde_json::from_str(&text).map_err(|_| {
        fail(ApiFailure::malformed(
            "The answer was not an images response (invalid JSON).",
        ))
    })?;
    drop(text);
    if parsed.data.is_empty() {
        return Err(fail(ApiFailure::malformed(
            "The answer contained no images.",
        )));
    }

    let mut images = Vec::with_capacity(parsed.data.len());
    for (index, item) in parsed.data.into_iter().enumerate() {
        let bytes = match (item.b64_json, item.url) {
            (Some(b64), _) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| {
                    fail(ApiFailure::malformed(format!(
                        "Image {} is not valid base64.",
                        index + 1
                    )))
                })?,
            (None, Some(url)) => download(&url, signal).await.map_err(|message| {
                fail(ApiFailure::network(format!(
                    "Image {}: {message}",
                    index + 1
                )))
            })?,
            (None, None) => {
                return Err(fail(ApiFailure::malformed(format!(
                    "Image {} has neither data nor a URL.",
                    index + 1
                ))));
            }
        };
        let image = finished_image(bytes, item.revised_prompt, index)
            .await
            .map_err(&fail)?;
        images.push(image);
    }
    Ok(Generation {
        images,
        size: parsed.size,
        usage: parsed.usage,
    })
}

/// An image's bytes, checked and held as a Blob: its format, size, hashes and object URL.
async fn finished_image(
    bytes: Vec<u8>,
    revised_prompt: Option<String>,
    index: usize,
) -> Result<GeneratedImage, ApiFailure> {
    let format = ImageFormat::sniff(&bytes).ok_or_else(|| {
        ApiFailure::malformed(format!(
            "Image {} is not a PNG, JPEG, WebP or GIF.",
            index + 1
        ))
    })?;
    let (width, height) = dimensions(&bytes).unwrap_or((0, 0));
    let (byte_len, crc32) = (bytes.len() as u64, easel_core::crc32::crc32(&bytes));
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    drop(bytes);
    let hash = browser::sha256_hex(&array)
        .await
        .map_err(|e| ApiFailure::malformed(fetch::describe(&e)))?;
    let (url, blob) = ObjectUrl::from_array(&array, format.mime())
        .map_err(|e| ApiFailure::malformed(fetch::describe(&e)))?;
    Ok(GeneratedImage {
        url: Arc::new(url),
        blob: SendWrapper::new(blob),
        format,
        hash,
        width,
        height,
        byte_len,
        crc32,
        revised_prompt,
    })
}

/// Fetches a result URL. No credentials go with it: the key is for the API origin only.
async fn download(url: &str, signal: &AbortSignal) -> Result<Vec<u8>, String> {
    let response = fetch::send(url, "GET", &[], None, Some(signal))
        .await
        .map_err(|e| format!("could not download the image ({})", fetch::describe(&e)))?;
    if !response.ok() {
        return Err(format!(
            "downloading the image failed with HTTP {}",
            response.status()
        ));
    }
    fetch::bytes(&response)
        .await
        .map_err(|e| fetch::describe(&e))
}

/// Reads a streamed answer: `on_preview(image, url)` for each partial image as it arrives,
/// then the finished images (one `completed` event each) and their summed usage.
async fn read_stream(
    response: &web_sys::Response,
    count: u32,
    on_preview: &dyn Fn(usize, Arc<ObjectUrl>),
) -> Result<Generation, ApiFailure> {
    let mut reader = fetch::ChunkReader::new(response)
        .map_err(|e| ApiFailure::malformed(fetch::describe(&e)))?;
    let mut parser = SseParser::default();
    let mut images: Vec<GeneratedImage> = Vec::with_capacity(count as usize);
    let mut usage: Option<Usage> = None;
    let mut size = None;
    while let Some(text) = reader
        .next_text()
        .await
        .map_err(|e| ApiFailure::network(fetch::describe(&e)))?
    {
        for event in parser.push(&text) {
            if event.data.trim() == "[DONE]" {
                continue;
            }
            let parsed: ImageEvent = serde_json::from_str(&event.data)
                .map_err(|_| ApiFailure::malformed("A streamed event was not valid JSON."))?;
            if parsed.error.is_some() || event.event.as_deref() == Some("error") {
                // The envelope's shape, so the failure is classified like any other.
                return Err(classify(500, &event.data));
            }
            let decode = |b64: &str| {
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| ApiFailure::malformed("A streamed image is not valid base64."))
            };
            let Some(b64) = parsed.b64_json.as_deref() else {
                continue;
            };
            if parsed.is_partial() {
                let bytes = decode(b64)?;
                let mime = ImageFormat::sniff(&bytes).map_or("image/png", ImageFormat::mime);
                let array = js_sys::Uint8Array::from(bytes.as_slice());
                if let Ok((url, _)) = ObjectUrl::from_array(&array, mime) {
                    on_preview(images.len(), Arc::new(url));
                }
            } else if parsed.is_completed() {
                let image =
                    finished_image(decode(b64)?, parsed.revised_prompt, images.len()).await?;
                images.push(image);
                size = size.or(parsed.size);
                usage = Some(add_usage(usage, parsed.usage));
            }
        }
    }
    if images.is_empty() {
        return Err(ApiFailure::malformed(
            "The stream ended before any image arrived.",
        ));
    }
    Ok(Generation {
        images,
        size,
        usage,
    })
}

/// Usage over several completed events (one per image).
fn add_usage(total: Option<Usage>, more: Option<Usage>) -> Usage {
    let (mut total, more) = (total.unwrap_or_default(), more.unwrap_or_default());
    let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    total.input_tokens = sum(total.input_tokens, more.input_tokens);
    total.output_tokens = sum(total.output_tokens, more.output_tokens);
    total.total_tokens = sum(total.total_tokens, more.total_tokens);
    if total.input_tokens_details.is_none() {
        total.input_tokens_details = more.input_tokens_details;
    }
    total
}
