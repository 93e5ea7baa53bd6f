//! Connection settings. Everything but the secrets (the API key and the relay's access token)
//! is remembered in `localStorage`; the secrets stay in memory unless the user asks to remember
//! them on this device.

use easel_core::backend::OPENAI_BASE_URL;
use easel_core::{Backend, Mode};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::storage;

const SETTINGS_KEY: &str = "easel.settings";
const API_KEY_KEY: &str = "easel.api-key";
const RELAY_TOKEN_KEY: &str = "easel.relay-token";

/// What is written to `localStorage` (never the key).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Stored {
    mode: Mode,
    relay_url: Option<String>,
    base_url: Option<String>,
    organization: String,
    project: String,
    remember_key: bool,
    /// US dollars a day before Easel asks for confirmation.
    daily_budget: Option<f64>,
}

#[derive(Clone, Copy)]
pub struct Settings {
    pub mode: RwSignal<Mode>,
    pub relay_url: RwSignal<String>,
    pub relay_token: RwSignal<String>,
    pub base_url: RwSignal<String>,
    pub api_key: RwSignal<String>,
    pub organization: RwSignal<String>,
    pub project: RwSignal<String>,
    pub remember_key: RwSignal<bool>,
    pub daily_budget: RwSignal<Option<f64>>,
}

impl Settings {
    /// Loads the saved settings and keeps saving them as they change.
    pub fn provide() -> Settings {
        let stored: Stored = storage::load_json(SETTINGS_KEY).unwrap_or_default();
        let remembered = |key| {
            if stored.remember_key {
                storage::load_text(key).unwrap_or_default()
            } else {
                String::new()
            }
        };
        let settings = Settings {
            mode: RwSignal::new(stored.mode),
            relay_url: RwSignal::new(stored.relay_url.clone().unwrap_or_else(page_origin)),
            relay_token: RwSignal::new(remembered(RELAY_TOKEN_KEY)),
            base_url: RwSignal::new(
                stored
                    .base_url
                    .unwrap_or_else(|| OPENAI_BASE_URL.to_owned()),
            ),
            api_key: RwSignal::new(remembered(API_KEY_KEY)),
            organization: RwSignal::new(stored.organization),
            project: RwSignal::new(stored.project),
            remember_key: RwSignal::new(stored.remember_key),
            daily_budget: RwSignal::new(stored.daily_budget),
        };
        Effect::new(move |_| settings.save());
        provide_context(settings);
        settings
    }

    fn save(&self) {
        let relay_url = self.relay_url.get();
        let base_url = self.base_url.get();
        let stored = Stored {
            mode: self.mode.get(),
            // The page's own origin is the default: don't pin it, so a moved deployment works.
            relay_url: (relay_url != page_origin()).then_some(relay_url),
            base_url: (base_url != OPENAI_BASE_URL).then_some(base_url),
            organization: self.organization.get(),
            project: self.project.get(),
            remember_key: self.remember_key.get(),
            daily_budget: self.daily_budget.get(),
        };
        storage::save_json(SETTINGS_KEY, &stored);
        for (key, secret) in [
            (API_KEY_KEY, self.api_key.get()),
            (RELAY_TOKEN_KEY, self.relay_token.get()),
        ] {
            if stored.remember_key && !secret.is_empty() {
                storage::save_text(key, &secret);
            } else {
                storage::remove(key);
            }
        }
    }

    /// The settings as they are now, for one request.
    pub fn backend(&self) -> Backend {
        Backend {
            mode: self.mode.get(),
            relay_url: self.relay_url.get(),
            relay_token: self.relay_token.get(),
            base_url: self.base_url.get(),
            api_key: self.api_key.get(),
            organization: self.organization.get(),
            project: self.project.get(),
        }
    }
}

/// `http://127.0.0.1:8080` when served by a relay: the default relay address.
fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}
