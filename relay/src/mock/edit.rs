//! Edits and variations that really change the picture. An edit paints the prompt's picture
//! where the mask is fully transparent and leaves every other pixel of the first image exactly
//! as it was; without a mask, the image's own transparent pixels are the mask, and an image
//! with none is repainted as a whole (blended, so it stays recognisable). Further images are
//! references: their average colour tints the painted area. A `markup` guide (GPT Image 2.5
//! and later, never with a mask) marks the area to repaint with its non-transparent pixels.
//! Variations (dall-e-2) overlay a
//! picture seeded by the image's bytes, so each variation differs and stays like the original.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use easel_core::catalog::{self, ResultEncoding};
use easel_core::{EditGuides, GenerationRequest, Problem, Size, validate, validate_edit};
use image::RgbaImage;
use image::imageops::FilterType;
use serde_json::{Map, Value};

use super::{
    MAX_EDGE, MAX_PIXELS, Plan, blocking, deliver, draw, images_response, plan_size, stream, usage,
};
use crate::inspect::{Form, Incoming};
use crate::{AppError, AppState};

/// The API takes at most 16 images in one edit.
const MAX_IMAGES: usize = 16;
/// dall-e-2's limit for its one square PNG.
const DALL_E_2_MAX_BYTES: usize = 4 * 1024 * 1024;

/// The fields of an edit or variation, whichever form it came in.
struct Inputs {
    request: GenerationRequest,
    images: Vec<Bytes>,
    mask: Option<Bytes>,
    markup: Option<Bytes>,
}

pub(super) async fn edit(state: &AppState, incoming: &Incoming) -> Result<Response, AppError> {
    let Inputs {
        mut request,
        images,
        mask,
        markup,
    } = inputs(&incoming.form, "gpt-image-1.5")?;
    if catalog::find(&request.model)
        .is_some_and(|m| m.results == ResultEncoding::UrlOrBase64 && m.id != "dall-e-2")
    {
        return Err(invalid(
            "model",
            format!("{} does not support image edits.", request.model),
        ));
    }
    let guides = EditGuides {
        mask: mask.is_some(),
        markup: markup.is_some(),
    };
    check(validate_edit(&request, guides))?;
    if images.len() > MAX_IMAGES {
        return Err(invalid(
            "image",
            format!("At most {MAX_IMAGES} images may be edited at once."),
        ));
    }
    if request.model == "dall-e-2" {
        check_dall_e_2_image(&images)?;
    }
    let mut decoded = Vec::with_capacity(images.len());
    for (index, bytes) in images.iter().enumerate() {
        decoded.push(decode(bytes, "image", index)?);
    }
    let first = decoded.remove(0);
    let original = Size {
        width: first.width(),
        height: first.height(),
    };
    let mask = match (mask, markup) {
        (Some(bytes), _) => Some(decode_mask(&bytes, original)?),
        // Marked pixels are the ones to repaint: as a mask, they are the transparent ones.
        (None, Some(bytes)) => Some(markup_as_mask(decode_markup(&bytes, original)?)),
        (None, None) => None,
    };
    if request.size.as_deref() == Some("auto") {
        request.size = None;
    }
    let plan = Plan::with_default_size(&request, original)?;
    let size = plan_size(&plan);
    let tint = average_colour(&decoded);
    let canvas = Arc::new(Canvas {
        base: resized(first, size),
        mask: mask.map(|m| resized(m, size)),
        tint,
    });

    let prompt = request.prompt.clone();
    let spec = plan.spec;
    if let Some(partials) = stream::requested(&request.model, &incoming.form)? {
        let job = stream::Job {
            kind: "image_edit",
            count: request.image_count(),
            partials,
            latency: state.config.generator_latency,
            usage: usage(&prompt, size, plan.quality(), 1),
            plan,
            render: Arc::new(move |index| canvas.render(&prompt, index, partials, &spec)),
        };
        return Ok(stream::respond(job));
    }
    tokio::time::sleep(state.config.generator_latency).await;
    let mut data = Vec::new();
    for index in 0..request.image_count() {
        let (canvas, prompt) = (Arc::clone(&canvas), prompt.clone());
        let (_, bytes) = blocking(move || canvas.render(&prompt, index, 0, &spec)).await?;
        data.push(deliver(state, &incoming.origin, &plan, bytes));
    }
    let usage = plan
        .gpt_quality
        .map(|quality| usage(&prompt, size, quality, request.image_count()));
    Ok(Json(images_response(&plan, data, usage)).into_response())
}

