//! The share routes with their store in S3, against a real S3-compatible server on loopback:
//! moto's `moto_server`, which `cargo xtask test` installs under `.tools/moto` and names in
//! `EASEL_MOTO_SERVER` (with `EASEL_REQUIRE_S3=1`, so there the test runs or fails). A plain
//! `cargo test` without it says the test was skipped.

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use easel_relay::{Config, ShareStore, Shares, app};

use crate::shares::{create, delete, get_json, manifest, sha256, share_request};
use crate::{get, png};

const BUCKET: &str = "easel-shares";

/// A running `moto_server`, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto on a free loopback port, or says why the test is skipped.
    async fn start() -> Option<Moto> {
        let required = std::env::var("EASEL_REQUIRE_S3").is_ok_and(|v| v == "1");
        let Some(server) = std::env::var_os("EASEL_MOTO_SERVER") else {
            assert!(
                !required,
                "EASEL_REQUIRE_S3=1 but EASEL_MOTO_SERVER is not set: the S3 test must run"
            );
            eprintln!(
                "skipped: the S3 share test needs moto_server (EASEL_MOTO_SERVER); \
                 `cargo xtask test` installs it"
            );
            return None;
        };
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.to_string_lossy()));
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        // moto answers once Flask is up: a second or two.
        loop {
            if client.get(&moto.endpoint).send().await.is_ok() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not answer on {}",
                moto.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let made = client
            .put(format!("{}/{BUCKET}", moto.endpoint))
            .send()
            .await
            .unwrap();
        assert!(
            made.status().is_success(),
            "create bucket: {}",
            made.status()
        );
        Some(moto)
    }

    /// The keys under `prefix` in the bucket.
    async fn keys(&self, prefix: &str) -> Vec<String> {
        let url = format!("{}/{BUCKET}?list-type=2&prefix={prefix}", self.endpoint);
        let xml = reqwest::get(url).await.unwrap().text().await.unwrap();
        let mut keys: Vec<String> = xml
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    }
}

#[tokio::test]
async fn shares_live_in_an_s3_compatible_store() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let store = ShareStore::from_url(
        &format!("s3://{BUCKET}/relay-test"),
        [
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
    )
    .unwrap();
    // The store's name for the log has no credentials.
    assert_eq!(store.to_string(), format!("s3://{BUCKET}/relay-test"));
    let relay = app(Config {
        shares: Some(Shares::new(store)),
        ..Config::default()
    });
    let (red, svg) = (
        png(8, 8, [255, 0, 0, 255]),
        br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#,
    );
    let (r, s) = (sha256(&red), sha256(svg));
    let request = share_request(&manifest(&[&r, &s]), &[&red, svg], &[("expires_in", "600")]);
    let (status, created) = create(&relay, request).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let token = created["delete_token"].as_str().unwrap();

    let keys = moto.keys("relay-test/").await;
    for key in [
        format!("relay-test/images/{r}"),
        format!("relay-test/images/{s}"),
        format!("relay-test/shares/{id}.json"),
        format!("relay-test/refs/{r}/{id}"),
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }

    let (status, share) = get_json(&relay, &format!("/v1/shares/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{share}");
    assert_eq!(share["manifest"]["items"][1]["sha256"], s.as_str());
    assert_eq!(share["images"][1]["content_type"], "image/svg+xml");
    assert!(share["expires_ms"].as_u64().is_some());
    let (status, headers, bytes) = get(&relay, &format!("/v1/shares/{id}/images/{r}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, red);
    assert_eq!(headers["content-type"], "image/png");

    let (status, json) = get_json(&relay, "/v1/shares/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json["error"]["code"], "share_not_found");
    let (status, json) = delete(&relay, id, Some("wrong")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json["error"]["code"], "invalid_delete_token");

    let (status, _) = delete(&relay, id, Some(token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, json) = get_json(&relay, &format!("/v1/shares/{id}")).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(json["error"]["code"], "share_deleted");
    let keys = moto.keys("relay-test/").await;
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("/images/") || k.contains("/refs/")),
        "{keys:?}"
    );
    assert!(keys.contains(&format!("relay-test/shares/{id}.json")));
}
