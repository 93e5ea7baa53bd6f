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
//! by a sweep that a share request starts at most every ten minutes and that handles at most
//! `SWEEP_BATCH` shares.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::{self, Body, Bytes};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use easel_core::files::ImageFormat;
use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::config::Shares;
use crate::inspect::{self, MAX_PROMPT_CHARS};
use crate::{AppError, AppState, guard};

/// The header that carries a share's delete token (never the URL: URLs end up in logs).
pub(crate) const DELETE_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-delete-token");

/// The share contract's limits on the manifest.
const MAX_MANIFEST_BYTES: usize = 256 * 1024;
const MAX_ITEMS: usize = 64;
const MAX_TITLE_CHARS: usize = 200;
/// Text parts a share request may have besides its images (manifest, expires_in, and a few
/// unknown ones, which are ignored).
const SPARE_PARTS: usize = 8;

/// What an image from a share may do in a browser that opens it directly: nothing. An SVG's
/// scripts never run on the relay's origin; its inline styles still apply.
const IMAGE_CSP: HeaderValue =
    HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'");
/// An image's URL names its bytes (the hash), so it never changes.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

const SWEEP_EVERY: Duration = Duration::from_secs(600);
const SWEEP_BATCH: usize = 100;
const HOUR_MS: u64 = 3_600_000;

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
            serde_json::json!({
                "shares": true,
                "share_max_images": limits.max_images,
                "share_max_bytes": limits.max_bytes,
                "share_max_expires_in": limits.max_expiry.map(|d| d.as_secs()),
            })
        }
    }
}

/// The stored record of a share.
#[derive(Serialize, Deserialize)]
struct Record {
    id: String,
    created_ms: u64,
    expires_ms: Option<u64>,
    /// Set when the share was deleted; the rest is then emptied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleted_ms: Option<u64>,
    /// Set once an expired share's images were let go of (its manifest is gone too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    released: bool,
    /// Hex SHA-256 of the delete token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delete_token_sha256: Option<String>,
    #[serde(default)]
    images: Vec<StoredImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manifest: Option<Box<RawValue>>,
}

#[derive(Clone, Serialize, Deserialize)]
struct StoredImage {
    sha256: String,
    content_type: String,
    bytes: u64,
}

impl Record {
    fn expired(&self, now: u64) -> bool {
        self.expires_ms.is_some_and(|at| at <= now)
    }
}

fn record_path(id: &str) -> Path {
    Path::from_iter(["shares", &format!("{id}.json")])
}

fn image_path(sha256: &str) -> Path {
    Path::from_iter(["images", sha256])
}

fn refs_path(sha256: &str) -> Path {
    Path::from_iter(["refs", sha256])
}

