//! Every upstream kind, driven with `oneshot` against the recording fake upstream: the right
//! path, query and auth header for each, and the client's own credentials never passed on.

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{HeaderName, Request, StatusCode};
use easel_relay::{ApiKey, Config, Forward, Upstream, UpstreamKind, app};
use serde_json::Value;

use crate::{fake, multipart, png, send};

fn relay(addr: SocketAddr, kind: UpstreamKind, base: &str) -> axum::Router {
    app(Config {
        upstream: Upstream::Forward(Forward {
            kind,
            ..Forward::openai(format!("http://{addr}{base}"), ApiKey::new("sk-upstream"))
        }),
        ..Config::default()
    })
}

fn generation() -> Request<Body> {
    Request::post("/v1/images/generations")
        .header("content-type", "application/json")
        .header("authorization", "Bearer client-credential")
        .body(Body::from(r#"{"model":"gpt-image-2","prompt":"a fox"}"#))
        .unwrap()
}

#[tokio::test]
async fn openai_gets_a_bearer_key() {
    let (addr, fake) = fake::start().await;
    let (status, _, _) = send(&relay(addr, UpstreamKind::OpenAi, "/v1"), generation()).await;
    assert_eq!(status, StatusCode::OK);
    let seen = fake.requests();
    assert_eq!(seen[0].path_and_query, "/v1/images/generations");
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-upstream");
}

#[tokio::test]
async fn azure_gets_an_api_key_header_a_deployment_and_an_api_version() {
    let (addr, fake) = fake::start().await;
    let kind = UpstreamKind::Azure {
        deployment: "images-prod".into(),
        api_version: "2025-04-01-preview".into(),
    };
    let relay = relay(addr, kind, "/openai");
    let (status, _, _) = send(&relay, generation()).await;
    assert_eq!(status, StatusCode::OK);
    let (content_type, body) = multipart(&[
        ("prompt", None, b"add a hat"),
        ("image[]", Some("a.png"), &png(8, 8, [9, 9, 9, 255])),
    ]);
    let edit = Request::post("/v1/images/edits")
        .header("content-type", content_type)
        .body(Body::from(body.clone()))
        .unwrap();
    let (status, _, _) = send(&relay, edit).await;
    assert_eq!(status, StatusCode::OK);

    let seen = fake.requests();
    assert_eq!(
        seen[0].path_and_query,
        "/openai/deployments/images-prod/images/generations?api-version=2025-04-01-preview"
    );
    assert_eq!(seen[0].headers["api-key"], "sk-upstream");
    assert!(seen[0].headers.get("authorization").is_none());
    assert_eq!(
        seen[1].path_and_query,
        "/openai/deployments/images-prod/images/edits?api-version=2025-04-01-preview"
    );
    assert_eq!(seen[1].body, body, "multipart forwarded byte for byte");
}

#[tokio::test]
async fn compatible_servers_get_the_configured_header() {
    let (addr, fake) = fake::start().await;
    let kind = UpstreamKind::Compatible {
        auth_header: HeaderName::from_static("x-api-key"),
    };
    let (status, _, _) = send(&relay(addr, kind, "/api/v1/"), generation()).await;
    assert_eq!(status, StatusCode::OK);
    let seen = fake.requests();
    assert_eq!(seen[0].path_and_query, "/api/v1/images/generations");
    assert_eq!(seen[0].headers["x-api-key"], "sk-upstream");
    assert!(seen[0].headers.get("authorization").is_none());

    let kind = UpstreamKind::Compatible {
        auth_header: HeaderName::from_static("authorization"),
    };
    send(&relay(addr, kind, "/v1"), generation()).await;
    assert_eq!(
        fake.requests()[1].headers["authorization"],
        "Bearer sk-upstream"
    );
}

#[tokio::test]
async fn compatible_servers_without_a_key_get_no_auth_header() {
    let (addr, fake) = fake::start().await;
    let relay = app(Config {
        upstream: Upstream::Forward(Forward {
            kind: UpstreamKind::Compatible {
                auth_header: HeaderName::from_static("authorization"),
            },
            api_key: None,
            ..Forward::openai(format!("http://{addr}/v1"), ApiKey::new("unused"))
        }),
        ..Config::default()
    });
    send(&relay, generation()).await;
    assert!(fake.requests()[0].headers.get("authorization").is_none());
    let (_, _, body) = crate::get(&relay, "/v1/relay/info").await;
    let info: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(info["upstream"], "compatible");
}

#[tokio::test]
async fn variations_are_forwarded_and_nothing_else() {
    let (addr, fake) = fake::start().await;
    let relay = relay(addr, UpstreamKind::OpenAi, "/v1");
    let (content_type, body) = multipart(&[("image", Some("a.png"), &png(8, 8, [1, 2, 3, 255]))]);
    let variation = Request::post("/v1/images/variations?upstream=http://evil.example")
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, _, _) = send(&relay, variation).await;
    assert_eq!(status, StatusCode::OK);
    // The client's query never reaches the upstream: the URL comes from configuration only.
    assert_eq!(fake.requests()[0].path_and_query, "/v1/images/variations");
    for path in [
        "/v1/models",
        "/v1/chat/completions",
        "/v1/images",
        "/v1/files",
    ] {
        let request = Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, _, _) = send(&relay, request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn offline_generator_answers_all_three_operations() {
    let relay = app(Config::default());
    let (status, _, _) = crate::generate(
        &relay,
        serde_json::json!({"model": "gpt-image-2", "prompt": "x", "quality": "low", "size": "1024x1024"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let image = png(64, 64, [10, 20, 30, 255]);
    for (path, parts) in [
        (
            "/v1/images/edits",
            vec![
                ("prompt", None, &b"a hat"[..]),
                ("image[]", Some("a.png"), &image[..]),
            ],
        ),
        (
            "/v1/images/variations",
            vec![
                ("image", Some("a.png"), &image[..]),
                ("size", None, &b"256x256"[..]),
            ],
        ),
    ] {
        let (content_type, body) = multipart(&parts);
        let request = Request::post(path)
            .header("content-type", content_type)
            .header("host", "relay.test")
            .body(Body::from(body))
            .unwrap();
        let (status, _, body) = send(&relay, request).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
    }
}
