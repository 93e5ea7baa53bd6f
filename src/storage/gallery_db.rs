//! The gallery in IndexedDB. Three object stores:
//! - `items`: one record per image: `{id, job, created, hash, meta}` where `meta` is the item's
//!   metadata as JSON (its schema is `easel_core::gallery`); indexed by `hash` and `created`.
//! - `images`: Blobs keyed by content hash (SHA-256), so identical images are stored once
//!   however many items show them.
//! - `thumbs`: thumbnails keyed by the same hash, as `{type, bytes}` (a `Uint8Array`): a few KB
//!   read with the record rather than a Blob's separate file (galleries saved before this was
//!   so hold Blobs there, which are still read).
//! - `pending`: jobs sent but not finished, keyed by job id, so a reload can show them as
//!   interrupted: a generation's request JSON (a string), or for an edit or variation
//!   `{request, parents, variation, images, mask, markup}` with its files as Blobs, so that it
//!   can be sent again.
//!
//! A save is one transaction across the stores: on a quota error nothing is half-written.

use std::cell::{Cell, RefCell};

use idb::{
    Database, DatabaseEvent, Factory, IndexParams, KeyPath, ObjectStoreParams, Transaction,
    TransactionMode,
};
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, DomException, IdbDatabase, IdbTransaction};

use super::browser::Thumbnail;
use crate::api::Upload;

/// A job sent before the page was closed or reloaded, as recorded.
pub struct PendingJob {
    pub uid: String,
    pub request_json: String,
    /// An edit's or variation's parents and files.
    pub files: Option<(Vec<String>, Upload)>,
}

/// Bumped with each schema change; `upgrade` migrates from every older version.
const SCHEMA_VERSION: u32 = 1;
const ITEMS: &str = "items";
const IMAGES: &str = "images";
const THUMBS: &str = "thumbs";
const PENDING: &str = "pending";
/// The index of `items` by creation time (the page's prelude, public/prelude.js, reads through it too).
const CREATED: &str = "created";

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

/// Waits for a read-write transaction to end; an abort is an error that says why. A full disk
/// aborts the commit itself with `QuotaExceededError`, which no request of it reports.
async fn committed(tx: Transaction) -> Result<(), StorageError> {
    let raw = IdbTransaction::from(tx);
    if Transaction::from(raw.clone()).await?.is_committed() {
        return Ok(());
    }
    Err(match raw.error() {
        Some(e) if e.name() == "QuotaExceededError" => StorageError::QuotaExceeded,
        Some(e) => StorageError::Failed(e.message()),
        None => StorageError::Failed("the save was aborted".into()),
    })
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
    pub thumb: Option<Thumbnail>,
}

/// An item's record as the database returned it, not yet read.
pub struct ItemRecord(JsValue);

impl ItemRecord {
    /// Its key fields and metadata; `None` for a record this version cannot read (it stays
    /// stored).
    pub fn stored(&self) -> Option<StoredItem> {
        Some(StoredItem {
            id: text(&self.0, "id")?,
            hash: text(&self.0, "hash")?,
            meta: text(&self.0, "meta")?,
        })
    }
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
    /// The item records the page's prelude read before the app started: the first
    /// listing uses them instead of reading again.
    prefetched: RefCell<Option<Array>>,
}

/// The global where the page's prelude (public/prelude.js) leaves a promise of the gallery it opened early:
/// `{db, items}` (items null when they could not be read), or null.
const PRELUDE: &str = "easelGallery";
/// The database the prelude opens: the app's own gallery (`state::GALLERY_DB`).
const PRELUDE_DB: &str = "easel-gallery";

