//! The relay reading an image request before anything goes upstream (`inspect::read`): framing
//! headers, content type, size limits, the single-pass JSON field checks and multipart forms.
//!
//! The request is built from the input: endpoint, upstream (offline generator or forwarding),
//! limits, headers (content type, lengths, transfer encoding, fault, host), and a body that is
//! either raw bytes or a multipart form the target encodes itself.
//!
//! Checked: a JSON body gets exactly the verdict a plain `serde_json::Value` reading with the
//! documented rules gives (the single-pass parser accepts the same bodies and sees the same
//! fields); an accepted request is under its limit, carries the body byte for byte, and obeys
//! the rules (prompt length, model length, `n` in 1..=10, an image part); a form the target
//! encoded is never "malformed" and, once accepted, has exactly the parts that were sent; both
//! `Content-Length` and `Transfer-Encoding` are always refused.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use easel_relay::inspect::{self, Form, Incoming, Operation};
use easel_relay::{ApiKey, AppError, Config, Forward, Upstream};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const MAX_PROMPT_CHARS: usize = 32_000;
const MAX_MODEL_CHARS: usize = 256;
const MAX_IMAGES: u64 = 10;
const MAX_PARTS: usize = 64;

/// The request is all in memory, so reading it never waits.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("reading a request held in memory waited"),
    }
}

/// One part of a form the target encodes.
#[derive(Debug, PartialEq, Eq)]
struct Part {
    name: String,
    file_name: Option<String>,
    data: Vec<u8>,
}

enum Kind {
    Json,
    Multipart { boundary: String },
    Other(String),
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});

