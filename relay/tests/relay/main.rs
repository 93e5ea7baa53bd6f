//! The relay from the outside: `app(config)` driven with tower's `oneshot`, as in axum's
//! testing example, plus a fake upstream and the real binary on real sockets.

#[cfg(unix)]
mod binary;
mod forwarding;
mod generator;
mod routes;

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
