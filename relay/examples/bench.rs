//! The pieces `cargo xtask bench relay` runs: a fast local upstream, and a load generator.
//!
//! ```text
//! bench upstream <addr>                          serve a fixed images response and an SSE stream
//! bench load <url> <concurrency> <seconds>       keep-alive POSTs; prints JSON (rps, p50, p99)
//! bench count <url> <concurrency> <requests>     the same, a fixed number of requests (for
//!                                                callgrind: instructions per request)
//! bench sse <url> <count>                        first-event delay of streamed requests; JSON
//! ```
//! The load generator speaks raw HTTP/1.1 through hyper, one keep-alive connection per worker,
//! so its own cost is small and the same for every target.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, header};
use axum::response::Response;
use axum::routing::post;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;

const GENERATION: &str =
    r#"{"model":"gpt-image-2","prompt":"a lighthouse at dusk","size":"1024x1024","quality":"low"}"#;
const STREAMED: &str =
    r#"{"model":"gpt-image-2","prompt":"a lighthouse at dusk","stream":true,"partial_images":2}"#;
/// A small answer, so the measurement is of the proxies, not of copying image bytes.
const ANSWER: &str = r#"{"created":1700000000,"data":[{"b64_json":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="}],"usage":{"total_tokens":100,"input_tokens":10,"output_tokens":90}}"#;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    match args.first().map(String::as_str) {
        Some("upstream") => runtime.block_on(upstream(args[1].parse().unwrap())),
        Some("load") => {
            let result = runtime.block_on(load(
                &args[1],
                args[2].parse().unwrap(),
                Until::Time(Duration::from_secs(args[3].parse().unwrap())),
            ));
            println!("{result}");
        }
        Some("count") => {
            let result = runtime.block_on(load(
                &args[1],
                args[2].parse().unwrap(),
                Until::Count(args[3].parse().unwrap()),
            ));
            println!("{result}");
        }
        Some("sse") => println!(
            "{}",
            runtime.block_on(sse(&args[1], args[2].parse().unwrap()))
        ),
        _ => {
            eprintln!(
                "usage: bench upstream <addr> | load <url> <concurrency> <seconds> | count <url> <concurrency> <requests> | sse <url> <count>"
            );
            std::process::exit(2);
        }
    }
}

async fn upstream(addr: SocketAddr) {
    let router = Router::new().route("/v1/images/generations", post(answer));
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    axum::serve(listener, router).await.unwrap();
}

async fn answer(body: Bytes) -> Response {
    if !body.windows(13).any(|w| w == b"\"stream\":true") {
        return Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-request-id", "req_bench")
            .body(Body::from(ANSWER))
            .unwrap();
    }
    // The first event at once, the rest later, like a real image stream.
    let events = futures_util::stream::unfold(0u32, |step| async move {
        let event = match step {
            0 => {
                "event: image_generation.partial_image\ndata: {\"type\":\"image_generation.partial_image\",\"partial_image_index\":0}\n\n"
            }
            1 => {
                "event: image_generation.partial_image\ndata: {\"type\":\"image_generation.partial_image\",\"partial_image_index\":1}\n\n"
            }
            2 => {
                "event: image_generation.completed\ndata: {\"type\":\"image_generation.completed\"}\n\n"
            }
            _ => return None,
        };
        if step > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some((Ok::<_, Infallible>(Bytes::from(event)), step + 1))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(events))
        .unwrap()
}

struct Target {
    addr: String,
    host: String,
    path: String,
}

fn target(url: &str) -> Target {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    Target {
        addr: host.to_owned(),
        host: host.to_owned(),
        path: format!("/{path}"),
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(target: &Target) -> Sender {
    let stream = tokio::net::TcpStream::connect(&target.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

fn request(target: &Target, body: &'static str) -> Request<Full<Bytes>> {
    Request::post(target.path.as_str())
        .header(header::HOST, target.host.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Bearer bench-token")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

/// How long a load runs: for a time, or until a number of requests have been sent.
#[derive(Clone, Copy)]
enum Until {
    Time(Duration),
    Count(u64),
}

async fn load(url: &str, concurrency: usize, until: Until) -> String {
    let target = std::sync::Arc::new(target(url));
    let started = Instant::now();
    let (deadline, budget) = match until {
        Until::Time(duration) => (Some(started + duration), u64::MAX),
        Until::Count(count) => (None, count),
    };
    let remaining = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(budget));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let target = std::sync::Arc::clone(&target);
            let remaining = std::sync::Arc::clone(&remaining);
            tokio::spawn(async move {
                let mut sender = connect(&target).await;
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                let more = || {
                    deadline.is_none_or(|d| Instant::now() < d)
                        && remaining
                            .fetch_update(
                                std::sync::atomic::Ordering::Relaxed,
                                std::sync::atomic::Ordering::Relaxed,
                                |n| n.checked_sub(1),
                            )
                            .is_ok()
                };
                while more() {
                    if sender.ready().await.is_err() {
                        sender = connect(&target).await;
                    }
                    let sent = Instant::now();
                    let ok = match sender.send_request(request(&target, GENERATION)).await {
                        Ok(response) => {
                            let status = response.status();
                            response.into_body().collect().await.is_ok() && status.is_success()
                        }
                        Err(_) => false,
                    };
                    if ok {
                        latencies.push(sent.elapsed().as_micros() as u64);
                    } else {
                        errors += 1;
                        sender = connect(&target).await;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for worker in workers {
        let (l, e) = worker.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    serde_json::json!({
        "requests": latencies.len(),
        "errors": errors,
        "rps": latencies.len() as f64 / elapsed,
        "p50_us": percentile(&latencies, 0.50),
        "p99_us": percentile(&latencies, 0.99),
    })
    .to_string()
}

/// Time from sending a streamed request to the first body bytes, `count` times in a row.
async fn sse(url: &str, count: usize) -> String {
    let target = target(url);
    let mut sender = connect(&target).await;
    let mut delays = Vec::with_capacity(count);
    for _ in 0..count {
        sender.ready().await.unwrap();
        let sent = Instant::now();
        let response = sender
            .send_request(request(&target, STREAMED))
            .await
            .unwrap();
        let mut body = response.into_body();
        let first = body.frame().await.unwrap().unwrap();
        assert!(first.data_ref().is_some_and(|d| d.starts_with(b"event: ")));
        delays.push(sent.elapsed().as_micros() as u64);
        while body.frame().await.is_some() {}
    }
    delays.sort_unstable();
    serde_json::json!({
        "count": count,
        "p50_us": percentile(&delays, 0.50),
        "p99_us": percentile(&delays, 0.99),
    })
    .to_string()
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}
