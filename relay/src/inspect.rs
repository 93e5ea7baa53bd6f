//! Reading an image request before anything is sent upstream: framing, content type, size,
//! and the shape of the body (JSON object or multipart form, a prompt of sane length, a sane
//! `n`). A request that fails here never reaches the upstream; one that passes is forwarded
//! byte for byte, so the checks add safety without changing what the upstream receives.

use std::borrow::Cow;
use std::fmt;

use axum::body::{self, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::mock::Fault;
use crate::{AppError, Config, Upstream};

/// The API's own limit for prompts (GPT image models); no model takes more.
pub(crate) const MAX_PROMPT_CHARS: usize = 32_000;
/// The API's largest `n`.
pub(crate) const MAX_IMAGES: u64 = 10;
/// A multipart form with more parts than this is not an image request.
const MAX_PARTS: usize = 64;
const MAX_MODEL_CHARS: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Generations,
    Edits,
    Variations,
}

impl Operation {
    /// The path under the API's base URL.
    pub fn path(self) -> &'static str {
        match self {
            Operation::Generations => "images/generations",
            Operation::Edits => "images/edits",
            Operation::Variations => "images/variations",
        }
    }

    fn takes_json(self) -> bool {
        self != Operation::Variations
    }

    fn takes_multipart(self) -> bool {
        self != Operation::Generations
    }

    fn needs_prompt(self) -> bool {
        self != Operation::Variations
    }

    fn expected(self) -> &'static str {
        match self {
            Operation::Generations => "application/json",
            Operation::Edits => "application/json or multipart/form-data",
            Operation::Variations => "multipart/form-data",
        }
    }
}

/// One part of a multipart form.
#[derive(Clone, Debug)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub data: Bytes,
}

impl Part {
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }
}

#[derive(Clone, Debug)]
pub enum Form {
    Json(Map<String, Value>),
    Multipart(Vec<Part>),
    /// A JSON body that passed the checks and goes upstream exactly as received. Nothing reads
    /// its fields again, so it is not kept parsed (only the generator needs the object).
    Forwarded,
}

impl Form {
    /// A text field by name (a JSON string or number, or a multipart text part).
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            Form::Json(object) => match object.get(name)? {
                Value::String(text) => Some(text.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            },
            Form::Multipart(parts) => text_part(parts, name).map(str::to_owned),
            Form::Forwarded => None,
        }
    }

    pub fn streams(&self) -> bool {
        self.field("stream").is_some_and(|s| s == "true")
    }
}

/// An image request that passed every check.
#[derive(Debug)]
pub struct Incoming {
    pub operation: Operation,
    /// The body exactly as the client sent it.
    pub body: Bytes,
    pub content_type: HeaderValue,
    pub accept: Option<HeaderValue>,
    pub form: Form,
    /// A failure the client asked the generator for (only in test mode).
    pub fault: Option<Fault>,
    /// Where clients reach the relay, for the generator's image URLs.
    pub origin: String,
}

/// The header a test sets to make the generator fail on purpose.
pub(crate) const FAULT_HEADER: &str = "x-easel-fault";

