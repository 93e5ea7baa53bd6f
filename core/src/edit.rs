//! Edits and variations: what each model takes as input, the checks of chosen files before
//! anything is sent, the multipart fields of the request, and the mask a person paints
//! (strokes rasterised here, with undo and redo), so that all of it is tested natively.
//!
//! The browser only draws: it shows [`MaskEditor::overlay_rgba`] and encodes
//! [`MaskEditor::layer_rgba`] as the PNG that is sent: a mask (transparent where the image may
//! change) or, for models that take one, a `markup` guide (the strokes themselves, drawn over a
//! transparent sheet, showing what to change).

use crate::api::GenerationRequest;
use crate::catalog;
use crate::decimal;
use crate::files::ImageFormat;
use crate::size::Size;

/// The API takes at most this many images in one edit (GPT image models).
pub const MAX_EDIT_IMAGES: usize = 16;
/// dall-e-2's image, and every mask: "a PNG less than 4 MB".
pub const SMALL_PNG_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// GPT image models: each image under 50 MB.
pub const GPT_IMAGE_MAX_BYTES: u64 = 50 * 1024 * 1024;

/// What a model accepts as the images of an edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EditLimits {
    pub max_images: usize,
    /// dall-e-2: one square PNG.
    pub square_png_only: bool,
    /// Each file must be smaller than this.
    pub max_bytes: u64,
}

/// The edit inputs `model` takes; `None` when it makes no edits. Models outside the catalog
/// (compatible servers) get the GPT image rules: their server has the last word.
pub fn edit_limits(model: &str) -> Option<EditLimits> {
    match model {
        "dall-e-3" => None,
        "dall-e-2" => Some(EditLimits {
            max_images: 1,
            square_png_only: true,
            max_bytes: SMALL_PNG_MAX_BYTES,
        }),
        _ => Some(EditLimits {
            max_images: MAX_EDIT_IMAGES,
            square_png_only: false,
            max_bytes: GPT_IMAGE_MAX_BYTES,
        }),
    }
}

/// Whether `model` makes variations: dall-e-2 only, or any model the catalog does not know.
pub fn makes_variations(model: &str) -> bool {
    model == "dall-e-2" || catalog::find(model).is_none()
}

/// The catalog models that can edit, in the catalog's order.
pub fn editing_models() -> impl Iterator<Item = &'static catalog::Model> {
    catalog::MODELS
        .iter()
        .filter(|m| edit_limits(m.id).is_some())
}

/// What is known about a chosen file before it is sent: its sniffed format, its pixel size
/// (from its header) and its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputImage {
    pub format: Option<ImageFormat>,
    pub size: Option<Size>,
    pub bytes: u64,
}

impl InputImage {
    /// Reads the format and size from a file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> InputImage {
        InputImage {
            format: ImageFormat::sniff(bytes),
            size: crate::files::dimensions(bytes).map(|(width, height)| Size { width, height }),
            bytes: bytes.len() as u64,
        }
    }
}

/// Why an edit or variation cannot be sent as chosen, in words for the person choosing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("Choose an image to start from.")]
    NoImage,
    #[error("{model} does not edit images: pick a GPT image model or dall-e-2.")]
    ModelCannotEdit { model: String },
    #[error(
        "{model} does not make variations: only dall-e-2 does, on servers that still offer it."
    )]
    ModelCannotVary { model: String },
    #[error("{model} takes at most {max} image{plural} at once; {given} are chosen.", plural = if *max == 1 { "" } else { "s" })]
    TooManyImages {
        model: String,
        max: usize,
        given: usize,
    },
    #[error("Image {index} is not a PNG, JPEG or WebP picture.")]
    NotAnImage { index: usize },
    #[error("{model} takes a PNG only; image {index} is a {found} file.")]
    NotPng {
        model: String,
        index: usize,
        found: &'static str,
    },
    #[error("{model} takes a square image; image {index} is {size}.")]
    NotSquare {
        model: String,
        index: usize,
        size: Size,
    },
    #[error("Image {index} is {size}; {model} takes files under {limit}.")]
    TooBig {
        model: String,
        index: usize,
        size: String,
        limit: String,
    },
    #[error("The mask is {mask} but the first image is {image}: they must be the same size.")]
    MaskSizeMismatch { mask: Size, image: Size },
    #[error("The mask is {size}; it must be a PNG under 4 MB.")]
    MaskTooBig { size: String },
    #[error("The mask must be a PNG (transparent where the image may change).")]
    MaskNotPng,
    #[error("The markup is {markup} but the first image is {image}: they must be the same size.")]
    MarkupSizeMismatch { markup: Size, image: Size },
    #[error("The markup is {size}; it must be a PNG under 4 MB.")]
    MarkupTooBig { size: String },
    #[error("The markup must be a PNG of marks on a transparent sheet.")]
    MarkupNotPng,
    #[error(
        "The markup covers the whole image: it must leave the picture visible (transparent) around the marks."
    )]
    MarkupCoversAll,
    #[error("Describe the edit: the prompt is empty.")]
    EmptyPrompt,
}

