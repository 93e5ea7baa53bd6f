//! The built app: files from `dist/`, with `index.html` for deep links such as `/settings`
//! (the app routes on the client). Only these responses are compressed, so API responses keep
//! streaming untouched.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// Serves `dist` (or a note that the app is not built when there is none).
pub(crate) fn router(dist: Option<&Path>) -> Router {
    let policy = Arc::new(PagePolicy {
        index: dist.map(|d| d.join("index.html")),
        cached: Mutex::new(None),
    });
    let Some(dist) = dist else {
        return Router::new()
            .fallback(|request: Request| async move { not_built(request.uri().path()) })
            .layer(middleware::from_fn_with_state(
                policy,
                content_security_policy,
            ));
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
        .layer(middleware::from_fn_with_state(
            policy,
            content_security_policy,
        ))
        .layer(CompressionLayer::new())
}

/// The Content-Security-Policy of the app's pages. Trunk's loader is an inline module script,
/// so the policy names it by hash (read from the built `index.html`, recomputed when the file
/// changes) rather than allowing inline scripts at all. `connect-src` stays open to any
/// http(s) origin because the app may call an API the user chose (Direct mode); `blob:` lets
/// the page read back its own images (blob URLs are bound to the page's origin);
/// `base-uri 'self'` allows the page's own `<base href>` (Trunk's public URL, see
/// `src/site.rs`) and no other.
struct PagePolicy {
    index: Option<PathBuf>,
    cached: Mutex<Option<(SystemTime, HeaderValue)>>,
}

impl PagePolicy {
    async fn header(&self) -> HeaderValue {
        let Some(index) = &self.index else {
            return policy_with(&[]);
        };
        let modified = tokio::fs::metadata(index)
            .await
            .and_then(|m| m.modified())
            .ok();
        let cached = self
            .cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let (Some(modified), Some((at, value))) = (modified, cached)
            && modified == at
        {
            return value;
        }
        let html = tokio::fs::read_to_string(index).await.unwrap_or_default();
        let value = policy_with(&inline_script_hashes(&html));
        if let Some(modified) = modified {
            *self.cached.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((modified, value.clone()));
        }
        value
    }
}

fn policy_with(script_hashes: &[String]) -> HeaderValue {
    let hashes: String = script_hashes.iter().map(|h| format!(" '{h}'")).collect();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https: http:; \
         connect-src 'self' blob: https: http:; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).expect("the policy is plain ASCII")
}

/// `sha256-…` of each inline `<script>` (one without `src`), as CSP wants them.
fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let Some(close) = rest.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") && close > tag_end {
            let content = &rest[tag_end + 1..close];
            hashes.push(format!(
                "sha256-{}",
                STANDARD.encode(Sha256::digest(content.as_bytes()))
            ));
        }
        rest = &rest[close + "</script>".len()..];
    }
    hashes
}

async fn content_security_policy(
    State(policy): State<Arc<PagePolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        let value = policy.header().await;
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
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
    fn hashes_only_inline_scripts() {
        let html = "<script type=\"module\">import x;</script><script src=\"/a.js\"></script>";
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 1);
        let expected = STANDARD.encode(Sha256::digest(b"import x;"));
        assert_eq!(hashes[0], format!("sha256-{expected}"));
    }

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
