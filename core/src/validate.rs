//! Checking a request against the catalog before it is sent. The same checks answer invalid
//! requests in the relay's offline generator, so messages follow the API's own wording
//! ("Invalid value: … Supported values are: …") while staying readable.

use crate::api::GenerationRequest;
use crate::catalog::{self, Model, ResultEncoding};
use crate::size::Size;

/// Why a request cannot be sent, tied to the parameter at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub param: &'static str,
    pub message: String,
}

impl Problem {
    fn new(param: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            param,
            message: message.into(),
        }
    }
}

/// Every problem with the request; empty when it can be sent.
pub fn validate(request: &GenerationRequest) -> Vec<Problem> {
    check(request, catalog::find(&request.model))
}

/// Only the basic shape, whatever the model is called: for a model the user typed by name,
/// which on their server may differ from OpenAI's model of that name.
pub fn validate_free_form(request: &GenerationRequest) -> Vec<Problem> {
    check(request, None)
}

fn check(request: &GenerationRequest, model: Option<&Model>) -> Vec<Problem> {
    let mut problems = Vec::new();
    if request.prompt.trim().is_empty() {
        problems.push(Problem::new("prompt", "Write a prompt first."));
    }
    if request.model.trim().is_empty() {
        problems.push(Problem::new("model", "Choose a model."));
        return problems;
    }
    match model {
        Some(model) => check_known(model, request, &mut problems),
        None => check_custom(request, &mut problems),
    }
    problems
}

fn check_known(model: &Model, r: &GenerationRequest, problems: &mut Vec<Problem>) {
    if r.stream == Some(true) && !model.streams {
        problems.push(Problem::new(
            "stream",
            format!("{} cannot stream its images.", model.id),
        ));
    }
    check_partial_images(r, problems);
    let chars = r.prompt.chars().count();
    if chars > model.prompt_max_chars {
        problems.push(Problem::new(
            "prompt",
            format!(
                "The prompt is {chars} characters long; {} accepts at most {}.",
                model.id, model.prompt_max_chars
            ),
        ));
    }
    let n = r.image_count();
    if n < 1 || n > u32::from(model.n_max) {
        let message = if model.n_max == 1 {
            format!("{} makes one image per request (n must be 1).", model.id)
        } else {
            format!(
                "n must be between 1 and {} for {} (got {n}).",
                model.n_max, model.id
            )
        };
        problems.push(Problem::new("n", message));
    }
    if let Some(size) = r.size.as_deref() {
        check_size(model, size, problems);
    }
    check_choice(
        problems,
        "quality",
        r.quality.as_deref(),
        model.qualities,
        model.id,
    );
    check_choice(
        problems,
        "style",
        r.style.as_deref(),
        model.styles,
        model.id,
    );
    check_choice(
        problems,
        "output_format",
        r.output_format.as_deref(),
        model.output_formats,
        model.id,
    );
    check_choice(
        problems,
        "background",
        r.background.as_deref(),
        model.backgrounds,
        model.id,
    );
    if r.background.as_deref() == Some("transparent")
        && !matches!(
            r.output_format.as_deref(),
            None | Some("png") | Some("webp")
        )
    {
        problems.push(Problem::new(
            "background",
            "A transparent background needs the png or webp output format.",
        ));
    }
    if let Some(compression) = r.output_compression {
        if model.output_formats.is_empty() {
            problems.push(unsupported("output_compression", model.id));
        } else if !matches!(r.output_format.as_deref(), Some("jpeg") | Some("webp")) {
            problems.push(Problem::new(
                "output_compression",
                "Compression applies only to the jpeg and webp output formats.",
            ));
        } else if compression > 100 {
            problems.push(Problem::new(
                "output_compression",
                format!("Compression must be between 0 and 100 (got {compression})."),
            ));
        }
    }
    if let Some(format) = r.response_format.as_deref() {
        if model.results == ResultEncoding::AlwaysBase64 {
            problems.push(unsupported("response_format", model.id));
        } else {
            check_choice(
                problems,
                "response_format",
                Some(format),
                &["url", "b64_json"],
                model.id,
            );
        }
    }
    if r.moderation.is_some() && model.results != ResultEncoding::AlwaysBase64 {
        problems.push(unsupported("moderation", model.id));
    } else {
        check_choice(
            problems,
            "moderation",
            r.moderation.as_deref(),
            &["auto", "low"],
            model.id,
        );
    }
}