fn megabytes(bytes: u64) -> String {
    format!("{} MB", decimal::fixed(bytes as f64 / (1024.0 * 1024.0), 1))
}

/// What the painted layer over the first image is sent as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Guide {
    /// `mask`: transparent where the image may change, opaque elsewhere.
    #[default]
    Mask,
    /// `markup`: the marks themselves on a transparent sheet, showing what to change (GPT
    /// Image 2.5 and later; never together with a mask).
    Markup,
}

impl Guide {
    /// The multipart field (and the `validate_edit` parameter) it is sent as.
    pub fn field(self) -> &'static str {
        match self {
            Guide::Mask => "mask",
            Guide::Markup => "markup",
        }
    }
}

/// The painted layer of an edit as it will be sent: what it is, and the encoded PNG's facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layer {
    pub guide: Guide,
    pub image: InputImage,
    /// Whether some of it is transparent (a markup must leave the picture visible).
    pub has_transparency: bool,
}

/// Checks the images (and mask or markup) of an edit for `model` before anything is sent.
pub fn check_edit(
    model: &str,
    prompt: &str,
    images: &[InputImage],
    layer: Option<&Layer>,
) -> Result<(), EditError> {
    let limits = edit_limits(model).ok_or_else(|| EditError::ModelCannotEdit {
        model: model.to_owned(),
    })?;
    let first = check_images(model, limits, images)?;
    if prompt.trim().is_empty() {
        return Err(EditError::EmptyPrompt);
    }
    let Some(layer) = layer else {
        return Ok(());
    };
    let png = layer.image.format == Some(ImageFormat::Png);
    let small = layer.image.bytes < SMALL_PNG_MAX_BYTES;
    let mismatch = match (layer.image.size, first.size) {
        (Some(size), Some(image)) if size != image => Some((size, image)),
        _ => None,
    };
    let size = megabytes(layer.image.bytes);
    match layer.guide {
        Guide::Mask if !png => Err(EditError::MaskNotPng),
        Guide::Mask if !small => Err(EditError::MaskTooBig { size }),
        Guide::Mask => match mismatch {
            Some((mask, image)) => Err(EditError::MaskSizeMismatch { mask, image }),
            None => Ok(()),
        },
        Guide::Markup if !png => Err(EditError::MarkupNotPng),
        Guide::Markup if !small => Err(EditError::MarkupTooBig { size }),
        Guide::Markup => match mismatch {
            Some((markup, image)) => Err(EditError::MarkupSizeMismatch { markup, image }),
            None if !layer.has_transparency => Err(EditError::MarkupCoversAll),
            None => Ok(()),
        },
    }
}

/// Checks the source image of a variation for `model` (exactly one).
pub fn check_variation(model: &str, images: &[InputImage]) -> Result<(), EditError> {
    if !makes_variations(model) {
        return Err(EditError::ModelCannotVary {
            model: model.to_owned(),
        });
    }
    let limits = EditLimits {
        max_images: 1,
        square_png_only: model == "dall-e-2",
        max_bytes: SMALL_PNG_MAX_BYTES,
    };
    check_images(model, limits, images).map(|_| ())
}

fn check_images(
    model: &str,
    limits: EditLimits,
    images: &[InputImage],
) -> Result<InputImage, EditError> {
    let first = *images.first().ok_or(EditError::NoImage)?;
    if images.len() > limits.max_images {
        return Err(EditError::TooManyImages {
            model: model.to_owned(),
            max: limits.max_images,
            given: images.len(),
        });
    }
    for (i, image) in images.iter().enumerate() {
        let index = i + 1;
        let format = match image.format {
            Some(format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Webp)) => format,
            _ => return Err(EditError::NotAnImage { index }),
        };
        if limits.square_png_only {
            if format != ImageFormat::Png {
                return Err(EditError::NotPng {
                    model: model.to_owned(),
                    index,
                    found: format.extension(),
                });
            }
            if let Some(size) = image.size.filter(|s| s.width != s.height) {
                return Err(EditError::NotSquare {
                    model: model.to_owned(),
                    index,
                    size,
                });
            }
        }
        if image.bytes >= limits.max_bytes {
            return Err(EditError::TooBig {
                model: model.to_owned(),
                index,
                size: megabytes(image.bytes),
                limit: megabytes(limits.max_bytes),
            });
        }
    }
    Ok(first)
}

/// The size an edit asks for by default: GPT image models keep the first image's size
/// (`auto`); dall-e-2 answers in one of its sizes, the source's own when it is one.
pub fn default_edit_size(model: &str, first: Option<Size>) -> String {
    match catalog::find(model) {
        Some(entry) if !entry.sizes.contains(&"auto") => first
            .map(|s| s.to_string())
            .filter(|s| entry.sizes.contains(&s.as_str()))
            // The API's default for multipart edits, when the model has it.
            .unwrap_or_else(|| {
                let api_default = "1024x1024";
                match entry.sizes.contains(&api_default) {
                    true => api_default.to_owned(),
                    false => entry.default_size().to_owned(),
                }
            }),
        _ => "auto".to_owned(),
    }
}