impl GalleryDb {
    /// Opens (creating or migrating) the gallery database.
    pub async fn open(name: &str) -> Result<GalleryDb, StorageError> {
        if name == PRELUDE_DB
            && let Some((db, items)) = take_prelude().await
        {
            // A gallery of an older schema is migrated by the regular open below.
            if db.version().ok() == Some(SCHEMA_VERSION) {
                return Ok(GalleryDb {
                    db,
                    injected: Cell::new(None),
                    prefetched: RefCell::new(items),
                });
            }
            db.close();
        }
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
            prefetched: RefCell::new(None),
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
                thumbs.put(&thumb_record(thumb)?, Some(&key))?.await?;
            }
            items.put(&item_record(image)?, None)?.await?;
        }
        committed(tx).await
    }

    /// Every item's key fields and metadata, newest first.
    pub async fn list(&self) -> Result<Vec<StoredItem>, StorageError> {
        Ok(self
            .records()
            .await?
            .iter()
            .filter_map(ItemRecord::stored)
            .collect())
    }

    /// Every item record, newest first. Reading them is quick; turning one into a
    /// [`StoredItem`] copies its text out of the browser and is what costs time with
    /// thousands, so callers convert the first screen's first.
    pub async fn records(&self) -> Result<Vec<ItemRecord>, StorageError> {
        // Read through the `created` index: oldest first, so reversed.
        let values: Vec<JsValue> = match self.prefetched.take() {
            Some(records) => records.iter().collect(),
            None => {
                let tx = self.db.transaction(&[ITEMS], TransactionMode::ReadOnly)?;
                tx.object_store(ITEMS)?
                    .index(CREATED)?
                    .get_all(None, None)?
                    .await?
            }
        };
        super::browser::mark("gallery-read");
        Ok(values.into_iter().rev().map(ItemRecord).collect())
    }

    pub async fn image(&self, hash: &str) -> Result<Option<Blob>, StorageError> {
        self.blob(IMAGES, hash).await
    }

    pub async fn thumb(&self, hash: &str) -> Result<Option<Thumbnail>, StorageError> {
        let tx = self.db.transaction(&[THUMBS], TransactionMode::ReadOnly)?;
        let Some(value) = tx
            .object_store(THUMBS)?
            .get(JsValue::from_str(hash))?
            .await?
        else {
            return Ok(None);
        };
        if let Some(blob) = value.dyn_ref::<Blob>() {
            // Saved before thumbnails were stored inline.
            let bytes = JsFuture::from(blob.array_buffer())
                .await
                .map_err(|e| StorageError::Failed(format!("{e:?}")))?;
            return Ok(Some(Thumbnail {
                mime: blob.type_(),
                bytes: Uint8Array::new(&bytes),
            }));
        }
        let bytes = Reflect::get(&value, &JsValue::from_str("bytes"))
            .ok()
            .and_then(|b| b.dyn_into::<Uint8Array>().ok());
        Ok(bytes.map(|bytes| Thumbnail {
            mime: text(&value, "type").unwrap_or_default(),
            bytes,
        }))
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
        committed(tx).await?;
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
        committed(tx).await?;
        Ok(())
    }

    /// Records a job as sent, so that a reload can offer to retry it; an edit's `files` (its
    /// parents and uploads) are kept with it.
    pub async fn add_pending(
        &self,
        job: &str,
        request_json: &str,
        files: Option<(&[String], &Upload)>,
    ) -> Result<(), StorageError> {
        let record = match files {
            None => JsValue::from_str(request_json),
            Some((parents, upload)) => pending_upload(request_json, parents, upload)?.into(),
        };
        let tx = self
            .db
            .transaction(&[PENDING], TransactionMode::ReadWrite)?;
        tx.object_store(PENDING)?
            .put(&record, Some(&JsValue::from_str(job)))?
            .await?;
        committed(tx).await?;
        Ok(())
    }

    pub async fn remove_pending(&self, job: &str) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(&[PENDING], TransactionMode::ReadWrite)?;
        tx.object_store(PENDING)?
            .delete(JsValue::from_str(job))?
            .await?;
        committed(tx).await?;
        Ok(())
    }

    /// Jobs sent before the page was closed or reloaded.
    pub async fn pending(&self) -> Result<Vec<PendingJob>, StorageError> {
        let tx = self.db.transaction(&[PENDING], TransactionMode::ReadOnly)?;
        let store = tx.object_store(PENDING)?;
        let keys = store.get_all_keys(None, None)?.await?;
        let values = store.get_all(None, None)?.await?;
        Ok(keys
            .iter()
            .zip(values.iter())
            .filter_map(|(key, value)| {
                let uid = key.as_string()?;
                match value.as_string() {
                    Some(request_json) => Some(PendingJob {
                        uid,
                        request_json,
                        files: None,
                    }),
                    None => {
                        let (request_json, files) = read_pending_upload(value)?;
                        Some(PendingJob {
                            uid,
                            request_json,
                            files: Some(files),
                        })
                    }
                }
            })
            .collect())
    }
}

