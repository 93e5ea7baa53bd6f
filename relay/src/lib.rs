//! Easel's relay: holds the API key so a page can be public, forwards image requests to the
//! configured upstream (or answers them with the offline generator), and serves the built app.
//!
//! `app(config)` builds the whole service; `serve` runs it with graceful shutdown; `main.rs`
//! only reads the configuration.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::serve::ListenerExt as _;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub mod config;
mod error;
mod guard;
mod inspect;
pub mod mock;
mod proxy;
mod site;

pub use config::{
    AccessToken, ApiKey, Config, DEFAULT_UPSTREAM, Forward, RateLimit, Upstream, UpstreamKind,
};
pub use error::AppError;
pub use mock::Fault;

use inspect::{FAULT_HEADER, Operation};

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState {
    pub config: Arc<Config>,
    pub client: reqwest::Client,
    pub generated: Arc<mock::ImageStore>,
    pub rate_limiter: Option<Arc<guard::RateLimiter>>,
    pub in_flight: Arc<Semaphore>,
    readiness: Arc<Mutex<Option<(Instant, bool)>>>,
}

/// The relay's own id for a request, in logs and in the `x-relay-request-id` header.
#[derive(Clone, Debug)]
struct RequestId(String);

const RELAY_REQUEST_ID: HeaderName = HeaderName::from_static("x-relay-request-id");

/// The whole relay: API routes behind their guard rails, the static app, CORS, security
/// headers and request logging.
pub fn app(config: Config) -> Router {
    let client = reqwest::Client::builder()
        .timeout(config.upstream_timeout)
        .connect_timeout(Duration::from_secs(10))
        // A POST body cannot be replayed elsewhere, and the upstream comes from configuration
        // only: redirects are passed back, never followed.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("easel-relay/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the TLS backend initialises");
    let cors = cors_layer(&config);
    let site = site::router(config.dist_dir.as_deref());
    let state = AppState {
        rate_limiter: config
            .rate_limit
            .map(|limit| Arc::new(guard::RateLimiter::new(limit))),
        in_flight: guard::semaphore(&config),
        config: Arc::new(config),
        client,
        generated: Arc::new(mock::ImageStore::default()),
        readiness: Arc::default(),
    };

    // Outermost last: tokens are checked before the rate limit (so a valid token is the
    // client's identity), and both before a concurrency slot is taken.
    let images = Router::new()
        .route("/v1/images/generations", post(generations))
        .route("/v1/images/edits", post(edits))
        .route("/v1/images/variations", post(variations))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::concurrency,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::rate_limit,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::access_tokens,
        ));

    let api = Router::new()
        .merge(images)
        .route("/v1/relay/info", get(info))
        .route("/v1/generated/{file}", get(mock::generated_image))
        .route("/v1", any(not_found))
        .route("/v1/{*rest}", any(not_found))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());

    Router::new()
        .merge(api)
        .fallback_service(site)
        .layer(cors)
        .layer(middleware::from_fn_with_state(state, guard::origins))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // The app's pages carry their own, fuller policy (site.rs); everything else is data.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(
            // Method, path (never the query or headers), status, latency and both request ids.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = request
                        .extensions()
                        .get::<RequestId>()
                        .map_or("", |id| id.0.as_str());
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = id,
                    )
                })
                .on_request(())
                .on_response(
                    |response: &Response, latency: Duration, _: &tracing::Span| {
                        let upstream_id = response
                            .headers()
                            .get("x-request-id")
                            .or_else(|| response.headers().get("apim-request-id"))
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        tracing::info!(
                            status = response.status().as_u16(),
                            latency_ms = latency.as_secs_f64() * 1000.0,
                            upstream_request_id = upstream_id,
                            "response"
                        );
                    },
                )
                .on_failure(()),
        )
        .layer(middleware::from_fn(request_id))
}

/// Runs the relay on `listener` until `shutdown` resolves, then lets open requests finish for
/// at most `grace` (an image stream may run for minutes; a stop request should not).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let stopped = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        // An error means the sender is gone, which also means stop.
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    // Small answers and stream events go out at once rather than waiting on Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped(stopping.clone()));
    let grace_over = async {
        stopped(stopping).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result,
        () = grace_over => {
            tracing::warn!("open requests did not finish in time; stopping anyway");
            Ok(())
        }
    }
}

async fn request_id(mut request: Request, next: Next) -> Response {
    // Always our own: a client-chosen id could forge or garble log lines.
    let id = mock::random_hex()[..16].to_owned();
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(RELAY_REQUEST_ID, value);
    }
    response
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

async fn images(state: AppState, operation: Operation, request: Request) -> Response {
    let result = async {
        let incoming = inspect::read(&state.config, operation, request).await?;
        if state.config.log_prompts
            && let Some(prompt) = incoming.form.field("prompt")
        {
            tracing::info!(prompt, "prompt");
        }
        match &state.config.upstream {
            Upstream::Offline => Ok(mock::answer(&state, incoming).await),
            Upstream::Forward(upstream) => proxy::forward(&state, upstream, incoming).await,
        }
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// Which kind of upstream answers, so the app can say "offline generator", and whether it
/// needs a token. Never the key or URL.
async fn info(State(state): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({
        "upstream": state.config.upstream.kind_name(),
        "token_required": !state.config.access_tokens.is_empty(),
    }))
}

/// Ready when requests can be answered: the generator always is; an upstream must answer HTTP
/// at all (any status: the check sends no key). Checked at most every 10 s.
async fn readyz(State(state): State<AppState>) -> Response {
    let Upstream::Forward(upstream) = &state.config.upstream else {
        return Json(serde_json::json!({"ready": true, "upstream": "offline"})).into_response();
    };
    let cached = *state.readiness.lock().unwrap_or_else(|e| e.into_inner());
    let ready = match cached {
        Some((at, ready)) if at.elapsed() < Duration::from_secs(10) => ready,
        _ => {
            let probe = state
                .client
                .get(upstream.base_url.trim_end_matches('/'))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            let ready = probe.is_ok();
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

/// CORS for pages on other origins (e.g. the app on GitHub Pages using this relay). Origins
/// outside the list get no CORS headers (and `guard::origins` refuses their preflights).
fn cors_layer(config: &Config) -> CorsLayer {
    let origins = &config.allowed_origins;
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
    let mut headers = vec![
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        HeaderName::from_static("openai-organization"),
        HeaderName::from_static("openai-project"),
    ];
    if config.test_mode {
        headers.push(HeaderName::from_static(FAULT_HEADER));
    }
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(headers)
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            RELAY_REQUEST_ID,
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(3600))
}
