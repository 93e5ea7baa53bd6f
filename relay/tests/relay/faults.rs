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
