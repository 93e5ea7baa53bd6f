//! Client timeouts on real sockets: a head sent a byte at a time, a silent connection and an
//! idle keep-alive one are closed at the header timeout; a late body is answered 408; a client
//! that stops reading is cut at the write timeout and gives its concurrency slot back. A
//! prompt client is served all the while.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use easel_relay::{ApiKey, Config, Forward, Timeouts, Upstream, app, serve};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::fake;

const TIMEOUT: Duration = Duration::from_millis(400);

async fn relay(config: Config) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let timeouts = Timeouts::of(&config);
    tokio::spawn(serve(
        listener,
        app(config),
        timeouts,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    addr
}

/// Reads until the relay closes the connection (or resets it); what it sent, and when.
async fn until_closed(stream: &mut TcpStream, started: Instant) -> (Vec<u8>, Duration) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let reading = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    // A relay without the timeout would keep the connection open: fail, do not hang.
    let _ = tokio::time::timeout(Duration::from_secs(10), reading).await;
    (received, started.elapsed())
}

fn assert_cut_in_time(what: &str, elapsed: Duration) {
    assert!(
        elapsed >= TIMEOUT - Duration::from_millis(50),
        "{what}: closed too early, after {elapsed:?}"
    );
    assert!(
        elapsed < TIMEOUT + Duration::from_secs(2),
        "{what}: still open after {elapsed:?}"
    );
}

async fn healthz(addr: SocketAddr) -> String {
    reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn slow_silent_and_idle_clients_are_closed_at_the_header_timeout() {
    let addr = relay(Config {
        header_read_timeout: TIMEOUT,
        ..Config::default()
    })
    .await;

    let silent = tokio::spawn(async move {
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        until_closed(&mut stream, started).await
    });
    // A byte every 50 ms: each one arrives well within the timeout, the head never does.
    let slowloris = tokio::spawn(async move {
        let started = Instant::now();
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let dripping = tokio::spawn(async move {
            for byte in b"GET /healthz HTTP/1.1\r\nHost: relay.test\r\nX-Padding: ".repeat(20) {
                if writer.write_all(&[byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let mut rest = Vec::new();
        let reading = reader.read_to_end(&mut rest);
        let _ = tokio::time::timeout(Duration::from_secs(10), reading).await;
        dripping.abort();
        (rest, started.elapsed())
    });
    // One answer, then nothing more on the same connection.
    let idle = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay.test\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 1024];
        let n = stream.read(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
        until_closed(&mut stream, Instant::now()).await
    });

    // Meanwhile a prompt client is answered at once, again and again.
    let served_from = Instant::now();
    while served_from.elapsed() < TIMEOUT {
        let started = Instant::now();
        assert_eq!(healthz(addr).await, "ok");
        assert!(started.elapsed() < Duration::from_millis(200));
    }

    for (what, client) in [("silent", silent), ("slowloris", slowloris), ("idle", idle)] {
        let (received, elapsed) = client.await.unwrap();
        assert!(received.is_empty(), "{what}: no answer, only a close");
        assert_cut_in_time(what, elapsed);
    }
}

#[tokio::test]
async fn a_late_body_is_answered_408_and_the_connection_closed() {
    let addr = relay(Config {
        body_timeout: TIMEOUT,
        ..Config::default()
    })
    .await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = json!({"model": "gpt-image-2", "prompt": "a fox"}).to_string();
    let head = format!(
        "POST /v1/images/generations HTTP/1.1\r\nHost: relay.test\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Half the body, and the rest never.
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .unwrap();
    let (received, elapsed) = until_closed(&mut stream, started).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    assert_cut_in_time("late body", elapsed);
}

#[tokio::test]
async fn a_body_that_arrives_in_pieces_within_the_timeout_is_read() {
    let addr = relay(Config {
        body_timeout: TIMEOUT,
        ..Config::default()
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = json!({"model": "dall-e-2", "prompt": "a fox", "size": "256x256"}).to_string();
    let head = format!(
        "POST /v1/images/generations HTTP/1.1\r\nHost: relay.test\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (first, second) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(TIMEOUT / 4).await;
    stream.write_all(second).await.unwrap();
    let (received, _) = until_closed(&mut stream, Instant::now()).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_and_gives_its_slot_back() {
    let (upstream, fake) = fake::start().await;
    let events = fake.stream_events();
    let addr = relay(Config {
        upstream: Upstream::Forward(Forward::openai(
            format!("http://{upstream}/v1"),
            ApiKey::new("k"),
        )),
        write_timeout: TIMEOUT,
        // One slot: held by the stalled stream until the relay lets go of it.
        max_concurrent: 1,
        ..Config::default()
    })
    .await;

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    let body = json!({"model": "gpt-image-2", "prompt": "a fox", "stream": true}).to_string();
    let request = format!(
        "POST /v1/images/generations HTTP/1.1\r\nHost: relay.test\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stalled.write_all(request.as_bytes()).await.unwrap();
    // The upstream keeps talking; the client never reads a byte of it.
    let event: &'static str = format!(
        "event: image_generation.partial_image\ndata: {}\n\n",
        "x".repeat(64 * 1024)
    )
    .leak();
    let feeding = tokio::spawn(async move { while events.send(event).await.is_ok() {} });

    let started = Instant::now();
    while !fake.stream_dropped.load(Ordering::SeqCst) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the relay still writes to a client that stopped reading"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    feeding.abort();
    // The slot is free again: another client is answered, not shed.
    let answer = reqwest::Client::new()
        .post(format!("http://{addr}/v1/images/generations"))
        .json(&json!({"model": "gpt-image-2", "prompt": "a fox"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    drop(stalled);
}
