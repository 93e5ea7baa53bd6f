//! The guard rails, each driven with `oneshot`: tokens, origins, rate limit, concurrency,
//! body limits, security headers, health and readiness.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use easel_relay::{AccessToken, ApiKey, Config, Forward, RateLimit, Upstream, app};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::{fake, get, multipart, png, send};

fn generation(token: Option<&str>) -> Request<Body> {
    let body = r#"{"model":"gpt-image-2","prompt":"a fox","quality":"low"}"#;
    let mut builder =
        Request::post("/v1/images/generations").header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Body::from(body)).unwrap()
}

fn envelope(body: &[u8]) -> Value {
    let json: Value = serde_json::from_slice(body).unwrap();
    let error = json["error"].as_object().expect("an error envelope");
    for key in ["message", "type", "param", "code"] {
        assert!(error.contains_key(key), "{key} in {json}");
    }
    json
}

#[tokio::test]
async fn tokens_are_required_when_configured() {
    let relay = app(Config {
        access_tokens: vec![
            AccessToken::new("team-token-1"),
            AccessToken::new("team-token-2"),
        ],
        ..Config::default()
    });
    for token in [None, Some("wrong"), Some("team-token-1 ")] {
        let (status, headers, body) = send(&relay, generation(token)).await;
        if token == Some("team-token-1 ") {
            // Whitespace around a token is forgiven.
            assert_eq!(status, StatusCode::OK);
            continue;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(envelope(&body)["error"]["code"], "invalid_relay_token");
    }
    let (status, _, _) = send(&relay, generation(Some("team-token-2"))).await;
    assert_eq!(status, StatusCode::OK);
    // The page can still find out what the relay is, and that it needs a token.
    let (status, _, body) = get(&relay, "/v1/relay/info").await;
    assert_eq!(status, StatusCode::OK);
    let info: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(info["token_required"], true);
}

#[tokio::test]
async fn without_tokens_the_relay_is_open() {
    let (status, _, _) = send(&app(Config::default()), generation(Some("anything"))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn preflights_and_requests_from_other_origins_are_refused() {
    let relay = app(Config {
        allowed_origins: vec!["https://me.github.io".into()],
        ..Config::default()
    });
    let preflight = |origin: &str| {
        Request::options("/v1/images/generations")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, _) = send(&relay, preflight("https://me.github.io")).await;
    assert!(status.is_success());
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://me.github.io"
    );
    let (status, headers, body) = send(&relay, preflight("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get("access-control-allow-origin").is_none());
    assert_eq!(envelope(&body)["error"]["code"], "origin_not_allowed");

    let mut request = generation(None);
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let (status, _, _) = send(&relay, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The relay's own pages are same-origin, whatever the allowlist says.
    let mut request = generation(None);
    request
        .headers_mut()
        .insert("origin", "http://relay.test:8080".parse().unwrap());
    request
        .headers_mut()
        .insert("host", "relay.test:8080".parse().unwrap());
    let (status, _, _) = send(&relay, request).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn any_origin_only_when_configured() {
    let relay = app(Config {
        allowed_origins: vec!["*".into()],
        ..Config::default()
    });
    let request = Request::options("/v1/images/generations")
        .header("origin", "https://anyone.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(&relay, request).await;
    assert!(status.is_success());
    assert_eq!(headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn clients_over_their_rate_get_429_with_retry_after() {
    let relay = app(Config {
        rate_limit: Some(RateLimit {
            per_minute: 6,
            burst: 2,
        }),
        access_tokens: vec![AccessToken::new("a"), AccessToken::new("b")],
        ..Config::default()
    });
    for _ in 0..2 {
        let (status, _, _) = send(&relay, generation(Some("a"))).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, body) = send(&relay, generation(Some("a"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    let json = envelope(&body);
    assert_eq!(json["error"]["code"], "rate_limit_exceeded");
    // Another token is another client.
    let (status, _, _) = send(&relay, generation(Some("b"))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_shed_with_503() {
    let relay = app(Config {
        max_concurrent: 1,
        generator_latency: Duration::from_secs(3),
        ..Config::default()
    });
    let stream = || {
        Request::post("/v1/images/generations")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"model": "gpt-image-2", "prompt": "x", "quality": "low", "size": "1024x1024", "stream": true, "partial_images": 1})
                    .to_string(),
            ))
            .unwrap()
    };
    // The stream's headers are out at once; its body holds the slot while it runs.
    let open = relay.clone().oneshot(stream()).await.unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    let (status, headers, body) = send(&relay, generation(None)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert_eq!(envelope(&body)["error"]["code"], "server_is_overloaded");
    drop(open);
    let (status, _, _) = send(&relay, generation(None)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn body_limits_are_configurable_and_refused_before_forwarding() {
    let (addr, fake) = fake::start().await;
    let relay = app(Config {
        upstream: Upstream::Forward(Forward::openai(
            format!("http://{addr}/v1"),
            ApiKey::new("k"),
        )),
        json_body_limit: 200,
        multipart_body_limit: 2000,
        ..Config::default()
    });
    let big = json!({"model": "gpt-image-2", "prompt": "x".repeat(300)}).to_string();
    let request = Request::post("/v1/images/generations")
        .header("content-type", "application/json")
        .header("content-length", big.len())
        .body(Body::from(big))
        .unwrap();
    let (status, _, body) = send(&relay, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    envelope(&body);

    let image = vec![7u8; 3000];
    let (content_type, body) =
        multipart(&[("prompt", None, b"x"), ("image[]", Some("a.png"), &image)]);
    // No Content-Length: the limit is enforced while reading.
    let request = Request::post("/v1/images/edits")
        .header("content-type", content_type.clone())
        .body(Body::from(body))
        .unwrap();
    let (status, _, body) = send(&relay, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    envelope(&body);
    assert_eq!(fake.count(), 0, "nothing oversize reaches the upstream");

    // Under the limits, both go through.
    let (content_type, body) = multipart(&[
        ("prompt", None, b"x"),
        ("image[]", Some("a.png"), &png(4, 4, [0; 4])),
    ]);
    let request = Request::post("/v1/images/edits")
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, _, _) = send(&relay, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><script type=\"module\" src=\"/start.js\"></script>",
    )
    .unwrap();
    let relay = app(Config {
        dist_dir: Some(dist.path().to_owned()),
        ..Config::default()
    });
    let (_, headers, _) = get(&relay, "/").await;
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
        "scripts only from the page's origin, none inline: {csp}"
    );
    assert!(csp.contains("object-src 'none'"), "{csp}");

    let (_, headers, _) = send(&relay, generation(None)).await;
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors")
    );
    assert_eq!(headers["x-relay-request-id"].len(), 16);
    assert!(
        headers["x-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_")
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let (status, _, body) = get(&app(Config::default()), "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["ready"],
        true
    );

    let (addr, _) = fake::start().await;
    let reachable = app(Config {
        upstream: Upstream::Forward(Forward::openai(
            format!("http://{addr}/v1"),
            ApiKey::new("k"),
        )),
        ..Config::default()
    });
    let (status, _, _) = get(&reachable, "/readyz").await;
    assert_eq!(status, StatusCode::OK);

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = app(Config {
        upstream: Upstream::Forward(Forward::openai(
            format!("http://{closed}/v1"),
            ApiKey::new("k"),
        )),
        ..Config::default()
    });
    let (status, _, body) = get(&unreachable, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    envelope(&body);
    let (status, _, _) = get(&unreachable, "/healthz").await;
    assert_eq!(status, StatusCode::OK, "alive even when not ready");
}
