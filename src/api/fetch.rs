//! A thin `fetch` over web-sys. The browser's own fetch costs no wasm bytes, unlike an HTTP
//! crate, and gives AbortController cancellation.

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
    let init = RequestInit::new();
    init.set_method(method);
    let header_map = Headers::new()?;
    for (name, value) in headers {
        header_map.set(name, value)?;
    }
    init.set_headers(&header_map);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
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

/// A readable description of a rejected fetch (a `TypeError: Failed to fetch`, usually).
pub fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the request failed".to_owned())
}
