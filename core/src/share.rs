//! Shared galleries: the share manifest (used by recipe links and by hosted shares), the
//! recipe-link codec, and the link formats. The format is documented in `docs/share-links.md`.
//!
//! A **recipe link** is `{app base}shared#r=<payload>`, where
//! `payload = "1" + base64url-no-pad(deflate-raw(manifest JSON))`. The leading `1` is the codec
//! version. `core` defines the format and its limits; the deflate engine comes from the caller
//! (the browser's `CompressionStream("deflate-raw")` in the app, a crate in native tests), so
//! no deflate code ships in the wasm. Decoding, step by step:
//! 1. [`decode_payload`]: the length limit, the codec version, base64url → deflated bytes;
//! 2. the caller inflates, feeding each piece of output to an [`Inflated`], which refuses
//!    anything past [`MAX_INFLATED_BYTES`] as soon as it is passed (a zip bomb stops there);
//! 3. [`ShareManifest::parse`]: JSON, format and version, then every item, strictly.
//!
//! [`decode_with`] runs the three steps with a synchronous engine (tests, the fuzz target).
//!
//! A **hosted link** is `{app base}shared#h=<percent-encoded share API URL>`: the relay holds
//! the images; its manifest is the same, with a `sha256` on every item
//! ([`ShareManifest::check_hosted`]).
//!
//! Nothing identifying leaves through a share: [`ShareItem::from_gallery`] drops the
//! request's `safety_identifier` (and the request type has no `user`), and a share carries
//! no key, token, id or collection of the gallery it came from.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::api::GenerationRequest;
use crate::files::ImageFormat;
use crate::gallery::{GalleryItem, MadeBy};

pub const FORMAT: &str = "easel-share";
pub const VERSION: u32 = 1;
/// The codec version, the payload's first character.
pub const CODEC_VERSION: char = '1';
/// The most images one share lists.
pub const MAX_ITEMS: usize = 64;
/// A prompt's (and a revised prompt's) longest length, in characters.
pub const MAX_PROMPT_CHARS: usize = 32_000;
pub const MAX_TITLE_CHARS: usize = 200;
/// A model name's longest length, in characters.
pub const MAX_MODEL_CHARS: usize = 200;
/// Any other text of a request (size, quality, format…), in characters.
pub const MAX_PARAM_CHARS: usize = 100;
/// The largest manifest JSON, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 256 * 1024;
/// The longest recipe payload read, in characters (checked before anything is decoded).
pub const MAX_PAYLOAD_CHARS: usize = 64 * 1024;
/// The most bytes a payload may inflate to (checked while inflating).
pub const MAX_INFLATED_BYTES: usize = 256 * 1024;
/// A preview's largest size, decoded.
pub const MAX_PREVIEW_BYTES: usize = 4 * 1024;
/// A preview's longest side, in pixels (what the app makes; not checked on read).
pub const PREVIEW_EDGE: u32 = 64;
/// The largest image side a share may state.
pub const MAX_EDGE: u32 = 16_384;
/// The types a preview may have.
pub const PREVIEW_TYPES: [&str; 2] = ["image/webp", "image/jpeg"];
/// The route of the shared view, relative to the app's base.
pub const SHARED_ROUTE: &str = "shared";

/// A shared gallery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShareManifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] when written.
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// When the share was made, unix ms.
    pub created_ms: u64,
    pub items: Vec<ShareItem>,
}

/// One shared image: how it was made, and for recipe links maybe a tiny preview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShareItem {
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revised_prompt: Option<String>,
    pub model: String,
    /// The parameters that were sent (without `safety_identifier`).
    pub request: GenerationRequest,
    pub width: u32,
    pub height: u32,
    pub mime: String,
    #[serde(default, skip_serializing_if = "MadeBy::is_generation")]
    pub made_by: MadeBy,
    /// SHA-256 of the image, 64 lowercase hex digits: required in hosted shares (it names an
    /// uploaded image), informational in recipe links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<Preview>,
}

/// A tiny preview carried inside a recipe link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// One of [`PREVIEW_TYPES`].
    #[serde(rename = "type")]
    pub mime: String,
    /// The image bytes, standard base64.
    pub b64: String,
}

impl Preview {
    pub fn new(mime: &str, bytes: &[u8]) -> Preview {
        Preview {
            mime: mime.to_owned(),
            b64: STANDARD.encode(bytes),
        }
    }

    /// The decoded bytes (checked by [`ShareManifest::parse`]).
    pub fn bytes(&self) -> Option<Vec<u8>> {
        STANDARD.decode(&self.b64).ok()
    }

    /// A `data:` URL for an `<img>`.
    pub fn data_url(&self) -> String {
        format!("data:{};base64,{}", self.mime, self.b64)
    }
}

