//! Forwarding to the configured upstream. The relay adds its own key and passes the answer
//! back as it arrives — Server-Sent Events chunk by chunk, never buffered — and upstream errors
//! (status, envelope, `retry-after`) reach the client unchanged.
//!
//! The client is hyper's HTTP/1 connection over rustls (webpki roots), with the relay's own pool
//! (pool.rs), rather than reqwest: reqwest parses the URL twice per request (`url` with IDNA)
//! and runs redirect and retry layers the relay turns off anyway, some 30k instructions a
//! request (callgrind), on top of hyper-util's pool. reqwest is kept for an upstream the
//! environment routes through a proxy (`HTTPS_PROXY` and co.), which it supports and the bare
//! client does not.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{self as http, HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use axum::response::Response;
use http_body::{Body as _, Frame, SizeHint};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use tokio::time::{Instant, Sleep};

use crate::AppError;
use crate::config::{ApiKey, Config, Forward, UpstreamKind};
use crate::inspect::{Incoming, Operation};
use crate::pool::{self, Pool, PooledBody};

/// Upstream headers the client needs: the body's type, the id to quote in a support request,
/// how long to wait before retrying, and the rate-limit budget. Names, not strings: comparing
/// with a `&str` parses the name every time; and a `static`, which a `const` array is not
/// (that would be built and dropped at each use).
static RESPONSE_HEADERS: [HeaderName; 9] = [
    header::CONTENT_TYPE,
    HeaderName::from_static("x-request-id"),
    header::RETRY_AFTER,
    HeaderName::from_static("retry-after-ms"),
    HeaderName::from_static("x-ratelimit-limit-requests"),
    HeaderName::from_static("x-ratelimit-remaining-requests"),
    HeaderName::from_static("x-ratelimit-reset-requests"),
    HeaderName::from_static("openai-processing-ms"),
    // Azure's own request id.
    HeaderName::from_static("apim-request-id"),
];

const USER_AGENT: &str = concat!("easel-relay/", env!("CARGO_PKG_VERSION"));
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends image requests to one upstream. Everything a request to it shares is worked out once,
/// here, rather than per request: the three URLs and the relay's own headers.
pub(crate) struct Forwarder {
    client: Client,
    prepared: Result<Prepared, String>,
    /// The whole exchange, body included.
    timeout: Duration,
    /// The longest silence in a body.
    idle: Duration,
}

enum Client {
    Direct(Arc<Pool>),
    Proxied(reqwest::Client),
}

struct Prepared {
    /// Indexed by `Operation as usize`.
    endpoints: [Endpoint; 3],
    /// The base URL, which `/readyz` asks.
    probe: Endpoint,
}

/// One URL, whole (to connect to, or for reqwest) and as the request line names it, with the
/// headers every request to it carries, and those written out once (pool.rs).
struct Endpoint {
    absolute: Uri,
    origin_form: Uri,
    headers: HeaderMap,
    head: Vec<u8>,
}

impl Endpoint {
    fn with_headers(mut self, method: &Method, headers: HeaderMap) -> Endpoint {
        self.head = pool::request_head(
            method,
            self.origin_form
                .path_and_query()
                .map_or("/", |p| p.as_str()),
            &headers,
        );
        self.headers = headers;
        self
    }
}

impl Forwarder {
    pub fn new(upstream: &Forward, config: &Config) -> Forwarder {
        // The same environment variables reqwest reads, through the same matcher.
        Forwarder::with_proxies(upstream, config, &Matcher::from_system())
    }

    fn with_proxies(upstream: &Forward, config: &Config, proxies: &Matcher) -> Forwarder {
        let prepared = Prepared::new(upstream);
        let proxied = prepared
            .as_ref()
            .is_ok_and(|p| proxies.intercept(&p.probe.absolute).is_some());
        let client = if proxied {
            Client::Proxied(proxied_client())
        } else {
            Client::Direct(direct_client())
        };
        Forwarder {
            client,
            prepared,
            timeout: config.upstream_timeout,
            idle: config.stream_idle_timeout,
        }
    }

    /// True when the environment sends this upstream's requests through a proxy.
    #[cfg(test)]
    fn proxied(&self) -> bool {
        matches!(self.client, Client::Proxied(_))
    }

