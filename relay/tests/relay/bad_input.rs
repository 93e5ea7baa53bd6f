//! Malformed and hostile requests: each gets the right status in the API's error envelope, and
//! none of them reaches the upstream.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use easel_relay::{AccessToken, ApiKey, Config, Forward, Upstream, app};
use serde_json::{Value, json};

use crate::{fake, multipart, png, send};

const TOKEN: &str = "relay-token-0123456789";

struct Case {
    what: &'static str,
    request: Request<Body>,
    status: StatusCode,
}

fn request(method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {TOKEN}"))
}

fn json_post(path: &str, body: impl Into<String>) -> Request<Body> {
    request(Method::POST, path)
        .header("content-type", "application/json")
        .body(Body::from(body.into()))
        .unwrap()
}

fn generation(body: Value) -> Request<Body> {
    json_post("/v1/images/generations", body.to_string())
}

fn cases() -> Vec<Case> {
    let valid = || json!({"model": "gpt-image-2", "prompt": "a fox"}).to_string();
    let case = |what, request, status| Case {
        what,
        request,
        status,
    };
    let with_header = |mut request: Request<Body>, name: &'static str, value: &'static str| {
        request
            .headers_mut()
            .append(name, HeaderValue::from_static(value));
        request
    };
    let image = png(8, 8, [1, 2, 3, 255]);
    let (multipart_type, no_image) = multipart(&[("prompt", None, b"a hat")]);
    let (_, with_image) = multipart(&[
        ("prompt", None, b"a hat"),
        ("image[]", Some("a.png"), &image),
    ]);
    vec![
        case(
            "wrong method",
            request(Method::GET, "/v1/images/generations")
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        case(
            "wrong method on edits",
            request(Method::PUT, "/v1/images/edits")
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        case(
            "unknown path",
            json_post("/v1/chat/completions", valid()),
            StatusCode::NOT_FOUND,
        ),
        case(
            "models listing",
            json_post("/v1/models", valid()),
            StatusCode::NOT_FOUND,
        ),
        case(
            "dot-dot in path",
            json_post("/v1/images/../chat/completions", valid()),
            StatusCode::NOT_FOUND,
        ),
        case(
            "encoded dot-dot in path",
            json_post("/v1/images/%2e%2e/%2e%2e/v1/models", valid()),
            StatusCode::NOT_FOUND,
        ),
        case(
            "oversize JSON",
            generation(json!({"model": "gpt-image-2", "prompt": "x".repeat(2 * 1024 * 1024)})),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        case(
            "wrong content type",
            request(Method::POST, "/v1/images/generations")
                .header("content-type", "text/plain")
                .body(Body::from(valid()))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        case(
            "no content type",
            request(Method::POST, "/v1/images/generations")
                .body(Body::from(valid()))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        case(
            "JSON to variations",
            json_post("/v1/images/variations", valid()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        case(
            "broken JSON",
            json_post("/v1/images/generations", "{\"prompt\": \"a fox\","),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "JSON that is not an object",
            json_post("/v1/images/generations", "[1, 2]"),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "missing prompt",
            generation(json!({"model": "gpt-image-2"})),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "prompt of the wrong type",
            generation(json!({"model": "gpt-image-2", "prompt": {"$gt": ""}})),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "broken multipart",
            request(Method::POST, "/v1/images/edits")
                .header("content-type", multipart_type.clone())
                .body(Body::from(
                    "--easel-test-boundary-7d2f\r\nContent-Disposition: garbage",
                ))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "multipart without a boundary",
            request(Method::POST, "/v1/images/edits")
                .header("content-type", "multipart/form-data")
                .body(Body::from(with_image.clone()))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "edit without an image",
            request(Method::POST, "/v1/images/edits")
                .header("content-type", multipart_type.clone())
                .body(Body::from(no_image))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "missing token",
            Request::post("/v1/images/generations")
                .header("content-type", "application/json")
                .body(Body::from(valid()))
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        case(
            "wrong token",
            Request::post("/v1/images/generations")
                .header("content-type", "application/json")
                .header("authorization", "Bearer sk-guess")
                .body(Body::from(valid()))
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        case(
            "token in the wrong scheme",
            Request::post("/v1/images/generations")
                .header("content-type", "application/json")
                .header("authorization", format!("Basic {TOKEN}"))
                .body(Body::from(valid()))
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        case(
            "disallowed origin",
            with_header(
                json_post("/v1/images/generations", valid()),
                "origin",
                "https://evil.example",
            ),
            StatusCode::FORBIDDEN,
        ),
        case(
            "absurd n",
            generation(json!({"model": "gpt-image-2", "prompt": "x", "n": 1_000_000})),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "negative n",
            generation(json!({"model": "gpt-image-2", "prompt": "x", "n": -1})),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "n as text",
            generation(json!({"model": "gpt-image-2", "prompt": "x", "n": "ten"})),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "over-long prompt",
            generation(json!({"model": "gpt-image-2", "prompt": "x".repeat(40_000)})),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "absurd model name",
            generation(json!({"model": "m".repeat(10_000), "prompt": "x"})),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "smuggling: length and chunked",
            with_header(
                with_header(
                    json_post("/v1/images/generations", valid()),
                    "content-length",
                    "39",
                ),
                "transfer-encoding",
                "chunked",
            ),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "smuggling: two lengths",
            with_header(
                with_header(
                    json_post("/v1/images/generations", valid()),
                    "content-length",
                    "5",
                ),
                "content-length",
                "6",
            ),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "non-numeric length",
            with_header(
                json_post("/v1/images/generations", valid()),
                "content-length",
                "12abc",
            ),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "two content types",
            with_header(
                json_post("/v1/images/generations", valid()),
                "content-type",
                "text/plain",
            ),
            StatusCode::BAD_REQUEST,
        ),
    ]
}

#[tokio::test]
async fn hostile_requests_are_refused_and_never_forwarded() {
    let (addr, fake) = fake::start().await;
    let relay = app(Config {
        upstream: Upstream::Forward(Forward::openai(
            format!("http://{addr}/v1"),
            ApiKey::new("sk-upstream"),
        )),
        access_tokens: vec![AccessToken::new(TOKEN)],
        allowed_origins: vec!["https://me.github.io".into()],
        ..Config::default()
    });
    let cases = cases();
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for Case {
        what,
        request,
        status,
    } in cases
    {
        let (got, headers, body) = send(&relay, request).await;
        let envelope: Option<Value> = serde_json::from_slice(&body).ok();
        let complete = envelope.as_ref().is_some_and(|json| {
            ["message", "type", "param", "code"].iter().all(|key| {
                json["error"]
                    .as_object()
                    .is_some_and(|e| e.contains_key(*key))
            })
        });
        let json_typed = headers
            .get("content-type")
            .is_some_and(|v| v == "application/json");
        if got != status || !complete || !json_typed {
            failures.push(format!(
                "{what}: expected {status}, got {got} {}",
                String::from_utf8_lossy(&body)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(fake.count(), 0, "the upstream saw none of them");

    // The same relay forwards a good request, so the silence above is the guards' doing.
    let (status, _, _) = send(
        &relay,
        json_post("/v1/images/generations", r#"{"prompt":"x"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.count(), 1);
}