pub(super) async fn variations(
    state: &AppState,
    incoming: &Incoming,
) -> Result<Response, AppError> {
    let Inputs {
        mut request,
        images,
        ..
    } = inputs(&incoming.form, "dall-e-2")?;
    if catalog::find(&request.model).is_some_and(|m| m.id != "dall-e-2") {
        return Err(invalid(
            "model",
            format!(
                "{} does not support variations; only dall-e-2 does.",
                request.model
            ),
        ));
    }
    // Variations have no prompt; validation still checks n, size and response_format.
    request.prompt = "variation".into();
    check(validate(&request))?;
    if request.model == "dall-e-2" {
        check_dall_e_2_image(&images)?;
    }
    let seed = format!("variation {:016x}", fnv(&images[0]));
    let source = decode(&images[0], "image", 0)?;
    let plan = Plan::new(&request)?;
    let size = plan_size(&plan);
    let base = Arc::new(resized(source, size));
    tokio::time::sleep(state.config.generator_latency).await;
    let mut data = Vec::new();
    for index in 0..request.image_count() {
        let (base, seed, spec) = (Arc::clone(&base), seed.clone(), plan.spec);
        let bytes = blocking(move || {
            let paint = draw::paint_rgba(&seed, index, size.width, size.height);
            let mut pixels = base.as_raw().clone();
            for (pixel, painted) in pixels.chunks_exact_mut(4).zip(paint.chunks_exact(4)) {
                for c in 0..3 {
                    pixel[c] = blend(pixel[c], painted[c], 100);
                }
            }
            draw::encode_rgba(pixels, size.width, size.height, &spec)
        })
        .await?;
        data.push(deliver(state, &incoming.origin, &plan, bytes));
    }
    Ok(Json(images_response(&plan, data, None)).into_response())
}

/// The first image, its mask and the references' tint, at the output size.
struct Canvas {
    base: RgbaImage,
    mask: Option<RgbaImage>,
    tint: Option<[u8; 3]>,
}

impl Canvas {
    /// Picture `index` of the edit, with `partials` coarse previews before it.
    fn render(
        &self,
        prompt: &str,
        index: u32,
        partials: u32,
        spec: &draw::Spec,
    ) -> image::ImageResult<(Vec<Vec<u8>>, Vec<u8>)> {
        let (width, height) = self.base.dimensions();
        let mut paint = draw::paint_rgba(prompt, index, width, height);
        if let Some(tint) = self.tint {
            for pixel in paint.chunks_exact_mut(4) {
                for c in 0..3 {
                    pixel[c] = blend(pixel[c], tint[c], 80);
                }
            }
        }
        let previews = (0..partials)
            .map(|step| {
                let block = 8usize << (partials - 1 - step);
                let coarse = draw::pixelate_rgba(paint.clone(), width, height, block);
                draw::encode_rgba(self.compose(&coarse), width, height, spec)
            })
            .collect::<image::ImageResult<Vec<_>>>()?;
        let finished = draw::encode_rgba(self.compose(&paint), width, height, spec)?;
        Ok((previews, finished))
    }

    /// The base image with `paint` where the edit may change it.
    fn compose(&self, paint: &[u8]) -> Vec<u8> {
        let mut out = self.base.as_raw().clone();
        let base_has_holes = self.base.pixels().any(|p| p[3] == 0);
        for (i, (pixel, painted)) in out
            .chunks_exact_mut(4)
            .zip(paint.chunks_exact(4))
            .enumerate()
        {
            let editable = match &self.mask {
                Some(mask) => mask.as_raw()[i * 4 + 3] == 0,
                None if base_has_holes => pixel[3] == 0,
                None => {
                    // Nothing marked: the whole picture is reworked, keeping its outline.
                    for c in 0..3 {
                        pixel[c] = blend(pixel[c], painted[c], 128);
                    }
                    continue;
                }
            };
            if editable {
                pixel.copy_from_slice(painted);
            }
        }
        out
    }
}

