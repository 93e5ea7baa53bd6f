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
            .fallback(|request: Request| async move { not_built(request.uri().path()) });
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
        .layer(CompressionLayer::new())
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
/// everything else (`index.html` above all) is revalidated on each load.
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

    #[test]
    fn recognises_hashed_assets() {
        assert!(is_hashed_asset("/easel-5f0c1e2d3a4b6978_bg.wasm"));
        assert!(is_hashed_asset("/style-a1b2c3d4e5f6071.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/config.json"));
        assert!(!is_hashed_asset("/app.js"));
        assert!(!is_hashed_asset("/settings"));
    }
}
