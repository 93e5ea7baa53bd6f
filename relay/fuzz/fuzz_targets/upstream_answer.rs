//! The relay's own HTTP/1.1 client reading an upstream's answer (pool.rs): the head parser and
//! the chunked body decoder, on bytes that arrive in arbitrary pieces, as from a socket.
//!
//! Input: a mode byte, up to eight cut points (two bytes each, after a count byte), then the
//! wire bytes — raw (any head and body), or, in the round-trip mode, data pieces the target
//! frames as a chunked body itself (random hex case, extensions, trailers, trailing bytes).
//!
//! Checked: however the bytes are cut, the head (status, kept headers, framing, keep-alive),
//! the body's data and how it ends are the same as when all arrive at once; a head is taken
//! exactly where httparse says it ends, keeps the first value of each kept header and no other
//! header, and a reusable connection always has a known body length (never both a length and
//! chunking: no desync); a body the target framed decodes to exactly its data and ends just
//! before the bytes that follow it.
#![no_main]

use axum::http::{HeaderName, StatusCode, header};
use bytes::BytesMut;
use easel_relay::pool::{Chunked, Decoded, Framing, Head};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// What the relay keeps of an answer's headers (a subset of proxy.rs's list).
fn keep() -> [HeaderName; 4] {
    [
        header::CONTENT_TYPE,
        header::RETRY_AFTER,
        HeaderName::from_static("x-request-id"),
        HeaderName::from_static("retry-after-ms"),
    ]
}

const MAX_HEADERS: usize = 100;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(round_trip) = u.arbitrary::<bool>() else {
        return;
    };
    let Ok(cuts) = cut_points(&mut u) else {
        return;
    };
    if round_trip {
        if let Ok((wire, body, after)) = chunked_body(u) {
            for pieces in [vec![&wire[..]], split(&wire, &cuts)] {
                let (decoded, end) = dechunk(&pieces, BytesMut::new());
                assert_eq!(decoded, body);
                assert_eq!(end, End::Done { left: after });
            }
        }
    } else {
        let wire = u.take_rest();
        let whole = read(&[wire]);
        assert_eq!(read(&split(wire, &cuts)), whole, "cut at {cuts:?}");
        check_head(wire);
    }
});

fn cut_points(u: &mut Unstructured) -> Result<Vec<usize>> {
    let count = u.int_in_range(0..=8)?;
    (0..count)
        .map(|_| Ok(usize::from(u.arbitrary::<u16>()?)))
        .collect()
}

/// `wire` cut at these offsets (taken modulo its length, in order; empty pieces kept).
fn split<'a>(wire: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0;
    for to in points {
        pieces.push(&wire[from..to]);
        from = to;
    }
    pieces.push(&wire[from..]);
    pieces
}

/// How a chunked body ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// At its last chunk and trailers, with this many bytes after it.
    Done {
        left: usize,
    },
    /// The bytes ran out first.
    Short,
    Failed(String),
}

/// Decodes a chunked body from `buffer` and then `pieces`, as `PooledBody` does.
fn dechunk(pieces: &[&[u8]], mut buffer: BytesMut) -> (Vec<u8>, End) {
    let mut state = Chunked::Start;
    let mut data = Vec::new();
    let mut pieces = pieces.iter();
    loop {
        match state.decode(&mut buffer) {
            Ok(Decoded::Data(n)) => {
                assert!(n > 0 && n <= buffer.len());
                data.extend_from_slice(&buffer.split_to(n));
            }
            Ok(Decoded::NeedMore) => match pieces.next() {
                Some(piece) => buffer.extend_from_slice(piece),
                None => return (data, End::Short),
            },
            Ok(Decoded::End) => {
                let left = buffer.len() + pieces.map(|p| p.len()).sum::<usize>();
                return (data, End::Done { left });
            }
            Err(error) => return (data, End::Failed(error.to_string())),
        }
    }
}

/// The parts of a head that are compared.
type Summary = (StatusCode, Vec<(String, Vec<u8>)>, Framing, bool);

