//! Turning a failed request (an HTTP status and a body that may or may not be JSON, or no
//! answer at all) into something a person can act on.

use crate::api::ErrorEnvelope;

/// What went wrong, in the terms a user thinks in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// 401: the key was refused.
    InvalidKey,
    /// 401 from an Easel relay that asks for its own access token (`invalid_relay_token`).
    RelayTokenRefused,
    /// 403: the key works but may not use this model (e.g. unverified organization).
    NotAllowed,
    /// 404: wrong base URL or model name.
    NotFound,
    /// 429 `rate_limit_exceeded`: too fast.
    RateLimited,
    /// 429 `insufficient_quota`, or a billing limit: out of credit.
    QuotaExceeded,
    /// The safety system refused the prompt.
    Moderation,
    /// 400 naming a parameter (or any other 400/422).
    InvalidRequest,
    /// 413: the request was too large.
    TooLarge,
    /// 408 or a timeout.
    Timeout,
    /// 5xx.
    ServerError,
    /// No answer at all: wrong address, the server down, or refused by CORS.
    Network,
    /// No answer, and the browser knows it has no network (the app itself runs from its
    /// service worker's cache).
    Offline,
    /// An answer that is not an images response.
    MalformedResponse,
    /// Anything else.
    Other,
}

/// A classified failure: the server's own words, and ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiFailure {
    pub kind: FailureKind,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The server's message (or a short description of what arrived).
    pub message: String,
    pub param: Option<String>,
    pub code: Option<String>,
    /// Whether trying again, unchanged, can help.
    pub retryable: bool,
    /// How long the server asked to wait before trying again (`Retry-After`), in ms.
    pub retry_after_ms: Option<u64>,
    /// The server's id for the request (`x-request-id`), to quote to its support.
    pub request_id: Option<String>,
}

impl ApiFailure {
    /// No answer reached the page (fetch rejected).
    pub fn network(detail: impl Into<String>) -> ApiFailure {
        ApiFailure {
            kind: FailureKind::Network,
            status: None,
            message: detail.into(),
            param: None,
            code: None,
            retryable: true,
            retry_after_ms: None,
            request_id: None,
        }
    }

    /// No answer, and the browser says it is offline: generating needs a connection.
    pub fn offline() -> ApiFailure {
        ApiFailure {
            kind: FailureKind::Offline,
            message: "You are offline: generating needs a connection.".into(),
            ..ApiFailure::network("")
        }
    }

    /// The server answered 2xx, but not with something we can use.
    pub fn malformed(detail: impl Into<String>) -> ApiFailure {
        ApiFailure {
            kind: FailureKind::MalformedResponse,
            status: None,
            message: detail.into(),
            param: None,
            code: None,
            retryable: false,
            retry_after_ms: None,
            request_id: None,
        }
    }

    /// Whether sending the very same request again can succeed (after waiting, or after the
    /// user fixes their key or connection). Not for a request the server judged invalid.
    pub fn may_succeed_unchanged(&self) -> bool {
        !matches!(
            self.kind,
            FailureKind::InvalidRequest | FailureKind::Moderation | FailureKind::TooLarge
        )
    }

    /// Where to fix it, when that is a page of OpenAI's dashboard: `(link text, address)`.
    /// Only for failures from OpenAI itself (a compatible server has its own dashboard).
    pub fn help_link(&self, from_openai: bool) -> Option<(&'static str, &'static str)> {
        if !from_openai {
            return None;
        }
        match self.kind {
            FailureKind::NotAllowed => Some((
                "Verify your organization",
                "https://platform.openai.com/settings/organization/general",
            )),
            FailureKind::QuotaExceeded => Some((
                "Open billing",
                "https://platform.openai.com/settings/organization/billing/overview",
            )),
            FailureKind::InvalidKey => {
                Some(("Manage API keys", "https://platform.openai.com/api-keys"))
            }
            _ => None,
        }
    }

    /// A plain explanation of what happened and what to do about it.
    pub fn explanation(&self) -> String {
        match self.kind {
            FailureKind::InvalidKey => {
                "The API key was not accepted. Check it in Settings, or use a relay that holds its own key."
                    .into()
            }
            FailureKind::RelayTokenRefused => "This relay asks for an access token. Enter the one its \
                operator gave you in Settings (Relay → Access token)."
                .into(),
            FailureKind::NotAllowed => "This key or organization may not use this model. OpenAI asks organizations \
                to verify themselves before using some image models; another model may work."
                .into(),
            FailureKind::NotFound => {
                "The server does not know this endpoint or model. Check the base URL and the model name.".into()
            }
            FailureKind::RateLimited => {
                "Too many requests in a short time. Wait a moment, then try again.".into()
            }
            FailureKind::QuotaExceeded => "The account is out of credit or over its spending limit. \
                Check billing on your provider's dashboard."
                .into(),
            FailureKind::Moderation => {
                "The provider's safety system refused this request. Rephrase the prompt and try again.".into()
            }
            FailureKind::InvalidRequest => match self.param.as_deref() {
                Some(param) => format!("The server refused the value of '{param}'. Change it and try again."),
                None => "The server refused the request as invalid.".into(),
            },
            FailureKind::TooLarge => "The request was too large for the server.".into(),
            FailureKind::Timeout => {
                "The server took too long to answer. Large, high-quality images can take minutes; try again."
                    .into()
            }
            FailureKind::ServerError => {
                "The server had a problem. This is usually temporary; try again shortly.".into()
            }
            FailureKind::Network => "Could not reach the server. Check the address and your connection. \
                If the server is on another origin, its CORS policy may be blocking this page; \
                the Easel relay avoids that."
                .into(),
            FailureKind::Offline => {
                "Your gallery still works; try again once you are online.".into()
            }
            FailureKind::MalformedResponse => {
                "The server answered, but not with images this page can read. Check the base URL.".into()
            }
            FailureKind::Other => "The request failed.".into(),
        }
    }
}

