//! When to send a failed request again by itself: transient failures (408, 409, a 429 rate
//! limit, 5xx) at most [`MAX_RETRIES`] times, after the server's `Retry-After` (up to
//! [`MAX_WAIT_MS`]) or an exponential backoff with jitter. Never for a quota, a refusal by the
//! safety system, or an invalid request: sending those again cannot help and may cost money.

use crate::error::{ApiFailure, FailureKind};

/// Automatic retries after the first attempt.
pub const MAX_RETRIES: u32 = 2;
/// The longest wait honoured; a server asking for more gets no automatic retry.
pub const MAX_WAIT_MS: u64 = 60_000;
/// The first backoff when the server names no wait; it doubles for each retry.
const BASE_BACKOFF_MS: f64 = 1_000.0;

/// How long to wait before retry number `retry` (1 for the first), or `None` when this
/// failure must not be retried automatically. `jitter` is a random number in `0..1`.
pub fn delay_ms(failure: &ApiFailure, retry: u32, jitter: f64) -> Option<u64> {
    if retry == 0 || retry > MAX_RETRIES {
        return None;
    }
    let transient = matches!(failure.status, Some(408 | 409 | 500..=599))
        || failure.kind == FailureKind::RateLimited;
    if !transient
        || matches!(
            failure.kind,
            FailureKind::QuotaExceeded | FailureKind::Moderation
        )
    {
        return None;
    }
    match failure.retry_after_ms {
        Some(wait) if wait > MAX_WAIT_MS => None,
        Some(wait) => Some(wait),
        None => {
            let backoff = BASE_BACKOFF_MS * f64::from(1u32 << (retry - 1));
            // Full spread of ±50 %, so many clients that failed together do not return together.
            Some((backoff * (0.5 + jitter.clamp(0.0, 1.0))).round() as u64)
        }
    }
}

/// The wait a response asks for, in ms: OpenAI's `retry-after-ms`, else `Retry-After` in
/// seconds (an HTTP date is not understood and gives `None`).
pub fn retry_after_ms(retry_after_ms: Option<&str>, retry_after: Option<&str>) -> Option<u64> {
    let whole = |text: &str| text.trim().parse::<u64>().ok();
    retry_after_ms
        .and_then(whole)
        .or_else(|| retry_after.and_then(whole).map(|s| s.saturating_mul(1000)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify;

    fn failure(status: u16, code: Option<&str>, retry_after_ms: Option<u64>) -> ApiFailure {
        let body = match code {
            Some(code) => {
                format!(r#"{{"error":{{"message":"m","type":"t","param":null,"code":"{code}"}}}}"#)
            }
            None => "oops".to_owned(),
        };
        ApiFailure {
            retry_after_ms,
            ..classify(status, &body)
        }
    }

    #[test]
    fn transient_failures_are_retried_twice_with_growing_waits() {
        for status in [408, 409, 500, 502, 503, 504] {
            let f = failure(status, None, None);
            assert_eq!(delay_ms(&f, 1, 0.5), Some(1_000), "{status}");
            assert_eq!(delay_ms(&f, 2, 0.5), Some(2_000), "{status}");
            assert_eq!(delay_ms(&f, 3, 0.5), None, "{status}: at most two retries");
        }
        let rate = failure(429, Some("rate_limit_exceeded"), None);
        assert_eq!(
            delay_ms(&rate, 1, 0.0),
            Some(500),
            "jitter spreads the wait"
        );
        assert_eq!(delay_ms(&rate, 1, 1.0), Some(1_500));
    }

    #[test]
    fn the_server_s_wait_is_honoured_up_to_a_minute() {
        let f = failure(503, None, Some(4_000));
        assert_eq!(delay_ms(&f, 1, 0.9), Some(4_000));
        let long = failure(429, Some("rate_limit_exceeded"), Some(120_000));
        assert_eq!(
            delay_ms(&long, 1, 0.5),
            None,
            "too long to wait on the page"
        );
    }

    #[test]
    fn failures_that_sending_again_cannot_fix_are_not_retried() {
        for (status, code) in [
            (429, Some("insufficient_quota")),
            (400, Some("moderation_blocked")),
            (400, None),
            (401, Some("invalid_api_key")),
            (403, None),
            (404, None),
            (413, None),
        ] {
            assert_eq!(
                delay_ms(&failure(status, code, None), 1, 0.5),
                None,
                "{status} {code:?}"
            );
        }
        assert_eq!(delay_ms(&ApiFailure::network("offline"), 1, 0.5), None);
    }

    #[test]
    fn retry_after_headers_are_read() {
        assert_eq!(retry_after_ms(Some("1500"), Some("9")), Some(1_500));
        assert_eq!(retry_after_ms(None, Some(" 7 ")), Some(7_000));
        assert_eq!(
            retry_after_ms(None, Some("Wed, 21 Oct 2026 07:28:00 GMT")),
            None
        );
        assert_eq!(retry_after_ms(None, None), None);
    }
}
