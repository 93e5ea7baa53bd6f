//! What the app reads from an Images API answer: a success body (`ImagesResponse`), an error
//! body of any shape (`classify`, which reads the `{"error": …}` envelope or a proxy's plain
//! text), the retry headers and the retry delay, and key redaction.
//!
//! Input: two bytes of HTTP status, one of jitter, then the body (as `response.text()` gives
//! it: invalid UTF-8 replaced). Its first two lines also serve as the `retry-after-ms` and
//! `retry-after` header values.
//!
//! Checked: a parsed response or envelope survives serialising and parsing again; the failure
//! keeps the status, is retryable exactly for 408, 409, 5xx and a rate limit, carries the
//! envelope's message or a short one-line one (at most 200 characters and an ellipsis); no
//! automatic retry waits longer than `MAX_WAIT_MS`; a key-like word in the body never survives
//! `redact`.
#![no_main]

use easel_core::api::ErrorEnvelope;
use easel_core::error::{FailureKind, classify, redact};
use easel_core::retry::{self, MAX_RETRIES, MAX_WAIT_MS};
use easel_core::{ImagesResponse, sse::ImageEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [s0, s1, jitter, body @ ..] = data else {
        return;
    };
    let status = u16::from_le_bytes([*s0, *s1]);
    let jitter = f64::from(*jitter) / 255.0;
    let body = String::from_utf8_lossy(body);

    if let Ok(response) = serde_json::from_str::<ImagesResponse>(&body) {
        let text = serde_json::to_string(&response).expect("a response serialises");
        let mut again: ImagesResponse = serde_json::from_str(&text).expect("and parses again");
        // `svg_usage` is kept as raw JSON, whose floats serde_json's default (fast) parser may
        // move by one ULP on the way back: compared by presence only.
        assert_eq!(again.svg_usage.is_some(), response.svg_usage.is_some());
        again.svg_usage.clone_from(&response.svg_usage);
        assert_eq!(again, response);
    }
    // A stream event's JSON is the same kind of body.
    let _ = serde_json::from_str::<ImageEvent>(&body);

    let failure = classify(status, &body);
    assert_eq!(failure.status, Some(status));
    assert_eq!(
        failure.retryable,
        matches!(status, 408 | 409 | 500..=599) || failure.kind == FailureKind::RateLimited
    );
    match serde_json::from_str::<ErrorEnvelope>(&body) {
        Ok(envelope) => {
            assert_eq!(failure.message, envelope.error.message);
            assert_eq!(failure.param, envelope.error.param);
            assert_eq!(failure.code, envelope.error.code);
            let text = serde_json::to_string(&envelope).expect("an envelope serialises");
            let again: ErrorEnvelope = serde_json::from_str(&text).expect("and parses again");
            assert_eq!(again, envelope);
        }
        Err(_) => {
            assert!(!failure.message.is_empty());
            assert!(!failure.message.contains('\n'));
            assert!(failure.message.chars().count() <= 201);
        }
    }
    let _ = (
        failure.explanation(),
        failure.help_link(true),
        failure.may_succeed_unchanged(),
    );

    let mut lines = body.lines();
    let (ms, secs) = (lines.next(), lines.next());
    let failure = easel_core::ApiFailure {
        retry_after_ms: retry::retry_after_ms(ms, secs),
        ..failure
    };
    for attempt in 0..=MAX_RETRIES + 1 {
        if let Some(wait) = retry::delay_ms(&failure, attempt, jitter) {
            assert!((1..=MAX_RETRIES).contains(&attempt));
            assert!(wait <= MAX_WAIT_MS, "waits {wait} ms");
        }
    }

    // Servers sometimes echo the key in their message: the longest key-like word stands in for
    // it. (A word inside "[redacted]" itself, which the replacement writes, is not a leak.)
    let key = body
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .max_by_key(|word| word.len())
        .unwrap_or_default();
    if key.len() >= 4 && !"[redacted]".contains(key) {
        assert!(!redact(&body, key).contains(key));
    }
});
