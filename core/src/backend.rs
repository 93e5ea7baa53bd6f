//! Where requests go: through a relay that holds the key, or straight to an API with the
//! user's own key. The key is attached only to requests for the configured API origin, in the
//! header the server expects (Bearer, a custom header, or Azure's `api-key`), never in a URL.
//!
//! Connection settings are kept as named [`Profile`]s (OpenAI with my key, the team relay, an
//! Azure resource…) so switching is one click; secrets are never part of a profile.

use serde::{Deserialize, Serialize};

/// OpenAI's API, the default for Direct mode.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The Azure OpenAI `api-version` a new Azure profile starts with (Microsoft's image docs use
/// it for the GPT image models; change it per profile when Azure publishes a newer one).
pub const AZURE_DEFAULT_API_VERSION: &str = "2025-04-01-preview";
/// The header a new "custom header" profile starts with.
pub const DEFAULT_KEY_HEADER: &str = "x-api-key";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Browser → relay `/v1/images/*` → upstream; the relay holds the key.
    #[default]
    Relay,
    /// Browser → `{base_url}/images/*` with the user's key.
    Direct,
}

/// How a Direct request carries the key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Authorization: Bearer <key>` (OpenAI and most compatible servers).
    #[default]
    Bearer,
    /// `<key_header>: <key>`, for gateways that name their own header.
    Header,
    /// Azure OpenAI: `api-key: <key>`, the deployment in the path and `api-version` in the query.
    Azure,
}

/// Where a profile's secrets (API key, relay token) are kept in the browser.
///
/// Saved by name ([`KeyStorage::name`]); the names of older versions still read:
/// `session` (this tab) and `remembered` (this device).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStorage {
    /// Only in the page's memory: gone on reload, so the studio asks for the key again.
    #[default]
    Memory,
    /// This tab's `sessionStorage`: survives a reload, gone when the tab closes.
    #[serde(alias = "session")]
    Tab,
    /// This device's `localStorage`, unencrypted, until removed.
    #[serde(alias = "remembered")]
    Device,
    /// This device's `localStorage`, encrypted with a passphrase (see [`crate::sealed`]).
    Encrypted,
}

impl KeyStorage {
    /// Every choice, in the order the settings offer them.
    pub const ALL: [KeyStorage; 4] = [
        KeyStorage::Memory,
        KeyStorage::Tab,
        KeyStorage::Device,
        KeyStorage::Encrypted,
    ];

    /// The name it is saved under.
    pub fn name(self) -> &'static str {
        match self {
            KeyStorage::Memory => "memory",
            KeyStorage::Tab => "tab",
            KeyStorage::Device => "device",
            KeyStorage::Encrypted => "encrypted",
        }
    }

    /// A saved name, including those of older versions; `None` for anything else.
    pub fn from_name(name: &str) -> Option<KeyStorage> {
        Some(match name {
            "memory" => KeyStorage::Memory,
            "tab" | "session" => KeyStorage::Tab,
            "device" | "remembered" => KeyStorage::Device,
            "encrypted" => KeyStorage::Encrypted,
            _ => return None,
        })
    }

    /// What the settings call it.
    pub fn label(self) -> &'static str {
        match self {
            KeyStorage::Memory => "In memory only (asked again after a reload)",
            KeyStorage::Tab => "This tab (until it closes)",
            KeyStorage::Device => "This device (unencrypted)",
            KeyStorage::Encrypted => "This device, encrypted with a passphrase",
        }
    }
}

/// A snapshot of the connection settings, taken when a request is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backend {
    pub mode: Mode,
    /// The relay's origin, e.g. `http://127.0.0.1:8080` (no `/v1`).
    pub relay_url: String,
    /// The relay's own access token, when its operator requires one (not an API key).
    pub relay_token: String,
    /// An OpenAI-compatible base URL including its version path, e.g. `https://api.openai.com/v1`;
    /// for Azure, the resource's endpoint, e.g. `https://my-resource.openai.azure.com`.
    pub base_url: String,
    pub api_key: String,
    pub organization: String,
    pub project: String,
    pub auth: AuthStyle,
    /// The header that carries the key with [`AuthStyle::Header`].
    pub key_header: String,
    /// Azure: the deployment that serves the images (it stands for the model).
    pub azure_deployment: String,
    /// Azure: the `api-version` query value.
    pub azure_api_version: String,
}

impl Backend {
    /// Whether the user's own key goes to OpenAI itself (so OpenAI's dashboard is theirs to fix
    /// a key, billing or verification problem); a relay's key is its operator's.
    pub fn is_openai_direct(&self) -> bool {
        let host = self.base_url.trim().split("://").nth(1).unwrap_or_default();
        self.mode == Mode::Direct
            && self.auth == AuthStyle::Bearer
            && host.split(['/', ':']).next() == Some("api.openai.com")
    }

