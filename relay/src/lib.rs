//! Easel's relay: holds the API key so a page can be public, forwards image requests to the
//! configured upstream (or answers them with the offline generator), and serves the built app.
//!
//! `app(config)` builds the whole service; `serve` runs it with graceful shutdown; `main.rs`
//! only reads the configuration.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub mod config;
mod connection;
mod edge;
mod error;
mod guard;
// `inspect` (the request checks) and `pool` (the upstream answer parser) read untrusted bytes:
// public only so that the fuzz targets in relay/fuzz drive the very code the relay runs, not an
// API.
#[doc(hidden)]
pub mod inspect;
pub mod mock;
#[doc(hidden)]
pub mod pool;
mod proxy;
mod shares;
mod site;
pub mod workers;

pub use config::{
    AccessToken, ApiKey, Config, DEFAULT_UPSTREAM, Forward, RateLimit, ShareStore, Shares,
    Upstream, UpstreamKind,
};
pub use connection::Timeouts;
pub use error::AppError;
pub use mock::Fault;

use inspect::Operation;

/// What every handler shares: one `Arc`, so handing it to a handler is one increment.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

pub(crate) struct Shared {
    pub config: Arc<Config>,
    /// The upstream client, when requests are forwarded rather than generated.
    forwarder: Option<proxy::Forwarder>,
    pub generated: mock::ImageStore,
    pub rate_limiter: Option<guard::RateLimiter>,
    pub in_flight: Arc<Semaphore>,
    /// Hosted share links, when configured.
    pub shares: Option<Arc<shares::Hosted>>,
    cors: edge::Cors,
    readiness: Mutex<Option<(Instant, bool)>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The whole relay as a `Router` (what tests drive with `oneshot`): API routes behind their
/// guard rails, the static app, CORS, security headers and request logging.
pub fn app(config: Config) -> Router {
    // Mounted as the one service of an outer router so that the edge wraps the routes once,
    // not each route.
    Router::new().fallback_service(service(config).edge)
}

/// The same relay as `app`, without the outer router that only hands every request to it:
/// what the binary serves.
pub fn service(config: Config) -> Relay {
    let site = site::router(config.dist_dir.as_deref());
    let config = Arc::new(config);
    let state = AppState(Arc::new(Shared {
        rate_limiter: config.rate_limit.map(guard::RateLimiter::new),
        in_flight: guard::semaphore(&config),
        forwarder: match &config.upstream {
            Upstream::Forward(upstream) => Some(proxy::Forwarder::new(upstream, &config)),
            Upstream::Offline => None,
        },
        config: Arc::clone(&config),
        generated: mock::ImageStore::default(),
        shares: config
            .shares
            .as_ref()
            .map(|shares| Arc::new(shares::Hosted::new(shares))),
        cors: edge::Cors::new(&config),
        readiness: Mutex::default(),
    }));

    let routes = Router::new()
        .route("/v1/images/generations", post(generations))
        .route("/v1/images/edits", post(edits))
        .route("/v1/images/variations", post(variations))
        .route("/v1/shares", post(shares::create))
        .route("/v1/shares/{id}", get(shares::show).delete(shares::delete))
        .route("/v1/shares/{id}/images/{sha256}", get(shares::image))
        .route("/v1/relay/info", get(info))
        .route("/v1/generated/{file}", get(mock::generated_image))
        .route("/v1", any(not_found))
        .route("/v1/{*rest}", any(not_found))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .fallback_service(site);
    // Every request, whatever its route, passes the edge first (request id, log, origins, CORS,
    // security headers).
    Relay {
        edge: edge::Edge::new(state, routes),
        timeouts: Timeouts::of(&config),
    }
}

/// The relay as a tower service (see `service`), with the client timeouts it is to be served
/// with.
#[derive(Clone)]
pub struct Relay {
    edge: edge::Edge,
    timeouts: Timeouts,
}

impl Relay {
    /// The configuration's client timeouts, for `serve`.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }
}

impl tower::Service<Request> for Relay {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<Response, std::convert::Infallible>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.edge.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        self.edge.call(request)
    }
}

/// Runs the relay on `listener` until `shutdown` resolves, then lets open requests finish for
/// at most `grace` (an image stream may run for minutes; a stop request should not). Clients
/// are held to `timeouts` (see connection.rs).
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let stopped = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        // An error means the sender is gone, which also means stop.
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let server = connection::serve(listener, app, timeouts, stopped(stopping.clone()));
    let grace_over = async {
        stopped(stopping).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        () = server => Ok(()),
        () = grace_over => {
            tracing::warn!("open requests did not finish in time; stopping anyway");
            Ok(())
        }
    }
}

async fn generations(State(state): State<AppState>, request: Request) -> Response {
    images(state, Operation::Generations, request).await
}

async fn edits(State(state): State<AppState>, request: Request) -> Response {
    images(state, Operation::Edits, request).await
}

async fn variations(State(state): State<AppState>, request: Request) -> Response {
    images(state, Operation::Variations, request).await
}

/// The guard rails in order: the token first (it is the client's identity for the rate limit),
/// then the rate limit, then a concurrency slot, held until the response body ends.
pub(crate) async fn images(state: AppState, operation: Operation, request: Request) -> Response {
    let result = async {
        let token = guard::access_token(&state.config, &request)?;
        guard::rate_limit(&state, token.as_ref(), &request)?;
        let permit = guard::concurrency_slot(&state)?;
        let response = async {
            let incoming = inspect::read(&state.config, operation, request).await?;
            match &state.forwarder {
                None => Ok(mock::answer(&state, incoming).await),
                Some(forwarder) => forwarder.forward(incoming).await,
            }
        };
        let response = response.await.unwrap_or_else(IntoResponse::into_response);
        Ok::<_, AppError>(guard::hold(response, permit))
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// Which kind of upstream answers, so the app can say "offline generator", whether it needs a
/// token, and whether (and how much) it hosts shares. Never the key, URL or store.
async fn info(State(state): State<AppState>) -> impl IntoResponse {
    let mut info = serde_json::json!({
        "upstream": state.config.upstream.kind_name(),
        "token_required": !state.config.access_tokens.is_empty(),
    });
    if let (Value::Object(info), Value::Object(shares)) = (&mut info, shares::info(&state)) {
        info.extend(shares);
    }
    Json(info)
}

/// Ready when requests can be answered: the generator always is; an upstream must answer HTTP
/// at all (any status: the check sends no key). Checked at most every 10 s.
async fn readyz(State(state): State<AppState>) -> Response {
    let Some(forwarder) = &state.forwarder else {
        return Json(serde_json::json!({"ready": true, "upstream": "offline"})).into_response();
    };
    let cached = *state.readiness.lock().unwrap_or_else(|e| e.into_inner());
    let ready = match cached {
        Some((at, ready)) if at.elapsed() < Duration::from_secs(10) => ready,
        _ => {
            let ready = forwarder.ready().await;
            *state.readiness.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((Instant::now(), ready));
            ready
        }
    };
    let kind = state.config.upstream.kind_name();
    if ready {
        Json(serde_json::json!({"ready": true, "upstream": kind})).into_response()
    } else {
        let mut response = AppError::UpstreamUnreachable.into_response();
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        response
    }
}

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
