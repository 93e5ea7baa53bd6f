//! Checking a request against the catalog before it is sent. The same checks answer invalid
//! requests in the relay's offline generator, so messages follow the API's own wording
//! ("Invalid value: … Supported values are: …") while staying readable.

use crate::api::GenerationRequest;
use crate::catalog::{
    self, GIF_FRAME_MS, GIF_FRAMES, INPUT_FIDELITIES, MODERATIONS, Model, ResultEncoding,
    SVG_EFFORTS,
};
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
    check(request, catalog::find(&request.model), false)
}

/// Only the basic shape, whatever the model is called: for a model the user typed by name,
/// which on their server may differ from OpenAI's model of that name.
pub fn validate_free_form(request: &GenerationRequest) -> Vec<Problem> {
    check(request, None, false)
}

/// The guides an edit carries besides its images, as far as validation cares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EditGuides {
    /// A mask: transparent pixels mark where to paint.
    pub mask: bool,
    /// A `markup` image: strokes drawn over the first image to show what to change.
    pub markup: bool,
}

/// Every problem with an edit request (`/images/edits`) and its guides; empty when it can be
/// sent. Unknown models get the free-form checks, plus the mask/markup rule.
pub fn validate_edit(request: &GenerationRequest, guides: EditGuides) -> Vec<Problem> {
    let model = catalog::find(&request.model);
    let mut problems = check(request, model, true);
    check_edit(request, model, guides, &mut problems);
    problems
}

fn check(request: &GenerationRequest, model: Option<&Model>, edit: bool) -> Vec<Problem> {
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
    if !edit && request.input_fidelity.is_some() {
        problems.push(Problem::new(
            "input_fidelity",
            "input_fidelity applies only to edits.",
        ));
    }
    problems
}

/// `input_fidelity` and `markup` belong to edits; markup and a mask exclude each other.
fn check_edit(
    r: &GenerationRequest,
    model: Option<&Model>,
    guides: EditGuides,
    problems: &mut Vec<Problem>,
) {
    if let Some(model) = model {
        if !model.edits {
            problems.push(Problem::new(
                "model",
                format!("{} does not support image edits.", model.id),
            ));
        }
        if r.input_fidelity.is_some() && !model.input_fidelity {
            problems.push(unsupported("input_fidelity", model.id));
        }
        if guides.markup && !model.markup {
            problems.push(Problem::new(
                "markup",
                format!(
                    "{} takes no markup guide (GPT Image 2.5 and later do).",
                    model.id
                ),
            ));
        }
    }
    check_choice(
        problems,
        "input_fidelity",
        r.input_fidelity.as_deref(),
        INPUT_FIDELITIES,
        &r.model,
    );
    if guides.markup && guides.mask {
        problems.push(Problem::new(
            "markup",
            "A markup guide cannot be combined with a mask: use one or the other.",
        ));
    }
    if guides.mask && r.output_format.as_deref() == Some("gif") {
        problems.push(Problem::new("mask", "An animated GIF edit takes no mask."));
    }
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
        } else if matches!(r.output_format.as_deref(), Some("gif") | Some("svg")) {
            // Said by the gif/svg rules below.
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
    if r.moderation.is_some() && !model.moderation {
        problems.push(unsupported("moderation", model.id));
    } else {
        check_choice(
            problems,
            "moderation",
            r.moderation.as_deref(),
            MODERATIONS,
            model.id,
        );
    }
    check_choice(
        problems,
        "complexity",
        r.complexity.as_deref(),
        model.complexities,
        model.id,
    );
    check_animation_and_vector(r, problems);
}

