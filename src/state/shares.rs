//! The hosted shares this browser made, kept in `localStorage` (`easel.shares`) with their
//! delete tokens, so they can be deleted later. Nothing else is kept about them.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::storage;

const SHARES_KEY: &str = "easel.shares";
/// The most shares remembered (the oldest are forgotten first).
const MAX_REMEMBERED: usize = 50;

/// A hosted share made here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MadeShare {
    pub id: String,
    /// The link to give out (this app's shared view).
    pub link: String,
    /// The share's API URL on its relay.
    pub url: String,
    pub relay: String,
    pub delete_token: String,
    pub created_ms: u64,
    #[serde(default)]
    pub expires_ms: Option<u64>,
    /// How many images it holds.
    #[serde(default)]
    pub images: usize,
}

/// The list, as a signal kept in step with `localStorage`.
#[derive(Clone, Copy)]
pub struct MadeShares(pub RwSignal<Vec<MadeShare>>);

impl MadeShares {
    /// Reads the list (the share dialog calls this when it opens).
    pub fn load() -> MadeShares {
        let list: Vec<MadeShare> = storage::load_json(SHARES_KEY).unwrap_or_default();
        MadeShares(RwSignal::new(list))
    }

    pub fn add(&self, share: MadeShare) {
        self.0.update(|list| {
            list.retain(|s| s.id != share.id);
            list.insert(0, share);
            list.truncate(MAX_REMEMBERED);
        });
        self.save();
    }

    pub fn forget(&self, id: &str) {
        self.0.update(|list| list.retain(|s| s.id != id));
        self.save();
    }

    fn save(&self) {
        self.0
            .with_untracked(|list| storage::save_json(SHARES_KEY, list));
    }
}