    /// The URL of an Images API endpoint, e.g. `endpoint("images/generations")`.
    pub fn endpoint(&self, path: &str) -> String {
        let base = self.base_url.trim().trim_end_matches('/');
        match (self.mode, self.auth) {
            (Mode::Relay, _) => {
                format!("{}/v1/{path}", self.relay_url.trim().trim_end_matches('/'))
            }
            (Mode::Direct, AuthStyle::Azure) => {
                // Accept the endpoint with or without its `/openai` path.
                let base = base.strip_suffix("/openai").unwrap_or(base);
                // Variations are not per deployment on Azure (the SDK's AzureOpenAI agrees).
                let deployment = if path.ends_with("variations") {
                    String::new()
                } else {
                    format!("/deployments/{}", self.azure_deployment.trim())
                };
                format!(
                    "{base}/openai{deployment}/{path}?api-version={}",
                    self.azure_api_version.trim()
                )
            }
            (Mode::Direct, _) => format!("{base}/{path}"),
        }
    }

    /// Headers that identify the caller. Only Direct mode carries the user's key; a relay
    /// uses its own, and gets only its access token, if one is set.
    pub fn auth_headers(&self) -> Vec<(&str, String)> {
        let mut headers = Vec::new();
        if self.mode == Mode::Relay && !self.relay_token.trim().is_empty() {
            headers.push((
                "Authorization",
                format!("Bearer {}", self.relay_token.trim()),
            ));
        }
        if self.mode == Mode::Direct {
            let key = self.api_key.trim();
            if !key.is_empty() {
                headers.push(match self.auth {
                    AuthStyle::Bearer => ("Authorization", format!("Bearer {key}")),
                    AuthStyle::Header => (self.key_header.trim(), key.to_owned()),
                    AuthStyle::Azure => ("api-key", key.to_owned()),
                });
            }
            // OpenAI's own headers; Azure has no use for them.
            if self.auth != AuthStyle::Azure {
                if !self.organization.trim().is_empty() {
                    headers.push(("OpenAI-Organization", self.organization.trim().to_owned()));
                }
                if !self.project.trim().is_empty() {
                    headers.push(("OpenAI-Project", self.project.trim().to_owned()));
                }
            }
        }
        headers
    }

    /// Why this backend cannot be used yet, if it cannot.
    pub fn problem(&self) -> Option<&'static str> {
        match (self.mode, self.auth) {
            (Mode::Relay, _) if !is_http_url(&self.relay_url) => {
                Some("Set the relay address in Settings (http:// or https://).")
            }
            (Mode::Relay, _) => None,
            _ if !is_http_url(&self.base_url) => {
                Some("Set the API base URL in Settings (http:// or https://).")
            }
            _ if self.base_url.contains(['?', '#']) => Some(
                "The API base URL cannot carry a query or fragment: the key never goes in a URL.",
            ),
            _ if self.api_key.trim().is_empty() => {
                Some("Enter your API key in Settings, or use a relay.")
            }
            (_, AuthStyle::Header) if !is_header_name(self.key_header.trim()) => Some(
                "The key's header name may use only letters, digits and dashes (e.g. x-api-key).",
            ),
            (_, AuthStyle::Azure) if !is_url_word(&self.azure_deployment) => {
                Some("Enter the Azure deployment name (letters, digits, '-', '_' and '.').")
            }
            (_, AuthStyle::Azure) if !is_url_word(&self.azure_api_version) => {
                Some("Enter the Azure api-version, e.g. 2025-04-01-preview.")
            }
            _ => None,
        }
    }
}

fn is_http_url(text: &str) -> bool {
    let text = text.trim();
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|host| !host.is_empty() && !host.starts_with('/'))
}

/// An HTTP header name the browser will send (an RFC 9110 token; the usual subset).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A value safe in a URL path segment or query without escaping.
fn is_url_word(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// One saved way of reaching an images API. No secret is ever part of it: keys live apart,
/// under [`Profile::secret_slot`], in the storage its [`KeyStorage`] names.
///
/// Saved as plain lines ([`Profiles::to_text`]), not JSON: serde's code for these types cost
/// every visitor several KB of wasm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Stable and unique; names the secrets' storage slots.
    pub id: String,
    /// What the person calls it: "OpenAI (my key)", "Team relay".
    pub name: String,
    pub mode: Mode,
    /// `None`: the address the page came from (so a moved deployment keeps working).
    pub relay_url: Option<String>,
    pub base_url: String,
    pub auth: AuthStyle,
    pub key_header: String,
    pub azure_deployment: String,
    pub azure_api_version: String,
    pub organization: String,
    pub project: String,
    pub key_storage: KeyStorage,
    /// The model the studio switches to when this profile is chosen.
    pub default_model: Option<String>,
}

