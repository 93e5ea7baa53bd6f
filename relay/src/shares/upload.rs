//! Reading and checking a new share's request: its parts, its images (sniffed, hashed), the
//! manifest against the contract and the uploads, and the expiry. Nothing is stored here.

use std::collections::HashSet;
use std::time::Duration;

use axum::body::{self, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use easel_core::files::ImageFormat;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::store::StoredImage;
use super::{Hosted, hex};
use crate::config::Shares;
use crate::inspect::{self, MAX_PROMPT_CHARS};
use crate::{AppError, AppState};

/// The share contract's limits on the manifest.
const MAX_MANIFEST_BYTES: usize = 256 * 1024;
const MAX_ITEMS: usize = 64;
const MAX_TITLE_CHARS: usize = 200;
/// Text parts a share request may have besides its images (manifest, expires_in, and a few
/// unknown ones, which are ignored).
const SPARE_PARTS: usize = 8;

/// A share request that passed every check, not stored yet.
pub(super) struct Upload {
    pub(super) manifest: Box<RawValue>,
    pub(super) images: Vec<(StoredImage, Bytes)>,
    pub(super) expires_in: Option<Duration>,
}

pub(super) async fn read_upload(
    state: &AppState,
    hosted: &Hosted,
    request: Request,
) -> Result<Upload, AppError> {
    let (parts, body) = request.into_parts();
    inspect::check_framing(&parts.headers)?;
    let boundary = multipart_boundary(&parts.headers)?;
    let limit = state.config.multipart_body_limit;
    if inspect::declared_length(&parts.headers)?.is_some_and(|length| length > limit as u64) {
        return Err(AppError::PayloadTooLarge);
    }
    let body = body::to_bytes(body, limit)
        .await
        .map_err(inspect::body_error)?;
    let limits = &hosted.limits;
    let form = Box::pin(read_form(body, boundary, limits.max_images)).await?;

    let mut seen = HashSet::new();
    let mut images = Vec::new();
    let mut total: u64 = 0;
    for (index, data) in form.images.into_iter().enumerate() {
        let Some(format) = ImageFormat::sniff(&data) else {
            return Err(AppError::UnsupportedImage {
                message: format!(
                    "Image {} is not a PNG, JPEG, WebP, GIF or SVG image.",
                    index + 1
                ),
            });
        };
        let sha256 = hex(&Sha256::digest(&data));
        // The same image sent twice is kept once.
        if !seen.insert(sha256.clone()) {
            continue;
        }
        total += data.len() as u64;
        images.push((
            StoredImage {
                sha256,
                content_type: format.mime().to_owned(),
                bytes: data.len() as u64,
            },
            data,
        ));
    }
    if images.len() > limits.max_images {
        return Err(AppError::ShareTooLarge {
            message: format!(
                "A share on this relay holds at most {} images.",
                limits.max_images
            ),
        });
    }
    if total > limits.max_bytes {
        return Err(AppError::ShareTooLarge {
            message: format!(
                "A share's images on this relay may take at most {} bytes together ({total} sent).",
                limits.max_bytes
            ),
        });
    }
    let manifest = form.manifest.ok_or_else(|| AppError::InvalidRequest {
        message: "Missing required parameter: 'manifest'.".into(),
        param: Some("manifest".into()),
        code: "missing_required_parameter",
    })?;
    if images.is_empty() {
        return Err(AppError::InvalidRequest {
            message: "Missing required parameter: 'image' (a share holds at least one).".into(),
            param: Some("image".into()),
            code: "missing_required_parameter",
        });
    }
    let manifest = check_manifest(&manifest, &seen)?;
    let expires_in = expiry(limits, form.expires_in.as_deref())?;
    Ok(Upload {
        manifest,
        images,
        expires_in,
    })
}

fn multipart_boundary(headers: &HeaderMap) -> Result<String, AppError> {
    let expected = AppError::UnsupportedMediaType {
        expected: "multipart/form-data",
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .ok_or(expected)?;
    let kind = content_type.split(';').next().unwrap_or_default().trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return Err(AppError::UnsupportedMediaType {
            expected: "multipart/form-data",
        });
    }
    multer::parse_boundary(content_type)
        .map_err(|_| inspect::bad_body("The multipart body has no boundary in its Content-Type."))
}

/// The parts of a share request, by name.
struct Form {
    manifest: Option<Bytes>,
    images: Vec<Bytes>,
    expires_in: Option<String>,
}

async fn read_form(body: Bytes, boundary: String, max_images: usize) -> Result<Form, AppError> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let broken = |_| inspect::bad_body("The multipart body is malformed.");
    let mut form = Form {
        manifest: None,
        images: Vec::new(),
        expires_in: None,
    };
    let mut others = 0;
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "image" | "image[]" => {
                // Before reading it: the images over the limit are not even held in memory
                // twice.
                if form.images.len() == max_images {
                    return Err(AppError::ShareTooLarge {
                        message: format!(
                            "A share on this relay holds at most {max_images} images."
                        ),
                    });
                }
                form.images.push(field.bytes().await.map_err(broken)?);
            }
            "manifest" => {
                if form.manifest.is_some() {
                    return Err(invalid_manifest("Send one 'manifest' part, not several."));
                }
                let data = field.bytes().await.map_err(broken)?;
                if data.len() > MAX_MANIFEST_BYTES {
                    return Err(AppError::ShareTooLarge {
                        message: format!(
                            "The manifest may take at most {MAX_MANIFEST_BYTES} bytes ({} sent).",
                            data.len()
                        ),
                    });
                }
                form.manifest = Some(data);
            }
            "expires_in" => {
                let data = field.bytes().await.map_err(broken)?;
                form.expires_in = Some(String::from_utf8_lossy(&data).into_owned());
            }
            // Unknown parts are ignored, as unknown manifest fields are; only a few of them.
            _ => {
                others += 1;
                if others > SPARE_PARTS {
                    return Err(inspect::bad_body("The multipart body has too many parts."));
                }
            }
        }
    }
    Ok(form)
}

