//! Easel as a GitHub Pages project site: the release build made for `/easel/`
//! (`cargo xtask build --public-url /easel/`) served by a plain static file server — not the
//! relay — with the host's `config.json` pointing at a relay elsewhere. The studio, a deep
//! link and a recipe link all load; "Export as a web page" opens from disk.

use std::path::{Path, PathBuf};
use std::time::Duration;

use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, StaticHost, dist_dir, workspace_root};
use serde_json::{Value, json};

const GENERATION: Duration = Duration::from_secs(30);
const PROMPTS: [&str; 2] = ["a lighthouse on a cliff", "a teapot shaped like a whale"];

/// The sub-path build `cargo xtask test` makes (`EASEL_SUB_PATH_DIST`, at `EASEL_SUB_PATH`).
fn sub_path_build() -> (PathBuf, String) {
    let dist = std::env::var_os("EASEL_SUB_PATH_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/dist-easel"));
    let prefix = std::env::var("EASEL_SUB_PATH").unwrap_or_else(|_| "/easel/".to_owned());
    assert!(
        dist.join("404.html").is_file(),
        "no sub-path build at {} (404.html missing): run `cargo xtask build --public-url \
         {prefix} --dist {}`, or `cargo xtask test`",
        dist.display(),
        dist.display()
    );
    (dist, prefix)
}

/// A copy of `dist` as a host deploys it, with its own `config.json`: the same build,
/// configured after the fact.
fn deploy(dist: &Path, config: &Value) -> tempfile::TempDir {
    let site = tempfile::tempdir().expect("a folder for the site");
    for entry in std::fs::read_dir(dist).expect("read the build") {
        let path = entry.expect("a built file").path();
        if path.is_file() {
            std::fs::copy(&path, site.path().join(path.file_name().unwrap())).expect("copy");
        }
    }
    std::fs::write(site.path().join("config.json"), config.to_string()).expect("config.json");
    site
}

#[tokio::test]
async fn a_project_site_build_works_from_a_plain_static_host() {
    let (dist, prefix) = sub_path_build();
    let listener = StaticHost::bind();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let relay = Relay::start(
        &dist_dir(),
        &["--allow-origin", &origin, "--latency-ms", "0"],
    );
    let site = deploy(
        &dist,
        &json!({ "mode": "relay", "relay_url": relay.url(), "model": "gpt-image-1.5" }),
    );
    let host = StaticHost::serve(listener, site.path(), &prefix);

    // The studio at the site's root, set up by config.json: the relay elsewhere, its model.
    let browser = Browser::start().await;
    browser.goto(&host.at("")).await;
    browser.wait_for("#prompt", WAIT).await;
    browser
        .wait_until_js(
            "document.querySelector('#model').value === 'gpt-image-1.5'",
            WAIT,
        )
        .await;
    for prompt in PROMPTS {
        browser.fill("#prompt", prompt).await;
        browser.generate_now(GENERATION).await;
    }

    // A deep link: the host has no file there and answers with 404.html, which is the app.
    browser.goto(&host.at("gallery")).await;
    browser
        .wait_until_js(
            "document.querySelectorAll('.grid-cell img.thumb').length === 2",
            GENERATION,
        )
        .await;
    assert!(
        browser.current_url().await.ends_with("/easel/gallery"),
        "{}",
        browser.current_url().await
    );
    // The site's service worker, from its path, serves the site's pages and no others.
    browser
        .wait_until_js("navigator.serviceWorker.controller !== null", WAIT)
        .await;
    let worker = browser
        .execute(
            "return navigator.serviceWorker.getRegistration()             .then(r => [r.scope, navigator.serviceWorker.controller.scriptURL]);",
            vec![],
        )
        .await;
    assert_eq!(
        worker,
        json!([host.at(""), host.at("sw.js")]),
        "the worker's scope and script"
    );

    // A recipe link names the site's path, and opens in a browser that has nothing stored.
    browser.click("#select-all").await;
    browser
        .wait_for_text("#selected-count", "2 selected", WAIT)
        .await;
    browser.click("#bulk-share").await;
    browser.wait_visible("#share-link", WAIT).await;
    let link = browser.value_of("#share-link").await;
    assert!(
        link.starts_with(&host.at("shared#r=")),
        "the link is under the site's path: {link}"
    );
    let other = Browser::start().await;
    other.goto(&link).await;
    other
        .wait_until_js(
            "document.querySelectorAll('.shared-card .shared-prompt').length === 2",
            WAIT,
        )
        .await;
    let prompts = other
        .execute(
            "return [...document.querySelectorAll('.shared-card .shared-prompt')].map(p => p.textContent)",
            vec![],
        )
        .await;
    for prompt in PROMPTS {
        assert!(prompts.to_string().contains(prompt), "{prompts}");
    }

    // The app's own links stay under the site's path (a click, not a page load).
    other.click("#nav-settings").await;
    other.wait_for("#relay-url", WAIT).await;
    assert_eq!(other.current_url().await, host.at("settings"));
    assert_eq!(other.value_of("#relay-url").await, relay.url());
    other.screenshot("project-site-settings").await;
    // The host answers a deep link with 404.html and status 404, which Chromium logs for the
    // page itself; anything else is a fault.
    let errors: Vec<String> = other
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !(e.contains(&link) && e.contains("status of 404")))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    other.close().await;

    // "Export as a web page": unzipped, its index.html shows both images from disk.
    browser.goto(&host.at("gallery")).await;
    browser.wait_for("#export-page", WAIT).await;
    browser
        .wait_for_text("#export-page", "All as a web page", WAIT)
        .await;
    browser.click("#export-page").await;
    let zip = browser.wait_for_download(GENERATION).await;
    let page_dir = tempfile::tempdir().expect("a folder for the page");
    let bytes = std::fs::read(&zip).expect("read the download");
    let mut names = Vec::new();
    for (entry, range) in easel_core::zip::list(&bytes).expect("a ZIP") {
        let path = page_dir.path().join(&entry.name);
        std::fs::create_dir_all(path.parent().unwrap()).expect("folders");
        std::fs::write(&path, &bytes[range.start as usize..range.end as usize]).expect("unzip");
        names.push(entry.name);
    }
    assert!(names.contains(&"index.html".to_owned()), "{names:?}");
    assert!(names.contains(&"manifest.json".to_owned()), "{names:?}");
    browser
        .goto(&format!(
            "file://{}",
            page_dir.path().join("index.html").display()
        ))
        .await;
    browser
        .wait_until_js(
            "[...document.querySelectorAll('figure img')].length === 2 && \
             [...document.querySelectorAll('figure img')].every(i => i.complete && i.naturalWidth > 0)",
            WAIT,
        )
        .await;
    let text = browser.page_text().await;
    for prompt in PROMPTS {
        assert!(text.contains(prompt), "{text}");
    }
    assert!(text.contains("gpt-image-1.5"), "{text}");
    browser.screenshot("web-page-export").await;
    browser.fill("#search", "teapot").await;
    browser
        .wait_until_js(
            "[...document.querySelectorAll('figure')].filter(f => !f.hidden).length === 1",
            WAIT,
        )
        .await;
    browser.fill("#search", "no such thing").await;
    browser.wait_visible("#none", WAIT).await;
    browser.close().await;
}
