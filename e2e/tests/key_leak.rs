//! The API key and the relay access token never leak. A person sets a recognisable key and
//! token, then generates, meets errors, shares both ways, exports and downloads; afterwards
//! every place either could end up is searched for it, in the forms a leak would take
//! (as is, a distinctive fragment, base64 at every alignment, percent-encoded, hex, UTF-16).
//! The only places allowed to hold them: the profile's key store slots, the `Authorization`
//! header of requests to the API the key is for (or to the relay the token is for).
//!
//! Every server sits behind a [`Tap`], a recording proxy, so what each one was sent is
//! searched whatever it logs; Chromium records every request it sends, to anywhere.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use easel_core::share::{self, Fragment};
use easel_core::zip::Method;
use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, StaticHost, Tap, dist_dir, http};
use serde_json::{Value, json};

/// The key: distinctive enough that finding it anywhere is a leak, never a coincidence.
const KEY: &str = "sk-easel-canary-7Hq2Vx9LmZ4pT8sR1wYc";
const TOKEN: &str = "easel-relay-canary-3Fk8Jd2Nq6Wz5Lp9Xt";
/// Offline generation is quick, but the first request of each relay fails once on purpose
/// and is retried after a backoff.
const GENERATION: Duration = Duration::from_secs(45);
/// The relays log all they would for an operator chasing a problem.
const DEBUG_LOGS: &[(&str, &str)] = &[("RUST_LOG", "debug")];