/// `a` moved towards `b` by `weight`/255.
fn blend(a: u8, b: u8, weight: u32) -> u8 {
    ((u32::from(a) * (255 - weight) + u32::from(b) * weight) / 255) as u8
}

fn resized(image: RgbaImage, size: Size) -> RgbaImage {
    if image.dimensions() == (size.width, size.height) {
        image
    } else {
        image::imageops::resize(&image, size.width, size.height, FilterType::Triangle)
    }
}

fn average_colour(images: &[RgbaImage]) -> Option<[u8; 3]> {
    let mut sum = [0u64; 3];
    let mut count = 0u64;
    for image in images {
        for pixel in image.pixels() {
            for c in 0..3 {
                sum[c] += u64::from(pixel[c]);
            }
            count += 1;
        }
    }
    (count > 0).then(|| sum.map(|s| (s / count) as u8))
}

fn decode(bytes: &[u8], param: &str, index: usize) -> Result<RgbaImage, AppError> {
    let image = image::load_from_memory(bytes).map_err(|_| {
        invalid(
            param,
            format!(
                "Invalid image file or mode for image {}, please check your image file.",
                index + 1
            ),
        )
    })?;
    let (w, h) = (image.width(), image.height());
    if w > MAX_EDGE || h > MAX_EDGE || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(invalid(
            param,
            format!(
                "Image {} is too large for the offline generator ({w}x{h}).",
                index + 1
            ),
        ));
    }
    Ok(image.to_rgba8())
}

fn decode_mask(bytes: &[u8], image: Size) -> Result<RgbaImage, AppError> {
    let mask = image::load_from_memory(bytes)
        .map_err(|_| invalid("mask", "Invalid mask image file; it must be a PNG."))?;
    if !mask.color().has_alpha() {
        return Err(invalid(
            "mask",
            "Invalid mask image: it needs an alpha channel; transparent areas are edited.",
        ));
    }
    if (mask.width(), mask.height()) != (image.width, image.height) {
        return Err(invalid(
            "mask",
            format!(
                "Invalid mask image format - mask size ({}x{}) does not match image size ({image}).",
                mask.width(),
                mask.height()
            ),
        ));
    }
    Ok(mask.to_rgba8())
}

fn decode_markup(bytes: &[u8], image: Size) -> Result<RgbaImage, AppError> {
    let markup = image::load_from_memory(bytes)
        .map_err(|_| invalid("markup", "Invalid markup image file; it must be a PNG."))?;
    if !markup.color().has_alpha() {
        return Err(invalid(
            "markup",
            "Invalid markup image: it needs an alpha channel; draw the marks on a transparent image.",
        ));
    }
    if (markup.width(), markup.height()) != (image.width, image.height) {
        return Err(invalid(
            "markup",
            format!(
                "Invalid markup image - markup size ({}x{}) does not match image size ({image}).",
                markup.width(),
                markup.height()
            ),
        ));
    }
    let markup = markup.to_rgba8();
    if !markup.pixels().any(|p| p[3] == 0) {
        return Err(invalid(
            "markup",
            "Invalid markup image: it must contain transparent pixels.",
        ));
    }
    Ok(markup)
}

/// A markup's marks as a mask: marked (opaque) pixels become transparent, the rest opaque.
fn markup_as_mask(mut markup: RgbaImage) -> RgbaImage {
    for pixel in markup.pixels_mut() {
        pixel.0 = if pixel[3] > 0 {
            [0, 0, 0, 0]
        } else {
            [0, 0, 0, 255]
        };
    }
    markup
}

fn check_dall_e_2_image(images: &[Bytes]) -> Result<(), AppError> {
    let [image] = images else {
        return Err(invalid("image", "dall-e-2 takes exactly one image."));
    };
    if image.len() >= DALL_E_2_MAX_BYTES || !image.starts_with(b"\x89PNG") {
        return Err(invalid(
            "image",
            "Uploaded image must be a PNG and less than 4 MB.",
        ));
    }
    let size = image::load_from_memory(image)
        .map(|i| (i.width(), i.height()))
        .map_err(|_| invalid("image", "Uploaded image must be a valid PNG."))?;
    if size.0 != size.1 {
        return Err(invalid("image", "Uploaded image must be square."));
    }
    Ok(())
}