/// One part of a multipart edit or variation body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartValue {
    Text(String),
    /// The chosen image at this position (0 is the first).
    Image(usize),
    /// The painted layer's PNG: the mask or the markup (the part's name says which).
    Layer,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub name: &'static str,
    pub value: PartValue,
}

fn text(name: &'static str, value: impl ToString) -> Part {
    Part {
        name,
        value: PartValue::Text(value.to_string()),
    }
}

/// The parts of `POST /images/edits`: the images as `image[]` (how the official examples and
/// SDKs send an array; dall-e-2's single image as `image`), the mask or markup, then every
/// parameter that is set. `moderation` and `style` are not edit fields.
pub fn edit_parts(request: &GenerationRequest, images: usize, layer: Option<Guide>) -> Vec<Part> {
    let image_name = if request.model == "dall-e-2" {
        "image"
    } else {
        "image[]"
    };
    let mut parts: Vec<Part> = (0..images)
        .map(|i| Part {
            name: image_name,
            value: PartValue::Image(i),
        })
        .collect();
    if let Some(guide) = layer {
        parts.push(Part {
            name: guide.field(),
            value: PartValue::Layer,
        });
    }
    parts.push(text("prompt", &request.prompt));
    parts.push(text("model", &request.model));
    let r = request;
    if let Some(n) = r.n {
        parts.push(text("n", n));
    }
    for (name, value) in [
        ("size", &r.size),
        ("quality", &r.quality),
        ("output_format", &r.output_format),
        ("background", &r.background),
        ("response_format", &r.response_format),
        ("input_fidelity", &r.input_fidelity),
    ] {
        if let Some(value) = value {
            parts.push(text(name, value));
        }
    }
    if let Some(c) = r.output_compression {
        parts.push(text("output_compression", c));
    }
    if r.stream == Some(true) {
        parts.push(text("stream", "true"));
        if let Some(p) = r.partial_images {
            parts.push(text("partial_images", p));
        }
    }
    parts
}

/// The parts of `POST /images/variations`: the image, `model`, `n`, `size` and
/// `response_format`. A variation has no prompt.
pub fn variation_parts(request: &GenerationRequest) -> Vec<Part> {
    let mut parts = vec![
        Part {
            name: "image",
            value: PartValue::Image(0),
        },
        text("model", &request.model),
    ];
    if let Some(n) = request.n {
        parts.push(text("n", n));
    }
    for (name, value) in [
        ("size", &request.size),
        ("response_format", &request.response_format),
    ] {
        if let Some(value) = value {
            parts.push(text(name, value));
        }
    }
    parts
}

/// A point in the image's pixels (not the screen's).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// Where a pointer at (`x`, `y`) CSS pixels inside an image shown `shown_width` ×
/// `shown_height` CSS pixels lands on the image itself.
pub fn to_image_point(x: f64, y: f64, shown_width: f64, shown_height: f64, image: Size) -> Point {
    let sx = f64::from(image.width) / shown_width.max(1.0);
    let sy = f64::from(image.height) / shown_height.max(1.0);
    Point {
        x: (x * sx) as f32,
        y: (y * sy) as f32,
    }
}

/// A brush `css_radius` CSS pixels wide on screen, in the image's pixels.
pub fn brush_radius_in_image(css_radius: f64, shown_width: f64, image: Size) -> f32 {
    (css_radius * f64::from(image.width) / shown_width.max(1.0)).max(0.5) as f32
}

/// A rectangle of image pixels (what changed and must be redrawn).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    fn union(self, other: Rect) -> Rect {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        let right = (self.x + self.width).max(other.x + other.width);
        let bottom = (self.y + self.height).max(other.y + other.height);
        Rect {
            x,
            y,
            width: right - x,
            height: bottom - y,
        }
    }
}

/// One undoable change of the mask.
#[derive(Clone, Debug, PartialEq)]
pub enum MaskOp {
    /// Marks (or with `erase`, unmarks) every pixel within `radius` of the polyline.
    Stroke {
        points: Vec<Point>,
        radius: f32,
        erase: bool,
    },
    /// Marked becomes unmarked and the other way round.
    Invert,
    /// Nothing marked.
    Clear,
}

/// The colour of markup marks: an opaque red, as a person would mark up a print.
pub const MARKUP_INK: [u8; 4] = [255, 45, 85, 255];

/// How many changes can be undone; older ones are folded into the base.
pub const UNDO_DEPTH: usize = 100;