/// Why a share could not be made or read. Every message is meant for the person who opened
/// the link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareError {
    /// The link has no payload after `#r=`.
    Empty,
    PayloadTooLong {
        chars: usize,
    },
    /// The payload's first character is not a codec version this Easel reads.
    UnsupportedCodec {
        found: String,
    },
    NotBase64Url,
    /// The deflated data is damaged (the engine's words).
    Inflate(String),
    InflatesTooLarge,
    NotJson(String),
    /// JSON, but not an Easel share (`format` is not [`FORMAT`]).
    NotEaselShare,
    UnsupportedVersion {
        found: u64,
    },
    /// JSON of the wrong shape (serde's message).
    Schema(String),
    ManifestTooLarge {
        bytes: usize,
    },
    NoItems,
    TooManyItems {
        count: usize,
    },
    TitleTooLong,
    /// Item `index` (from 0) breaks a rule about `field`.
    Item {
        index: usize,
        field: &'static str,
        reason: String,
    },
    /// A hosted link whose address is not an http(s) URL, or an image URL outside its relay.
    BadAddress(String),
}

impl fmt::Display for ShareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShareError::Empty => f.write_str("This share link is empty: it has nothing after \"#r=\"."),
            ShareError::PayloadTooLong { chars } => write!(
                f,
                "This share link is too long ({chars} characters; at most {MAX_PAYLOAD_CHARS})."
            ),
            ShareError::UnsupportedCodec { found } => write!(
                f,
                "This share link uses format version \"{found}\", and this Easel reads version {CODEC_VERSION}. It may come from a newer Easel: reload the page, or ask for a new link."
            ),
            ShareError::NotBase64Url => f.write_str(
                "This share link is damaged: it contains characters a share link never has (it may have been cut or changed).",
            ),
            ShareError::Inflate(why) => write!(
                f,
                "This share link is damaged: its data cannot be unpacked ({why})."
            ),
            ShareError::InflatesTooLarge => write!(
                f,
                "This share link unpacks to more than {} KiB, more than any real share: it was refused.",
                MAX_INFLATED_BYTES / 1024
            ),
            ShareError::NotJson(why) => {
                write!(f, "This share link is damaged: its contents are not readable ({why}).")
            }
            ShareError::NotEaselShare => f.write_str("This link does not hold an Easel share."),
            ShareError::UnsupportedVersion { found } => write!(
                f,
                "This share is version {found}, and this Easel reads version {VERSION}. Reload the page to update Easel, or ask for a new link."
            ),
            ShareError::Schema(why) => write!(f, "This share is not valid: {why}"),
            ShareError::ManifestTooLarge { bytes } => write!(
                f,
                "This share is too large ({bytes} bytes; at most {MAX_MANIFEST_BYTES}). Share fewer images, or without previews."
            ),
            ShareError::NoItems => f.write_str("This share lists no images."),
            ShareError::TooManyItems { count } => write!(
                f,
                "This share lists {count} images; at most {MAX_ITEMS} can be shared at once."
            ),
            ShareError::TitleTooLong => write!(
                f,
                "This share's title is longer than {MAX_TITLE_CHARS} characters."
            ),
            ShareError::Item {
                index,
                field,
                reason,
            } => write!(
                f,
                "Image {} of this share is not valid: its {field} {reason}.",
                index + 1
            ),
            ShareError::BadAddress(why) => write!(f, "This share link's address is not usable: {why}."),
        }
    }
}

impl std::error::Error for ShareError {}

impl ShareItem {
    /// The share of a gallery item: its prompt and settings, never who made it
    /// (`safety_identifier` is dropped), nor its gallery id, collections or cost. `with_hash`
    /// keeps the image's SHA-256 (hosted shares need it).
    pub fn from_gallery(
        item: &GalleryItem,
        preview: Option<Preview>,
        with_hash: bool,
    ) -> ShareItem {
        let mut request = item.request.clone();
        request.safety_identifier = None;
        ShareItem {
            prompt: item.prompt.clone(),
            revised_prompt: item.revised_prompt.clone(),
            model: item.model.clone(),
            request,
            width: item.width,
            height: item.height,
            mime: item.mime.clone(),
            made_by: item.made_by,
            sha256: with_hash.then(|| item.sha256.clone()),
            preview,
        }
    }

    /// The request to put into the studio form ("make one like this"): the original prompt.
    pub fn to_request(&self) -> GenerationRequest {
        let mut request = self.request.clone();
        request.safety_identifier = None;
        if request.prompt.is_empty() {
            request.prompt = self.prompt.clone();
        }
        if request.model.is_empty() {
            request.model = self.model.clone();
        }
        request
    }

