//! What the relay is told to do: where images come from and the guard rails around them.
//! Built by `main.rs` from flags, environment and an optional TOML file; tests build it directly.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::HeaderName;
use sha2::{Digest, Sha256};

use crate::mock::Fault;
pub use crate::shares::ShareStore;

/// OpenAI's API, the default upstream.
pub const DEFAULT_UPSTREAM: &str = "https://api.openai.com/v1";

#[derive(Clone, Debug)]
pub struct Config {
    pub upstream: Upstream,
    /// The built app (Trunk's `dist/`); `None` serves a note that the app is not built.
    pub dist_dir: Option<PathBuf>,
    /// Exact origins (`https://me.github.io`) allowed to call the API from other pages; `*`
    /// allows any. Empty: only pages served by the relay itself.
    pub allowed_origins: Vec<String>,
    /// When not empty, image requests need `Authorization: Bearer <one of these>`.
    pub access_tokens: Vec<AccessToken>,
    /// Per-client token bucket for image requests; `None` turns it off.
    pub rate_limit: Option<RateLimit>,
    /// Take the client's address from the last `X-Forwarded-For` hop (set when a reverse proxy
    /// in front of the relay adds it); otherwise every client would look like the proxy.
    pub trust_forwarded_for: bool,
    /// Image requests handled at once (streams count until they end); more are refused with 503.
    pub max_concurrent: usize,
    /// Largest JSON body (generations, JSON edits).
    pub json_body_limit: usize,
    /// Largest multipart body (edits and variations with image files).
    pub multipart_body_limit: usize,
    /// Total time allowed for one upstream request, body included.
    pub upstream_timeout: Duration,
    /// Longest silence allowed between two chunks of an upstream stream.
    pub stream_idle_timeout: Duration,
    /// How long a client may take to send a request head, counted from its connection's start
    /// or from the end of its previous answer (so also how long a keep-alive connection may
    /// sit idle); then the connection is closed. Zero: no limit.
    pub header_read_timeout: Duration,
    /// How long a request body may take to arrive after its head; a late one is answered 408.
    /// Zero: no limit.
    pub body_timeout: Duration,
    /// How long a write to a client may make no progress (the client stopped reading) before
    /// the connection is closed. Zero: no limit.
    pub write_timeout: Duration,
    /// Write prompts to the log (off by default: they are the users' words).
    pub log_prompts: bool,
    /// How long the offline generator pretends to work, so placeholders can be seen.
    pub generator_latency: Duration,
    /// Accept the `x-easel-fault` request header that makes the generator fail on purpose.
    pub test_mode: bool,
    /// Make every generator request fail this way (test mode only).
    pub fault: Option<Fault>,
    /// The address clients use to reach the relay (e.g. `https://easel.example.com`), for the
    /// URLs of generated images; by default `http://` plus the request's Host header.
    pub public_url: Option<String>,
    /// Hosted share links (shares/); `None` answers the share routes with 404
    /// `shares_disabled`.
    pub shares: Option<Shares>,
}

impl Default for Config {
    /// Offline, no app, no other origins, no tokens, no artificial latency; limits as `--help`
    /// documents them.
    fn default() -> Config {
        Config {
            upstream: Upstream::Offline,
            dist_dir: None,
            allowed_origins: Vec::new(),
            access_tokens: Vec::new(),
            rate_limit: None,
            trust_forwarded_for: false,
            max_concurrent: 256,
            json_body_limit: 1024 * 1024,
            multipart_body_limit: 64 * 1024 * 1024,
            upstream_timeout: Duration::from_secs(300),
            stream_idle_timeout: Duration::from_secs(120),
            header_read_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(120),
            write_timeout: Duration::from_secs(60),
            log_prompts: false,
            generator_latency: Duration::ZERO,
            test_mode: false,
            fault: None,
            public_url: None,
            shares: None,
        }
    }
}

