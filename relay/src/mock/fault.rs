//! Failures the generator produces on purpose, so the app's error handling can be tested
//! against every way the real API (or a CDN in front of it) fails. Only in test mode.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;

use crate::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 401 `invalid_api_key`.
    Unauthorized,
    /// 403: the organization must be verified to use the model.
    UnverifiedOrganization,
    /// 429 `rate_limit_exceeded` with `Retry-After`.
    RateLimited,
    /// 429 `insufficient_quota`: out of credit; retrying does not help.
    InsufficientQuota,
    /// 400 `moderation_blocked`.
    ModerationBlocked,
    /// 500.
    ServerError,
    /// 503 `server_is_overloaded`.
    Unavailable,
    /// 503 to the first request that asks for it in this process, then normal answers: what
    /// a client's automatic retry meets when the upstream recovers.
    UnavailableOnce,
    /// 500 to the first request that asks for it in this process, then normal answers.
    ServerErrorOnce,
    /// No answer until the relay's total timeout, then 504 — what a hung upstream looks like.
    Timeout,
    /// A 200 whose body stops halfway, shortly after its headers.
    TruncatedBody,
    /// A `text/plain` 429 with a long `Retry-After`, as a CDN sends it.
    CdnRateLimited,
    /// A 200 `application/json` whose body is not JSON (an HTML page from a proxy).
    Malformed,
    /// A well-formed images answer whose `b64_json` decodes to bytes that are no image.
    NotAnImage,
    /// A 200 images answer that never ends: one base64 string streamed, without a
    /// `Content-Length`, until [`HUGE_BYTES`] or until the client stops reading. Built as it
    /// goes, so the relay holds one chunk, not the body.
    Huge,
}

/// Longer than the app accepts for any request (ten 4096² images allow ~1.1 GB).
const HUGE_BYTES: u64 = 2 << 30;

impl Fault {
    pub const NAMES: &'static str = "unauthorized, unverified-org, rate-limit, insufficient-quota, \
         moderation-blocked, server-error, server-error-once, unavailable, unavailable-once, \
         timeout, truncated, cdn-429, malformed, not-an-image, huge";

    /// Whether this request gets the fault (the `-once` faults only the first time).
    pub(crate) fn applies(self) -> bool {
        static FIRED: AtomicBool = AtomicBool::new(false);
        !matches!(self, Fault::UnavailableOnce | Fault::ServerErrorOnce)
            || !FIRED.swap(true, Ordering::Relaxed)
    }

    pub(crate) async fn respond(self, timeout: Duration) -> Response {
        let envelope = |status: StatusCode, message: &str, kind: &str, code: Option<&str>| {
            let body = serde_json::json!({"error": {
                "message": message, "type": kind, "param": null, "code": code,
            }});
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        };
        match self {
            Fault::Unauthorized => envelope(
                StatusCode::UNAUTHORIZED,
                "Incorrect API key provided: sk-test*****7890. You can find your API key at \
                 https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            Fault::UnverifiedOrganization => envelope(
                StatusCode::FORBIDDEN,
                "Your organization must be verified to use the model `gpt-image-1`. Please go \
                 to: https://platform.openai.com/settings/organization/general and click on \
                 Verify Organization.",
                "invalid_request_error",
                None,
            ),
            Fault::RateLimited => {
                let mut response = envelope(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Rate limit reached for gpt-image-2 in organization org-test on images per \
                     minute (IPM): Limit 5, Used 5, Requested 1. Please try again in 12s.",
                    "requests",
                    Some("rate_limit_exceeded"),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, 12.into());
                response
            }
            Fault::InsufficientQuota => envelope(
                StatusCode::TOO_MANY_REQUESTS,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                Some("insufficient_quota"),
            ),
            Fault::ModerationBlocked => envelope(
                StatusCode::BAD_REQUEST,
                "Your request was rejected by the safety system. If you believe this is an \
                 error, contact us at help.openai.com and include the request ID.",
                "image_generation_user_error",
                Some("moderation_blocked"),
            ),
            Fault::ServerError | Fault::ServerErrorOnce => envelope(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            ),
            Fault::Unavailable | Fault::UnavailableOnce => envelope(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is overloaded or not ready yet.",
                "service_unavailable_error",
                Some("server_is_overloaded"),
            ),
            Fault::Timeout => {
                tokio::time::sleep(timeout).await;
                AppError::UpstreamTimeout.into_response()
            }
            Fault::TruncatedBody => {
                let half = Bytes::from_static(
                    br#"{"created":1700000000,"data":[{"b64_json":"iVBORw0KGgo"#,
                );
                // The break comes a moment after the first half, as when a connection drops
                // mid-answer: the client has the headers and some body, not a refused request.
                let chunks = futures_util::stream::iter([Ok(half)]).chain(
                    futures_util::stream::once(async {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        Err(std::io::Error::other("cut off on purpose"))
                    }),
                );
                Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from_stream(chunks))
                    .expect("static parts are valid")
            }
            Fault::Malformed => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response(),
            Fault::NotAnImage => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD
                    .encode("this is plain text, not an image");
                let body = serde_json::json!({
                    "created": 1_700_000_000, "data": [{"b64_json": b64}],
                });
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    body.to_string(),
                )
                    .into_response()
            }
            Fault::Huge => {
                const CHUNK: usize = 1 << 20;
                let head = Bytes::from_static(br#"{"created":1700000000,"data":[{"b64_json":""#);
                let filler = Bytes::from(vec![b'A'; CHUNK]);
                let count = HUGE_BYTES / CHUNK as u64;
                let chunks = futures_util::stream::iter(
                    std::iter::once(head)
                        .chain((0..count).map(move |_| filler.clone()))
                        .chain(std::iter::once(Bytes::from_static(br#""}]}"#)))
                        .map(Ok::<_, std::io::Error>),
                );
                Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from_stream(chunks))
                    .expect("static parts are valid")
            }
            Fault::CdnRateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (header::RETRY_AFTER, "600"),
                ],
                "error code: 1015",
            )
                .into_response(),
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(name: &str) -> Result<Fault, String> {
        Ok(match name.trim() {
            "unauthorized" | "401" => Fault::Unauthorized,
            "unverified-org" | "403" => Fault::UnverifiedOrganization,
            "rate-limit" | "429" => Fault::RateLimited,
            "insufficient-quota" | "quota" => Fault::InsufficientQuota,
            "moderation-blocked" | "moderation" => Fault::ModerationBlocked,
            "server-error" | "500" => Fault::ServerError,
            "server-error-once" => Fault::ServerErrorOnce,
            "unavailable" | "503" => Fault::Unavailable,
            "unavailable-once" => Fault::UnavailableOnce,
            "timeout" => Fault::Timeout,
            "truncated" => Fault::TruncatedBody,
            "cdn-429" => Fault::CdnRateLimited,
            "malformed" => Fault::Malformed,
            "not-an-image" => Fault::NotAnImage,
            "huge" => Fault::Huge,
            other => return Err(format!("unknown fault `{other}`; known: {}", Fault::NAMES)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_parses() {
        for name in Fault::NAMES.split(", ") {
            assert!(name.parse::<Fault>().is_ok(), "{name}");
        }
        assert!("teapot".parse::<Fault>().is_err());
    }

    #[test]
    fn unavailable_once_fails_only_the_first_time() {
        assert!(Fault::Unavailable.applies() && Fault::Unavailable.applies());
        assert!(Fault::UnavailableOnce.applies());
        assert!(!Fault::UnavailableOnce.applies());
        assert!(!Fault::UnavailableOnce.applies());
    }
}