#[tokio::test]
async fn the_key_and_the_relay_token_never_leak() {
    let dist = dist_dir();
    // Ports first: the relays must allow the page's origin, the tap in front of the host.
    let site_tap = Tap::bind();
    let site_origin = origin_of(&site_tap);
    let (a_tap, b_tap, c_tap) = (Tap::bind(), Tap::bind(), Tap::bind());
    // A port nothing listens on: the API that cannot be reached.
    let unreachable = origin_of(&TcpListener::bind("127.0.0.1:0").unwrap());

    // A: the API in Direct mode; its first request answers 503, which the app retries.
    let relay_a = Relay::start_with_env(
        &dist,
        &[
            "--allow-origin",
            &site_origin,
            "--latency-ms",
            "100",
            "--test-mode",
            "--fault",
            "unavailable-once",
            "--log-format",
            "json",
            "--log-prompts",
        ],
        DEBUG_LOGS,
    );
    // B: a relay that hands out access tokens and keeps hosted shares in a folder of ours.
    let tokens = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tokens.path(), format!("{TOKEN}\n")).unwrap();
    let shares = tempfile::tempdir().unwrap();
    let relay_b = Relay::start_with_env(
        &dist,
        &[
            "--allow-origin",
            &site_origin,
            "--latency-ms",
            "100",
            "--access-tokens-file",
            &tokens.path().to_string_lossy(),
            "--shares-dir",
            &shares.path().to_string_lossy(),
            "--test-mode",
            "--fault",
            "unavailable-once",
            "--log-prompts",
        ],
        DEBUG_LOGS,
    );
    // C: an API that refuses the key (401 invalid_api_key, as OpenAI words it).
    let relay_c = Relay::start_with_env(
        &dist,
        &[
            "--allow-origin",
            &site_origin,
            "--latency-ms",
            "0",
            "--test-mode",
            "--fault",
            "unauthorized",
        ],
        DEBUG_LOGS,
    );
    let host = StaticHost::serve(StaticHost::bind(), &dist, "/");
    let site = Tap::start(site_tap, host.addr());
    let api_a = Tap::start(a_tap, relay_a.addr());
    let relay = Tap::start(b_tap, relay_b.addr());
    let api_c = Tap::start(c_tap, relay_c.addr());
    let api_origins = [api_a.origin(), api_c.origin(), unreachable.clone()];
    let known_origins: BTreeSet<String> = [site.origin(), relay.origin()]
        .into_iter()
        .chain(api_origins.iter().cloned())
        .collect();

    let browser = Browser::start_recording_network().await;
    let mut seen = Seen::default();
    let at = |path: &str| format!("{}{path}", site.origin());

    // Direct mode, the key kept on this device (so it is somewhere legitimate).
    browser.goto(&at("/")).await;
    browser.wait_for("#prompt", WAIT).await;
    let default_model = browser.value_of("#model").await;
    browser.click("#nav-settings").await;
    browser.click("#mode-direct").await;
    browser
        .fill("#base-url", &format!("{}/v1", api_a.origin()))
        .await;
    browser.fill("#api-key", KEY).await;
    browser.click("#key-storage-device").await;
    seen.page(&browser, "the settings page (Direct)").await;
    browser.click("#back-to-studio").await;

    // Two generations; the first meets the 503 and is retried by itself.
    generate(&browser, "a lighthouse at dusk", "2").await;
    seen.page(&browser, "the studio after a retried 503").await;
    generate(&browser, "a fox asleep in the snow", "1").await;
    browser
        .click("article.job[data-state=done] a.download")
        .await;
    let mut downloads = wait_for_downloads(&browser, 1).await;

    // A parameter the API refuses.
    browser.select("#model", "custom").await;
    browser.fill("#custom-model", "dall-e-2").await;
    browser.fill("#custom-size", "1536x1024").await;
    fail(&browser, "a paper boat on a pond", "Supported values are").await;
    seen.page(&browser, "the studio after an invalid parameter")
        .await;
    browser.select("#model", &default_model).await;

    // The key refused, then an API nobody answers at.
    set_base_url(&browser, &format!("{}/v1", api_c.origin())).await;
    fail(&browser, "a red bicycle", "API key was not accepted").await;
    seen.page(&browser, "the studio after a refused key").await;
    set_base_url(&browser, &format!("{unreachable}/v1")).await;
    fail(&browser, "a blue kite", "").await;
    seen.page(&browser, "the studio after an unreachable API")
        .await;
    set_base_url(&browser, &format!("{}/v1", api_a.origin())).await;

    // A reload: the key comes back from this device's storage.
    browser.goto(&at("/")).await;
    browser.wait_for("#prompt", WAIT).await;
    assert_eq!(
        browser.count("#key-prompt").await,
        0,
        "the key kept on this device survives a reload"
    );

    // A recipe link of the three images, with previews and without.
    let mut links = Vec::new();
    open_share_dialog(&browser, &at("/gallery"), 3, &mut seen).await;
    links.push(browser.value_of("#share-link").await);
    browser.click("#share-previews").await;
    let with_previews = links[0].len();
    browser
        .wait_until_js(
            &format!(
                "(() => {{ const e = document.querySelector('#share-link'); \
                 return !!e && e.value.length < {with_previews}; }})()"
            ),
            WAIT,
        )
        .await;
    links.push(browser.value_of("#share-link").await);
    seen.page(&browser, "the share dialog (recipe link)").await;
    browser.click("#share-close").await;

    // Relay mode: B's address first, then a generation it refuses for want of the token,
    // then the token.
    browser.click("#nav-settings").await;
    browser.click("#mode-relay").await;
    browser.fill("#relay-url", &relay.origin()).await;
    browser.click("#back-to-studio").await;
    browser.wait_for("#prompt", WAIT).await;
    fail(&browser, "a kite over dunes", "access token").await;
    seen.page(&browser, "the studio after a missing relay token")
        .await;
    browser.click("#nav-settings").await;
    browser.fill("#relay-token", TOKEN).await;
    seen.page(&browser, "the settings page (Relay)").await;
    browser.click("#back-to-studio").await;
    generate(&browser, "a teapot shaped like a whale", "1").await;
    browser
        .click("article.job[data-state=done] a.download")
        .await;
    downloads = wait_for_downloads(&browser, downloads + 1).await;
    browser.select("#model", "custom").await;
    browser.fill("#custom-model", "dall-e-2").await;
    browser.fill("#custom-size", "1536x1024").await;
    fail(&browser, "a glass castle", "Supported values are").await;
    seen.page(&browser, "the studio after an invalid parameter (Relay)")
        .await;
    browser.select("#model", &default_model).await;

    // A hosted share of all four on B, and the recipe link the dialog offers first.
    open_share_dialog(&browser, &at("/gallery"), 4, &mut seen).await;
    links.push(browser.value_of("#share-link").await);
    browser.click("#share-kind-hosted").await;
    browser
        .wait_for_text("#hosted-relay", &relay.origin(), WAIT)
        .await;
    browser.click("#hosted-upload").await;
    browser.wait_visible("#hosted-link", GENERATION).await;
    let hosted = browser.value_of("#hosted-link").await;
    links.push(hosted.clone());
    seen.page(&browser, "the share dialog (hosted share)").await;
    browser.click("#share-close").await;

    // Exports: the gallery as a ZIP, and as a web page.
    browser.click("#export-all").await;
    downloads = wait_for_downloads(&browser, downloads + 1).await;
    browser
        .wait_until_js("!document.querySelector('#export-page').disabled", WAIT)
        .await;
    browser.click("#export-page").await;
    wait_for_downloads(&browser, downloads + 1).await;
    seen.page(&browser, "the gallery after exporting").await;

    // Both kinds of link opened, as whoever gets them would.
    browser.goto(&hosted).await;
    browser
        .wait_until_js(
            "(() => { const i = [...document.querySelectorAll('img.shared-image')]; \
             return i.length === 4 && i.every(i => i.complete && i.naturalWidth > 0); })()",
            GENERATION,
        )
        .await;
    seen.page(&browser, "the hosted share's page").await;
    browser.goto(&links[0]).await;
    browser
        .wait_until_js(
            "document.querySelectorAll('.shared-prompt').length === 3",
            WAIT,
        )
        .await;
    seen.page(&browser, "the recipe link's page").await;
    browser.goto(&at("/")).await;
    browser.wait_for("#prompt", WAIT).await;
    seen.page(&browser, "the studio at the end").await;

    // ── The search ────────────────────────────────────────────────────────────────────
    let mut sinks = Sinks::new();

    let history = browser
        .cdp("Page.getNavigationHistory", json!({}))
        .expect("the navigation history");
    let entries = history["entries"].as_array().cloned().unwrap_or_default();
    assert!(entries.len() >= 8, "a session's history: {history}");
    for entry in &entries {
        sinks.text(
            &format!("the history entry {}", entry["url"]),
            &entry.to_string(),
        );
    }
    for (what, text) in &seen.texts {
        sinks.text(what, text);
    }
    assert!(!seen.resources.is_empty(), "the pages' resources are read");
    for url in &seen.resources {
        assert!(
            url.starts_with("data:")
                || url.starts_with("blob:")
                || known_origins.contains(&origin_of_url(url)),
            "a page loaded a resource from an address nobody configured: {url}"
        );
    }

    for link in &links {
        sinks.text(&format!("the share link {}", clip(link)), link);
        match share::parse_fragment(link.split_once('#').map_or("", |(_, f)| f)) {
            Some(Fragment::Recipe(payload)) => {
                let deflated = share::decode_payload(&payload).expect("a recipe payload");
                sinks.bytes(
                    &format!("the manifest inside the recipe link {}", clip(link)),
                    &inflate(&deflated).expect("a deflated manifest"),
                );
            }
            Some(Fragment::Hosted(url)) => {
                // As served by B to anyone with the link (asked directly, past the tap).
                let path = url
                    .strip_prefix(&relay.origin())
                    .unwrap_or_else(|| panic!("the hosted share is on B: {url}"));
                let served = http::get(relay_b.addr(), path).expect("the hosted manifest");
                assert_eq!(served.status, 200, "{url}: {}", served.body);
                sinks.text(&format!("the hosted share {url} as served"), &served.body);
            }
            None => panic!("{link} is no share link"),
        }
    }
    let stored = files_under(shares.path());
    assert!(!stored.is_empty(), "B keeps the hosted share on disk");
    for file in stored {
        sinks.file(&format!("B's share store: {}", file.display()), &file);
    }

    let files = files_under(browser.downloads_dir());
    assert!(files.len() >= 4, "two images and two exports: {files:?}");
    assert!(
        files
            .iter()
            .any(|f| { std::fs::read(f).is_ok_and(|b| b.starts_with(b"PK") && b.len() > 1000) }),
        "the exports are ZIPs: {files:?}"
    );
    for file in &files {
        let bytes = std::fs::read(file).expect("read a download");
        if bytes.starts_with(b"PK") {
            // Its entries are searched too: it must open.
            easel_core::zip::list(&bytes)
                .unwrap_or_else(|e| panic!("{} is no readable ZIP: {e:?}", file.display()));
        }
        sinks.bytes(&format!("the download {}", file.display()), &bytes);
    }

    sinks.text("the console", &browser.console_logs().await.join("\n"));

    let databases = browser
        .client()
        .execute_async(DUMP_INDEXED_DB, vec![])
        .await;
    let databases = databases.expect("the IndexedDB dump");
    let names = databases.as_array().map_or(0, Vec::len);
    assert!(names > 0, "the gallery's IndexedDB is dumped: {databases}");
    sinks.json_with_blobs("IndexedDB", &databases);

    let storage = browser
        .execute(
            "const dump = s => Object.fromEntries([...Array(s.length).keys()].map(i => \
             [s.key(i), s.getItem(s.key(i))])); \
             return { local: dump(localStorage), session: dump(sessionStorage) };",
            vec![],
        )
        .await;
    let mut key_slots = 0;
    for area in ["local", "session"] {
        let Some(entries) = storage[area].as_object() else {
            panic!("{area}Storage: {storage}")
        };
        for (slot, value) in entries {
            let value = value.as_str().unwrap_or_default();
            // The key store: each slot holds its own secret, whole, and nothing else.
            let own = if slot.starts_with("easel.api-key.") {
                Some(KEY)
            } else if slot.starts_with("easel.relay-token.") {
                Some(TOKEN)
            } else {
                None
            };
            match own {
                Some(secret) if value == secret => key_slots += 1,
                _ => sinks.text(
                    &format!("{area}Storage[{slot:?}]"),
                    &format!("{slot}={value}"),
                ),
            }
        }
    }
    assert_eq!(
        key_slots, 2,
        "the key and the token are kept on this device: {storage}"
    );

    for (name, relay_log) in [("A", &relay_a), ("B", &relay_b), ("C", &relay_c)] {
        let logs = relay_log.logs();
        assert!(
            logs.contains("/v1/"),
            "relay {name} logged requests: {logs}"
        );
        sinks.text(&format!("relay {name}'s log"), &logs);
    }

    // What each server was sent. The site gets neither secret; each API the key in its
    // Authorization header only, and never the token; B the token so, and never the key.
    let taps: [(&str, &Tap, &[&str]); 4] = [
        ("the site's host", &site, &[]),
        ("API A", &api_a, &[KEY]),
        ("relay B", &relay, &[TOKEN]),
        ("API C", &api_c, &[KEY]),
    ];
    for (name, tap, allowed) in taps {
        let sent = tap.sent();
        assert!(
            !sent.is_empty(),
            "{name} was sent nothing: is the tap in the way?"
        );
        let all: Vec<u8> = sent.concat();
        for secret in allowed {
            assert!(
                find(&all, format!("Bearer {secret}").as_bytes(), false).is_some(),
                "{name} never got its secret: the search below would prove nothing"
            );
        }
        for (i, bytes) in sent.iter().enumerate() {
            sinks.bytes(
                &format!("what {name} was sent (connection {i})"),
                &without_allowed_auth(bytes, allowed),
            );
        }
    }

    // Every request Chromium sent, to anywhere.
    let network = browser.network_log().await;
    let mut url_of = std::collections::HashMap::new();
    for event in &network {
        if let Some(url) = event["params"]["request"]["url"].as_str() {
            url_of.insert(event["params"]["requestId"].to_string(), url.to_owned());
        }
    }
    let mut requests = 0;
    let mut elsewhere = Vec::new();
    for event in &network {
        let method = event["method"].as_str().unwrap_or_default();
        if !method.starts_with("Network.") {
            continue;
        }
        let url = url_of
            .get(&event["params"]["requestId"].to_string())
            .cloned()
            .unwrap_or_default();
        if method == "Network.requestWillBeSent" {
            requests += 1;
            // `data:` and `blob:` stay in the page; `chrome:` is the browser's own new tab.
            let local = ["data:", "blob:", "chrome:"]
                .iter()
                .any(|scheme| url.starts_with(scheme));
            if !local && !known_origins.contains(&origin_of_url(&url)) {
                elsewhere.push(url.clone());
            }
        }
        let mut allowed = Vec::new();
        if api_origins.contains(&origin_of_url(&url)) {
            allowed.push(KEY);
        }
        if origin_of_url(&url) == relay.origin() {
            allowed.push(TOKEN);
        }
        let mut event = event.clone();
        let masked = mask_allowed_auth(&mut event, &allowed);
        sinks.text(
            &format!("the request to {} ({method})", clip(&url)),
            &masked,
        );
    }
    assert!(
        requests > 20,
        "Chromium's requests are recorded: {requests}"
    );
    assert!(
        elsewhere.is_empty(),
        "requests to addresses nobody configured: {elsewhere:#?}"
    );

    // What Chromium keeps on disk for the site: IndexedDB's files, the HTTP cache, the service
    // worker's cache, history, session state. Local and session storage hold the key store; their entries are
    // checked one by one above.
    let profile = browser
        .profile_dir()
        .expect("the session's own profile")
        .to_owned();
    let on_disk = files_under(&profile);
    assert!(
        on_disk
            .iter()
            .any(|f| f.to_string_lossy().contains("IndexedDB")),
        "the profile holds the gallery's IndexedDB: {on_disk:?}"
    );
    assert!(
        on_disk
            .iter()
            .any(|f| f.to_string_lossy().contains("CacheStorage")),
        "the profile holds the service worker's cache: {on_disk:?}"
    );
    for file in on_disk {
        let relative = file.strip_prefix(&profile).unwrap_or(&file);
        let in_key_store = relative.components().any(|c| {
            let c = c.as_os_str();
            c == "Local Storage" || c == "Session Storage"
        });
        // Chromium writes while it runs: a file gone or locked meanwhile is skipped.
        if let (false, Ok(bytes)) = (in_key_store, std::fs::read(&file)) {
            sinks.bytes(
                &format!("the profile on disk: {}", relative.display()),
                &bytes,
            );
        }
    }

    let problems = sinks.search();
    eprintln!(
        "searched {} sinks ({} MB), {requests} requests Chromium sent",
        sinks.items.len(),
        sinks.items.iter().map(|(_, b)| b.len()).sum::<usize>() / 1_000_000
    );
    assert!(
        problems.is_empty(),
        "a secret leaked ({} finds):\n{}",
        problems.len(),
        problems.join("\n")
    );
    browser.close().await;
}

