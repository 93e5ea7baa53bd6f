use serde::Deserialize;

use super::fetch;

/// What a relay says about itself at `GET /v1/relay/info`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RelayInfo {
    /// `offline` for the built-in generator, else the kind of upstream it forwards to.
    pub upstream: String,
    /// Whether image requests need the relay's access token.
    #[serde(default)]
    pub token_required: bool,
}

impl RelayInfo {
    pub fn is_offline(&self) -> bool {
        self.upstream == "offline"
    }
}

/// Asks the relay at `relay_url` who it is. `None` when nothing relay-like answers there.
pub async fn relay_info(relay_url: &str) -> Option<RelayInfo> {
    let url = format!("{}/v1/relay/info", relay_url.trim().trim_end_matches('/'));
    let response = fetch::send(&url, "GET", &[], None, None).await.ok()?;
    if !response.ok() {
        return None;
    }
    serde_json::from_str(&fetch::text(&response).await.ok()?).ok()
}
