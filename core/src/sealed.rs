//! The record that keeps a profile's secrets on the device encrypted with a passphrase
//! ([`crate::KeyStorage::Encrypted`]). The browser does the cryptography (WebCrypto:
//! PBKDF2-SHA-256 derives an AES-GCM 256 key from the passphrase and a random salt; each save
//! encrypts with a fresh random IV); this module defines what is stored and reads it back.
//!
//! Stored as one JSON object in `localStorage`, binary fields in standard base64:
//! `{"v":1,"kdf":"PBKDF2-SHA-256","iterations":600000,"cipher":"AES-GCM-256","salt":…,"iv":…,
//! "ciphertext":…}`. The passphrase is never stored, nor anything derived from it but the
//! ciphertext (whose last 16 bytes are GCM's tag: a wrong passphrase fails it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// PBKDF2-HMAC-SHA-256 rounds for a new record: OWASP's Password Storage Cheat Sheet asks for
/// 600,000 with SHA-256 (2023), sized so each guess at a stolen record costs an attacker about
/// as much as a bcrypt guess. Unlocking pays it once per page load (~0.2–0.5 s in Chromium).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// Random salt per record: the same passphrase never derives the same key twice.
pub const SALT_LEN: usize = 16;
/// AES-GCM's recommended 96-bit IV, random for every save (never reused with one key).
pub const IV_LEN: usize = 12;
/// AES-GCM's authentication tag, at the end of the ciphertext.
const TAG_LEN: usize = 16;
/// Records are read with at least this many rounds (a lower count in a planted record would
/// make the passphrase cheap to guess) and at most the upper one (so unlocking ends).
const ITERATIONS_ACCEPTED: std::ops::RangeInclusive<u32> = 100_000..=10_000_000;
const VERSION: u64 = 1;
const KDF: &str = "PBKDF2-SHA-256";
const CIPHER: &str = "AES-GCM-256";

/// Why a stored record cannot be used. The passphrase is checked by the decryption itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealedError {
    #[error("the saved key is not an Easel encrypted record")]
    NotARecord,
    #[error("the saved key was written by a newer Easel (format {0})")]
    NewerFormat(u64),
    #[error("the saved key's record is damaged ({0})")]
    Damaged(&'static str),
}

/// One encrypted record: what derives the key (salt, iterations) and what it opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedRecord {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub iv: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl SealedRecord {
    pub fn to_json(&self) -> String {
        json!({
            "v": VERSION,
            "kdf": KDF,
            "iterations": self.iterations,
            "cipher": CIPHER,
            "salt": STANDARD.encode(&self.salt),
            "iv": STANDARD.encode(&self.iv),
            "ciphertext": STANDARD.encode(&self.ciphertext),
        })
        .to_string()
    }

    /// A record as [`SealedRecord::to_json`] wrote it, every field checked.
    pub fn from_json(text: &str) -> Result<SealedRecord, SealedError> {
        let value: Value = serde_json::from_str(text).map_err(|_| SealedError::NotARecord)?;
        let o = value.as_object().ok_or(SealedError::NotARecord)?;
        match o.get("v").and_then(Value::as_u64) {
            Some(VERSION) => {}
            Some(newer) if newer > VERSION => return Err(SealedError::NewerFormat(newer)),
            _ => return Err(SealedError::NotARecord),
        }
        if o.get("kdf").and_then(Value::as_str) != Some(KDF) {
            return Err(SealedError::Damaged("key derivation"));
        }
        if o.get("cipher").and_then(Value::as_str) != Some(CIPHER) {
            return Err(SealedError::Damaged("cipher"));
        }
        let iterations = o
            .get("iterations")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| ITERATIONS_ACCEPTED.contains(n))
            .ok_or(SealedError::Damaged("iterations"))?;
        let bytes = |key: &'static str| {
            o.get(key)
                .and_then(Value::as_str)
                .and_then(|b| STANDARD.decode(b).ok())
                .ok_or(SealedError::Damaged(key))
        };
        let (salt, iv, ciphertext) = (bytes("salt")?, bytes("iv")?, bytes("ciphertext")?);
        if salt.len() != SALT_LEN {
            return Err(SealedError::Damaged("salt"));
        }
        if iv.len() != IV_LEN {
            return Err(SealedError::Damaged("iv"));
        }
        if ciphertext.len() < TAG_LEN {
            return Err(SealedError::Damaged("ciphertext"));
        }
        Ok(SealedRecord {
            iterations,
            salt,
            iv,
            ciphertext,
        })
    }
}

