//! The relay from the outside: `app(config)` driven with tower's `oneshot`, as in axum's
//! testing example, plus a fake upstream and the real binary on real sockets.

mod bad_input;
#[cfg(unix)]
mod binary;
mod edits;
mod fake;
mod faults;
mod forwarding;
mod generator;
mod gif_svg;
mod guards;
mod routes;
mod s3;
mod shares;
mod sockets;
mod timeouts;
mod upstreams;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

/// Sends one request and collects the whole answer.
async fn send(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, bytes)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, HeaderMap, Bytes) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// POSTs a JSON body to the generations endpoint and parses the JSON answer.
async fn generate(app: &Router, body: Value) -> (StatusCode, HeaderMap, Value) {
    let request = Request::post("/v1/images/generations")
        .header("content-type", "application/json")
        .header("host", "relay.test:8080")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, headers, bytes) = send(app, request).await;
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

/// A multipart/form-data body: `(name, file name, bytes)` per part; text parts have no file name.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "easel-test-boundary-7d2f";
    let mut body = Vec::new();
    for (name, file_name, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(file) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                     Content-Type: image/png\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A PNG of `width`x`height` filled with one RGBA colour.
fn png(width: u32, height: u32, rgba: [u8; 4]) -> Vec<u8> {
    let image = image::RgbaImage::from_pixel(width, height, image::Rgba(rgba));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The data of each `data:` line of an event stream, with its event name.
fn sse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut name = String::new();
            let mut data = Value::Null;
            for line in block.lines() {
                if let Some(rest) = line.strip_prefix("event: ") {
                    name = rest.to_owned();
                } else if let Some(rest) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(rest).unwrap();
                }
            }
            (name, data)
        })
        .collect()
}
