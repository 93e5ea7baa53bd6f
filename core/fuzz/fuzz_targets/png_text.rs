//! The PNG text-chunk reader and writer (`png_text`), the settings read from a dropped PNG, and
//! content sniffing, on arbitrary files — and on well-formed PNGs built from the input with
//! arbitrary chunks, since a random byte string almost never gets past the CRCs.
//!
//! Checked: the chunk list is contiguous from the signature, `IHDR` first and `IEND` last; the
//! reader fails exactly when the chunk walk does; writing into any valid PNG succeeds, reads
//! back the same text, keeps every other chunk and the bytes after `IEND` as they were, and is
//! idempotent.
#![no_main]

use easel_core::crc32::crc32;
use easel_core::files::{self, ImageFormat};
use easel_core::gallery::EmbeddedSettings;
use easel_core::png_text::{self, Chunk, KEYWORD};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(&data[..data.len().min(64)]);
    check(data, &text);
    if let Ok((png, text)) = build(Unstructured::new(data)) {
        check(&png, &text);
    }
});

/// A PNG with valid framing and CRCs: `IHDR`, chunks of arbitrary type and data (often an
/// `easel` `iTXt` with arbitrary flags and text), `IEND`, maybe trailing bytes; and a text.
fn build(mut u: Unstructured) -> Result<(Vec<u8>, String)> {
    let mut png = SIGNATURE.to_vec();
    push_chunk(&mut png, *b"IHDR", u.bytes(13)?);
    for _ in 0..u.int_in_range(0..=6)? {
        let (kind, data) = match u.int_in_range(0..=3)? {
            0 | 1 => {
                let mut data = if u.arbitrary()? {
                    KEYWORD.as_bytes().to_vec()
                } else {
                    u.arbitrary::<Vec<u8>>()?
                };
                data.push(0);
                data.extend_from_slice(u.arbitrary()?);
                (*b"iTXt", data)
            }
            2 => (*b"tEXt", u.arbitrary()?),
            _ => {
                // Four letters, any case.
                let mut kind = [0u8; 4];
                for letter in &mut kind {
                    *letter = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        [u.int_in_range(0..=51)?];
                }
                (kind, u.arbitrary()?)
            }
        };
        push_chunk(&mut png, kind, &data);
    }
    push_chunk(&mut png, *b"IEND", &[]);
    let text: String = u.arbitrary()?;
    png.extend_from_slice(u.take_rest());
    Ok((png, text))
}

fn push_chunk(out: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(&kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Whether `write_itxt` replaces this chunk: an `iTXt` whose keyword (up to the first NUL) is
/// Easel's.
fn is_easel(chunk: &Chunk) -> bool {
    &chunk.kind == b"iTXt"
        && chunk
            .data
            .iter()
            .position(|&b| b == 0)
            .is_some_and(|at| &chunk.data[..at] == KEYWORD.as_bytes())
}

fn check(png: &[u8], text: &str) {
    let listed = png_text::chunks(png);
    let read = png_text::read_itxt(png, KEYWORD);
    match &listed {
        Err(error) => assert_eq!(read, Err(error.clone())),
        Ok(list) => {
            assert_eq!(list[0].kind, *b"IHDR");
            assert_eq!(list[list.len() - 1].kind, *b"IEND");
            let mut at = SIGNATURE.len();
            for chunk in list {
                assert_eq!(chunk.start, at);
                assert_eq!(chunk.end - chunk.start, chunk.data.len() + 12);
                assert!(chunk.kind.iter().all(u8::is_ascii_alphabetic));
                at = chunk.end;
            }
            assert!(at <= png.len());
            if !list.iter().any(is_easel) {
                assert_eq!(read, Ok(None));
            }
            write_and_read_back(png, list, text);
        }
    }
    if let Ok(settings) = EmbeddedSettings::read_from_png(png) {
        let _ = settings.to_request();
    }
    if let Some(format) = ImageFormat::sniff(png) {
        let _ = (format.mime(), format.extension());
    }
    if let Some((width, height)) = files::dimensions(png) {
        assert!(width > 0 && height > 0);
    }
    let _ = files::svg_dimensions(png);
}

fn write_and_read_back(png: &[u8], list: &[Chunk], text: &str) {
    let written = png_text::write_itxt(png, KEYWORD, text).expect("a valid PNG takes the text");
    assert_eq!(
        png_text::read_itxt(&written, KEYWORD),
        Ok(Some(text.to_owned()))
    );
    let new = png_text::chunks(&written).expect("the written PNG is valid");
    assert!(is_easel(&new[1]));
    assert_eq!(new.iter().filter(|c| is_easel(c)).count(), 1);
    let others = |chunks: &[Chunk]| -> Vec<([u8; 4], Vec<u8>)> {
        chunks
            .iter()
            .filter(|c| !is_easel(c))
            .map(|c| (c.kind, c.data.to_vec()))
            .collect()
    };
    assert_eq!(others(list), others(&new));
    let (old_end, new_end) = (list[list.len() - 1].end, new[new.len() - 1].end);
    assert_eq!(&written[new_end..], &png[old_end..]);
    assert_eq!(
        png_text::write_itxt(&written, KEYWORD, text).as_ref(),
        Ok(&written)
    );
}