fn expiry_path(expires_ms: u64, id: &str) -> Path {
    Path::from_iter(["expiry", &(expires_ms / HOUR_MS).to_string(), id])
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
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

async fn read_record(store: &dyn ObjectStore, id: &str) -> Result<Option<Record>, AppError> {
    let bytes = match store.get(&record_path(id)).await {
        Ok(found) => found.bytes().await.map_err(store_error)?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(store_error(error)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| AppError::Internal(format!("share record {id} is unreadable: {e}")))
}

async fn put_record(store: &dyn ObjectStore, record: &Record) -> Result<(), AppError> {
    let json = serde_json::to_vec(record).map_err(|e| AppError::Internal(e.to_string()))?;
    store
        .put(&record_path(&record.id), PutPayload::from(json))
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Marks an expired share's record as released (the manifest goes) and lets go of its images.
async fn expire(store: &dyn ObjectStore, record: Record) -> Result<(), AppError> {
    let images = record.images.clone();
    let id = record.id.clone();
    let released = Record {
        released: true,
        delete_token_sha256: None,
        images: Vec::new(),
        manifest: None,
        ..record
    };
    put_record(store, &released).await?;
    release(store, &id, &images).await.map_err(store_error)
}

/// Drops this share's hold on each image, and each image no other share holds.
async fn release(
    store: &dyn ObjectStore,
    id: &str,
    images: &[StoredImage],
) -> Result<(), object_store::Error> {
    for image in images {
        let refs = refs_path(&image.sha256);
        delete_if_present(store, &refs.clone().join(id)).await?;
        let mut others = store.list(Some(&refs));
        if others.next().await.transpose()?.is_none() {
            delete_if_present(store, &image_path(&image.sha256)).await?;
        }
    }
    Ok(())
}

async fn delete_if_present(
    store: &dyn ObjectStore,
    path: &Path,
) -> Result<(), object_store::Error> {
    match store.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Expires the shares due by `now`, oldest hour first, at most `SWEEP_BATCH` of them.
async fn sweep(store: &dyn ObjectStore, now: u64) -> Result<(), object_store::Error> {
    let hours = store
        .list_with_delimiter(Some(&Path::from("expiry")))
        .await?;
    let mut due: Vec<(u64, Path)> = hours
        .common_prefixes
        .into_iter()
        .filter_map(|prefix| {
            let hour: u64 = prefix.filename()?.parse().ok()?;
            (hour * HOUR_MS <= now).then_some((hour, prefix))
        })
        .collect();
    due.sort();
    let mut budget = SWEEP_BATCH;
    for (_, hour) in due {
        let markers: Vec<_> = store.list(Some(&hour)).take(budget).try_collect().await?;
        budget -= markers.len();
        for marker in markers {
            let Some(id) = marker.location.filename().map(str::to_owned) else {
                continue;
            };
            let finished = match read_record(store, &id).await {
                // Tried again by the next sweep.
                Err(_) => false,
                Ok(None) => true,
                // Not due yet (later in this hour): left for the next sweep.
                Ok(Some(record)) if !record.expired(now) && record.deleted_ms.is_none() => false,
                Ok(Some(record)) if record.deleted_ms.is_none() && !record.released => {
                    expire(store, record).await.is_ok()
                }
                Ok(Some(_)) => true,
            };
            if finished {
                delete_if_present(store, &marker.location).await?;
            }
        }
        if budget == 0 {
            break;
        }
    }
    Ok(())
}

/// A share request that passed every check, not stored yet.
struct Upload {
    manifest: Box<RawValue>,
    images: Vec<(StoredImage, Bytes)>,
    expires_in: Option<Duration>,
}

struct Created {
    id: String,
    delete_token: String,
    expires_ms: Option<u64>,
}

async fn read_upload(
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
    let body = body::to_bytes(body, limit).await.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
        if too_large {
            AppError::PayloadTooLarge
        } else {
            inspect::bad_body("The request body could not be read.")
        }
    })?;
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

/// Stores the images (each once), the holds on them, the expiry marker, and last the record:
/// a share is only reachable once all it needs is there.
async fn store_share(hosted: &Hosted, upload: Upload) -> Result<Created, AppError> {
    let store = hosted.store.as_ref();
    let id = random_token(16)?;
    let delete_token = random_token(32)?;
    let created_ms = now_ms();
    let expires_ms = upload
        .expires_in
        .map(|d| created_ms.saturating_add(d.as_millis() as u64));
    let share = id.as_str();
    let holds = upload.images.iter().map(|(image, data)| async move {
        // The hold first: a share deleted meanwhile that let go of the same image cannot
        // remove it from under this one once the hold is there (the image is written again
        // after it).
        store
            .put(&refs_path(&image.sha256).join(share), PutPayload::new())
            .await?;
        store
            .put(&image_path(&image.sha256), PutPayload::from(data.clone()))
            .await
    });
    futures_util::future::try_join_all(holds)
        .await
        .map_err(store_error)?;
    if let Some(expires_ms) = expires_ms {
        store
            .put(&expiry_path(expires_ms, &id), PutPayload::new())
            .await
            .map_err(store_error)?;
    }
    let record = Record {
        id: id.clone(),
        created_ms,
        expires_ms,
        deleted_ms: None,
        released: false,
        delete_token_sha256: Some(hex(&Sha256::digest(delete_token.as_bytes()))),
        images: upload.images.into_iter().map(|(image, _)| image).collect(),
        manifest: Some(upload.manifest),
    };
    put_record(store, &record).await?;
    tracing::info!(share = %id, images = record.images.len(), "share created");
    Ok(Created {
        id,
        delete_token,
        expires_ms,
    })
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

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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

    /// A share nobody opens after it expired: the sweep lets go of it, and only of it.
    #[tokio::test]
    async fn the_sweep_expires_due_shares_only() {
        let dir = tempfile::tempdir().unwrap();
        let hosted = Hosted::new(&Shares::new(ShareStore::local(dir.path()).unwrap()));
        let upload = |bytes: &'static [u8], expires_in| {
            let sha256 = hex(&Sha256::digest(bytes));
            let manifest = format!(
                r#"{{"format":"easel-share","version":1,"items":[{{"sha256":"{sha256}"}}]}}"#
            );
            Upload {
                manifest: RawValue::from_string(manifest).unwrap(),
                images: vec![(
                    StoredImage {
                        sha256,
                        content_type: "image/gif".into(),
                        bytes: bytes.len() as u64,
                    },
                    Bytes::from_static(bytes),
                )],
                expires_in,
            }
        };
        let soon = store_share(
            &hosted,
            upload(b"GIF89a-soon", Some(Duration::from_secs(60))),
        )
        .await
        .unwrap();
        let later = store_share(
            &hosted,
            upload(b"GIF89a-later", Some(Duration::from_secs(86_400))),
        )
        .await
        .unwrap();
        let store = hosted.store.as_ref();
        // Two hours on: the first is due, the second is not.
        sweep(store, now_ms() + 2 * HOUR_MS).await.unwrap();
        let gone = read_record(store, &soon.id).await.unwrap().unwrap();
        assert!(gone.released && gone.images.is_empty() && gone.manifest.is_none());
        let kept = read_record(store, &later.id).await.unwrap().unwrap();
        assert!(!kept.released && kept.manifest.is_some());
        let images: Vec<_> = store
            .list(Some(&Path::from("images")))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].location, image_path(&kept.images[0].sha256));
        let markers: Vec<_> = store
            .list(Some(&Path::from("expiry")))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(markers.len(), 1, "the due share's marker is gone");
        assert_eq!(markers[0].location.filename(), Some(later.id.as_str()));
    }

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