/// Reads an answer as `Connection::read_head` and `PooledBody` do: heads until one that is not
/// interim, then a chunked body. The head, and the body's data and end; or the error.
fn read(pieces: &[&[u8]]) -> core::result::Result<(Summary, Option<(Vec<u8>, End)>), String> {
    let keep = keep();
    let mut buffer = BytesMut::new();
    let mut pieces = pieces.iter();
    loop {
        let parsed = if buffer.is_empty() {
            None
        } else {
            Head::parse(&mut buffer, &keep).map_err(|e| e.to_string())?
        };
        match parsed {
            Some(head) if head.status == StatusCode::SWITCHING_PROTOCOLS => {
                return Err("switched protocols".into());
            }
            Some(head) if head.status.is_informational() => continue,
            Some(head) => {
                for name in head.headers.keys() {
                    assert!(keep.contains(name), "{name} kept");
                }
                let headers = head
                    .headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                    .collect();
                let summary = (head.status, headers, head.framing, head.keep_alive);
                let body = match head.framing {
                    Framing::Chunked(_) => {
                        let rest: Vec<&[u8]> = pieces.copied().collect();
                        Some(dechunk(&rest, buffer))
                    }
                    _ => None,
                };
                return Ok((summary, body));
            }
            None => match pieces.next() {
                Some(piece) => buffer.extend_from_slice(piece),
                None => return Err("incomplete".into()),
            },
        }
    }
}

/// The first head in `wire` against httparse's own reading of it, and the framing rules.
fn check_head(wire: &[u8]) {
    let keep = keep();
    let mut buffer = BytesMut::from(wire);
    let Ok(Some(head)) = Head::parse(&mut buffer, &keep) else {
        return;
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(length)) = response.parse(wire) else {
        panic!("httparse does not take a head the relay took");
    };
    assert_eq!(
        buffer.len(),
        wire.len() - length,
        "the head ends where httparse says"
    );
    assert_eq!(Some(head.status.as_u16()), response.code);
    for name in &keep {
        let first = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name.as_str()))
            .map(|h| h.value);
        assert_eq!(
            head.headers.get(name).map(|v| v.as_bytes()),
            first,
            "{name}"
        );
    }
    let has = |name: &HeaderName| {
        response
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(name.as_str()))
    };
    let (length, chunking) = (
        has(&header::CONTENT_LENGTH),
        has(&header::TRANSFER_ENCODING),
    );
    if head.keep_alive {
        assert_ne!(head.framing, Framing::UntilClose);
        assert!(
            !(length && chunking),
            "a reused connection with both framings"
        );
    }
    if let Framing::Length(n) = head.framing
        && n > 0
    {
        assert!(length && !chunking);
    }
    if matches!(head.framing, Framing::Chunked(_)) {
        assert!(chunking);
    }
}

/// Data pieces framed as a chunked body by this target (not by the relay): the wire, the data,
/// and how many bytes follow the body.
fn chunked_body(mut u: Unstructured) -> Result<(Vec<u8>, Vec<u8>, usize)> {
    let mut wire = Vec::new();
    let mut body = Vec::new();
    let eol = |u: &mut Unstructured| -> Result<&'static [u8]> {
        Ok(if u.arbitrary()? { b"\r\n" } else { b"\n" })
    };
    for _ in 0..u.int_in_range(0..=8)? {
        let data: &[u8] = u.arbitrary()?;
        if data.is_empty() {
            continue; // a zero size is the last chunk
        }
        let size = format!("{:x}", data.len());
        let size = if u.arbitrary()? {
            size.to_uppercase()
        } else {
            size
        };
        wire.extend_from_slice("0".repeat(u.int_in_range(0..=2)?).as_bytes());
        wire.extend_from_slice(size.as_bytes());
        if u.arbitrary()? {
            wire.extend_from_slice(b" ;name=value");
        }
        wire.extend_from_slice(eol(&mut u)?);
        wire.extend_from_slice(data);
        wire.extend_from_slice(eol(&mut u)?);
        body.extend_from_slice(data);
    }
    wire.extend_from_slice(b"0");
    wire.extend_from_slice(eol(&mut u)?);
    if u.arbitrary()? {
        wire.extend_from_slice(b"x-trailer: 1");
        wire.extend_from_slice(eol(&mut u)?);
    }
    wire.extend_from_slice(eol(&mut u)?);
    let after = u.take_rest();
    wire.extend_from_slice(after);
    Ok((wire, body, after.len()))
}
