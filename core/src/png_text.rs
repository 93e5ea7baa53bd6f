//! Settings inside PNG files: an `iTXt` chunk written into existing PNG bytes without
//! re-encoding a pixel, and read back from a PNG a person drops on the studio.
//!
//! Easel's chunk has the keyword [`KEYWORD`] (`easel`), no compression, empty language tag and
//! translated keyword, and UTF-8 JSON as its text (the shape is
//! [`crate::gallery::EmbeddedSettings`]). It goes right after `IHDR`; an earlier `easel` chunk
//! is replaced, every other chunk is copied byte for byte.
//!
//! Input is untrusted: every chunk's length and CRC is checked and every failure is a
//! [`PngError`], never a panic. Compressed `iTXt` (zlib) is reported as
//! [`PngError::CompressedText`]: inflating would need a deflate engine in the bundle, and Easel
//! never writes it.

use std::fmt;

use crate::crc32::Crc32;

/// The `iTXt` keyword Easel writes and reads.
pub const KEYWORD: &str = "easel";

/// The largest text Easel writes into a PNG (prompts are at most tens of kilobytes).
pub const MAX_TEXT_BYTES: usize = 1 << 20;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
/// The PNG specification's limit on a chunk's length.
const MAX_CHUNK_LEN: u32 = 0x7FFF_FFFF;

/// Why PNG bytes could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PngError {
    /// The bytes do not start with the PNG signature.
    NotPng,
    /// The file ends in the middle of a chunk, or before `IEND`.
    Truncated { offset: usize },
    /// A chunk claims more than the PNG limit of 2^31 - 1 bytes.
    ChunkTooLong { offset: usize, length: u32 },
    /// A chunk's CRC does not match its contents.
    BadCrc { offset: usize, chunk: [u8; 4] },
    /// A chunk type that is not four ASCII letters.
    BadChunkType { offset: usize },
    /// The first chunk is not `IHDR`.
    MissingHeader,
    /// Easel's `iTXt` chunk is not laid out as the specification says.
    BadText(&'static str),
    /// Easel's `iTXt` chunk is zlib-compressed, which this reader does not inflate.
    CompressedText,
    /// The keyword is empty, longer than 79 bytes, or not printable ASCII.
    BadKeyword,
    /// The text to write is larger than [`MAX_TEXT_BYTES`].
    TextTooLarge { bytes: usize },
}

impl fmt::Display for PngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PngError::NotPng => f.write_str("This is not a PNG file."),
            PngError::Truncated { offset } => {
                write!(f, "The PNG file is cut short (at byte {offset}).")
            }
            PngError::ChunkTooLong { offset, length } => write!(
                f,
                "The PNG file is damaged: a chunk at byte {offset} claims {length} bytes."
            ),
            PngError::BadCrc { offset, chunk } => write!(
                f,
                "The PNG file is damaged: the checksum of the {} chunk at byte {offset} is wrong.",
                String::from_utf8_lossy(chunk)
            ),
            PngError::BadChunkType { offset } => write!(
                f,
                "The PNG file is damaged: an invalid chunk type at byte {offset}."
            ),
            PngError::MissingHeader => {
                f.write_str("The PNG file is damaged: it does not start with a header chunk.")
            }
            PngError::BadText(why) => write!(f, "The PNG's Easel settings are damaged: {why}."),
            PngError::CompressedText => {
                f.write_str("The PNG's settings are compressed, which Easel cannot read.")
            }
            PngError::BadKeyword => {
                f.write_str("A PNG text keyword must be 1 to 79 printable ASCII characters.")
            }
            PngError::TextTooLarge { bytes } => write!(
                f,
                "The settings are too large to store in a PNG ({bytes} bytes, at most {MAX_TEXT_BYTES})."
            ),
        }
    }
}

impl std::error::Error for PngError {}

/// One chunk of a PNG: its type, its data, and where it sits in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub kind: [u8; 4],
    pub data: &'a [u8],
    /// Offset of the chunk's length field.
    pub start: usize,
    /// Offset just past the chunk's CRC.
    pub end: usize,
}