/// Input: four control bytes, then the body as sent (so that seeds are real request bodies).
/// 1. the endpoint; 2. flags: forwarding upstream, small limits (scaled by the high nibble),
///    test mode, a fault header, a Host header; 3. the content type: JSON, multipart (its
///    boundary read from the body's first line, as a real body starts), a form the target
///    encodes from the rest of the input, or the body's first line as the Content-Type;
///    4. framing headers: a true length, a wrong one, chunked, both, none.
fn run(data: &[u8]) -> Result<()> {
    let [endpoint, flags, form, framing, rest @ ..] = data else {
        return Ok(());
    };
    let operation = [
        Operation::Generations,
        Operation::Edits,
        Operation::Variations,
    ][usize::from(*endpoint) % 3];
    let mut config = Config::default();
    if flags & 1 != 0 {
        config.upstream = Upstream::Forward(Forward::openai(
            "https://api.openai.com/v1",
            ApiKey::new("sk-test"),
        ));
    }
    if flags & 2 != 0 {
        // Small limits, so that the size checks are reached too.
        config.json_body_limit = usize::from(flags >> 4) * 32;
        config.multipart_body_limit = usize::from(flags >> 4) * 128;
    }
    config.test_mode = flags & 4 != 0;

    let first_line = |body: &[u8]| {
        let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
        String::from_utf8_lossy(&body[..end]).trim().to_owned()
    };
    let (kind, body) = match form % 5 {
        0 | 1 => (Kind::Json, rest.to_vec()),
        2 => {
            let boundary = first_line(rest)
                .strip_prefix("--")
                .unwrap_or("easel")
                .to_owned();
            (Kind::Multipart { boundary }, rest.to_vec())
        }
        3 => (
            Kind::Multipart {
                boundary: "easel-fuzz".to_owned(),
            },
            rest.to_vec(),
        ),
        _ => {
            let line = first_line(rest);
            let body = rest.get(line.len() + 1..).unwrap_or_default().to_vec();
            (Kind::Other(line), body)
        }
    };
    let content_type = match &kind {
        Kind::Json => "application/json; charset=utf-8".to_owned(),
        Kind::Multipart { boundary } => format!("multipart/form-data; boundary={boundary}"),
        Kind::Other(text) => text.clone(),
    };
    let (sent_parts, body) = if form % 5 == 3 {
        let parts = parts(&mut Unstructured::new(rest))?;
        let Some(body) = encode(&parts, "easel-fuzz") else {
            return Ok(());
        };
        (Some(parts), body)
    } else {
        (None, body)
    };

    let mut request = Request::builder()
        .method("POST")
        .uri(format!("/v1/{}", operation.path()));
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        request = request.header(header::CONTENT_TYPE, value);
    }
    let (mut length, mut chunked) = (false, false);
    match framing % 5 {
        0 => {
            request = request.header(header::CONTENT_LENGTH, body.len());
            length = true;
        }
        1 => {
            request = request.header(header::CONTENT_LENGTH, format!("{}0", body.len()));
            length = true;
        }
        2 => {
            request = request.header(header::TRANSFER_ENCODING, "chunked");
            chunked = true;
        }
        3 => {
            request = request
                .header(header::CONTENT_LENGTH, body.len())
                .header(header::TRANSFER_ENCODING, "chunked");
            (length, chunked) = (true, true);
        }
        _ => {}
    }
    if flags & 8 != 0 {
        request = request.header(
            "x-easel-fault",
            if flags & 16 != 0 {
                "rate-limit"
            } else {
                "nope"
            },
        );
    }
    if flags & 32 != 0 {
        request = request.header(header::HOST, "relay.example:8080");
    }
    let Ok(request) = request.body(Body::from(body.clone())) else {
        return Ok(());
    };

    let read = now(inspect::read(&config, operation, request));

    if length && chunked {
        assert!(
            matches!(
                &read,
                Err(AppError::InvalidRequest {
                    code: "invalid_header",
                    ..
                })
            ),
            "{read:?}"
        );
        return Ok(());
    }
    if let Kind::Json = kind
        && read_json(&read, operation, &config, &body)
    {
        let expected = json_verdict(operation, &body);
        match (&read, expected) {
            (Ok(_), Ok(())) => {}
            (Err(error), Err(expected)) => {
                assert_eq!(
                    summary(error),
                    expected,
                    "for {:?}",
                    String::from_utf8_lossy(&body)
                )
            }
            (read, expected) => panic!(
                "read {read:?}, expected {expected:?} for {:?}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
    if let Some(sent) = &sent_parts
        && let Err(AppError::InvalidRequest { message, .. }) = &read
    {
        assert!(
            // The multipart reader's own refusal; "malformed" alone is also a fault's name,
            // listed when an unknown fault header is refused.
            !message.contains("multipart body is malformed") || sent.len() > MAX_PARTS,
            "an encoded form was refused: {message}"
        );
    }
    if let Ok(incoming) = &read {
        accepted(incoming, operation, &config, &body);
        if let (Some(sent), Form::Multipart(parts)) = (&sent_parts, &incoming.form) {
            let received: Vec<Part> = parts
                .iter()
                .map(|p| Part {
                    name: p.name.clone(),
                    file_name: p.file_name.clone(),
                    data: p.data.to_vec(),
                })
                .collect();
            assert_eq!(&received, sent);
        }
    }
    Ok(())
}

/// Whether the request got as far as the JSON checks: framing fine, JSON taken here, and the
/// body within the limit.
fn read_json(
    read: &std::result::Result<Incoming, AppError>,
    operation: Operation,
    config: &Config,
    body: &[u8],
) -> bool {
    operation != Operation::Variations
        && body.len() <= config.json_body_limit
        && !matches!(
            read,
            Err(AppError::PayloadTooLarge
                | AppError::InvalidRequest {
                    code: "invalid_header" | "invalid_fault",
                    ..
                })
        )
}

/// What an error is compared by.
fn summary(error: &AppError) -> (&'static str, Option<String>) {
    match error {
        AppError::InvalidJson { .. } => ("invalid_json", None),
        AppError::InvalidRequest { code, param, .. } => (code, param.clone()),
        other => panic!("unexpected {other:?}"),
    }
}

/// The verdict on a JSON body from a plain `Value` reading with the relay's documented rules.
fn json_verdict(
    operation: Operation,
    body: &[u8],
) -> std::result::Result<(), (&'static str, Option<String>)> {
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => object,
        _ => return Err(("invalid_json", None)),
    };
    let refuse = |code: &'static str, param: &str| Err((code, Some(param.to_owned())));
    for name in ["prompt", "model"] {
        if object.get(name).is_some_and(|v| !v.is_string()) {
            return refuse("invalid_type", name);
        }
    }
    let n = object.get("n");
    if n.is_some_and(|n| !(n.is_u64() || n.is_i64())) {
        return refuse("invalid_type", "n");
    }
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    match text("prompt") {
        None if operation != Operation::Variations => {
            return refuse("missing_required_parameter", "prompt");
        }
        Some(prompt) if prompt.chars().count() > MAX_PROMPT_CHARS => {
            return refuse("string_above_max_length", "prompt");
        }
        _ => {}
    }
    if text("model").is_some_and(|m| m.chars().count() > MAX_MODEL_CHARS) {
        return refuse("invalid_value", "model");
    }
    if n.is_some_and(|n| !n.as_u64().is_some_and(|n| (1..=MAX_IMAGES).contains(&n))) {
        return refuse("integer_out_of_range", "n");
    }
    Ok(())
}

/// What every accepted request must satisfy.
fn accepted(incoming: &Incoming, operation: Operation, config: &Config, body: &[u8]) {
    assert_eq!(incoming.operation, operation);
    assert_eq!(incoming.body, body, "the body goes on byte for byte");
    let offline = matches!(config.upstream, Upstream::Offline);
    let field = |name: &str| match &incoming.form {
        Form::Multipart(parts) => parts
            .iter()
            .find(|p| p.name == name && p.file_name.is_none())
            .and_then(|p| p.text())
            .map(str::to_owned),
        form => form.field(name),
    };
    match &incoming.form {
        Form::Json(object) => {
            assert!(offline && body.len() <= config.json_body_limit);
            assert_eq!(
                serde_json::from_slice::<Value>(body).ok(),
                Some(Value::Object(object.clone()))
            );
        }
        Form::Forwarded => {
            assert!(!offline && body.len() <= config.json_body_limit);
            // Forwarded JSON is not kept parsed: its rules are checked against `Value` above.
            return;
        }
        Form::Multipart(parts) => {
            assert!(operation != Operation::Generations);
            assert!(body.len() <= config.multipart_body_limit);
            assert!(parts.len() <= MAX_PARTS);
            let images = parts
                .iter()
                .filter(|p| p.name == "image" || p.name == "image[]")
                .count();
            assert!(images >= 1);
            if operation == Operation::Variations {
                assert_eq!(images, 1);
            }
        }
    }
    let prompt = field("prompt");
    if operation != Operation::Variations {
        assert!(prompt.is_some(), "a prompt");
    }
    assert!(prompt.is_none_or(|p| p.chars().count() <= MAX_PROMPT_CHARS));
    assert!(field("model").is_none_or(|m| m.chars().count() <= MAX_MODEL_CHARS));
    if let Form::Multipart(_) = incoming.form
        && let Some(n) = field("n")
    {
        assert!(
            n.parse::<u64>()
                .is_ok_and(|n| (1..=MAX_IMAGES).contains(&n))
        );
    }
    if offline {
        assert!(incoming.origin.starts_with("http://"));
    }
}

/// Up to a few parts with names and file names from a safe alphabet (so that the encoding is
/// unambiguous), often the ones the relay looks for.
fn parts(u: &mut Unstructured) -> Result<Vec<Part>> {
    let name = |u: &mut Unstructured| -> Result<String> {
        Ok(match u.int_in_range(0..=5)? {
            0 => "prompt".into(),
            1 => "image".into(),
            2 => "image[]".into(),
            3 => "n".into(),
            4 => "model".into(),
            _ => safe(u, "abcdefghijklmnopqrstuvwxyz_[]0123456789")?,
        })
    };
    let mut parts = Vec::new();
    // At least one: a multipart body without parts is not well-formed (RFC 2046).
    for _ in 0..u.int_in_range(1..=8)? {
        let name = name(u)?;
        let file_name = if u.arbitrary()? {
            Some(safe(u, "abcdefghijklmnopqrstuvwxyz0123456789._- ")?)
        } else {
            None
        };
        let data = if name == "n" && u.arbitrary()? {
            u.int_in_range(0..=12u8)?.to_string().into_bytes()
        } else {
            u.arbitrary::<Vec<u8>>()?
        };
        parts.push(Part {
            name,
            file_name,
            data,
        });
    }
    Ok(parts)
}

fn safe(u: &mut Unstructured, alphabet: &str) -> Result<String> {
    let alphabet = alphabet.as_bytes();
    let length = u.int_in_range(1..=12)?;
    (0..length)
        .map(|_| Ok(char::from(*u.choose(alphabet)?)))
        .collect()
}

/// `parts` as a multipart/form-data body, or `None` when a part's data holds the delimiter.
fn encode(parts: &[Part], boundary: &str) -> Option<Vec<u8>> {
    let delimiter = format!("\r\n--{boundary}");
    let mut body = Vec::new();
    for part in parts {
        // The data follows a line end and is followed by the delimiter: the first delimiter in
        // all that must be the one after the data.
        let around = [b"\r\n", &part.data[..], delimiter.as_bytes()].concat();
        let first = around
            .windows(delimiter.len())
            .position(|w| w == delimiter.as_bytes());
        if first != Some(around.len() - delimiter.len()) {
            return None;
        }
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match &part.file_name {
            Some(file) => format!(
                "Content-Disposition: form-data; name=\"{}\"; filename=\"{file}\"\r\nContent-Type: image/png\r\n",
                part.name
            ),
            None => format!("Content-Disposition: form-data; name=\"{}\"\r\n", part.name),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Some(body)
}
