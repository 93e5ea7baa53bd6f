//! What every request passes through: the relay's own request id, the request's log span and
//! response line, the origin allowlist, CORS and the security headers; and the way to the three
//! image routes.
//!
//! One hand-written service rather than a stack of `middleware::from_fn`, `SetResponseHeader`,
//! `Trace` and `Cors` layers: axum clones a route's whole layer stack for every request, each
//! `from_fn` clones and boxes its inner stack again, and tower-http's CORS builds a header map
//! and joins its `Vary` list per request. Together that cost more than the forwarding itself
//! (callgrind: about 80k instructions per request). The image routes, the hot path, go straight
//! to their handler; everything else goes through the router.

use std::convert::Infallible;
use std::future::Future;
use std::hash::BuildHasher as _;
use std::pin::Pin;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use tower::Service;
use tracing::Instrument as _;

use crate::inspect::{FAULT_HEADER, Operation};
use crate::{AppError, AppState, Config};

pub(crate) const RELAY_REQUEST_ID: HeaderName = HeaderName::from_static("x-relay-request-id");

/// Set on every response that has not set its own; the app's pages carry their own, fuller
/// policy (site.rs), everything else is data.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
];

/// The relay as one service: two `Arc`s to clone per request.
#[derive(Clone)]
pub(crate) struct Edge {
    state: AppState,
    router: Router,
}

impl Edge {
    pub fn new(state: AppState, router: Router) -> Edge {
        Edge { state, router }
    }
}

/// Where a request goes once past the origin check.
enum Next {
    Refused,
    Preflight,
    Images(Operation, Request),
    Router(<Router as Service<Request>>::Future),
}

impl Service<Request> for Edge {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        // Always our own: a client-chosen id could forge or garble log lines.
        let id = RequestId::new();
        // Method, path (never the query or headers) and the id; the macro evaluates none of
        // them when the level is off.
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = id.as_str(),
        );
        let state = self.state.clone();
        let origin = request.headers().get(header::ORIGIN).cloned();
        let next = {
            let _entered = span.enter();
            if !origin_permitted(&state.config, &request) {
                Next::Refused
            } else if request.method() == Method::OPTIONS {
                // As tower-http's CORS layer: every OPTIONS request is answered here.
                Next::Preflight
            } else if let Some(operation) = image_route(&request) {
                Next::Images(operation, request)
            } else {
                Next::Router(self.router.call(request))
            }
        };
        // Log lines written while the body streams (an upstream that went quiet) carry the
        // request's span too.
        let body_span = (!span.is_disabled()).then(|| span.clone());
        let answer = async move {
            let cors = &state.cors;
            let response = match next {
                Next::Refused => AppError::OriginNotAllowed.into_response(),
                Next::Preflight => cors.preflight(origin.as_ref()),
                Next::Images(operation, request) => {
                    let response = crate::images(state.clone(), operation, request).await;
                    cors.add_to(response, origin.as_ref())
                }
                Next::Router(future) => match future.await {
                    Ok(response) => cors.add_to(response, origin.as_ref()),
                    Err(never) => match never {},
                },
            };
            let mut response = with_security_headers(response);
            log_response(&response, started);
            response
                .headers_mut()
                .insert(RELAY_REQUEST_ID, id.header_value());
            Ok(match body_span {
                Some(span) => response.map(|body| Body::new(InSpan { body, span })),
                None => response,
            })
        };
        Box::pin(answer.instrument(span))
    }
}

/// The image routes, matched as the router would (exact path, `POST` only: other methods get
/// the router's 405).
fn image_route(request: &Request) -> Option<Operation> {
    if request.method() != Method::POST {
        return None;
    }
    match request.uri().path() {
        "/v1/images/generations" => Some(Operation::Generations),
        "/v1/images/edits" => Some(Operation::Edits),
        "/v1/images/variations" => Some(Operation::Variations),
        _ => None,
    }
}

/// CORS for pages on other origins (e.g. the app on GitHub Pages using this relay), as
/// tower-http's `CorsLayer` did it with the same settings, with every header value made once.
/// Origins outside the list get no CORS headers (and `origin_permitted` refuses their
/// preflights).
pub(crate) struct Cors {
    allow_origin: AllowOrigin,
    allow_methods: HeaderValue,
    allow_headers: HeaderValue,
    expose_headers: HeaderValue,
    max_age: HeaderValue,
    vary: HeaderValue,
}

