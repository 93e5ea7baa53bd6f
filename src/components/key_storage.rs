//! Where a profile's key is kept, and the forms that ask for what a reload took away: the
//! passphrase of an encrypted key, or a key kept in memory only.
//!
//! The studio's prompt ([`KeyPrompt`]) is small; its form and everything it calls (WebCrypto
//! included) are in the settings chunk in release builds, fetched only when a key is missing.

use easel_core::sealed::PBKDF2_ITERATIONS;
use easel_core::{KeyStorage, Mode};
use leptos::prelude::*;

use crate::state::Settings;

/// In the studio: asks for the passphrase of a locked key, or for a key the profile needs
/// and does not have (a memory-only key is gone after a reload), instead of failing later.
#[component]
pub fn KeyPrompt() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let needed = Memo::new(move |_| {
        settings.locked.get()
            || (settings.mode.get() == Mode::Direct
                && settings.api_key.with(|k| k.trim().is_empty()))
    });
    let form = RwSignal::new(None::<fn() -> AnyView>);
    Effect::new(move |_| {
        if !needed.get() || form.get_untracked().is_some() {
            return;
        }
        #[cfg(easel_split)]
        leptos::task::spawn_local(async move {
            // Without the chunk, the prompt form's own line still says what is missing.
            if let Ok(view) = easel_key_prompt().await {
                form.set(Some(view));
            }
        });
        #[cfg(not(easel_split))]
        form.set(Some(key_prompt_view));
    });
    move || needed.get().then(|| form.get().map(|view| view()))
}

#[cfg(easel_split)]
#[leptos::wasm_split::wasm_split(easel_settings, wasm_split_path = ::leptos::wasm_split, fallible)]
fn easel_key_prompt() -> Result<fn() -> AnyView, leptos::wasm_split::SplitLoaderError> {
    Ok(key_prompt_view)
}

fn key_prompt_view() -> AnyView {
    view! { <KeyPromptForm /> }.into_any()
}

#[component]
fn KeyPromptForm() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let key = RwSignal::new(String::new());
    let name = move || settings.name.get();
    let entered = move || {
        let typed = key.get_untracked();
        if !typed.trim().is_empty() {
            settings.api_key.set(typed.trim().to_owned());
        }
    };
    move || {
        if settings.locked.get() {
            return view! {
                <section id="key-prompt" class="banner key-prompt" aria-labelledby="key-prompt-title">
                    <h2 id="key-prompt-title">"Unlock your saved key"</h2>
                    <p>"The secrets of “" {name} "” are saved encrypted on this device. Enter the passphrase to use them."</p>
                    <UnlockForm />
                </section>
            }
            .into_any();
        }
        let why = match settings.key_storage.get() {
            KeyStorage::Memory => {
                " keeps its key in memory only, so a reload clears it. Enter it again, or choose \
                 in Settings to keep it for this tab or on this device."
            }
            KeyStorage::Encrypted => {
                " keeps its key encrypted on this device, but none is saved yet. Enter it here \
                 and choose a passphrase in Settings."
            }
            KeyStorage::Tab | KeyStorage::Device => " needs an API key to generate.",
        };
        view! {
            <section id="key-prompt" class="banner key-prompt" aria-labelledby="key-prompt-title">
                <h2 id="key-prompt-title">"Enter your API key"</h2>
                <p>"“" {name} "”" {why}</p>
                <form class="key-row" on:submit=move |ev| { ev.prevent_default(); entered(); }>
                    <label class="visually-hidden" for="prompt-api-key">"API key"</label>
                    <input id="prompt-api-key" type="password" autocomplete="off" spellcheck="false"
                        placeholder="sk-…"
                        prop:value=move || key.get()
                        on:input:target=move |ev| key.set(ev.target().value()) />
                    <button type="submit" id="use-key">"Use this key"</button>
                </form>
                <p class="hint">"Sent only to " {move || settings.base_url.get()} ", in a header."</p>
            </section>
        }
        .into_any()
    }
}

