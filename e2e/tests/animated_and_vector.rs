//! gpt-image-2.6's animated GIF and SVG outputs, end to end with the offline generator: made in
//! the studio, kept in the gallery, shown as images (an SVG only through `<img>`), and
//! downloaded with their own bytes and extension.

use std::path::PathBuf;
use std::time::Duration;

use easel_e2e::browser::WAIT;
use easel_e2e::{Browser, Relay, dist_dir};
use image::AnimationDecoder as _;

const GENERATION: Duration = Duration::from_secs(60);

/// Makes one image in the studio and waits until it shows, loaded, in the `nth` job card.
async fn generate(browser: &Browser, prompt: &str, done_before: usize) {
    browser.fill("#prompt", prompt).await;
    browser.press_ctrl_enter("#prompt").await;
    let expression = format!(
        "(() => {{ const imgs = [...document.querySelectorAll('article.job[data-state=done] img.result')]; \
         return imgs.length > {done_before} && imgs.every(i => i.src.startsWith('blob:') && i.complete \
         && i.naturalWidth > 0); }})()"
    );
    browser.wait_until_js(&expression, GENERATION).await;
}

/// Takes the one finished download out of the downloads folder: its name and bytes.
async fn take_download(browser: &Browser) -> (String, Vec<u8>) {
    let path: PathBuf = browser.wait_for_download(WAIT).await;
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    (name, bytes)
}

fn gif_frames(bytes: &[u8]) -> usize {
    image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes))
        .expect("a GIF")
        .into_frames()
        .collect_frames()
        .expect("frames")
        .len()
}

#[tokio::test]
async fn an_animated_gif_and_an_svg_are_made_kept_shown_and_downloaded() {
    let relay = Relay::start(&dist_dir(), &[]);
    let browser = Browser::start().await;
    browser.goto(&relay.at("/")).await;

    browser.select("#model", "gpt-image-2.6-flare").await;
    browser.select("#format", "gif").await;
    browser.fill("#frames", "3").await;
    browser
        .wait_for_text("#format-note", "Animated", WAIT)
        .await;
    assert_eq!(browser.count("#previews").await, 0, "a GIF cannot stream");
    generate(&browser, "a bouncing red ball", 0).await;
    let newest = "article.job[data-state=done]";
    let link = browser
        .wait_for(&format!("{newest} a.download"), WAIT)
        .await;
    link.click().await.unwrap();
    let (name, gif) = take_download(&browser).await;
    assert_eq!(name, "a-bouncing-red-ball-1.gif");
    assert!(gif.starts_with(b"GIF89a"));
    assert_eq!(gif_frames(&gif), 3, "the frame count asked for");

    browser.select("#format", "svg").await;
    assert_eq!(
        browser.count("#count option").await,
        1,
        "one SVG per request"
    );
    generate(&browser, "a geometric owl logo", 1).await;
    // Job cards are newest first.
    let link = browser
        .wait_for(&format!("{newest} a.download"), WAIT)
        .await;
    link.click().await.unwrap();
    let (name, svg) = take_download(&browser).await;
    assert_eq!(name, "a-geometric-owl-logo-1.svg");
    let text = String::from_utf8(svg).expect("an SVG is text");
    assert!(
        text.starts_with("<?xml") && text.contains("<svg xmlns="),
        "{text}"
    );
    browser.screenshot("gif-and-svg-studio").await;

    // The gallery holds both, each shown as a loaded image (the SVG as its own thumbnail).
    browser.click("#nav-gallery").await;
    browser
        .wait_until_js(
            "(() => { const cells = [...document.querySelectorAll('.grid-cell')]; \
             return cells.length === 2 && cells.every(c => { const i = c.querySelector('img.thumb'); \
             return i && i.complete && i.naturalWidth > 0; }); })()",
            GENERATION,
        )
        .await;
    let inline_svg = browser
        .execute(
            "return document.querySelectorAll('.grid-cell svg, .grid-cell object, .grid-cell iframe').length",
            vec![],
        )
        .await;
    assert_eq!(inline_svg, 0, "images are never inlined");

    // The newest (the SVG) first: the lightbox shows it and downloads it under its extension.
    browser.click(".grid-cell .cell-open").await;
    browser
        .wait_until_js(
            "(() => { const i = document.querySelector('.lightbox-image'); \
             return !!i && i.tagName === 'IMG' && i.complete && i.naturalWidth > 0; })()",
            WAIT,
        )
        .await;
    browser.click("#lightbox-download").await;
    let (name, bytes) = take_download(&browser).await;
    assert_eq!(name, "a-geometric-owl-logo-1.svg");
    assert_eq!(String::from_utf8(bytes).unwrap(), text, "the same bytes");
    browser.screenshot("gif-and-svg-gallery").await;
    browser.close().await;
}