/// Classifies an HTTP error answer. The body may be the API's JSON envelope, or plain text or
/// HTML from a proxy (e.g. Cloudflare's `error code: 1015`).
pub fn classify(status: u16, body: &str) -> ApiFailure {
    let envelope: Option<ErrorEnvelope> = serde_json::from_str(body).ok();
    let (message, kind_text, param, code) = match envelope {
        Some(e) => (e.error.message, e.error.kind, e.error.param, e.error.code),
        None => (plain_message(status, body), None, None, None),
    };
    let code_is = |c: &str| code.as_deref() == Some(c);
    let type_is = |t: &str| kind_text.as_deref() == Some(t);
    let kind = if code_is("moderation_blocked")
        || code_is("content_policy_violation")
        || type_is("image_generation_user_error") && message.to_ascii_lowercase().contains("safety")
    {
        FailureKind::Moderation
    } else if code_is("insufficient_quota")
        || code_is("billing_hard_limit_reached")
        || type_is("insufficient_quota")
    {
        FailureKind::QuotaExceeded
    } else if status == 401 && code_is("invalid_relay_token") {
        FailureKind::RelayTokenRefused
    } else {
        match status {
            401 => FailureKind::InvalidKey,
            403 => FailureKind::NotAllowed,
            404 => FailureKind::NotFound,
            408 | 504 => FailureKind::Timeout,
            413 => FailureKind::TooLarge,
            429 => FailureKind::RateLimited,
            400 | 409 | 422 => FailureKind::InvalidRequest,
            500..=599 => FailureKind::ServerError,
            _ => FailureKind::Other,
        }
    };
    let retryable = matches!(status, 408 | 409 | 500..=599) || kind == FailureKind::RateLimited;
    ApiFailure {
        kind,
        status: Some(status),
        message,
        param,
        code,
        retryable,
        retry_after_ms: None,
        request_id: None,
    }
}

/// A short message from a body that is not the JSON envelope: its first line, if it is text.
fn plain_message(status: u16, body: &str) -> String {
    let text = body.trim();
    let looks_like_markup = text.starts_with('<');
    match text.lines().next() {
        Some(line) if !looks_like_markup && !line.trim().is_empty() => {
            let line = line.trim();
            match line.char_indices().nth(200) {
                Some((cut, _)) => format!("{}…", &line[..cut]),
                None => line.to_owned(),
            }
        }
        _ => format!("HTTP {status} with no error details"),
    }
}

