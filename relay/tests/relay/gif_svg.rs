//! gpt-image-2.6's animated GIF and SVG outputs from the offline generator, and what it refuses
//! about them, in the API's shapes.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use easel_relay::{Config, app};
use image::AnimationDecoder as _;
use image::codecs::gif::GifDecoder;
use serde_json::{Value, json};

use crate::generate;

fn offline() -> axum::Router {
    app(Config::default())
}

fn bytes_of(item: &Value) -> Vec<u8> {
    STANDARD
        .decode(item["b64_json"].as_str().expect("b64_json"))
        .unwrap()
}

#[tokio::test]
async fn gif_is_animated_with_the_frames_and_timing_asked_for() {
    let (status, _, json) = generate(
        &offline(),
        json!({"model": "gpt-image-2.6-flare", "prompt": "a bouncing ball", "size": "1024x1024",
               "output_format": "gif", "frame_count": 4, "frame_duration_ms": 154, "n": 2}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["output_format"], "gif");
    assert_eq!(json["size"], "1024x1024");
    assert!(json["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(json["data"].as_array().unwrap().len(), 2);
    let bytes = bytes_of(&json["data"][0]);
    assert!(bytes.starts_with(b"GIF89a"));
    let frames = GifDecoder::new(std::io::Cursor::new(bytes))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[0].buffer().dimensions(), (1024, 1024));
    // Rounded to 10 ms, as the API does.
    assert_eq!(frames[0].delay().numer_denom_ms(), (150, 1));
}

#[tokio::test]
async fn gif_defaults_to_nine_frames() {
    let (status, _, json) = generate(
        &offline(),
        json!({"model": "gpt-image-2.6-sunburst", "prompt": "waves", "size": "1024x1536",
               "output_format": "gif"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let frames = GifDecoder::new(std::io::Cursor::new(bytes_of(&json["data"][0])))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 9);
    assert_eq!(frames[0].buffer().dimensions(), (1024, 1536));
    assert_eq!(frames[0].delay().numer_denom_ms(), (200, 1));
}

#[tokio::test]
async fn svg_is_a_real_svg_document() {
    let (status, _, json) = generate(
        &offline(),
        json!({"model": "gpt-image-2.6-flare", "prompt": "a logo <for> R&D", "size": "1536x1024",
               "output_format": "svg", "svg": {"model": "gpt-5-mini", "reasoning": {"effort": "low"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["output_format"], "svg");
    assert_eq!(json["svg_usage"]["model"], "gpt-5-mini");
    let text = String::from_utf8(bytes_of(&json["data"][0])).unwrap();
    assert!(text.starts_with("<?xml"), "{text}");
    assert!(
        text.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1536\" height=\"1024\"")
    );
    assert!(text.contains("<title>a logo &lt;for&gt; R&amp;D</title>"));
    assert!(text.trim_end().ends_with("</svg>"));
    assert_eq!(
        easel_core::files::ImageFormat::sniff(text.as_bytes()),
        Some(easel_core::files::ImageFormat::Svg)
    );
}

/// Each refusal: the body, the parameter at fault and a word of the message, answered with a
/// 400 in the API's error envelope.
#[tokio::test]
async fn what_the_api_refuses_is_refused_in_its_envelope() {
    let cases = [
        (
            json!({"output_format": "svg", "n": 2}),
            "n",
            "one per request",
        ),
        (
            json!({"output_format": "gif", "frame_count": 1}),
            "frame_count",
            "2 to 16",
        ),
        (
            json!({"output_format": "gif", "frame_count": 17}),
            "frame_count",
            "2 to 16",
        ),
        (
            json!({"output_format": "gif", "stream": true}),
            "stream",
            "cannot be streamed",
        ),
        (
            json!({"output_format": "svg", "stream": true, "partial_images": 1}),
            "stream",
            "cannot be streamed",
        ),
        (
            json!({"output_format": "gif", "output_compression": 50}),
            "output_compression",
            "no compression",
        ),
        (
            json!({"output_format": "png", "frame_count": 4}),
            "frame_count",
            "only to the gif",
        ),
        (
            json!({"output_format": "gif", "background": "transparent"}),
            "background",
            "png or webp",
        ),
        (
            json!({"output_format": "svg", "svg": {"reasoning": {"effort": "ultra"}}}),
            "svg.reasoning.effort",
            "'ultra'",
        ),
        (json!({"complexity": "extreme"}), "complexity", "'extreme'"),
        (
            json!({"output_format": "svg", "svg": "gpt-5"}),
            "svg",
            "must be an object",
        ),
        (
            json!({"output_format": "png", "svg": {"model": "gpt-5"}}),
            "svg",
            "only to the svg",
        ),
    ];
    for (extra, param, words) in cases {
        let mut body = json!({"model": "gpt-image-2.6-flare", "prompt": "a fox"});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, _, json) = generate(&offline(), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {json}");
        assert_eq!(json["error"]["type"], "invalid_request_error", "{json}");
        assert_eq!(json["error"]["param"], param, "{body}: {json}");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{body}: {message}");
    }
    // Older models do not make GIFs: the API's wording lists what they take.
    let (status, _, json) = generate(
        &offline(),
        json!({"model": "gpt-image-2.5-flare", "prompt": "a fox", "output_format": "gif"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json["error"]["message"],
        "Invalid value: 'gif'. Supported values are: 'png', 'jpeg', and 'webp'."
    );
}
