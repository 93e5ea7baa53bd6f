//! Image files: recognising formats from their bytes, and naming downloads.

/// An image format recognised from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
    Webp,
    Gif,
    /// A vector document (gpt-image-2.6's `svg` output). It may carry scripts, so the app shows
    /// it only through `<img>` (where none run), never inline, and from a URL of an inert
    /// wrapper ([`inert_svg`]), never of its own.
    Svg,
}

impl ImageFormat {
    pub const ALL: [ImageFormat; 5] = [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Webp,
        ImageFormat::Gif,
        ImageFormat::Svg,
    ];

    /// The format an `output_format` value asks for.
    pub fn from_output_format(name: &str) -> Option<ImageFormat> {
        match name {
            "png" => Some(ImageFormat::Png),
            "jpeg" | "jpg" => Some(ImageFormat::Jpeg),
            "webp" => Some(ImageFormat::Webp),
            "gif" => Some(ImageFormat::Gif),
            "svg" => Some(ImageFormat::Svg),
            _ => None,
        }
    }

    pub fn from_mime(mime: &str) -> Option<ImageFormat> {
        ImageFormat::ALL.into_iter().find(|f| f.mime() == mime)
    }

    /// Sniffs the format from the leading bytes: the raster formats by their signatures, and
    /// SVG by a document that opens with XML and has an `<svg` element near the start. Anything
    /// else is not shown as an image.
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        if is_svg(bytes) {
            return Some(ImageFormat::Svg);
        }
        match bytes {
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
            [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..,
            ] => Some(ImageFormat::Webp),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(ImageFormat::Gif),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Webp => "image/webp",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Svg => "image/svg+xml",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Webp => "webp",
            ImageFormat::Gif => "gif",
            ImageFormat::Svg => "svg",
        }
    }
}

/// An XML document (after a BOM and white space: a declaration, comment, doctype or the
/// element itself) with an `<svg` element in its first 4 KB.
fn is_svg(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let Some(head) = start.map(|at| &bytes[at..bytes.len().min(at + 4096)]) else {
        return false;
    };
    let opens_xml = [&b"<?xml"[..], b"<svg", b"<!--", b"<!DOCTYPE svg"]
        .iter()
        .any(|p| head.starts_with(p));
    opens_xml && head.windows(4).any(|w| w == b"<svg")
}

/// An SVG's size: its `width` and `height` attributes (plain or `px` numbers), else its
/// `viewBox`.
pub fn svg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(&bytes[..bytes.len().min(4096)]).ok()?;
    let tag = &text[text.find("<svg")?..];
    let tag = &tag[..tag.find('>')?];
    let attribute = |name: &str| {
        let mut rest = tag;
        loop {
            let at = rest.find(name)?;
            let before = rest[..at].chars().last();
            rest = &rest[at + name.len()..];
            // `stroke-width=` is not `width=`: the name must start after white space.
            if before.is_some_and(char::is_whitespace)
                && let Some(value) = rest.trim_start().strip_prefix('=')
                && let Some(quote) = value.trim_start().chars().next()
                && (quote == '"' || quote == '\'')
            {
                let value = &value.trim_start()[1..];
                return Some(&value[..value.find(quote)?]);
            }
        }
    };
    // Whole pixels, a fraction rounded; integers only (float parsing would add ~10 KB of wasm).
    let number = |text: &str| -> Option<u32> {
        let text = text.trim().trim_end_matches("px");
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let n: u32 = whole.parse().ok().filter(|n| (1..1_000_000).contains(n))?;
        let round_up = fraction
            .bytes()
            .next()
            .is_some_and(|d| (b'5'..=b'9').contains(&d));
        fraction
            .bytes()
            .all(|d| d.is_ascii_digit())
            .then_some(n + u32::from(round_up))
    };
    if let (Some(w), Some(h)) = (
        attribute("width").and_then(number),
        attribute("height").and_then(number),
    ) {
        return Some((w, h));
    }
    let view_box: Vec<&str> = attribute("viewBox")?
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|p| !p.is_empty())
        .collect();
    match view_box.as_slice() {
        [_, _, w, h] => Some((number(w)?, number(h)?)),
        _ => None,
    }
}

