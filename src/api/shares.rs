//! Hosted shares on a relay (`/v1/shares`, see `docs/share-links.md` and the relay's
//! `docs/shares.md`): create with the images and the manifest, read, delete with the token.
//! Only the relay's own access token is sent, never the user's API key.

use easel_core::error::{FailureKind, classify};
use easel_core::share::{ShareError, ShareManifest};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, Blob, BlobPropertyBag, FormData};

use super::fetch;

/// The relay's answer to a new share.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CreatedShare {
    pub id: String,
    /// The share's API URL.
    pub url: String,
    /// The viewer link on the relay's own app.
    #[serde(default)]
    pub link: String,
    pub delete_token: String,
    #[serde(default)]
    pub expires_ms: Option<u64>,
}

/// One image of a hosted share, as the relay lists it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct HostedImage {
    pub sha256: String,
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub bytes: u64,
    pub url: String,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    expires_ms: Option<u64>,
    manifest: serde_json::Value,
    #[serde(default)]
    images: Vec<HostedImage>,
}

/// A hosted share as read: its manifest (checked) and where its images are.
#[derive(Clone, Debug, PartialEq)]
pub struct HostedShare {
    pub manifest: ShareManifest,
    pub images: Vec<HostedImage>,
    pub expires_ms: Option<u64>,
}

/// Why a hosted share could not be made, read or deleted, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostedError {
    #[error("This share does not exist. The link may be incomplete, or the share was never made.")]
    NotFound,
    #[error("This share was deleted by the person who made it.")]
    Deleted,
    #[error("This share has expired.")]
    Expired,
    #[error("{0}")]
    Invalid(#[from] ShareError),
    #[error("{0}")]
    Failed(String),
    #[error("cancelled")]
    Cancelled,
}

/// Shares the `images` (each a Blob and its file name) with `manifest_json` on the relay.
pub async fn create_share(
    relay_url: &str,
    relay_token: &str,
    manifest_json: &str,
    images: &[(Blob, String)],
    expires_in_secs: Option<u64>,
    signal: &AbortSignal,
) -> Result<CreatedShare, HostedError> {
    let form = (|| -> Result<FormData, JsValue> {
        let form = FormData::new()?;
        let options = BlobPropertyBag::new();
        options.set_type("application/json");
        let bytes = js_sys::Uint8Array::from(manifest_json.as_bytes());
        let manifest =
            Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(&bytes), &options)?;
        form.append_with_blob_and_filename("manifest", &manifest, "manifest.json")?;
        if let Some(secs) = expires_in_secs {
            form.append_with_str("expires_in", &secs.to_string())?;
        }
        for (image, name) in images {
            form.append_with_blob_and_filename("image", image, name)?;
        }
        Ok(form)
    })()
    .map_err(|e| {
        HostedError::Failed(format!(
            "The browser could not prepare the upload: {}",
            fetch::describe(&e)
        ))
    })?;
    let url = format!("{}/v1/shares", relay_url.trim().trim_end_matches('/'));
    let response = fetch::send_body(
        &url,
        "POST",
        &token_header(relay_token),
        Some(&JsValue::from(form)),
        Some(signal),
    )
    .await
    .map_err(|e| network(signal, &e))?;
    let body = fetch::text(&response)
        .await
        .map_err(|e| network(signal, &e))?;
    if !response.ok() {
        return Err(refused(response.status(), &body));
    }
    serde_json::from_str(&body).map_err(|_| {
        HostedError::Failed(
            "The relay answered, but not with a share. Is it an Easel relay with shares?".into(),
        )
    })
}

