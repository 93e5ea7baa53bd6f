//! The Server-Sent Events parser on arbitrary text cut into arbitrary chunks (empty ones
//! included: the app's reader yields "" while a character's bytes are incomplete), and each
//! event's JSON read as the app reads it.
//!
//! Checked: where the text is cut never changes the events — whole, cut at fuzzer-chosen
//! points, and one character at a time give the same list; no event's name or data holds a
//! line end other than the `\n` that joins data lines.
#![no_main]

use easel_core::error::classify;
use easel_core::sse::{ImageEvent, SseEvent, SseParser};
use libfuzzer_sys::fuzz_target;

/// At most this many cuts, each given by two bytes at the input's start.
const MAX_CUTS: usize = 8;

fn events(chunks: &[&str]) -> Vec<SseEvent> {
    let mut parser = SseParser::default();
    chunks.iter().flat_map(|chunk| parser.push(chunk)).collect()
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(count) % (MAX_CUTS + 1);
    if rest.len() < 2 * count {
        return;
    }
    let (cuts, stream) = rest.split_at(2 * count);
    // As the browser hands it over: the bytes decoded to text, invalid ones replaced.
    let text = String::from_utf8_lossy(stream);

    let whole = events(&[&text]);

    let mut points: Vec<usize> = cuts
        .chunks_exact(2)
        .map(|pair| {
            let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % (text.len() + 1);
            floor_char_boundary(&text, at)
        })
        .collect();
    points.sort_unstable();
    let mut pieces = Vec::with_capacity(points.len() + 1);
    let mut from = 0;
    for &to in &points {
        pieces.push(&text[from..to]);
        from = to;
    }
    pieces.push(&text[from..]);
    assert_eq!(events(&pieces), whole, "cut at {points:?}");

    let singles: Vec<&str> = text
        .char_indices()
        .map(|(at, c)| &text[at..at + c.len_utf8()])
        .collect();
    assert_eq!(events(&singles), whole, "one character at a time");

    for event in &whole {
        assert!(!event.data.contains('\r'));
        if let Some(name) = &event.event {
            assert!(!name.contains(['\r', '\n']));
        }
        // What the app does with each event (src/api/generate.rs).
        if let Ok(parsed) = serde_json::from_str::<ImageEvent>(&event.data) {
            let _ = (parsed.is_partial(), parsed.is_completed());
            if parsed.error.is_some() {
                let failure = classify(500, &event.data);
                assert_eq!(failure.status, Some(500));
            }
        }
    }
});