/// The mask being painted over the first image: which pixels may change ("marked"), the
/// history of changes for undo and redo. Undo replays the history from the base, so the
/// history costs a few bytes per stroke rather than a copy of the mask per step.
#[derive(Clone, Debug)]
pub struct MaskEditor {
    size: Size,
    /// 1 where the edit may change the image.
    marked: Vec<u8>,
    /// The mask before the oldest change still in `ops`.
    base: Vec<u8>,
    ops: Vec<MaskOp>,
    undone: Vec<MaskOp>,
    /// A stroke is being drawn: it is the last op and grows.
    stroking: bool,
}

impl MaskEditor {
    pub fn new(size: Size) -> MaskEditor {
        let len = size.pixels() as usize;
        MaskEditor {
            size,
            marked: vec![0; len],
            base: vec![0; len],
            ops: Vec::new(),
            undone: Vec::new(),
            stroking: false,
        }
    }

    pub fn size(&self) -> Size {
        self.size
    }

    fn whole(&self) -> Rect {
        Rect {
            x: 0,
            y: 0,
            width: self.size.width,
            height: self.size.height,
        }
    }

    pub fn is_marked(&self, x: u32, y: u32) -> bool {
        x < self.size.width
            && y < self.size.height
            && self.marked[(y * self.size.width + x) as usize] == 1
    }

    pub fn marked_count(&self) -> usize {
        self.marked.iter().filter(|&&m| m == 1).count()
    }

    pub fn can_undo(&self) -> bool {
        !self.ops.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.undone.is_empty()
    }

    /// Starts a stroke with a dot at `at`; returns the pixels that changed (if any are inside).
    pub fn begin_stroke(&mut self, at: Point, radius: f32, erase: bool) -> Option<Rect> {
        self.end_stroke();
        self.push(MaskOp::Stroke {
            points: vec![at],
            radius,
            erase,
        });
        self.stroking = true;
        let value = u8::from(!erase);
        paint_segment(&mut self.marked, self.size, at, at, radius, value)
    }

    /// Continues the current stroke to `to`.
    pub fn extend_stroke(&mut self, to: Point) -> Option<Rect> {
        if !self.stroking {
            return None;
        }
        let Some(MaskOp::Stroke {
            points,
            radius,
            erase,
        }) = self.ops.last_mut()
        else {
            return None;
        };
        let from = *points.last()?;
        points.push(to);
        let (radius, value) = (*radius, u8::from(!*erase));
        paint_segment(&mut self.marked, self.size, from, to, radius, value)
    }

    pub fn end_stroke(&mut self) {
        self.stroking = false;
    }

    pub fn invert(&mut self) -> Rect {
        self.end_stroke();
        self.push(MaskOp::Invert);
        apply(&mut self.marked, self.size, &MaskOp::Invert);
        self.whole()
    }

    pub fn clear(&mut self) -> Rect {
        self.end_stroke();
        self.push(MaskOp::Clear);
        apply(&mut self.marked, self.size, &MaskOp::Clear);
        self.whole()
    }

    /// Takes back the last change; `None` when there is none.
    pub fn undo(&mut self) -> Option<Rect> {
        self.end_stroke();
        let op = self.ops.pop()?;
        self.undone.push(op);
        self.marked.copy_from_slice(&self.base);
        for op in &self.ops {
            apply(&mut self.marked, self.size, op);
        }
        Some(self.whole())
    }

    /// Makes the last undone change again; `None` when there is none.
    pub fn redo(&mut self) -> Option<Rect> {
        self.end_stroke();
        let op = self.undone.pop()?;
        apply(&mut self.marked, self.size, &op);
        self.ops.push(op);
        Some(self.whole())
    }

    fn push(&mut self, op: MaskOp) {
        self.undone.clear();
        if self.ops.len() == UNDO_DEPTH {
            let oldest = self.ops.remove(0);
            apply(&mut self.base, self.size, &oldest);
        }
        self.ops.push(op);
    }

    /// The mask to send, RGBA at the image's size: alpha 0 where the image may change
    /// (transparent pixels mark the edit), opaque black elsewhere.
    pub fn mask_rgba(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.marked.len() * 4);
        for &m in &self.marked {
            out.extend_from_slice(if m == 1 {
                &[0, 0, 0, 0]
            } else {
                &[0, 0, 0, 255]
            });
        }
        out
    }

    /// The markup to send, RGBA at the image's size: the marks in an opaque colour that stands
    /// out on most pictures, fully transparent elsewhere.
    pub fn markup_rgba(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.marked.len() * 4);
        for &m in &self.marked {
            out.extend_from_slice(if m == 1 { &MARKUP_INK } else { &[0, 0, 0, 0] });
        }
        out
    }

    /// The layer to send as `guide`.
    pub fn layer_rgba(&self, guide: Guide) -> Vec<u8> {
        match guide {
            Guide::Mask => self.mask_rgba(),
            Guide::Markup => self.markup_rgba(),
        }
    }

    /// What the painter shows over the image in `rect`, RGBA row by row: where marked, a
    /// translucent tint for a mask or the markup's ink; clear elsewhere.
    pub fn overlay_rgba(&self, rect: Rect, guide: Guide) -> Vec<u8> {
        const TINT: [u8; 4] = [236, 72, 153, 150];
        let tint = match guide {
            Guide::Mask => &TINT,
            Guide::Markup => &MARKUP_INK,
        };
        let mut out = Vec::with_capacity((rect.width * rect.height * 4) as usize);
        for y in rect.y..rect.y + rect.height {
            let row = (y * self.size.width) as usize;
            for x in rect.x..rect.x + rect.width {
                let marked = self.marked[row + x as usize] == 1;
                out.extend_from_slice(if marked { tint } else { &[0, 0, 0, 0] });
            }
        }
        out
    }
}

