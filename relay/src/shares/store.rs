//! The share store's layout (see `shares`): records, the holds on images, expiry markers, and
//! letting go of what a deleted or expired share held.

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::upload::Upload;
use super::{Hosted, hex, random_token, store_error};
use crate::AppError;

/// Shares one sweep expires at most.
const SWEEP_BATCH: usize = 100;
const HOUR_MS: u64 = 3_600_000;

/// The stored record of a share.
#[derive(Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) id: String,
    pub(super) created_ms: u64,
    pub(super) expires_ms: Option<u64>,
    /// Set when the share was deleted; the rest is then emptied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) deleted_ms: Option<u64>,
    /// Set once an expired share's images were let go of (its manifest is gone too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) released: bool,
    /// Hex SHA-256 of the delete token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) delete_token_sha256: Option<String>,
    #[serde(default)]
    pub(super) images: Vec<StoredImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) manifest: Option<Box<RawValue>>,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct StoredImage {
    pub(super) sha256: String,
    pub(super) content_type: String,
    pub(super) bytes: u64,
}

impl Record {
    pub(super) fn expired(&self, now: u64) -> bool {
        self.expires_ms.is_some_and(|at| at <= now)
    }
}

fn record_path(id: &str) -> Path {
    Path::from_iter(["shares", &format!("{id}.json")])
}

pub(super) fn image_path(sha256: &str) -> Path {
    Path::from_iter(["images", sha256])
}

fn refs_path(sha256: &str) -> Path {
    Path::from_iter(["refs", sha256])
}

fn expiry_path(expires_ms: u64, id: &str) -> Path {
    Path::from_iter(["expiry", &(expires_ms / HOUR_MS).to_string(), id])
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(super) async fn read_record(
    store: &dyn ObjectStore,
    id: &str,
) -> Result<Option<Record>, AppError> {
    let bytes = match store.get(&record_path(id)).await {
        Ok(found) => found.bytes().await.map_err(store_error)?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(store_error(error)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| AppError::Internal(format!("share record {id} is unreadable: {e}")))
}

pub(super) async fn put_record(store: &dyn ObjectStore, record: &Record) -> Result<(), AppError> {
    let json = serde_json::to_vec(record).map_err(|e| AppError::Internal(e.to_string()))?;
    store
        .put(&record_path(&record.id), PutPayload::from(json))
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Marks an expired share's record as released (the manifest goes) and lets go of its images.
pub(super) async fn expire(store: &dyn ObjectStore, record: Record) -> Result<(), AppError> {
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
pub(super) async fn release(
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
pub(super) async fn sweep(store: &dyn ObjectStore, now: u64) -> Result<(), object_store::Error> {
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

pub(super) struct Created {
    pub(super) id: String,
    pub(super) delete_token: String,
    pub(super) expires_ms: Option<u64>,
}

/// Stores the images (each once), the holds on them, the expiry marker, and last the record:
/// a share is only reachable once all it needs is there.
pub(super) async fn store_share(hosted: &Hosted, upload: Upload) -> Result<Created, AppError> {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Bytes;

    use super::*;
    use crate::config::Shares;
    use crate::shares::ShareStore;

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
}