pub async fn read(
    config: &Config,
    operation: Operation,
    request: Request,
) -> Result<Incoming, AppError> {
    let (parts, body) = request.into_parts();
    check_framing(&parts.headers)?;
    let content_type = single(&parts.headers, header::CONTENT_TYPE)?
        .ok_or(AppError::UnsupportedMediaType {
            expected: operation.expected(),
        })?
        .clone();
    let kind = content_type
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let (multipart, limit) =
        if kind.eq_ignore_ascii_case("application/json") && operation.takes_json() {
            (false, config.json_body_limit)
        } else if kind.eq_ignore_ascii_case("multipart/form-data") && operation.takes_multipart() {
            (true, config.multipart_body_limit)
        } else {
            return Err(AppError::UnsupportedMediaType {
                expected: operation.expected(),
            });
        };
    if let Some(length) = declared_length(&parts.headers)?
        && length > limit as u64
    {
        return Err(AppError::PayloadTooLarge);
    }
    let body = body::to_bytes(body, limit).await.map_err(body_error)?;
    // Only the generator reads the request again; a forwarded one is checked and sent as is.
    let generator = matches!(config.upstream, Upstream::Offline);
    let form = if multipart {
        let text = content_type.to_str().unwrap_or_default();
        let boundary = multer::parse_boundary(text)
            .map_err(|_| bad_body("The multipart body has no boundary in its Content-Type."))?;
        // Boxed: its state would otherwise enlarge every request's future, JSON ones too.
        let parts = Box::pin(parse_multipart(body.clone(), boundary)).await?;
        check_multipart(operation, &parts)?;
        log_prompt(config, text_part(&parts, "prompt"));
        Form::Multipart(parts)
    } else {
        let fields = JsonFields::parse(&body)?;
        check_json(operation, &fields)?;
        log_prompt(config, fields.prompt.as_ref().and_then(Scalar::text));
        if generator {
            Form::Json(parse_json(&body)?)
        } else {
            Form::Forwarded
        }
    };
    let fault = match parts.headers.get(FAULT_HEADER) {
        Some(value) if config.test_mode => Some(
            value
                .to_str()
                .ok()
                .and_then(|name| name.parse().ok())
                .ok_or_else(|| AppError::InvalidRequest {
                    message: format!("Unknown {FAULT_HEADER}; known: {}.", Fault::NAMES),
                    param: None,
                    code: "invalid_fault",
                })?,
        ),
        _ => config.fault,
    };
    let origin = if generator {
        crate::mock::public_origin(config, &parts.uri, &parts.headers)
    } else {
        String::new()
    };
    Ok(Incoming {
        operation,
        body,
        content_type,
        accept: parts.headers.get(header::ACCEPT).cloned(),
        form,
        fault,
        origin,
    })
}

/// Prompts are the users' words: in the log only when the operator asked for them.
fn log_prompt(config: &Config, prompt: Option<&str>) {
    if config.log_prompts
        && let Some(prompt) = prompt
    {
        tracing::info!(prompt, "prompt");
    }
}

/// Refuses the request-smuggling shapes: a length and chunking at once, or two lengths.
pub(crate) fn check_framing(headers: &HeaderMap) -> Result<(), AppError> {
    if headers.contains_key(header::TRANSFER_ENCODING)
        && headers.contains_key(header::CONTENT_LENGTH)
    {
        return Err(bad_header(
            "A request may not carry both Content-Length and Transfer-Encoding.",
        ));
    }
    single(headers, header::CONTENT_LENGTH)?;
    Ok(())
}

/// The header's value, refusing requests that send it more than once.
fn single(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<&HeaderValue>, AppError> {
    let mut values = headers.get_all(&name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(bad_header(&format!(
            "The {name} header may appear only once."
        )));
    }
    Ok(first)
}

/// The client's `Content-Length`, if it sent one.
pub(crate) fn declared_length(headers: &HeaderMap) -> Result<Option<u64>, AppError> {
    let Some(value) = headers.get(header::CONTENT_LENGTH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or_else(|| bad_header("The Content-Length header is not a number."))
}

fn parse_json(body: &[u8]) -> Result<Map<String, Value>, AppError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(AppError::InvalidJson {
            detail: Some("expected a JSON object".into()),
        }),
        Err(_) => Err(AppError::InvalidJson { detail: None }),
    }
}

async fn parse_multipart(body: Bytes, boundary: String) -> Result<Vec<Part>, AppError> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    let broken = |_| bad_body("The multipart body is malformed.");
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        if parts.len() == MAX_PARTS {
            return Err(bad_body("The multipart body has too many parts."));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let data = field.bytes().await.map_err(broken)?;
        parts.push(Part {
            name,
            file_name,
            data,
        });
    }
    Ok(parts)
}