fn apply(marked: &mut [u8], size: Size, op: &MaskOp) {
    match op {
        MaskOp::Invert => marked.iter_mut().for_each(|m| *m ^= 1),
        MaskOp::Clear => marked.fill(0),
        MaskOp::Stroke {
            points,
            radius,
            erase,
        } => {
            let value = u8::from(!erase);
            let Some(&first) = points.first() else {
                return;
            };
            paint_segment(marked, size, first, first, *radius, value);
            for pair in points.windows(2) {
                paint_segment(marked, size, pair[0], pair[1], *radius, value);
            }
        }
    }
}

/// Sets every pixel whose centre lies within `radius` of the segment `a`–`b` to `value`;
/// returns the pixels it covered, `None` when the segment lies outside the image.
fn paint_segment(
    marked: &mut [u8],
    size: Size,
    a: Point,
    b: Point,
    radius: f32,
    value: u8,
) -> Option<Rect> {
    let clamp = |v: f32, max: u32| v.max(0.0).min(max as f32) as u32;
    let x0 = clamp(a.x.min(b.x) - radius, size.width);
    let x1 = clamp((a.x.max(b.x) + radius).ceil(), size.width);
    let y0 = clamp(a.y.min(b.y) - radius, size.height);
    let y1 = clamp((a.y.max(b.y) + radius).ceil(), size.height);
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let length2 = dx * dx + dy * dy;
    let r2 = radius * radius;
    let mut covered: Option<Rect> = None;
    for y in y0..y1 {
        let py = y as f32 + 0.5;
        for x in x0..x1 {
            let px = x as f32 + 0.5;
            // The nearest point of the segment to the pixel's centre.
            let t = if length2 > 0.0 {
                (((px - a.x) * dx + (py - a.y) * dy) / length2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (nx, ny) = (a.x + t * dx - px, a.y + t * dy - py);
            if nx * nx + ny * ny <= r2 {
                marked[(y * size.width + x) as usize] = value;
                let pixel = Rect {
                    x,
                    y,
                    width: 1,
                    height: 1,
                };
                covered = Some(covered.map_or(pixel, |c| c.union(pixel)));
            }
        }
    }
    covered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, bytes: u64) -> InputImage {
        InputImage {
            format: Some(ImageFormat::Png),
            size: Some(Size { width, height }),
            bytes,
        }
    }

    fn with_format(format: ImageFormat) -> InputImage {
        InputImage {
            format: Some(format),
            ..png(512, 512, 1000)
        }
    }

    #[test]
    fn limits_per_model() {
        assert_eq!(edit_limits("dall-e-3"), None);
        assert_eq!(edit_limits("dall-e-2").unwrap().max_images, 1);
        assert!(edit_limits("dall-e-2").unwrap().square_png_only);
        assert_eq!(edit_limits("gpt-image-2").unwrap().max_images, 16);
        assert_eq!(edit_limits("my-server-model").unwrap().max_images, 16);
        assert!(makes_variations("dall-e-2"));
        assert!(makes_variations("compatible-model"));
        assert!(!makes_variations("gpt-image-2"));
        assert!(editing_models().all(|m| m.id != "dall-e-3"));
        assert!(editing_models().any(|m| m.id == "dall-e-2"));
    }

    #[test]
    fn edit_inputs_table() {
        let one = [png(1024, 1024, 1000)];
        let wide = [png(1536, 1024, 1000)];
        let seventeen = vec![png(64, 64, 10); 17];
        let sixteen = vec![png(64, 64, 10); 16];
        let mask_ok = png(1024, 1024, 500);
        let mask_small = png(512, 512, 500);
        let big_png = [png(1024, 1024, SMALL_PNG_MAX_BYTES)];
        let huge = [png(1024, 1024, GPT_IMAGE_MAX_BYTES)];
        let jpeg = [with_format(ImageFormat::Jpeg)];
        let gif = [with_format(ImageFormat::Gif)];
        let unknown = [InputImage {
            format: None,
            ..png(1, 1, 1)
        }];
        let mask_jpeg = InputImage {
            format: Some(ImageFormat::Jpeg),
            ..mask_ok
        };
        let mask_big = png(1024, 1024, SMALL_PNG_MAX_BYTES + 1);
        let mask = |image| Layer {
            guide: Guide::Mask,
            image,
            has_transparency: true,
        };
        let markup = |image, has_transparency| {
            Some(Layer {
                guide: Guide::Markup,
                image,
                has_transparency,
            })
        };
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a [InputImage],
            Option<Layer>,
            Result<(), &'a str>,
        );
        let cases: Vec<Case> = vec![
            ("gpt-image-2", "a hat", &one, None, Ok(())),
            ("gpt-image-2", "a hat", &one, Some(mask(mask_ok)), Ok(())),
            ("gpt-image-2", "a hat", &wide, None, Ok(())),
            ("gpt-image-2", "a hat", &sixteen, None, Ok(())),
            ("gpt-image-2", "a hat", &jpeg, None, Ok(())),
            ("gpt-image-2", "a hat", &big_png, None, Ok(())),
            ("dall-e-2", "a hat", &one, Some(mask(mask_ok)), Ok(())),
            ("gpt-image-2", "a hat", &[], None, Err("Choose an image")),
            ("gpt-image-2", "  ", &one, None, Err("prompt is empty")),
            ("dall-e-3", "a hat", &one, None, Err("does not edit")),
            (
                "gpt-image-2",
                "a hat",
                &seventeen,
                None,
                Err("at most 16 images at once; 17 are chosen"),
            ),
            (
                "dall-e-2",
                "a hat",
                &sixteen,
                None,
                Err("at most 1 image at once"),
            ),
            ("dall-e-2", "a hat", &wide, None, Err("square image")),
            ("dall-e-2", "a hat", &jpeg, None, Err("PNG only")),
            ("dall-e-2", "a hat", &big_png, None, Err("under 4.0 MB")),
            ("gpt-image-2", "a hat", &huge, None, Err("under 50.0 MB")),
            ("gpt-image-2", "a hat", &gif, None, Err("not a PNG, JPEG")),
            (
                "gpt-image-2",
                "a hat",
                &unknown,
                None,
                Err("not a PNG, JPEG"),
            ),
            (
                "gpt-image-2",
                "a hat",
                &one,
                Some(mask(mask_small)),
                Err("mask is 512x512 but the first image is 1024x1024"),
            ),
            (
                "gpt-image-2",
                "a hat",
                &one,
                Some(mask(mask_jpeg)),
                Err("must be a PNG"),
            ),
            (
                "gpt-image-2",
                "a hat",
                &one,
                Some(mask(mask_big)),
                Err("under 4 MB"),
            ),
            (
                "gpt-image-2.5-flare",
                "a hat",
                &one,
                markup(mask_ok, true),
                Ok(()),
            ),
            (
                "gpt-image-2.5-flare",
                "a hat",
                &one,
                markup(mask_small, true),
                Err("markup is 512x512 but the first image is 1024x1024"),
            ),
            (
                "gpt-image-2.5-flare",
                "a hat",
                &one,
                markup(mask_jpeg, true),
                Err("markup must be a PNG"),
            ),
            (
                "gpt-image-2.5-flare",
                "a hat",
                &one,
                markup(mask_big, true),
                Err("markup is 4.0 MB; it must be a PNG under 4 MB"),
            ),
            (
                "gpt-image-2.5-flare",
                "a hat",
                &one,
                markup(mask_ok, false),
                Err("covers the whole image"),
            ),
        ];
        for (model, prompt, images, mask, expected) in cases {
            let got = check_edit(model, prompt, images, mask.as_ref()).map_err(|e| e.to_string());
            match (expected, got) {
                (Ok(()), Ok(())) => {}
                (Err(want), Err(got)) => assert!(
                    got.contains(want),
                    "{model} {} images: {got:?} should say {want:?}",
                    images.len()
                ),
                (want, got) => panic!("{model} {} images: {got:?}, want {want:?}", images.len()),
            }
        }
    }

    #[test]
    fn variation_inputs() {
        assert_eq!(check_variation("dall-e-2", &[png(256, 256, 10)]), Ok(()));
        assert_eq!(check_variation("dall-e-2", &[]), Err(EditError::NoImage));
        assert!(matches!(
            check_variation("gpt-image-2", &[png(256, 256, 10)]),
            Err(EditError::ModelCannotVary { .. })
        ));
        assert!(matches!(
            check_variation("dall-e-2", &[png(256, 128, 10)]),
            Err(EditError::NotSquare { .. })
        ));
        assert!(matches!(
            check_variation("dall-e-2", &[png(256, 256, SMALL_PNG_MAX_BYTES)]),
            Err(EditError::TooBig { .. })
        ));
        assert_eq!(
            check_variation("dall-e-2", &[png(256, 256, 10), png(256, 256, 10)])
                .unwrap_err()
                .to_string(),
            "dall-e-2 takes at most 1 image at once; 2 are chosen."
        );
    }

    #[test]
    fn input_image_is_read_from_bytes() {
        let image = InputImage::from_bytes(&crate::png_text::tests::PIXEL_PNG);
        assert_eq!(image.format, Some(ImageFormat::Png));
        assert_eq!(
            image.size,
            Some(Size {
                width: 1,
                height: 1
            })
        );
        assert_eq!(InputImage::from_bytes(b"hello").format, None);
    }

    #[test]
    fn default_sizes_keep_the_source() {
        let s = |w, h| {
            Some(Size {
                width: w,
                height: h,
            })
        };
        assert_eq!(default_edit_size("gpt-image-2", s(1536, 1024)), "auto");
        assert_eq!(default_edit_size("dall-e-2", s(512, 512)), "512x512");
        assert_eq!(default_edit_size("dall-e-2", s(700, 700)), "1024x1024");
        assert_eq!(default_edit_size("custom-model", None), "auto");
    }

    fn names(parts: &[Part]) -> Vec<&str> {
        parts.iter().map(|p| p.name).collect()
    }

    #[test]
    fn edit_fields_for_gpt_models_use_image_arrays() {
        let mut request = GenerationRequest::for_model("gpt-image-2", "add a hat");
        request.n = Some(2);
        request.moderation = Some("low".into());
        request.stream = Some(true);
        request.partial_images = Some(2);
        let parts = edit_parts(&request, 3, Some(Guide::Mask));
        assert_eq!(
            names(&parts),
            [
                "image[]",
                "image[]",
                "image[]",
                "mask",
                "prompt",
                "model",
                "n",
                "size",
                "quality",
                "output_format",
                "stream",
                "partial_images"
            ]
        );
        assert_eq!(parts[2].value, PartValue::Image(2));
        assert_eq!(parts[3].value, PartValue::Layer);
        assert_eq!(parts[4].value, PartValue::Text("add a hat".into()));
        assert_eq!(parts[6].value, PartValue::Text("2".into()));
        assert_eq!(parts[10].value, PartValue::Text("true".into()));
        // Without streaming, no stream fields; without a mask, no mask.
        request.stream = None;
        let plain = edit_parts(&request, 1, None);
        assert!(!names(&plain).contains(&"stream") && !names(&plain).contains(&"mask"));
        assert!(!names(&plain).contains(&"partial_images"));
    }

    #[test]
    fn markup_and_input_fidelity_are_edit_fields() {
        let mut request = GenerationRequest::for_model("gpt-image-2.5", "circle the door red");
        request.input_fidelity = Some("high".into());
        let parts = edit_parts(&request, 2, Some(Guide::Markup));
        let names = names(&parts);
        assert_eq!(names[..3], ["image[]", "image[]", "markup"]);
        assert!(!names.contains(&"mask"));
        assert_eq!(parts[2].value, PartValue::Layer);
        let fidelity = parts.iter().find(|p| p.name == "input_fidelity").unwrap();
        assert_eq!(fidelity.value, PartValue::Text("high".into()));
    }

    #[test]
    fn dall_e_2_edits_and_variations_send_one_image() {
        let request = GenerationRequest::for_model("dall-e-2", "add a hat");
        let parts = edit_parts(&request, 1, Some(Guide::Mask));
        assert_eq!(
            names(&parts),
            [
                "image",
                "mask",
                "prompt",
                "model",
                "n",
                "size",
                "quality",
                "response_format"
            ]
        );
        let variation = variation_parts(&request);
        assert_eq!(
            names(&variation),
            ["image", "model", "n", "size", "response_format"]
        );
        assert_eq!(variation[4].value, PartValue::Text("b64_json".into()));
    }

    #[test]
    fn pointer_positions_map_to_image_pixels() {
        let image = Size {
            width: 1024,
            height: 512,
        };
        let p = to_image_point(100.0, 50.0, 400.0, 200.0, image);
        assert_eq!(p, Point { x: 256.0, y: 128.0 });
        assert_eq!(brush_radius_in_image(10.0, 400.0, image), 25.6);
        // A zero-size box never divides by zero.
        assert!(to_image_point(1.0, 1.0, 0.0, 0.0, image).x.is_finite());
    }

    fn editor(w: u32, h: u32) -> MaskEditor {
        MaskEditor::new(Size {
            width: w,
            height: h,
        })
    }

    #[test]
    fn a_dot_marks_a_disc_and_the_mask_is_transparent_there() {
        let mut mask = editor(20, 10);
        let rect = mask
            .begin_stroke(Point { x: 5.0, y: 5.0 }, 2.0, false)
            .unwrap();
        mask.end_stroke();
        assert!(mask.is_marked(4, 4) && mask.is_marked(5, 5));
        assert!(!mask.is_marked(8, 5) && !mask.is_marked(5, 8));
        // Pixel centres within 2 px of (5,5): a 4x4 block (3.5..6.5 on each axis) less corners.
        assert_eq!(mask.marked_count(), 12);
        assert_eq!(
            rect,
            Rect {
                x: 3,
                y: 3,
                width: 4,
                height: 4
            }
        );
        let rgba = mask.mask_rgba();
        assert_eq!(rgba.len(), 20 * 10 * 4);
        let alpha = |x: u32, y: u32| rgba[((y * 20 + x) * 4 + 3) as usize];
        assert_eq!(alpha(5, 5), 0);
        assert_eq!(alpha(0, 0), 255);
        assert_eq!(alpha(19, 9), 255);
        assert_eq!(rgba.chunks(4).filter(|p| p[3] == 0).count(), 12);
    }

    #[test]
    fn a_stroke_covers_the_path_between_points_and_the_eraser_removes() {
        let mut mask = editor(40, 10);
        mask.begin_stroke(Point { x: 2.0, y: 5.0 }, 1.0, false);
        mask.extend_stroke(Point { x: 30.0, y: 5.0 });
        mask.end_stroke();
        assert!((2..30).all(|x| mask.is_marked(x, 4) || mask.is_marked(x, 5)));
        assert!(!mask.is_marked(35, 5));
        mask.begin_stroke(Point { x: 10.0, y: 5.0 }, 3.0, true);
        mask.end_stroke();
        assert!(!mask.is_marked(10, 5));
        assert!(mask.is_marked(20, 5));
        // A stroke wholly outside changes nothing and still counts as a step.
        assert_eq!(
            mask.begin_stroke(Point { x: -50.0, y: -50.0 }, 2.0, false),
            None
        );
        assert!(mask.can_undo());
    }

    #[test]
    fn invert_clear_undo_and_redo() {
        let mut mask = editor(10, 10);
        assert!(!mask.can_undo() && mask.undo().is_none());
        mask.begin_stroke(Point { x: 5.0, y: 5.0 }, 2.0, false);
        mask.extend_stroke(Point { x: 6.0, y: 5.0 });
        mask.end_stroke();
        let painted = mask.marked_count();
        assert!(painted > 0);
        mask.invert();
        assert_eq!(mask.marked_count(), 100 - painted);
        assert!(!mask.is_marked(5, 5) && mask.is_marked(0, 0));
        mask.clear();
        assert_eq!(mask.marked_count(), 0);
        mask.undo();
        assert_eq!(mask.marked_count(), 100 - painted);
        mask.undo();
        assert_eq!(mask.marked_count(), painted);
        assert!(mask.is_marked(5, 5));
        mask.undo();
        assert_eq!(mask.marked_count(), 0);
        assert!(mask.can_redo());
        mask.redo();
        assert_eq!(mask.marked_count(), painted);
        mask.redo();
        assert_eq!(mask.marked_count(), 100 - painted);
        // A new change forgets what was undone.
        mask.undo();
        mask.begin_stroke(Point { x: 0.0, y: 0.0 }, 1.0, false);
        assert!(!mask.can_redo());
        // Extending after the stroke ended does nothing.
        mask.end_stroke();
        assert_eq!(mask.extend_stroke(Point { x: 9.0, y: 9.0 }), None);
    }

    #[test]
    fn old_steps_fold_into_the_base_past_the_undo_depth() {
        let mut mask = editor(4, 4);
        mask.invert();
        for _ in 0..UNDO_DEPTH {
            mask.begin_stroke(Point { x: 0.5, y: 0.5 }, 0.5, true);
        }
        // The first invert is now beyond reach, but its effect stays.
        for _ in 0..UNDO_DEPTH {
            assert!(mask.undo().is_some());
        }
        assert!(mask.undo().is_none());
        assert_eq!(mask.marked_count(), 16);
    }

    #[test]
    fn overlay_tints_only_marked_pixels_in_the_rect() {
        let mut mask = editor(4, 4);
        mask.begin_stroke(Point { x: 1.5, y: 1.5 }, 0.5, false);
        let rect = Rect {
            x: 1,
            y: 1,
            width: 2,
            height: 1,
        };
        let overlay = mask.overlay_rgba(rect, Guide::Mask);
        assert_eq!(overlay.len(), 8);
        assert!(overlay[3] > 0 && overlay[3] < 255, "marked pixel tinted");
        assert_eq!(overlay[7], 0, "unmarked pixel clear");
        // Markup shows its own ink, exactly as it will be sent.
        let overlay = mask.overlay_rgba(rect, Guide::Markup);
        assert_eq!(overlay[..4], MARKUP_INK);
        assert_eq!(overlay[7], 0);
    }

    #[test]
    fn markup_is_ink_on_a_transparent_sheet() {
        let mut mask = editor(10, 10);
        mask.begin_stroke(Point { x: 5.0, y: 5.0 }, 2.0, false);
        mask.end_stroke();
        let marked = mask.marked_count();
        let markup = mask.layer_rgba(Guide::Markup);
        assert_eq!(markup.len(), 10 * 10 * 4);
        assert_eq!(
            markup.chunks(4).filter(|p| *p == MARKUP_INK).count(),
            marked
        );
        assert_eq!(
            markup.chunks(4).filter(|p| p[3] == 0).count(),
            100 - marked,
            "everything else fully transparent"
        );
        assert_eq!(mask.layer_rgba(Guide::Mask), mask.mask_rgba());
    }
}
