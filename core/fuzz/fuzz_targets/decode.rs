//! The recipe-link decoder on arbitrary input: base64url → inflate with the limit → JSON →
//! validation. Any input must give a share or a typed error, never a panic, and never more
//! than the inflated limit in memory.
#![no_main]

use easel_core::share::{self, Inflated, ShareError};
use libfuzzer_sys::fuzz_target;
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress};

/// Raw deflate in 32 KiB pieces, like the browser's stream, stopping at the limit.
fn inflate(deflated: &[u8], out: &mut Inflated) -> Result<(), ShareError> {
    let mut decompressor = DecompressorOxide::new();
    let mut window = vec![0u8; 32 * 1024];
    let (mut input, mut at) = (deflated, 0usize);
    loop {
        let (status, used, written) = decompress(&mut decompressor, input, &mut window, at, 0);
        input = &input[used..];
        out.push(&window[at..at + written])?;
        at = (at + written) % window.len();
        match status {
            TINFLStatus::Done => return Ok(()),
            TINFLStatus::HasMoreOutput => {}
            other => return Err(ShareError::Inflate(format!("{other:?}"))),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // As link text (what a user pastes)…
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = share::decode_with(text, inflate);
        let _ = share::parse_fragment(text);
    }
    // …and as the deflated bytes of a well-formed payload (what gets past base64url), so the
    // inflater and the JSON checks see arbitrary data too.
    let payload = share::encode_payload(data);
    match share::decode_with(&payload, inflate) {
        Ok(manifest) => assert!(!manifest.items.is_empty()),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    let _ = share::ShareManifest::parse(data);
});
