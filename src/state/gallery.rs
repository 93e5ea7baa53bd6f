//! The gallery: every stored image's metadata in memory (small), bytes and thumbnails in
//! IndexedDB (loaded only for what is on screen).

use std::rc::Rc;

use easel_core::gallery::GalleryItem;
use easel_core::pricing;
use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::storage::{GalleryDb, ItemRecord, NewImage, StorageError, StoredItem, browser};

/// Items listed before the grid is first shown: more than the first screen and its overscan
/// hold on a 4K screen. The rest are read after that screen is painted.
const FIRST_SCREEN: usize = 120;
/// Items read per task after the first screen, so thumbnails and input are served between.
const READ_SLICE: usize = 250;
/// The longest the rest of the list waits for the browser to be idle.
const IDLE_TIMEOUT_MS: u32 = 200;

/// The database name of the app's own gallery.
pub const GALLERY_DB: &str = "easel-gallery";

type OpenDb = Shared<LocalBoxFuture<'static, Result<Rc<GalleryDb>, StorageError>>>;

#[derive(Clone, Debug, PartialEq)]
pub enum GalleryStatus {
    Loading,
    Ready,
    /// Storage cannot be used (private mode, blocked): images live only until the tab closes.
    Unavailable(String),
}

#[derive(Clone, Copy)]
pub struct Gallery {
    db: StoredValue<OpenDb, LocalStorage>,
    /// Every stored item, in no particular order.
    pub items: RwSignal<Vec<GalleryItem>>,
    pub status: RwSignal<GalleryStatus>,
    /// Whether `items` holds every stored item yet (the newest come first, see `reload`).
    pub listed: RwSignal<bool>,
    /// `(used, quota)` bytes of this site's storage, when known.
    pub usage: RwSignal<Option<(f64, f64)>>,
    /// Whether the browser agreed to keep the gallery under storage pressure.
    pub persisted: RwSignal<Option<bool>>,
}

impl Gallery {
    /// Opens the gallery database `name` and loads the item list.
    pub fn provide(name: &'static str) -> Gallery {
        let open: OpenDb = async move {
            let db = GalleryDb::open(name).await.map(Rc::new);
            browser::mark("gallery-open");
            db
        }
        .boxed_local()
        .shared();
        let gallery = Gallery {
            db: StoredValue::new_local(open),
            items: RwSignal::new(Vec::new()),
            status: RwSignal::new(GalleryStatus::Loading),
            listed: RwSignal::new(false),
            usage: RwSignal::new(None),
            persisted: RwSignal::new(None),
        };
        provide_context(gallery);
        spawn_local(async move { gallery.reload().await });
        gallery
    }

    /// What the stored images created at or after `since_ms` (unix ms) cost, as far as known.
    pub fn spent_since(&self, since_ms: u64) -> f64 {
        self.items.with(|items| {
            items
                .iter()
                .filter(|i| i.created_ms >= since_ms)
                .filter_map(|i| i.cost)
                .sum()
        })
    }

    /// What today's stored images cost, "today" as the person means it (their time zone).
    pub fn spent_today(&self) -> f64 {
        self.spent_since(local_midnight_ms())
    }

    /// Whether to go ahead with a request estimated at `estimate`: yes within the daily
    /// budget (or without one); past it, the person is asked first.
    pub fn budget_allows(&self, budget: Option<f64>, estimate: Option<&pricing::Estimate>) -> bool {
        let question = budget.zip(estimate).and_then(|(budget, estimate)| {
            pricing::budget_question(untrack(|| self.spent_today()), estimate, budget)
        });
        match question {
            Some(question) => web_sys::window()
                .and_then(|w| w.confirm_with_message(&question).ok())
                .unwrap_or(false),
            None => true,
        }
    }

    /// The open database, once it is open.
    pub async fn db(&self) -> Result<Rc<GalleryDb>, StorageError> {
        self.db.with_value(Clone::clone).await
    }

