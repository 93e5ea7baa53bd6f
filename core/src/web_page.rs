//! "Export as a web page": the `index.html` of a gallery ZIP, showing its images with their
//! prompts and settings. It is opened from disk or published as it is (GitHub Pages, any static
//! host): one file with its own style and a few lines of script for the search box, no
//! framework, no build step. Images are the archive's `images/…` entries by relative path, so
//! the page works from `file://`, where a script could not fetch `manifest.json`.
//!
//! A published page is public, so [`for_publishing`] drops what identifies the person (the
//! safety identifier) from the manifest it is written with.

use std::fmt::Write;

use crate::gallery::MadeBy;
use crate::manifest::{Manifest, ManifestItem};
use crate::markup::escape;
use crate::zip::DosTime;

/// The page's name inside the archive.
pub const FILE_NAME: &str = "index.html";

/// `manifest` without what must not be published: each request's safety identifier.
pub fn for_publishing(mut manifest: Manifest) -> Manifest {
    for entry in &mut manifest.items {
        entry.item.request.safety_identifier = None;
    }
    manifest
}

/// The whole page for `manifest` (as [`for_publishing`] left it).
pub fn render(manifest: &Manifest) -> String {
    let count = manifest.items.len();
    let mut page = String::with_capacity(2_048 + count * 640);
    page.push_str(HEAD);
    let exported = manifest
        .exported_ms
        .map(|ms| format!(", exported {}", day(ms)))
        .unwrap_or_default();
    let _ = write!(
        page,
        "<header><h1>Easel gallery</h1><p>{count} image{}{exported}. Made with Easel.</p>\
         <input id=\"search\" type=\"search\" placeholder=\"Search prompts\" \
         aria-label=\"Search prompts\" hidden></header>\n<main>\n",
        if count == 1 { "" } else { "s" },
    );
    for (n, entry) in manifest.items.iter().enumerate() {
        figure(&mut page, n + 1, entry);
    }
    page.push_str("</main>\n<p id=\"none\" hidden>No image matches.</p>\n");
    page.push_str(SCRIPT);
    page.push_str("</body>\n</html>\n");
    page
}

fn figure(page: &mut String, n: usize, entry: &ManifestItem) {
    let item = &entry.item;
    let request = &item.request;
    let file = escape(&entry.file);
    let title = match (item.prompt.trim(), item.made_by) {
        ("", MadeBy::Variation) => "A variation".to_owned(),
        ("", _) => format!("Image {n}"),
        (prompt, _) => prompt.to_owned(),
    };
    let search = format!(
        "{} {} {}",
        item.prompt,
        item.revised_prompt.as_deref().unwrap_or_default(),
        item.model
    )
    .to_lowercase();
    let _ = write!(
        page,
        "<figure id=\"image-{n}\" data-search=\"{}\"><a href=\"{file}\">\
         <img src=\"{file}\" width=\"{}\" height=\"{}\" loading=\"lazy\" alt=\"{}\"></a>\
         <figcaption><p class=\"prompt\">{}</p>",
        escape(&search),
        item.width,
        item.height,
        escape(&title),
        escape(&title),
    );
    if let Some(revised) = item
        .revised_prompt
        .as_deref()
        .filter(|r| !r.trim().is_empty() && r.trim() != item.prompt.trim())
    {
        let _ = write!(
            page,
            "<p class=\"revised\">Revised: {}</p>",
            escape(revised)
        );
    }
    page.push_str("<dl>");
    let made = item.made_by.label().unwrap_or("Generated");
    let size = format!("{}×{}", item.width, item.height);
    let settings = [
        ("Model", Some(item.model.as_str())),
        ("Made by", Some(made)),
        ("Size", Some(size.as_str())),
        ("Quality", request.quality.as_deref()),
        ("Style", request.style.as_deref()),
        ("Background", request.background.as_deref()),
        ("Format", request.output_format.as_deref()),
    ];
    for (name, value) in settings {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            let _ = write!(page, "<dt>{name}</dt><dd>{}</dd>", escape(value));
        }
    }
    let _ = writeln!(
        page,
        "</dl><time>{}</time></figcaption></figure>",
        day(item.created_ms)
    );
}

/// `2026-12-02` (UTC).
fn day(unix_ms: u64) -> String {
    let (year, month, day, ..) = DosTime::from_unix_ms(unix_ms).parts();
    format!("{year:04}-{month:02}-{day:02}")
}

/// Nothing is fetched or run from elsewhere: images come from beside the page, style and
/// script are inline.
const HEAD: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Easel gallery</title>
<style>
body{margin:0;font:16px/1.45 system-ui,sans-serif;background:Canvas;color:CanvasText}
header{padding:1.5rem 1rem .5rem;max-width:80rem;margin:auto}
h1{margin:0 0 .25rem;font-size:1.5rem}
header p{margin:0 0 .75rem;opacity:.75}
#search{font:inherit;padding:.4rem .6rem;width:min(24rem,100%);box-sizing:border-box}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:1rem;padding:1rem;max-width:80rem;margin:auto}
figure{margin:0;border:1px solid color-mix(in srgb,CanvasText 15%,transparent);border-radius:.5rem;overflow:hidden}
figure[hidden],#none[hidden]{display:none}
figure img{display:block;width:100%;height:auto;background:color-mix(in srgb,CanvasText 6%,transparent)}
figcaption{padding:.6rem .75rem;font-size:.9rem}
.prompt{margin:0 0 .4rem;white-space:pre-wrap;overflow-wrap:anywhere}
.revised{margin:0 0 .4rem;opacity:.75;font-size:.85rem;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:auto 1fr;gap:0 .6rem;margin:0 0 .3rem;font-size:.85rem}
dt{opacity:.7}dd{margin:0}
time{font-size:.8rem;opacity:.7}
#none{text-align:center;opacity:.75}
</style>
</head>
<body>
"#;

