//! Hosted share links: `POST /v1/shares` keeps chosen images and a manifest, `GET` gives them
//! back to anyone with the link, `DELETE` with the share's delete token removes them.
//!
//! Storage is an `object_store` (a local directory, S3-compatible, GCS or Azure), laid out as:
//! - `images/<sha256>`: each image once, whatever the number of shares that hold it;
//! - `refs/<sha256>/<id>`: an empty marker per share holding the image, so the last share to
//!   let go of an image deletes it;
//! - `shares/<id>.json`: the record (manifest, image list, created and expiry times, the
//!   SHA-256 of the delete token, never the token); a deleted share keeps a tombstone so its
//!   link says "deleted" rather than "not found";
//! - `expiry/<hour>/<id>`: an empty marker per share with an expiry, by the hour it expires,
//!   so the sweep finds due shares without reading every record.
//!
//! Expired shares answer 410 at once; their images are let go of when someone opens them, or
//! by a sweep that a share request starts at most every ten minutes and that expires at most
//! 100 shares. `store.rs` keeps that layout; `upload.rs` reads and checks a new share's request
//! before anything is stored; this file has the routes.

mod store;
mod upload;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures_util::TryStreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt as _};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::Shares;
use crate::{AppError, AppState, guard};
use store::{
    Record, expire, image_path, now_ms, put_record, read_record, release, store_share, sweep,
};
use upload::read_upload;

/// The header that carries a share's delete token (never the URL: URLs end up in logs).
pub(crate) const DELETE_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-delete-token");

/// What an image from a share may do in a browser that opens it directly: nothing. An SVG's
/// scripts never run on the relay's origin; its inline styles still apply.
const IMAGE_CSP: HeaderValue =
    HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'");
/// An image's URL names its bytes (the hash), so it never changes.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Where shares are kept: an object store, named for the log without credentials.
#[derive(Clone)]
pub struct ShareStore {
    store: Arc<dyn ObjectStore>,
    label: String,
}

impl fmt::Debug for ShareStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShareStore({})", self.label)
    }
}

impl fmt::Display for ShareStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

impl ShareStore {
    /// A directory on this machine, made if it does not exist.
    pub fn local(dir: impl Into<PathBuf>) -> Result<ShareStore, String> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create the shares directory {}: {e}", dir.display()))?;
        let store = LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| format!("cannot use {} for shares: {e}", dir.display()))?;
        Ok(ShareStore {
            store: Arc::new(store),
            label: dir.display().to_string(),
        })
    }

    /// A store by URL: `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`
    /// (or any URL `object_store` knows; `file:///dir` is a local directory), set up by
    /// `options`, `object_store`'s own keys (`aws_endpoint`, `aws_allow_http`,
    /// `google_service_account`, `azure_storage_account_name`, …; any case). The binary passes
    /// the `AWS_*`, `GOOGLE_*` and `AZURE_*` environment variables.
    pub fn from_url<K: AsRef<str>, V: Into<String>>(
        url: &str,
        options: impl IntoIterator<Item = (K, V)>,
    ) -> Result<ShareStore, String> {
        let parsed =
            url::Url::parse(url).map_err(|e| format!("`{url}` is not a share store URL: {e}"))?;
        if parsed.scheme() == "file" {
            let dir = parsed
                .to_file_path()
                .map_err(|()| format!("`{url}` is not a directory"))?;
            return ShareStore::local(dir);
        }
        let options = options
            .into_iter()
            .map(|(key, value)| (key.as_ref().to_ascii_lowercase(), value.into()));
        let (store, prefix) = object_store::parse_url_opts(&parsed, options)
            .map_err(|e| format!("cannot use `{url}` for shares: {e}"))?;
        let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
            Arc::from(store)
        } else {
            Arc::new(PrefixStore::new(store, prefix))
        };
        let mut label = parsed;
        let _ = label.set_password(None);
        let _ = label.set_username("");
        label.set_query(None);
        Ok(ShareStore {
            store,
            label: label.to_string(),
        })
    }
}

/// The relay's shares: the store, the limits and the sweep's progress.
pub(crate) struct Hosted {
    store: Arc<dyn ObjectStore>,
    limits: Shares,
    last_sweep: Mutex<Option<Instant>>,
}