/// Reads a hosted share's manifest and image list from its API URL.
pub async fn fetch_share(url: &str, signal: &AbortSignal) -> Result<HostedShare, HostedError> {
    let response = fetch::send(url, "GET", &[], None, Some(signal))
        .await
        .map_err(|e| network(signal, &e))?;
    let body = fetch::text(&response)
        .await
        .map_err(|e| network(signal, &e))?;
    if !response.ok() {
        return Err(refused(response.status(), &body));
    }
    let answer: Answer = serde_json::from_str(&body)
        .map_err(|e| HostedError::Invalid(ShareError::Schema(e.to_string())))?;
    let manifest = ShareManifest::parse(answer.manifest.to_string().as_bytes())?;
    manifest.check_hosted()?;
    Ok(HostedShare {
        manifest,
        images: answer.images,
        expires_ms: answer.expires_ms,
    })
}

/// An image's bytes.
pub async fn fetch_image(url: &str, signal: &AbortSignal) -> Result<Vec<u8>, HostedError> {
    let response = fetch::send(url, "GET", &[], None, Some(signal))
        .await
        .map_err(|e| network(signal, &e))?;
    if !response.ok() {
        let body = fetch::text(&response).await.unwrap_or_default();
        return Err(refused(response.status(), &body));
    }
    fetch::bytes(&response)
        .await
        .map_err(|e| network(signal, &e))
}

/// Deletes a share with its delete token (in a header, never in the URL). A share already
/// gone counts as deleted.
pub async fn delete_share(url: &str, delete_token: &str) -> Result<(), HostedError> {
    let headers = [("X-Delete-Token", delete_token.to_owned())];
    let response = fetch::send(url, "DELETE", &headers, None, None)
        .await
        .map_err(|e| HostedError::Failed(network_words(&fetch::describe(&e))))?;
    match response.status() {
        200..=299 => Ok(()),
        status => match refused(status, &fetch::text(&response).await.unwrap_or_default()) {
            HostedError::NotFound | HostedError::Deleted | HostedError::Expired => Ok(()),
            other => Err(other),
        },
    }
}

fn token_header(relay_token: &str) -> Vec<(&'static str, String)> {
    let token = relay_token.trim();
    if token.is_empty() {
        Vec::new()
    } else {
        vec![("Authorization", format!("Bearer {token}"))]
    }
}

fn network(signal: &AbortSignal, error: &JsValue) -> HostedError {
    if signal.aborted() {
        HostedError::Cancelled
    } else {
        HostedError::Failed(network_words(&fetch::describe(error)))
    }
}

fn network_words(detail: &str) -> String {
    format!(
        "Could not reach the relay ({detail}). Check your connection and the relay's address; \
         a relay on another origin must list this page's origin in its allow-origin setting."
    )
}

/// A relay's error answer in plain words (its envelope's message kept where it helps).
fn refused(status: u16, body: &str) -> HostedError {
    let failure = classify(status, body);
    let code = failure.code.as_deref().unwrap_or_default();
    match (status, code) {
        (404, _) => HostedError::NotFound,
        (410, "share_expired") => HostedError::Expired,
        (410, _) => HostedError::Deleted,
        (403, "invalid_delete_token") => HostedError::Failed(
            "The relay did not accept the delete token: this browser's copy does not match the share.".into(),
        ),
        (403, _) => HostedError::Failed(
            "The relay refused this page: it does not list this page's origin in its allow-origin setting.".into(),
        ),
        (413, _) => HostedError::Failed(format!(
            "Too much for this relay: it limits how many images and bytes one share holds ({}). Share fewer images.",
            failure.message
        )),
        (415, _) => HostedError::Failed(format!(
            "The relay refused an image's type ({}); it keeps PNG, JPEG, WebP, GIF and SVG.",
            failure.message
        )),
        _ if failure.kind == FailureKind::InvalidKey || failure.kind == FailureKind::RelayTokenRefused => {
            HostedError::Failed(
                "This relay asks for an access token. Enter the one its operator gave you in Settings (Relay → Access token)."
                    .into(),
            )
        }
        _ => HostedError::Failed(format!("{} ({})", failure.explanation(), failure.message)),
    }
}