impl Default for Profile {
    fn default() -> Profile {
        Profile {
            id: "default".to_owned(),
            name: "This relay".to_owned(),
            mode: Mode::Relay,
            relay_url: None,
            base_url: OPENAI_BASE_URL.to_owned(),
            auth: AuthStyle::Bearer,
            key_header: DEFAULT_KEY_HEADER.to_owned(),
            azure_deployment: String::new(),
            azure_api_version: AZURE_DEFAULT_API_VERSION.to_owned(),
            organization: String::new(),
            project: String::new(),
            key_storage: KeyStorage::Memory,
            default_model: None,
        }
    }
}

/// The two secrets a profile may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    ApiKey,
    RelayToken,
}

impl Profile {
    /// The storage key of one of this profile's secrets.
    pub fn secret_slot(&self, secret: Secret) -> String {
        match secret {
            Secret::ApiKey => format!("easel.api-key.{}", self.id),
            Secret::RelayToken => format!("easel.relay-token.{}", self.id),
        }
    }

    /// The `localStorage` key of this profile's encrypted secrets ([`KeyStorage::Encrypted`]):
    /// one record holds both, so one passphrase (one key derivation) unlocks them.
    pub fn sealed_slot(&self) -> String {
        format!("easel.sealed-keys.{}", self.id)
    }

    /// The backend this profile describes, with its secrets and the page's origin (the default
    /// relay address).
    pub fn backend(&self, page_origin: &str, api_key: &str, relay_token: &str) -> Backend {
        Backend {
            mode: self.mode,
            relay_url: self
                .relay_url
                .clone()
                .unwrap_or_else(|| page_origin.to_owned()),
            relay_token: relay_token.to_owned(),
            base_url: self.base_url.clone(),
            api_key: api_key.to_owned(),
            organization: self.organization.clone(),
            project: self.project.clone(),
            auth: self.auth,
            key_header: self.key_header.clone(),
            azure_deployment: self.azure_deployment.clone(),
            azure_api_version: self.azure_api_version.clone(),
        }
    }
}

/// Where the old single set of connection settings kept its secrets (before profiles).
pub const LEGACY_API_KEY_SLOT: &str = "easel.api-key";
pub const LEGACY_RELAY_TOKEN_SLOT: &str = "easel.relay-token";

/// The connection settings as saved before profiles (`easel.settings`). Read once, to become
/// the first profile, so nobody loses their configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LegacySettings {
    pub mode: Mode,
    pub relay_url: Option<String>,
    pub base_url: Option<String>,
    pub organization: String,
    pub project: String,
    pub remember_key: bool,
}

/// Every saved profile and which one is in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profiles {
    pub list: Vec<Profile>,
    pub active: String,
}

impl Default for Profiles {
    fn default() -> Profiles {
        Profiles {
            list: vec![Profile::default()],
            active: "default".to_owned(),
        }
    }
}

impl Profiles {
    /// The first profile, made from the settings saved before profiles existed. Secrets that
    /// were remembered move from the legacy slots to this profile's (the app does the move).
    pub fn from_legacy(old: &LegacySettings) -> Profiles {
        let name = match old.mode {
            Mode::Relay => "Relay".to_owned(),
            Mode::Direct => host_of(old.base_url.as_deref().unwrap_or(OPENAI_BASE_URL)),
        };
        let profile = Profile {
            name,
            mode: old.mode,
            relay_url: old.relay_url.clone(),
            base_url: old
                .base_url
                .clone()
                .unwrap_or_else(|| OPENAI_BASE_URL.to_owned()),
            organization: old.organization.clone(),
            project: old.project.clone(),
            // What the old checkbox meant: this device, or this tab's session.
            key_storage: if old.remember_key {
                KeyStorage::Device
            } else {
                KeyStorage::Tab
            },
            ..Profile::default()
        };
        Profiles {
            active: profile.id.clone(),
            list: vec![profile],
        }
    }

    /// Repairs what storage may have mangled: at least one profile, unique ids, an active one
    /// that exists.
    pub fn normalized(mut self) -> Profiles {
        if self.list.is_empty() {
            self.list.push(Profile::default());
        }
        let mut seen: Vec<String> = Vec::new();
        for (i, profile) in self.list.iter_mut().enumerate() {
            if profile.id.trim().is_empty() || seen.contains(&profile.id) {
                profile.id = format!("p{i}");
            }
            seen.push(profile.id.clone());
        }
        if !seen.contains(&self.active) {
            self.active = seen[0].clone();
        }
        self
    }

    pub fn active(&self) -> &Profile {
        self.list
            .iter()
            .find(|p| p.id == self.active)
            .unwrap_or(&self.list[0])
    }