    pub async fn forward(&self, incoming: Incoming) -> Result<Response, AppError> {
        let prepared = self.prepared.as_ref().map_err(|reason| {
            tracing::warn!(error = %reason, "upstream request failed");
            AppError::UpstreamUnreachable
        })?;
        let deadline = deadline_after(Instant::now(), self.timeout);
        let own = [
            (header::CONTENT_TYPE, incoming.content_type),
            (
                header::ACCEPT,
                // reqwest's default, kept so the upstream sees what it always saw.
                incoming
                    .accept
                    .unwrap_or_else(|| HeaderValue::from_static("*/*")),
            ),
        ];
        let endpoint = &prepared.endpoints[incoming.operation as usize];
        let sent = self.client.send(endpoint, &own, Some(incoming.body));
        let response = match tokio::time::timeout_at(deadline, sent).await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                tracing::warn!(error = %error.describe(), "upstream request failed");
                return Err(if error.is_timeout() {
                    AppError::UpstreamTimeout
                } else {
                    AppError::UpstreamUnreachable
                });
            }
            Err(_) => {
                tracing::warn!(error = "timed out", "upstream request failed");
                return Err(AppError::UpstreamTimeout);
            }
        };

        let (parts, body) = response.into_parts();
        let event_stream = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let body = Watched::new(body, self.idle, deadline, event_stream);
        let mut response = Response::new(Body::new(body));
        *response.status_mut() = parts.status;
        // Only RESPONSE_HEADERS, already (`Client::send`).
        *response.headers_mut() = parts.headers;
        let headers = response.headers_mut();
        if event_stream {
            // Tell a reverse proxy in front (nginx) not to buffer the stream either.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            headers.insert(
                HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            );
        }
        Ok(response)
    }

    /// Whether the upstream answers HTTP at all (any status: the check sends no key).
    pub async fn ready(&self) -> bool {
        let Ok(prepared) = &self.prepared else {
            return false;
        };
        let probe = self.client.send(&prepared.probe, &[], None);
        let probe = tokio::time::timeout(Duration::from_secs(5), probe);
        matches!(probe.await, Ok(Ok(_)))
    }
}

fn direct_client() -> Arc<Pool> {
    // As reqwest sets up its connector: no Nagle, TCP keepalive, and a bound on unacknowledged
    // data so a vanished upstream is noticed.
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_keepalive(Some(Duration::from_secs(15)));
    http.set_keepalive_interval(Some(Duration::from_secs(15)));
    http.set_keepalive_retries(Some(3));
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    http.set_tcp_user_timeout(Some(Duration::from_secs(30)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .expect("the TLS backend initialises")
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    // Redirects are passed back, never followed: a POST body cannot be replayed elsewhere, and
    // the upstream comes from configuration only. (hyper follows none.)
    Pool::new(https)
}

fn proxied_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the TLS backend initialises")
}

impl Client {
    /// A POST with `body`, or a GET without; the endpoint's headers and `own`. The answer has
    /// only RESPONSE_HEADERS, the first value of each.
    async fn send(
        &self,
        endpoint: &Endpoint,
        own: &[(HeaderName, HeaderValue)],
        body: Option<Bytes>,
    ) -> Result<http::Response<Upstream>, SendError> {
        match self {
            Client::Direct(pool) => {
                let response = pool
                    .send(
                        &endpoint.absolute,
                        &endpoint.head,
                        own,
                        body.as_ref(),
                        &RESPONSE_HEADERS,
                    )
                    .await;
                response
                    .map(|response| response.map(Upstream::Direct))
                    .map_err(SendError::Direct)
            }
            Client::Proxied(client) => {
                let method = if body.is_some() {
                    Method::POST
                } else {
                    Method::GET
                };
                let mut request = http::Request::new(body.unwrap_or_default());
                *request.method_mut() = method;
                *request.uri_mut() = endpoint.absolute.clone();
                let headers = request.headers_mut();
                headers.clone_from(&endpoint.headers);
                for (name, value) in own {
                    headers.insert(name, value.clone());
                }
                let request = reqwest::Request::try_from(request).map_err(SendError::Proxied)?;
                let response = client.execute(request).await.map_err(SendError::Proxied)?;
                let (mut parts, body) = http::Response::from(response).into_parts();
                // Room for these and what the edge adds; the first value of each, as listed.
                let mut headers = HeaderMap::with_capacity(16);
                for (name, value) in &parts.headers {
                    if RESPONSE_HEADERS.contains(name) {
                        headers.entry(name).or_insert_with(|| value.clone());
                    }
                }
                parts.headers = headers;
                Ok(http::Response::from_parts(parts, Upstream::Proxied(body)))
            }
        }
    }
}

enum SendError {
    Direct(pool::Error),
    Proxied(reqwest::Error),
}

impl SendError {
    fn is_timeout(&self) -> bool {
        match self {
            SendError::Direct(error) => timed_out(error.as_ref()),
            SendError::Proxied(error) => error.is_timeout(),
        }
    }

    /// The error and its causes, never the URL: the base URL is configuration, not for every
    /// log line.
    fn describe(&self) -> String {
        match self {
            SendError::Direct(error) => with_causes(error.as_ref()),
            SendError::Proxied(error) => {
                let mut text = with_causes(error);
                if let Some(url) = error.url() {
                    text = text.replace(url.as_str(), "<upstream>");
                }
                text
            }
        }
    }
}

/// Whether an error or any of its causes is an I/O timeout (hyper's connect timeout).
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        next = error.source();
    }
    false
}

fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// `now + timeout`, or far in the future when that does not fit (as tokio's own timeout does).
fn deadline_after(now: Instant, timeout: Duration) -> Instant {
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30))
}

impl Prepared {
    fn new(upstream: &Forward) -> Result<Prepared, String> {
        // Through `url` first, once: it normalises the URL as reqwest always did.
        let endpoint = |text: &str| {
            let absolute = reqwest::Url::parse(text)
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https"))
                .and_then(|url| Uri::try_from(url.as_str()).ok())
                .filter(|uri| uri.host().is_some())
                .ok_or_else(|| "the upstream URL is not valid".to_owned())?;
            let origin_form = absolute
                .path_and_query()
                .map_or_else(|| Uri::from_static("/"), |p| Uri::from(p.clone()));
            Ok::<_, String>(Endpoint {
                absolute,
                origin_form,
                headers: HeaderMap::new(),
                head: Vec::new(),
            })
        };
        let [generations, edits, variations] = [
            endpoint(&upstream_url(upstream, Operation::Generations))?,
            endpoint(&upstream_url(upstream, Operation::Edits))?,
            endpoint(&upstream_url(upstream, Operation::Variations))?,
        ];
        let probe = endpoint(upstream.base_url.trim_end_matches('/'))?;
        // Room for these and the request's own, so the map is not grown per request.
        let mut headers = HeaderMap::with_capacity(16);
        let value = |text: &str| {
            HeaderValue::from_str(text).map_err(|_| "a configured header is not valid".to_owned())
        };
        if let Some(key) = &upstream.api_key {
            let (name, mut key) = match &upstream.kind {
                UpstreamKind::OpenAi => (header::AUTHORIZATION, bearer(key)?),
                UpstreamKind::Azure { .. } => {
                    (HeaderName::from_static("api-key"), value(key.expose())?)
                }
                UpstreamKind::Compatible { auth_header }
                    if auth_header == header::AUTHORIZATION =>
                {
                    (header::AUTHORIZATION, bearer(key)?)
                }
                UpstreamKind::Compatible { auth_header } => {
                    (auth_header.clone(), value(key.expose())?)
                }
            };
            key.set_sensitive(true);
            headers.insert(name, key);
        }
        if let Some(organization) = &upstream.organization {
            headers.insert("openai-organization", value(organization)?);
        }
        if let Some(project) = &upstream.project {
            headers.insert("openai-project", value(project)?);
        }
        headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        // hyper would work this out (with `format!`) for every request.
        headers.insert(header::HOST, host(&probe.absolute)?);
        // The probe sends no key: only who is asking, and where.
        let mut probe_headers = HeaderMap::with_capacity(2);
        probe_headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        probe_headers.insert(header::HOST, headers[header::HOST].clone());
        // The key, organization, project, user agent and host on every image request.
        let endpoints = [generations, edits, variations]
            .map(|endpoint| endpoint.with_headers(&Method::POST, headers.clone()));
        Ok(Prepared {
            endpoints,
            probe: probe.with_headers(&Method::GET, probe_headers),
        })
    }
}

/// The `Host` header for `uri`, as hyper writes it: the host, and the port unless it is the
/// scheme's default.
fn host(uri: &Uri) -> Result<HeaderValue, String> {
    let host = uri.host().ok_or("the upstream URL has no host")?;
    let default_port = match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    let value = match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!("{host}:{port}"),
        _ => host.to_owned(),
    };
    HeaderValue::from_str(&value).map_err(|_| "the upstream host is not a valid header".to_owned())
}

