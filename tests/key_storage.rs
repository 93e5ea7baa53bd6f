//! Where a profile's key is kept, in a real browser with its real storage and WebCrypto: each
//! choice keeps the key where it says and nowhere else, a "reload" (the settings state built
//! again from storage) finds it or not as promised, switching moves it and clears the old
//! place, and an encrypted key never appears in storage in any form.
#![cfg(target_arch = "wasm32")]

use std::any::Any;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use easel::components::{KeyPrompt, KeyStorageChoice};
use easel::state::Settings;
use easel::storage::vault::VaultError;
use easel_core::sealed::{PBKDF2_ITERATIONS, SealedRecord};
use easel_core::{KeyStorage, Mode};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, Event, EventInit, HtmlElement, HtmlInputElement, Storage};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{Within, document, wait_until};

const KEY: &str = "sk-test-Kq81vZpL0sT4wXy7";
const TOKEN: &str = "relay-token-93hf72kd";
const PASSPHRASE: &str = "correct horse battery staple";

fn local() -> Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn session() -> Storage {
    web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap()
}

/// Every `(key, value)` in a storage area.
fn entries(storage: &Storage) -> Vec<(String, String)> {
    (0..storage.length().unwrap())
        .filter_map(|i| storage.key(i).unwrap())
        .map(|k| {
            let v = storage.get_item(&k).unwrap().unwrap_or_default();
            (k, v)
        })
        .collect()
}

/// Whether `secret` is anywhere in the area: as it is, or base64-encoded (standard or URL-safe,
/// at each of the three byte alignments a longer encoded text could put it at).
fn holds(storage: &Storage, secret: &str) -> bool {
    let mut forms = vec![secret.to_owned()];
    for skip in 0..3 {
        let tail = &secret.as_bytes()[skip..];
        // Only the whole groups of three bytes encode the same wherever they sit.
        let whole = &tail[..tail.len() / 3 * 3];
        forms.push(STANDARD.encode(whole));
        forms.push(URL_SAFE_NO_PAD.encode(whole));
    }
    entries(storage).iter().any(|(k, v)| {
        forms
            .iter()
            .any(|f| k.contains(f.as_str()) || v.contains(f.as_str()))
    })
}

/// The settings state with the studio's key prompt and the settings' choice, mounted alone.
/// Dropping it and mounting again is a reload: only what is in storage comes back.
struct Mounted {
    root: HtmlElement,
    settings: Settings,
    handle: Option<Box<dyn Any>>,
}

impl Within for Mounted {
    fn root(&self) -> &Element {
        &self.root
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.handle.take();
        self.root.remove();
    }
}

impl Mounted {
    async fn new() -> Mounted {
        let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
        document().body().unwrap().append_child(&root).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = leptos::mount::mount_to(root.clone(), move || {
            tx.send(Settings::provide()).unwrap();
            view! {
                <div id="studio-part"><KeyPrompt /></div>
                <div id="settings-part"><KeyStorageChoice /></div>
            }
        });
        let settings = rx.recv().unwrap();
        leptos::task::tick().await;
        Mounted {
            root,
            settings,
            handle: Some(Box::new(handle)),
        }
    }

    /// A fresh device: nothing saved anywhere, one Direct profile.
    async fn fresh() -> Mounted {
        local().clear().unwrap();
        session().clear().unwrap();
        let page = Mounted::new().await;
        page.settings.mode.set(Mode::Direct);
        page.settings
            .base_url
            .set("https://api.example.test/v1".into());
        leptos::task::tick().await;
        page
    }

    async fn reload(self) -> Mounted {
        drop(self);
        Mounted::new().await
    }

    async fn set_secrets(&self, key: &str, token: &str) {
        self.settings.api_key.set(key.to_owned());
        self.settings.relay_token.set(token.to_owned());
        leptos::task::tick().await;
    }

    async fn choose(&self, choice: KeyStorage) {
        let radio: HtmlInputElement = self
            .find(&format!("#settings-part #key-storage-{}", choice.name()))
            .unwrap()
            .unchecked_into();
        radio.click();
        leptos::task::tick().await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let input: HtmlInputElement = self.find(css).expect(css).unchecked_into();
        input.set_value(text);
        let init = EventInit::new();
        init.set_bubbles(true);
        input
            .dispatch_event(&Event::new_with_event_init_dict("input", &init).unwrap())
            .unwrap();
        leptos::task::tick().await;
    }

    fn click(&self, css: &str) {
        self.find(css)
            .expect(css)
            .unchecked_into::<HtmlElement>()
            .click();
    }

    fn slot(&self) -> String {
        format!("easel.api-key.{}", self.settings.active.get_untracked())
    }

    fn sealed_slot(&self) -> String {
        format!("easel.sealed-keys.{}", self.settings.active.get_untracked())
    }
}

