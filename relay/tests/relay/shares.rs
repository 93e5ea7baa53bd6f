//! Hosted share links with the local store (a temporary directory), driven with `oneshot`:
//! create, get, images, delete, expiry, limits, validation, and the guard rails. The S3 path
//! runs against a real S3-compatible server (moto) in `s3.rs`.

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use easel_relay::{AccessToken, Config, RateLimit, ShareStore, Shares, app};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{get, png, send};

pub(crate) const HOST: &str = "relay.test:8080";

pub(crate) fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A manifest with one item per hash, as the app writes them.
pub(crate) fn manifest(hashes: &[&str]) -> String {
    let items: Vec<Value> = hashes
        .iter()
        .enumerate()
        .map(|(i, hash)| {
            json!({"prompt": format!("picture {i}"), "model": "gpt-image-1",
                   "request": {"model": "gpt-image-1", "prompt": format!("picture {i}")},
                   "width": 8, "height": 8, "mime": "image/png", "sha256": hash})
        })
        .collect();
    json!({"format": "easel-share", "version": 1, "title": "my pictures",
           "created_ms": 1_795_868_000_000_u64, "items": items})
    .to_string()
}

/// A share request: the manifest, then each image as an `image` part (typed image/png by the
/// client, whatever it is), then the extra text parts.
pub(crate) fn share_request(
    manifest: &str,
    images: &[&[u8]],
    extra: &[(&str, &str)],
) -> Request<Body> {
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("manifest", None, manifest.as_bytes())];
    parts.extend(
        images
            .iter()
            .map(|data| ("image", Some("picture.png"), *data)),
    );
    parts.extend(
        extra
            .iter()
            .map(|(name, value)| (*name, None, value.as_bytes())),
    );
    let (content_type, body) = crate::multipart(&parts);
    Request::post("/v1/shares")
        .header("content-type", content_type)
        .header("host", HOST)
        .body(Body::from(body))
        .unwrap()
}

pub(crate) async fn create(relay: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = send(relay, request).await;
    (status, serde_json::from_slice(&body).unwrap())
}

pub(crate) async fn get_json(relay: &Router, uri: &str) -> (StatusCode, Value) {
    let (status, _, body) = get(relay, uri).await;
    (status, serde_json::from_slice(&body).unwrap())
}

pub(crate) async fn delete(relay: &Router, id: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::delete(format!("/v1/shares/{id}"));
    if let Some(token) = token {
        request = request.header("x-delete-token", token);
    }
    let (status, _, body) = send(relay, request.body(Body::empty()).unwrap()).await;
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap()
    };
    (status, json)
}

fn local(dir: &Path) -> Shares {
    Shares::new(ShareStore::local(dir).unwrap())
}

fn relay_with(shares: Shares) -> Router {
    app(Config {
        shares: Some(shares),
        ..Config::default()
    })
}