fn bearer(key: &ApiKey) -> Result<HeaderValue, String> {
    HeaderValue::from_str(&format!("Bearer {}", key.expose()))
        .map_err(|_| "the API key is not a valid header value".to_owned())
}

/// Where the operation lives on this upstream. Only these three paths are ever built, and from
/// configuration alone: nothing in the request can point the relay elsewhere.
fn upstream_url(upstream: &Forward, operation: Operation) -> String {
    let base = upstream.base_url.trim_end_matches('/');
    match &upstream.kind {
        UpstreamKind::Azure {
            deployment,
            api_version,
        } => {
            // As the official SDK does: variations are not under a deployment.
            let deployment = match operation {
                Operation::Variations => String::new(),
                _ => format!("/deployments/{deployment}"),
            };
            format!(
                "{base}{deployment}/{}?api-version={api_version}",
                operation.path()
            )
        }
        _ => format!("{base}/{}", operation.path()),
    }
}

/// An upstream answer's body, from whichever client sent the request.
enum Upstream {
    Direct(PooledBody),
    Proxied(reqwest::Body),
}

impl Upstream {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, String>>> {
        match self {
            Upstream::Direct(body) => Pin::new(body)
                .poll_frame(cx)
                .map_err(|error| with_causes(error.as_ref())),
            Upstream::Proxied(body) => Pin::new(body)
                .poll_frame(cx)
                .map_err(|error| with_causes(&error)),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Upstream::Direct(body) => body.is_end_stream(),
            Upstream::Proxied(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Upstream::Direct(body) => body.size_hint(),
            Upstream::Proxied(body) => body.size_hint(),
        }
    }
}

/// The upstream's body, passed on frame by frame as it comes. If the upstream goes quiet for
/// longer than `idle`, or the body fails or outlasts the total timeout, an event stream ends
/// with an `error` event the SDKs understand; any other body is cut off, so the client sees it
/// incomplete rather than whole-but-wrong.
struct Watched {
    upstream: Option<Upstream>,
    idle: Duration,
    deadline: Instant,
    /// One timer per response, for whichever comes first of the silence limit and the total
    /// deadline, made only once the relay has to wait (a small answer is usually all there
    /// when first polled). Re-armed whenever the relay starts waiting for the next frame (not
    /// when a frame arrives: a client slow to read is not a quiet upstream).
    timer: Option<Pin<Box<Sleep>>>,
    rearm: bool,
    event_stream: bool,
}

impl Watched {
    fn new(upstream: Upstream, idle: Duration, deadline: Instant, event_stream: bool) -> Watched {
        Watched {
            upstream: Some(upstream),
            idle,
            deadline,
            timer: None,
            rearm: true,
            event_stream,
        }
    }

