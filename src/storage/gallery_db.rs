//! The gallery in IndexedDB. Three object stores:
//! - `items`: one record per image: `{id, job, created, hash, meta}` where `meta` is the item's
//!   metadata as JSON (its schema is `easel_core::gallery`); indexed by `hash` and `created`.
//! - `images` and `thumbs`: Blobs keyed by content hash (SHA-256), so identical images are
//!   stored once however many items show them.
//! - `pending`: jobs sent but not finished, keyed by job id, so a reload can show them as
//!   interrupted.
//!
//! A save is one transaction across the stores: on a quota error nothing is half-written.

use std::cell::Cell;

use idb::{
    Database, DatabaseEvent, Factory, IndexParams, KeyPath, ObjectStoreParams, TransactionMode,
};
use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, DomException};

/// Bumped with each schema change; `upgrade` migrates from every older version.
const SCHEMA_VERSION: u32 = 1;
const ITEMS: &str = "items";
const IMAGES: &str = "images";
const THUMBS: &str = "thumbs";
const PENDING: &str = "pending";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("The browser's storage for this site is full.")]
    QuotaExceeded,
    #[error("This browser does not offer storage to this page ({0}).")]
    Unavailable(String),
    #[error("Saving failed: {0}")]
    Failed(String),
}

impl From<idb::Error> for StorageError {
    fn from(error: idb::Error) -> StorageError {
        if is_quota_error(&error) {
            StorageError::QuotaExceeded
        } else {
            StorageError::Failed(error.to_string())
        }
    }
}

fn is_quota_error(error: &idb::Error) -> bool {
    let dom_name = |value: &JsValue| value.dyn_ref::<DomException>().map(DomException::name);
    let name = match error {
        idb::Error::DomException(e) => Some(e.name()),
        idb::Error::AddFailed(v)
        | idb::Error::UpdateFailed(v)
        | idb::Error::TransactionCommitError(v)
        | idb::Error::TransactionAbortError(v) => dom_name(v),
        _ => None,
    };
    name.as_deref() == Some("QuotaExceededError") || error.to_string().contains("QuotaExceeded")
}

/// An image to save, with what the gallery shows about it.
#[derive(Clone)]
pub struct NewImage {
    pub id: String,
    pub job: String,
    /// Unix milliseconds.
    pub created: f64,
    pub hash: String,
    /// The item's metadata as JSON.
    pub meta: String,
    pub image: Blob,
    pub thumb: Option<Blob>,
}

/// A stored item's key fields and metadata JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredItem {
    pub id: String,
    pub hash: String,
    pub meta: String,
}

pub struct GalleryDb {
    db: Database,
    /// A failure the next write reports instead of writing: lets tests and fault drills
    /// exercise the full-disk path for real, end to end.
    injected: Cell<Option<StorageError>>,
}

impl GalleryDb {
    /// Opens (creating or migrating) the gallery database.
    pub async fn open(name: &str) -> Result<GalleryDb, StorageError> {
        let factory = Factory::new().map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let mut request = factory
            .open(name, Some(SCHEMA_VERSION))
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        request.on_upgrade_needed(|event| {
            let old = event.old_version().unwrap_or(0);
            if let Ok(db) = event.database() {
                upgrade(&db, old);
            }
        });
        let db = request
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        Ok(GalleryDb {
            db,
            injected: Cell::new(None),
        })
    }

    pub fn inject_failure(&self, error: StorageError) {
        self.injected.set(Some(error));
    }

    fn take_injected(&self) -> Result<(), StorageError> {
        self.injected.take().map_or(Ok(()), Err)
    }

    /// Saves images and their metadata in one transaction: all or nothing.
    pub async fn save(&self, images: &[NewImage]) -> Result<(), StorageError> {
        self.take_injected()?;
        let tx = self
            .db
            .transaction(&[ITEMS, IMAGES, THUMBS], TransactionMode::ReadWrite)?;
        let items = tx.object_store(ITEMS)?;
        let blobs = tx.object_store(IMAGES)?;
        let thumbs = tx.object_store(THUMBS)?;
        for image in images {
            let key = JsValue::from_str(&image.hash);
            if blobs.get_key(key.clone())?.await?.is_none() {
                blobs.put(&image.image, Some(&key))?.await?;
            }
            if let Some(thumb) = &image.thumb {
                thumbs.put(thumb, Some(&key))?.await?;
            }
            items.put(&item_record(image)?, None)?.await?;
        }
        let outcome = tx.await?;
        if outcome.is_aborted() {
            Err(StorageError::Failed("the save was aborted".into()))
        } else {
            Ok(())
        }
    }

    /// Every item's key fields and metadata, in no particular order.
    pub async fn list(&self) -> Result<Vec<StoredItem>, StorageError> {
        self.list_map(Some).await
    }

    /// Every item through `convert`, one at a time: each record's text is dropped as soon as
    /// it is converted, so a large gallery never holds all of its JSON and all of its parsed
    /// items at once (wasm memory keeps its high-water mark).
    pub async fn list_map<T>(
        &self,
        mut convert: impl FnMut(StoredItem) -> Option<T>,
    ) -> Result<Vec<T>, StorageError> {
        let tx = self.db.transaction(&[ITEMS], TransactionMode::ReadOnly)?;
        let values = tx.object_store(ITEMS)?.get_all(None, None)?.await?;
        Ok(values
            .iter()
            .filter_map(|value| {
                convert(StoredItem {
                    id: text(value, "id")?,
                    hash: text(value, "hash")?,
                    meta: text(value, "meta")?,
                })
            })
            .collect())
    }

