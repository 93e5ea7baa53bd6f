//! A thin `fetch` over web-sys. The browser's own fetch costs no wasm bytes, unlike an HTTP
//! crate, and gives AbortController cancellation.

use easel_core::ApiFailure;
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestInit, Response};

/// Sends a request. `Err` means no answer arrived (network, CORS, or aborted).
pub async fn send(
    url: &str,
    method: &str,
    headers: &[(&str, String)],
    body: Option<&str>,
    signal: Option<&AbortSignal>,
) -> Result<Response, JsValue> {
    let body = body.map(JsValue::from_str);
    send_body(url, method, headers, body.as_ref(), signal).await
}

/// As [`send`], with any body `fetch` takes: a `FormData` sends multipart with its own
/// boundary (so no `Content-Type` header may be given for it).
pub async fn send_body(
    url: &str,
    method: &str,
    headers: &[(&str, String)],
    body: Option<&JsValue>,
    signal: Option<&AbortSignal>,
) -> Result<Response, JsValue> {
    let init = RequestInit::new();
    init.set_method(method);
    let header_map = Headers::new()?;
    for (name, value) in headers {
        header_map.set(name, value)?;
    }
    init.set_headers(&header_map);
    if let Some(body) = body {
        init.set_body(body);
    }
    init.set_signal(signal);
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await?
        .dyn_into()
}

pub async fn text(response: &Response) -> Result<String, JsValue> {
    let value = JsFuture::from(response.text()?).await?;
    Ok(value.as_string().unwrap_or_default())
}

pub async fn bytes(response: &Response) -> Result<Vec<u8>, JsValue> {
    let buffer = JsFuture::from(response.array_buffer()?).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The body as text if it is at most `limit` bytes. It is read chunk by chunk and cancelled
/// as soon as it passes the limit, so a runaway answer never fills the tab's memory.
pub async fn text_within(response: &Response, limit: u64) -> Result<String, ApiFailure> {
    // The headers arrived, so the server was reached: say the answer broke off.
    let broke = |_| ApiFailure::network("The answer broke off.");
    let mut reader = ChunkReader::new(response).map_err(broke)?;
    let mut text = String::new();
    while let Some(piece) = reader.next_text().await.map_err(broke)? {
        text.push_str(&piece);
        if text.len() as u64 > limit {
            let _ = reader.reader.cancel();
            return Err(ApiFailure::malformed(
                "The answer is too large for the images asked for.",
            ));
        }
    }
    Ok(text)
}

/// A readable description of a rejected fetch (a `TypeError: Failed to fetch`, usually).
pub fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the request failed".to_owned())
}

/// Why a request got no answer (`error`, the rejected fetch): offline when the browser knows
/// it has no network, which is worth saying plainly (the app itself still runs, from its
/// service worker's cache); else the browser's words.
pub fn no_answer(error: &JsValue) -> ApiFailure {
    if offline() {
        ApiFailure::offline()
    } else {
        ApiFailure::network(describe(error))
    }
}

/// Whether the browser knows it has no network (`navigator.onLine` is false).
pub fn offline() -> bool {
    web_sys::window().is_some_and(|w| !w.navigator().on_line())
}

/// A response body read as it arrives, decoded as UTF-8 across chunk boundaries.
pub struct ChunkReader {
    reader: web_sys::ReadableStreamDefaultReader,
    /// The start of a UTF-8 character cut off at the end of the last chunk.
    carry: Vec<u8>,
}

impl ChunkReader {
    pub fn new(response: &Response) -> Result<ChunkReader, JsValue> {
        let body = response
            .body()
            .ok_or_else(|| JsValue::from_str("the answer has no body"))?;
        Ok(ChunkReader {
            reader: body.get_reader().unchecked_into(),
            carry: Vec::new(),
        })
    }

    /// The next piece of text; `None` at the end. An abort rejects with the abort error.
    pub async fn next_text(&mut self) -> Result<Option<String>, JsValue> {
        let result = JsFuture::from(self.reader.read()).await?;
        let done = js_sys::Reflect::get(&result, &JsValue::from_str("done"))?;
        if done.as_bool().unwrap_or(true) {
            return Ok(None);
        }
        let value = js_sys::Reflect::get(&result, &JsValue::from_str("value"))?;
        self.carry.extend(Uint8Array::new(&value).to_vec());
        let valid = match std::str::from_utf8(&self.carry) {
            Ok(text) => text.len(),
            // Only an incomplete last character waits for the next chunk.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => return Err(JsValue::from_str("the stream is not UTF-8 text")),
        };
        let rest = self.carry.split_off(valid);
        let text = String::from_utf8(std::mem::replace(&mut self.carry, rest))
            .map_err(|_| JsValue::from_str("the stream is not UTF-8 text"))?;
        Ok(Some(text))
    }
}