/// Every chunk from `IHDR` to `IEND` inclusive, each length and CRC checked. Bytes after `IEND`
/// are not looked at.
pub fn chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, PngError> {
    if png.len() < SIGNATURE.len() || png[..SIGNATURE.len()] != SIGNATURE {
        return Err(PngError::NotPng);
    }
    let mut out = Vec::new();
    let mut pos = SIGNATURE.len();
    loop {
        let header = png
            .get(pos..pos + 8)
            .ok_or(PngError::Truncated { offset: pos })?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        if length > MAX_CHUNK_LEN {
            return Err(PngError::ChunkTooLong {
                offset: pos,
                length,
            });
        }
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(PngError::BadChunkType { offset: pos });
        }
        // `length` is at most 2^31 - 1, so this cannot overflow on 32 or 64 bits.
        let data_end = pos + 8 + length as usize;
        let end = data_end
            .checked_add(4)
            .filter(|&end| end <= png.len())
            .ok_or(PngError::Truncated { offset: png.len() })?;
        let stored = u32::from_be_bytes([
            png[data_end],
            png[data_end + 1],
            png[data_end + 2],
            png[data_end + 3],
        ]);
        let mut crc = Crc32::new();
        crc.update(&png[pos + 4..data_end]);
        if crc.finish() != stored {
            return Err(PngError::BadCrc {
                offset: pos,
                chunk: kind,
            });
        }
        if out.is_empty() && &kind != b"IHDR" {
            return Err(PngError::MissingHeader);
        }
        out.push(Chunk {
            kind,
            data: &png[pos + 8..data_end],
            start: pos,
            end,
        });
        if &kind == b"IEND" {
            return Ok(out);
        }
        pos = end;
    }
}

/// A copy of `png` with an uncompressed `iTXt` chunk `keyword` = `text` right after `IHDR`,
/// and without any earlier `iTXt` chunk of the same keyword. Pixels are not touched.
pub fn write_itxt(png: &[u8], keyword: &str, text: &str) -> Result<Vec<u8>, PngError> {
    check_keyword(keyword)?;
    if text.len() > MAX_TEXT_BYTES {
        return Err(PngError::TextTooLarge { bytes: text.len() });
    }
    let all = chunks(png)?;
    let mut data = Vec::with_capacity(keyword.len() + 5 + text.len());
    data.extend_from_slice(keyword.as_bytes());
    // Null separator, compression flag 0, method 0, empty language tag, empty translation.
    data.extend_from_slice(&[0, 0, 0, 0, 0]);
    data.extend_from_slice(text.as_bytes());

    let mut out = Vec::with_capacity(png.len() + data.len() + 12);
    let header_end = all[0].end;
    out.extend_from_slice(&png[..header_end]);
    push_chunk(&mut out, *b"iTXt", &data);
    let mut copied = header_end;
    for chunk in &all[1..] {
        if &chunk.kind == b"iTXt" && itxt_keyword(chunk.data) == Some(keyword.as_bytes()) {
            out.extend_from_slice(&png[copied..chunk.start]);
            copied = chunk.end;
        }
    }
    out.extend_from_slice(&png[copied..]);
    Ok(out)
}

/// The text of the first `iTXt` chunk named `keyword`, or `None` when the PNG has none.
pub fn read_itxt(png: &[u8], keyword: &str) -> Result<Option<String>, PngError> {
    check_keyword(keyword)?;
    for chunk in chunks(png)? {
        if &chunk.kind != b"iTXt" || itxt_keyword(chunk.data) != Some(keyword.as_bytes()) {
            continue;
        }
        let rest = &chunk.data[keyword.len() + 1..];
        let [flag, method, rest @ ..] = rest else {
            return Err(PngError::BadText("the chunk ends after its keyword"));
        };
        let (_language, rest) =
            split_null(rest).ok_or(PngError::BadText("the language tag is not terminated"))?;
        let (_translated, text) = split_null(rest).ok_or(PngError::BadText(
            "the translated keyword is not terminated",
        ))?;
        return match (flag, method) {
            (0, _) => String::from_utf8(text.to_vec())
                .map(Some)
                .map_err(|_| PngError::BadText("the text is not UTF-8")),
            (1, 0) => Err(PngError::CompressedText),
            (1, _) => Err(PngError::BadText("unknown compression method")),
            _ => Err(PngError::BadText("invalid compression flag")),
        };
    }
    Ok(None)
}

fn check_keyword(keyword: &str) -> Result<(), PngError> {
    let ok = (1..=79).contains(&keyword.len())
        && keyword.bytes().all(|b| (0x20..=0x7E).contains(&b))
        && !keyword.starts_with(' ')
        && !keyword.ends_with(' ')
        && !keyword.contains("  ");
    if ok {
        Ok(())
    } else {
        Err(PngError::BadKeyword)
    }
}

fn itxt_keyword(data: &[u8]) -> Option<&[u8]> {
    split_null(data).map(|(keyword, _)| keyword)
}

fn split_null(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == 0)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

