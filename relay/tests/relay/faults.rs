//! Fault injection: in test mode a header (or the configured fault) makes the generator fail
//! the way the real API or a CDN does; outside test mode the header is ignored.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use easel_relay::{Config, Fault, app};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::send;

fn request(fault: &str) -> Request<Body> {
    Request::post("/v1/images/generations")
        .header("content-type", "application/json")
        .header("x-easel-fault", fault)
        .body(Body::from(
            r#"{"model":"gpt-image-2","prompt":"x","quality":"low"}"#,
        ))
        .unwrap()
}

fn test_mode() -> axum::Router {
    app(Config {
        test_mode: true,
        upstream_timeout: Duration::from_millis(200),
        ..Config::default()
    })
}

#[tokio::test]
async fn each_fault_answers_like_the_api() {
    let relay = test_mode();
    for (fault, status, code) in [
        (
            "unauthorized",
            StatusCode::UNAUTHORIZED,
            Some("invalid_api_key"),
        ),
        ("unverified-org", StatusCode::FORBIDDEN, None),
        (
            "rate-limit",
            StatusCode::TOO_MANY_REQUESTS,
            Some("rate_limit_exceeded"),
        ),
        (
            "insufficient-quota",
            StatusCode::TOO_MANY_REQUESTS,
            Some("insufficient_quota"),
        ),
        (
            "moderation-blocked",
            StatusCode::BAD_REQUEST,
            Some("moderation_blocked"),
        ),
        ("server-error", StatusCode::INTERNAL_SERVER_ERROR, None),
        (
            "unavailable",
            StatusCode::SERVICE_UNAVAILABLE,
            Some("server_is_overloaded"),
        ),
        (
            "timeout",
            StatusCode::GATEWAY_TIMEOUT,
            Some("upstream_timeout"),
        ),
    ] {
        let (got, headers, body) = send(&relay, request(fault)).await;
        assert_eq!(got, status, "{fault}");
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"].as_str(), code, "{fault}");
        if fault == "rate-limit" {
            assert_eq!(headers[header::RETRY_AFTER], "12");
        }
        if fault == "unverified-org" {
            assert!(
                json["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("verified")
            );
        }
    }
}

#[tokio::test]
async fn cdn_429_is_plain_text_and_truncated_bodies_break_off() {
    let relay = test_mode();
    let (status, headers, body) = send(&relay, request("cdn-429")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(headers[header::RETRY_AFTER], "600");
    assert!(serde_json::from_slice::<Value>(&body).is_err());

    let response = relay.oneshot(request("truncated")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.into_body().collect().await.is_err(),
        "the body breaks off"
    );
}

#[tokio::test]
async fn the_header_needs_test_mode_and_the_flag_applies_to_every_request() {
    let (status, _, _) = send(&app(Config::default()), request("server-error")).await;
    assert_eq!(status, StatusCode::OK, "ignored outside test mode");

    let (status, _, _) = send(&test_mode(), request("no-such-fault")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let always = app(Config {
        test_mode: true,
        fault: Some(Fault::InsufficientQuota),
        ..Config::default()
    });
    let plain = Request::post("/v1/images/generations")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"model":"gpt-image-2","prompt":"x"}"#))
        .unwrap();
    let (status, _, _) = send(&always, plain).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn answers_that_look_fine_but_are_not_images() {
    use base64::Engine as _;
    let relay = test_mode();
    let (status, headers, body) = send(&relay, request("malformed")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(serde_json::from_slice::<Value>(&body).is_err(), "not JSON");

    let (status, _, body) = send(&relay, request("not-an-image")).await;
    assert_eq!(status, StatusCode::OK);
    let json: Value = serde_json::from_slice(&body).unwrap();
    let b64 = json["data"][0]["b64_json"].as_str().unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert!(!bytes.is_empty() && !bytes.starts_with(b"\x89PNG"));

    // The huge answer is read only as far as a client would before giving up.
    let response = relay.oneshot(request("huge")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
    let mut body = response.into_body();
    let mut read = 0usize;
    while read < 64 << 20 {
        let frame = body.frame().await.expect("more body").unwrap();
        read += frame.data_ref().map_or(0, |d| d.len());
    }
    assert!(read >= 64 << 20, "it keeps coming past 64 MB");
}

/// `server-error-once` fires once per process, so no other test here may ask for it.
#[tokio::test]
async fn server_error_once_fails_the_first_request_only() {
    let relay = test_mode();
    let (first, _, _) = send(&relay, request("server-error-once")).await;
    assert_eq!(first, StatusCode::INTERNAL_SERVER_ERROR);
    let (second, _, body) = send(&relay, request("server-error-once")).await;
    assert_eq!(second, StatusCode::OK);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert!(json["data"][0]["b64_json"].is_string());
}