    /// Polls the timer, armed for a wait that starts now when this is a new wait.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::take(&mut self.rearm) {
            let at = deadline_after(Instant::now(), self.idle).min(self.deadline);
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(at),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(at))),
            }
        }
        match &mut self.timer {
            Some(timer) => timer.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }

    fn fail(&mut self, failure: AppError) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.upstream = None;
        Poll::Ready(Some(if self.event_stream {
            Ok(Frame::data(failure.sse_event()))
        } else {
            Err(std::io::Error::other("upstream body failed"))
        }))
    }
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        // The total deadline holds even for a body that never makes the relay wait.
        if this.upstream.is_some() && Instant::now() >= this.deadline {
            return this.fail(AppError::UpstreamTimeout);
        }
        loop {
            let Some(upstream) = &mut this.upstream else {
                return Poll::Ready(None);
            };
            return match upstream.poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        this.rearm = true;
                        Poll::Ready(Some(Ok(Frame::data(data))))
                    }
                    // Only data goes on: trailers are not part of the API.
                    Err(_) => continue,
                },
                Poll::Ready(None) => {
                    this.upstream = None;
                    Poll::Ready(None)
                }
                Poll::Ready(Some(Err(error))) => {
                    tracing::warn!(%error, "upstream body failed");
                    this.fail(AppError::UpstreamUnreachable)
                }
                Poll::Pending => match this.poll_timer(cx) {
                    Poll::Ready(()) if Instant::now() >= this.deadline => {
                        this.fail(AppError::UpstreamTimeout)
                    }
                    Poll::Ready(()) => {
                        tracing::warn!(
                            idle_secs = this.idle.as_secs(),
                            "upstream stream went quiet"
                        );
                        this.fail(AppError::UpstreamTimeout)
                    }
                    Poll::Pending => Poll::Pending,
                },
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.upstream.as_ref().is_none_or(Upstream::is_end_stream)
    }

    /// The upstream's length, so the client gets `Content-Length` as the upstream sent it
    /// rather than a re-chunked body. Not for event streams, which may gain an error event.
    fn size_hint(&self) -> SizeHint {
        match &self.upstream {
            Some(upstream) if !self.event_stream => upstream.size_hint(),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_an_upstream_behind_a_proxy_goes_through_reqwest() {
        let config = Config::default();
        let openai = Forward::openai("https://api.openai.com/v1", ApiKey::new("k"));
        let local = Forward::openai("http://127.0.0.1:8000/v1", ApiKey::new("k"));
        let https_proxy = Matcher::builder()
            .https("http://proxy.example:3128")
            .build();
        assert!(Forwarder::with_proxies(&openai, &config, &https_proxy).proxied());
        assert!(!Forwarder::with_proxies(&local, &config, &https_proxy).proxied());
        let except_openai = Matcher::builder()
            .all("http://proxy.example:3128")
            .no("api.openai.com")
            .build();
        assert!(!Forwarder::with_proxies(&openai, &config, &except_openai).proxied());
        assert!(Forwarder::with_proxies(&local, &config, &except_openai).proxied());
        let none = Matcher::builder().build();
        assert!(!Forwarder::with_proxies(&openai, &config, &none).proxied());
    }

    #[test]
    fn endpoints_name_the_host_as_hyper_would() {
        let mut upstream = Forward::openai("https://API.openai.com:443/v1/", ApiKey::new("k"));
        let prepared = Prepared::new(&upstream).unwrap();
        assert_eq!(
            prepared.endpoints[0].headers[header::HOST],
            "api.openai.com"
        );
        let edits = &prepared.endpoints[Operation::Edits as usize];
        assert_eq!(edits.absolute, "https://api.openai.com/v1/images/edits");
        assert_eq!(edits.origin_form, "/v1/images/edits");
        let head = String::from_utf8(edits.head.clone()).unwrap();
        assert!(
            head.starts_with("POST /v1/images/edits HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nhost: api.openai.com\r\n"), "{head}");
        assert!(head.contains("\r\nauthorization: Bearer k\r\n"), "{head}");
        let probe = String::from_utf8(prepared.probe.head.clone()).unwrap();
        assert!(probe.starts_with("GET /v1 HTTP/1.1\r\n"), "{probe}");
        assert!(
            !probe.contains("authorization"),
            "the probe sends no key: {probe}"
        );
        upstream.base_url = "http://[::1]:8080/openai".into();
        upstream.kind = UpstreamKind::Azure {
            deployment: "img".into(),
            api_version: "2025-04-01-preview".into(),
        };
        let prepared = Prepared::new(&upstream).unwrap();
        assert_eq!(prepared.endpoints[0].headers[header::HOST], "[::1]:8080");
        assert_eq!(
            prepared.endpoints[Operation::Generations as usize].origin_form,
            "/openai/deployments/img/images/generations?api-version=2025-04-01-preview"
        );
        assert_eq!(prepared.endpoints[0].headers["api-key"], "k");
        assert!(prepared.endpoints[0].headers["api-key"].is_sensitive());
        upstream.base_url = "not a url".into();
        assert!(Prepared::new(&upstream).is_err());
    }

    #[test]
    fn urls_per_kind() {
        let mut upstream = Forward::openai("https://api.openai.com/v1/", ApiKey::new("k"));
        assert_eq!(
            upstream_url(&upstream, Operation::Edits),
            "https://api.openai.com/v1/images/edits"
        );
        upstream.kind = UpstreamKind::Azure {
            deployment: "img".into(),
            api_version: "2025-04-01-preview".into(),
        };
        upstream.base_url = "https://r.openai.azure.com/openai".into();
        assert_eq!(
            upstream_url(&upstream, Operation::Generations),
            "https://r.openai.azure.com/openai/deployments/img/images/generations?api-version=2025-04-01-preview"
        );
        assert_eq!(
            upstream_url(&upstream, Operation::Variations),
            "https://r.openai.azure.com/openai/images/variations?api-version=2025-04-01-preview"
        );
    }
}