/// The search box (hidden until this runs, so a page without script shows no dead control).
const SCRIPT: &str = r#"<script>
(function () {
  var search = document.getElementById("search");
  var figures = document.querySelectorAll("figure");
  var none = document.getElementById("none");
  search.hidden = false;
  search.addEventListener("input", function () {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    figures.forEach(function (figure) {
      var text = figure.getAttribute("data-search");
      var match = words.every(function (word) { return text.indexOf(word) >= 0; });
      figure.hidden = !match;
      if (match) shown += 1;
    });
    none.hidden = shown > 0;
  });
})();
</script>
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GenerationRequest;
    use crate::gallery::GalleryItem;

    fn item(prompt: &str, mime: &str) -> GalleryItem {
        let mut request = GenerationRequest {
            prompt: prompt.to_owned(),
            model: "gpt-image-1.5".to_owned(),
            ..GenerationRequest::default()
        };
        request.quality = Some("high".to_owned());
        request.safety_identifier = Some("user-1234".to_owned());
        GalleryItem {
            schema: 1,
            id: format!("job-{prompt}"),
            sha256: "ab".repeat(32),
            mime: mime.to_owned(),
            bytes: 10,
            crc32: Some(1),
            width: 1024,
            height: 1536,
            prompt: prompt.to_owned(),
            revised_prompt: None,
            model: "gpt-image-1.5".to_owned(),
            request,
            usage: None,
            cost: None,
            timing: Default::default(),
            created_ms: 1_796_169_600_000,
            parents: Vec::new(),
            made_by: MadeBy::Generation,
            favorite: false,
            collections: Vec::new(),
            job_id: "job".to_owned(),
            index: 0,
        }
    }

    fn page(items: &[GalleryItem]) -> (Manifest, String) {
        let manifest = for_publishing(Manifest::for_export(items, 1_796_169_600_000));
        let html = render(&manifest);
        (manifest, html)
    }

    #[test]
    fn every_image_is_shown_from_its_file_with_its_prompt_and_settings() {
        let (manifest, html) = page(&[
            item("a fox in snow", "image/png"),
            item("a lighthouse", "image/svg+xml"),
        ]);
        for entry in &manifest.items {
            assert!(html.contains(&format!("<img src=\"{}\"", entry.file)));
        }
        assert!(
            manifest.items[1].file.ends_with(".svg"),
            "{:?}",
            manifest.items[1]
        );
        assert!(html.contains("<p class=\"prompt\">a fox in snow</p>"));
        assert!(html.contains("<dt>Model</dt><dd>gpt-image-1.5</dd>"));
        assert!(html.contains("<dt>Quality</dt><dd>high</dd>"));
        assert!(html.contains("<dt>Size</dt><dd>1024×1536</dd>"));
        assert!(html.contains("2 images, exported 2026-12-02"));
        assert_eq!(html.matches("<figure ").count(), 2);
    }

    #[test]
    fn prompts_cannot_inject_markup() {
        let (_, html) = page(&[item(
            "<script>alert(1)</script>\" onerror=\"x' &",
            "image/png",
        )]);
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("\" onerror=\"x"));
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot; onerror=&quot;x&#39; &amp;")
        );
        // The page's own script is the only one.
        assert_eq!(html.matches("<script>").count(), 1);
    }

    #[test]
    fn a_published_page_carries_no_safety_identifier() {
        let (manifest, html) = page(&[item("a fox", "image/png")]);
        assert!(manifest.items[0].item.request.safety_identifier.is_none());
        assert!(!manifest.to_json().contains("user-1234"));
        assert!(!html.contains("user-1234"));
    }

    #[test]
    fn revised_prompts_show_only_when_they_say_something_else() {
        let mut same = item("a fox", "image/png");
        same.revised_prompt = Some("a fox".to_owned());
        let mut other = item("a cat", "image/png");
        other.revised_prompt = Some("a ginger cat on a windowsill".to_owned());
        let (_, html) = page(&[same, other]);
        assert_eq!(html.matches("class=\"revised\"").count(), 1);
        assert!(html.contains("Revised: a ginger cat on a windowsill"));
    }

    #[test]
    fn a_variation_without_a_prompt_is_named() {
        let mut variation = item("", "image/png");
        variation.made_by = MadeBy::Variation;
        let (_, html) = page(&[variation]);
        assert!(html.contains("alt=\"A variation\""));
        assert!(html.contains("1 image, exported"));
    }
}
