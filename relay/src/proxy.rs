//! Forwarding to the configured upstream. The relay adds its own key and passes the answer
//! back as it arrives: bodies are streamed both ways, and upstream errors (status, envelope,
//! `retry-after`) reach the app unchanged.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, header};
use axum::response::{IntoResponse, Response};
use http_body_util::Limited;

use crate::{AppError, AppState, MAX_BODY_BYTES, Upstream};

/// Client headers worth passing on. Everything else, `authorization` above all, stays here.
const REQUEST_HEADERS: [HeaderName; 2] = [header::CONTENT_TYPE, header::ACCEPT];

/// Upstream headers the app needs: the body's type, the id to quote in a support request, and
/// how long to wait before retrying.
const RESPONSE_HEADERS: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    HeaderName::from_static("x-request-id"),
    header::RETRY_AFTER,
];

pub(crate) async fn generations(state: AppState, request: Request) -> Response {
    forward(&state, "images/generations", request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn forward(state: &AppState, path: &str, request: Request) -> Result<Response, AppError> {
    let Upstream::Forward {
        base_url,
        api_key,
        organization,
        project,
    } = &state.config.upstream
    else {
        return Err(AppError::Internal("forwarding without an upstream".into()));
    };
    let (parts, body) = request.into_parts();
    let content_length = declared_length(&parts.headers)?;

    let url = format!("{}/{path}", base_url.trim_end_matches('/'));
    let mut upstream = state.client.post(url).bearer_auth(api_key.expose());
    for name in REQUEST_HEADERS {
        if let Some(value) = parts.headers.get(&name) {
            upstream = upstream.header(name, value);
        }
    }
    if let Some(length) = content_length {
        // Keeps the upstream request length-delimited rather than chunked, as the client sent it.
        upstream = upstream.header(header::CONTENT_LENGTH, length);
    }
    if let Some(organization) = organization {
        upstream = upstream.header("openai-organization", organization);
    }
    if let Some(project) = project {
        upstream = upstream.header("openai-project", project);
    }
    let body = Body::new(Limited::new(body, MAX_BODY_BYTES)).into_data_stream();
    let response = upstream
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .map_err(|error| {
            tracing::warn!(%error, "upstream request failed");
            if error.is_timeout() {
                AppError::UpstreamTimeout
            } else {
                AppError::UpstreamUnreachable
            }
        })?;

    let mut builder = Response::builder().status(response.status());
    for name in RESPONSE_HEADERS {
        if let Some(value) = response.headers().get(&name) {
            builder = builder.header(name, value);
        }
    }
    builder
        .body(Body::from_stream(response.bytes_stream()))
        .map_err(|error| AppError::Internal(error.to_string()))
}

/// The client's `Content-Length`, refused early when it is over the limit.
fn declared_length(headers: &HeaderMap) -> Result<Option<u64>, AppError> {
    let Some(value) = headers.get(header::CONTENT_LENGTH) else {
        return Ok(None);
    };
    let length: u64 = value
        .to_str()
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(AppError::InvalidRequest {
            message: "The Content-Length header is not a number.".into(),
            param: None,
            code: "invalid_header",
        })?;
    if length > MAX_BODY_BYTES as u64 {
        return Err(AppError::PayloadTooLarge);
    }
    Ok(Some(length))
}