/// The passphrase that opens a saved encrypted key. A wrong one says so and changes nothing;
/// forgetting removes the saved record.
#[component]
fn UnlockForm() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let passphrase = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let unlock = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        message.set(None);
        leptos::task::spawn_local(async move {
            let result = settings.unlock(passphrase.get_untracked()).await;
            busy.set(false);
            match result {
                Ok(()) => passphrase.set(String::new()),
                Err(e) => message.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <form class="key-row" on:submit=move |ev| { ev.prevent_default(); unlock(); }>
            <label class="visually-hidden" for="unlock-passphrase">"Passphrase"</label>
            <input id="unlock-passphrase" type="password" autocomplete="current-password"
                placeholder="Passphrase"
                prop:value=move || passphrase.get()
                on:input:target=move |ev| passphrase.set(ev.target().value()) />
            <button type="submit" id="unlock" prop:disabled=move || busy.get()>
                {move || if busy.get() { "Unlocking…" } else { "Unlock" }}
            </button>
            <button type="button" id="forget-sealed" class="danger"
                on:click=move |_| settings.forget_sealed()>
                "Forget the saved key"
            </button>
        </form>
        <p id="unlock-error" class="problem" role="alert">{move || message.get()}</p>
    }
}

/// A new passphrase (typed twice) that encrypts the key on this device.
#[component]
fn EncryptForm() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let first = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let encrypt = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        message.set(None);
        leptos::task::spawn_local(async move {
            let result = settings
                .encrypt_with(first.get_untracked(), again.get_untracked())
                .await;
            busy.set(false);
            match result {
                Ok(()) => {
                    first.set(String::new());
                    again.set(String::new());
                }
                Err(e) => message.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <form class="encrypt-form" on:submit=move |ev| { ev.prevent_default(); encrypt(); }>
            <label class="field" for="new-passphrase">"Passphrase"</label>
            <input id="new-passphrase" type="password" autocomplete="new-password"
                prop:value=move || first.get()
                on:input:target=move |ev| first.set(ev.target().value()) />
            <label class="field" for="new-passphrase-again">"The same passphrase again"</label>
            <input id="new-passphrase-again" type="password" autocomplete="new-password"
                prop:value=move || again.get()
                on:input:target=move |ev| again.set(ev.target().value()) />
            <p><button type="submit" id="encrypt-key" prop:disabled=move || busy.get()>
                {move || if busy.get() { "Encrypting…" } else { "Encrypt and save" }}
            </button></p>
        </form>
        <p id="encrypt-error" class="problem" role="alert">{move || message.get()}</p>
    }
}

/// The four places a profile's secrets can be kept, what each risks, and for the encrypted
/// one the passphrase forms.
#[component]
pub fn KeyStorageChoice() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let choice = move || settings.key_storage.get();
    let options = KeyStorage::ALL.map(|option| {
        view! {
            <label class="choice">
                <input type="radio" name="key-storage" id=format!("key-storage-{}", option.name())
                    prop:checked=move || choice() == option
                    prop:disabled=move || settings.locked.get() && option != KeyStorage::Encrypted
                    on:change=move |_| { settings.choose_storage(option); } />
                <span>{option.label()}</span>
            </label>
        }
    });
    view! {
        <fieldset class="key-storage">
            <legend>"Where Easel keeps it"</legend>
            {options.into_iter().collect_view()}
            {move || match choice() {
                KeyStorage::Memory => view! {
                    <p class="hint" id="key-storage-note">"Kept only while this page is open: a reload forgets it, and the studio asks for it again."</p>
                }.into_any(),
                KeyStorage::Tab => view! {
                    <p class="hint" id="key-storage-note">"Kept for this tab: it survives a reload, closing the tab forgets it."</p>
                }.into_any(),
                KeyStorage::Device => view! {
                    <p class="warning" id="key-storage-note">"Stored unencrypted in this browser: anyone with access to this device or a malicious script on this page could read it."</p>
                }.into_any(),
                KeyStorage::Encrypted => view! { <EncryptedPanel /> }.into_any(),
            }}
            <Show when=move || settings.locked.get()>
                <p class="hint">"Unlock the saved key (or forget it) to keep it somewhere else."</p>
            </Show>
        </fieldset>
    }
}

#[component]
fn EncryptedPanel() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let rounds = PBKDF2_ITERATIONS / 1000;
    move || {
        if settings.locked.get() {
            return view! {
                <p class="hint" id="key-storage-note">"Your saved key is locked: enter its passphrase to unlock it."</p>
                <UnlockForm />
            }
            .into_any();
        }
        if settings.sealed.get() {
            return view! {
                <p class="hint" id="key-storage-note">"Saved encrypted on this device; changes are encrypted with the same passphrase. You enter it once per visit."</p>
                <p><button type="button" id="forget-sealed" class="danger" on:click=move |_| settings.forget_sealed()>
                    "Forget the saved key"
                </button></p>
                <details>
                    <summary>"Change the passphrase"</summary>
                    <EncryptForm />
                </details>
            }
            .into_any();
        }
        view! {
            <p class="hint" id="key-storage-note">
                "Choose a passphrase: it derives the encryption key (PBKDF2-SHA-256, " {rounds}
                ",000 rounds; AES-GCM) and is never stored. Until then the key is kept in memory only. "
                "A forgotten passphrase cannot be recovered: forget the saved key and enter it again."
            </p>
            <EncryptForm />
        }
        .into_any()
    }
}