/// Generates from `prompt` and waits until one more job is done.
async fn generate(browser: &Browser, prompt: &str, count: &str) {
    browser.wait_for("#prompt", WAIT).await;
    browser.fill("#prompt", prompt).await;
    browser.select("#count", count).await;
    browser.generate_now(GENERATION).await;
}

/// Generates from `prompt` and waits until one more job has failed, saying `words`.
async fn fail(browser: &Browser, prompt: &str, words: &str) {
    let failed = "article.job[data-state=failed]";
    let before = browser.count(failed).await;
    browser.fill("#prompt", prompt).await;
    browser.click("#generate").await;
    browser
        .wait_until_js(
            &format!("document.querySelectorAll('{failed}').length > {before}"),
            GENERATION,
        )
        .await;
    browser.wait_for_text(failed, words, WAIT).await;
}

async fn set_base_url(browser: &Browser, url: &str) {
    browser.click("#nav-settings").await;
    browser.fill("#base-url", url).await;
    browser.click("#back-to-studio").await;
    browser.wait_for("#prompt", WAIT).await;
}

/// Opens the gallery, selects its `n` images and opens the share dialog on its recipe link.
async fn open_share_dialog(browser: &Browser, gallery: &str, n: usize, seen: &mut Seen) {
    browser.goto(gallery).await;
    browser
        .wait_until_js(
            &format!("document.querySelectorAll('.grid-cell img.thumb').length === {n}"),
            GENERATION,
        )
        .await;
    seen.page(browser, "the gallery").await;
    browser.click("#select-all").await;
    browser
        .wait_for_text("#selected-count", &format!("{n} selected"), WAIT)
        .await;
    browser.click("#bulk-share").await;
    browser.wait_visible("#share-link", WAIT).await;
}