impl Hosted {
    pub fn new(limits: &Shares) -> Hosted {
        Hosted {
            store: Arc::clone(&limits.store.store),
            limits: limits.clone(),
            last_sweep: Mutex::new(None),
        }
    }

    /// Starts a sweep of due expiries in the background, at most every `SWEEP_EVERY`.
    fn maybe_sweep(&self) {
        let mut last = self.last_sweep.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| at.elapsed() < SWEEP_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            if let Err(error) = sweep(store.as_ref(), now_ms()).await {
                tracing::warn!(%error, "share expiry sweep failed");
            }
        });
    }
}

/// What `GET /v1/relay/info` says about shares, so the app's dialog can say what fits.
pub(crate) fn info(state: &AppState) -> Value {
    match &state.shares {
        None => serde_json::json!({"shares": false}),
        Some(hosted) => {
            let limits = &hosted.limits;
            // What fits: the request body limit holds the images too.
            let max_bytes = limits
                .max_bytes
                .min(state.config.multipart_body_limit as u64);
            serde_json::json!({
                "shares": true,
                "share_max_images": limits.max_images,
                "share_max_bytes": max_bytes,
                "share_max_expires_in": limits.max_expiry.map(|d| d.as_secs()),
            })
        }
    }
}

fn store_error(error: object_store::Error) -> AppError {
    AppError::Internal(format!("share store: {error}"))
}

fn hosted(state: &AppState) -> Result<&Hosted, AppError> {
    state.shares.as_deref().ok_or(AppError::SharesDisabled)
}

