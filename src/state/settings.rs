//! Connection settings, as named profiles (see `easel_core::backend::Profile`): the signals
//! below are the profile in use, as edited; the list holds every profile. Profiles are saved in
//! `localStorage` without their secrets; each profile's API key and relay token are kept apart,
//! where the profile chooses (`KeyStorage`): in this page's memory only, in this tab's
//! `sessionStorage`, in `localStorage`, or in `localStorage` encrypted with a passphrase
//! (`storage::vault`). Changing the choice moves the secrets and clears the old place.
//!
//! Settings saved before profiles existed (`easel.settings`, `easel.api-key`) become the first
//! profile on the first load, secrets included.

use easel_core::backend::{LEGACY_API_KEY_SLOT, LEGACY_RELAY_TOKEN_SLOT, LegacySettings, Secret};
use easel_core::sealed::SealedSecrets;
use easel_core::{AuthStyle, Backend, Deployment, KeyStorage, Mode, Profile, Profiles};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::storage::vault::{self, Sealer, VaultError};
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
    /// Where this profile's secrets are kept.
    pub key_storage: RwSignal<KeyStorage>,
    /// The profile keeps its secrets encrypted, and they are not unlocked yet in this page:
    /// the studio and the settings ask for the passphrase.
    pub locked: RwSignal<bool>,
    /// The profile's secrets are saved encrypted, with a passphrase given in this page (so
    /// later edits are encrypted too). Encrypted but not sealed: no passphrase chosen yet, the
    /// secrets are in memory only.
    pub sealed: RwSignal<bool>,
    /// Secrets kept in the page's memory (memory-only profiles, unlocked encrypted ones), by
    /// slot. Part of this state, so they go with it (a reload).
    memory: StoredValue<Vec<(String, String)>>,
    /// Keys derived from passphrases in this page, by profile id, with what they last sealed.
    sealers: StoredValue<Vec<(String, Sealer, SealedSecrets)>, LocalStorage>,
    /// Counts encryptions, so a slower earlier one never overwrites a later record.
    seal_runs: StoredValue<u32>,
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
            key_storage: RwSignal::new(KeyStorage::Memory),
            locked: RwSignal::new(false),
            sealed: RwSignal::new(false),
            memory: StoredValue::new(Vec::new()),
            sealers: StoredValue::new_local(Vec::new()),
            seal_runs: StoredValue::new(0),
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
            key_storage: self.key_storage.get(),
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
        self.key_storage.set(profile.key_storage);
        self.default_model
            .set(profile.default_model.clone().unwrap_or_default());
        self.api_key.set(self.load_secret(profile, Secret::ApiKey));
        self.relay_token
            .set(self.load_secret(profile, Secret::RelayToken));
        let sealed = self.sealer(&profile.id).is_some();
        self.sealed.set(sealed);
        self.locked.set(
            profile.key_storage == KeyStorage::Encrypted
                && !sealed
                && storage::load_text_in(Area::Device, &profile.sealed_slot()).is_some(),
        );
    }

    fn load_secret(&self, profile: &Profile, secret: Secret) -> String {
        let slot = profile.secret_slot(secret);
        match place_of(profile.key_storage) {
            Some(area) => storage::load_text_in(area, &slot),
            None => self.memory.with_value(|kept| {
                kept.iter()
                    .find(|(s, _)| *s == slot)
                    .map(|(_, v)| v.clone())
            }),
        }
        .unwrap_or_default()
    }

    /// Writes the active profile's secrets where it keeps them, and clears every other place.
    fn save_secrets(&self, profile: &Profile) {
        let (api_key, relay_token) = (self.api_key.get(), self.relay_token.get());
        let keep = place_of(profile.key_storage);
        for (secret, value) in [
            (Secret::ApiKey, api_key.clone()),
            (Secret::RelayToken, relay_token.clone()),
        ] {
            let slot = profile.secret_slot(secret);
            for area in [Area::Session, Area::Device] {
                if Some(area) == keep && !value.is_empty() {
                    storage::save_text_in(area, &slot, &value);
                } else {
                    storage::remove_in(area, &slot);
                }
            }
            self.memory.update_value(|kept| {
                kept.retain(|(s, _)| *s != slot);
                if keep.is_none() && !value.is_empty() {
                    kept.push((slot, value));
                }
            });
        }
        if profile.key_storage != KeyStorage::Encrypted {
            // A locked record is never dropped unread (the settings refuse the switch).
            if !self.locked.get_untracked() {
                self.drop_sealed(&profile.id, &profile.sealed_slot());
            }
            return;
        }
        let secrets = SealedSecrets {
            api_key,
            relay_token,
        };
        if let Some((sealer, last)) = self.sealer(&profile.id)
            && last != secrets
        {
            self.reseal(profile, sealer, secrets);
        }
    }

    fn sealer(&self, id: &str) -> Option<(Sealer, SealedSecrets)> {
        self.sealers.with_value(|all| {
            all.iter()
                .find(|(i, ..)| i == id)
                .map(|(_, s, last)| (s.clone(), last.clone()))
        })
    }

    fn keep_sealer(&self, id: &str, sealer: Sealer, secrets: SealedSecrets) {
        self.sealers.update_value(|all| {
            all.retain(|(i, ..)| i != id);
            all.push((id.to_owned(), sealer, secrets));
        });
    }

    fn drop_sealed(&self, id: &str, slot: &str) {
        self.sealers
            .update_value(|all| all.retain(|(i, ..)| i != id));
        storage::remove_in(Area::Device, slot);
        if self.active.get_untracked() == id {
            self.sealed.set(false);
        }
    }

    /// Encrypts changed secrets with the key already derived (a new IV; no passphrase).
    fn reseal(&self, profile: &Profile, sealer: Sealer, secrets: SealedSecrets) {
        let settings = *self;
        let (id, slot) = (profile.id.clone(), profile.sealed_slot());
        let run = self.seal_runs.get_value().wrapping_add(1);
        self.seal_runs.set_value(run);
        leptos::task::spawn_local(async move {
            let sealed = vault::seal(Some(sealer), String::new(), secrets.clone()).await;
            // `try_`: the state may be gone by now (a test's remount), then nothing is written.
            let current = settings.seal_runs.try_get_value() == Some(run)
                && settings.sealer(&id).is_some()
                && settings.profiles.with_untracked(|list| {
                    list.iter()
                        .any(|p| p.id == id && p.key_storage == KeyStorage::Encrypted)
                });
            match sealed {
                Ok((sealer, record)) if current => {
                    storage::save_text_in(Area::Device, &slot, &record);
                    settings.keep_sealer(&id, sealer, secrets);
                }
                Ok(_) => {}
                Err(e) => leptos::logging::warn!("the key could not be encrypted: {e}"),
            }
        });
    }

    /// Chooses where the profile in use keeps its secrets; they move there when the change is
    /// saved. Refused while an encrypted record is locked: it would be lost unread.
    pub fn choose_storage(&self, choice: KeyStorage) -> bool {
        if self.locked.get_untracked() && choice != KeyStorage::Encrypted {
            return false;
        }
        self.key_storage.set(choice);
        true
    }

    /// Encrypts the profile's secrets with a new passphrase and saves the record on this
    /// device.
    pub async fn encrypt_with(&self, passphrase: String, again: String) -> Result<(), VaultError> {
        if passphrase != again {
            return Err(VaultError::Mismatch);
        }
        self.commit_now();
        let profile = self.edited_untracked();
        let secrets = SealedSecrets {
            api_key: self.api_key.get_untracked(),
            relay_token: self.relay_token.get_untracked(),
        };
        let (sealer, record) = vault::seal(None, passphrase, secrets.clone()).await?;
        if self.active.get_untracked() != profile.id
            || self.key_storage.get_untracked() != KeyStorage::Encrypted
        {
            return Ok(());
        }
        storage::save_text_in(Area::Device, &profile.sealed_slot(), &record);
        self.keep_sealer(&profile.id, sealer, secrets);
        self.sealed.set(true);
        // Edits typed while the key was derived are encrypted now.
        self.commit_now();
        Ok(())
    }

    /// Opens the profile's encrypted record with its passphrase. A wrong one changes nothing.
    pub async fn unlock(&self, passphrase: String) -> Result<(), VaultError> {
        let profile = self.edited_untracked();
        let Some(record) = storage::load_text_in(Area::Device, &profile.sealed_slot()) else {
            self.locked.set(false);
            return Ok(());
        };
        let opened = vault::open(record, passphrase).await?;
        self.keep_sealer(&profile.id, opened.sealer, opened.secrets.clone());
        for (secret, value) in [
            (Secret::ApiKey, &opened.secrets.api_key),
            (Secret::RelayToken, &opened.secrets.relay_token),
        ] {
            let slot = profile.secret_slot(secret);
            self.memory.update_value(|kept| {
                kept.retain(|(s, _)| *s != slot);
                kept.push((slot, value.clone()));
            });
        }
        if self.active.get_untracked() == profile.id {
            self.locked.set(false);
            self.sealed.set(true);
            self.api_key.set(opened.secrets.api_key);
            self.relay_token.set(opened.secrets.relay_token);
        }
        Ok(())
    }

    /// Removes the profile's encrypted record from this device, and its secrets from the page.
    pub fn forget_sealed(&self) {
        let profile = self.edited_untracked();
        self.locked.set(false);
        self.drop_sealed(&profile.id, &profile.sealed_slot());
        self.api_key.set(String::new());
        self.relay_token.set(String::new());
    }

    fn edited_untracked(&self) -> Profile {
        untrack(|| self.edited())
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
            let slot = gone.secret_slot(secret);
            for place in [Area::Session, Area::Device] {
                storage::remove_in(place, &slot);
            }
            self.memory
                .update_value(|kept| kept.retain(|(s, _)| *s != slot));
        }
        self.sealers
            .update_value(|all| all.retain(|(i, ..)| *i != gone.id));
        storage::remove_in(Area::Device, &gone.sealed_slot());
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

/// Where a choice keeps secrets in plain text; `None`: the page's memory (an encrypted
/// profile's record is kept apart, under its sealed slot).
fn place_of(choice: KeyStorage) -> Option<Area> {
    match choice {
        KeyStorage::Tab => Some(Area::Session),
        KeyStorage::Device => Some(Area::Device),
        KeyStorage::Memory | KeyStorage::Encrypted => None,
    }
}

/// `http://127.0.0.1:8080` when served by a relay: the default relay address.
fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}