/// Waits until the downloads folder holds `n` finished files; returns `n`.
async fn wait_for_downloads(browser: &Browser, n: usize) -> usize {
    let started = Instant::now();
    loop {
        let finished = files_under(browser.downloads_dir())
            .iter()
            .filter(|f| {
                let name = f.file_name().unwrap_or_default().to_string_lossy();
                !name.ends_with(".crdownload") && !name.starts_with('.')
            })
            .count();
        if finished >= n {
            return n;
        }
        assert!(
            started.elapsed() < GENERATION,
            "{}",
            browser
                .diagnose(&format!("{finished} downloads finished, waiting for {n}"))
                .await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What pages showed along the way: address, title, text, markup, error texts, form fields
/// (but the key's and token's own inputs), `window.name`, and the resources they loaded.
/// Performance entries and `location` belong to one document, so they are read before each
/// navigation.
#[derive(Default)]
struct Seen {
    texts: Vec<(String, String)>,
    /// Every resource URL a page loaded (`performance.getEntriesByType('resource')`).
    resources: Vec<String>,
}

impl Seen {
    async fn page(&mut self, browser: &Browser, what: &str) {
        let view = browser
            .execute(
                "return { href: location.href, title: document.title, name: window.name, \
                 text: document.body ? document.body.innerText : '', \
                 html: document.documentElement.outerHTML, \
                 alerts: [...document.querySelectorAll('[role=alert], .error-message, \
                   .error-explanation, .error-status')].map(e => e.textContent), \
                 resources: performance.getEntriesByType('resource').map(e => e.name), \
                 fields: [...document.querySelectorAll('input, textarea, select')] \
                   .filter(e => e.id !== 'api-key' && e.id !== 'relay-token') \
                   .map(e => e.id + '=' + e.value) };",
                vec![],
            )
            .await;
        for resource in view["resources"].as_array().into_iter().flatten() {
            let url = resource.as_str().unwrap_or_default();
            self.resources.push(url.to_owned());
            self.texts.push((
                format!("a resource {what} loaded ({})", clip(url)),
                url.to_owned(),
            ));
        }
        for part in ["href", "title", "name", "text", "html", "alerts", "fields"] {
            self.texts
                .push((format!("{what}: {part}"), view[part].to_string()));
        }
    }
}

/// Named texts and bytes to search, each expanded into what it contains (ZIP entries,
/// compressed PNG text, IndexedDB blobs).
struct Sinks {
    items: Vec<(String, Vec<u8>)>,
}

impl Sinks {
    fn new() -> Sinks {
        Sinks { items: Vec::new() }
    }

    fn text(&mut self, what: &str, text: &str) {
        self.bytes(what, text.as_bytes());
    }

    fn file(&mut self, what: &str, path: &Path) {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {what}: {e}"));
        self.bytes(what, &bytes);
    }

    /// `bytes`, and whatever is packed inside: the entries of a ZIP (inflated if need be),
    /// the compressed text chunks of a PNG.
    fn bytes(&mut self, what: &str, bytes: &[u8]) {
        self.items.push((what.to_owned(), bytes.to_vec()));
        if bytes.starts_with(b"PK\x03\x04") {
            // Not a whole ZIP (a cache's fragment): searched as bytes only. Downloads are
            // checked to be readable ZIPs where they are listed.
            let entries = easel_core::zip::list(bytes).unwrap_or_default();
            for (entry, range) in entries {
                let data = &bytes[range.start as usize..range.end as usize];
                let data = match entry.method {
                    Method::Stored => data.to_vec(),
                    _ => inflate(data).unwrap_or_else(|| panic!("{what}: {}", entry.name)),
                };
                self.bytes(&format!("{what} → {}", entry.name), &data);
            }
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            for (kind, text) in compressed_png_text(bytes) {
                self.items
                    .push((format!("{what} → its {kind} chunk"), text));
            }
        }
    }

    /// A JSON dump in which Blobs and byte arrays are `{"base64": …}`: the JSON searched as
    /// text, each blob's bytes searched (and expanded) on their own.
    fn json_with_blobs(&mut self, what: &str, value: &Value) {
        fn walk(sinks: &mut Sinks, what: &str, value: &Value) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(b64)) = map.get("base64") {
                        let bytes = STANDARD.decode(b64).expect("base64 from the dump");
                        sinks.bytes(&format!("{what} (bytes)"), &bytes);
                    }
                    for (k, v) in map {
                        walk(sinks, &format!("{what}.{k}"), v);
                    }
                }
                Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        walk(sinks, &format!("{what}[{i}]"), v);
                    }
                }
                _ => {}
            }
        }
        self.text(what, &value.to_string());
        walk(self, what, value);
    }

    /// Every find of either secret, in any of its forms, as "SECRET (form) in SINK: …context…".
    fn search(&self) -> Vec<String> {
        let mut labels = Vec::new();
        let mut needles = Vec::new();
        for (name, secret) in [("the API key", KEY), ("the relay token", TOKEN)] {
            for (form, bytes, fold) in forms_of(secret) {
                labels.push((name, format!("{name} ({form})")));
                needles.push((bytes, fold));
            }
        }
        let mut problems = Vec::new();
        for (sink, bytes) in &self.items {
            let mut reported = BTreeSet::new();
            for (i, at) in scan(bytes, &needles).into_iter().enumerate() {
                let Some(at) = at else { continue };
                // One find per secret and sink: the first form found (the plainest).
                if !reported.insert(labels[i].0) {
                    continue;
                }
                let from = at.saturating_sub(60);
                let to = (at + needles[i].0.len() + 60).min(bytes.len());
                problems.push(format!(
                    "  {} in {sink}: …{}…",
                    labels[i].1,
                    String::from_utf8_lossy(&bytes[from..to])
                ));
            }
        }
        problems
    }
}