fn invalid_manifest(message: &str) -> AppError {
    AppError::InvalidRequest {
        message: message.to_owned(),
        param: Some("manifest".into()),
        code: "invalid_manifest",
    }
}

/// The share contract's manifest: the fields the relay relies on, and every item naming one of
/// the uploaded images and every image named by an item. Kept exactly as sent.
fn check_manifest(data: &[u8], uploaded: &HashSet<String>) -> Result<Box<RawValue>, AppError> {
    let value: Value = serde_json::from_slice(data)
        .map_err(|_| invalid_manifest("The manifest is not valid JSON."))?;
    let Value::Object(manifest) = &value else {
        return Err(invalid_manifest("The manifest must be a JSON object."));
    };
    if manifest.get("format").and_then(Value::as_str) != Some("easel-share") {
        return Err(invalid_manifest(
            "The manifest's 'format' must be \"easel-share\".",
        ));
    }
    match manifest.get("version") {
        Some(version) if version.as_u64() == Some(1) => {}
        Some(version) => {
            return Err(invalid_manifest(&format!(
                "Unsupported manifest version {version}: this relay takes version 1."
            )));
        }
        None => return Err(invalid_manifest("The manifest has no 'version'.")),
    }
    match manifest.get("title") {
        None | Some(Value::Null) => {}
        Some(Value::String(title)) if title.chars().count() <= MAX_TITLE_CHARS => {}
        Some(_) => {
            return Err(invalid_manifest(&format!(
                "The manifest's 'title' must be a string of at most {MAX_TITLE_CHARS} characters."
            )));
        }
    }
    let Some(items) = manifest.get("items").and_then(Value::as_array) else {
        return Err(invalid_manifest("The manifest's 'items' must be an array."));
    };
    if items.is_empty() || items.len() > MAX_ITEMS {
        return Err(invalid_manifest(&format!(
            "The manifest must have between 1 and {MAX_ITEMS} items ({} sent).",
            items.len()
        )));
    }
    let mut referenced = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let number = index + 1;
        let Value::Object(item) = item else {
            return Err(invalid_manifest(&format!(
                "Item {number} is not an object."
            )));
        };
        match item.get("prompt") {
            None | Some(Value::Null) => {}
            Some(Value::String(prompt)) if prompt.chars().count() <= MAX_PROMPT_CHARS => {}
            Some(_) => {
                return Err(invalid_manifest(&format!(
                    "Item {number}'s 'prompt' must be a string of at most {MAX_PROMPT_CHARS} \
                     characters."
                )));
            }
        }
        let sha256 = item
            .get("sha256")
            .and_then(Value::as_str)
            .filter(|hash| is_sha256(hash))
            .ok_or_else(|| {
                invalid_manifest(&format!(
                    "Item {number} needs a 'sha256' of 64 lowercase hex digits naming one of \
                     the uploaded images."
                ))
            })?;
        if !uploaded.contains(sha256) {
            return Err(AppError::InvalidRequest {
                message: format!(
                    "Item {number}'s sha256 {sha256} names no uploaded image: send that image \
                     as an 'image' part."
                ),
                param: Some("manifest".into()),
                code: "unknown_image",
            });
        }
        referenced.insert(sha256);
    }
    if let Some(unreferenced) = uploaded
        .iter()
        .find(|hash| !referenced.contains(hash.as_str()))
    {
        return Err(AppError::InvalidRequest {
            message: format!(
                "The uploaded image {unreferenced} is not named by any manifest item: a share \
                 holds only the images its items show."
            ),
            param: Some("image".into()),
            code: "unreferenced_image",
        });
    }
    let text =
        std::str::from_utf8(data).map_err(|_| invalid_manifest("The manifest is not UTF-8."))?;
    RawValue::from_string(text.to_owned())
        .map_err(|_| invalid_manifest("The manifest is not valid JSON."))
}

/// How long the share lives: as asked (or the relay's default), never past the relay's cap.
fn expiry(limits: &Shares, requested: Option<&str>) -> Result<Option<Duration>, AppError> {
    let requested = match requested {
        None => None,
        Some(text) => {
            let seconds = text
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|&s| s > 0)
                .ok_or_else(|| AppError::InvalidRequest {
                    message: format!(
                        "Invalid 'expires_in': a whole number of seconds above 0 (got {text:?})."
                    ),
                    param: Some("expires_in".into()),
                    code: "invalid_value",
                })?;
            Some(Duration::from_secs(seconds))
        }
    };
    let chosen = requested.or(limits.default_expiry);
    Ok(match limits.max_expiry {
        Some(max) => Some(chosen.map_or(max, |chosen| chosen.min(max))),
        None => chosen,
    })
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shares::ShareStore;

    #[test]
    fn expiry_is_capped() {
        let store = ShareStore::local(tempfile::tempdir().unwrap().path()).unwrap();
        let mut limits = Shares::new(store);
        assert_eq!(expiry(&limits, None).unwrap(), None);
        assert_eq!(
            expiry(&limits, Some("60")).unwrap(),
            Some(Duration::from_secs(60))
        );
        assert!(expiry(&limits, Some("0")).is_err());
        assert!(expiry(&limits, Some("soon")).is_err());
        limits.max_expiry = Some(Duration::from_secs(30));
        assert_eq!(
            expiry(&limits, Some("60")).unwrap(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            expiry(&limits, None).unwrap(),
            Some(Duration::from_secs(30))
        );
    }
}
