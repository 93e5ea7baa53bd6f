//! A profile's secrets encrypted with a passphrase, by the browser's WebCrypto: PBKDF2-SHA-256
//! ([`PBKDF2_ITERATIONS`] rounds, a random 16-byte salt per record) derives an AES-GCM 256 key;
//! every save encrypts with a new random 12-byte IV. The record format is
//! `easel_core::sealed`. The passphrase is used once, to derive the key, and never kept: the
//! derived key (non-extractable, so not even the page can read it back) stays in memory to
//! encrypt later saves.
//!
//! Only a visit that needs the encrypted key pays for this code: in release builds
//! (`--cfg easel_split`) it is in the settings chunk, fetched when the studio or the settings
//! ask for a passphrase.

use easel_core::sealed::{
    IV_LEN, PBKDF2_ITERATIONS, SALT_LEN, SealedError, SealedRecord, SealedSecrets,
};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey, SubtleCrypto};

/// Why the encrypted key could not be saved or opened. Every message is for the person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("Wrong passphrase.")]
    WrongPassphrase,
    #[error("Choose a passphrase of at least {MIN_PASSPHRASE} characters.")]
    ShortPassphrase,
    #[error("The two passphrases differ.")]
    Mismatch,
    #[error("Enter your passphrase.")]
    NoPassphrase,
    #[error("The saved key cannot be read: {0}. Forget it and enter the key again.")]
    Damaged(#[from] SealedError),
    #[error(
        "This browser cannot encrypt here: WebCrypto needs a secure page (https or localhost)."
    )]
    NoCrypto,
    #[error(
        "Easel could not download the code that encrypts keys; check the connection and try again."
    )]
    NotLoaded,
}

/// The shortest passphrase accepted for a new record.
pub const MIN_PASSPHRASE: usize = 8;

/// A key derived from a passphrase, held for this page only: later saves encrypt with it (a
/// new IV each time) without asking for the passphrase again.
#[derive(Clone, Debug)]
pub struct Sealer {
    key: JsValue,
    salt: Vec<u8>,
    iterations: u32,
}

/// An unlocked record: its secrets, and the sealer for the next save.
pub struct Opened {
    pub secrets: SealedSecrets,
    pub sealer: Sealer,
}

/// Opens a stored record with its passphrase. A wrong passphrase changes nothing.
pub async fn open(record: String, passphrase: String) -> Result<Opened, VaultError> {
    #[cfg(easel_split)]
    return match easel_vault_open(record, passphrase).await {
        Ok(opening) => opening.await,
        Err(_) => Err(VaultError::NotLoaded),
    };
    #[cfg(not(easel_split))]
    return open_record(record, passphrase).await;
}

/// Encrypts the secrets: with `sealer`'s key, or (without one) with a key derived from
/// `passphrase` and a new salt. Returns the sealer and the record to store.
pub async fn seal(
    sealer: Option<Sealer>,
    passphrase: String,
    secrets: SealedSecrets,
) -> Result<(Sealer, String), VaultError> {
    #[cfg(easel_split)]
    return match easel_vault_seal(sealer, passphrase, secrets).await {
        Ok(sealing) => sealing.await,
        Err(_) => Err(VaultError::NotLoaded),
    };
    #[cfg(not(easel_split))]
    return seal_secrets(sealer, passphrase, secrets).await;
}

#[cfg(easel_split)]
type Pending<T> = futures::future::LocalBoxFuture<'static, Result<T, VaultError>>;

#[cfg(easel_split)]
#[leptos::wasm_split::wasm_split(easel_settings, wasm_split_path = ::leptos::wasm_split, fallible)]
fn easel_vault_open(
    record: String,
    passphrase: String,
) -> Result<Pending<Opened>, leptos::wasm_split::SplitLoaderError> {
    Ok(Box::pin(open_record(record, passphrase)))
}

#[cfg(easel_split)]
#[leptos::wasm_split::wasm_split(easel_settings, wasm_split_path = ::leptos::wasm_split, fallible)]
fn easel_vault_seal(
    sealer: Option<Sealer>,
    passphrase: String,
    secrets: SealedSecrets,
) -> Result<Pending<(Sealer, String)>, leptos::wasm_split::SplitLoaderError> {
    Ok(Box::pin(seal_secrets(sealer, passphrase, secrets)))
}