/// A multipart form's first text part of that name.
fn text_part<'a>(parts: &'a [Part], name: &str) -> Option<&'a str> {
    parts
        .iter()
        .find(|p| p.name == name && p.file_name.is_none())
        .and_then(Part::text)
}

/// A JSON body's checks: its fields' types, then what every request must look like.
fn check_json(operation: Operation, fields: &JsonFields) -> Result<(), AppError> {
    for (name, value) in [("prompt", &fields.prompt), ("model", &fields.model)] {
        if value.as_ref().is_some_and(|v| v.text().is_none()) {
            return Err(invalid_type(name, "a string"));
        }
    }
    if fields
        .n
        .as_ref()
        .is_some_and(|n| !matches!(n, Scalar::Integer(_)))
    {
        return Err(invalid_type("n", "an integer"));
    }
    let n = fields.n.as_ref().map(|n| match n {
        Scalar::Integer(n) => Cow::Owned(n.to_string()),
        _ => Cow::Borrowed(""),
    });
    check_common(
        operation,
        fields.prompt.as_ref().and_then(Scalar::text),
        fields.model.as_ref().and_then(Scalar::text),
        n.as_deref(),
    )
}

fn check_multipart(operation: Operation, parts: &[Part]) -> Result<(), AppError> {
    check_common(
        operation,
        text_part(parts, "prompt"),
        text_part(parts, "model"),
        text_part(parts, "n"),
    )?;
    let image = |p: &&Part| p.name == "image" || p.name == "image[]";
    if !parts.iter().any(|p| image(&p)) {
        return Err(AppError::InvalidRequest {
            message: "Missing required parameter: 'image'.".into(),
            param: Some("image".into()),
            code: "missing_required_parameter",
        });
    }
    if operation == Operation::Variations && parts.iter().filter(image).count() > 1 {
        return Err(AppError::InvalidRequest {
            message: "Variations take exactly one 'image'.".into(),
            param: Some("image".into()),
            code: "invalid_value",
        });
    }
    Ok(())
}

/// What every image request must look like, whatever the upstream: the fields no model can
/// do without, in their sane ranges.
fn check_common(
    operation: Operation,
    prompt: Option<&str>,
    model: Option<&str>,
    n: Option<&str>,
) -> Result<(), AppError> {
    match prompt {
        None if operation.needs_prompt() => {
            return Err(AppError::InvalidRequest {
                message: "Missing required parameter: 'prompt'.".into(),
                param: Some("prompt".into()),
                code: "missing_required_parameter",
            });
        }
        Some(prompt) if prompt.chars().count() > MAX_PROMPT_CHARS => {
            return Err(AppError::InvalidRequest {
                message: format!(
                    "Invalid 'prompt': string too long. Expected a string with maximum length \
                     {MAX_PROMPT_CHARS}, but got a string with length {}.",
                    prompt.chars().count()
                ),
                param: Some("prompt".into()),
                code: "string_above_max_length",
            });
        }
        _ => {}
    }
    if let Some(model) = model
        && model.chars().count() > MAX_MODEL_CHARS
    {
        return Err(AppError::InvalidRequest {
            message: "Invalid 'model': the name is too long.".into(),
            param: Some("model".into()),
            code: "invalid_value",
        });
    }
    if let Some(n) = n {
        let sane = n
            .parse::<u64>()
            .is_ok_and(|n| (1..=MAX_IMAGES).contains(&n));
        if !sane {
            return Err(AppError::InvalidRequest {
                message: format!("Invalid 'n': must be between 1 and {MAX_IMAGES} (got {n})."),
                param: Some("n".into()),
                code: "integer_out_of_range",
            });
        }
    }
    Ok(())
}

