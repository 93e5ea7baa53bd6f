//! The offline generator's streams, edits and variations.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use easel_relay::{Config, app};
use serde_json::{Value, json};

use crate::{multipart, png, send, sse_events};

fn offline() -> axum::Router {
    app(Config::default())
}

fn decode(b64: &Value) -> image::RgbaImage {
    let bytes = STANDARD.decode(b64.as_str().unwrap()).unwrap();
    image::load_from_memory(&bytes).unwrap().to_rgba8()
}

fn distinct_colours(image: &image::RgbaImage) -> usize {
    let mut colours: Vec<[u8; 4]> = image.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    colours.len()
}

async fn post(path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, String) {
    let request = Request::post(path)
        .header("content-type", content_type)
        .header("host", "relay.test")
        .body(Body::from(body))
        .unwrap();
    let (status, _, body) = send(&offline(), request).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn streamed_generations_send_finer_and_finer_partials_then_the_image_with_usage() {
    let body = json!({"model": "gpt-image-2", "prompt": "a lighthouse", "size": "1024x1024",
                      "quality": "low", "stream": true, "partial_images": 3});
    let (status, text) = post(
        "/v1/images/generations",
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let events = sse_events(&text);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "image_generation.partial_image",
            "image_generation.partial_image",
            "image_generation.partial_image",
            "image_generation.completed"
        ]
    );
    let detail: Vec<usize> = events
        .iter()
        .map(|(_, d)| distinct_colours(&decode(&d["b64_json"])))
        .collect();
    assert!(
        detail.windows(2).all(|w| w[0] <= w[1]),
        "more detail each time: {detail:?}"
    );
    assert!(detail[0] < detail[3]);
    for (index, (_, data)) in events[..3].iter().enumerate() {
        assert_eq!(data["partial_image_index"], index);
        assert_eq!(data["size"], "1024x1024");
    }
    let completed = &events[3].1;
    assert_eq!(completed["type"], "image_generation.completed");
    assert!(completed["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(completed["output_format"], "png");
}

#[tokio::test]
async fn no_partials_means_only_the_finished_image_and_dall_e_cannot_stream() {
    let body = json!({"model": "gpt-image-1.5", "prompt": "x", "quality": "low", "stream": true});
    let (_, text) = post(
        "/v1/images/generations",
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    let events = sse_events(&text);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "image_generation.completed");

    let body = json!({"model": "dall-e-3", "prompt": "x", "stream": true});
    let (status, text) = post(
        "/v1/images/generations",
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let body = json!({"model": "gpt-image-2", "prompt": "x", "stream": true, "partial_images": 4});
    let (status, _) = post(
        "/v1/images/generations",
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A 64x64 image with a left half red and right half blue, and a mask whose centre is clear.
fn image_and_mask() -> (Vec<u8>, Vec<u8>) {
    let image = image::RgbaImage::from_fn(64, 64, |x, _| {
        if x < 32 {
            image::Rgba([200, 30, 30, 255])
        } else {
            image::Rgba([30, 30, 200, 255])
        }
    });
    let mask = image::RgbaImage::from_fn(64, 64, |x, y| {
        let inside = (16..48).contains(&x) && (16..48).contains(&y);
        image::Rgba([0, 0, 0, if inside { 0 } else { 255 }])
    });
    let encode = |img: image::RgbaImage| {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    (encode(image), encode(mask))
}

#[tokio::test]
async fn edits_change_only_where_the_mask_is_clear() {
    let (source, mask) = image_and_mask();
    let reference = png(16, 16, [0, 255, 0, 255]);
    let (content_type, body) = multipart(&[
        ("model", None, b"gpt-image-2"),
        ("prompt", None, b"a green hat"),
        ("image[]", Some("photo.png"), &source),
        ("image[]", Some("reference.png"), &reference),
        ("mask", Some("mask.png"), &mask),
        ("n", None, b"2"),
    ]);
    let (status, text) = post("/v1/images/edits", &content_type, body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["size"], "64x64", "an edit keeps its image's size");
    let original = image::load_from_memory(&source).unwrap().to_rgba8();
    let items = json["data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let first = decode(&items[0]["b64_json"]);
    let mut changed = 0;
    for (x, y, pixel) in first.enumerate_pixels() {
        let inside = (16..48).contains(&x) && (16..48).contains(&y);
        if inside {
            changed += usize::from(pixel != original.get_pixel(x, y));
        } else {
            assert_eq!(
                pixel,
                original.get_pixel(x, y),
                "({x},{y}) outside the mask is untouched"
            );
        }
    }
    assert!(
        changed > 32 * 32 / 2,
        "the masked area visibly changed ({changed} pixels)"
    );
    assert_ne!(first, decode(&items[1]["b64_json"]), "each result differs");
    assert!(json["usage"]["total_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn json_edits_and_streamed_edits() {
    let (source, mask) = image_and_mask();
    let data_url = |bytes: &[u8]| format!("data:image/png;base64,{}", STANDARD.encode(bytes));
    let body = json!({
        "model": "gpt-image-2", "prompt": "a hat",
        "images": [{"image_url": data_url(&source)}], "mask": {"image_url": data_url(&mask)},
        "stream": true, "partial_images": 2,
    });
    let (status, text) = post(
        "/v1/images/edits",
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let events = sse_events(&text);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "image_edit.partial_image",
            "image_edit.partial_image",
            "image_edit.completed"
        ]
    );
    let finished = decode(&events[2].1["b64_json"]);
    let original = image::load_from_memory(&source).unwrap().to_rgba8();
    assert_eq!(finished.get_pixel(0, 0), original.get_pixel(0, 0));
    assert_ne!(finished.get_pixel(32, 32), original.get_pixel(32, 32));

    // The generator never fetches URLs for anyone.
    let body = json!({"model": "gpt-image-2", "prompt": "x", "images": [{"image_url": "http://169.254.169.254/"}]});
    let (status, _) = post(
        "/v1/images/edits",
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn edit_errors_follow_the_api() {
    let (source, _) = image_and_mask();
    let small_mask = png(8, 8, [0, 0, 0, 0]);
    let (content_type, body) = multipart(&[
        ("prompt", None, b"x"),
        ("image[]", Some("a.png"), &source),
        ("mask", Some("m.png"), &small_mask),
    ]);
    let (status, text) = post("/v1/images/edits", &content_type, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("mask size"), "{text}");

    let (content_type, body) = multipart(&[
        ("prompt", None, b"x"),
        ("image[]", Some("a.png"), b"not an image"),
    ]);
    let (status, text) = post("/v1/images/edits", &content_type, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("Invalid image file"), "{text}");

    let (content_type, body) = multipart(&[
        ("model", None, b"dall-e-3"),
        ("prompt", None, b"x"),
        ("image[]", Some("a.png"), &source),
    ]);
    let (status, _) = post("/v1/images/edits", &content_type, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A markup guide: red marks over the centre square on a transparent sheet.
fn markup_over_centre() -> Vec<u8> {
    let markup = image::RgbaImage::from_fn(64, 64, |x, y| {
        let inside = (16..48).contains(&x) && (16..48).contains(&y);
        image::Rgba(if inside {
            [255, 45, 85, 255]
        } else {
            [0, 0, 0, 0]
        })
    });
    let mut out = std::io::Cursor::new(Vec::new());
    markup.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn markup_guides_repaint_what_they_mark_with_input_fidelity() {
    let (source, _) = image_and_mask();
    let markup = markup_over_centre();
    let (content_type, body) = multipart(&[
        ("model", None, b"gpt-image-2.5-flare"),
        ("prompt", None, b"make the marked square a window"),
        ("image[]", Some("photo.png"), &source),
        ("markup", Some("markup.png"), &markup),
        ("input_fidelity", None, b"high"),
    ]);
    let (status, text) = post("/v1/images/edits", &content_type, body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let json: Value = serde_json::from_str(&text).unwrap();
    let edited = decode(&json["data"][0]["b64_json"]);
    let original = image::load_from_memory(&source).unwrap().to_rgba8();
    let mut changed = 0;
    for (x, y, pixel) in edited.enumerate_pixels() {
        if (16..48).contains(&x) && (16..48).contains(&y) {
            changed += usize::from(pixel != original.get_pixel(x, y));
        } else {
            assert_eq!(pixel, original.get_pixel(x, y), "({x},{y}) is unmarked");
        }
    }
    assert!(changed > 32 * 32 / 2, "the marked area changed ({changed})");
}

#[tokio::test]
async fn markup_and_input_fidelity_are_refused_as_the_api_refuses_them() {
    let (source, mask) = image_and_mask();
    let markup = markup_over_centre();
    let opaque = png(64, 64, [255, 0, 0, 255]);
    let small = png(8, 8, [0, 0, 0, 0]);
    type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);
    let cases: [(&str, Vec<Part>, &str); 6] = [
        (
            "with a mask",
            vec![
                ("mask", Some("m.png"), &mask),
                ("markup", Some("k.png"), &markup),
            ],
            "cannot be combined with a mask",
        ),
        (
            "on a model without markup",
            vec![
                ("model", None, b"gpt-image-2"),
                ("markup", Some("k.png"), &markup),
            ],
            "takes no markup",
        ),
        (
            "without transparency",
            vec![("markup", Some("k.png"), &opaque)],
            "must contain transparent pixels",
        ),
        (
            "of another size",
            vec![("markup", Some("k.png"), &small)],
            "markup size (8x8)",
        ),
        (
            "an unknown fidelity",
            vec![("input_fidelity", None, b"exact")],
            "input_fidelity",
        ),
        (
            "fidelity on gpt-image-1-mini",
            vec![
                ("model", None, b"gpt-image-1-mini"),
                ("input_fidelity", None, b"high"),
            ],
            "input_fidelity",
        ),
    ];
    for (what, extra, expected) in cases {
        let mut parts: Vec<(&str, Option<&str>, &[u8])> =
            vec![("prompt", None, b"x"), ("image[]", Some("a.png"), &source)];
        if !extra.iter().any(|(name, _, _)| *name == "model") {
            parts.push(("model", None, b"gpt-image-2.5-flare"));
        }
        parts.extend(extra);
        let (content_type, body) = multipart(&parts);
        let (status, text) = post("/v1/images/edits", &content_type, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "markup {what}: {text}");
        assert!(text.contains(expected), "markup {what}: {text}");
    }
}

#[tokio::test]
async fn dall_e_2_variations_resemble_the_image_and_differ_from_each_other() {
    let source = png(128, 128, [40, 120, 200, 255]);
    let (content_type, body) = multipart(&[
        ("image", Some("a.png"), &source),
        ("n", None, b"2"),
        ("size", None, b"256x256"),
        ("response_format", None, b"b64_json"),
    ]);
    let (status, text) = post("/v1/images/variations", &content_type, body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let json: Value = serde_json::from_str(&text).unwrap();
    let a = decode(&json["data"][0]["b64_json"]);
    let b = decode(&json["data"][1]["b64_json"]);
    assert_eq!(a.dimensions(), (256, 256));
    assert_ne!(a, b);

    // Only dall-e-2 makes variations; non-square images are refused as the API does.
    let (content_type, body) = multipart(&[
        ("image", Some("a.png"), &source),
        ("model", None, b"gpt-image-2"),
    ]);
    let (status, _) = post("/v1/images/variations", &content_type, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (content_type, body) = multipart(&[("image", Some("a.png"), &png(64, 32, [0; 4]))]);
    let (status, text) = post("/v1/images/variations", &content_type, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("square"), "{text}");
}