/// The rules of the `gif` and `svg` output formats, for any model that accepts them: their
/// own parameters only with them, no streaming or compression, one SVG per request.
fn check_animation_and_vector(r: &GenerationRequest, problems: &mut Vec<Problem>) {
    let format = r.output_format.as_deref();
    let (gif, svg) = (format == Some("gif"), format == Some("svg"));
    if gif || svg {
        let name = if gif { "An animated GIF" } else { "An SVG" };
        if r.stream == Some(true) || r.partial_images.is_some_and(|p| p > 0) {
            problems.push(Problem::new(
                "stream",
                format!("{name} cannot be streamed or previewed."),
            ));
        }
        if r.output_compression.is_some() {
            problems.push(Problem::new(
                "output_compression",
                format!("{name} takes no compression."),
            ));
        }
    }
    if svg && r.image_count() != 1 {
        problems.push(Problem::new(
            "n",
            format!(
                "An SVG is made one per request (n must be 1, got {}).",
                r.image_count()
            ),
        ));
    }
    for (param, value) in [
        ("frame_count", r.frame_count.is_some()),
        ("frame_duration_ms", r.frame_duration_ms.is_some()),
    ] {
        if value && !gif {
            problems.push(Problem::new(
                param,
                format!("{param} applies only to the gif output format."),
            ));
        }
    }
    if let Some(frames) = r.frame_count.filter(|f| gif && !GIF_FRAMES.contains(f)) {
        problems.push(Problem::new(
            "frame_count",
            format!(
                "An animated GIF has {} to {} frames (got {frames}).",
                GIF_FRAMES.start(),
                GIF_FRAMES.end()
            ),
        ));
    }
    if let Some(ms) = r
        .frame_duration_ms
        .filter(|ms| gif && !GIF_FRAME_MS.contains(ms))
    {
        problems.push(Problem::new(
            "frame_duration_ms",
            format!(
                "A frame lasts {} to {} ms (got {ms}).",
                GIF_FRAME_MS.start(),
                GIF_FRAME_MS.end()
            ),
        ));
    }
    if let Some(options) = &r.svg {
        if !svg {
            problems.push(Problem::new(
                "svg",
                "SVG options apply only to the svg output format.",
            ));
        }
        if !options.well_formed {
            problems.push(Problem::new(
                "svg",
                "svg must be an object: {\"model\": …, \"reasoning\": {\"effort\": …}}.",
            ));
        }
        if let Some(effort) = options
            .effort
            .as_deref()
            .filter(|e| !SVG_EFFORTS.contains(e))
        {
            problems.push(invalid_value("svg.reasoning.effort", effort, SVG_EFFORTS));
        }
        if options
            .model
            .as_deref()
            .is_some_and(|m| m.trim().is_empty())
        {
            problems.push(Problem::new(
                "svg.model",
                "Name the SVG author model, or leave it out.",
            ));
        }
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
    check_animation_and_vector(r, problems);
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

    /// One row: a model, a change to its default request, and the parameters at fault
    /// (empty: valid).
    type Row = (
        &'static str,
        fn(&mut GenerationRequest),
        &'static [&'static str],
    );

    fn run_table(rows: &[Row]) {
        for (i, (model, change, expected)) in rows.iter().enumerate() {
            let mut r = request(model);
            change(&mut r);
            let problems = validate(&r);
            assert_eq!(
                &params(&problems),
                expected,
                "row {i} ({model}): {problems:?}"
            );
            for p in &problems {
                assert!(
                    p.message.ends_with('.') || p.message.ends_with(')'),
                    "row {i}: {}",
                    p.message
                );
            }
        }
    }

    #[test]
    fn sizes_per_model_and_rule() {
        run_table(&[
            ("gpt-image-2", |r| r.size = Some("2048x1152".into()), &[]),
            ("gpt-image-2", |r| r.size = Some("1008x3024".into()), &[]),
            (
                "gpt-image-2",
                |r| r.size = Some("1000x1008".into()),
                &["size"],
            ),
            (
                "gpt-image-2",
                |r| r.size = Some("3072x1008".into()),
                &["size"],
            ),
            (
                "gpt-image-2",
                |r| r.size = Some("4096x1024".into()),
                &["size"],
            ),
            (
                "gpt-image-2",
                |r| r.size = Some("3840x3840".into()),
                &["size"],
            ),
            (
                "gpt-image-2",
                |r| r.size = Some("512x512".into()),
                &["size"],
            ),
            (
                "gpt-image-2-2026-04-21",
                |r| r.size = Some("1920x1088".into()),
                &[],
            ),
            (
                "gpt-image-2.5-flare",
                |r| r.size = Some("3840x2160".into()),
                &[],
            ),
            (
                "gpt-image-2.6-sunburst",
                |r| r.size = Some("1600x912".into()),
                &[],
            ),
            (
                "gpt-image-2.6-sunburst",
                |r| r.size = Some("1600x900".into()),
                &["size"],
            ),
            ("gpt-image-1.5", |r| r.size = Some("1536x1024".into()), &[]),
            (
                "gpt-image-1.5",
                |r| r.size = Some("2048x2048".into()),
                &["size"],
            ),
            ("gpt-image-1-mini", |r| r.size = Some("auto".into()), &[]),
            ("dall-e-3", |r| r.size = Some("1792x1024".into()), &[]),
            ("dall-e-3", |r| r.size = Some("auto".into()), &["size"]),
            ("dall-e-2", |r| r.size = Some("256x256".into()), &[]),
        ]);
    }

    #[test]
    fn qualities_backgrounds_and_formats_per_model() {
        run_table(&[
            (
                "gpt-image-2.6-flare",
                |r| r.quality = Some("max".into()),
                &[],
            ),
            (
                "gpt-image-2.5-sunburst",
                |r| r.quality = Some("xhigh".into()),
                &[],
            ),
            (
                "gpt-image-2",
                |r| r.quality = Some("max".into()),
                &["quality"],
            ),
            ("dall-e-3", |r| r.quality = Some("hd".into()), &[]),
            (
                "dall-e-3",
                |r| r.quality = Some("high".into()),
                &["quality"],
            ),
            (
                "gpt-image-2",
                |r| r.background = Some("transparent".into()),
                &[],
            ),
            (
                "gpt-image-2",
                |r| {
                    r.background = Some("transparent".into());
                    r.output_format = Some("jpeg".into());
                },
                &["background"],
            ),
            (
                "gpt-image-2.6-flare",
                |r| {
                    r.background = Some("transparent".into());
                    r.output_format = Some("gif".into());
                },
                &["background"],
            ),
            (
                "gpt-image-2.6-flare",
                |r| {
                    r.background = Some("transparent".into());
                    r.output_format = Some("webp".into());
                },
                &[],
            ),
            (
                "dall-e-2",
                |r| r.background = Some("opaque".into()),
                &["background"],
            ),
            (
                "gpt-image-2.5-flare",
                |r| r.output_format = Some("gif".into()),
                &["output_format"],
            ),
            (
                "gpt-image-2.6-flare",
                |r| r.output_format = Some("svg".into()),
                &[],
            ),
            (
                "gpt-image-2.6-flare",
                |r| r.output_format = Some("bmp".into()),
                &["output_format"],
            ),
            (
                "gpt-image-2",
                |r| {
                    r.output_format = Some("jpeg".into());
                    r.output_compression = Some(101);
                },
                &["output_compression"],
            ),
            (
                "gpt-image-2.6-flare",
                |r| r.complexity = Some("low".into()),
                &[],
            ),
            (
                "gpt-image-2.6-flare",
                |r| r.complexity = Some("extreme".into()),
                &["complexity"],
            ),
            (
                "gpt-image-2.5-flare",
                |r| r.complexity = Some("low".into()),
                &["complexity"],
            ),
            ("gpt-image-2", |r| r.moderation = Some("low".into()), &[]),
            (
                "gpt-image-2",
                |r| r.moderation = Some("off".into()),
                &["moderation"],
            ),
            (
                "dall-e-3",
                |r| r.moderation = Some("low".into()),
                &["moderation"],
            ),
            ("dall-e-3", |r| r.style = Some("natural".into()), &[]),
            (
                "gpt-image-2",
                |r| r.style = Some("natural".into()),
                &["style"],
            ),
            (
                "gpt-image-2",
                |r| r.safety_identifier = Some("hash-of-user".into()),
                &[],
            ),
        ]);
    }

    #[test]
    fn gif_and_svg_rules() {
        run_table(&[
            (
                "gpt-image-2.6-flare",
                |r| {
                    r.output_format = Some("gif".into());
                    r.frame_count = Some(16);
                    r.frame_duration_ms = Some(120);
                    r.n = Some(3);
                },
                &[],
            ),
            (
                "gpt-image-2.6-flare",
                |r| {
                    r.output_format = Some("gif".into());
                    r.frame_count = Some(1);
                },
                &["frame_count"],
            ),
            (
                "gpt-image-2.6-flare",
                |r| {
                    r.output_format = Some("gif".into());
                    r.frame_count = Some(17);
                },
                &["frame_count"],
            ),
            (
                "gpt-image-2.6-flare",
                |r| {
                    r.output_format = Some("gif".into());
                    r.frame_duration_ms = Some(5);
                },
                &["frame_duration_ms"],
            ),
            (
                "gpt-image-2.6-flare",
                |r| r.frame_count = Some(4),
                &["frame_count"],
            ),
            (
                "gpt-image-2.6-flare",
                |r| {
                    r.output_format = Some("gif".into());
                    r.stream = Some(true);
                    r.partial_images = Some(1);
                },
                &["stream"],
            ),
            (
                "gpt-image-2.6-flare",
                |r| {
                    r.output_format = Some("gif".into());
                    r.output_compression = Some(50);
                },
                &["output_compression"],
            ),
            (
                "gpt-image-2.6-sunburst",
                |r| {
                    r.output_format = Some("svg".into());
                    r.n = Some(2);
                },
                &["n"],
            ),
            (
                "gpt-image-2.6-sunburst",
                |r| {
                    r.output_format = Some("svg".into());
                    r.set_svg_author(Some("gpt-5"), Some("high"));
                },
                &[],
            ),
            (
                "gpt-image-2.6-sunburst",
                |r| {
                    r.output_format = Some("svg".into());
                    r.set_svg_author(None, Some("ultra"));
                },
                &["svg.reasoning.effort"],
            ),
            (
                "gpt-image-2.6-sunburst",
                |r| r.set_svg_author(Some("gpt-5"), None),
                &["svg"],
            ),
            (
                "gpt-image-2.6-sunburst",
                |r| {
                    r.output_format = Some("svg".into());
                    r.stream = Some(true);
                },
                &["stream"],
            ),
        ]);
        let mut custom = request("my-server-model");
        custom.output_format = Some("svg".into());
        custom.n = Some(4);
        assert_eq!(params(&validate_free_form(&custom)), ["n"]);
    }

    #[test]
    fn n_bounds_per_model() {
        run_table(&[
            ("gpt-image-2", |r| r.n = Some(10), &[]),
            ("gpt-image-2.6-flare", |r| r.n = Some(10), &[]),
            ("gpt-image-2.6-flare", |r| r.n = Some(11), &["n"]),
            ("dall-e-2", |r| r.n = Some(10), &[]),
            ("dall-e-3", |r| r.n = Some(1), &[]),
            ("dall-e-3", |r| r.n = Some(2), &["n"]),
            ("gpt-image-1-mini", |r| r.n = Some(0), &["n"]),
        ]);
    }

    #[test]
    fn prompt_length_per_model() {
        for model in catalog::MODELS {
            let mut r = request(model.id);
            r.prompt = "é".repeat(model.prompt_max_chars);
            assert_eq!(validate(&r), vec![], "{} at its limit", model.id);
            r.prompt.push('x');
            assert_eq!(
                params(&validate(&r)),
                ["prompt"],
                "{} past its limit",
                model.id
            );
        }
    }

    #[test]
    fn edit_options_and_guides() {
        let guides = |mask, markup| EditGuides { mask, markup };
        let mut r = request("gpt-image-2.5-sunburst");
        assert_eq!(validate_edit(&r, guides(false, true)), vec![]);
        assert_eq!(params(&validate_edit(&r, guides(true, true))), ["markup"]);
        r.input_fidelity = Some("high".into());
        assert_eq!(validate_edit(&r, guides(true, false)), vec![]);
        assert_eq!(
            params(&validate(&r)),
            ["input_fidelity"],
            "generations take no input_fidelity"
        );
        r.input_fidelity = Some("exact".into());
        assert_eq!(
            params(&validate_edit(&r, guides(false, false))),
            ["input_fidelity"]
        );
        let mut mini = request("gpt-image-1-mini");
        mini.input_fidelity = Some("high".into());
        assert_eq!(
            params(&validate_edit(&mini, guides(false, false))),
            ["input_fidelity"]
        );
        let gpt2 = request("gpt-image-2");
        assert_eq!(
            params(&validate_edit(&gpt2, guides(false, true))),
            ["markup"]
        );
        assert_eq!(
            params(&validate_edit(&request("dall-e-3"), guides(false, false))),
            ["model"]
        );
        let mut gif = request("gpt-image-2.6-flare");
        gif.output_format = Some("gif".into());
        assert_eq!(params(&validate_edit(&gif, guides(true, false))), ["mask"]);
        let custom = request("my-server-model");
        assert_eq!(
            params(&validate_edit(&custom, guides(true, true))),
            ["markup"]
        );
    }

    #[test]
    fn lists_read_like_the_api() {
        assert_eq!(quoted_list(&["a"]), "'a'");
        assert_eq!(quoted_list(&["a", "b"]), "'a' and 'b'");
        assert_eq!(quoted_list(&["a", "b", "c"]), "'a', 'b', and 'c'");
    }
}