/// The forms a leak of `secret` would take: as is, its distinctive middle alone (a
/// truncated or masked copy), percent-encoded dashes, base64 and base64url at the three
/// byte alignments a longer encoded text could put it at, hex, and UTF-16 (a JS string
/// saved as bytes). `true`: compared without regard to ASCII case.
fn forms_of(secret: &str) -> Vec<(String, Vec<u8>, bool)> {
    // Twelve characters of the random part: no word, no prefix another key shares.
    let random = secret.rsplit('-').next().unwrap_or(secret);
    let middle = &random[..12];
    let mut forms = vec![
        ("as is".to_owned(), secret.as_bytes().to_vec(), true),
        (
            format!("its middle {middle}"),
            middle.as_bytes().to_vec(),
            true,
        ),
        (
            "percent-encoded".to_owned(),
            secret.replace('-', "%2D").into_bytes(),
            true,
        ),
        (
            "hex".to_owned(),
            middle
                .bytes()
                .fold(String::new(), |mut hex, b| {
                    let _ = write!(hex, "{b:02x}");
                    hex
                })
                .into_bytes(),
            true,
        ),
        (
            "UTF-16".to_owned(),
            middle.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            false,
        ),
    ];
    for skip in 0..3 {
        let tail = &secret.as_bytes()[skip..];
        // Only whole groups of three bytes encode the same wherever they sit.
        let whole = &tail[..tail.len() / 3 * 3];
        forms.push((
            format!("base64, from byte {skip}"),
            STANDARD.encode(whole).into_bytes(),
            false,
        ));
        forms.push((
            format!("base64url, from byte {skip}"),
            URL_SAFE_NO_PAD.encode(whole).into_bytes(),
            false,
        ));
    }
    forms
}

