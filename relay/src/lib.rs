//! Easel's relay: holds the API key so a page can be public, forwards image requests to the
//! configured upstream (or answers them with the offline generator), and serves the built app.
//!
//! `app(config)` builds the whole service; `main.rs` only reads the configuration and serves it.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

mod error;
pub mod mock;
mod proxy;
mod site;

pub use error::AppError;

/// OpenAI's API, the default upstream.
pub const DEFAULT_UPSTREAM: &str = "https://api.openai.com/v1";

/// The largest request body the relay accepts. Generation bodies are JSON with a prompt of at
/// most 32,000 characters, far below this.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Where image requests go.
#[derive(Clone, Debug)]
pub enum Upstream {
    /// Answered here by the offline generator.
    Offline,
    /// Forwarded to an OpenAI-compatible API with the relay's own key.
    Forward {
        /// e.g. `https://api.openai.com/v1`; `/images/generations` is appended.
        base_url: String,
        api_key: ApiKey,
        organization: Option<String>,
        project: Option<String>,
    },
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

#[derive(Clone, Debug)]
pub struct Config {
    pub upstream: Upstream,
    /// The built app (Trunk's `dist/`); `None` serves a note that the app is not built.
    pub dist_dir: Option<PathBuf>,
    /// Exact origins (`https://me.github.io`) allowed to call the API from other pages; `*`
    /// allows any. Empty: only pages served by the relay itself.
    pub allowed_origins: Vec<String>,
    /// How long the offline generator pretends to work, so placeholders can be seen.
    pub generator_latency: Duration,
    /// Total time allowed for one upstream request, body included.
    pub upstream_timeout: Duration,
    /// The address clients use to reach the relay (e.g. `https://easel.example.com`), for the
    /// URLs of generated images; by default `http://` plus the request's Host header.
    pub public_url: Option<String>,
}

impl Default for Config {
    /// Offline, no app, no other origins, no artificial latency.
    fn default() -> Config {
        Config {
            upstream: Upstream::Offline,
            dist_dir: None,
            allowed_origins: Vec::new(),
            generator_latency: Duration::ZERO,
            upstream_timeout: Duration::from_secs(300),
            public_url: None,
        }
    }
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState {
    pub config: Arc<Config>,
    pub client: reqwest::Client,
    pub generated: Arc<mock::ImageStore>,
}

/// The whole relay: API routes, static app, CORS and request tracing.
pub fn app(config: Config) -> Router {
    let client = reqwest::Client::builder()
        .timeout(config.upstream_timeout)
        .connect_timeout(Duration::from_secs(10))
        // A streamed POST body cannot be replayed, so redirects are passed back, not followed.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("easel-relay/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the TLS backend initialises");
    let cors = cors_layer(&config.allowed_origins);
    let site = site::router(config.dist_dir.as_deref());
    let state = AppState {
        config: Arc::new(config),
        client,
        generated: Arc::new(mock::ImageStore::default()),
    };

    let api = Router::new()
        .route("/v1/images/generations", post(generations))
        .route("/v1/relay/info", get(info))
        .route("/v1/generated/{file}", get(mock::generated_image))
        .route("/v1", any(not_found))
        .route("/v1/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);

    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(api)
        .fallback_service(site)
        .layer(cors)
        .layer(
            // Method, path (never the query or headers), status and latency.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}

async fn generations(State(state): State<AppState>, request: Request) -> Response {
    if matches!(state.config.upstream, Upstream::Offline) {
        mock::generations(state, request).await
    } else {
        proxy::generations(state, request).await
    }
}

/// Which kind of upstream answers, so the app can say "offline generator". Never the key or URL.
async fn info(State(state): State<AppState>) -> impl IntoResponse {
    let upstream = match state.config.upstream {
        Upstream::Offline => "offline",
        Upstream::Forward { .. } => "openai",
    };
    Json(serde_json::json!({ "upstream": upstream }))
}

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// CORS for pages on other origins (e.g. the app on GitHub Pages using this relay). Origins
/// outside the list get no CORS headers, so their browsers refuse the response.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.iter().any(|o| o.trim() == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|origin| {
            let origin = origin.trim().trim_end_matches('/');
            let value = HeaderValue::from_str(origin).ok();
            if value.is_none() {
                tracing::warn!(
                    origin,
                    "ignoring an allowed origin that is not a valid header"
                );
            }
            value
        }))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("openai-organization"),
            HeaderName::from_static("openai-project"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .max_age(Duration::from_secs(3600))
}
