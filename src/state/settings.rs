//! Connection settings, as named profiles (see `easel_core::backend::Profile`): the signals
//! below are the profile in use, as edited; the list holds every profile. Profiles are saved in
//! `localStorage` without their secrets; each profile's API key and relay token are kept apart,
//! in this tab's session or on this device as the profile chooses.
//!
//! Settings saved before profiles existed (`easel.settings`, `easel.api-key`) become the first
//! profile on the first load, secrets included.

use easel_core::backend::{LEGACY_API_KEY_SLOT, LEGACY_RELAY_TOKEN_SLOT, LegacySettings, Secret};
use easel_core::{AuthStyle, Backend, Deployment, KeyStorage, Mode, Profile, Profiles};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::storage::{self, Area};

/// Settings that are not per profile (and, before profiles, all of them).
const SETTINGS_KEY: &str = "easel.settings";
const PROFILES_KEY: &str = "easel.profiles";

/// What `easel.settings` holds now.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Stored {
    /// US dollars a day before Easel asks for confirmation.
    daily_budget: Option<f64>,
}

#[derive(Clone, Copy)]
pub struct Settings {
    /// Every saved profile (the active one kept in step with the signals below).
    pub profiles: RwSignal<Vec<Profile>>,
    /// The id of the profile in use.
    pub active: RwSignal<String>,
    pub name: RwSignal<String>,
    pub mode: RwSignal<Mode>,
    pub relay_url: RwSignal<String>,
    pub relay_token: RwSignal<String>,
    pub base_url: RwSignal<String>,
    pub auth: RwSignal<AuthStyle>,
    pub key_header: RwSignal<String>,
    pub azure_deployment: RwSignal<String>,
    pub azure_api_version: RwSignal<String>,
    pub api_key: RwSignal<String>,
    pub organization: RwSignal<String>,
    pub project: RwSignal<String>,
    /// Keep this profile's secrets on this device rather than for this tab's session.
    pub remember_key: RwSignal<bool>,
    /// The model the studio switches to with this profile; empty: keep the current one.
    pub default_model: RwSignal<String>,
    pub daily_budget: RwSignal<Option<f64>>,
}

impl Settings {
    /// Loads the saved profiles (migrating older settings) and keeps saving them as they change.
    pub fn provide() -> Settings {
        let stored: Stored = storage::load_json(SETTINGS_KEY).unwrap_or_default();
        let profiles = load_profiles().normalized();
        let active = profiles.active().clone();
        let settings = Settings {
            profiles: RwSignal::new(profiles.list.clone()),
            active: RwSignal::new(active.id.clone()),
            name: RwSignal::new(String::new()),
            mode: RwSignal::new(Mode::Relay),
            relay_url: RwSignal::new(String::new()),
            relay_token: RwSignal::new(String::new()),
            base_url: RwSignal::new(String::new()),
            auth: RwSignal::new(AuthStyle::Bearer),
            key_header: RwSignal::new(String::new()),
            azure_deployment: RwSignal::new(String::new()),
            azure_api_version: RwSignal::new(String::new()),
            api_key: RwSignal::new(String::new()),
            organization: RwSignal::new(String::new()),
            project: RwSignal::new(String::new()),
            remember_key: RwSignal::new(false),
            default_model: RwSignal::new(String::new()),
            daily_budget: RwSignal::new(stored.daily_budget),
        };
        settings.load(&active);
        Effect::new(move |_| settings.commit(settings.edited()));
        Effect::new(move |_| {
            let stored = Stored {
                daily_budget: settings.daily_budget.get(),
            };
            storage::save_json(SETTINGS_KEY, &stored);
        });
        provide_context(settings);
        settings
    }

    /// The profile in use as its signals say now (tracked).
    #[inline(never)]
    fn edited(&self) -> Profile {
        let relay_url = self.relay_url.get();
        Profile {
            id: self.active.get(),
            name: self.name.get(),
            mode: self.mode.get(),
            // The page's own origin is the default: don't pin it, so a moved deployment works.
            relay_url: (relay_url != page_origin()).then_some(relay_url),
            base_url: self.base_url.get(),
            auth: self.auth.get(),
            key_header: self.key_header.get(),
            azure_deployment: self.azure_deployment.get(),
            azure_api_version: self.azure_api_version.get(),
            organization: self.organization.get(),
            project: self.project.get(),
            key_storage: if self.remember_key.get() {
                KeyStorage::Remembered
            } else {
                KeyStorage::Session
            },
            default_model: Some(self.default_model.get()).filter(|m| !m.trim().is_empty()),
        }
    }

    /// Saves the edited profile into the list, its secrets to their storage and the list to
    /// `localStorage`.
    #[inline(never)]
    fn commit(&self, profile: Profile) {
        self.save_secrets(&profile);
        self.profiles.update(|list| {
            if let Some(slot) = list.iter_mut().find(|p| p.id == profile.id) {
                *slot = profile;
            }
        });
        self.persist();
    }

    /// Commits edits not yet saved (effects run later), before another profile is loaded.
    /// Called from event handlers, where reading signals tracks nothing; one shared copy of
    /// the code with the effect (an `untrack` closure would inline a second, ~12 KB).
    fn commit_now(&self) {
        self.commit(self.edited());
    }

