//! The guard rails in front of the image routes: origin allowlist, access tokens, per-client
//! rate limit and the global concurrency limit. Each refusal is an `AppError`, so it is
//! answered in the API's error envelope and never reaches the upstream.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{AccessToken, RateLimit};
use crate::{AppError, AppState, Config};

/// Who a request comes from, for rate limiting: its token when it has one, else its address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ClientKey {
    Token(String),
    Address(String),
}

/// Refuses pages on origins outside the allowlist: preflights get 403 (so the browser never
/// sends the request), and so do image requests, which a form on any site could otherwise
/// send with a "simple" content type. Pages served by the relay itself are always allowed.
pub(crate) async fn origins(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return next.run(request).await;
    };
    let origin = origin.to_str().unwrap_or_default();
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let image_request = request.uri().path().starts_with("/v1/images/");
    if (preflight || image_request) && !origin_allowed(&state.config, origin, request.headers()) {
        tracing::info!(
            origin,
            "refused a page from an origin outside the allowlist"
        );
        return AppError::OriginNotAllowed.into_response();
    }
    next.run(request).await
}

fn origin_allowed(config: &Config, origin: &str, headers: &HeaderMap) -> bool {
    let listed = config.allowed_origins.iter().any(|allowed| {
        let allowed = allowed.trim().trim_end_matches('/');
        allowed == "*" || allowed.eq_ignore_ascii_case(origin)
    });
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let same_origin = host.is_some_and(|host| {
        origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
    });
    let public = config
        .public_url
        .as_deref()
        .is_some_and(|url| url.trim_end_matches('/').eq_ignore_ascii_case(origin));
    listed || same_origin || public
}

/// With tokens configured, an image request needs `Authorization: Bearer <token>`.
pub(crate) async fn access_tokens(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let tokens = &state.config.access_tokens;
    if tokens.is_empty() {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(|token| AccessToken::new(token.trim()));
    match presented {
        Some(token) if tokens.contains(&token) => {
            request.extensions_mut().insert(token);
            next.run(request).await
        }
        _ => AppError::Unauthorized.into_response(),
    }
}

/// Token buckets per client. Full buckets are forgotten when the map grows, so a flood of
/// addresses cannot grow it without bound.
pub(crate) struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<ClientKey, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

const MAX_TRACKED_CLIENTS: usize = 100_000;

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the client's bucket, or says how many seconds until it can.
    fn take(&self, client: ClientKey, now: Instant) -> Result<(), u64> {
        let per_second = f64::from(self.limit.per_minute.max(1)) / 60.0;
        let burst = f64::from(self.limit.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED_CLIENTS {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * per_second < burst
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let refilled = now.duration_since(bucket.updated).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refilled).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_second).ceil().max(1.0) as u64)
        }
    }
}

pub(crate) async fn rate_limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = &state.rate_limiter else {
        return next.run(request).await;
    };
    let client = client_key(&state.config, &request);
    match limiter.take(client, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(retry_after_secs) => AppError::RateLimited { retry_after_secs }.into_response(),
    }
}

fn client_key(config: &Config, request: &Request) -> ClientKey {
    if let Some(token) = request.extensions().get::<AccessToken>() {
        return ClientKey::Token(token.label());
    }
    let forwarded = config
        .trust_forwarded_for
        .then(|| {
            let value = request.headers().get("x-forwarded-for")?.to_str().ok()?;
            // The last hop is the one our own proxy added; earlier ones the client can forge.
            Some(value.rsplit(',').next()?.trim().to_owned())
        })
        .flatten();
    let peer = || {
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
    };
    ClientKey::Address(forwarded.or_else(peer).unwrap_or_else(|| "unknown".into()))
}

/// The global limit on image requests in flight. Unlike tower's `ConcurrencyLimit`, which
/// frees its slot once the response headers are out, the slot here is held by the response
/// body: an image stream that lasts two minutes counts for two minutes. A request that finds
/// no free slot is shed at once (503), never queued.
pub(crate) async fn concurrency(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(permit) = Arc::clone(&state.in_flight).try_acquire_owned() else {
        tracing::warn!("concurrency limit reached: shedding a request");
        return AppError::Overloaded.into_response();
    };
    next.run(request).await.map(|body| {
        Body::new(HoldPermit {
            body,
            _permit: permit,
        })
    })
}

pub(crate) fn semaphore(config: &Config) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(config.max_concurrent.max(1)))
}

/// A body that keeps a concurrency slot until it is finished or dropped.
struct HoldPermit {
    body: Body,
    _permit: OwnedSemaphorePermit,
}

impl http_body::Body for HoldPermit {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn buckets_refill_at_the_configured_rate() {
        let limiter = RateLimiter::new(RateLimit {
            per_minute: 60,
            burst: 2,
        });
        let start = Instant::now();
        let me = || ClientKey::Address("10.0.0.1".into());
        assert_eq!(limiter.take(me(), start), Ok(()));
        assert_eq!(limiter.take(me(), start), Ok(()));
        assert_eq!(limiter.take(me(), start), Err(1));
        // Someone else has their own bucket.
        assert_eq!(
            limiter.take(ClientKey::Address("10.0.0.2".into()), start),
            Ok(())
        );
        assert_eq!(
            limiter.take(me(), start + Duration::from_millis(1100)),
            Ok(())
        );
    }

    #[test]
    fn origins_match_exactly_or_by_host() {
        let config = Config {
            allowed_origins: vec!["https://me.github.io/".into()],
            ..Config::default()
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "relay.example:8080".parse().unwrap());
        assert!(origin_allowed(&config, "https://me.github.io", &headers));
        assert!(origin_allowed(
            &config,
            "http://relay.example:8080",
            &headers
        ));
        assert!(!origin_allowed(
            &config,
            "https://me.github.io.evil",
            &headers
        ));
        assert!(!origin_allowed(&config, "null", &headers));
    }
}