fn check_size(model: &Model, size: &str, problems: &mut Vec<Problem>) {
    if model.sizes.contains(&size) {
        return;
    }
    match (model.custom_sizes, Size::parse(size)) {
        (Some(rule), Some(parsed)) => {
            if let Err(reason) = rule.check(parsed) {
                problems.push(Problem::new(
                    "size",
                    format!("Invalid size '{size}' for {}: {reason}", model.id),
                ));
            }
        }
        (Some(_), None) => problems.push(Problem::new(
            "size",
            format!("Invalid value: '{size}'. Use 'auto' or WIDTHxHEIGHT, for example 1536x1024."),
        )),
        (None, _) => problems.push(invalid_value("size", size, model.sizes)),
    }
}

fn check_choice(
    problems: &mut Vec<Problem>,
    param: &'static str,
    value: Option<&str>,
    allowed: &[&str],
    model: &str,
) {
    let Some(value) = value else { return };
    if allowed.is_empty() {
        problems.push(unsupported(param, model));
    } else if !allowed.contains(&value) {
        problems.push(invalid_value(param, value, allowed));
    }
}

fn unsupported(param: &'static str, model: &str) -> Problem {
    Problem::new(
        param,
        format!("{model} does not take the '{param}' parameter."),
    )
}

fn invalid_value(param: &'static str, value: &str, allowed: &[&str]) -> Problem {
    Problem::new(
        param,
        format!(
            "Invalid value: '{value}'. Supported values are: {}.",
            quoted_list(allowed)
        ),
    )
}

/// `'a', 'b', and 'c'`, the API's way of listing choices.
fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    }
}

/// Previews are 0 to 3, and only mean something when streaming.
fn check_partial_images(r: &GenerationRequest, problems: &mut Vec<Problem>) {
    match r.partial_images {
        Some(p) if p > 3 => problems.push(Problem::new(
            "partial_images",
            format!("partial_images must be between 0 and 3 (got {p})."),
        )),
        Some(p) if p > 0 && r.stream != Some(true) => problems.push(Problem::new(
            "partial_images",
            "Previews (partial_images) need streaming (stream: true).",
        )),
        _ => {}
    }
}