    /// Puts `profile` and its secrets into the signals.
    fn load(&self, profile: &Profile) {
        self.active.set(profile.id.clone());
        self.name.set(profile.name.clone());
        self.mode.set(profile.mode);
        self.relay_url
            .set(profile.relay_url.clone().unwrap_or_else(page_origin));
        self.base_url.set(profile.base_url.clone());
        self.auth.set(profile.auth);
        self.key_header.set(profile.key_header.clone());
        self.azure_deployment.set(profile.azure_deployment.clone());
        self.azure_api_version
            .set(profile.azure_api_version.clone());
        self.organization.set(profile.organization.clone());
        self.project.set(profile.project.clone());
        self.remember_key
            .set(profile.key_storage == KeyStorage::Remembered);
        self.default_model
            .set(profile.default_model.clone().unwrap_or_default());
        self.api_key.set(load_secret(profile, Secret::ApiKey));
        self.relay_token
            .set(load_secret(profile, Secret::RelayToken));
    }

    /// Writes the active profile's secrets where it keeps them, and nowhere else.
    fn save_secrets(&self, profile: &Profile) {
        let (api_key, relay_token) = (self.api_key.get(), self.relay_token.get());
        let (keep, drop) = match profile.key_storage {
            KeyStorage::Remembered => (Area::Device, Area::Session),
            KeyStorage::Session => (Area::Session, Area::Device),
        };
        for (secret, value) in [(Secret::ApiKey, api_key), (Secret::RelayToken, relay_token)] {
            let slot = profile.secret_slot(secret);
            storage::remove_in(drop, &slot);
            if value.is_empty() {
                storage::remove_in(keep, &slot);
            } else {
                storage::save_text_in(keep, &slot, &value);
            }
        }
    }

    fn persist(&self) {
        let profiles = Profiles {
            list: self.profiles.get_untracked(),
            active: self.active.get_untracked(),
        };
        storage::save_text(PROFILES_KEY, &profiles.to_text());
    }

    /// A new visitor's profiles from the host's `config.json` (see `crate::site`), when the
    /// saved ones are still the built-in default. Returns the model the host chose, for the
    /// studio to start with. A config that cannot be used is reported on the console for the
    /// host, and the built-in defaults stay.
    pub async fn adopt_deployment(&self) -> Option<String> {
        let untouched = || {
            self.profiles
                .with_untracked(|list| *list == Profiles::default().list)
        };
        if !untouched() {
            return None;
        }
        let config = match Deployment::from_json(&crate::site::deployment().await?) {
            Ok(config) => config,
            Err(problem) => {
                leptos::logging::warn!("{problem}; using the built-in defaults");
                return None;
            }
        };
        let profiles = config.profiles();
        if !untouched() || profiles == Profiles::default() {
            return None;
        }
        self.profiles.set(profiles.list.clone());
        self.load(profiles.active());
        self.persist();
        config.model
    }

    /// Makes the profile `id` the one in use. Returns its default model, if it names one.
    pub fn switch_to(&self, id: &str) -> Option<String> {
        self.commit_now();
        let profile = self
            .profiles
            .with_untracked(|list| list.iter().find(|p| p.id == id).cloned())?;
        self.load(&profile);
        profile.default_model
    }

    /// Adds a profile (a copy of `template` under a new id) and switches to it.
    pub fn add(&self, template: Profile) {
        self.commit_now();
        let id = self.profiles.with_untracked(|list| {
            Profiles {
                list: list.clone(),
                active: String::new(),
            }
            .fresh_id()
        });
        let profile = Profile { id, ..template };
        self.profiles.update(|list| list.push(profile.clone()));
        self.load(&profile);
    }

    /// Deletes a profile and its secrets, unless it is the last one.
    pub fn remove(&self, id: &str) {
        self.commit_now();
        let mut profiles = Profiles {
            list: self.profiles.get_untracked(),
            active: self.active.get_untracked(),
        };
        let Some(gone) = profiles.list.iter().find(|p| p.id == id).cloned() else {
            return;
        };
        if !profiles.remove(id) {
            return;
        }
        for secret in [Secret::ApiKey, Secret::RelayToken] {
            for place in [Area::Session, Area::Device] {
                storage::remove_in(place, &gone.secret_slot(secret));
            }
        }
        let next = profiles.active().clone();
        self.profiles.set(profiles.list);
        if self.active.get_untracked() == id {
            self.load(&next);
        }
        self.persist();
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
            auth: self.auth.get(),
            key_header: self.key_header.get(),
            azure_deployment: self.azure_deployment.get(),
            azure_api_version: self.azure_api_version.get(),
        }
    }
}

/// The saved profiles; on the first load after the update, the older settings as the first
/// profile, their remembered secrets moved to its slots.
fn load_profiles() -> Profiles {
    if let Some(profiles) = storage::load_text(PROFILES_KEY).and_then(|t| Profiles::from_text(&t)) {
        return profiles;
    }
    let Some(legacy) = storage::load_text(SETTINGS_KEY).and_then(|t| LegacySettings::from_json(&t))
    else {
        return Profiles::default();
    };
    let profiles = Profiles::from_legacy(&legacy);
    let first = profiles.active();
    for (old, secret) in [
        (LEGACY_API_KEY_SLOT, Secret::ApiKey),
        (LEGACY_RELAY_TOKEN_SLOT, Secret::RelayToken),
    ] {
        if let Some(value) = storage::load_text(old).filter(|_| legacy.remember_key) {
            storage::save_text_in(Area::Device, &first.secret_slot(secret), &value);
        }
        storage::remove(old);
    }
    storage::save_text(PROFILES_KEY, &profiles.to_text());
    profiles
}

fn load_secret(profile: &Profile, secret: Secret) -> String {
    let place = match profile.key_storage {
        KeyStorage::Remembered => Area::Device,
        KeyStorage::Session => Area::Session,
    };
    storage::load_text_in(place, &profile.secret_slot(secret)).unwrap_or_default()
}

/// `http://127.0.0.1:8080` when served by a relay: the default relay address.
fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}
