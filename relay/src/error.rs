//! The relay's one error type. Every failure is answered in the API's own error envelope, so
//! the app reads relay errors and upstream errors the same way; internal details stay in the
//! log.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use easel_core::api::ErrorEnvelope;

#[derive(Debug)]
pub enum AppError {
    /// The body is not JSON, or not an object of the expected shape.
    InvalidJson {
        detail: Option<String>,
    },
    /// A parameter is missing or has a value the model does not take.
    InvalidRequest {
        message: String,
        param: Option<String>,
        code: &'static str,
    },
    /// The request body is larger than the relay accepts.
    PayloadTooLarge,
    /// The request body did not arrive within the body timeout.
    RequestTimeout,
    /// The body is neither of the content types this endpoint takes.
    UnsupportedMediaType {
        expected: &'static str,
    },
    /// Relay tokens are configured and the request carries none, or a wrong one.
    Unauthorized,
    /// A page on an origin outside the allowlist.
    OriginNotAllowed,
    /// This client used up its request budget; it may try again after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
    /// Too many requests in flight: shed rather than queue.
    Overloaded,
    /// No such route: the relay is not an open proxy.
    NotFound,
    /// A generated image's URL that has expired (or never existed).
    ImageExpired,
    MethodNotAllowed,
    /// This relay is not configured to host shares.
    SharesDisabled,
    /// No share has this id (or the id is not one the relay could have made).
    ShareNotFound,
    /// The share is live but holds no image with this hash.
    ShareImageNotFound,
    /// The share was deleted with its token.
    ShareDeleted,
    /// The share's expiry has passed.
    ShareExpired,
    /// A DELETE without the share's delete token, or with another one.
    InvalidDeleteToken,
    /// A share over one of the relay's share limits; the message names which.
    ShareTooLarge {
        message: String,
    },
    /// An uploaded part that is none of the image formats a share may hold.
    UnsupportedImage {
        message: String,
    },
    /// The upstream could not be reached (refused, DNS, TLS, reset).
    UpstreamUnreachable,
    /// The upstream did not answer within the configured timeout.
    UpstreamTimeout,
    /// A bug or an unexpected failure; the detail is logged, never sent.
    Internal(String),
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::InvalidJson { .. } | AppError::InvalidRequest { .. } => {
                StatusCode::BAD_REQUEST
            }
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::OriginNotAllowed => StatusCode::FORBIDDEN,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            AppError::NotFound
            | AppError::ImageExpired
            | AppError::SharesDisabled
            | AppError::ShareNotFound
            | AppError::ShareImageNotFound => StatusCode::NOT_FOUND,
            AppError::ShareDeleted | AppError::ShareExpired => StatusCode::GONE,
            AppError::InvalidDeleteToken => StatusCode::FORBIDDEN,
            AppError::ShareTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedImage { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::UpstreamUnreachable => StatusCode::BAD_GATEWAY,
            AppError::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn envelope(&self) -> ErrorEnvelope {
        const INVALID: &str = "invalid_request_error";
        match self {
            AppError::InvalidJson { detail: None } => ErrorEnvelope::new(
                "We could not parse the JSON body of your request. (HINT: This likely means you \
                 aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, \
                 but what was sent was not valid JSON.)",
                INVALID,
                None,
                None,
            ),
            AppError::InvalidJson {
                detail: Some(detail),
            } => ErrorEnvelope::new(
                format!("We could not parse the JSON body of your request: {detail}."),
                INVALID,
                None,
                None,
            ),
            AppError::InvalidRequest {
                message,
                param,
                code,
            } => ErrorEnvelope::new(message.as_str(), INVALID, param.as_deref(), Some(code)),
            AppError::PayloadTooLarge => ErrorEnvelope::new(
                "The request body is too large.",
                INVALID,
                None,
                Some("request_too_large"),
            ),
            AppError::RequestTimeout => ErrorEnvelope::new(
                "The request body did not arrive in time.",
                INVALID,
                None,
                Some("request_timeout"),
            ),
            AppError::UnsupportedMediaType { expected } => ErrorEnvelope::new(
                format!("Unsupported content type: this endpoint takes {expected}."),
                INVALID,
                None,
                Some("unsupported_content_type"),
            ),
            AppError::Unauthorized => ErrorEnvelope::new(
                "This relay needs an access token: send it as 'Authorization: Bearer <token>'.",
                INVALID,
                None,
                Some("invalid_relay_token"),
            ),
            AppError::OriginNotAllowed => ErrorEnvelope::new(
                "Pages on this origin may not use this relay.",
                INVALID,
                None,
                Some("origin_not_allowed"),
            ),
            AppError::RateLimited { retry_after_secs } => ErrorEnvelope::new(
                format!("Rate limit reached for this relay. Try again in {retry_after_secs} s."),
                "requests",
                None,
                Some("rate_limit_exceeded"),
            ),
            AppError::Overloaded => ErrorEnvelope::new(
                "The relay is busy with other requests. Try again shortly.",
                "server_error",
                None,
                Some("server_is_overloaded"),
            ),
            AppError::NotFound => ErrorEnvelope::new(
                "Unknown request URL. This relay serves POST /v1/images/generations, \
                 /v1/images/edits and /v1/images/variations.",
                INVALID,
                None,
                Some("unknown_url"),
            ),
            AppError::ImageExpired => ErrorEnvelope::new(
                "This image is no longer available: generated images expire after an hour.",
                INVALID,
                None,
                Some("image_expired"),
            ),
            AppError::MethodNotAllowed => ErrorEnvelope::new(
                "This method is not allowed for this URL.",
                INVALID,
                None,
                Some("method_not_allowed"),
            ),
            AppError::SharesDisabled => ErrorEnvelope::new(
                "This relay does not host shares.",
                INVALID,
                None,
                Some("shares_disabled"),
            ),
            AppError::ShareNotFound => ErrorEnvelope::new(
                "There is no share with this id on this relay.",
                INVALID,
                None,
                Some("share_not_found"),
            ),
            AppError::ShareImageNotFound => ErrorEnvelope::new(
                "This share holds no image with this hash.",
                INVALID,
                None,
                Some("share_image_not_found"),
            ),
            AppError::ShareDeleted => ErrorEnvelope::new(
                "This share was deleted by the person who made it.",
                INVALID,
                None,
                Some("share_deleted"),
            ),
            AppError::ShareExpired => ErrorEnvelope::new(
                "This share has expired.",
                INVALID,
                None,
                Some("share_expired"),
            ),
            AppError::InvalidDeleteToken => ErrorEnvelope::new(
                "Deleting a share needs its delete token in the X-Delete-Token header; this \
                 one is missing or wrong.",
                INVALID,
                None,
                Some("invalid_delete_token"),
            ),
            AppError::ShareTooLarge { message } => {
                ErrorEnvelope::new(message.as_str(), INVALID, None, Some("share_too_large"))
            }
            AppError::UnsupportedImage { message } => ErrorEnvelope::new(
                message.as_str(),
                INVALID,
                Some("image"),
                Some("unsupported_image"),
            ),
            AppError::UpstreamUnreachable => ErrorEnvelope::new(
                "The relay could not reach the upstream API.",
                "server_error",
                None,
                Some("upstream_unreachable"),
            ),
            AppError::UpstreamTimeout => ErrorEnvelope::new(
                "The upstream API did not answer in time.",
                "server_error",
                None,
                Some("upstream_timeout"),
            ),
            AppError::Internal(_) => ErrorEnvelope::new(
                "The relay had an error while processing your request.",
                "server_error",
                None,
                None,
            ),
        }
    }
}

impl AppError {
    /// The failure as a Server-Sent Event, for a stream that already started with a 200: the
    /// SDKs raise an `error` event as an API error.
    pub(crate) fn sse_event(&self) -> axum::body::Bytes {
        let envelope = self.envelope();
        let data = serde_json::json!({ "type": "error", "error": envelope.error });
        format!("event: error\ndata: {data}\n\n").into()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut response = (self.status(), Json(self.envelope())).into_response();
        let headers = response.headers_mut();
        match self {
            AppError::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, retry_after_secs.into());
            }
            AppError::Overloaded => {
                headers.insert(header::RETRY_AFTER, 1.into());
            }
            AppError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internals_are_never_sent() {
        let envelope = AppError::Internal("disk on fire at /secret/path".into()).envelope();
        assert!(!envelope.error.message.contains("secret"));
        assert_eq!(envelope.error.kind.as_deref(), Some("server_error"));
    }

    #[test]
    fn envelope_has_all_four_fields() {
        let json = serde_json::to_value(AppError::NotFound.envelope()).unwrap();
        let error = json["error"].as_object().unwrap();
        for key in ["message", "type", "param", "code"] {
            assert!(error.contains_key(key), "{key}");
        }
        assert!(error["param"].is_null());
    }
}