/// Models outside the catalog belong to compatible servers: only basic shape is checked.
fn check_custom(r: &GenerationRequest, problems: &mut Vec<Problem>) {
    check_partial_images(r, problems);
    let n = r.image_count();
    if !(1..=16).contains(&n) {
        problems.push(Problem::new(
            "n",
            format!("n must be between 1 and 16 (got {n})."),
        ));
    }
    if let Some(size) = r.size.as_deref()
        && size != "auto"
        && Size::parse(size).is_none()
    {
        problems.push(Problem::new(
            "size",
            format!("Invalid value: '{size}'. Use 'auto' or WIDTHxHEIGHT, for example 1024x1024."),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(model: &str) -> GenerationRequest {
        GenerationRequest::for_model(model, "a lighthouse at dusk")
    }

    fn params(problems: &[Problem]) -> Vec<&'static str> {
        problems.iter().map(|p| p.param).collect()
    }

    #[test]
    fn defaults_of_every_catalog_model_are_valid() {
        for model in catalog::MODELS {
            assert_eq!(validate(&request(model.id)), vec![], "{}", model.id);
        }
    }

    #[test]
    fn streaming_and_previews_follow_the_model() {
        let mut r = request("gpt-image-2");
        r.stream = Some(true);
        r.partial_images = Some(2);
        assert_eq!(validate(&r), vec![]);
        r.partial_images = Some(4);
        assert_eq!(params(&validate(&r)), ["partial_images"]);
        r.partial_images = Some(1);
        r.stream = None;
        assert!(validate(&r)[0].message.contains("need streaming"));
        let mut dalle = request("dall-e-3");
        dalle.stream = Some(true);
        assert_eq!(params(&validate(&dalle)), ["stream"]);
        let mut custom = request("my-server-model");
        custom.partial_images = Some(7);
        assert_eq!(params(&validate_free_form(&custom)), ["partial_images"]);
    }

    #[test]
    fn empty_prompt_is_refused() {
        let mut r = request("gpt-image-2");
        r.prompt = "  \n".into();
        assert_eq!(params(&validate(&r)), ["prompt"]);
        assert_eq!(validate(&r)[0].message, "Write a prompt first.");
    }

    #[test]
    fn prompt_limits_per_model() {
        let mut r = request("dall-e-2");
        r.prompt = "x".repeat(1001);
        let problems = validate(&r);
        assert_eq!(
            problems[0].message,
            "The prompt is 1001 characters long; dall-e-2 accepts at most 1000."
        );
        r.model = "gpt-image-2".into();
        r.size = Some("auto".into());
        r.quality = Some("auto".into());
        r.response_format = None;
        assert_eq!(validate(&r), vec![]);
    }

    #[test]
    fn size_the_model_lacks_uses_the_api_wording() {
        let mut r = request("dall-e-2");
        r.size = Some("1536x1024".into());
        let problems = validate(&r);
        assert_eq!(params(&problems), ["size"]);
        assert_eq!(
            problems[0].message,
            "Invalid value: '1536x1024'. Supported values are: '256x256', '512x512', and '1024x1024'."
        );
    }

    #[test]
    fn custom_sizes_follow_the_rule() {
        let mut r = request("gpt-image-2");
        r.size = Some("1920x1088".into());
        assert_eq!(validate(&r), vec![]);
        r.size = Some("1000x1000".into());
        assert!(validate(&r)[0].message.contains("multiples of 16"));
        r.size = Some("big".into());
        assert!(validate(&r)[0].message.contains("WIDTHxHEIGHT"));
        let mut old = request("gpt-image-1.5");
        old.size = Some("1920x1088".into());
        assert_eq!(params(&validate(&old)), ["size"]);
    }

    #[test]
    fn n_range() {
        let mut r = request("dall-e-3");
        r.n = Some(2);
        assert_eq!(
            validate(&r)[0].message,
            "dall-e-3 makes one image per request (n must be 1)."
        );
        let mut r = request("gpt-image-2");
        r.n = Some(11);
        assert_eq!(
            validate(&r)[0].message,
            "n must be between 1 and 10 for gpt-image-2 (got 11)."
        );
        r.n = Some(0);
        assert_eq!(params(&validate(&r)), ["n"]);
    }

    #[test]
    fn qualities_formats_and_backgrounds() {
        let mut r = request("gpt-image-2");
        r.quality = Some("xhigh".into());
        assert_eq!(params(&validate(&r)), ["quality"]);
        r.model = "gpt-image-2.5-flare".into();
        assert_eq!(validate(&r), vec![]);
        r.output_format = Some("jpeg".into());
        r.background = Some("transparent".into());
        let problems = validate(&r);
        assert_eq!(params(&problems), ["background"]);
        assert!(problems[0].message.contains("png or webp"));
        r.output_format = Some("webp".into());
        r.output_compression = Some(80);
        assert_eq!(validate(&r), vec![]);
        r.output_format = Some("png".into());
        assert_eq!(params(&validate(&r)), ["output_compression"]);
    }

    #[test]
    fn parameters_a_model_does_not_take() {
        let mut r = request("dall-e-2");
        r.output_format = Some("png".into());
        r.style = Some("vivid".into());
        let problems = validate(&r);
        assert_eq!(params(&problems), ["style", "output_format"]);
        assert_eq!(
            problems[0].message,
            "dall-e-2 does not take the 'style' parameter."
        );
        let mut r = request("gpt-image-2");
        r.response_format = Some("url".into());
        assert_eq!(params(&validate(&r)), ["response_format"]);
    }

    #[test]
    fn custom_models_are_free_form() {
        let mut r = request("flux-schnell");
        r.size = Some("777x333".into());
        r.quality = Some("ultra".into());
        assert_eq!(validate(&r), vec![]);
        r.size = Some("huge".into());
        assert_eq!(params(&validate(&r)), ["size"]);
    }

    #[test]
    fn free_form_ignores_the_catalog() {
        let mut r = request("dall-e-2");
        r.size = Some("1536x1024".into());
        assert_eq!(params(&validate(&r)), ["size"]);
        assert_eq!(validate_free_form(&r), vec![]);
        r.prompt.clear();
        assert_eq!(params(&validate_free_form(&r)), ["prompt"]);
    }

    #[test]
    fn lists_read_like_the_api() {
        assert_eq!(quoted_list(&["a"]), "'a'");
        assert_eq!(quoted_list(&["a", "b"]), "'a' and 'b'");
        assert_eq!(quoted_list(&["a", "b", "c"]), "'a', 'b', and 'c'");
    }
}
