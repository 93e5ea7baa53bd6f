//! Where requests go: through a relay that holds the key, or straight to an API with the
//! user's own key. The key is attached only to requests for the configured API origin.

use serde::{Deserialize, Serialize};

/// OpenAI's API, the default for Direct mode.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Browser → relay `/v1/images/*` → upstream; the relay holds the key.
    #[default]
    Relay,
    /// Browser → `{base_url}/images/*` with the user's key.
    Direct,
}

/// A snapshot of the connection settings, taken when a request is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backend {
    pub mode: Mode,
    /// The relay's origin, e.g. `http://127.0.0.1:8080` (no `/v1`).
    pub relay_url: String,
    /// The relay's own access token, when its operator requires one (not an API key).
    pub relay_token: String,
    /// An OpenAI-compatible base URL including its version path, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub api_key: String,
    pub organization: String,
    pub project: String,
}

impl Backend {
    /// The URL of an Images API endpoint, e.g. `endpoint("images/generations")`.
    pub fn endpoint(&self, path: &str) -> String {
        match self.mode {
            Mode::Relay => format!("{}/v1/{path}", self.relay_url.trim().trim_end_matches('/')),
            Mode::Direct => format!("{}/{path}", self.base_url.trim().trim_end_matches('/')),
        }
    }

    /// Headers that identify the caller. Only Direct mode carries the user's key; a relay
    /// uses its own, and gets only its access token, if one is set.
    pub fn auth_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if self.mode == Mode::Relay && !self.relay_token.trim().is_empty() {
            headers.push((
                "Authorization",
                format!("Bearer {}", self.relay_token.trim()),
            ));
        }
        if self.mode == Mode::Direct {
            if !self.api_key.trim().is_empty() {
                headers.push(("Authorization", format!("Bearer {}", self.api_key.trim())));
            }
            if !self.organization.trim().is_empty() {
                headers.push(("OpenAI-Organization", self.organization.trim().to_owned()));
            }
            if !self.project.trim().is_empty() {
                headers.push(("OpenAI-Project", self.project.trim().to_owned()));
            }
        }
        headers
    }

    /// Why this backend cannot be used yet, if it cannot.
    pub fn problem(&self) -> Option<&'static str> {
        match self.mode {
            Mode::Relay if !is_http_url(&self.relay_url) => {
                Some("Set the relay address in Settings (http:// or https://).")
            }
            Mode::Direct if !is_http_url(&self.base_url) => {
                Some("Set the API base URL in Settings (http:// or https://).")
            }
            Mode::Direct if self.api_key.trim().is_empty() => {
                Some("Enter your API key in Settings, or use a relay.")
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
            project: String::new(),
        }
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

    #[test]
    fn problems_are_explained() {
        let mut b = direct();
        assert_eq!(b.problem(), None);
        b.api_key.clear();
        assert!(b.problem().unwrap().contains("API key"));
        b.base_url = "api.openai.com".into();
        assert!(b.problem().unwrap().contains("base URL"));
        b.mode = Mode::Relay;
        assert_eq!(b.problem(), None);
        b.relay_url = "http://".into();
        assert!(b.problem().unwrap().contains("relay"));
    }
}
