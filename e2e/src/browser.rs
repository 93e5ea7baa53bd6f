//! Headless Chromium through a private chromedriver. Every wait polls: the app renders
//! asynchronously, so nothing is asserted on the first look.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::http;

const POLL: Duration = Duration::from_millis(100);
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// A default for waits that should be quick once the page works.
pub const WAIT: Duration = Duration::from_secs(15);

/// A headless Chromium session. Call [`Browser::close`] at the end of a test; if a test
/// panics first, Drop ends the session and kills chromedriver and Chromium anyway.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    driver_addr: SocketAddr,
    session_id: String,
    downloads: TempDir,
    console: Mutex<Vec<String>>,
    network: Mutex<Vec<Value>>,
    // Dropped after the browser is gone (fields drop after `Drop::drop`); None when the
    // caller owns the profile (`start_with_profile`).
    profile: Option<TempDir>,
    _driver_log: TempDir,
}

/// chromedriver: `CHROMEDRIVER`, else `/usr/bin/chromedriver`, else `chromedriver` on PATH.
pub fn chromedriver_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMEDRIVER") {
        return PathBuf::from(path);
    }
    let debian = PathBuf::from("/usr/bin/chromedriver");
    if debian.is_file() {
        return debian;
    }
    PathBuf::from("chromedriver")
}

impl Browser {
    /// Starts chromedriver on a free port and opens a fresh headless session (own profile
    /// and downloads directory).
    pub async fn start() -> Browser {
        let profile = TempDir::new().expect("temp dir for the Chromium profile");
        Browser::launch(profile.path().to_path_buf(), Some(profile), false).await
    }

    /// As [`Browser::start`], with Chromium's network events recorded (its performance log):
    /// every request it sends, to any address, for [`Browser::network_log`].
    pub async fn start_recording_network() -> Browser {
        let profile = TempDir::new().expect("temp dir for the Chromium profile");
        Browser::launch(profile.path().to_path_buf(), Some(profile), true).await
    }

    /// As [`Browser::start`], with the Chromium profile (user data dir) at `profile`, which
    /// outlives the session: what one session stored (IndexedDB, HTTP cache) the next finds.
    /// Only one session at a time can use a profile; close the previous one first.
    pub async fn start_with_profile(profile: &Path) -> Browser {
        Browser::launch(profile.to_path_buf(), None, false).await
    }