enum AllowOrigin {
    Any,
    /// Compared byte for byte with the request's `Origin`.
    List(Vec<HeaderValue>),
}

impl Cors {
    pub fn new(config: &Config) -> Cors {
        let origins = &config.allowed_origins;
        let allow_origin = if origins.iter().any(|o| o.trim() == "*") {
            AllowOrigin::Any
        } else {
            AllowOrigin::List(
                origins
                    .iter()
                    .filter_map(|origin| {
                        let origin = origin.trim().trim_end_matches('/');
                        let value = HeaderValue::from_str(origin).ok();
                        if value.is_none() {
                            tracing::warn!(
                                origin,
                                "ignoring an allowed origin that is not a valid header"
                            );
                        }
                        value
                    })
                    .collect(),
            )
        };
        // x-delete-token: a share's creator deletes it from the app (shares/).
        let mut allow_headers =
            "authorization,content-type,openai-organization,openai-project,x-delete-token"
                .to_owned();
        if config.test_mode {
            allow_headers.push(',');
            allow_headers.push_str(FAULT_HEADER);
        }
        Cors {
            allow_origin,
            allow_methods: HeaderValue::from_static("GET,POST,DELETE,OPTIONS"),
            allow_headers: HeaderValue::from_str(&allow_headers).expect("header names"),
            expose_headers: HeaderValue::from_static("x-request-id,x-relay-request-id,retry-after"),
            max_age: HeaderValue::from_static("3600"),
            vary: HeaderValue::from_static(
                "origin, access-control-request-method, access-control-request-headers",
            ),
        }
    }

    fn allowed_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match &self.allow_origin {
            AllowOrigin::Any => Some(HeaderValue::from_static("*")),
            AllowOrigin::List(list) => origin.filter(|o| list.contains(o)).cloned(),
        }
    }

    /// The answer to a preflight: empty, with what the page may send.
    fn preflight(&self, origin: Option<&HeaderValue>) -> Response {
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert(header::VARY, self.vary.clone());
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            self.allow_methods.clone(),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            self.allow_headers.clone(),
        );
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        if let Some(allowed) = self.allowed_origin(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        }
        response
    }

    /// Any other answer: whom it is for and which headers the page may read. `Vary` is added
    /// to any the response has; the others replace theirs.
    fn add_to(&self, mut response: Response, origin: Option<&HeaderValue>) -> Response {
        let headers = response.headers_mut();
        headers.append(header::VARY, self.vary.clone());
        if let Some(allowed) = self.allowed_origin(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        }
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            self.expose_headers.clone(),
        );
        response
    }
}

/// Refuses pages on origins outside the allowlist: preflights (so the browser never sends the
/// request), and image requests and share uploads and deletes, which a form on any site could
/// otherwise send with a "simple" content type. Pages served by the relay itself are always
/// allowed.
fn origin_permitted(config: &Config, request: &Request) -> bool {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or_default();
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let path = request.uri().path();
    let image_request = path.starts_with("/v1/images/");
    // Making or deleting a share, not opening one: a share link is for anyone.
    let share_change = (path == "/v1/shares" || path.starts_with("/v1/shares/"))
        && request.method() != Method::GET
        && request.method() != Method::HEAD;
    if (preflight || image_request || share_change)
        && !origin_allowed(config, origin, request.headers())
    {
        tracing::info!(
            origin,
            "refused a page from an origin outside the allowlist"
        );
        return false;
    }
    true
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

fn with_security_headers(mut response: Response) -> Response {
    // A 304 refreshes the headers of the response the browser cached: a revisited page must
    // keep its own policy, which the data default would replace, and the app would not start.
    let revalidated = response.status() == StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        let framing = name == header::CONTENT_SECURITY_POLICY || name == header::X_FRAME_OPTIONS;
        if !(revalidated && framing) {
            headers.entry(name).or_insert(value);
        }
    }
    response
}