/// `POST /v1/shares`. The guard rails of the image routes, in their order: token, rate limit,
/// a concurrency slot; then the whole upload is checked before anything is stored.
pub(crate) async fn create(State(state): State<AppState>, request: Request) -> Response {
    let result = async {
        let hosted = hosted(&state)?;
        let token = guard::access_token(&state.config, &request)?;
        guard::rate_limit(&state, token.as_ref(), &request)?;
        let permit = guard::concurrency_slot(&state)?;
        let origin = crate::mock::public_origin(&state.config, request.uri(), request.headers());
        let upload = read_upload(&state, hosted, request).await?;
        let created = store_share(hosted, upload).await?;
        hosted.maybe_sweep();
        let url = format!("{origin}/v1/shares/{}", created.id);
        let body = serde_json::json!({
            "id": created.id,
            "link": format!("{origin}/shared#h={}", percent_encode(&url)),
            "url": url,
            "delete_token": created.delete_token,
            "expires_ms": created.expires_ms,
        });
        let response = (StatusCode::CREATED, Json(body)).into_response();
        Ok::<_, AppError>(guard::hold(response, permit))
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /v1/shares/{id}`: no access token (a share link is opened by strangers), but the rate
/// limit and a concurrency slot as everywhere.
pub(crate) async fn show(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    request: Request,
) -> Response {
    // Moved in: a borrowed request (its body is not `Sync`) would make the future not `Send`.
    let result = async move {
        let hosted = hosted(&state)?;
        guard::rate_limit(&state, None, &request)?;
        let _permit = guard::concurrency_slot(&state)?;
        let record = live_record(hosted, &id).await?;
        let images: Vec<Value> = record
            .images
            .iter()
            .map(|image| {
                serde_json::json!({
                    "sha256": image.sha256,
                    "content_type": image.content_type,
                    "bytes": image.bytes,
                    "url": format!("/v1/shares/{id}/images/{}", image.sha256),
                })
            })
            .collect();
        let body = serde_json::json!({
            "id": record.id,
            "created_ms": record.created_ms,
            "expires_ms": record.expires_ms,
            "manifest": record.manifest,
            "images": images,
        });
        let mut response = Json(body).into_response();
        // Deleting a share must reach the people who already opened it.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Ok::<_, AppError>(response)
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /v1/shares/{id}/images/{sha256}`: the bytes, typed by what they are (sniffed when
/// uploaded), in a sandbox. Only through a live share that holds them.
pub(crate) async fn image(
    State(state): State<AppState>,
    UrlPath((id, sha256)): UrlPath<(String, String)>,
    request: Request,
) -> Response {
    let result = async move {
        let hosted = hosted(&state)?;
        guard::rate_limit(&state, None, &request)?;
        let permit = guard::concurrency_slot(&state)?;
        let record = live_record(hosted, &id).await?;
        let image = record
            .images
            .iter()
            .find(|image| image.sha256 == sha256)
            .ok_or(AppError::ShareImageNotFound)?;
        let found = match hosted.store.get(&image_path(&image.sha256)).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(AppError::Internal(format!(
                    "share {id} lists an image the store does not have"
                )));
            }
            Err(error) => return Err(store_error(error)),
        };
        let size = found.meta.size;
        let stream = found.into_stream().map_err(std::io::Error::other);
        let mut response = Response::new(Body::from_stream(stream));
        let headers = response.headers_mut();
        let content_type = HeaderValue::from_str(&image.content_type)
            .map_err(|_| AppError::Internal("a stored content type is not a header".into()))?;
        headers.insert(header::CONTENT_TYPE, content_type);
        headers.insert(header::CONTENT_LENGTH, size.into());
        headers.insert(header::CONTENT_SECURITY_POLICY, IMAGE_CSP);
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::CACHE_CONTROL, IMMUTABLE);
        Ok::<_, AppError>(guard::hold(response, permit))
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /v1/shares/{id}` with `X-Delete-Token`. No relay access token needed: the delete
/// token is the proof, and a creator whose relay token was revoked can still take a share down.
pub(crate) async fn delete(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    request: Request,
) -> Response {
    let result = async move {
        let hosted = hosted(&state)?;
        guard::rate_limit(&state, None, &request)?;
        let _permit = guard::concurrency_slot(&state)?;
        let presented = request
            .headers()
            .get(DELETE_TOKEN_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(|token| hex(&Sha256::digest(token.trim().as_bytes())))
            .ok_or(AppError::InvalidDeleteToken)?;
        let record = live_record(hosted, &id).await?;
        // Digests, not tokens, are compared: the time taken says nothing about the token.
        if record.delete_token_sha256.as_deref() != Some(presented.as_str()) {
            return Err(AppError::InvalidDeleteToken);
        }
        let images = record.images.clone();
        let tombstone = Record {
            deleted_ms: Some(now_ms()),
            delete_token_sha256: None,
            images: Vec::new(),
            manifest: None,
            ..record
        };
        put_record(hosted.store.as_ref(), &tombstone).await?;
        // The link says "deleted" from here on; letting go of the images may fail without
        // changing that (an orphaned image only takes space).
        if let Err(error) = release(hosted.store.as_ref(), &id, &images).await {
            tracing::warn!(%error, "a deleted share's images were not all removed");
        }
        tracing::info!(share = %id, "share deleted");
        Ok::<_, AppError>(StatusCode::NO_CONTENT.into_response())
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// The share's record if it is live; 404 / 410 otherwise. An expired share found here lets go
/// of its images on the way.
async fn live_record(hosted: &Hosted, id: &str) -> Result<Record, AppError> {
    if !is_id(id) {
        return Err(AppError::ShareNotFound);
    }
    let record = read_record(hosted.store.as_ref(), id)
        .await?
        .ok_or(AppError::ShareNotFound)?;
    if record.deleted_ms.is_some() {
        return Err(AppError::ShareDeleted);
    }
    if record.expired(now_ms()) {
        if !record.released
            && let Err(error) = expire(hosted.store.as_ref(), record).await
        {
            tracing::warn!(?error, "an expired share's images were not all removed");
        }
        hosted.maybe_sweep();
        return Err(AppError::ShareExpired);
    }
    Ok(record)
}

/// `bytes` random bytes from the operating system, base64url without padding.
fn random_token(bytes: usize) -> Result<String, AppError> {
    let mut buffer = vec![0; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|e| AppError::Internal(format!("no randomness for a share id: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer))
}

/// A share id as `random_token(16)` makes them: anything else is not looked up.
fn is_id(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything but the unreserved characters, percent-encoded (a URL inside a fragment).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens_carry_enough_randomness() {
        let id = random_token(16).unwrap();
        assert!(is_id(&id), "{id}");
        assert_ne!(id, random_token(16).unwrap());
        assert_eq!(random_token(32).unwrap().len(), 43);
        assert!(!is_id("../../etc/passwd"));
    }

    #[test]
    fn links_carry_the_url_percent_encoded() {
        assert_eq!(
            percent_encode("http://r.test:8080/v1/shares/a_b-c"),
            "http%3A%2F%2Fr.test%3A8080%2Fv1%2Fshares%2Fa_b-c"
        );
    }
}
