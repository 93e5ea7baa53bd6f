//! The guard rails in front of the image routes: access tokens, per-client rate limit and the
//! global concurrency limit (the origin allowlist is in edge.rs, as it guards preflights too).
//! Each refusal is an `AppError`, so it is answered in the API's error envelope and never
//! reaches the upstream. Plain calls from the image handler, not middleware: a `from_fn` layer
//! clones and boxes the service stack under it on every request.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::header;
use axum::response::Response;
use http_body::Frame;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{AccessToken, RateLimit};
use crate::{AppError, AppState, Config};

/// Who a request comes from, for rate limiting: its token when it has one, else its address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ClientKey {
    Token(AccessToken),
    Address(IpAddr),
    /// An `X-Forwarded-For` hop that is not an address: still somebody's own bucket.
    Forwarded(String),
    Unknown,
}

/// With tokens configured, an image request needs `Authorization: Bearer <token>`; the token is
/// then the client's identity for the rate limit.
pub(crate) fn access_token(
    config: &Config,
    request: &Request,
) -> Result<Option<AccessToken>, AppError> {
    let tokens = &config.access_tokens;
    if tokens.is_empty() {
        return Ok(None);
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
        Some(token) if tokens.contains(&token) => Ok(Some(token)),
        _ => Err(AppError::Unauthorized),
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

/// Takes one request from the client's bucket, if rate limiting is on.
pub(crate) fn rate_limit(
    state: &AppState,
    token: Option<&AccessToken>,
    request: &Request,
) -> Result<(), AppError> {
    let Some(limiter) = &state.rate_limiter else {
        return Ok(());
    };
    let client = client_key(&state.config, token, request);
    limiter
        .take(client, Instant::now())
        .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })
}

fn client_key(config: &Config, token: Option<&AccessToken>, request: &Request) -> ClientKey {
    if let Some(token) = token {
        return ClientKey::Token(token.clone());
    }
    if config.trust_forwarded_for
        && let Some(value) = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        // The last hop is the one our own proxy added; earlier ones the client can forge.
        && let Some(hop) = value.rsplit(',').next().map(str::trim)
    {
        return match hop.parse() {
            Ok(address) => ClientKey::Address(address),
            Err(_) => ClientKey::Forwarded(hop.to_owned()),
        };
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(ClientKey::Unknown, |ConnectInfo(addr)| {
            ClientKey::Address(addr.ip())
        })
}

/// The global limit on image requests in flight. Unlike tower's `ConcurrencyLimit`, which
/// frees its slot once the response headers are out, the slot is held by the response body
/// (`hold`): an image stream that lasts two minutes counts for two minutes. A request that
/// finds no free slot is shed at once (503), never queued.
pub(crate) fn concurrency_slot(state: &AppState) -> Result<OwnedSemaphorePermit, AppError> {
    Arc::clone(&state.in_flight)
        .try_acquire_owned()
        .map_err(|_| {
            tracing::warn!("concurrency limit reached: shedding a request");
            AppError::Overloaded
        })
}

/// The response, its body holding `permit` until it is finished or dropped.
pub(crate) fn hold(response: Response, permit: OwnedSemaphorePermit) -> Response {
    response.map(|body| {
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
        let me = || ClientKey::Address([10, 0, 0, 1].into());
        assert_eq!(limiter.take(me(), start), Ok(()));
        assert_eq!(limiter.take(me(), start), Ok(()));
        assert_eq!(limiter.take(me(), start), Err(1));
        // Someone else has their own bucket.
        assert_eq!(
            limiter.take(ClientKey::Address([10, 0, 0, 2].into()), start),
            Ok(())
        );
        assert_eq!(
            limiter.take(me(), start + Duration::from_millis(1100)),
            Ok(())
        );
    }
}