/// Where `needle` first occurs in `haystack` (`fold`: ignoring ASCII case).
fn find(haystack: &[u8], needle: &[u8], fold: bool) -> Option<usize> {
    scan(haystack, &[(needle.to_vec(), fold)])[0]
}

/// Where each needle (`(bytes, fold)`, `fold`: ignoring ASCII case) first occurs in
/// `haystack`, in one pass: only positions whose byte starts some needle are compared, so
/// tens of MB of images take a moment even in a debug build.
fn scan(haystack: &[u8], needles: &[(Vec<u8>, bool)]) -> Vec<Option<usize>> {
    let mut starting: Vec<Vec<usize>> = vec![Vec::new(); 256];
    for (i, (needle, fold)) in needles.iter().enumerate() {
        let first = needle[0];
        starting[first as usize].push(i);
        if *fold && first.is_ascii_alphabetic() {
            starting[(first ^ 0x20) as usize].push(i);
        }
    }
    let mut found = vec![None; needles.len()];
    for (at, byte) in haystack.iter().enumerate() {
        for &i in &starting[*byte as usize] {
            let (needle, fold) = &needles[i];
            if found[i].is_some() {
                continue;
            }
            let Some(window) = haystack.get(at..at + needle.len()) else {
                continue;
            };
            if window == needle.as_slice() || (*fold && window.eq_ignore_ascii_case(needle)) {
                found[i] = Some(at);
            }
        }
    }
    found
}