/// The first problem validation found, as the API's 400.
fn check(problems: Vec<Problem>) -> Result<(), AppError> {
    match problems.into_iter().next() {
        Some(problem) => Err(AppError::InvalidRequest {
            message: problem.message,
            param: Some(problem.param.to_owned()),
            code: "invalid_value",
        }),
        None => Ok(()),
    }
}

/// Text fields as a request, and the image files, from a multipart form or a JSON body.
fn inputs(form: &Form, default_model: &str) -> Result<Inputs, AppError> {
    let (fields, images, mask, markup) = match form {
        Form::Multipart(parts) => {
            let mut fields = Map::new();
            let (mut images, mut mask, mut markup) = (Vec::new(), None, None);
            for part in parts {
                match part.name.as_str() {
                    "image" | "image[]" => images.push(part.data.clone()),
                    "mask" => mask = Some(part.data.clone()),
                    "markup" => markup = Some(part.data.clone()),
                    name => {
                        let text = part.text().unwrap_or_default();
                        let value = match name {
                            "n" | "output_compression" | "partial_images" => {
                                text.parse::<u64>().map(Value::from).map_err(|_| {
                                    invalid(
                                        name,
                                        format!("Invalid type for '{name}': expected an integer."),
                                    )
                                })?
                            }
                            "stream" => Value::from(text == "true"),
                            _ => Value::from(text),
                        };
                        fields.insert(name.to_owned(), value);
                    }
                }
            }
            (fields, images, mask, markup)
        }
        Form::Json(object) => {
            let mut fields = object.clone();
            let images = match fields.remove("images") {
                Some(Value::Array(items)) => {
                    items.iter().map(reference).collect::<Result<Vec<_>, _>>()?
                }
                _ => {
                    return Err(AppError::InvalidRequest {
                        message: "Missing required parameter: 'images'.".into(),
                        param: Some("images".into()),
                        code: "missing_required_parameter",
                    });
                }
            };
            let mask = fields.remove("mask").as_ref().map(reference).transpose()?;
            let markup = fields
                .remove("markup")
                .as_ref()
                .map(reference)
                .transpose()?;
            (fields, images, mask, markup)
        }
        // `inspect::read` keeps the object whenever the generator answers.
        Form::Forwarded => {
            return Err(AppError::Internal(
                "a forwarded form reached the generator".into(),
            ));
        }
    };
    if images.is_empty() {
        return Err(invalid("image", "Missing required parameter: 'image'."));
    }
    let mut fields = fields;
    fields.entry("prompt").or_insert(Value::from(""));
    let mut request: GenerationRequest =
        serde_json::from_value(Value::Object(fields)).map_err(|error| AppError::InvalidJson {
            detail: Some(error.to_string()),
        })?;
    if request.model.is_empty() {
        request.model = default_model.to_owned();
    }
    Ok(Inputs {
        request,
        images,
        mask,
        markup,
    })
}

/// A JSON edit's `{"image_url": "data:…;base64,…"}`. The generator never fetches URLs or files:
/// that would let a request make the relay call anywhere.
fn reference(value: &Value) -> Result<Bytes, AppError> {
    let url = value.get("image_url").and_then(Value::as_str).ok_or_else(|| {
        invalid(
            "images",
            "The offline generator takes images as {\"image_url\": \"data:image/png;base64,…\"}.",
        )
    })?;
    let data = url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"))
        .map(|(_, data)| data)
        .ok_or_else(|| invalid("images", "Only base64 data URLs are accepted offline."))?;
    STANDARD
        .decode(data)
        .map(Bytes::from)
        .map_err(|_| invalid("images", "The image data URL is not valid base64."))
}

fn invalid(param: &str, message: impl Into<String>) -> AppError {
    AppError::InvalidRequest {
        message: message.into(),
        param: Some(param.to_owned()),
        code: "invalid_value",
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