/// Every file under `dir`, relative, sorted.
fn stored(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn jpeg() -> Vec<u8> {
    let image = image::RgbImage::from_pixel(8, 8, image::Rgb([200, 30, 30]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

const SVG: &[u8] = br#"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><script>alert(document.cookie)</script><rect width="8" height="8" style="fill:red"/></svg>"#;

fn code(json: &Value) -> &str {
    let error = json["error"].as_object().expect("an error envelope");
    for key in ["message", "type", "param", "code"] {
        assert!(error.contains_key(key), "{key} in {json}");
    }
    error["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_share_is_created_read_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(local(dir.path()));
    let (red, blue) = (png(8, 8, [255, 0, 0, 255]), png(8, 8, [0, 0, 255, 255]));
    let (r, b) = (sha256(&red), sha256(&blue));
    let sent = manifest(&[&r, &b, &r]);
    let (status, created) = create(&relay, share_request(&sent, &[&red, &blue], &[])).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let token = created["delete_token"].as_str().unwrap();
    // 16 and 32 random bytes, base64url.
    assert_eq!(id.len(), 22);
    assert_eq!(token.len(), 43);
    let url = format!("http://{HOST}/v1/shares/{id}");
    assert_eq!(created["url"], url.as_str());
    assert_eq!(
        created["link"],
        format!("http://{HOST}/shared#h=http%3A%2F%2Frelay.test%3A8080%2Fv1%2Fshares%2F{id}")
    );
    assert_eq!(created["expires_ms"], Value::Null);
    // The delete token is kept only as its hash.
    for file in stored(dir.path()) {
        let text = std::fs::read(dir.path().join(&file)).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains(token),
            "{file} holds the token"
        );
    }

    let (status, share) = get_json(&relay, &format!("/v1/shares/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{share}");
    assert_eq!(share["id"], id);
    assert!(share["created_ms"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!(share["expires_ms"], Value::Null);
    assert_eq!(
        share["manifest"],
        serde_json::from_str::<Value>(&sent).unwrap()
    );
    let images = share["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "each image once: {share}");
    assert_eq!(images[0]["sha256"], r.as_str());
    assert_eq!(images[0]["content_type"], "image/png");
    assert_eq!(images[0]["bytes"], red.len());
    assert_eq!(
        images[1]["url"],
        format!("/v1/shares/{id}/images/{b}").as_str()
    );

    let (status, headers, bytes) = get(&relay, images[1]["url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, blue);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    // An image of this share only: a hash it does not hold is not served through it.
    let other = sha256(b"other");
    let (status, _, body) = get(&relay, &format!("/v1/shares/{id}/images/{other}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        code(&serde_json::from_slice(&body).unwrap()),
        "share_image_not_found"
    );

    let (status, json) = delete(&relay, id, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&json), "invalid_delete_token");
    let (status, json) = delete(&relay, id, Some("not-the-token")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&json), "invalid_delete_token");
    assert_eq!(
        get_json(&relay, &format!("/v1/shares/{id}")).await.0,
        StatusCode::OK
    );

    let (status, _) = delete(&relay, id, Some(token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, json) = get_json(&relay, &format!("/v1/shares/{id}")).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(code(&json), "share_deleted");
    let (status, json) = get_json(&relay, &format!("/v1/shares/{id}/images/{b}")).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(code(&json), "share_deleted");
    let (status, json) = delete(&relay, id, Some(token)).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(code(&json), "share_deleted");
    // Only the tombstone is left.
    assert_eq!(stored(dir.path()), vec![format!("shares/{id}.json")]);
}

#[tokio::test]
async fn an_image_two_shares_hold_is_stored_once_and_outlives_one_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(local(dir.path()));
    let red = png(8, 8, [255, 0, 0, 255]);
    let hash = sha256(&red);
    let (_, first) = create(&relay, share_request(&manifest(&[&hash]), &[&red], &[])).await;
    let (_, second) = create(&relay, share_request(&manifest(&[&hash]), &[&red], &[])).await;
    let images: Vec<_> = stored(dir.path())
        .into_iter()
        .filter(|f| f.starts_with("images/"))
        .collect();
    assert_eq!(images, vec![format!("images/{hash}")]);
    let id = first["id"].as_str().unwrap();
    let token = first["delete_token"].as_str().unwrap();
    assert_eq!(
        delete(&relay, id, Some(token)).await.0,
        StatusCode::NO_CONTENT
    );
    let second = second["id"].as_str().unwrap();
    let (status, _, bytes) = get(&relay, &format!("/v1/shares/{second}/images/{hash}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, red);
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(local(dir.path()));
    let hash = sha256(b"x");
    for uri in [
        "/v1/shares/AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        "/v1/shares/not-an-id".to_owned(),
        "/v1/shares/..%2F..%2Fetc".to_owned(),
        format!("/v1/shares/AAAAAAAAAAAAAAAAAAAAAA/images/{hash}"),
    ] {
        let (status, json) = get_json(&relay, &uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(code(&json), "share_not_found", "{uri}");
    }
    let (status, json) = delete(&relay, "AAAAAAAAAAAAAAAAAAAAAA", Some("token")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&json), "share_not_found");
}

#[tokio::test]
async fn an_expired_share_is_gone_and_lets_go_of_its_images() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(local(dir.path()));
    let red = png(8, 8, [255, 0, 0, 255]);
    let hash = sha256(&red);
    let request = share_request(&manifest(&[&hash]), &[&red], &[("expires_in", "1")]);
    let (status, created) = create(&relay, request).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, share) = get_json(&relay, &format!("/v1/shares/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let expires = created["expires_ms"].as_u64().unwrap();
    assert_eq!(share["expires_ms"], expires);
    assert_eq!(expires - share["created_ms"].as_u64().unwrap(), 1000);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    for uri in [
        format!("/v1/shares/{id}"),
        format!("/v1/shares/{id}/images/{hash}"),
    ] {
        let (status, json) = get_json(&relay, &uri).await;
        assert_eq!(status, StatusCode::GONE, "{uri}");
        assert_eq!(code(&json), "share_expired", "{uri}");
    }
    let files = stored(dir.path());
    assert!(!files.iter().any(|f| f.starts_with("images/")), "{files:?}");
    assert!(files.contains(&format!("shares/{id}.json")), "{files:?}");
}

#[tokio::test]
async fn expiry_is_capped_by_the_relay_and_defaults_to_its_default() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(Shares {
        default_expiry: Some(Duration::from_secs(30)),
        max_expiry: Some(Duration::from_secs(60)),
        ..local(dir.path())
    });
    let red = png(8, 8, [255, 0, 0, 255]);
    let hash = sha256(&red);
    for (asked, lives_ms) in [(Some("3600"), 60_000), (None, 30_000), (Some("10"), 10_000)] {
        let extra: Vec<(&str, &str)> = asked.map(|a| ("expires_in", a)).into_iter().collect();
        let (status, created) =
            create(&relay, share_request(&manifest(&[&hash]), &[&red], &extra)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap();
        let (_, share) = get_json(&relay, &format!("/v1/shares/{id}")).await;
        let lived = share["expires_ms"].as_u64().unwrap() - share["created_ms"].as_u64().unwrap();
        assert_eq!(lived, lives_ms, "{asked:?}");
    }
    let request = share_request(&manifest(&[&hash]), &[&red], &[("expires_in", "never")]);
    let (status, json) = create(&relay, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"]["param"], "expires_in");
}

#[tokio::test]
async fn shares_over_the_limits_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let relay = app(Config {
        shares: Some(Shares {
            max_images: 2,
            max_bytes: 4000,
            ..local(dir.path())
        }),
        multipart_body_limit: 64 * 1024,
        ..Config::default()
    });
    let small: Vec<Vec<u8>> = (0..3u8).map(|i| png(4, 4, [i, 0, 0, 255])).collect();
    let hashes: Vec<String> = small.iter().map(|p| sha256(p)).collect();
    let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
    let images: Vec<&[u8]> = small.iter().map(Vec::as_slice).collect();
    let (status, json) = create(&relay, share_request(&manifest(&hashes), &images, &[])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(code(&json), "share_too_large");

    // Noise does not compress: 8 KB of it, over the 4,000 bytes a share may take.
    let noisy = image::RgbaImage::from_fn(48, 48, |x, y| {
        let n = (x * 7919 + y * 104_729) ^ (x * y * 31);
        image::Rgba([n as u8, (n >> 8) as u8, (n >> 3) as u8, 255])
    });
    let mut big = std::io::Cursor::new(Vec::new());
    noisy.write_to(&mut big, image::ImageFormat::Png).unwrap();
    let big = big.into_inner();
    assert!(big.len() > 4000 && big.len() < 64 * 1024, "{}", big.len());
    let request = share_request(&manifest(&[&sha256(&big)]), &[&big], &[]);
    let (status, json) = create(&relay, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(code(&json), "share_too_large");

    // Over the body limit: refused before the body is read in full.
    let huge = vec![0u8; 70 * 1024];
    let request = share_request(&manifest(&[&sha256(&huge)]), &[&huge], &[]);
    let (status, json) = create(&relay, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(code(&json), "request_too_large");

    let items = vec![hashes[0]; 65];
    let request = share_request(&manifest(&items), &[&small[0]], &[]);
    let (status, json) = create(&relay, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_eq!(code(&json), "invalid_manifest");

    assert_eq!(stored(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_part_that_is_no_image_is_refused_with_415() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(local(dir.path()));
    let html = b"<html><script>alert(1)</script></html>".as_slice();
    let red = png(8, 8, [255, 0, 0, 255]);
    let request = share_request(
        &manifest(&[&sha256(&red), &sha256(html)]),
        &[&red, html],
        &[],
    );
    let (status, json) = create(&relay, request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{json}");
    assert_eq!(code(&json), "unsupported_image");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Image 2")
    );
    // Not multipart at all.
    let request = Request::post("/v1/shares")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (status, json) = create(&relay, request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(code(&json), "unsupported_content_type");
    assert_eq!(stored(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn manifests_are_checked_against_the_contract_and_the_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(local(dir.path()));
    let red = png(8, 8, [255, 0, 0, 255]);
    let blue = png(8, 8, [0, 0, 255, 255]);
    let (r, b) = (sha256(&red), sha256(&blue));
    let cases: Vec<(String, Vec<&[u8]>, &str)> = vec![
        // An item naming an image that was not sent.
        (manifest(&[&r, &b]), vec![&red], "unknown_image"),
        // An image no item names.
        (manifest(&[&r]), vec![&red, &blue], "unreferenced_image"),
        (
            manifest(&[&r]).replace("easel-share", "other"),
            vec![&red],
            "invalid_manifest",
        ),
        (
            manifest(&[&r]).replace("\"version\":1", "\"version\":2"),
            vec![&red],
            "invalid_manifest",
        ),
        ("not json".into(), vec![&red], "invalid_manifest"),
        ("[1,2]".into(), vec![&red], "invalid_manifest"),
        (
            manifest(&[&r.to_uppercase()]),
            vec![&red],
            "invalid_manifest",
        ),
        (
            json!({"format": "easel-share", "version": 1, "items": []}).to_string(),
            vec![&red],
            "invalid_manifest",
        ),
    ];
    for (sent, images, expected) in cases {
        let (status, json) = create(&relay, share_request(&sent, &images, &[])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sent}: {json}");
        assert_eq!(code(&json), expected, "{sent}");
    }
    // No manifest part at all.
    let (content_type, body) = crate::multipart(&[("image", Some("a.png"), &red)]);
    let request = Request::post("/v1/shares")
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, json) = create(&relay, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"]["param"], "manifest");
    assert_eq!(stored(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn images_are_typed_by_their_bytes_and_sandboxed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(local(dir.path()));
    let photo = jpeg();
    let (s, j) = (sha256(SVG), sha256(&photo));
    // Both parts say image/png; neither is.
    let (status, created) = create(
        &relay,
        share_request(&manifest(&[&s, &j]), &[SVG, &photo], &[]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let (_, share) = get_json(&relay, &format!("/v1/shares/{id}")).await;
    assert_eq!(share["images"][0]["content_type"], "image/svg+xml");
    assert_eq!(share["images"][1]["content_type"], "image/jpeg");

    let (status, headers, bytes) = get(&relay, &format!("/v1/shares/{id}/images/{s}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, SVG);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        "sandbox; default-src 'none'; style-src 'unsafe-inline'"
    );
    assert_eq!(
        headers
            .get_all(header::CONTENT_SECURITY_POLICY)
            .iter()
            .count(),
        1
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let (_, headers, _) = get(&relay, &format!("/v1/shares/{id}/images/{j}")).await;
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        "sandbox; default-src 'none'; style-src 'unsafe-inline'"
    );
}

fn preflight(uri: &str, origin: &str, method: &str) -> Request<Body> {
    Request::options(uri)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "x-delete-token")
        .body(Body::empty())
        .unwrap()
}

fn with_origin(mut request: Request<Body>, origin: &str) -> Request<Body> {
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    request
}

#[tokio::test]
async fn allowed_origins_may_share_and_delete_and_others_may_not() {
    let dir = tempfile::tempdir().unwrap();
    let relay = app(Config {
        allowed_origins: vec!["https://me.github.io".into()],
        shares: Some(local(dir.path())),
        ..Config::default()
    });
    let uri = "/v1/shares/AAAAAAAAAAAAAAAAAAAAAA";
    let (status, headers, _) = send(&relay, preflight(uri, "https://me.github.io", "DELETE")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://me.github.io"
    );
    let methods = headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap();
    assert!(methods.split(',').any(|m| m == "DELETE"), "{methods}");
    let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap();
    assert!(
        allowed.split(',').any(|h| h == "x-delete-token"),
        "{allowed}"
    );

    let (status, headers, _) = send(&relay, preflight(uri, "https://evil.example", "DELETE")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let (status, _, _) = send(
        &relay,
        preflight("/v1/shares", "https://evil.example", "POST"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A form on another site may post multipart without a preflight: refused all the same.
    let red = png(8, 8, [255, 0, 0, 255]);
    let upload = || share_request(&manifest(&[&sha256(&red)]), &[&red], &[]);
    let (status, json) = create(&relay, with_origin(upload(), "https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&json), "origin_not_allowed");
    assert_eq!(stored(dir.path()), Vec::<String>::new());

    let (status, created) = create(&relay, with_origin(upload(), "https://me.github.io")).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();
    // Opening a share is for anyone; only allowed origins' pages may read the answer.
    let open = |origin: &str| {
        with_origin(
            Request::get(format!("/v1/shares/{id}"))
                .body(Body::empty())
                .unwrap(),
            origin,
        )
    };
    let (status, headers, _) = send(&relay, open("https://elsewhere.example")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let (_, headers, _) = send(&relay, open("https://me.github.io")).await;
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://me.github.io"
    );
    // Deleting from another site's page is refused even with the token.
    let token = created["delete_token"].as_str().unwrap();
    let delete_from = |origin: &str| {
        with_origin(
            Request::delete(format!("/v1/shares/{id}"))
                .header("x-delete-token", token)
                .body(Body::empty())
                .unwrap(),
            origin,
        )
    };
    let (status, _, _) = send(&relay, delete_from("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = send(&relay, delete_from("https://me.github.io")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn making_a_share_needs_the_access_token_opening_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let relay = app(Config {
        access_tokens: vec![AccessToken::new("team-token")],
        shares: Some(local(dir.path())),
        ..Config::default()
    });
    let red = png(8, 8, [255, 0, 0, 255]);
    let hash = sha256(&red);
    let upload = || share_request(&manifest(&[&hash]), &[&red], &[]);
    let (status, headers, body) = send(&relay, upload()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(
        code(&serde_json::from_slice(&body).unwrap()),
        "invalid_relay_token"
    );
    assert_eq!(stored(dir.path()), Vec::<String>::new());

    let mut request = upload();
    request
        .headers_mut()
        .insert("authorization", "Bearer team-token".parse().unwrap());
    let (status, created) = create(&relay, request).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        get_json(&relay, &format!("/v1/shares/{id}")).await.0,
        StatusCode::OK
    );
    let (status, _, _) = get(&relay, &format!("/v1/shares/{id}/images/{hash}")).await;
    assert_eq!(status, StatusCode::OK);
    let token = created["delete_token"].as_str().unwrap();
    assert_eq!(
        delete(&relay, id, Some(token)).await.0,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn share_routes_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let relay = app(Config {
        rate_limit: Some(RateLimit {
            per_minute: 1,
            burst: 2,
        }),
        shares: Some(local(dir.path())),
        ..Config::default()
    });
    let uri = "/v1/shares/AAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(get(&relay, uri).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&relay, uri).await.0, StatusCode::NOT_FOUND);
    let (status, headers, body) = get(&relay, uri).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        code(&serde_json::from_slice(&body).unwrap()),
        "rate_limit_exceeded"
    );
    let red = png(8, 8, [255, 0, 0, 255]);
    let (status, _) = create(
        &relay,
        share_request(&manifest(&[&sha256(&red)]), &[&red], &[]),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(stored(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn info_says_whether_and_how_much_the_relay_shares() {
    let (_, info) = get_json(&app(Config::default()), "/v1/relay/info").await;
    assert_eq!(info["shares"], false);
    assert_eq!(info["upstream"], "offline");

    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(Shares {
        max_images: 12,
        max_bytes: 1234,
        max_expiry: Some(Duration::from_secs(86_400)),
        ..local(dir.path())
    });
    let (_, info) = get_json(&relay, "/v1/relay/info").await;
    assert_eq!(info["shares"], true);
    assert_eq!(info["share_max_images"], 12);
    assert_eq!(info["share_max_bytes"], 1234);
    assert_eq!(info["share_max_expires_in"], 86_400);

    // The body limit caps what a share can carry, whatever its own limit.
    let relay = app(Config {
        multipart_body_limit: 1000,
        shares: Some(local(dir.path())),
        ..Config::default()
    });
    let (_, info) = get_json(&relay, "/v1/relay/info").await;
    assert_eq!(info["share_max_bytes"], 1000);
}

#[tokio::test]
async fn without_a_store_the_share_routes_say_so() {
    let relay = app(Config::default());
    let red = png(8, 8, [255, 0, 0, 255]);
    let (status, json) = create(
        &relay,
        share_request(&manifest(&[&sha256(&red)]), &[&red], &[]),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&json), "shares_disabled");
    let (status, json) = get_json(&relay, "/v1/shares/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&json), "shares_disabled");
}
