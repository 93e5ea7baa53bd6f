//! Small preferences in `localStorage`. Storage can be missing or full (private modes,
//! quotas): reads then give `None` and writes are dropped, never a panic.

use serde::{Serialize, de::DeserializeOwned};
use web_sys::Storage;

fn local() -> Option<Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

pub fn load_text(key: &str) -> Option<String> {
    local()?.get_item(key).ok().flatten()
}

pub fn save_text(key: &str, value: &str) {
    if let Some(storage) = local() {
        let _ = storage.set_item(key, value);
    }
}

pub fn remove(key: &str) {
    if let Some(storage) = local() {
        let _ = storage.remove_item(key);
    }
}

pub fn load_json<T: DeserializeOwned>(key: &str) -> Option<T> {
    serde_json::from_str(&load_text(key)?).ok()
}

pub fn save_json<T: Serialize>(key: &str, value: &T) {
    if let Ok(text) = serde_json::to_string(value) {
        save_text(key, &text);
    }
}

/// `sessionStorage`: kept for this tab until it closes, then gone.
fn session() -> Option<Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Where a secret is kept: this tab's session, or this device (`localStorage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Session,
    Device,
}

fn area(area: Area) -> Option<Storage> {
    match area {
        Area::Session => session(),
        Area::Device => local(),
    }
}

pub fn load_text_in(place: Area, key: &str) -> Option<String> {
    area(place)?.get_item(key).ok().flatten()
}

pub fn save_text_in(place: Area, key: &str, value: &str) {
    if let Some(storage) = area(place) {
        let _ = storage.set_item(key, value);
    }
}

pub fn remove_in(place: Area, key: &str) {
    if let Some(storage) = area(place) {
        let _ = storage.remove_item(key);
    }
}