/// An SVG that only draws `svg` as an image, for showing it from a `blob:` URL of this site.
/// A person can open such a URL in a tab of its own, where an SVG is a document that runs its
/// scripts as this site (Chromium gives a `blob:` document opened that way none of the page's
/// policy). The wrapper has no script of its own and carries the original as a `data:` image,
/// which the browser draws without running anything in it or fetching anything it names.
/// Its size is the original's, so the page lays it out the same.
pub fn inert_svg(svg: &[u8]) -> String {
    let mut inert = String::from(r#"<svg xmlns="http://www.w3.org/2000/svg""#);
    if let Some((w, h)) = svg_dimensions(svg) {
        inert += &format!(r#" width="{w}" height="{h}" viewBox="0 0 {w} {h}""#);
    }
    inert += r#"><image width="100%" height="100%" href="data:image/svg+xml,"#;
    // Percent-encoded rather than base64, which would add an encoder to the first load.
    for &byte in svg {
        if byte.is_ascii_alphanumeric() || b"-_.~/:=;,()".contains(&byte) {
            inert.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            inert.push('%');
            inert.push(char::from(HEX[usize::from(byte >> 4)]));
            inert.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
    inert + r#""/></svg>"#
}

/// Width and height read from the image header, without decoding pixels.
pub fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let be32 = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let le16 = |at: usize| {
        Some(u32::from(u16::from_le_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let le24 = |at: usize| {
        let b = bytes.get(at..at + 3)?;
        Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
    };
    let size = match ImageFormat::sniff(bytes)? {
        // IHDR is always the first chunk.
        ImageFormat::Png => (be32(16)?, be32(20)?),
        ImageFormat::Gif => (le16(6)?, le16(8)?),
        ImageFormat::Webp => match bytes.get(12..16)? {
            b"VP8 " => (le16(26)? & 0x3FFF, le16(28)? & 0x3FFF),
            b"VP8L" => {
                let bits = u32::from_le_bytes(bytes.get(21..25)?.try_into().ok()?);
                ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
            }
            b"VP8X" => (le24(24)? + 1, le24(27)? + 1),
            _ => return None,
        },
        ImageFormat::Jpeg => jpeg_dimensions(bytes)?,
        // Read by `svg_dimensions`, which the app does not need (it knows the size it asked
        // for) and so does not ship.
        ImageFormat::Svg => return None,
    };
    (size.0 > 0 && size.1 > 0).then_some(size)
}

/// Walks the JPEG markers to the first start-of-frame.
fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        // Skip fill bytes before a marker.
        while *bytes.get(at)? == 0xFF && *bytes.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            let height = u16::from_be_bytes([*bytes.get(at + 5)?, *bytes.get(at + 6)?]);
            let width = u16::from_be_bytes([*bytes.get(at + 7)?, *bytes.get(at + 8)?]);
            return Some((u32::from(width), u32::from(height)));
        }
        if length < 2 {
            return None;
        }
        at += 2 + length;
    }
}

/// A download file name from the prompt: `a-lighthouse-at-dusk-2.png`. `index` counts from 1.
pub fn download_name(prompt: &str, index: usize, extension: &str) -> String {
    format!("{}-{index}.{extension}", slug(prompt, 48))
}

/// Lowercase ASCII words joined by dashes, cut at a word boundary within `max` characters.
fn slug(text: &str, max: usize) -> String {
    let mut out = String::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let extra = if out.is_empty() {
            word.len()
        } else {
            word.len() + 1
        };
        if out.len() + extra > max {
            if out.is_empty() {
                out.push_str(&word[..max].to_ascii_lowercase());
            }
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    if out.is_empty() {
        "easel-image".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_inert_svg_carries_the_original_as_an_image_only() {
        let hostile = r#"<svg xmlns="http://www.w3.org/2000/svg" width="96" height="64" onload="steal()"><script>steal('a&b', "%")</script></svg>"#;
        let inert = inert_svg(hostile.as_bytes());
        let (head, rest) = inert
            .split_once(r#"<image width="100%" height="100%" href="data:image/svg+xml,"#)
            .unwrap();
        assert_eq!(
            head,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="96" height="64" viewBox="0 0 96 64">"#
        );
        let payload = rest.strip_suffix(r#""/></svg>"#).unwrap();
        // Nothing of the original is markup in the wrapper: no tag, quote or entity.
        assert!(!payload.contains(['<', '>', '"', '&', ' ']), "{payload}");
        let decoded: Vec<u8> = {
            let mut bytes = payload.bytes();
            let mut out = Vec::new();
            while let Some(b) = bytes.next() {
                if b == b'%' {
                    let hex = [bytes.next().unwrap(), bytes.next().unwrap()];
                    out.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
                } else {
                    out.push(b);
                }
            }
            out
        };
        assert_eq!(decoded, hostile.as_bytes());
        assert_eq!(ImageFormat::sniff(inert.as_bytes()), Some(ImageFormat::Svg));
        // Without a size of its own, it takes the one the page gives it.
        assert!(
            inert_svg(b"<svg/>").starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg"><image"#)
        );
    }

    use super::*;

    #[test]
    fn sniffs_raster_formats() {
        assert_eq!(
            ImageFormat::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageFormat::Png)
        );
        assert_eq!(
            ImageFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(
            ImageFormat::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(ImageFormat::Webp)
        );
        assert_eq!(ImageFormat::sniff(b"GIF89a..."), Some(ImageFormat::Gif));
        assert_eq!(ImageFormat::sniff(b"<html><svg>"), None);
        assert_eq!(ImageFormat::sniff(b"<svg"), Some(ImageFormat::Svg));
        assert_eq!(
            ImageFormat::sniff(b"\xEF\xBB\xBF\n <?xml version=\"1.0\"?>\n<svg xmlns=\"x\"/>"),
            Some(ImageFormat::Svg)
        );
        assert_eq!(ImageFormat::sniff(b"<?xml version=\"1.0\"?><note/>"), None);
        assert_eq!(ImageFormat::Svg.mime(), "image/svg+xml");
        assert_eq!(ImageFormat::Svg.extension(), "svg");
        assert_eq!(ImageFormat::from_mime("image/gif"), Some(ImageFormat::Gif));
        assert_eq!(
            ImageFormat::from_output_format("svg"),
            Some(ImageFormat::Svg)
        );
        assert_eq!(ImageFormat::sniff(b"{\"error\":1}"), None);
        assert_eq!(ImageFormat::sniff(b""), None);
        assert_eq!(ImageFormat::Jpeg.extension(), "jpg");
        assert_eq!(ImageFormat::Webp.mime(), "image/webp");
    }

    #[test]
    fn dimensions_from_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&1536u32.to_be_bytes());
        png.extend_from_slice(&1024u32.to_be_bytes());
        assert_eq!(dimensions(&png), Some((1536, 1024)));
        assert_eq!(dimensions(&png[..20]), None, "truncated");
        assert_eq!(dimensions(b"GIF89a\x00\x02\x00\x01"), Some((512, 256)));
        // A baseline JPEG: SOI, an APP0 segment, then SOF0 with 600 high and 800 wide.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x02,
            0x58, 0x03, 0x20,
        ];
        assert_eq!(dimensions(&jpeg), Some((800, 600)));
        assert_eq!(dimensions(&jpeg[..12]), None);
        // Lossless WebP: 14-bit width-1 and height-1 after the 0x2F signature.
        let bits: u32 = (640 - 1) | ((480 - 1) << 14);
        let mut webp = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        webp.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(dimensions(&webp), Some((640, 480)));
        assert_eq!(dimensions(b"not an image at all"), None);
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" stroke-width="2" width="1024" height="768px">"#;
        assert_eq!(dimensions(svg), None, "not read by `dimensions`");
        assert_eq!(svg_dimensions(svg), Some((1024, 768)));
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1536,1024"></svg>"#;
        assert_eq!(svg_dimensions(svg), Some((1536, 1024)));
        assert_eq!(svg_dimensions(br#"<svg width="100%" height="100%">"#), None);
        assert_eq!(
            svg_dimensions(br#"<svg width="99.5" height="10.25px">"#),
            Some((100, 10))
        );
    }

    #[test]
    fn download_names() {
        assert_eq!(
            download_name("A lighthouse at dusk, oil on canvas!", 2, "png"),
            "a-lighthouse-at-dusk-oil-on-canvas-2.png"
        );
        assert_eq!(download_name("猫", 1, "jpg"), "easel-image-1.jpg");
        let long = download_name(&"word ".repeat(40), 1, "webp");
        assert!(long.len() <= 48 + "-1.webp".len(), "{long}");
        assert!(!long.contains("--"));
        assert_eq!(
            download_name(&"x".repeat(100), 3, "png"),
            format!("{}-3.png", "x".repeat(48))
        );
    }
}
