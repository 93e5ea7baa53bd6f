//! Real sockets on both sides: streams pass through as they arrive, a client that leaves
//! cancels the upstream, quiet streams and slow upstreams time out, and shutdown drains.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use easel_relay::{ApiKey, Config, Forward, Timeouts, Upstream, app, serve};
use serde_json::json;
use tokio::sync::oneshot;

use crate::fake;

const PARTIAL: &str = "event: image_generation.partial_image\ndata: {\"type\":\"image_generation.partial_image\",\"partial_image_index\":0}\n\n";
const COMPLETED: &str =
    "event: image_generation.completed\ndata: {\"type\":\"image_generation.completed\"}\n\n";

/// The relay on a real port, forwarding to `upstream`.
async fn relay(config: Config) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let timeouts = Timeouts::of(&config);
    let server = tokio::spawn(async move {
        serve(
            listener,
            app(config),
            timeouts,
            shutdown,
            Duration::from_secs(5),
        )
        .await
        .unwrap()
    });
    (addr, stop, server)
}

fn forwarding(upstream: SocketAddr) -> Config {
    Config {
        upstream: Upstream::Forward(Forward::openai(
            format!("http://{upstream}/v1"),
            ApiKey::new("k"),
        )),
        ..Config::default()
    }
}

async fn start_stream(relay: SocketAddr) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://{relay}/v1/images/generations"))
        .json(&json!({"model": "gpt-image-2", "prompt": "a fox", "stream": true, "partial_images": 1}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn events_arrive_before_the_upstream_sends_the_next_one() {
    let (upstream, fake) = fake::start().await;
    let events = fake.stream_events();
    let (relay, _stop, _server) = relay(forwarding(upstream)).await;
    let mut response = start_stream(relay).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["x-accel-buffering"], "no");

    events.send(PARTIAL).await.unwrap();
    // The second event is sent only after the first reached the client: a relay that buffered
    // would hold the first back, and this would time out.
    let first = tokio::time::timeout(Duration::from_secs(5), response.chunk())
        .await
        .expect("the first event arrives while the upstream is still working")
        .unwrap()
        .unwrap();
    assert_eq!(first, PARTIAL.as_bytes());
    events.send(COMPLETED).await.unwrap();
    drop(events);
    let rest = response.bytes().await.unwrap();
    assert_eq!(rest, COMPLETED.as_bytes());
    assert!(!fake.stream_dropped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_client_that_leaves_cancels_the_upstream_request() {
    let (upstream, fake) = fake::start().await;
    let events = fake.stream_events();
    let (relay, _stop, _server) = relay(forwarding(upstream)).await;
    let mut response = start_stream(relay).await;
    events.send(PARTIAL).await.unwrap();
    response.chunk().await.unwrap().unwrap();
    drop(response);

    let started = Instant::now();
    // Keep the upstream talking: the relay notices the client is gone when it next writes.
    while !fake.stream_dropped.load(Ordering::SeqCst) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "upstream request still open"
        );
        let _ = events.try_send(PARTIAL);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_quiet_stream_ends_with_an_error_event() {
    let (upstream, fake) = fake::start().await;
    let events = fake.stream_events();
    let (relay, _stop, _server) = relay(Config {
        stream_idle_timeout: Duration::from_millis(300),
        ..forwarding(upstream)
    })
    .await;
    let response = start_stream(relay).await;
    events.send(PARTIAL).await.unwrap();
    let started = Instant::now();
    let text = tokio::time::timeout(Duration::from_secs(5), response.text())
        .await
        .expect("the relay ends the stream")
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    let events_seen = crate::sse_events(&text);
    assert_eq!(events_seen.len(), 2, "{text}");
    assert_eq!(events_seen[1].0, "error");
    assert_eq!(events_seen[1].1["error"]["code"], "upstream_timeout");
    // The relay let go of the upstream too.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(fake.stream_dropped.load(Ordering::SeqCst));
    drop(events);
}

#[tokio::test]
async fn a_stream_that_outlasts_the_total_timeout_ends_with_an_error_event() {
    let (upstream, fake) = fake::start().await;
    let events = fake.stream_events();
    let (relay, _stop, _server) = relay(Config {
        upstream_timeout: Duration::from_millis(400),
        ..forwarding(upstream)
    })
    .await;
    let response = start_stream(relay).await;
    // Never quiet for long, but longer than the total timeout allows.
    let feeding = tokio::spawn(async move {
        for _ in 0..30 {
            if events.send(PARTIAL).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let text = tokio::time::timeout(Duration::from_secs(5), response.text())
        .await
        .expect("the relay ends the stream")
        .unwrap();
    let events_seen = crate::sse_events(&text);
    let last = events_seen.last().unwrap();
    assert_eq!(last.0, "error", "{text}");
    assert_eq!(last.1["error"]["code"], "upstream_timeout");
    assert!(
        events_seen.len() < 30,
        "cut short: {} events",
        events_seen.len()
    );
    feeding.abort();
}

#[tokio::test]
async fn a_slow_upstream_times_out_with_504() {
    let (upstream, _fake) = fake::start().await;
    let (relay, _stop, _server) = relay(Config {
        upstream_timeout: Duration::from_millis(300),
        ..forwarding(upstream)
    })
    .await;
    let response = reqwest::Client::new()
        .post(format!("http://{relay}/v1/images/generations"))
        .json(&json!({"model": "gpt-image-2", "prompt": "slow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_timeout");
}

// Both wait until the request reached the upstream before stopping: a fixed pause raced the
// relay's accept on a loaded machine, and shutdown rightly refuses a request not yet read.
#[tokio::test]
async fn shutdown_lets_open_requests_finish_then_refuses_new_ones() {
    let (upstream, fake) = fake::start().await;
    let (relay, stop, server) = relay(forwarding(upstream)).await;
    let open = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("http://{relay}/v1/images/generations"))
            .json(&json!({"model": "gpt-image-2", "prompt": "pause"}))
            .send()
            .await
            .unwrap()
    });
    fake.wait_for_request().await;
    stop.send(()).unwrap();
    let response = open.await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the open request finished"
    );
    assert!(response.text().await.unwrap().contains("b64_json"));
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once drained")
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(relay).await.is_err(),
        "no new connections"
    );
}

#[tokio::test]
async fn shutdown_is_bounded_by_the_grace_period() {
    let (upstream, fake) = fake::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        app(forwarding(upstream)),
        Timeouts::default(),
        async move {
            let _ = stopped.await;
        },
        Duration::from_millis(300),
    ));
    let _hung = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("http://{addr}/v1/images/generations"))
            .json(&json!({"model": "gpt-image-2", "prompt": "slow"}))
            .send()
            .await
    });
    fake.wait_for_request().await;
    let started = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .expect("stops after the grace period")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
}