/// Removes a secret from text before it is shown or logged. Servers sometimes echo a key in
/// their error messages; a key must never reach the page's text.
pub fn redact(text: &str, secret: &str) -> String {
    let secret = secret.trim();
    if secret.len() < 4 {
        text.to_owned()
    } else {
        text.replace(secret, "[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> String {
        serde_json::to_string(&ErrorEnvelope::new(message, kind, param, code)).unwrap()
    }

    #[test]
    fn a_relay_token_refusal_is_not_a_bad_api_key() {
        let body = envelope(
            "This relay needs an access token: send it as 'Authorization: Bearer <token>'.",
            "invalid_request_error",
            None,
            Some("invalid_relay_token"),
        );
        let failure = classify(401, &body);
        assert_eq!(failure.kind, FailureKind::RelayTokenRefused);
        assert!(failure.explanation().contains("access token"));
        assert!(
            failure.may_succeed_unchanged(),
            "after the token is entered"
        );
    }

    #[test]
    fn invalid_key() {
        let body = envelope(
            "Incorrect API key provided: sk-abc***xyz.",
            "invalid_request_error",
            None,
            Some("invalid_api_key"),
        );
        let f = classify(401, &body);
        assert_eq!(f.kind, FailureKind::InvalidKey);
        assert!(f.message.starts_with("Incorrect API key"));
        assert!(!f.retryable);
        assert!(f.explanation().contains("key was not accepted"));
    }

    #[test]
    fn rate_limit_versus_quota() {
        let rate = classify(
            429,
            &envelope(
                "Rate limit exceeded",
                "requests",
                None,
                Some("rate_limit_exceeded"),
            ),
        );
        assert_eq!(rate.kind, FailureKind::RateLimited);
        assert!(rate.retryable);
        let quota = classify(
            429,
            &envelope(
                "You exceeded your current quota",
                "insufficient_quota",
                None,
                Some("insufficient_quota"),
            ),
        );
        assert_eq!(quota.kind, FailureKind::QuotaExceeded);
        assert!(!quota.retryable);
        let billing = classify(
            400,
            &envelope(
                "Billing hard limit",
                "invalid_request_error",
                None,
                Some("billing_hard_limit_reached"),
            ),
        );
        assert_eq!(billing.kind, FailureKind::QuotaExceeded);
    }

    #[test]
    fn moderation_both_shapes() {
        let dalle = classify(
            400,
            &envelope(
                "Your request was rejected as a result of our safety system.",
                "invalid_request_error",
                None,
                Some("content_policy_violation"),
            ),
        );
        assert_eq!(dalle.kind, FailureKind::Moderation);
        let gpt = classify(
            400,
            &envelope(
                "Request rejected by the safety system. safety_violations=[x]",
                "image_generation_user_error",
                None,
                Some("moderation_blocked"),
            ),
        );
        assert_eq!(gpt.kind, FailureKind::Moderation);
        assert!(gpt.explanation().contains("safety"));
    }

    #[test]
    fn invalid_parameter_names_it() {
        let f = classify(
            400,
            &envelope(
                "Invalid value: '1536x1024'.",
                "invalid_request_error",
                Some("size"),
                Some("invalid_value"),
            ),
        );
        assert_eq!(f.kind, FailureKind::InvalidRequest);
        assert_eq!(f.param.as_deref(), Some("size"));
        assert!(f.explanation().contains("'size'"));
        assert!(!f.may_succeed_unchanged());
        assert!(classify(401, "").may_succeed_unchanged());
        assert!(ApiFailure::network("x").may_succeed_unchanged());
    }

    #[test]
    fn server_errors_are_retryable() {
        let f = classify(
            503,
            &envelope(
                "The server is overloaded",
                "service_unavailable_error",
                None,
                Some("server_is_overloaded"),
            ),
        );
        assert_eq!(f.kind, FailureKind::ServerError);
        assert!(f.retryable);
        assert_eq!(classify(408, "").kind, FailureKind::Timeout);
    }

    #[test]
    fn non_json_bodies() {
        let cf = classify(429, "error code: 1015");
        assert_eq!(cf.kind, FailureKind::RateLimited);
        assert_eq!(cf.message, "error code: 1015");
        let html = classify(502, "<html><body>Bad Gateway</body></html>");
        assert_eq!(html.kind, FailureKind::ServerError);
        assert_eq!(html.message, "HTTP 502 with no error details");
        let empty = classify(500, "");
        assert_eq!(empty.message, "HTTP 500 with no error details");
        let long = classify(400, &"y".repeat(1000));
        assert!(long.message.chars().count() <= 201);
    }

    #[test]
    fn dashboard_links_for_what_is_fixed_there() {
        let failure = |status, body: &str| classify(status, body);
        let unverified = failure(
            403,
            r#"{"error":{"message":"Your organization must be verified to use the model.","type":"invalid_request_error"}}"#,
        );
        let (text, url) = unverified.help_link(true).unwrap();
        assert!(text.contains("Verify") && url.contains("settings/organization/general"));
        let quota = failure(
            429,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        );
        assert!(quota.help_link(true).unwrap().1.contains("billing"));
        // Waiting fixes a rate limit; a compatible server's dashboard is not OpenAI's.
        let rate = failure(
            429,
            r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#,
        );
        assert_eq!(rate.help_link(true), None);
        assert_eq!(unverified.help_link(false), None);
    }

    #[test]
    fn network_failures_mention_cors_and_the_relay() {
        let f = ApiFailure::network("Failed to fetch");
        assert_eq!(f.kind, FailureKind::Network);
        assert!(f.explanation().contains("CORS"));
        assert!(f.explanation().contains("relay"));
    }

    #[test]
    fn offline_says_that_generating_needs_a_connection() {
        let f = ApiFailure::offline();
        assert_eq!(f.kind, FailureKind::Offline);
        assert_eq!(f.status, None);
        assert!(f.message.contains("offline"), "{}", f.message);
        assert!(f.explanation().contains("gallery"));
        // Once connected again, the same request can succeed: the page offers Try again.
        assert!(f.may_succeed_unchanged());
        assert_eq!(
            crate::retry::delay_ms(&f, 1, 0.5),
            None,
            "never retried by itself"
        );
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact("bad key sk-secret-123 here", "sk-secret-123"),
            "bad key [redacted] here"
        );
        assert_eq!(redact("text", ""), "text");
    }
}
