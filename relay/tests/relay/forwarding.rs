//! Forwarding, against a fake upstream on a real socket that records what reached it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use easel_relay::{ApiKey, Config, Forward, Upstream, app};
use serde_json::Value;

use crate::{get, send};

/// What the fake upstream received.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

impl Seen {
    fn take(&self) -> Vec<(HeaderMap, Bytes)> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

const RATE_LIMITED: &str = r#"{"error":{"message":"Rate limit exceeded for images per minute.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;

/// Answers like OpenAI: 429 with an envelope for prompts that mention "busy", a slow answer for
/// "slow", else a small images response.
async fn fake_generations(
    State(seen): State<Seen>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    seen.0.lock().unwrap().push((headers, body.clone()));
    let text = String::from_utf8_lossy(&body);
    if text.contains("slow") {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    if text.contains("busy") {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("content-type", "application/json"),
                ("retry-after", "7"),
                ("x-request-id", "req_upstream_429"),
                ("x-internal-upstream-thing", "secret"),
            ],
            RATE_LIMITED,
        );
    }
    (
        StatusCode::OK,
        [
            ("content-type", "application/json"),
            ("retry-after", "0"),
            ("x-request-id", "req_upstream_ok"),
            ("x-internal-upstream-thing", "secret"),
        ],
        r#"{"created":1,"data":[{"b64_json":"aGk="}]}"#,
    )
}

async fn fake_upstream() -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let router = Router::new()
        .route("/v1/images/generations", post(fake_generations))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, seen)
}

fn relay_to(addr: SocketAddr, timeout: Duration) -> Router {
    app(Config {
        upstream: Upstream::Forward(Forward {
            organization: Some("org-relay".into()),
            ..Forward::openai(format!("http://{addr}/v1/"), ApiKey::new("sk-relay-key"))
        }),
        upstream_timeout: timeout,
        ..Config::default()
    })
}

