//! CORS, the built app, and the small routes.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use easel_relay::{Config, app};
use serde_json::{Value, json};

use crate::{generate, get, send};

#[tokio::test]
async fn allowed_origins_get_cors_headers_and_others_do_not() {
    let relay = app(Config {
        allowed_origins: vec!["https://me.github.io/".into()],
        ..Config::default()
    });
    let request = Request::get("/v1/relay/info")
        .header("origin", "https://me.github.io")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(&relay, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://me.github.io"
    );
    let exposed = headers["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("x-request-id") && exposed.contains("retry-after"));

    let preflight = |origin: &'static str| {
        Request::options("/v1/images/generations")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let (_, headers, _) = send(&relay, preflight("https://me.github.io")).await;
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://me.github.io"
    );
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));

    let (_, headers, _) = send(&relay, preflight("https://evil.example")).await;
    assert!(headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn serves_the_built_app_with_a_fallback_for_deep_links() {
    let dist = tempfile::tempdir().unwrap();
    let index = format!(
        "<!doctype html><title>Easel</title>{}",
        "<p>studio</p>".repeat(50)
    );
    std::fs::write(dist.path().join("index.html"), &index).unwrap();
    let wasm = "easel-0123456789abcdef_bg.wasm";
    std::fs::write(dist.path().join(wasm), b"\0asm").unwrap();
    let relay = app(Config {
        dist_dir: Some(dist.path().to_owned()),
        ..Config::default()
    });

    let (status, headers, body) = get(&relay, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, index);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");

    let (status, _, body) = get(&relay, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, index);

    let (status, headers, _) = get(&relay, &format!("/{wasm}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );

    let (status, _, _) = get(&relay, "/missing-0123456789abcdef.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let compressed = Request::get("/")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = send(&relay, compressed).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
}

/// Browsers look for a new version of the service worker under the same name, so it is
/// revalidated on every visit; its policy lets it fetch the app's files from the relay's own
/// origin (the data policy, `default-src 'none'`, would stop it). The page's register script is
/// hashed and kept; the web manifest is revalidated like index.html.
#[tokio::test]
async fn the_service_worker_is_revalidated_and_may_fetch_the_apps_files() {
    let dist = tempfile::tempdir().unwrap();
    for file in [
        "index.html",
        "sw.js",
        "manifest.webmanifest",
        "pwa-0123456789abcdef.js",
    ] {
        std::fs::write(dist.path().join(file), "x").unwrap();
    }
    let relay = app(Config {
        dist_dir: Some(dist.path().to_owned()),
        ..Config::default()
    });

    let (status, headers, _) = get(&relay, "/sw.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; connect-src 'self'"
    );

    let (status, headers, _) = get(&relay, "/manifest.webmanifest").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(headers[header::CONTENT_TYPE], "application/manifest+json");

    let (_, headers, _) = get(&relay, "/pwa-0123456789abcdef.js").await;
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    // Any other script keeps the data policy: only the worker's own file gets the worker's.
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

/// A browser revisiting the page revalidates index.html and gets a 304: that answer must not
/// carry the data policy (`default-src 'none'`), which would replace the page's own in the
/// browser's cache and stop the app from starting.
#[tokio::test]
async fn a_revalidated_page_keeps_its_own_security_policy() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>Easel</title>",
    )
    .unwrap();
    let relay = app(Config {
        dist_dir: Some(dist.path().to_owned()),
        ..Config::default()
    });
    let (status, headers, _) = get(&relay, "/").await;
    assert_eq!(status, StatusCode::OK);
    let page_policy = headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(page_policy.contains("script-src 'self'"), "{page_policy}");

    let revalidate = Request::get("/")
        .header(
            header::IF_MODIFIED_SINCE,
            headers[header::LAST_MODIFIED].clone(),
        )
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(&relay, revalidate).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let policy = headers.get(header::CONTENT_SECURITY_POLICY);
    assert!(
        policy.is_none_or(|p| p.to_str().unwrap() == page_policy),
        "a 304 replaced the page's policy with {policy:?}"
    );
    assert!(headers.get(header::X_FRAME_OPTIONS).is_none());
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn api_responses_are_not_compressed() {
    let dist = tempfile::tempdir().unwrap();
    let relay = app(Config {
        dist_dir: Some(dist.path().to_owned()),
        ..Config::default()
    });
    let request = Request::post("/v1/images/generations")
        .header("content-type", "application/json")
        .header("accept-encoding", "gzip, br")
        .body(Body::from(
            json!({"model": "gpt-image-2", "prompt": "x"}).to_string(),
        ))
        .unwrap();
    let (status, headers, _) = send(&relay, request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn without_a_built_app_the_root_explains_how_to_build_it() {
    for dist_dir in [None, Some("/nonexistent/easel-dist".into())] {
        let relay = app(Config {
            dist_dir,
            ..Config::default()
        });
        let (status, _, body) = get(&relay, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&body).contains("cargo xtask run"));
    }
}

#[tokio::test]
async fn unknown_api_paths_and_methods_answer_in_the_envelope() {
    let relay = app(Config::default());
    for path in ["/v1/nope", "/v1", "/v1/images/edits/extra"] {
        let (status, _, body) = get(&relay, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["type"], "invalid_request_error");
        assert!(json["error"].as_object().unwrap().contains_key("code"));
    }
    let (status, _, body) = get(&relay, "/v1/images/generations").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert!(json["error"]["message"].is_string());
}

#[tokio::test]
async fn health_and_info() {
    let relay = app(Config::default());
    let (status, _, body) = get(&relay, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok");
    let (_, _, body) = get(&relay, "/v1/relay/info").await;
    let info: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        info,
        json!({"upstream": "offline", "token_required": false, "shares": false})
    );
    // The generator's own answers stay reachable whatever else is configured.
    let (status, _, _) = generate(&relay, json!({"model": "dall-e-2", "prompt": "x"})).await;
    assert_eq!(status, StatusCode::OK);
}