/// Status, latency and the upstream's request id (the one to quote in a support request).
fn log_response(response: &Response, started: Instant) {
    let upstream_id = || {
        response
            .headers()
            .get("x-request-id")
            .or_else(|| response.headers().get("apim-request-id"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        upstream_request_id = upstream_id(),
        "response"
    );
}

/// 16 hex digits: a per-process random key hashed with a counter, so ids neither repeat nor
/// reveal how many requests came before.
struct RequestId([u8; 16]);

impl RequestId {
    fn new() -> RequestId {
        static KEYS: LazyLock<std::hash::RandomState> = LazyLock::new(Default::default);
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let value = KEYS.hash_one(COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut digits = [0; 16];
        for (i, digit) in digits.iter_mut().enumerate() {
            *digit = b"0123456789abcdef"[(value >> (60 - 4 * i)) as usize & 0xf];
        }
        RequestId(digits)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits")
    }

    fn header_value(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.0).expect("hex digits are a valid header value")
    }
}

/// A response body polled inside its request's span.
struct InSpan {
    body: Body,
    span: tracing::Span,
}

impl http_body::Body for InSpan {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        Pin::new(&mut this.body).poll_frame(cx)
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
    use super::*;

    #[test]
    fn request_ids_are_16_hex_digits_and_differ() {
        let (a, b) = (RequestId::new(), RequestId::new());
        assert_eq!(a.as_str().len(), 16);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
    }

    /// The headers of the answer tower-http's `CorsLayer` (set up as the relay had it) and
    /// `Cors` give, for every kind of request and setting the relay has.
    #[tokio::test]
    async fn cors_answers_as_tower_http_did() {
        use std::time::Duration;
        use tower::ServiceExt as _;
        use tower_http::cors::{AllowOrigin as TowerOrigin, CorsLayer};

        fn sorted(headers: &HeaderMap) -> Vec<(String, String)> {
            let mut list: Vec<_> = headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                .collect();
            list.sort();
            list
        }

        for (origins, test_mode) in [
            (vec![], false),
            (
                vec!["https://me.github.io/", " https://other.example "],
                true,
            ),
            (vec!["*"], false),
        ] {
            let config = Config {
                allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
                test_mode,
                ..Config::default()
            };
            let allow_origin = if origins.contains(&"*") {
                TowerOrigin::any()
            } else {
                TowerOrigin::list(
                    origins
                        .iter()
                        .map(|o| HeaderValue::from_str(o.trim().trim_end_matches('/')).unwrap()),
                )
            };
            let mut allow_headers = vec![
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("openai-organization"),
                HeaderName::from_static("openai-project"),
                HeaderName::from_static("x-delete-token"),
            ];
            if test_mode {
                allow_headers.push(HeaderName::from_static(FAULT_HEADER));
            }
            let layer = CorsLayer::new()
                .allow_origin(allow_origin)
                .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
                .allow_headers(allow_headers)
                .expose_headers([
                    HeaderName::from_static("x-request-id"),
                    RELAY_REQUEST_ID,
                    header::RETRY_AFTER,
                ])
                .max_age(Duration::from_secs(3600));
            let cors = Cors::new(&config);
            for method in [Method::GET, Method::POST, Method::OPTIONS] {
                for origin in [
                    None,
                    Some("https://me.github.io"),
                    Some("https://other.example"),
                    Some("https://evil.example"),
                ] {
                    let mut request = Request::builder().method(method.clone()).uri("/v1/x");
                    if let Some(origin) = origin {
                        request = request.header(header::ORIGIN, origin);
                    }
                    let request = request
                        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                        .body(Body::empty())
                        .unwrap();
                    // An answer that already varies and names an origin of its own.
                    let inner = tower::service_fn(|_: Request| async {
                        let mut response = Response::new(Body::empty());
                        let headers = response.headers_mut();
                        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                        headers.insert(
                            header::ACCESS_CONTROL_ALLOW_ORIGIN,
                            HeaderValue::from_static("https://inner.example"),
                        );
                        Ok::<_, Infallible>(response)
                    });
                    let expected = tower::Layer::layer(&layer, inner)
                        .oneshot(request)
                        .await
                        .unwrap();
                    let origin = origin.map(HeaderValue::from_static);
                    let actual = if method == Method::OPTIONS {
                        cors.preflight(origin.as_ref())
                    } else {
                        let inner = inner.oneshot(Request::new(Body::empty())).await.unwrap();
                        cors.add_to(inner, origin.as_ref())
                    };
                    assert_eq!(actual.status(), expected.status());
                    assert_eq!(
                        sorted(actual.headers()),
                        sorted(expected.headers()),
                        "{origins:?} {method} {origin:?}"
                    );
                }
            }
        }
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
