//! The built app: files from `dist/`, with `index.html` for deep links such as `/settings`
//! (the app routes on the client). Only these responses are compressed, so API responses keep
//! streaming untouched.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// Serves `dist` (or a note that the app is not built when there is none).
pub(crate) fn router(dist: Option<&Path>) -> Router {
    let Some(dist) = dist else {
        return Router::new()
            .fallback(|request: Request| async move { not_built(request.uri().path()) })
            .layer(middleware::from_fn(content_security_policy));
    };
    let index = Arc::new(dist.join("index.html"));
    let spa = axum::handler::Handler::with_state(spa_fallback, index);
    let files = ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(spa);
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
        .layer(middleware::from_fn(content_security_policy))
        .layer(CompressionLayer::new())
}

/// The Content-Security-Policy of the app's pages: the one `index.html` carries as a meta tag
/// (for static hosts, which send no headers), plus `frame-ancestors`, which only a header can
/// set. A test holds the two together. Scripts come from the page's origin only (the build moves
/// Trunk's inline loader into a file, xtask/src/bundle.rs); `connect-src` stays open to any
/// http(s) origin because the app may call an API the user chose (Direct mode); `blob:` lets the
/// page read back its own images (blob URLs are bound to the page's origin); images are shown
/// only from blobs made after sniffing, never from a remote URL.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
     connect-src 'self' blob: https: http:; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// The service worker's own policy (a worker follows the one its script came with, not the
/// page's): it fetches the app's files into its cache, from the page's origin, and nothing
/// else. Without it the relay's data policy, `default-src 'none'`, would stop every fetch.
const WORKER_POLICY: &str = "default-src 'none'; connect-src 'self'";

/// The service worker's path: `cargo xtask build` writes it at the root of `dist/`.
const WORKER_PATH: &str = "/sw.js";

async fn content_security_policy(request: Request, next: Next) -> Response {
    let worker = request.uri().path() == WORKER_PATH;
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let policy = if html {
        PAGE_POLICY
    } else if worker {
        WORKER_POLICY
    } else {
        return response;
    };
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    response
}

/// Paths that are not files get `index.html`, so the app's own routes survive a reload; a
/// missing file (anything with an extension) stays a 404.
async fn spa_fallback(State(index): State<Arc<PathBuf>>, request: Request) -> Response {
    let path = request.uri().path();
    let file_name = path.rsplit('/').next().unwrap_or_default();
    if file_name.contains('.') {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    }
    if !tokio::fs::try_exists(index.as_path())
        .await
        .unwrap_or(false)
    {
        return not_built(path);
    }
    let index_file = ServeFile::new(index.as_path())
        .precompressed_br()
        .precompressed_gzip();
    match index_file.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

fn not_built(path: &str) -> Response {
    let status = if path == "/" {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let note = Html(
        "<!doctype html><meta charset=\"utf-8\"><title>Easel</title>\
         <p>The Easel app is not built. Run <code>cargo xtask run</code> to build it and start \
         the relay.</p><p>The API is served: <code>POST /v1/images/generations</code>.</p>",
    );
    (status, note).into_response()
}

/// Hashed assets never change under their name, so browsers may keep them for a year;
/// everything else (`index.html` above all, and the service worker, which browsers look for
/// under the same name to find a new version) is revalidated on each load.
async fn cache_headers(request: Request, next: Next) -> Response {
    let immutable = is_hashed_asset(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let value = if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// Trunk names its output `easel-5f0c1e2d3a4b6978_bg.wasm`, `style-…css`: a long hex run.
fn is_hashed_asset(path: &str) -> bool {
    let file_name = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, extension)) = file_name.rsplit_once('.') else {
        return false;
    };
    matches!(extension, "wasm" | "js" | "css")
        && stem
            .split(['-', '_', '.'])
            .any(|part| part.len() >= 10 && part.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header and the app's meta tag must not drift apart: a browser applies both, so a
    /// directive loosened in one alone changes nothing, and one tightened alone breaks the page.
    #[test]
    fn the_page_policy_is_the_apps_own_plus_frame_ancestors() {
        let page = include_str!("../../index.html");
        let tag = "<meta http-equiv=\"Content-Security-Policy\" content=\"";
        let start = page.find(tag).expect("index.html carries its policy") + tag.len();
        let meta = &page[start..start + page[start..].find('"').unwrap()];
        let squeeze = |p: &str| p.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            squeeze(PAGE_POLICY),
            format!("{}; frame-ancestors 'none'", squeeze(meta))
        );
        assert!(
            !page.contains("<script>"),
            "no inline scripts in index.html"
        );
    }

    #[test]
    fn recognises_hashed_assets() {
        assert!(is_hashed_asset("/easel-5f0c1e2d3a4b6978_bg.wasm"));
        assert!(is_hashed_asset("/style-a1b2c3d4e5f6071.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/config.json"));
        assert!(!is_hashed_asset("/app.js"));
        assert!(!is_hashed_asset(WORKER_PATH));
        assert!(!is_hashed_asset("/manifest.webmanifest"));
        assert!(is_hashed_asset("/pwa-0123456789abcdef.js"));
        assert!(!is_hashed_asset("/settings"));
    }
}