#[wasm_bindgen_test]
async fn a_new_profile_keeps_its_key_in_memory_only_and_a_reload_forgets_it() {
    let page = Mounted::fresh().await;
    assert_eq!(
        page.settings.key_storage.get_untracked(),
        KeyStorage::Memory
    );
    assert!(
        page.text("#studio-part").contains("Enter your API key"),
        "no key yet: the studio asks"
    );
    page.set_secrets(KEY, TOKEN).await;
    assert!(page.find("#key-prompt").is_none(), "a key: no prompt");
    for (name, area) in [("localStorage", local()), ("sessionStorage", session())] {
        assert!(!holds(&area, KEY), "the key is in {name}");
        assert!(!holds(&area, TOKEN), "the token is in {name}");
    }
    // Kept in the page's memory while it lives: switching profiles and back keeps it.
    let first = page.settings.active.get_untracked();
    page.settings.add(easel_core::Profile::default());
    leptos::task::tick().await;
    assert_eq!(page.settings.api_key.get_untracked(), "");
    page.settings.switch_to(&first);
    leptos::task::tick().await;
    assert_eq!(page.settings.api_key.get_untracked(), KEY);

    let page = page.reload().await;
    assert_eq!(page.settings.mode.get_untracked(), Mode::Direct);
    assert_eq!(
        page.settings.api_key.get_untracked(),
        "",
        "gone after a reload"
    );
    assert_eq!(page.settings.relay_token.get_untracked(), "");
    let prompt = page.text("#studio-part #key-prompt");
    assert!(
        prompt.contains("Enter your API key") && prompt.contains("memory only"),
        "{prompt}"
    );
    // The prompt's own field gives the key back.
    page.type_into("#prompt-api-key", KEY).await;
    page.click("#use-key");
    leptos::task::tick().await;
    assert_eq!(page.settings.api_key.get_untracked(), KEY);
    assert!(page.find("#key-prompt").is_none());
}

#[wasm_bindgen_test]
async fn this_tab_keeps_the_key_in_session_storage_only() {
    let page = Mounted::fresh().await;
    page.choose(KeyStorage::Tab).await;
    page.set_secrets(KEY, TOKEN).await;
    assert_eq!(
        session().get_item(&page.slot()).unwrap().as_deref(),
        Some(KEY)
    );
    assert!(holds(&session(), TOKEN));
    assert!(!holds(&local(), KEY) && !holds(&local(), TOKEN));
    let page = page.reload().await;
    assert_eq!(page.settings.key_storage.get_untracked(), KeyStorage::Tab);
    assert_eq!(page.settings.api_key.get_untracked(), KEY);
    assert_eq!(page.settings.relay_token.get_untracked(), TOKEN);
    assert!(page.find("#key-prompt").is_none());
}

#[wasm_bindgen_test]
async fn this_device_keeps_the_key_in_local_storage_only() {
    let page = Mounted::fresh().await;
    page.choose(KeyStorage::Device).await;
    assert!(page.text("#settings-part").contains("unencrypted"));
    page.set_secrets(KEY, TOKEN).await;
    assert_eq!(
        local().get_item(&page.slot()).unwrap().as_deref(),
        Some(KEY)
    );
    assert!(holds(&local(), TOKEN));
    assert!(!holds(&session(), KEY) && !holds(&session(), TOKEN));
    let saved = local().get_item("easel.profiles").unwrap().unwrap();
    assert!(
        saved.contains("key_storage=device") && !saved.contains(KEY),
        "{saved}"
    );
    let page = page.reload().await;
    assert_eq!(page.settings.api_key.get_untracked(), KEY);
    assert_eq!(page.settings.relay_token.get_untracked(), TOKEN);
}