async fn open_record(record: String, passphrase: String) -> Result<Opened, VaultError> {
    if passphrase.is_empty() {
        return Err(VaultError::NoPassphrase);
    }
    let record = SealedRecord::from_json(&record)?;
    let (_, subtle) = crypto()?;
    let key = derive(&subtle, &passphrase, &record.salt, record.iterations).await?;
    let algorithm = aes_gcm(&record.iv);
    let promise = subtle
        .decrypt_with_object_and_u8_array(&algorithm, key.unchecked_ref(), &record.ciphertext)
        .map_err(|_| VaultError::NoCrypto)?;
    // AES-GCM checks its tag: another passphrase derives another key, and decryption fails.
    let plain = JsFuture::from(promise)
        .await
        .map_err(|_| VaultError::WrongPassphrase)?;
    let plain = String::from_utf8(Uint8Array::new(&plain).to_vec())
        .map_err(|_| SealedError::Damaged("ciphertext"))?;
    let secrets =
        SealedSecrets::from_plaintext(&plain).ok_or(SealedError::Damaged("ciphertext"))?;
    Ok(Opened {
        secrets,
        sealer: Sealer {
            key,
            salt: record.salt,
            iterations: record.iterations,
        },
    })
}

async fn seal_secrets(
    sealer: Option<Sealer>,
    passphrase: String,
    secrets: SealedSecrets,
) -> Result<(Sealer, String), VaultError> {
    let (crypto, subtle) = crypto()?;
    let sealer = match sealer {
        Some(sealer) => sealer,
        None => {
            if passphrase.chars().count() < MIN_PASSPHRASE {
                return Err(VaultError::ShortPassphrase);
            }
            let salt = random(&crypto, SALT_LEN)?;
            let key = derive(&subtle, &passphrase, &salt, PBKDF2_ITERATIONS).await?;
            Sealer {
                key,
                salt,
                iterations: PBKDF2_ITERATIONS,
            }
        }
    };
    let iv = random(&crypto, IV_LEN)?;
    let promise = subtle
        .encrypt_with_object_and_u8_array(
            &aes_gcm(&iv),
            sealer.key.unchecked_ref(),
            secrets.to_plaintext().as_bytes(),
        )
        .map_err(|_| VaultError::NoCrypto)?;
    let ciphertext = JsFuture::from(promise)
        .await
        .map_err(|_| VaultError::NoCrypto)?;
    let record = SealedRecord {
        iterations: sealer.iterations,
        salt: sealer.salt.clone(),
        iv,
        ciphertext: Uint8Array::new(&ciphertext).to_vec(),
    };
    Ok((sealer, record.to_json()))
}

/// The page's WebCrypto; `crypto.subtle` exists only in secure contexts.
fn crypto() -> Result<(Crypto, SubtleCrypto), VaultError> {
    let crypto = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .ok_or(VaultError::NoCrypto)?;
    let subtle = crypto.subtle();
    if subtle.is_undefined() {
        return Err(VaultError::NoCrypto);
    }
    Ok((crypto, subtle))
}

fn random(crypto: &Crypto, len: usize) -> Result<Vec<u8>, VaultError> {
    let bytes = Uint8Array::new_with_length(len as u32);
    crypto
        .get_random_values_with_array_buffer_view(&bytes)
        .map_err(|_| VaultError::NoCrypto)?;
    Ok(bytes.to_vec())
}

/// PBKDF2-SHA-256 of the passphrase → a non-extractable AES-GCM 256 key.
async fn derive(
    subtle: &SubtleCrypto,
    passphrase: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<JsValue, VaultError> {
    let fail = |_| VaultError::NoCrypto;
    let material = Uint8Array::from(passphrase.as_bytes());
    let base = JsFuture::from(
        subtle
            .import_key_with_str(
                "raw",
                &material,
                "PBKDF2",
                false,
                &Array::of1(&"deriveKey".into()),
            )
            .map_err(fail)?,
    )
    .await
    .map_err(fail)?;
    let params = object(&[
        ("name", "PBKDF2".into()),
        ("hash", "SHA-256".into()),
        ("salt", Uint8Array::from(salt).into()),
        ("iterations", iterations.into()),
    ]);
    let aes = object(&[("name", "AES-GCM".into()), ("length", 256.into())]);
    let base: CryptoKey = base.unchecked_into();
    JsFuture::from(
        subtle
            .derive_key_with_object_and_object(
                &params,
                &base,
                &aes,
                false,
                &Array::of2(&"encrypt".into(), &"decrypt".into()),
            )
            .map_err(fail)?,
    )
    .await
    .map_err(fail)
}

fn aes_gcm(iv: &[u8]) -> Object {
    object(&[
        ("name", "AES-GCM".into()),
        ("iv", Uint8Array::from(iv).into()),
    ])
}

/// A plain object from pairs (`Reflect.set`, already in the app's glue, rather than web-sys's
/// dictionary types, whose every setter is one more import).
fn object(fields: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object
}