/// A connection's bytes with each `Authorization: Bearer <secret>` header line for an
/// `allowed` secret taken out: the one place that server may be sent it.
fn without_allowed_auth(bytes: &[u8], allowed: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let permitted = allowed.iter().any(|secret| {
            let header = format!("authorization: Bearer {secret}\r\n");
            line.eq_ignore_ascii_case(header.as_bytes())
                && line[15..].starts_with(format!("Bearer {secret}").as_bytes())
        });
        if !permitted {
            out.extend_from_slice(line);
        }
    }
    out
}

/// `event` as JSON with the value of any `Authorization` header that is `Bearer <allowed
/// secret>` replaced (Chromium's request and response header maps).
fn mask_allowed_auth(event: &mut Value, allowed: &[&str]) -> String {
    fn walk(value: &mut Value, allowed: &[&str]) {
        match value {
            Value::Object(map) => {
                for (name, v) in map.iter_mut() {
                    let permitted = name.eq_ignore_ascii_case("authorization")
                        && allowed
                            .iter()
                            .any(|s| v.as_str() == Some(format!("Bearer {s}").as_str()));
                    if permitted {
                        *v = Value::from("Bearer <its own secret>");
                    } else {
                        walk(v, allowed);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, allowed)),
            _ => {}
        }
    }
    walk(event, allowed);
    event.to_string()
}

/// Inflates raw deflate (ZIP entries, recipe links), else zlib.
fn inflate(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    if flate2::read::DeflateDecoder::new(bytes)
        .read_to_end(&mut out)
        .is_ok()
    {
        return Some(out);
    }
    out.clear();
    flate2::read::ZlibDecoder::new(bytes)
        .read_to_end(&mut out)
        .ok()
        .map(|_| out)
}

/// The inflated text of a PNG's compressed chunks (`zTXt`, compressed `iTXt`): the plain
/// ones are searched with the file's bytes.
fn compressed_png_text(png: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut at = 8;
    while at + 12 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = String::from_utf8_lossy(&png[at + 4..at + 8]).into_owned();
        let Some(data) = png.get(at + 8..at + 8 + len) else {
            break;
        };
        let keyword_end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
        let compressed = match kind.as_str() {
            // keyword \0 method data
            "zTXt" => data.get(keyword_end + 2..),
            // keyword \0 flag method language \0 translated \0 text
            "iTXt" if data.get(keyword_end + 1) == Some(&1) => {
                let rest = data.get(keyword_end + 3..).unwrap_or_default();
                let mut parts = rest.splitn(3, |b| *b == 0);
                let _language = parts.next();
                let _translated = parts.next();
                parts.next()
            }
            _ => None,
        };
        if let Some(text) = compressed.and_then(inflate) {
            found.push((kind, text));
        }
        at += 12 + len;
    }
    found
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn origin_of(listener: &TcpListener) -> String {
    format!("http://{}", listener.local_addr().unwrap())
}

/// `http://host:port` of a URL (empty for one without an authority).
fn origin_of_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

/// A long link or URL shortened for a message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(90) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Every IndexedDB database of the page's origin, every object store, every record with
/// its key; Blobs, ArrayBuffers and typed arrays as `{"base64": …}` so their bytes are
/// searched too.
const DUMP_INDEXED_DB: &str = r#"
const done = arguments[arguments.length - 1];
const base64 = bytes => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
};
const plain = async value => {
  if (value instanceof Blob) {
    return { type: value.type, base64: base64(new Uint8Array(await value.arrayBuffer())) };
  }
  if (value instanceof ArrayBuffer) return { base64: base64(new Uint8Array(value)) };
  if (ArrayBuffer.isView(value)) {
    return { base64: base64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Map) return plain([...value.entries()]);
  if (value instanceof Set) return plain([...value.values()]);
  if (Array.isArray(value)) return Promise.all(value.map(plain));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = await plain(v);
    return out;
  }
  return value;
};
const request = r => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
(async () => {
  const out = [];
  for (const { name } of await indexedDB.databases()) {
    const db = await request(indexedDB.open(name));
    const stores = {};
    for (const store of db.objectStoreNames) {
      const tx = db.transaction(store);
      const keys = await request(tx.objectStore(store).getAllKeys());
      const values = await request(tx.objectStore(store).getAll());
      stores[store] = await plain(keys.map((key, i) => ({ key, value: values[i] })));
    }
    db.close();
    out.push({ name, stores });
  }
  return out;
})().then(done, e => done('error: ' + e));
"#;