/// What a record encrypts: the profile's two secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SealedSecrets {
    pub api_key: String,
    pub relay_token: String,
}

impl SealedSecrets {
    /// The plaintext that is encrypted (JSON, so either secret may hold any character).
    pub fn to_plaintext(&self) -> String {
        json!({"api_key": self.api_key, "relay_token": self.relay_token}).to_string()
    }

    /// The decrypted plaintext; `None` if it is not what [`SealedSecrets::to_plaintext`]
    /// wrote (which the GCM tag makes all but impossible).
    pub fn from_plaintext(text: &str) -> Option<SealedSecrets> {
        let value: Value = serde_json::from_str(text).ok()?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(SealedSecrets {
            api_key: text("api_key")?,
            relay_token: text("relay_token").unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> SealedRecord {
        SealedRecord {
            iterations: PBKDF2_ITERATIONS,
            salt: (0..16).collect(),
            iv: (100..112).collect(),
            ciphertext: vec![7; 40],
        }
    }

    #[test]
    fn a_record_reads_back_what_was_written() {
        let json = record().to_json();
        assert_eq!(SealedRecord::from_json(&json), Ok(record()));
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["iterations"], 600_000);
        assert_eq!(value["kdf"], "PBKDF2-SHA-256");
        assert_eq!(value["cipher"], "AES-GCM-256");
        assert_eq!(value["salt"], "AAECAwQFBgcICQoLDA0ODw==");
        assert!(
            !json.contains("passphrase") && !json.contains("key\""),
            "{json}"
        );
    }

    #[test]
    fn a_damaged_record_says_what_is_wrong() {
        let with = |key: &str, value: Value| {
            let mut v: Value = serde_json::from_str(&record().to_json()).unwrap();
            v[key] = value;
            SealedRecord::from_json(&v.to_string())
        };
        assert_eq!(
            SealedRecord::from_json("sk-plain-key"),
            Err(SealedError::NotARecord)
        );
        assert_eq!(SealedRecord::from_json("[]"), Err(SealedError::NotARecord));
        assert_eq!(with("v", json!(2)), Err(SealedError::NewerFormat(2)));
        assert_eq!(with("v", json!("1")), Err(SealedError::NotARecord));
        assert_eq!(
            with("kdf", json!("scrypt")),
            Err(SealedError::Damaged("key derivation"))
        );
        assert_eq!(
            with("cipher", json!("AES-CBC")),
            Err(SealedError::Damaged("cipher"))
        );
        for rounds in [json!(1000), json!(-1), json!(1e12), json!("600000")] {
            assert_eq!(
                with("iterations", rounds.clone()),
                Err(SealedError::Damaged("iterations")),
                "{rounds}"
            );
        }
        assert_eq!(
            with("salt", json!("AAEC")),
            Err(SealedError::Damaged("salt"))
        );
        assert_eq!(
            with("iv", json!("not base64!")),
            Err(SealedError::Damaged("iv"))
        );
        assert_eq!(
            with("ciphertext", json!("AAAA")),
            Err(SealedError::Damaged("ciphertext"))
        );
        assert!(
            SealedError::Damaged("iv")
                .to_string()
                .contains("damaged (iv)")
        );
    }

    #[test]
    fn secrets_survive_the_plaintext() {
        let secrets = SealedSecrets {
            api_key: "sk-\"quoted\"\n\\key".into(),
            relay_token: "tok".into(),
        };
        assert_eq!(
            SealedSecrets::from_plaintext(&secrets.to_plaintext()),
            Some(secrets)
        );
        assert_eq!(
            SealedSecrets::from_plaintext(r#"{"api_key":"k"}"#),
            Some(SealedSecrets {
                api_key: "k".into(),
                relay_token: String::new()
            })
        );
        assert_eq!(SealedSecrets::from_plaintext("garbage"), None);
    }
}