    fn check(&self, index: usize) -> Result<(), ShareError> {
        let fail = |field: &'static str, reason: String| ShareError::Item {
            index,
            field,
            reason,
        };
        let limit = |field: &'static str, text: &str, max: usize| {
            let chars = text.chars().count();
            if chars > max {
                Err(fail(
                    field,
                    format!("is {chars} characters long (at most {max})"),
                ))
            } else {
                Ok(())
            }
        };
        limit("prompt", &self.prompt, MAX_PROMPT_CHARS)?;
        if let Some(revised) = &self.revised_prompt {
            limit("revised prompt", revised, MAX_PROMPT_CHARS)?;
        }
        limit("model", &self.model, MAX_MODEL_CHARS)?;
        let r = &self.request;
        limit("request prompt", &r.prompt, MAX_PROMPT_CHARS)?;
        limit("request model", &r.model, MAX_MODEL_CHARS)?;
        for (field, value) in [
            ("size", &r.size),
            ("quality", &r.quality),
            ("output format", &r.output_format),
            ("background", &r.background),
            ("response format", &r.response_format),
            ("style", &r.style),
            ("moderation", &r.moderation),
            ("complexity", &r.complexity),
            ("input fidelity", &r.input_fidelity),
        ] {
            if let Some(value) = value {
                limit(field, value, MAX_PARAM_CHARS)?;
            }
        }
        if r.safety_identifier.is_some() {
            return Err(fail(
                "request",
                "carries a safety identifier, which a share never does".into(),
            ));
        }
        for (field, value) in [("width", self.width), ("height", self.height)] {
            if value > MAX_EDGE {
                return Err(fail(field, format!("is {value} (at most {MAX_EDGE})")));
            }
        }
        if ImageFormat::from_mime(&self.mime).is_none() {
            return Err(fail(
                "type",
                format!(
                    "\"{}\" is not an image type a share may hold",
                    clip(&self.mime)
                ),
            ));
        }
        if let Some(hash) = &self.sha256
            && !is_sha256(hash)
        {
            return Err(fail(
                "sha256",
                "is not 64 lowercase hexadecimal digits".into(),
            ));
        }
        if let Some(preview) = &self.preview {
            if !PREVIEW_TYPES.contains(&preview.mime.as_str()) {
                return Err(fail(
                    "preview",
                    format!(
                        "has the type \"{}\" (only WebP or JPEG)",
                        clip(&preview.mime)
                    ),
                ));
            }
            if preview.b64.len() > MAX_PREVIEW_BYTES.div_ceil(3) * 4 {
                return Err(fail(
                    "preview",
                    format!("is larger than {MAX_PREVIEW_BYTES} bytes"),
                ));
            }
            let bytes = preview
                .bytes()
                .ok_or_else(|| fail("preview", "is not valid base64".into()))?;
            if bytes.len() > MAX_PREVIEW_BYTES {
                return Err(fail(
                    "preview",
                    format!("is larger than {MAX_PREVIEW_BYTES} bytes"),
                ));
            }
            let sniffed = ImageFormat::sniff(&bytes).map(ImageFormat::mime);
            if sniffed != Some(preview.mime.as_str()) {
                return Err(fail("preview", format!("is not a {} image", preview.mime)));
            }
        }
        Ok(())
    }
}

/// The first 40 characters of a value quoted in a message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// 64 lowercase hexadecimal digits.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    format: Option<serde_json::Value>,
    #[serde(default)]
    version: Option<serde_json::Value>,
}

fn json_error(e: serde_json::Error) -> ShareError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => ShareError::Schema(e.to_string()),
        Category::Syntax | Category::Eof | Category::Io => ShareError::NotJson(e.to_string()),
    }
}