    /// An id no profile has yet.
    pub fn fresh_id(&self) -> String {
        (1..)
            .map(|n| format!("p{n}"))
            .find(|id| self.list.iter().all(|p| &p.id != id))
            .unwrap_or_default()
    }

    /// Removes a profile unless it is the last one; the first remaining becomes active if the
    /// removed one was. `true` when removed.
    pub fn remove(&mut self, id: &str) -> bool {
        if self.list.len() < 2 || !self.list.iter().any(|p| p.id == id) {
            return false;
        }
        self.list.retain(|p| p.id != id);
        if self.active == id {
            self.active = self.list[0].id.clone();
        }
        true
    }
}

/// A host's defaults for a new visitor, from the `config.json` served beside the app: the
/// first profile's mode, relay and API base URL, and the model the studio starts with. Saved
/// settings always win; unknown keys are ignored (a newer host's config still loads).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deployment {
    pub mode: Option<Mode>,
    /// The relay to use when it is not the page's own origin.
    pub relay_url: Option<String>,
    /// The API to call directly (Direct mode).
    pub base_url: Option<String>,
    pub model: Option<String>,
}

impl Deployment {
    /// Parses `config.json`. Every key is optional; a value of the wrong kind is an error that
    /// names the key, so a host sees what to fix (the app then keeps its built-in defaults).
    pub fn from_json(json: &str) -> Result<Deployment, String> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| format!("config.json is not valid JSON: {e}"))?;
        let o = value
            .as_object()
            .ok_or("config.json must be a JSON object, like {\"mode\": \"relay\"}")?;
        let text = |key: &str| -> Result<Option<String>, String> {
            match o.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_owned())),
                Some(_) => Err(format!("config.json: \"{key}\" must be a string")),
            }
        };
        let address = |key: &str| -> Result<Option<String>, String> {
            let url = text(key)?;
            match &url {
                Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
                    Err(format!(
                        "config.json: \"{key}\" must start with https:// or http://, not {u:?}"
                    ))
                }
                _ => Ok(url.map(|u| u.trim_end_matches('/').to_owned())),
            }
        };
        let mode = match text("mode")?.as_deref() {
            None => None,
            Some("relay") => Some(Mode::Relay),
            Some("direct") => Some(Mode::Direct),
            Some(other) => {
                return Err(format!(
                    "config.json: \"mode\" must be \"relay\" or \"direct\", not {other:?}"
                ));
            }
        };
        Ok(Deployment {
            mode,
            relay_url: address("relay_url")?,
            base_url: address("base_url")?,
            model: text("model")?,
        })
    }

    /// The profiles a new visitor starts with: one, made from these defaults.
    pub fn profiles(&self) -> Profiles {
        let mode = self.mode.unwrap_or(Mode::Relay);
        let base_url = self
            .base_url
            .clone()
            .unwrap_or_else(|| OPENAI_BASE_URL.to_owned());
        let name = match (mode, &self.relay_url) {
            (Mode::Relay, None) => Profile::default().name,
            (Mode::Relay, Some(relay)) => format!("Relay at {}", host_of(relay)),
            (Mode::Direct, _) => host_of(&base_url),
        };
        let profile = Profile {
            name,
            mode,
            relay_url: self.relay_url.clone(),
            base_url,
            default_model: self.model.clone(),
            ..Profile::default()
        };
        Profiles {
            active: profile.id.clone(),
            list: vec![profile],
        }
    }
}

impl LegacySettings {
    /// The old `easel.settings`; anything missing or mistyped takes its default.
    pub fn from_json(json: &str) -> Option<LegacySettings> {
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        let o = value.as_object()?;
        let text = |key: &str| o.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        Some(LegacySettings {
            mode: if text("mode").as_deref() == Some("direct") {
                Mode::Direct
            } else {
                Mode::Relay
            },
            relay_url: text("relay_url"),
            base_url: text("base_url"),
            organization: text("organization").unwrap_or_default(),
            project: text("project").unwrap_or_default(),
            remember_key: o.get("remember_key").and_then(|v| v.as_bool()) == Some(true),
        })
    }
}

/// The first line of saved profiles: the format and its version.
const PROFILES_HEADER: &str = "easel-profiles 1";

