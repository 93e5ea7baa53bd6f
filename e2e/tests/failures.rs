//! Failures a person meets, from the offline generator's fault injection: each explained in
//! plain words; transient ones retried by themselves (and said so), the others never.

use std::time::Duration;

use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};

const ANSWER: Duration = Duration::from_secs(30);

/// How many image requests reached the relay, from its request log.
fn image_requests(relay: &Relay) -> usize {
    relay
        .logs()
        .lines()
        .filter(|l| l.contains("/v1/images/generations") && l.contains("status="))
        .count()
}

/// The studio on a relay whose generator fails every request with `fault` (or, for
/// `unavailable-once`, only the first).
async fn studio_with_fault(fault: &str) -> (Relay, Browser) {
    let relay = Relay::start(&dist_dir(), &["--test-mode", "--fault", fault]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;
    browser.fill("#prompt", "a red bicycle").await;
    browser.click("#generate").await;
    (relay, browser)
}

#[tokio::test]
async fn a_503_is_retried_by_itself_and_then_succeeds() {
    let (relay, browser) = studio_with_fault("unavailable-once").await;
    browser
        .wait_for_text(
            "article.job[data-state=retrying]",
            "HTTP 503: retrying in",
            ANSWER,
        )
        .await;
    browser
        .wait_for_text(
            "article.job[data-state=done] .job-retried",
            "Succeeded after 1 automatic retry.",
            ANSWER,
        )
        .await;
    assert!(
        browser
            .count("article.job[data-state=done] img.result")
            .await
            > 0
    );
    assert_eq!(image_requests(&relay), 2, "one failure, one retry");
    browser.close().await;
}

#[tokio::test]
async fn a_rate_limit_waits_as_the_server_asks_and_can_be_cancelled() {
    let (_relay, browser) = studio_with_fault("rate-limit").await;
    // The generator's 429 carries `Retry-After: 12`.
    browser
        .wait_for_text("article.job[data-state=retrying]", "retrying in 1", ANSWER)
        .await;
    browser.click("article.job .cancel").await;
    browser
        .wait_for("article.job[data-state=cancelled]", WAIT)
        .await;
    browser.close().await;
}

/// Failures that sending again cannot fix: explained at once, never retried.
#[tokio::test]
async fn failures_that_retrying_cannot_fix_are_explained_at_once() {
    for (fault, explanation) in [
        ("insufficient-quota", "out of credit"),
        ("moderation-blocked", "Rephrase the prompt"),
        ("unauthorized", "API key was not accepted"),
        ("unverified-org", "verify"),
        ("cdn-429", "Wait a moment"),
    ] {
        let (relay, browser) = studio_with_fault(fault).await;
        let shown = browser
            .wait_for_text(
                "article.job[data-state=failed] .error-explanation",
                explanation,
                ANSWER,
            )
            .await;
        assert!(shown.contains(explanation), "{fault}: {shown}");
        let status = browser
            .wait_for(".error-status", WAIT)
            .await
            .text()
            .await
            .unwrap_or_default();
        assert!(status.contains("request id req_"), "{fault}: {status}");
        assert_eq!(image_requests(&relay), 1, "{fault} is not retried");
        browser.close().await;
    }
}