/// An edit's pending record: Blobs are stored as they are (IndexedDB keeps files).
fn pending_upload(
    request_json: &str,
    parents: &[String],
    upload: &Upload,
) -> Result<Object, StorageError> {
    let failed = |_| StorageError::Failed("the edit's files could not be recorded".into());
    let record = Object::new();
    let set = |key: &str, value: &JsValue| Reflect::set(&record, &JsValue::from_str(key), value);
    let parents: Array = parents.iter().map(|p| JsValue::from_str(p)).collect();
    let images: Array = upload.images.iter().collect();
    let blob_or_null = |b: &Option<Blob>| b.as_ref().map_or(JsValue::NULL, |b| b.into());
    set("request", &JsValue::from_str(request_json)).map_err(failed)?;
    set("parents", &parents).map_err(failed)?;
    set("variation", &JsValue::from_bool(upload.variation)).map_err(failed)?;
    set("images", &images).map_err(failed)?;
    set("mask", &blob_or_null(&upload.mask)).map_err(failed)?;
    set("markup", &blob_or_null(&upload.markup)).map_err(failed)?;
    Ok(record)
}

fn read_pending_upload(record: &JsValue) -> Option<(String, (Vec<String>, Upload))> {
    let get = |key: &str| Reflect::get(record, &JsValue::from_str(key)).ok();
    let blob = |key: &str| get(key).and_then(|v| v.dyn_into::<Blob>().ok());
    let request_json = text(record, "request")?;
    let parents = get("parents")?
        .dyn_into::<Array>()
        .ok()?
        .iter()
        .filter_map(|p| p.as_string())
        .collect();
    let images: Vec<Blob> = get("images")?
        .dyn_into::<Array>()
        .ok()?
        .iter()
        .filter_map(|b| b.dyn_into().ok())
        .collect();
    let upload = Upload {
        variation: get("variation")?.as_bool()?,
        images,
        mask: blob("mask"),
        markup: blob("markup"),
    };
    Some((request_json, (parents, upload)))
}

/// Takes (once) what the page's prelude opened and read, if it succeeded.
async fn take_prelude() -> Option<(Database, Option<Array>)> {
    let window = web_sys::window()?;
    let promise = Reflect::get(&window, &JsValue::from_str(PRELUDE)).ok()?;
    let promise: Promise = promise.dyn_into().ok()?;
    // Only the first open adopts it: a later one (after a failure) opens anew.
    Reflect::set(&window, &JsValue::from_str(PRELUDE), &JsValue::UNDEFINED).ok()?;
    let opened = JsFuture::from(promise).await.ok()?;
    if opened.is_null() || opened.is_undefined() {
        return None;
    }
    let db: IdbDatabase = Reflect::get(&opened, &JsValue::from_str("db"))
        .ok()?
        .dyn_into()
        .ok()?;
    let items = Reflect::get(&opened, &JsValue::from_str("items"))
        .ok()
        .and_then(|items| items.dyn_into::<Array>().ok());
    Some((Database::from(db), items))
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
                CREATED,
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

fn thumb_record(thumb: &Thumbnail) -> Result<JsValue, StorageError> {
    let record: JsValue = Object::new().into();
    set(&record, "type", &JsValue::from_str(&thumb.mime))?;
    set(&record, "bytes", &thumb.bytes)?;
    Ok(record)
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