    pub async fn image(&self, hash: &str) -> Result<Option<Blob>, StorageError> {
        self.blob(IMAGES, hash).await
    }

    pub async fn thumb(&self, hash: &str) -> Result<Option<Blob>, StorageError> {
        self.blob(THUMBS, hash).await
    }

    async fn blob(&self, store: &str, hash: &str) -> Result<Option<Blob>, StorageError> {
        let tx = self.db.transaction(&[store], TransactionMode::ReadOnly)?;
        let value = tx
            .object_store(store)?
            .get(JsValue::from_str(hash))?
            .await?;
        Ok(value.and_then(|v| v.dyn_into().ok()))
    }

    /// Replaces an item's metadata (favorite, collections…).
    pub async fn update_meta(&self, item: &StoredItem) -> Result<(), StorageError> {
        self.take_injected()?;
        let tx = self.db.transaction(&[ITEMS], TransactionMode::ReadWrite)?;
        let store = tx.object_store(ITEMS)?;
        let Some(record) = store.get(JsValue::from_str(&item.id))?.await? else {
            return Ok(());
        };
        set(&record, "meta", &JsValue::from_str(&item.meta))?;
        store.put(&record, None)?.await?;
        tx.await?;
        Ok(())
    }

    /// Deletes items, and the image bytes no remaining item shows.
    pub async fn delete(&self, ids: &[String]) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(&[ITEMS, IMAGES, THUMBS], TransactionMode::ReadWrite)?;
        let items = tx.object_store(ITEMS)?;
        let by_hash = items.index("hash")?;
        for id in ids {
            let key = JsValue::from_str(id);
            let Some(record) = items.get(key.clone())?.await? else {
                continue;
            };
            items.delete(key)?.await?;
            if let Some(hash) = text(&record, "hash") {
                let hash = JsValue::from_str(&hash);
                if by_hash.count(Some(hash.clone().into()))?.await? == 0 {
                    tx.object_store(IMAGES)?.delete(hash.clone())?.await?;
                    tx.object_store(THUMBS)?.delete(hash)?.await?;
                }
            }
        }
        tx.await?;
        Ok(())
    }

    /// Records a job as sent, so that a reload can offer to retry it.
    pub async fn add_pending(&self, job: &str, request_json: &str) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(&[PENDING], TransactionMode::ReadWrite)?;
        tx.object_store(PENDING)?
            .put(
                &JsValue::from_str(request_json),
                Some(&JsValue::from_str(job)),
            )?
            .await?;
        tx.await?;
        Ok(())
    }

    pub async fn remove_pending(&self, job: &str) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(&[PENDING], TransactionMode::ReadWrite)?;
        tx.object_store(PENDING)?
            .delete(JsValue::from_str(job))?
            .await?;
        tx.await?;
        Ok(())
    }

    /// Jobs sent before the page was closed or reloaded: `(job id, request JSON)`.
    pub async fn pending(&self) -> Result<Vec<(String, String)>, StorageError> {
        let tx = self.db.transaction(&[PENDING], TransactionMode::ReadOnly)?;
        let store = tx.object_store(PENDING)?;
        let keys = store.get_all_keys(None, None)?.await?;
        let values = store.get_all(None, None)?.await?;
        Ok(keys
            .iter()
            .zip(values.iter())
            .filter_map(|(k, v)| Some((k.as_string()?, v.as_string()?)))
            .collect())
    }
}

/// Creates or migrates the stores from `old` to `SCHEMA_VERSION`.
fn upgrade(db: &Database, old: u32) {
    if old < 1 {
        let mut params = ObjectStoreParams::new();
        params.key_path(Some(KeyPath::new_single("id")));
        if let Ok(items) = db.create_object_store(ITEMS, params) {
            let _ = items.create_index(
                "hash",
                KeyPath::new_single("hash"),
                Some(IndexParams::new()),
            );
            let _ = items.create_index(
                "created",
                KeyPath::new_single("created"),
                Some(IndexParams::new()),
            );
        }
        for store in [IMAGES, THUMBS, PENDING] {
            let _ = db.create_object_store(store, ObjectStoreParams::new());
        }
    }
}

fn item_record(image: &NewImage) -> Result<JsValue, StorageError> {
    let record = Object::new();
    set(&record, "id", &JsValue::from_str(&image.id))?;
    set(&record, "job", &JsValue::from_str(&image.job))?;
    set(&record, "created", &JsValue::from_f64(image.created))?;
    set(&record, "hash", &JsValue::from_str(&image.hash))?;
    set(&record, "meta", &JsValue::from_str(&image.meta))?;
    Ok(record.into())
}

fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), StorageError> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(drop)
        .map_err(|_| StorageError::Failed(format!("could not set {key}")))
}

fn text(value: &JsValue, key: &str) -> Option<String> {
    Reflect::get(value, &JsValue::from_str(key))
        .ok()?
        .as_string()
}