    /// Reads the item list from the database: the newest [`FIRST_SCREEN`] items at once, so the
    /// grid can show them, and the rest after the browser has painted them.
    async fn reload(&self) {
        let records = match self.db().await {
            Ok(db) => db.records().await,
            Err(e) => Err(e),
        };
        let records = match records {
            Ok(records) => records,
            Err(e) => {
                self.status.set(GalleryStatus::Unavailable(e.to_string()));
                self.refresh_usage().await;
                return;
            }
        };
        // A record this version cannot read is skipped, not fatal: it stays stored.
        let read = |record: &ItemRecord| {
            record
                .stored()
                .and_then(|s| GalleryItem::from_json(&s.meta).ok())
        };
        let first = FIRST_SCREEN.min(records.len());
        // Room for all from the start: growing the list would need it twice in memory.
        let mut items = Vec::with_capacity(records.len());
        items.extend(records[..first].iter().filter_map(read));
        self.items.set(items);
        self.listed.set(first == records.len());
        self.status.set(GalleryStatus::Ready);
        browser::mark("gallery-first-screen");
        if first < records.len() {
            // Each slice when the browser is idle: the first screen and its thumbnails first.
            // Anything saved meanwhile has a new id, so nothing is listed twice.
            for slice in records[first..].chunks(READ_SLICE) {
                browser::when_idle(IDLE_TIMEOUT_MS).await;
                self.items
                    .update_untracked(|all| all.extend(slice.iter().filter_map(read)));
            }
            self.items.notify();
            self.listed.set(true);
        }
        browser::mark("gallery-listed");
        if !records.is_empty() {
            // Asking again is free and tells whether the browser keeps the gallery.
            self.persisted
                .set(Some(browser::request_persistence().await));
        }
        self.refresh_usage().await;
    }

    pub async fn refresh_usage(&self) {
        self.usage.set(browser::storage_estimate().await);
    }

    /// Stores a generation's images and metadata in one transaction, then shows them. The first
    /// save asks the browser to keep the gallery (persistent storage).
    pub async fn save(&self, images: Vec<(GalleryItem, NewImage)>) -> Result<(), StorageError> {
        let db = self.db().await?;
        let records: Vec<NewImage> = images.iter().map(|(_, image)| image.clone()).collect();
        db.save(&records).await?;
        let items: Vec<GalleryItem> = images.into_iter().map(|(item, _)| item).collect();
        self.items.update(|all| {
            all.retain(|old| items.iter().all(|new| new.id != old.id));
            all.extend(items);
        });
        if self.persisted.get_untracked().is_none() {
            self.persisted
                .set(Some(browser::request_persistence().await));
        }
        self.refresh_usage().await;
        Ok(())
    }

    /// Writes changed metadata (favorite, collections) of items.
    pub async fn update(&self, changed: Vec<GalleryItem>) -> Result<(), StorageError> {
        let db = self.db().await?;
        for item in &changed {
            db.update_meta(&StoredItem {
                id: item.id.clone(),
                hash: item.sha256.clone(),
                meta: item.to_json(),
            })
            .await?;
        }
        self.items.update(|all| {
            for item in changed {
                if let Some(slot) = all.iter_mut().find(|i| i.id == item.id) {
                    *slot = item;
                }
            }
        });
        Ok(())
    }

    pub async fn delete(&self, ids: Vec<String>) -> Result<(), StorageError> {
        self.db().await?.delete(&ids).await?;
        self.items
            .update(|all| all.retain(|i| !ids.contains(&i.id)));
        self.refresh_usage().await;
        Ok(())
    }

    pub fn find(&self, id: &str) -> Option<GalleryItem> {
        self.items
            .with_untracked(|all| all.iter().find(|i| i.id == id).cloned())
    }
}

/// This day's start in the browser's time zone, unix ms.
fn local_midnight_ms() -> u64 {
    let day = js_sys::Date::new_0();
    day.set_hours(0);
    day.set_minutes(0);
    day.set_seconds(0);
    day.set_milliseconds(0);
    day.get_time() as u64
}