/// The fields of a JSON body that the checks read, taken in one pass without building the
/// whole object (serde_json's `Value` allocates every key and string). Parsed with the same
/// `deserialize_any` calls as a `Value`, so exactly the same bodies are accepted; a repeated
/// key counts by its last value, as in a `Value`.
#[derive(Default)]
struct JsonFields<'a> {
    prompt: Option<Scalar<'a>>,
    model: Option<Scalar<'a>>,
    n: Option<Scalar<'a>>,
}

/// One of those fields' values: what the checks tell apart.
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Integer(serde_json::Number),
    /// Anything else: null, a boolean, a float, an array or an object.
    Other,
}

impl Scalar<'_> {
    fn text(&self) -> Option<&str> {
        match self {
            Scalar::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl<'a> JsonFields<'a> {
    fn parse(body: &'a [u8]) -> Result<JsonFields<'a>, AppError> {
        match serde_json::from_slice::<TopLevel<'a>>(body) {
            Ok(TopLevel::Object(fields)) => Ok(fields),
            Ok(TopLevel::NotObject) => Err(AppError::InvalidJson {
                detail: Some("expected a JSON object".into()),
            }),
            Err(_) => Err(AppError::InvalidJson { detail: None }),
        }
    }
}

enum TopLevel<'a> {
    Object(JsonFields<'a>),
    NotObject,
}

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Top;
        impl<'de> Visitor<'de> for Top {
            type Value = TopLevel<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel<'de>, A::Error> {
                let mut fields = JsonFields::default();
                while let Some(Key(key)) = map.next_key()? {
                    let slot = match &*key {
                        "prompt" => &mut fields.prompt,
                        "model" => &mut fields.model,
                        "n" => &mut fields.n,
                        _ => {
                            map.next_value::<Skip>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
                }
                Ok(TopLevel::Object(fields))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<TopLevel<'de>, A::Error> {
                Skip::drain_seq(seq)?;
                Ok(TopLevel::NotObject)
            }

            fn visit_bool<E>(self, _: bool) -> Result<TopLevel<'de>, E> {
                Ok(TopLevel::NotObject)
            }
            fn visit_i64<E>(self, _: i64) -> Result<TopLevel<'de>, E> {
                Ok(TopLevel::NotObject)
            }
            fn visit_u64<E>(self, _: u64) -> Result<TopLevel<'de>, E> {
                Ok(TopLevel::NotObject)
            }
            fn visit_f64<E>(self, _: f64) -> Result<TopLevel<'de>, E> {
                Ok(TopLevel::NotObject)
            }
            fn visit_str<E>(self, _: &str) -> Result<TopLevel<'de>, E> {
                Ok(TopLevel::NotObject)
            }
            fn visit_unit<E>(self) -> Result<TopLevel<'de>, E> {
                Ok(TopLevel::NotObject)
            }
        }
        deserializer.deserialize_any(Top)
    }
}

