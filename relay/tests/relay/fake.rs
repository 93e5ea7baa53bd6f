//! A fake upstream on a real socket that records every request it receives and answers any
//! path: JSON by default (after 0.7 s for a prompt with "pause", 5 s for "slow"), Server-Sent
//! Events when the body asks to stream. The streamed events
//! are driven by the test, so it can prove what the client saw before the next one was sent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

/// One request as the fake upstream received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone, Default)]
pub struct Fake {
    pub received: Arc<Mutex<Vec<Received>>>,
    /// Events for the next streamed answer, sent when the test pushes them.
    events: Arc<Mutex<Option<mpsc::Receiver<&'static str>>>>,
    /// Set when a streamed answer's body was dropped before the test ended it.
    pub stream_dropped: Arc<AtomicBool>,
}

impl Fake {
    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Waits until a request has reached the fake: the relay is then in the middle of it.
    pub async fn wait_for_request(&self) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while self.count() == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("a request reached the upstream");
    }

    /// The sender the test uses to emit the next stream's events, one by one.
    pub fn stream_events(&self) -> mpsc::Sender<&'static str> {
        let (sender, receiver) = mpsc::channel(8);
        *self.events.lock().unwrap() = Some(receiver);
        sender
    }
}

pub async fn start() -> (SocketAddr, Fake) {
    let fake = Fake::default();
    let router = Router::new().fallback(answer).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, fake)
}

/// Sets the flag when the stream is dropped before the test ended it.
struct DropWatch(Arc<AtomicBool>);

impl Drop for DropWatch {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn answer(State(fake): State<Fake>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    fake.received.lock().unwrap().push(Received {
        path_and_query,
        headers: parts.headers,
        body: body.clone(),
    });
    let text = String::from_utf8_lossy(&body);
    if text.contains("\"stream\":true") || text.contains("name=\"stream\"") {
        let receiver = fake.events.lock().unwrap().take();
        let Some(receiver) = receiver else {
            return (StatusCode::INTERNAL_SERVER_ERROR, "no events prepared").into_response();
        };
        let watch = DropWatch(Arc::clone(&fake.stream_dropped));
        let events =
            futures_util::stream::unfold((receiver, watch), |(mut receiver, watch)| async move {
                match receiver.recv().await {
                    Some(event) => Some((
                        Ok::<_, std::io::Error>(Bytes::from(event)),
                        (receiver, watch),
                    )),
                    None => {
                        // Ended by the test: not a drop to report.
                        std::mem::forget(watch);
                        None
                    }
                }
            });
        return Response::builder()
            .header("content-type", "text/event-stream")
            .header("x-request-id", "req_fake_stream")
            .body(Body::from_stream(events))
            .unwrap();
    }
    if text.contains("slow") {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    if text.contains("pause") {
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    (
        StatusCode::OK,
        [
            ("content-type", "application/json"),
            ("x-request-id", "req_fake"),
        ],
        r#"{"created":1,"data":[{"b64_json":"aGk="}]}"#,
    )
        .into_response()
}