/// Where hosted shares are kept and how large they may be.
#[derive(Clone, Debug)]
pub struct Shares {
    pub store: ShareStore,
    /// Distinct images in one share.
    pub max_images: usize,
    /// The images of one share together, in bytes (the request body is also held to
    /// `multipart_body_limit`).
    pub max_bytes: u64,
    /// How long a share lives when its creator does not say; `None`: until it is deleted.
    pub default_expiry: Option<Duration>,
    /// The longest life a share may ask for; with a cap, no share lives longer, whatever the
    /// default.
    pub max_expiry: Option<Duration>,
}

impl Shares {
    /// The limits `--help` documents, in `store`.
    pub fn new(store: ShareStore) -> Shares {
        Shares {
            store,
            max_images: 64,
            max_bytes: 64 * 1024 * 1024,
            default_expiry: None,
            max_expiry: None,
        }
    }
}

/// Where image requests go.
#[derive(Clone, Debug)]
pub enum Upstream {
    /// Answered here by the offline generator.
    Offline,
    /// Forwarded with the relay's own key.
    Forward(Forward),
}

impl Upstream {
    /// The word `GET /v1/relay/info` reports: never the URL or the key.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Upstream::Offline => "offline",
            Upstream::Forward(forward) => match forward.kind {
                UpstreamKind::OpenAi => "openai",
                UpstreamKind::Azure { .. } => "azure",
                UpstreamKind::Compatible { .. } => "compatible",
            },
        }
    }
}

#[derive(Clone, Debug)]
pub struct Forward {
    pub kind: UpstreamKind,
    /// e.g. `https://api.openai.com/v1`, or `https://<resource>.openai.azure.com/openai`.
    pub base_url: String,
    /// `None` only for compatible servers that need no key.
    pub api_key: Option<ApiKey>,
    pub organization: Option<String>,
    pub project: Option<String>,
}

impl Forward {
    /// OpenAI at `base_url` with a bearer key.
    pub fn openai(base_url: impl Into<String>, key: ApiKey) -> Forward {
        Forward {
            kind: UpstreamKind::OpenAi,
            base_url: base_url.into(),
            api_key: Some(key),
            organization: None,
            project: None,
        }
    }
}

#[derive(Clone, Debug)]
pub enum UpstreamKind {
    /// `Authorization: Bearer <key>`, paths `/images/…` under the base URL.
    OpenAi,
    /// Azure OpenAI: `api-key` header, `/deployments/<deployment>/images/…?api-version=…`.
    Azure {
        deployment: String,
        api_version: String,
    },
    /// Any OpenAI-compatible server; the key goes in `auth_header` (as `Bearer <key>` when that
    /// header is `authorization`, else as it is).
    Compatible { auth_header: HeaderName },
}

/// An API key that never shows up in `Debug` output, and so never in a log line.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

/// A relay access token, kept only as its SHA-256 digest: comparing digests takes the same
/// time whatever the guess, and the token itself is never held where a log could print it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccessToken([u8; 32]);

impl AccessToken {
    pub fn new(token: &str) -> AccessToken {
        AccessToken(Sha256::digest(token.as_bytes()).into())
    }

    /// A short, stable label for rate limiting and logs (not enough to recover the token).
    pub(crate) fn label(&self) -> String {
        self.0[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken({}…)", self.label())
    }
}

/// Tokens from a file: one per line; blank lines and `#` comments ignored.
pub fn parse_token_list(text: &str) -> Vec<AccessToken> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(AccessToken::new)
        .collect()
}

/// A token bucket: `burst` requests at once, refilled at `per_minute`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        assert_eq!(format!("{:?}", ApiKey::new("sk-secret")), "ApiKey(…)");
        let token = format!("{:?}", AccessToken::new("relay-secret"));
        assert!(!token.contains("relay-secret"), "{token}");
    }

    #[test]
    fn token_lists_skip_comments_and_blanks() {
        let tokens = parse_token_list("# team\nalpha\n\n  beta  \n");
        assert_eq!(
            tokens,
            vec![AccessToken::new("alpha"), AccessToken::new("beta")]
        );
    }
}
