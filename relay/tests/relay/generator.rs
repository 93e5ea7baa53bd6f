use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use easel_relay::{Config, app};
use image::{GenericImageView as _, ImageFormat};
use serde_json::{Value, json};

use crate::{generate, get, send};

fn offline() -> axum::Router {
    app(Config::default())
}

fn decode_b64(item: &Value) -> Vec<u8> {
    STANDARD
        .decode(item["b64_json"].as_str().expect("b64_json"))
        .unwrap()
}

/// Generates one base64 image and returns its bytes.
async fn one_image(body: Value) -> Vec<u8> {
    let (status, _, json) = generate(&offline(), body).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    decode_b64(&json["data"][0])
}

#[tokio::test]
async fn each_format_decodes_at_exactly_the_requested_size() {
    for (format, size, expected) in [
        ("png", "1024x1024", ImageFormat::Png),
        ("jpeg", "1536x1024", ImageFormat::Jpeg),
        ("webp", "1920x1088", ImageFormat::WebP),
    ] {
        let (status, _, json) = generate(
            &offline(),
            json!({"model": "gpt-image-2", "prompt": "a red fox", "size": size, "output_format": format}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["output_format"], format);
        assert_eq!(json["size"], size);
        let bytes = decode_b64(&json["data"][0]);
        assert_eq!(image::guess_format(&bytes).unwrap(), expected);
        let picture = image::load_from_memory(&bytes).unwrap();
        assert_eq!(format!("{}x{}", picture.width(), picture.height()), size);
    }
}

#[tokio::test]
async fn transparent_background_has_clear_pixels() {
    for format in ["png", "webp"] {
        let bytes = one_image(json!({
            "model": "gpt-image-2", "prompt": "a sticker of a cat", "size": "1024x1024",
            "background": "transparent", "output_format": format
        }))
        .await;
        let picture = image::load_from_memory(&bytes).unwrap().to_rgba8();
        assert!(
            picture.pixels().any(|p| p[3] < 255),
            "{format} has transparency"
        );
        assert!(
            picture.pixels().any(|p| p[3] == 255),
            "{format} has a subject"
        );
    }
    let opaque = one_image(json!({"model": "gpt-image-2", "prompt": "a cat"})).await;
    let picture = image::load_from_memory(&opaque).unwrap();
    assert!(!picture.color().has_alpha());
}

#[tokio::test]
async fn pictures_are_deterministic_per_prompt_and_index() {
    let request = json!({"model": "gpt-image-1.5", "prompt": "a lighthouse at dusk", "n": 2});
    let (_, _, first) = generate(&offline(), request.clone()).await;
    let (_, _, again) = generate(&offline(), request).await;
    let items = first["data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(decode_b64(&items[0]), decode_b64(&again["data"][0]));
    assert_eq!(decode_b64(&items[1]), decode_b64(&again["data"][1]));
    assert_ne!(
        decode_b64(&items[0]),
        decode_b64(&items[1]),
        "indices differ"
    );

    let (_, _, other) = generate(
        &offline(),
        json!({"model": "gpt-image-1.5", "prompt": "a lighthouse at dawn", "n": 1}),
    )
    .await;
    assert_ne!(
        decode_b64(&items[0]),
        decode_b64(&other["data"][0]),
        "prompts differ"
    );
}

#[tokio::test]
async fn gpt_image_results_carry_metadata_and_usage() {
    let (status, headers, json) = generate(
        &offline(),
        json!({"model": "gpt-image-2", "prompt": "a fox", "size": "auto", "quality": "auto"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["x-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_")
    );
    assert!(json["created"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(json["size"], "1024x1024");
    assert_eq!(json["quality"], "medium");
    assert_eq!(json["background"], "opaque");
    assert_eq!(json["output_format"], "png");
    let usage = &json["usage"];
    let (input, output) = (
        usage["input_tokens"].as_u64().unwrap(),
        usage["output_tokens"].as_u64().unwrap(),
    );
    assert!(input > 0 && output > 0);
    assert_eq!(usage["total_tokens"].as_u64().unwrap(), input + output);
    assert!(json["data"][0].get("url").is_none());
}

#[tokio::test]
async fn dall_e_3_revises_prompts_and_returns_fetchable_urls() {
    let app = offline();
    let (status, _, json) = generate(
        &app,
        json!({"model": "dall-e-3", "prompt": "A fox in the snow"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert!(json.get("usage").is_none());
    let item = &json["data"][0];
    assert!(item.get("b64_json").is_none());
    let revised = item["revised_prompt"].as_str().unwrap();
    assert!(
        revised.contains("a fox in the snow") && revised.len() > 40,
        "{revised}"
    );

    let url = item["url"].as_str().unwrap();
    let path = url
        .strip_prefix("http://relay.test:8080")
        .expect("absolute URL from the Host header");
    assert!(
        path.starts_with("/v1/generated/") && path.ends_with(".png"),
        "{url}"
    );
    let (status, headers, bytes) = get(&app, path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("private")
    );
    let picture = image::load_from_memory(&bytes).unwrap();
    assert_eq!(picture.dimensions(), (1024, 1024));

    let (status, _, body) = get(&app, "/v1/generated/img_0000.png").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        envelope["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expire")
    );
}

#[tokio::test]
async fn url_results_keep_their_format() {
    let app = offline();
    let (status, _, json) = generate(
        &app,
        json!({"model": "my-local-model", "prompt": "a boat", "size": "640x480", "output_format": "webp"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let url = json["data"][0]["url"].as_str().unwrap();
    let path = &url[url.find("/v1/").unwrap()..];
    let (_, headers, bytes) = get(&app, path).await;
    assert_eq!(headers["content-type"], "image/webp");
    assert_eq!(
        image::load_from_memory(&bytes).unwrap().dimensions(),
        (640, 480)
    );
}

#[tokio::test]
async fn dall_e_2_is_the_default_model_and_can_answer_in_base64() {
    let (status, _, json) = generate(
        &offline(),
        json!({"prompt": "a kite", "size": "256x256", "response_format": "b64_json", "n": 3}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let items = json["data"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|i| i.get("revised_prompt").is_none()));
    let picture = image::load_from_memory(&decode_b64(&items[0])).unwrap();
    assert_eq!(picture.dimensions(), (256, 256));
    assert!(json.get("usage").is_none());
}

#[tokio::test]
async fn invalid_size_answers_with_the_api_envelope() {
    let (status, _, json) = generate(
        &offline(),
        json!({"model": "dall-e-2", "prompt": "a kite", "size": "1536x1024"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json,
        json!({"error": {
            "message": "Invalid value: '1536x1024'. Supported values are: '256x256', '512x512', and '1024x1024'.",
            "type": "invalid_request_error",
            "param": "size",
            "code": "invalid_value"
        }})
    );
}

#[tokio::test]
async fn broken_bodies_are_refused_in_the_envelope() {
    let request = Request::post("/v1/images/generations")
        .header("content-type", "application/json")
        .body(Body::from("{\"prompt\": \"a fox\","))
        .unwrap();
    let (status, headers, body) = send(&offline(), request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["content-type"], "application/json");
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["type"], "invalid_request_error");
    assert!(json["error"]["param"].is_null());
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("We could not parse the JSON body of your request.")
    );

    let (status, _, json) = generate(&offline(), json!({"model": "gpt-image-2"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"]["param"], "prompt");

    let (status, _, json) = generate(
        &offline(),
        json!({"model": "gpt-image-2", "prompt": "x", "n": "2"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"]["type"], "invalid_request_error");
    assert_eq!(json["error"]["param"], "n");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let prompt = "x".repeat(2 * 1024 * 1024);
    let (status, _, json) = generate(&offline(), json!({"prompt": prompt})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn latency_is_applied() {
    let app = app(Config {
        generator_latency: std::time::Duration::from_millis(300),
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let (status, _, _) = generate(
        &app,
        json!({"model": "gpt-image-2", "prompt": "x", "quality": "low"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
}
