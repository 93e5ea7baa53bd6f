//! What the gallery page shows: the query, the selection, the open image, and deletions that
//! can still be undone.

use std::collections::HashSet;
use std::time::Duration;

use easel_core::gallery::{GalleryItem, Query, search};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::Gallery;

/// How long a deletion can be undone.
const UNDO_WINDOW: Duration = Duration::from_secs(6);

/// The gallery's search and filters, kept by the app while the user is on other pages.
#[derive(Clone, Copy)]
pub struct GalleryQuery(pub RwSignal<Query>);

impl GalleryQuery {
    pub fn provide() {
        provide_context(GalleryQuery(RwSignal::new(Query::default())));
    }
}

#[derive(Clone, Copy)]
pub struct GalleryView {
    pub gallery: Gallery,
    pub query: RwSignal<Query>,
    /// The items the query selects, in order, minus deletions waiting for their undo window.
    pub shown: Memo<Vec<GalleryItem>>,
    pub selected: RwSignal<HashSet<String>>,
    /// Where the last plain or Ctrl-click selection happened, for Shift-click ranges.
    anchor: RwSignal<Option<usize>>,
    /// The index in `shown` of the image open in the lightbox.
    pub open: RwSignal<Option<usize>>,
    /// Items deleted but still restorable.
    pub deleting: RwSignal<Vec<String>>,
    pub message: RwSignal<Option<String>>,
    /// The items the share dialog is open for.
    pub sharing: RwSignal<Option<Vec<GalleryItem>>>,
}

impl GalleryView {
    /// The gallery page's view state. The query outlives the page (see [`GalleryQuery`]), so
    /// a search is still there when the user comes back; the searching itself lives with the
    /// page (and in its chunk of code).
    pub fn provide(gallery: Gallery) -> GalleryView {
        let query = use_context::<GalleryQuery>()
            .map(|kept| kept.0)
            .unwrap_or_else(|| RwSignal::new(Query::default()));
        let deleting = RwSignal::new(Vec::<String>::new());
        let shown = Memo::new(move |_| {
            let hidden = deleting.get();
            gallery.items.with(|items| {
                query.with(|q| {
                    search(items, q)
                        .into_iter()
                        .filter(|i| !hidden.contains(&i.id))
                        .cloned()
                        .collect()
                })
            })
        });
        let view = GalleryView {
            gallery,
            query,
            shown,
            selected: RwSignal::new(HashSet::new()),
            anchor: RwSignal::new(None),
            open: RwSignal::new(None),
            deleting,
            message: RwSignal::new(None),
            sharing: RwSignal::new(None),
        };
        provide_context(view);
        view
    }

    /// A click on the cell at `index`: Ctrl/Cmd toggles it, Shift selects the range from the
    /// last click, a plain click opens it.
    pub fn click(&self, index: usize, ctrl: bool, shift: bool) {
        let Some(id) = self
            .shown
            .with_untracked(|s| s.get(index).map(|i| i.id.clone()))
        else {
            return;
        };
        if shift {
            let from = self.anchor.get_untracked().unwrap_or(index);
            let (lo, hi) = (from.min(index), from.max(index));
            let ids: Vec<String> = self.shown.with_untracked(|s| {
                s[lo..=hi.min(s.len().saturating_sub(1))]
                    .iter()
                    .map(|i| i.id.clone())
                    .collect()
            });
            self.selected.update(|sel| sel.extend(ids));
        } else if ctrl {
            self.toggle(&id);
            self.anchor.set(Some(index));
        } else {
            self.anchor.set(Some(index));
            self.open.set(Some(index));
        }
    }

    pub fn toggle(&self, id: &str) {
        self.selected.update(|sel| {
            if !sel.remove(id) {
                sel.insert(id.to_owned());
            }
        });
    }

    pub fn select_all_shown(&self) {
        let ids: Vec<String> = self
            .shown
            .with_untracked(|s| s.iter().map(|i| i.id.clone()).collect());
        self.selected.set(ids.into_iter().collect());
    }

    pub fn selected_items(&self) -> Vec<GalleryItem> {
        let selected = self.selected.get_untracked();
        self.gallery.items.with_untracked(|all| {
            all.iter()
                .filter(|i| selected.contains(&i.id))
                .cloned()
                .collect()
        })
    }

    /// Sets or clears the favorite mark of items.
    pub fn set_favorite(&self, ids: &[String], favorite: bool) {
        self.change(ids, |item| item.favorite = favorite);
    }

    /// Adds items to a named collection.
    pub fn add_to_collection(&self, ids: &[String], name: &str) {
        let name = name.trim().to_owned();
        if name.is_empty() {
            return;
        }
        self.change(ids, move |item| {
            if !item.collections.contains(&name) {
                item.collections.push(name.clone());
            }
        });
    }

    fn change(&self, ids: &[String], edit: impl Fn(&mut GalleryItem)) {
        let changed: Vec<GalleryItem> = self.gallery.items.with_untracked(|all| {
            all.iter()
                .filter(|i| ids.contains(&i.id))
                .map(|i| {
                    let mut item = i.clone();
                    edit(&mut item);
                    item
                })
                .collect()
        });
        let (gallery, message) = (self.gallery, self.message);
        spawn_local(async move {
            if let Err(e) = gallery.update(changed).await {
                message.set(Some(e.to_string()));
            }
        });
    }

    /// Hides items at once and deletes them for good when the undo window passes.
    pub fn delete(&self, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        self.open.set(None);
        self.selected
            .update(|sel| sel.retain(|id| !ids.contains(id)));
        self.deleting
            .update(|waiting| waiting.extend(ids.iter().cloned()));
        let count = ids.len();
        self.message.set(Some(format!(
            "Deleted {count} image{}.",
            if count == 1 { "" } else { "s" }
        )));
        let view = *self;
        set_timeout(move || view.commit(ids), UNDO_WINDOW);
    }

    /// Brings back everything still in its undo window.
    pub fn undo_delete(&self) {
        self.deleting.set(Vec::new());
        self.message.set(None);
    }

    /// Deletes for good those of `ids` still waiting (not undone).
    fn commit(&self, ids: Vec<String>) {
        let waiting: Vec<String> = self
            .deleting
            .with_untracked(|w| ids.into_iter().filter(|id| w.contains(id)).collect());
        if waiting.is_empty() {
            return;
        }
        let (gallery, deleting, message) = (self.gallery, self.deleting, self.message);
        spawn_local(async move {
            let outcome = gallery.delete(waiting.clone()).await;
            deleting.update(|w| w.retain(|id| !waiting.contains(id)));
            match outcome {
                Ok(()) => message.update(|m| {
                    if m.as_deref().is_some_and(|m| m.starts_with("Deleted")) {
                        *m = None;
                    }
                }),
                Err(e) => message.set(Some(format!("Could not delete: {e}"))),
            }
        });
    }
}
