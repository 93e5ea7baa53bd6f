//! Reading an image request before anything is sent upstream: framing, content type, size,
//! and the shape of the body (JSON object or multipart form, a prompt of sane length, a sane
//! `n`). A request that fails here never reaches the upstream; one that passes is forwarded
//! byte for byte, so the checks add safety without changing what the upstream receives.

use axum::body::{self, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use serde_json::{Map, Value};

use crate::mock::Fault;
use crate::{AppError, Config};

/// The API's own limit for prompts (GPT image models); no model takes more.
pub(crate) const MAX_PROMPT_CHARS: usize = 32_000;
/// The API's largest `n`.
pub(crate) const MAX_IMAGES: u64 = 10;
/// A multipart form with more parts than this is not an image request.
const MAX_PARTS: usize = 64;
const MAX_MODEL_CHARS: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
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
pub(crate) struct Part {
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
pub(crate) enum Form {
    Json(Map<String, Value>),
    Multipart(Vec<Part>),
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
            Form::Multipart(parts) => parts
                .iter()
                .find(|p| p.name == name && p.file_name.is_none())
                .and_then(|p| p.text().map(str::to_owned)),
        }
    }

    pub fn streams(&self) -> bool {
        self.field("stream").is_some_and(|s| s == "true")
    }
}

/// An image request that passed every check.
pub(crate) struct Incoming {
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

pub(crate) async fn read(
    config: &Config,
    operation: Operation,
    request: Request,
) -> Result<Incoming, AppError> {
    let (parts, body) = request.into_parts();
    check_framing(&parts.headers)?;
    let origin = crate::mock::public_origin(config, &parts.uri, &parts.headers);
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
        .trim()
        .to_ascii_lowercase();
    let (multipart, limit) = match kind.as_str() {
        "application/json" if operation.takes_json() => (false, config.json_body_limit),
        "multipart/form-data" if operation.takes_multipart() => (true, config.multipart_body_limit),
        _ => {
            return Err(AppError::UnsupportedMediaType {
                expected: operation.expected(),
            });
        }
    };
    if let Some(length) = declared_length(&parts.headers)?
        && length > limit as u64
    {
        return Err(AppError::PayloadTooLarge);
    }
    let body = body::to_bytes(body, limit).await.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
        if too_large {
            AppError::PayloadTooLarge
        } else {
            bad_body("The request body could not be read.")
        }
    })?;
    let form = if multipart {
        let text = content_type.to_str().unwrap_or_default();
        let boundary = multer::parse_boundary(text)
            .map_err(|_| bad_body("The multipart body has no boundary in its Content-Type."))?;
        Form::Multipart(parse_multipart(body.clone(), boundary).await?)
    } else {
        Form::Json(parse_json(&body)?)
    };
    check_fields(operation, &form)?;
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

/// Refuses the request-smuggling shapes: a length and chunking at once, or two lengths.
fn check_framing(headers: &HeaderMap) -> Result<(), AppError> {
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
fn declared_length(headers: &HeaderMap) -> Result<Option<u64>, AppError> {
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

/// What every image request must look like, whatever the upstream: the fields no model can
/// do without, in their sane ranges.
fn check_fields(operation: Operation, form: &Form) -> Result<(), AppError> {
    if let Form::Json(object) = form {
        for (name, expected) in [("prompt", "a string"), ("model", "a string")] {
            if object.get(name).is_some_and(|v| !v.is_string()) {
                return Err(invalid_type(name, expected));
            }
        }
        if let Some(n) = object.get("n")
            && !n.is_u64()
            && !n.is_i64()
        {
            return Err(invalid_type("n", "an integer"));
        }
    }
    match form.field("prompt") {
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
    if let Some(model) = form.field("model")
        && model.chars().count() > MAX_MODEL_CHARS
    {
        return Err(AppError::InvalidRequest {
            message: "Invalid 'model': the name is too long.".into(),
            param: Some("model".into()),
            code: "invalid_value",
        });
    }
    if let Some(n) = form.field("n") {
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
    if let Form::Multipart(parts) = form {
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
    }
    Ok(())
}

fn invalid_type(name: &str, expected: &str) -> AppError {
    AppError::InvalidRequest {
        message: format!("Invalid type for '{name}': expected {expected}."),
        param: Some(name.to_owned()),
        code: "invalid_type",
    }
}

fn bad_body(message: &str) -> AppError {
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
