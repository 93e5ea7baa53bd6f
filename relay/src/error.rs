//! The relay's one error type. Every failure is answered in the API's own error envelope, so
//! the app reads relay errors and upstream errors the same way; internal details stay in the
//! log.

use axum::Json;
use axum::http::StatusCode;
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
    /// No such route: the relay is not an open proxy.
    NotFound,
    /// A generated image's URL that has expired (or never existed).
    ImageExpired,
    MethodNotAllowed,
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
            AppError::NotFound | AppError::ImageExpired => StatusCode::NOT_FOUND,
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
            AppError::NotFound => ErrorEnvelope::new(
                "Unknown request URL. This relay serves POST /v1/images/generations.",
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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        (self.status(), Json(self.envelope())).into_response()
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