impl ShareManifest {
    /// A share of `items` (each with its preview, if any).
    pub fn new(items: Vec<ShareItem>, created_ms: u64) -> ShareManifest {
        ShareManifest {
            format: FORMAT.to_owned(),
            version: VERSION,
            title: None,
            created_ms,
            items,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a share always serializes")
    }

    /// Checks a manifest about to be shared against the limits a reader applies, so a link
    /// that could not be opened is never made.
    pub fn check(&self) -> Result<(), ShareError> {
        let json = self.to_json();
        if json.len() > MAX_MANIFEST_BYTES {
            return Err(ShareError::ManifestTooLarge { bytes: json.len() });
        }
        ShareManifest::parse(json.as_bytes()).map(drop)
    }

    /// Parses and checks a manifest: its size, then the format marker and version (so a newer
    /// share gets a clear message rather than a shape error), then the shape, then every item.
    pub fn parse(bytes: &[u8]) -> Result<ShareManifest, ShareError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ShareError::ManifestTooLarge { bytes: bytes.len() });
        }
        let header: Header = serde_json::from_slice(bytes).map_err(json_error)?;
        if header.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(ShareError::NotEaselShare);
        }
        match header.version.as_ref().map(|v| v.as_u64()) {
            Some(Some(v)) if v == u64::from(VERSION) => {}
            Some(Some(found)) => return Err(ShareError::UnsupportedVersion { found }),
            _ => {
                return Err(ShareError::Schema(
                    "\"version\" must be a whole number".into(),
                ));
            }
        }
        let manifest: ShareManifest = serde_json::from_slice(bytes).map_err(json_error)?;
        if let Some(title) = &manifest.title
            && title.chars().count() > MAX_TITLE_CHARS
        {
            return Err(ShareError::TitleTooLong);
        }
        match manifest.items.len() {
            0 => return Err(ShareError::NoItems),
            count if count > MAX_ITEMS => return Err(ShareError::TooManyItems { count }),
            _ => {}
        }
        for (index, item) in manifest.items.iter().enumerate() {
            item.check(index)?;
        }
        Ok(manifest)
    }

    /// A hosted share's extra rule: every item names its image by SHA-256.
    pub fn check_hosted(&self) -> Result<(), ShareError> {
        match self.items.iter().position(|i| i.sha256.is_none()) {
            Some(index) => Err(ShareError::Item {
                index,
                field: "sha256",
                reason: "is missing (a hosted share names every image by its hash)".into(),
            }),
            None => Ok(()),
        }
    }

    /// The manifest without previews (a shorter recipe link).
    pub fn without_previews(&self) -> ShareManifest {
        let mut manifest = self.clone();
        for item in &mut manifest.items {
            item.preview = None;
        }
        manifest
    }
}

/// The recipe payload of deflated manifest JSON: `"1" + base64url-no-pad(deflated)`.
pub fn encode_payload(deflated: &[u8]) -> String {
    let mut payload = String::with_capacity(1 + deflated.len().div_ceil(3) * 4);
    payload.push(CODEC_VERSION);
    URL_SAFE_NO_PAD.encode_string(deflated, &mut payload);
    payload
}

/// The deflated bytes a payload carries: its length checked first, then its codec version,
/// then base64url (without padding).
pub fn decode_payload(payload: &str) -> Result<Vec<u8>, ShareError> {
    if payload.len() > MAX_PAYLOAD_CHARS {
        return Err(ShareError::PayloadTooLong {
            chars: payload.chars().count(),
        });
    }
    let mut chars = payload.chars();
    match chars.next() {
        None => return Err(ShareError::Empty),
        Some(CODEC_VERSION) => {}
        Some(other) => {
            return Err(ShareError::UnsupportedCodec {
                found: clip(&other.to_string()),
            });
        }
    }
    let data = chars.as_str();
    if data.is_empty() {
        return Err(ShareError::Empty);
    }
    URL_SAFE_NO_PAD
        .decode(data)
        .map_err(|_| ShareError::NotBase64Url)
}

/// Inflated output gathered piece by piece, refused as soon as it passes `limit` bytes: the
/// zip-bomb defence. The caller stops inflating at the first `Err`.
#[derive(Debug)]
pub struct Inflated {
    bytes: Vec<u8>,
    limit: usize,
}

impl Default for Inflated {
    fn default() -> Inflated {
        Inflated::new(MAX_INFLATED_BYTES)
    }
}

impl Inflated {
    pub fn new(limit: usize) -> Inflated {
        Inflated {
            bytes: Vec::new(),
            limit,
        }
    }

    /// Whether `len` more bytes still fit; `Err(InflatesTooLarge)` (and what was gathered
    /// dropped) if not.
    pub fn check_room(&mut self, len: usize) -> Result<(), ShareError> {
        if self.bytes.len().saturating_add(len) > self.limit {
            self.bytes = Vec::new();
            return Err(ShareError::InflatesTooLarge);
        }
        Ok(())
    }

