//! Forwarding to the configured upstream. The relay adds its own key and passes the answer
//! back as it arrives — Server-Sent Events chunk by chunk, never buffered — and upstream errors
//! (status, envelope, `retry-after`) reach the client unchanged.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use futures_util::{Stream, StreamExt as _};

use crate::config::{Forward, UpstreamKind};
use crate::inspect::{Incoming, Operation};
use crate::{AppError, AppState};

/// Upstream headers the client needs: the body's type, the id to quote in a support request,
/// how long to wait before retrying, and the rate-limit budget.
const RESPONSE_HEADERS: [&str; 9] = [
    "content-type",
    "x-request-id",
    "retry-after",
    "retry-after-ms",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "openai-processing-ms",
    // Azure's own request id.
    "apim-request-id",
];

pub(crate) async fn forward(
    state: &AppState,
    upstream: &Forward,
    incoming: Incoming,
) -> Result<Response, AppError> {
    let url = upstream_url(upstream, incoming.operation);
    let mut request = state
        .client
        .post(url)
        .header(header::CONTENT_TYPE, incoming.content_type)
        .body(incoming.body);
    if let Some(accept) = incoming.accept {
        request = request.header(header::ACCEPT, accept);
    }
    if let Some(key) = &upstream.api_key {
        request = match &upstream.kind {
            UpstreamKind::OpenAi => request.bearer_auth(key.expose()),
            UpstreamKind::Azure { .. } => request.header("api-key", key.expose()),
            UpstreamKind::Compatible { auth_header } if auth_header == header::AUTHORIZATION => {
                request.bearer_auth(key.expose())
            }
            UpstreamKind::Compatible { auth_header } => {
                request.header(auth_header.clone(), key.expose())
            }
        };
    }
    if let Some(organization) = &upstream.organization {
        request = request.header("openai-organization", organization);
    }
    if let Some(project) = &upstream.project {
        request = request.header("openai-project", project);
    }
    let response = request.send().await.map_err(|error| {
        tracing::warn!(error = %without_url(&error), "upstream request failed");
        if error.is_timeout() {
            AppError::UpstreamTimeout
        } else {
            AppError::UpstreamUnreachable
        }
    })?;

    let mut builder = Response::builder().status(response.status());
    for name in RESPONSE_HEADERS {
        if let Some(value) = response.headers().get(name) {
            builder = builder.header(name, value);
        }
    }
    let event_stream = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if event_stream {
        // Tell a reverse proxy in front (nginx) not to buffer the stream either.
        builder = builder.header(header::CACHE_CONTROL, "no-cache").header(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        );
    }
    let chunks = watch_idle(
        response.bytes_stream(),
        state.config.stream_idle_timeout,
        event_stream,
    );
    builder
        .body(Body::from_stream(chunks))
        .map_err(|error| AppError::Internal(error.to_string()))
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

/// reqwest's error text names the URL; the base URL is configuration, not for every log line.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<upstream>");
    }
    text
}

/// Passes chunks on as they come. If the upstream goes quiet for longer than `idle`, or the
/// body fails (the total timeout included), an event stream ends with an `error` event the
/// SDKs understand; any other body is cut off, so the client sees it incomplete rather than
/// whole-but-wrong.
fn watch_idle(
    upstream: impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
    idle: Duration,
    event_stream: bool,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let upstream = Box::pin(upstream);
    futures_util::stream::unfold(Some(upstream), move |state| async move {
        let mut upstream = state?;
        let failure = match tokio::time::timeout(idle, upstream.next()).await {
            Ok(Some(Ok(chunk))) => return Some((Ok(chunk), Some(upstream))),
            Ok(None) => return None,
            Ok(Some(Err(error))) if error.is_timeout() => AppError::UpstreamTimeout,
            Ok(Some(Err(error))) => {
                tracing::warn!(error = %without_url(&error), "upstream body failed");
                AppError::UpstreamUnreachable
            }
            Err(_) => {
                tracing::warn!(idle_secs = idle.as_secs(), "upstream stream went quiet");
                AppError::UpstreamTimeout
            }
        };
        let item = if event_stream {
            Ok(failure.sse_event())
        } else {
            Err(std::io::Error::other("upstream body failed"))
        };
        Some((item, None))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ApiKey;

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