fn client_request(body: &'static str) -> Request<Body> {
    Request::post("/v1/images/generations")
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-client-key")
        .header("openai-project", "proj-from-client")
        .header("cookie", "session=abc")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn injects_the_relay_key_and_passes_the_body_byte_for_byte() {
    let (addr, seen) = fake_upstream().await;
    let relay = relay_to(addr, Duration::from_secs(10));
    let body = "{ \"model\":\"gpt-image-2\",\n  \"prompt\": \"a café at night ☕\" , \"n\":1 }";
    let mut request = client_request(body);
    request
        .headers_mut()
        .insert("content-length", body.len().into());
    let (status, headers, answer) = send(&relay, request).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, r#"{"created":1,"data":[{"b64_json":"aGk="}]}"#);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-request-id"], "req_upstream_ok");
    assert!(headers.get("x-internal-upstream-thing").is_none());

    let received = seen.take();
    assert_eq!(received.len(), 1);
    let (upstream_headers, upstream_body) = &received[0];
    assert_eq!(upstream_body.as_ref(), body.as_bytes());
    assert_eq!(upstream_headers["authorization"], "Bearer sk-relay-key");
    assert_eq!(upstream_headers.get_all("authorization").iter().count(), 1);
    assert_eq!(upstream_headers["content-type"], "application/json");
    // Sent length-delimited, as the client sent it, not re-chunked.
    assert_eq!(upstream_headers["content-length"], body.len().to_string());
    assert!(upstream_headers.get("transfer-encoding").is_none());
    assert_eq!(upstream_headers["openai-organization"], "org-relay");
    // Only what the relay chooses to send: nothing else of the client's.
    assert!(upstream_headers.get("openai-project").is_none());
    assert!(upstream_headers.get("cookie").is_none());
    for value in upstream_headers.values() {
        assert!(!value.to_str().unwrap_or_default().contains("sk-client-key"));
    }
}

/// No server-side request forgery: a request naming another host, in its target or its `Host`
/// header, still goes to the configured upstream and only there.
#[tokio::test]
async fn requests_naming_another_host_still_go_to_the_configured_upstream() {
    let (addr, seen) = fake_upstream().await;
    let relay = relay_to(addr, Duration::from_secs(10));
    let body = r#"{"model":"gpt-image-2","prompt":"a fox"}"#;
    let request = Request::post("http://169.254.169.254/v1/images/generations")
        .header("host", "169.254.169.254")
        .header("x-forwarded-host", "internal.example")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let (status, _, _) = send(&relay, request).await;
    assert_eq!(status, StatusCode::OK);
    let received = seen.take();
    assert_eq!(received.len(), 1, "the configured upstream got the request");
    let (headers, _) = &received[0];
    assert_eq!(headers["host"], addr.to_string());
    assert!(headers.get("x-forwarded-host").is_none());
}

#[tokio::test]
async fn upstream_errors_pass_through_unchanged() {
    let (addr, _) = fake_upstream().await;
    let relay = relay_to(addr, Duration::from_secs(10));
    let (status, headers, body) = send(
        &relay,
        client_request(r#"{"model":"gpt-image-2","prompt":"busy"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "7");
    assert_eq!(headers["x-request-id"], "req_upstream_429");
    assert_eq!(body, RATE_LIMITED);
}

#[tokio::test]
async fn unreachable_upstream_is_a_502_envelope() {
    // A port that was free a moment ago: nothing listens there.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let relay = relay_to(addr, Duration::from_secs(10));
    let (status, _, body) = send(
        &relay,
        client_request(r#"{"model":"gpt-image-2","prompt":"x"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json["error"]["message"],
        "The relay could not reach the upstream API."
    );
    assert!(!String::from_utf8_lossy(&body).contains("127.0.0.1"));
}

#[tokio::test]
async fn slow_upstream_is_a_504_envelope() {
    let (addr, _) = fake_upstream().await;
    let relay = relay_to(addr, Duration::from_millis(300));
    let (status, _, body) = send(
        &relay,
        client_request(r#"{"model":"gpt-image-2","prompt":"slow"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["type"], "server_error");
}

#[tokio::test]
async fn nothing_else_is_forwarded() {
    let (addr, seen) = fake_upstream().await;
    let relay = relay_to(addr, Duration::from_secs(10));
    let (status, _, body) = get(&relay, "/v1/models").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["type"], "invalid_request_error");
    assert!(seen.take().is_empty());

    let (_, _, body) = get(&relay, "/v1/relay/info").await;
    let info: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        info,
        serde_json::json!({"upstream": "openai", "token_required": false, "shares": false})
    );
}

/// An upstream that counts the connections it accepts and answers every request after
/// `delay`; with `close`, it asks for each connection to be closed after one answer.
async fn counting_upstream(
    delay: Duration,
    close: bool,
) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::serve::ListenerExt as _;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let router = Router::new().route(
        "/v1/images/generations",
        post(move || async move {
            tokio::time::sleep(delay).await;
            let connection = if close { "close" } else { "keep-alive" };
            (
                [
                    ("content-type", "application/json"),
                    ("connection", connection),
                ],
                r#"{"created":1,"data":[]}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = listener.tap_io(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, accepted)
}

async fn generate_through(relay: &Router) -> StatusCode {
    let (status, _, body) = send(relay, client_request(r#"{"prompt":"x"}"#)).await;
    assert_eq!(body, r#"{"created":1,"data":[]}"#);
    status
}

#[tokio::test]
async fn sequential_requests_share_one_upstream_connection() {
    let (addr, accepted) = counting_upstream(Duration::ZERO, false).await;
    let relay = relay_to(addr, Duration::from_secs(10));
    for _ in 0..20 {
        assert_eq!(generate_through(&relay).await, StatusCode::OK);
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn concurrent_requests_open_connections_that_later_ones_reuse() {
    let (addr, accepted) = counting_upstream(Duration::from_millis(100), false).await;
    let relay = relay_to(addr, Duration::from_secs(10));
    for _ in 0..3 {
        let batch: Vec<_> = (0..4)
            .map(|_| {
                let relay = relay.clone();
                tokio::spawn(async move { generate_through(&relay).await })
            })
            .collect();
        for request in batch {
            assert_eq!(request.await.unwrap(), StatusCode::OK);
        }
    }
    // Four at once need four connections; the next batches find them idle.
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 4);
}

#[tokio::test]
async fn connections_the_upstream_closes_are_replaced() {
    let (addr, accepted) = counting_upstream(Duration::ZERO, true).await;
    let relay = relay_to(addr, Duration::from_secs(10));
    for _ in 0..3 {
        assert_eq!(generate_through(&relay).await, StatusCode::OK);
        // Let the relay see the close before the next request.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
}