    /// Adds a piece of output; `Err(InflatesTooLarge)` once the total passes the limit.
    pub fn push(&mut self, piece: &[u8]) -> Result<(), ShareError> {
        self.check_room(piece.len())?;
        self.bytes.extend_from_slice(piece);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Decodes a recipe payload with a synchronous deflate engine: `inflate(deflated, out)`
/// pushes its output into `out` piece by piece and stops at the first error it returns.
pub fn decode_with(
    payload: &str,
    inflate: impl FnOnce(&[u8], &mut Inflated) -> Result<(), ShareError>,
) -> Result<ShareManifest, ShareError> {
    let deflated = decode_payload(payload)?;
    let mut out = Inflated::default();
    inflate(&deflated, &mut out)?;
    ShareManifest::parse(&out.into_bytes())
}

/// What a shared view's URL fragment asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragment {
    /// `#r=<payload>`: a recipe link.
    Recipe(String),
    /// `#h=<share API URL>` (decoded): a hosted share.
    Hosted(String),
}

/// Reads `location.hash` (with or without its `#`). `None` when it names no share.
pub fn parse_fragment(hash: &str) -> Option<Fragment> {
    let hash = hash.strip_prefix('#').unwrap_or(hash);
    if let Some(payload) = hash.strip_prefix("r=") {
        return Some(Fragment::Recipe(payload.to_owned()));
    }
    if let Some(url) = hash.strip_prefix("h=") {
        return Some(Fragment::Hosted(
            percent_decode(url).unwrap_or_else(|| url.to_owned()),
        ));
    }
    None
}

/// `{app_base}shared#r=<payload>`; `app_base` ends with `/` (e.g. `https://x.io/easel/`).
pub fn recipe_link(app_base: &str, payload: &str) -> String {
    format!("{app_base}{SHARED_ROUTE}#r={payload}")
}

/// `{app_base}shared#h=<percent-encoded share_url>`.
pub fn hosted_link(app_base: &str, share_url: &str) -> String {
    format!("{app_base}{SHARED_ROUTE}#h={}", percent_encode(share_url))
}

/// The app's base from the page's origin and the router's base path (`""` or `/easel`):
/// always ends with one `/`.
pub fn app_base(origin: &str, base_path: &str) -> String {
    let path = base_path.trim_matches('/');
    if path.is_empty() {
        format!("{}/", origin.trim_end_matches('/'))
    } else {
        format!("{}/{path}/", origin.trim_end_matches('/'))
    }
}

/// Everything but RFC 3986's unreserved characters, percent-encoded (as
/// `encodeURIComponent`, plus `!'()*`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Decodes `%XX` escapes; `None` for a broken escape or bytes that are not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A hosted share's API URL, checked: `http(s)://host[:port]/…`, no credentials.
pub fn check_share_url(url: &str) -> Result<(), ShareError> {
    let origin = origin_of(url).ok_or_else(|| {
        ShareError::BadAddress(format!("\"{}\" is not an http(s) address", clip(url)))
    })?;
    if origin.contains('@') {
        return Err(ShareError::BadAddress(
            "it carries a user name or password".into(),
        ));
    }
    Ok(())
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if end == 0 {
        return None;
    }
    Some(&url[..url.len() - rest.len() + end])
}

/// An image URL of a hosted share's answer, resolved against the share's URL. Only the same
/// relay: an absolute path, or an absolute URL of the share's own origin.
pub fn resolve_image_url(share_url: &str, image_url: &str) -> Result<String, ShareError> {
    let origin = origin_of(share_url).ok_or_else(|| {
        ShareError::BadAddress(format!("\"{}\" is not an http(s) address", clip(share_url)))
    })?;
    if image_url.starts_with('/') && !image_url.starts_with("//") {
        return Ok(format!("{origin}{image_url}"));
    }
    match origin_of(image_url) {
        Some(other) if other == origin => Ok(image_url.to_owned()),
        _ => Err(ShareError::BadAddress(format!(
            "an image is at \"{}\", outside the relay that holds the share",
            clip(image_url)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gallery::tests::item;
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::{DecompressorOxide, decompress};
    use proptest::prelude::*;

    /// A 1x1 WebP (lossless).
    const WEBP: &[u8] = &[
        0x52, 0x49, 0x46, 0x46, 0x1a, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38,
        0x4c, 0x0d, 0x00, 0x00, 0x00, 0x2f, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88,
        0x88, 0xfe, 0x07, 0x00,
    ];

    fn deflate(bytes: &[u8]) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec(bytes, 9)
    }

    /// Inflates raw deflate data in 4 KiB pieces, like the browser's stream, stopping at the
    /// first piece past the limit.
    pub(crate) fn inflate(deflated: &[u8], out: &mut Inflated) -> Result<(), ShareError> {
        let mut decompressor = DecompressorOxide::new();
        let mut window = vec![0u8; 32 * 1024];
        let (mut input, mut at) = (deflated, 0usize);
        loop {
            // Raw deflate (no zlib header), all input given, output into a wrapping window.
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

    fn recipe(manifest: &ShareManifest) -> String {
        encode_payload(&deflate(manifest.to_json().as_bytes()))
    }

    fn sample() -> ShareManifest {
        let mut a = item("j", 0, 1_000, "A lighthouse at dusk");
        a.request.safety_identifier = Some("user-hash-123".into());
        a.revised_prompt = Some("A tall lighthouse at dusk, warm light".into());
        let mut b = item("j", 1, 1_000, "A lighthouse at dawn");
        b.mime = "image/jpeg".into();
        ShareManifest::new(
            vec![
                ShareItem::from_gallery(&a, Some(Preview::new("image/webp", WEBP)), false),
                ShareItem::from_gallery(&b, None, true),
            ],
            1_795_868_000_000,
        )
    }

    fn json_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value = serde_json::to_value(sample()).unwrap();
        edit(&mut value);
        serde_json::to_vec(&value).unwrap()
    }

    #[test]
    fn a_share_carries_nothing_identifying() {
        let manifest = sample();
        let json = manifest.to_json();
        assert!(!json.contains("safety_identifier"), "{json}");
        assert!(!json.contains("user-hash-123"));
        assert!(!json.contains("\"user\""));
        assert!(!json.contains("\"id\""), "no gallery id: {json}");
        assert!(json.starts_with(r#"{"format":"easel-share","version":1,"created_ms":1795868000000,"items":[{"prompt":"A lighthouse at dusk","revised_prompt":"#));
        manifest.check().unwrap();
        // A manifest that carries one anyway is refused.
        let tainted = json_with(|v| v["items"][0]["request"]["safety_identifier"] = "x".into());
        let err = ShareManifest::parse(&tainted).unwrap_err();
        assert!(err.to_string().contains("safety identifier"), "{err}");
    }

    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("../../docs/share-links.md");
        let block = doc
            .split("```json\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .unwrap();
        let manifest = ShareManifest::parse(block.as_bytes()).unwrap();
        assert_eq!(manifest.items.len(), 1);
        assert_eq!(manifest.items[0].request.quality.as_deref(), Some("high"));
    }

    #[test]
    fn a_recipe_link_roundtrips() {
        let manifest = sample();
        let payload = recipe(&manifest);
        assert!(payload.starts_with('1'));
        assert!(
            payload[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(decode_with(&payload, inflate).unwrap(), manifest);
        let link = recipe_link("https://you.github.io/easel/", &payload);
        assert!(link.starts_with("https://you.github.io/easel/shared#r=1"));
        let hash = &link[link.find('#').unwrap()..];
        assert_eq!(parse_fragment(hash), Some(Fragment::Recipe(payload)));
    }

    #[test]
    fn app_bases_and_hosted_links() {
        assert_eq!(
            app_base("http://127.0.0.1:8080", ""),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            app_base("https://you.github.io", "/easel/"),
            "https://you.github.io/easel/"
        );
        assert_eq!(
            app_base("https://you.github.io/", "/easel"),
            "https://you.github.io/easel/"
        );
        let api = "https://relay.example.com/v1/shares/abc_DEF-1?x=1&y=é";
        let link = hosted_link("https://you.github.io/easel/", api);
        assert_eq!(
            link,
            "https://you.github.io/easel/shared#h=https%3A%2F%2Frelay.example.com%2Fv1%2Fshares%2Fabc_DEF-1%3Fx%3D1%26y%3D%C3%A9"
        );
        let hash = &link[link.find('#').unwrap()..];
        assert_eq!(parse_fragment(hash), Some(Fragment::Hosted(api.to_owned())));
        assert_eq!(parse_fragment(""), None);
        assert_eq!(parse_fragment("#/studio"), None);
        for (base, app) in [
            ("", "https://you.github.io/"),
            ("/easel", "https://you.github.io/easel/"),
            ("/easel/", "https://you.github.io/easel/"),
        ] {
            assert_eq!(app_base("https://you.github.io/", base), app, "{base:?}");
        }
        assert_eq!(
            recipe_link(&app_base("https://you.github.io", "/easel"), "1x"),
            "https://you.github.io/easel/shared#r=1x"
        );
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%+1"), None);
    }

    #[test]
    fn hosted_image_urls_stay_on_their_relay() {
        let share = "http://127.0.0.1:8080/v1/shares/abc";
        let hash = "ab".repeat(32);
        assert_eq!(
            resolve_image_url(share, &format!("/v1/shares/abc/images/{hash}")).unwrap(),
            format!("http://127.0.0.1:8080/v1/shares/abc/images/{hash}")
        );
        assert_eq!(
            resolve_image_url(share, "http://127.0.0.1:8080/v1/x").unwrap(),
            "http://127.0.0.1:8080/v1/x"
        );
        for outside in [
            "//evil.example/x",
            "https://evil.example/x",
            "javascript:alert(1)",
            "x",
        ] {
            assert!(
                matches!(
                    resolve_image_url(share, outside),
                    Err(ShareError::BadAddress(_))
                ),
                "{outside}"
            );
        }
        check_share_url(share).unwrap();
        for bad in [
            "ftp://x/y",
            "javascript:alert(1)",
            "https://",
            "https://u:p@relay/x",
        ] {
            assert!(check_share_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_decoding_error_is_typed_and_explained() {
        let good = recipe(&sample());
        let long = format!("1{}", "A".repeat(MAX_PAYLOAD_CHARS));
        let bomb = encode_payload(&deflate(&vec![b' '; MAX_INFLATED_BYTES + 1]));
        assert!(bomb.len() < 1_000, "a small payload: {}", bomb.len());
        let json_payload = |json: &[u8]| encode_payload(&deflate(json));
        type Case = (String, fn(&ShareError) -> bool, &'static str);
        let cases: Vec<Case> = vec![
            ("".into(), |e| *e == ShareError::Empty, "empty"),
            ("1".into(), |e| *e == ShareError::Empty, "empty"),
            (
                long,
                |e| matches!(e, ShareError::PayloadTooLong { .. }),
                "too long",
            ),
            (
                format!("2{}", &good[1..]),
                |e| matches!(e, ShareError::UnsupportedCodec { found } if found == "2"),
                "version \"2\"",
            ),
            (
                "1abc$def".into(),
                |e| *e == ShareError::NotBase64Url,
                "characters",
            ),
            (
                "1abc=".into(),
                |e| *e == ShareError::NotBase64Url,
                "characters",
            ),
            (
                "1A".into(),
                |e| *e == ShareError::NotBase64Url,
                "characters",
            ),
            (
                encode_payload(b"\xff\xff\xff\xff"),
                |e| matches!(e, ShareError::Inflate(_)),
                "unpacked",
            ),
            (
                good[..good.len() / 2].to_owned(),
                |e| matches!(e, ShareError::Inflate(_) | ShareError::NotBase64Url),
                "damaged",
            ),
            (bomb, |e| *e == ShareError::InflatesTooLarge, "KiB"),
            (
                json_payload(b"not json"),
                |e| matches!(e, ShareError::NotJson(_)),
                "not readable",
            ),
            (
                json_payload(br#"{"format":"other","version":1}"#),
                |e| *e == ShareError::NotEaselShare,
                "not hold",
            ),
            (
                json_payload(br#"{"format":"easel-share","version":2,"items":"new shape"}"#),
                |e| *e == ShareError::UnsupportedVersion { found: 2 },
                "version 2",
            ),
            (
                json_payload(br#"{"format":"easel-share","version":"1"}"#),
                |e| matches!(e, ShareError::Schema(_)),
                "whole number",
            ),
            (
                json_payload(br#"{"format":"easel-share","version":1,"created_ms":1,"items":{}}"#),
                |e| matches!(e, ShareError::Schema(_)),
                "not valid",
            ),
            (
                json_payload(br#"{"format":"easel-share","version":1,"created_ms":1,"items":[]}"#),
                |e| *e == ShareError::NoItems,
                "no images",
            ),
        ];
        for (payload, is_expected, words) in cases {
            let err = decode_with(&payload, inflate).unwrap_err();
            assert!(is_expected(&err), "{payload:.40}: {err:?}");
            assert!(err.to_string().contains(words), "{err} / {words}");
        }
    }

    #[test]
    fn item_rules_name_the_field() {
        type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
        let webp = STANDARD.encode(WEBP);
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                Box::new(|v| v["items"][0]["prompt"] = "x".repeat(MAX_PROMPT_CHARS + 1).into()),
                "prompt",
                "32001 characters",
            ),
            (
                Box::new(|v| {
                    v["items"][0]["revised_prompt"] = "é".repeat(MAX_PROMPT_CHARS + 1).into()
                }),
                "revised prompt",
                "at most 32000",
            ),
            (
                Box::new(|v| v["items"][1]["model"] = "m".repeat(201).into()),
                "model",
                "at most 200",
            ),
            (
                Box::new(|v| v["items"][1]["request"]["quality"] = "q".repeat(101).into()),
                "quality",
                "at most 100",
            ),
            (
                Box::new(|v| v["items"][0]["width"] = 20_000.into()),
                "width",
                "at most 16384",
            ),
            (
                Box::new(|v| v["items"][0]["mime"] = "text/html".into()),
                "type",
                "not an image type",
            ),
            (
                Box::new(|v| v["items"][1]["sha256"] = "AB".repeat(32).into()),
                "sha256",
                "lowercase",
            ),
            (
                Box::new(|v| v["items"][1]["sha256"] = "abc".into()),
                "sha256",
                "64",
            ),
            (
                Box::new(|v| v["items"][0]["preview"]["type"] = "image/png".into()),
                "preview",
                "WebP or JPEG",
            ),
            (
                Box::new(|v| v["items"][0]["preview"]["b64"] = "!!!".into()),
                "preview",
                "base64",
            ),
            (
                Box::new(move |v| {
                    v["items"][0]["preview"]["b64"] =
                        STANDARD.encode(vec![0u8; MAX_PREVIEW_BYTES + 1]).into()
                }),
                "preview",
                "larger than 4096",
            ),
            (
                Box::new(|v| v["items"][0]["preview"]["b64"] = STANDARD.encode(b"<script>").into()),
                "preview",
                "not a image/webp",
            ),
            (
                Box::new(move |v| {
                    v["items"][1]["preview"] =
                        serde_json::json!({"type": "image/jpeg", "b64": webp});
                }),
                "preview",
                "not a image/jpeg",
            ),
        ];
        for (edit, field, words) in cases {
            let err = ShareManifest::parse(&json_with(edit)).unwrap_err();
            match &err {
                ShareError::Item { field: f, .. } => assert_eq!(*f, field, "{err}"),
                other => panic!("{other:?}"),
            }
            assert!(err.to_string().contains(words), "{err} / {words}");
        }
        let titled = json_with(|v| v["title"] = "t".repeat(MAX_TITLE_CHARS + 1).into());
        assert_eq!(ShareManifest::parse(&titled), Err(ShareError::TitleTooLong));
        let many = json_with(|v| {
            let one = v["items"][1].clone();
            v["items"] = serde_json::Value::Array(vec![one; MAX_ITEMS + 1]);
        });
        assert_eq!(
            ShareManifest::parse(&many),
            Err(ShareError::TooManyItems {
                count: MAX_ITEMS + 1
            })
        );
        let huge = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(matches!(
            ShareManifest::parse(&huge),
            Err(ShareError::ManifestTooLarge { .. })
        ));
        // Unknown fields are ignored.
        let extra = json_with(|v| v["items"][0]["from_the_future"] = true.into());
        ShareManifest::parse(&extra).unwrap();
        // Hosted shares name every image.
        let err = sample().check_hosted().unwrap_err();
        assert!(
            matches!(
                err,
                ShareError::Item {
                    index: 0,
                    field: "sha256",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("Image 1 of this share"),
            "{err}"
        );
    }

    #[test]
    fn make_one_like_this_uses_the_original_prompt() {
        let shared = &sample().items[0];
        let request = shared.to_request();
        assert_eq!(request.prompt, "A lighthouse at dusk");
        assert_eq!(request.safety_identifier, None);
        assert_eq!(shared.preview.as_ref().unwrap().bytes().unwrap(), WEBP);
        assert!(
            shared
                .preview
                .as_ref()
                .unwrap()
                .data_url()
                .starts_with("data:image/webp;base64,UklGR")
        );
    }

    #[test]
    fn the_inflated_limit_stops_at_the_first_piece_past_it() {
        let mut out = Inflated::new(10);
        out.push(b"12345").unwrap();
        out.push(b"67890").unwrap();
        assert_eq!(out.push(b"!"), Err(ShareError::InflatesTooLarge));
        assert!(out.is_empty(), "what was gathered is dropped");
    }

    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("(?s).{0,40}").unwrap()
    }

    fn share_item() -> impl Strategy<Value = ShareItem> {
        (
            text(),
            proptest::option::of(text()),
            "[a-z0-9.-]{1,20}",
            (0u32..=MAX_EDGE, 0u32..=MAX_EDGE),
            proptest::sample::select(vec![
                "image/png",
                "image/jpeg",
                "image/webp",
                "image/gif",
                "image/svg+xml",
            ]),
            proptest::option::of("[0-9a-f]{64}"),
            proptest::option::of(proptest::option::of(text())),
            any::<bool>(),
        )
            .prop_map(
                |(prompt, revised, model, (width, height), mime, sha256, quality, preview)| {
                    let mut request = GenerationRequest::for_model(&model, &prompt);
                    request.quality = quality.flatten();
                    ShareItem {
                        prompt,
                        revised_prompt: revised,
                        model,
                        request,
                        width,
                        height,
                        mime: mime.to_owned(),
                        made_by: MadeBy::Generation,
                        sha256,
                        preview: preview.then(|| Preview::new("image/webp", WEBP)),
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn any_valid_share_roundtrips(items in proptest::collection::vec(share_item(), 1..8), created in any::<u64>()) {
            let manifest = ShareManifest::new(items, created);
            manifest.check().unwrap();
            let payload = recipe(&manifest);
            prop_assert_eq!(decode_with(&payload, inflate).unwrap(), manifest);
        }

        #[test]
        fn any_text_decodes_to_a_share_or_a_typed_error(payload in "(?s).{0,300}") {
            let _ = decode_with(&payload, inflate);
            let _ = parse_fragment(&payload);
            let _ = percent_decode(&payload);
        }

        #[test]
        fn any_bytes_decode_to_a_share_or_a_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            // As a payload of arbitrary deflated data, and as arbitrary JSON.
            let _ = decode_with(&encode_payload(&bytes), inflate);
            let _ = ShareManifest::parse(&bytes);
        }

        #[test]
        fn damaged_links_never_panic(flip in 1usize..200, to in any::<u8>()) {
            let mut payload = recipe(&sample()).into_bytes();
            let at = flip % payload.len();
            payload[at] = to;
            if let Ok(payload) = String::from_utf8(payload) {
                let _ = decode_with(&payload, inflate);
            }
        }
    }
}