fn push_chunk(out: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
    // Callers keep `data` far below the 2^31 - 1 chunk limit (MAX_TEXT_BYTES).
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = Crc32::new();
    crc.update(&kind);
    crc.update(data);
    out.extend_from_slice(&kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.finish().to_be_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 1x1 RGBA PNG written by Python's zlib and binascii.crc32: an independent encoder, so
    /// the CRC check here is tested against someone else's checksums.
    pub(crate) const PIXEL_PNG: [u8; 70] = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8,
        0xdf, 0xc0, 0xf0, 0x1f, 0x00, 0x06, 0x80, 0x02, 0x7f, 0xcf, 0x12, 0x09, 0xf1, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];

    fn chunk_bytes(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        push_chunk(&mut out, *kind, data);
        out
    }

    /// `PIXEL_PNG` with `extra` chunks inserted before `IEND`.
    fn with_chunks_before_end(extra: &[Vec<u8>]) -> Vec<u8> {
        let mut png = PIXEL_PNG[..PIXEL_PNG.len() - 12].to_vec();
        for chunk in extra {
            png.extend_from_slice(chunk);
        }
        png.extend_from_slice(&PIXEL_PNG[PIXEL_PNG.len() - 12..]);
        png
    }

    fn kinds(png: &[u8]) -> Vec<String> {
        chunks(png)
            .unwrap()
            .iter()
            .map(|c| String::from_utf8_lossy(&c.kind).into_owned())
            .collect()
    }

    #[test]
    fn reads_an_independently_encoded_png() {
        assert_eq!(kinds(&PIXEL_PNG), ["IHDR", "IDAT", "IEND"]);
        assert_eq!(read_itxt(&PIXEL_PNG, KEYWORD), Ok(None));
    }

    #[test]
    fn write_then_read_roundtrip_keeps_pixels() {
        let text = r#"{"prompt":"a fox in the snow, «ünïcødé» 🦊"}"#;
        let out = write_itxt(&PIXEL_PNG, KEYWORD, text).unwrap();
        assert_eq!(kinds(&out), ["IHDR", "iTXt", "IDAT", "IEND"]);
        assert_eq!(read_itxt(&out, KEYWORD).unwrap().as_deref(), Some(text));
        // Everything but the new chunk is byte-identical.
        let all = chunks(&out).unwrap();
        let mut without = out[..all[1].start].to_vec();
        without.extend_from_slice(&out[all[1].end..]);
        assert_eq!(without, PIXEL_PNG);
        // The exact layout of the chunk.
        let mut expected = b"easel\0\0\0\0\0".to_vec();
        expected.extend_from_slice(text.as_bytes());
        assert_eq!(all[1].data, expected.as_slice());
    }

    #[test]
    fn writing_again_replaces_the_old_chunk_wherever_it_is() {
        let other = chunk_bytes(b"iTXt", b"Comment\0\0\0\0\0hello");
        let old_easel = chunk_bytes(b"iTXt", b"easel\0\0\0\0\0old");
        let png = with_chunks_before_end(&[old_easel.clone(), other, old_easel]);
        let out = write_itxt(&png, KEYWORD, "new").unwrap();
        assert_eq!(kinds(&out), ["IHDR", "iTXt", "IDAT", "iTXt", "IEND"]);
        assert_eq!(read_itxt(&out, KEYWORD).unwrap().as_deref(), Some("new"));
        assert_eq!(
            read_itxt(&out, "Comment").unwrap().as_deref(),
            Some("hello")
        );
        let twice = write_itxt(&out, KEYWORD, "newer").unwrap();
        assert_eq!(twice.len(), out.len() + 2);
        assert_eq!(
            read_itxt(&twice, KEYWORD).unwrap().as_deref(),
            Some("newer")
        );
    }

    #[test]
    fn keeps_bytes_after_iend() {
        let mut png = PIXEL_PNG.to_vec();
        png.extend_from_slice(b"trailing");
        let out = write_itxt(&png, KEYWORD, "x").unwrap();
        assert!(out.ends_with(b"IEND\xae\x42\x60\x82trailing"));
    }

    #[test]
    fn reads_text_with_language_tag_and_ignores_text_chunks() {
        let png = with_chunks_before_end(&[
            chunk_bytes(b"tEXt", b"easel\0latin-1 text"),
            chunk_bytes(b"iTXt", "easel\0\0\0en\0Staffelei\0{}".as_bytes()),
        ]);
        assert_eq!(read_itxt(&png, KEYWORD).unwrap().as_deref(), Some("{}"));
    }

    #[test]
    fn compressed_and_malformed_text_are_typed_errors() {
        let compressed = with_chunks_before_end(&[chunk_bytes(b"iTXt", b"easel\0\x01\0\0\0x\x9c")]);
        assert_eq!(
            read_itxt(&compressed, KEYWORD),
            Err(PngError::CompressedText)
        );
        for data in [
            &b"easel\0"[..],
            b"easel\0\0\0",
            b"easel\0\0\0en",
            b"easel\0\x02\0\0\0x",
            b"easel\0\x01\x05\0\0x",
            b"easel\0\0\0\0\0\xff\xfe",
        ] {
            let png = with_chunks_before_end(&[chunk_bytes(b"iTXt", data)]);
            assert!(
                matches!(read_itxt(&png, KEYWORD), Err(PngError::BadText(_))),
                "{data:?}"
            );
        }
    }

    #[test]
    fn malformed_files_are_typed_errors() {
        assert_eq!(read_itxt(b"", KEYWORD), Err(PngError::NotPng));
        assert_eq!(read_itxt(b"GIF89a....", KEYWORD), Err(PngError::NotPng));
        assert_eq!(
            read_itxt(&PIXEL_PNG[..8], KEYWORD),
            Err(PngError::Truncated { offset: 8 })
        );
        // Without IEND.
        assert!(matches!(
            read_itxt(&PIXEL_PNG[..PIXEL_PNG.len() - 12], KEYWORD),
            Err(PngError::Truncated { .. })
        ));
        // A huge length field.
        let mut huge = PIXEL_PNG.to_vec();
        huge[33..37].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
        assert_eq!(
            read_itxt(&huge, KEYWORD),
            Err(PngError::ChunkTooLong {
                offset: 33,
                length: 0xFFFF_FFF0
            })
        );
        huge[33..37].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
        assert!(matches!(
            read_itxt(&huge, KEYWORD),
            Err(PngError::Truncated { .. })
        ));
        // A flipped pixel byte.
        let mut bad = PIXEL_PNG.to_vec();
        bad[45] ^= 1;
        assert_eq!(
            write_itxt(&bad, KEYWORD, "x"),
            Err(PngError::BadCrc {
                offset: 33,
                chunk: *b"IDAT"
            })
        );
        // IDAT first.
        let mut headless = SIGNATURE.to_vec();
        headless.extend_from_slice(&PIXEL_PNG[33..]);
        assert_eq!(read_itxt(&headless, KEYWORD), Err(PngError::MissingHeader));
        let mut bad_type = PIXEL_PNG.to_vec();
        bad_type[37] = b'1';
        assert_eq!(
            read_itxt(&bad_type, KEYWORD),
            Err(PngError::BadChunkType { offset: 33 })
        );
    }

    #[test]
    fn refuses_bad_keywords_and_oversized_text() {
        for keyword in ["", " easel", "a  b", "caf\u{e9}", &"k".repeat(80)] {
            assert_eq!(
                write_itxt(&PIXEL_PNG, keyword, "x"),
                Err(PngError::BadKeyword)
            );
        }
        let big = "x".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            write_itxt(&PIXEL_PNG, KEYWORD, &big),
            Err(PngError::TextTooLarge {
                bytes: MAX_TEXT_BYTES + 1
            })
        );
        assert!(!PngError::CompressedText.to_string().is_empty());
    }

    /// A small deterministic generator for the fuzz-style loops.
    pub(crate) struct XorShift(pub u64);
    impl XorShift {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        pub fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn truncations_and_byte_flips_never_panic() {
        let png = write_itxt(&PIXEL_PNG, KEYWORD, r#"{"prompt":"fox"}"#).unwrap();
        for len in 0..png.len() {
            assert!(read_itxt(&png[..len], KEYWORD).is_err(), "len {len}");
            assert!(write_itxt(&png[..len], KEYWORD, "x").is_err());
        }
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut rejected = 0;
        for _ in 0..5000 {
            let mut mutated = png.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(mutated.len());
                mutated[at] = rng.next() as u8;
            }
            let read = read_itxt(&mutated, KEYWORD);
            let written = write_itxt(&mutated, KEYWORD, "y");
            if let Ok(out) = written {
                assert_eq!(read_itxt(&out, KEYWORD).unwrap().as_deref(), Some("y"));
            } else {
                rejected += 1;
            }
            let _ = read;
        }
        // Almost every flip is caught by a CRC or the structure checks.
        assert!(rejected > 4500, "{rejected}");
        for _ in 0..500 {
            let garbage: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            let mut prefixed = SIGNATURE.to_vec();
            prefixed.extend_from_slice(&garbage);
            assert!(read_itxt(&garbage, KEYWORD).is_err());
            assert!(read_itxt(&prefixed, KEYWORD).is_err());
        }
    }
}