/// An object key, borrowed from the body unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(text)))
            }

            fn visit_str<E>(self, text: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(text.to_owned())))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Integer(n.into()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Integer(n.into()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar<'de>, A::Error> {
                Skip::drain_seq(seq)?;
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar<'de>, A::Error> {
                Skip::drain_map(map)?;
                Ok(Scalar::Other)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Any JSON value, checked as strictly as a `Value` would be (serde's `IgnoredAny` lets
/// serde_json skip numbers without reading them) but kept nowhere.
struct Skip;

impl Skip {
    fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(())
    }

    fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
        while map.next_key::<Key>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Skip, A::Error> {
        Skip::drain_seq(seq).map(|()| Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Skip, A::Error> {
        Skip::drain_map(map).map(|()| Skip)
    }
}

fn invalid_type(name: &str, expected: &str) -> AppError {
    AppError::InvalidRequest {
        message: format!("Invalid type for '{name}': expected {expected}."),
        param: Some(name.to_owned()),
        code: "invalid_type",
    }
}

/// Why a request body could not be read: too large (413), too late (408), or cut off.
pub(crate) fn body_error(error: axum::Error) -> AppError {
    let too_large = std::error::Error::source(&error)
        .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
    if too_large {
        AppError::PayloadTooLarge
    } else if crate::connection::timed_out(&error) {
        AppError::RequestTimeout
    } else {
        bad_body("The request body could not be read.")
    }
}

pub(crate) fn bad_body(message: &str) -> AppError {
    AppError::InvalidRequest {
        message: message.to_owned(),
        param: None,
        code: "invalid_body",
    }
}

fn bad_header(message: &str) -> AppError {
    AppError::InvalidRequest {
        message: message.to_owned(),
        param: None,
        code: "invalid_header",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checks as they were on a whole `Value` (before `JsonFields`), kept as the reference
    /// the one-pass reading must agree with.
    fn checked_as_value(operation: Operation, body: &[u8]) -> Result<(), AppError> {
        let object = parse_json(body)?;
        for name in ["prompt", "model"] {
            if object.get(name).is_some_and(|v| !v.is_string()) {
                return Err(invalid_type(name, "a string"));
            }
        }
        if let Some(n) = object.get("n")
            && !n.is_u64()
            && !n.is_i64()
        {
            return Err(invalid_type("n", "an integer"));
        }
        let form = Form::Json(object);
        check_common(
            operation,
            form.field("prompt").as_deref(),
            form.field("model").as_deref(),
            form.field("n").as_deref(),
        )
    }

    fn checked(operation: Operation, body: &[u8]) -> Result<(), AppError> {
        check_json(operation, &JsonFields::parse(body)?)
    }

    #[test]
    fn one_pass_json_checks_agree_with_a_whole_value() {
        let long = format!(r#"{{"prompt":"{}"}}"#, "é".repeat(MAX_PROMPT_CHARS + 1));
        let bodies: Vec<&[u8]> = vec![
            br#"{"model":"gpt-image-2","prompt":"a lighthouse","size":"1024x1024"}"#,
            br#"{"prompt":"a","n":3}"#,
            br#"{"prompt":"a","n":0}"#,
            br#"{"prompt":"a","n":-2}"#,
            br#"{"prompt":"a","n":11}"#,
            br#"{"prompt":"a","n":"3"}"#,
            br#"{"prompt":"a","n":2.0}"#,
            br#"{"prompt":"a","n":null}"#,
            br#"{"prompt":null}"#,
            br#"{"prompt":5}"#,
            br#"{"prompt":["a"]}"#,
            br#"{"model":{"id":"x"},"prompt":"a"}"#,
            br#"{"model":"gpt-image-2"}"#,
            // A repeated key counts by its last value.
            br#"{"prompt":5,"prompt":"a"}"#,
            br#"{"prompt":"a","prompt":5}"#,
            // Escapes, in keys and values.
            br#"{"pro\u006dpt":7}"#,
            br#"{"prompt":"caf\u00e9 \"night\"","\u006e":4}"#,
            // Everything a `Value` refuses, anywhere in the body.
            br#"{"prompt":"a","size":1e400}"#,
            br#"{"prompt":"a","x":[1,{"y":[true,false,null,-0.5e-3]}]}"#,
            br#"{"prompt":"a","x":"\ud800"}"#,
            br#"{"prompt":"a"} x"#,
            br#"{"prompt":"a",}"#,
            br#"{"prompt":"a""#,
            br#"[{"prompt":"a"}]"#,
            br#""prompt""#,
            b"42",
            b"null",
            b"",
            b"\xff",
            long.as_bytes(),
        ];
        for body in bodies {
            for operation in [Operation::Generations, Operation::Edits] {
                let expected = format!("{:?}", checked_as_value(operation, body));
                let actual = format!("{:?}", checked(operation, body));
                assert_eq!(actual, expected, "{}", String::from_utf8_lossy(body));
            }
        }
    }
}