    async fn launch(profile_dir: PathBuf, profile: Option<TempDir>, network: bool) -> Browser {
        let port = free_port();
        let driver_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let driver_log = TempDir::new().expect("temp dir for chromedriver log");
        let log_file = driver_log.path().join("chromedriver.log");
        let bin = chromedriver_bin();
        let driver = Command::new(&bin)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log_file.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so Drop can kill chromedriver and every Chromium
            // process it started in one signal.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start chromedriver ({}): {e}; install Debian's chromium-driver \
                     or set CHROMEDRIVER (`cargo xtask test` does this)",
                    bin.display()
                )
            });
        let downloads = TempDir::new().expect("temp dir for downloads");

        // From here on, a panic drops `browser`, which kills chromedriver.
        let mut browser = Browser {
            client: None,
            driver,
            driver_addr,
            session_id: String::new(),
            downloads,
            console: Mutex::new(Vec::new()),
            network: Mutex::new(Vec::new()),
            profile,
            _driver_log: driver_log,
        };
        browser.wait_for_driver(&log_file);

        let capabilities = capabilities(&profile_dir, browser.downloads.path(), network);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://{driver_addr}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver could not open a Chromium session: {e}\n{}",
                    std::fs::read_to_string(&log_file).unwrap_or_default()
                )
            });
        browser.session_id = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session id after connecting");
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(30)),
                Some(Duration::ZERO),
            ))
            .await
            .expect("set WebDriver timeouts");
        browser.client = Some(client);
        // Belt and braces: new headless mode has ignored download prefs in some releases.
        let path = browser.downloads.path().to_string_lossy().into_owned();
        browser.cdp(
            "Browser.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": path, "eventsEnabled": false }),
        );
        browser
    }

    fn wait_for_driver(&mut self, log_file: &Path) {
        let started = Instant::now();
        loop {
            if let Some(response) = http::get(self.driver_addr, "/status")
                && response.status == 200
                && response.body.contains("\"ready\":true")
            {
                return;
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!(
                    "chromedriver exited ({status}) while starting\n{}",
                    std::fs::read_to_string(log_file).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < DRIVER_START_TIMEOUT,
                "chromedriver did not become ready on {} within {}s",
                self.driver_addr,
                DRIVER_START_TIMEOUT.as_secs()
            );
            std::thread::sleep(POLL);
        }
    }

    /// The fantoccini client, for anything the helpers below do not cover.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client().goto(url).await {
            panic!(
                "{}",
                self.diagnose(&format!("cannot open {url}: {e}")).await
            );
        }
    }

    pub async fn current_url(&self) -> String {
        self.client()
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// The first element matching `css`, waiting up to `timeout` for it to exist.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client().find(Locator::Css(css)).await {
                return element;
            }
            if started.elapsed() > timeout {
                panic!(
                    "{}",
                    self.diagnose(&format!(
                        "no element matches `{css}` after {:.1}s",
                        timeout.as_secs_f64()
                    ))
                    .await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until an element matching `css` exists and is displayed.
    pub async fn wait_visible(&self, css: &str, timeout: Duration) -> Element {
        let started = Instant::now();
        loop {
            let element = self.wait_for(css, timeout).await;
            if element.is_displayed().await.unwrap_or(false) {
                return element;
            }
            if started.elapsed() > timeout {
                panic!(
                    "{}",
                    self.diagnose(&format!(
                        "`{css}` exists but is not visible after {:.1}s",
                        timeout.as_secs_f64()
                    ))
                    .await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until some element matching `css` has text containing `substring`; returns it.
    pub async fn wait_for_text(&self, css: &str, substring: &str, timeout: Duration) -> String {
        let started = Instant::now();
        let mut seen = Vec::new();
        loop {
            seen.clear();
            if let Ok(elements) = self.client().find_all(Locator::Css(css)).await {
                for element in elements {
                    // An element can be replaced between find and read: just poll again.
                    if let Ok(text) = element.text().await {
                        if text.contains(substring) {
                            return text;
                        }
                        seen.push(text);
                    }
                }
            }
            if started.elapsed() > timeout {
                panic!(
                    "{}",
                    self.diagnose(&format!(
                        "no `{css}` contains {substring:?} after {:.1}s; texts seen: {seen:?}",
                        timeout.as_secs_f64()
                    ))
                    .await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until a generation in the studio shows at least one finished image.
    pub async fn wait_for_a_done_image(&self, timeout: Duration) {
        self.wait_until_js(
            "document.querySelectorAll('article.job[data-state=done] img.result').length > 0",
            timeout,
        )
        .await;
    }

    /// Runs the studio's prompt as it stands (Ctrl+Enter in `#prompt`) and waits until one
    /// more generation shows as done — its images stored.
    pub async fn generate_now(&self, timeout: Duration) {
        let before = self.count("article.job[data-state=done]").await;
        self.press_ctrl_enter("#prompt").await;
        let expression =
            format!("document.querySelectorAll('article.job[data-state=done]').length > {before}");
        self.wait_until_js(&expression, timeout).await;
    }

    /// Polls until `condition` (a JS expression) is truthy.
    pub async fn wait_until_js(&self, expression: &str, timeout: Duration) {
        let started = Instant::now();
        let script = format!("return !!({expression});");
        loop {
            if let Ok(Value::Bool(true)) = self.client().execute(&script, vec![]).await {
                return;
            }
            if started.elapsed() > timeout {
                panic!(
                    "{}",
                    self.diagnose(&format!(
                        "`{expression}` stayed false for {:.1}s",
                        timeout.as_secs_f64()
                    ))
                    .await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// How many elements match `css` right now.
    pub async fn count(&self, css: &str) -> usize {
        self.client()
            .find_all(Locator::Css(css))
            .await
            .map(|found| found.len())
            .unwrap_or(0)
    }

    /// Waits for `css`, then clicks it.
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css, WAIT).await;
        if let Err(e) = element.click().await {
            panic!(
                "{}",
                self.diagnose(&format!("cannot click `{css}`: {e}")).await
            );
        }
    }

    /// Waits for `css`, clears it, and types `text` (real key events, as a person would).
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css, WAIT).await;
        let typed = async {
            element.clear().await?;
            element.send_keys(text).await
        };
        if let Err(e) = typed.await {
            panic!(
                "{}",
                self.diagnose(&format!("cannot type into `{css}`: {e}"))
                    .await
            );
        }
    }

    /// Waits for the `<select>` at `css`, then picks the option with `value`.
    pub async fn select(&self, css: &str, value: &str) {
        let element = self.wait_for(css, WAIT).await;
        if let Err(e) = element.select_by_value(value).await {
            panic!(
                "{}",
                self.diagnose(&format!("cannot select {value:?} in `{css}`: {e}"))
                    .await
            );
        }
    }

    /// Ctrl+Enter in the element at `css`: Control is held for the Enter, then released
    /// (the NULL key), like a person pressing the shortcut.
    pub async fn press_ctrl_enter(&self, css: &str) {
        let element = self.wait_for(css, WAIT).await;
        if let Err(e) = element.send_keys("\u{E009}\u{E007}\u{E000}").await {
            panic!(
                "{}",
                self.diagnose(&format!("cannot press Ctrl+Enter in `{css}`: {e}"))
                    .await
            );
        }
    }

    /// SHA-256 (hex) of the bytes behind each image URL matched by `css`, sorted: what the page
    /// shows, read back through the page itself (blob: URLs included).
    pub async fn image_hashes(&self, css: &str) -> Vec<String> {
        let script = r#"
            const done = arguments[arguments.length - 1];
            const urls = [...document.querySelectorAll(arguments[0])].map(i => i.src);
            Promise.all(urls.map(async url => {
                const bytes = await (await fetch(url)).arrayBuffer();
                const digest = await crypto.subtle.digest('SHA-256', bytes);
                return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
            })).then(done, e => done('error: ' + e));
        "#;
        let value = self
            .client()
            .execute_async(script, vec![Value::from(css)])
            .await
            .expect("hash script");
        let mut hashes: Vec<String> = value
            .as_array()
            .unwrap_or_else(|| panic!("image hashes of `{css}`: {value}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        hashes.sort();
        hashes
    }

    /// Runs `script` (a function body; use `return`) with `args` as `arguments`.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        match self.client().execute(script, args).await {
            Ok(value) => value,
            Err(e) => panic!(
                "{}",
                self.diagnose(&format!("script failed: {e}\n{script}"))
                    .await
            ),
        }
    }

    /// The current `value` of the form field at `css` ("" when there is none).
    pub async fn value_of(&self, css: &str) -> String {
        let value = self
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.value : null;",
                vec![Value::from(css)],
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The page's visible text.
    pub async fn page_text(&self) -> String {
        self.client()
            .execute(
                "return document.body ? document.body.innerText : ''",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The serialized DOM, attributes included (for "never rendered" checks).
    pub async fn page_html(&self) -> String {
        self.client().source().await.unwrap_or_default()
    }

    /// Saves a PNG screenshot as `e2e/artifacts/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = crate::artifacts_dir().join(format!("{name}.png"));
        match self.client().screenshot().await {
            Ok(png) => std::fs::write(&path, png).expect("write screenshot"),
            Err(e) => eprintln!("screenshot {name} failed: {e}"),
        }
        path
    }

    /// The Chromium profile (user data dir) this session writes, when the session owns it
    /// ([`Browser::start`]): what the browser keeps on disk.
    pub fn profile_dir(&self) -> Option<&Path> {
        self.profile.as_ref().map(TempDir::path)
    }

    /// Where this browser saves downloads (empty at start).
    pub fn downloads_dir(&self) -> &Path {
        self.downloads.path()
    }

    /// Waits for a finished download (not a `.crdownload` in progress) and returns its path.
    pub async fn wait_for_download(&self, timeout: Duration) -> PathBuf {
        let started = Instant::now();
        loop {
            let mut finished: Vec<PathBuf> = std::fs::read_dir(self.downloads_dir())
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| {
                            let name = p.file_name().unwrap_or_default().to_string_lossy();
                            !name.ends_with(".crdownload")
                                && !name.starts_with('.')
                                && p.metadata().is_ok_and(|m| m.is_file() && m.len() > 0)
                        })
                        .collect()
                })
                .unwrap_or_default();
            if !finished.is_empty() {
                finished.sort();
                return finished.swap_remove(0);
            }
            if started.elapsed() > timeout {
                let entries: Vec<_> = std::fs::read_dir(self.downloads_dir())
                    .map(|e| e.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
                    .unwrap_or_default();
                panic!(
                    "{}",
                    self.diagnose(&format!(
                        "no finished download after {:.1}s; downloads dir holds {entries:?}",
                        timeout.as_secs_f64()
                    ))
                    .await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Browser console messages so far ("LEVEL message"), accumulated across calls.
    pub async fn console_logs(&self) -> Vec<String> {
        let path = format!("/session/{}/se/log", self.session_id);
        let body = json!({ "type": "browser" }).to_string();
        let response = http::request(self.driver_addr, "POST", &path, Some(&body), WAIT);
        let mut console = self.console.lock().expect("console buffer");
        if let Some(response) = response
            && let Ok(json) = serde_json::from_str::<Value>(&response.body)
            && let Some(entries) = json["value"].as_array()
        {
            for entry in entries {
                console.push(format!(
                    "{} {}",
                    entry["level"].as_str().unwrap_or("?"),
                    entry["message"].as_str().unwrap_or_default()
                ));
            }
        }
        console.clone()
    }

    /// Chromium's network events so far (`{"method": "Network.requestWillBeSent", "params":
    /// …}`), accumulated across calls; empty unless started with
    /// [`Browser::start_recording_network`].
    pub async fn network_log(&self) -> Vec<Value> {
        let path = format!("/session/{}/se/log", self.session_id);
        let body = json!({ "type": "performance" }).to_string();
        let response = http::request(self.driver_addr, "POST", &path, Some(&body), WAIT);
        let mut network = self.network.lock().expect("network buffer");
        if let Some(response) = response
            && let Ok(json) = serde_json::from_str::<Value>(&response.body)
            && let Some(entries) = json["value"].as_array()
        {
            for entry in entries {
                // Each message is itself JSON: `{"message": {"method", "params"}, "webview"}`.
                if let Some(text) = entry["message"].as_str()
                    && let Ok(message) = serde_json::from_str::<Value>(text)
                {
                    network.push(message["message"].clone());
                }
            }
        }
        network.clone()
    }

    /// Console messages at SEVERE level (uncaught errors, failed loads).
    pub async fn console_errors(&self) -> Vec<String> {
        self.console_logs()
            .await
            .into_iter()
            .filter(|line| line.starts_with("SEVERE"))
            .collect()
    }

    /// A Chrome DevTools command through chromedriver; best effort (returns None on failure).
    pub fn cdp(&self, cmd: &str, params: Value) -> Option<Value> {
        let path = format!("/session/{}/goog/cdp/execute", self.session_id);
        let body = json!({ "cmd": cmd, "params": params }).to_string();
        let response = http::request(self.driver_addr, "POST", &path, Some(&body), WAIT)?;
        if response.status != 200 {
            eprintln!("CDP {cmd} failed ({}): {}", response.status, response.body);
            return None;
        }
        serde_json::from_str::<Value>(&response.body)
            .ok()
            .map(|v| v["value"].clone())
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
        // Drop kills chromedriver's process group.
    }

    /// A failure message with what a person debugging it needs: a screenshot, the URL, the
    /// page text and the console.
    pub async fn diagnose(&self, what: &str) -> String {
        let shot = self
            .screenshot(&format!("{}-failure", crate::current_test_name()))
            .await;
        let url = self.current_url().await;
        let mut text = self.page_text().await;
        if text.len() > 2000 {
            let cut = (0..=2000)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            text.truncate(cut);
            text.push('…');
        }
        let console = self.console_logs().await;
        format!(
            "{what}\n  url: {url}\n  screenshot: {}\n  page text:\n{text}\n  console:\n{}",
            shot.display(),
            console.join("\n")
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.client.take().is_some() && !self.session_id.is_empty() {
            // Async `close` cannot run in Drop: end the session over plain HTTP instead.
            let path = format!("/session/{}", self.session_id);
            let _ = http::request(self.driver_addr, "DELETE", &path, None, WAIT);
        }
        let pid = self.driver.id() as libc::pid_t;
        // SAFETY: signals the process group we created for chromedriver (pgid == its pid).
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.driver.wait();
    }
}

fn capabilities(profile: &Path, downloads: &Path, network: bool) -> serde_json::Map<String, Value> {
    let args = vec![
        "--headless=new".to_string(),
        // Needed as root (CI) and harmless otherwise.
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        // No network but the registries here: stop Chromium's own background traffic.
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--disable-quic".into(),
        "--window-size=1280,900".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut options = json!({
        "args": args,
        "prefs": {
            "download.default_directory": downloads.to_string_lossy(),
            "download.prompt_for_download": false,
            "download.directory_upgrade": true,
            "safebrowsing.enabled": false,
        },
    });
    if let Some(binary) = std::env::var_os("CHROME") {
        options["binary"] = json!(binary.to_string_lossy());
    }
    let mut logging = json!({ "browser": "ALL" });
    if network {
        logging["performance"] = json!("ALL");
        options["perfLoggingPrefs"] = json!({ "enableNetwork": true, "enablePage": false });
    }
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": options,
        "goog:loggingPrefs": logging,
    });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("built as an object"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}