/// `\` and line breaks escaped, so a value is one line.
fn escape_line(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn unescape_line(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

impl Profiles {
    /// The profiles as lines of `key=value`, each profile opened by `[profile]`.
    pub fn to_text(&self) -> String {
        let mut out = format!("{PROFILES_HEADER}\nactive={}\n", escape_line(&self.active));
        for p in &self.list {
            let fields: [(&str, Option<&str>); 13] = [
                ("id", Some(&p.id)),
                ("name", Some(&p.name)),
                (
                    "mode",
                    Some(if p.mode == Mode::Direct {
                        "direct"
                    } else {
                        "relay"
                    }),
                ),
                ("relay_url", p.relay_url.as_deref()),
                ("base_url", Some(&p.base_url)),
                (
                    "auth",
                    Some(match p.auth {
                        AuthStyle::Bearer => "bearer",
                        AuthStyle::Header => "header",
                        AuthStyle::Azure => "azure",
                    }),
                ),
                ("key_header", Some(&p.key_header)),
                ("azure_deployment", Some(&p.azure_deployment)),
                ("azure_api_version", Some(&p.azure_api_version)),
                ("organization", Some(&p.organization)),
                ("project", Some(&p.project)),
                ("key_storage", Some(p.key_storage.name())),
                ("default_model", p.default_model.as_deref()),
            ];
            out.push_str("[profile]\n");
            for (key, value) in fields {
                if let Some(value) = value {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(&escape_line(value));
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Profiles as [`Profiles::to_text`] wrote them. `None` when the text is not such a
    /// document; unknown keys are skipped and missing ones take their defaults
    /// ([`Profiles::normalized`] repairs the rest).
    pub fn from_text(text: &str) -> Option<Profiles> {
        let mut lines = text.lines();
        if lines.next()? != PROFILES_HEADER {
            return None;
        }
        let mut profiles = Profiles {
            list: Vec::new(),
            active: String::new(),
        };
        for line in lines {
            if line == "[profile]" {
                profiles.list.push(Profile::default());
                continue;
            }
            let Some((key, raw)) = line.split_once('=') else {
                continue;
            };
            let value = unescape_line(raw);
            let Some(p) = profiles.list.last_mut() else {
                if key == "active" {
                    profiles.active = value;
                }
                continue;
            };
            match key {
                "id" => p.id = value,
                "name" => p.name = value,
                "mode" => {
                    p.mode = if value == "direct" {
                        Mode::Direct
                    } else {
                        Mode::Relay
                    }
                }
                "relay_url" => p.relay_url = Some(value),
                "base_url" => p.base_url = value,
                "auth" => {
                    p.auth = match value.as_str() {
                        "header" => AuthStyle::Header,
                        "azure" => AuthStyle::Azure,
                        _ => AuthStyle::Bearer,
                    }
                }
                "key_header" => p.key_header = value,
                "azure_deployment" => p.azure_deployment = value,
                "azure_api_version" => p.azure_api_version = value,
                "organization" => p.organization = value,
                "project" => p.project = value,
                // An unknown name keeps nothing on the device: memory only.
                "key_storage" => p.key_storage = KeyStorage::from_name(&value).unwrap_or_default(),
                "default_model" => p.default_model = Some(value),
                _ => {}
            }
        }
        Some(profiles)
    }
}

/// `https://api.openai.com/v1` → `api.openai.com`.
fn host_of(url: &str) -> String {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    match rest.split(['/', '?', '#']).next() {
        Some(host) if !host.is_empty() => host.to_owned(),
        _ => "My API".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct() -> Backend {
        Backend {
            mode: Mode::Direct,
            relay_url: "http://127.0.0.1:8080".into(),
            relay_token: "relay-secret".into(),
            base_url: "https://api.openai.com/v1/".into(),
            api_key: " sk-test ".into(),
            organization: "org-1".into(),
            ..Backend::default()
        }
    }

    fn azure() -> Backend {
        Backend {
            mode: Mode::Direct,
            base_url: "https://my-res.openai.azure.com/".into(),
            api_key: "azure-key".into(),
            organization: "org-1".into(),
            auth: AuthStyle::Azure,
            azure_deployment: "images-prod".into(),
            azure_api_version: "2025-04-01-preview".into(),
            ..Backend::default()
        }
    }

    #[test]
    fn only_a_direct_openai_connection_is_openai_direct() {
        let mut b = direct();
        assert!(b.is_openai_direct());
        b.base_url = "https://api.openai.com.evil.test/v1".into();
        assert!(!b.is_openai_direct());
        b.base_url = "http://localhost:1234/v1".into();
        assert!(!b.is_openai_direct());
        assert!(!azure().is_openai_direct());
        let mut relay = direct();
        relay.mode = Mode::Relay;
        assert!(!relay.is_openai_direct(), "a relay's key is its operator's");
    }

    #[test]
    fn endpoints_per_mode() {
        let mut b = direct();
        assert_eq!(
            b.endpoint("images/generations"),
            "https://api.openai.com/v1/images/generations"
        );
        b.mode = Mode::Relay;
        assert_eq!(
            b.endpoint("images/generations"),
            "http://127.0.0.1:8080/v1/images/generations"
        );
    }

    #[test]
    fn the_key_is_sent_only_in_direct_mode() {
        let mut b = direct();
        assert_eq!(
            b.auth_headers(),
            vec![
                ("Authorization", "Bearer sk-test".to_owned()),
                ("OpenAI-Organization", "org-1".to_owned())
            ]
        );
        b.mode = Mode::Relay;
        assert_eq!(
            b.auth_headers(),
            vec![("Authorization", "Bearer relay-secret".to_owned())],
            "the relay gets its token, never the API key"
        );
        b.relay_token = "  ".into();
        assert!(b.auth_headers().is_empty());
    }

    /// Each auth style: the URL the request goes to and every header it carries, and the key
    /// nowhere but in its header.
    #[test]
    fn requests_per_profile_auth_style() {
        let bearer = direct();
        let custom = Backend {
            base_url: "https://gateway.example/openai/v1".into(),
            auth: AuthStyle::Header,
            key_header: "X-Gateway-Key".into(),
            ..direct()
        };
        let azure = azure();
        let cases = [
            (
                &bearer,
                "https://api.openai.com/v1/images/generations",
                vec![
                    ("Authorization", "Bearer sk-test".to_owned()),
                    ("OpenAI-Organization", "org-1".to_owned()),
                ],
            ),
            (
                &custom,
                "https://gateway.example/openai/v1/images/generations",
                vec![
                    ("X-Gateway-Key", "sk-test".to_owned()),
                    ("OpenAI-Organization", "org-1".to_owned()),
                ],
            ),
            (
                &azure,
                "https://my-res.openai.azure.com/openai/deployments/images-prod/images/generations?api-version=2025-04-01-preview",
                vec![("api-key", "azure-key".to_owned())],
            ),
        ];
        for (backend, url, headers) in cases {
            assert_eq!(backend.problem(), None, "{url}");
            let endpoint = backend.endpoint("images/generations");
            assert_eq!(endpoint, url);
            assert!(
                !endpoint.contains(backend.api_key.trim()),
                "no key in {endpoint}"
            );
            assert_eq!(backend.auth_headers(), headers);
        }
        // The endpoint given with its /openai path, and edits and variations on Azure.
        let with_path = Backend {
            base_url: "https://my-res.openai.azure.com/openai".into(),
            ..azure.clone()
        };
        assert_eq!(
            with_path.endpoint("images/edits"),
            "https://my-res.openai.azure.com/openai/deployments/images-prod/images/edits?api-version=2025-04-01-preview"
        );
        assert_eq!(
            azure.endpoint("images/variations"),
            "https://my-res.openai.azure.com/openai/images/variations?api-version=2025-04-01-preview"
        );
    }

    #[test]
    fn problems_are_explained() {
        let mut b = direct();
        assert_eq!(b.problem(), None);
        b.api_key.clear();
        assert!(b.problem().unwrap().contains("API key"));
        b.base_url = "api.openai.com".into();
        assert!(b.problem().unwrap().contains("base URL"));
        b.base_url = "https://api.example/v1?key=sk-1".into();
        assert!(b.problem().unwrap().contains("never goes in a URL"));
        b.mode = Mode::Relay;
        assert_eq!(b.problem(), None);
        b.relay_url = "http://".into();
        assert!(b.problem().unwrap().contains("relay"));

        let mut custom = Backend {
            auth: AuthStyle::Header,
            key_header: "x api key".into(),
            ..direct()
        };
        assert!(custom.problem().unwrap().contains("header name"));
        custom.key_header = "x-api-key".into();
        assert_eq!(custom.problem(), None);

        let mut az = azure();
        az.azure_deployment = "my deployment/../x".into();
        assert!(az.problem().unwrap().contains("deployment"));
        az.azure_deployment = "dep".into();
        az.azure_api_version = String::new();
        assert!(az.problem().unwrap().contains("api-version"));
    }

    #[test]
    fn old_settings_become_the_first_profile() {
        let old = LegacySettings::from_json(
            r#"{"mode":"direct","relay_url":null,"base_url":"https://llm.example.com/v1",
                "organization":"org-9","project":"","remember_key":true,"daily_budget":2.5}"#,
        )
        .unwrap();
        let profiles = Profiles::from_legacy(&old);
        let first = profiles.active();
        assert_eq!(profiles.list.len(), 1);
        assert_eq!(first.name, "llm.example.com");
        assert_eq!(first.mode, Mode::Direct);
        assert_eq!(first.base_url, "https://llm.example.com/v1");
        assert_eq!(first.organization, "org-9");
        assert_eq!(first.key_storage, KeyStorage::Device);
        assert_eq!(first.auth, AuthStyle::Bearer);
        let backend = first.backend("http://page", "sk-old", "");
        assert_eq!(
            backend.endpoint("images/generations"),
            "https://llm.example.com/v1/images/generations"
        );
        assert_eq!(
            backend.auth_headers()[0],
            ("Authorization", "Bearer sk-old".to_owned())
        );

        let relay = Profiles::from_legacy(&LegacySettings {
            relay_url: Some("https://relay.example".into()),
            ..LegacySettings::default()
        });
        let backend = relay.active().backend("http://page", "", "tok");
        assert_eq!(
            backend.endpoint("images/generations"),
            "https://relay.example/v1/images/generations"
        );
        assert_eq!(relay.active().key_storage, KeyStorage::Tab);
        let page = Profiles::from_legacy(&LegacySettings::default());
        assert_eq!(
            page.active().backend("http://page", "", "").relay_url,
            "http://page"
        );
    }

    #[test]
    fn profiles_stay_usable() {
        let mut profiles = Profiles::default();
        assert!(!profiles.remove("default"), "the last profile stays");
        let id = profiles.fresh_id();
        profiles.list.push(Profile {
            id: id.clone(),
            name: "Azure".into(),
            ..Profile::default()
        });
        assert_ne!(profiles.fresh_id(), id);
        profiles.active = id.clone();
        assert_eq!(profiles.active().name, "Azure");
        assert!(profiles.remove(&id));
        assert_eq!(profiles.active, "default");

        let broken = Profiles {
            list: vec![Profile::default(), Profile::default()],
            active: "gone".into(),
        }
        .normalized();
        assert_ne!(broken.list[0].id, broken.list[1].id);
        assert_eq!(broken.active, broken.list[0].id);
        assert_eq!(
            Profiles {
                list: vec![],
                active: String::new()
            }
            .normalized()
            .list
            .len(),
            1
        );
        let slots = (
            broken.list[1].secret_slot(Secret::ApiKey),
            broken.list[1].secret_slot(Secret::RelayToken),
        );
        assert_eq!(
            slots,
            (
                "easel.api-key.p1".to_owned(),
                "easel.relay-token.p1".to_owned()
            )
        );
    }

    #[test]
    fn profiles_read_back_what_was_saved_and_tolerate_damage() {
        let mut profiles = Profiles::default();
        profiles.list.push(Profile {
            id: "p1".into(),
            name: "Azure \"prod\"\nsecond line \\ slash=x".into(),
            mode: Mode::Direct,
            relay_url: Some("https://relay.example".into()),
            base_url: "https://r.openai.azure.com".into(),
            auth: AuthStyle::Azure,
            key_header: "x-key".into(),
            azure_deployment: "dep".into(),
            azure_api_version: "2025-01-01".into(),
            organization: "org".into(),
            project: "proj".into(),
            key_storage: KeyStorage::Device,
            default_model: Some("gpt-image-2".into()),
        });
        profiles.list.push(Profile {
            id: "p2".into(),
            auth: AuthStyle::Header,
            ..Profile::default()
        });
        profiles.active = "p1".into();
        let text = profiles.to_text();
        assert_eq!(text.lines().filter(|l| *l == "[profile]").count(), 3);
        assert_eq!(Profiles::from_text(&text), Some(profiles));
        let damaged = Profiles::from_text(
            "easel-profiles 1\nactive=x\n[profile]\nmode=sideways\nauth=carrier-pigeon\nfuture=1\njunk line",
        )
        .unwrap();
        assert_eq!(damaged.list, vec![Profile::default()]);
        assert_eq!(damaged.active, "x");
        assert_eq!(Profiles::from_text("{\"list\":[]}"), None);
        assert_eq!(Profiles::from_text(""), None);
        assert_eq!(
            LegacySettings::from_json("{}"),
            Some(LegacySettings::default())
        );
        assert_eq!(LegacySettings::from_json("[]"), None);
        let odd = LegacySettings::from_json(
            r#" { "nested": {"mode": "direct", "a": [1, "}"]}, "base_url": "https:\/\/x.example\u002fv1\"q",
                 "remember_key": true, "daily_budget": -1.5e3, "mode": "direct" } "#,
        )
        .unwrap();
        assert_eq!(odd.base_url.as_deref(), Some("https://x.example/v1\"q"));
        assert!(odd.remember_key);
        assert_eq!(odd.mode, Mode::Direct);
        assert_eq!(
            LegacySettings::from_json(r#"{"mode": "direct""#),
            None,
            "truncated"
        );
    }

    /// Older versions saved `session` (this tab) and `remembered` (this device); both still
    /// mean what they meant, in serde and in the saved profiles.
    #[test]
    fn key_storage_reads_the_names_older_versions_saved() {
        for (json, storage) in [
            (r#""session""#, KeyStorage::Tab),
            (r#""remembered""#, KeyStorage::Device),
            (r#""memory""#, KeyStorage::Memory),
            (r#""tab""#, KeyStorage::Tab),
            (r#""device""#, KeyStorage::Device),
            (r#""encrypted""#, KeyStorage::Encrypted),
        ] {
            let read: KeyStorage = serde_json::from_str(json).unwrap();
            assert_eq!(read, storage, "{json}");
        }
        assert!(serde_json::from_str::<KeyStorage>(r#""cloud""#).is_err());
        for storage in KeyStorage::ALL {
            let json = serde_json::to_string(&storage).unwrap();
            assert_eq!(json, format!("\"{}\"", storage.name()));
            assert_eq!(serde_json::from_str::<KeyStorage>(&json).unwrap(), storage);
            assert_eq!(KeyStorage::from_name(storage.name()), Some(storage));
        }
        assert_eq!(KeyStorage::default(), KeyStorage::Memory);
        assert_eq!(Profile::default().key_storage, KeyStorage::Memory);

        // Profiles exactly as the previous version wrote them.
        let old = "easel-profiles 1\nactive=p1\n\
                   [profile]\nid=default\nname=This relay\nmode=relay\nkey_storage=session\n\
                   [profile]\nid=p1\nname=OpenAI (my key)\nmode=direct\nkey_storage=remembered\n\
                   [profile]\nid=p2\nname=Future\nkey_storage=quantum\n";
        let profiles = Profiles::from_text(old).unwrap();
        let kept: Vec<KeyStorage> = profiles.list.iter().map(|p| p.key_storage).collect();
        assert_eq!(
            kept,
            [KeyStorage::Tab, KeyStorage::Device, KeyStorage::Memory],
            "an unknown name keeps nothing on the device"
        );
        // Every choice survives a save and a load.
        let all = Profiles {
            list: KeyStorage::ALL
                .iter()
                .enumerate()
                .map(|(i, &key_storage)| Profile {
                    id: format!("p{i}"),
                    key_storage,
                    ..Profile::default()
                })
                .collect(),
            active: "p3".into(),
        };
        assert_eq!(Profiles::from_text(&all.to_text()), Some(all.clone()));
        assert!(all.to_text().contains("key_storage=encrypted\n"));
        assert_eq!(all.list[3].sealed_slot(), "easel.sealed-keys.p3");
    }

    #[test]
    fn a_saved_profile_never_holds_a_secret() {
        let json = Profiles::default().to_text();
        for word in ["api_key", "token", "secret"] {
            assert!(!json.contains(word), "{word} in {json}");
        }
    }

    #[test]
    fn a_deployment_config_sets_a_new_visitors_profile() {
        let config = Deployment::from_json(
            r#"{"mode": "relay", "relay_url": "https://relay.example.org/", "model": "gpt-image-1.5", "theme": "future key"}"#,
        )
        .unwrap();
        let profiles = config.profiles();
        let first = profiles.active();
        assert_eq!(first.mode, Mode::Relay);
        assert_eq!(
            first.relay_url.as_deref(),
            Some("https://relay.example.org")
        );
        assert_eq!(first.name, "Relay at relay.example.org");
        assert_eq!(first.default_model.as_deref(), Some("gpt-image-1.5"));

        let direct = Deployment::from_json(
            r#"{"mode": "direct", "base_url": "https://llm.example.com/v1"}"#,
        )
        .unwrap()
        .profiles();
        assert_eq!(direct.active().mode, Mode::Direct);
        assert_eq!(direct.active().base_url, "https://llm.example.com/v1");
        assert_eq!(direct.active().name, "llm.example.com");

        // An empty config is the built-in default: this relay, at the page's origin.
        assert_eq!(
            Deployment::from_json("{}").unwrap().profiles(),
            Profiles::default()
        );
        assert_eq!(
            Deployment::from_json(r#"{"mode": null, "relay_url": ""}"#).unwrap(),
            Deployment::default()
        );
    }

    #[test]
    fn a_broken_deployment_config_names_what_to_fix() {
        for (json, says) in [
            ("not json", "not valid JSON"),
            ("[1]", "must be a JSON object"),
            (
                r#"{"mode": "proxy"}"#,
                r#""mode" must be "relay" or "direct""#,
            ),
            (r#"{"mode": 1}"#, r#""mode" must be a string"#),
            (
                r#"{"relay_url": "relay.example.org"}"#,
                r#""relay_url" must start with https://"#,
            ),
            (
                r#"{"base_url": "javascript:alert(1)"}"#,
                r#""base_url" must start with https://"#,
            ),
            (r#"{"model": ["a"]}"#, r#""model" must be a string"#),
        ] {
            let error = Deployment::from_json(json).unwrap_err();
            assert!(error.contains(says), "{json}: {error}");
        }
    }
}