#[wasm_bindgen_test]
async fn an_encrypted_key_is_never_in_storage_and_unlocks_with_its_passphrase() {
    let page = Mounted::fresh().await;
    page.choose(KeyStorage::Encrypted).await;
    page.set_secrets(KEY, TOKEN).await;
    // No passphrase yet: memory only.
    assert!(!holds(&local(), KEY) && !holds(&session(), KEY));
    assert!(local().get_item(&page.sealed_slot()).unwrap().is_none());
    assert_eq!(
        page.settings
            .encrypt_with("short".into(), "short".into())
            .await,
        Err(VaultError::ShortPassphrase)
    );
    assert_eq!(
        page.settings
            .encrypt_with(PASSPHRASE.into(), "another phrase".into())
            .await,
        Err(VaultError::Mismatch)
    );
    // Through the form, as a person does it.
    page.type_into("#new-passphrase", PASSPHRASE).await;
    page.type_into("#new-passphrase-again", PASSPHRASE).await;
    page.click("#encrypt-key");
    wait_until("the key encrypted", 30, || {
        page.settings.sealed.get_untracked()
    })
    .await;
    let record_text = local().get_item(&page.sealed_slot()).unwrap().unwrap();
    let record = SealedRecord::from_json(&record_text).unwrap();
    assert_eq!(record.iterations, PBKDF2_ITERATIONS);
    assert_eq!((record.salt.len(), record.iv.len()), (16, 12));
    for (name, area) in [("localStorage", local()), ("sessionStorage", session())] {
        for secret in [KEY, TOKEN, PASSPHRASE] {
            assert!(!holds(&area, secret), "{secret} is in {name}");
        }
    }
    assert!(
        !record_text.contains(PASSPHRASE) && !record_text.contains("sk-"),
        "{record_text}"
    );

    // A later edit is encrypted again with a new IV, same salt, without the passphrase.
    let edited = format!("{KEY}-2");
    page.settings.api_key.set(edited.clone());
    wait_until("the edit encrypted", 30, || {
        local().get_item(&page.sealed_slot()).unwrap().as_deref() != Some(record_text.as_str())
    })
    .await;
    let again =
        SealedRecord::from_json(&local().get_item(&page.sealed_slot()).unwrap().unwrap()).unwrap();
    assert_eq!(again.salt, record.salt);
    assert_ne!(again.iv, record.iv, "a new IV for every save");
    assert!(!holds(&local(), &edited));

    // After a reload: locked, and the studio asks for the passphrase.
    let page = page.reload().await;
    assert!(page.settings.locked.get_untracked());
    assert_eq!(page.settings.api_key.get_untracked(), "");
    assert!(
        page.text("#studio-part #key-prompt")
            .contains("Unlock your saved key")
    );
    let stored = local().get_item(&page.sealed_slot()).unwrap();
    page.type_into("#studio-part #unlock-passphrase", "not the passphrase")
        .await;
    page.click("#studio-part #unlock");
    wait_until("the wrong passphrase refused", 30, || {
        page.text("#studio-part #unlock-error")
            .contains("Wrong passphrase")
    })
    .await;
    assert!(page.settings.locked.get_untracked());
    assert_eq!(page.settings.api_key.get_untracked(), "");
    assert_eq!(
        local().get_item(&page.sealed_slot()).unwrap(),
        stored,
        "a wrong passphrase loses nothing"
    );
    // Locked: the key cannot be moved elsewhere unread.
    assert!(!page.settings.choose_storage(KeyStorage::Device));
    assert_eq!(
        page.settings.key_storage.get_untracked(),
        KeyStorage::Encrypted
    );

    page.type_into("#studio-part #unlock-passphrase", PASSPHRASE)
        .await;
    page.click("#studio-part #unlock");
    wait_until("unlocked", 30, || !page.settings.locked.get_untracked()).await;
    assert_eq!(page.settings.api_key.get_untracked(), edited);
    assert_eq!(page.settings.relay_token.get_untracked(), TOKEN);
    leptos::task::tick().await;
    assert!(page.find("#key-prompt").is_none(), "unlocked: no prompt");
    assert!(!holds(&local(), &edited) && !holds(&session(), &edited));

    // Forget removes the record; the next reload has nothing to unlock.
    page.click("#settings-part #forget-sealed");
    leptos::task::tick().await;
    assert!(local().get_item(&page.sealed_slot()).unwrap().is_none());
    assert_eq!(page.settings.api_key.get_untracked(), "");
    let page = page.reload().await;
    assert!(!page.settings.locked.get_untracked());
    assert!(
        page.text("#studio-part #key-prompt")
            .contains("Enter your API key")
    );
}

#[wasm_bindgen_test]
async fn switching_choices_moves_the_key_and_clears_the_old_place() {
    let page = Mounted::fresh().await;
    page.choose(KeyStorage::Device).await;
    page.set_secrets(KEY, TOKEN).await;
    assert!(holds(&local(), KEY));

    page.choose(KeyStorage::Tab).await;
    assert!(!holds(&local(), KEY) && !holds(&local(), TOKEN));
    assert!(holds(&session(), KEY) && holds(&session(), TOKEN));

    page.choose(KeyStorage::Memory).await;
    assert!(!holds(&local(), KEY) && !holds(&session(), KEY));
    assert!(!holds(&session(), TOKEN));
    assert_eq!(
        page.settings.api_key.get_untracked(),
        KEY,
        "still in memory"
    );

    page.choose(KeyStorage::Encrypted).await;
    page.settings
        .encrypt_with(PASSPHRASE.into(), PASSPHRASE.into())
        .await
        .unwrap();
    assert!(local().get_item(&page.sealed_slot()).unwrap().is_some());
    assert!(!holds(&local(), KEY) && !holds(&session(), KEY));

    page.choose(KeyStorage::Device).await;
    assert!(
        local().get_item(&page.sealed_slot()).unwrap().is_none(),
        "the record goes with the choice"
    );
    assert!(!page.settings.sealed.get_untracked());
    assert_eq!(
        local().get_item(&page.slot()).unwrap().as_deref(),
        Some(KEY)
    );
    assert!(!holds(&session(), KEY));

    // And back to encrypted: the plain copy goes as soon as the choice changes.
    page.choose(KeyStorage::Encrypted).await;
    assert!(!holds(&local(), KEY));
    let page = page.reload().await;
    assert_eq!(
        page.settings.key_storage.get_untracked(),
        KeyStorage::Encrypted
    );
    assert!(
        !page.settings.locked.get_untracked(),
        "no passphrase was chosen: nothing to unlock"
    );
    assert_eq!(page.settings.api_key.get_untracked(), "");
}
