//! gpt-image-2.6's other outputs, offline: an animated GIF with the frames and timing asked for
//! (shapes drifting over a flat backdrop, encoded by the `image` crate) and a small SVG
//! document of the prompt's shapes. Both come back as `b64_json`, like every GPT image result;
//! validation (core) has already refused what the API refuses (streaming, compression, n > 1
//! for SVG, frame bounds).

use axum::Json;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use easel_core::catalog::{GIF_DEFAULT_FRAME_MS, GIF_DEFAULT_FRAMES};
use easel_core::markup::escape;
use easel_core::{GenerationRequest, ImageData, ImagesResponse, Size};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, ImageResult, RgbaImage};

use super::draw::{GOLDEN, Rng, fnv1a, hsv};
use super::{DEFAULT_SIZE, MAX_EDGE, MAX_PIXELS, blocking, invalid, now, usage};
use crate::{AppError, AppState};

/// What a request asks for, when it is one of these formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Gif { frames: u32, frame_ms: u32 },
    Svg,
}

impl Kind {
    pub(super) fn of(request: &GenerationRequest) -> Option<Kind> {
        match request.output_format.as_deref()? {
            "gif" => Some(Kind::Gif {
                frames: request.frame_count.unwrap_or(GIF_DEFAULT_FRAMES),
                // The API rounds durations to 10 ms; so does the GIF format.
                frame_ms: (request.frame_duration_ms.unwrap_or(GIF_DEFAULT_FRAME_MS) + 5) / 10 * 10,
            }),
            "svg" => Some(Kind::Svg),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Gif { .. } => "gif",
            Kind::Svg => "svg",
        }
    }
}

/// Answers a generation whose `output_format` is `gif` or `svg`.
pub(super) async fn generate(
    state: &AppState,
    request: &GenerationRequest,
    kind: Kind,
) -> Result<Response, AppError> {
    let size = match request.size.as_deref() {
        None | Some("auto") => DEFAULT_SIZE,
        Some(text) => Size::parse(text).ok_or_else(|| invalid("size", text))?,
    };
    if size.width > MAX_EDGE || size.height > MAX_EDGE || size.pixels() > MAX_PIXELS {
        return Err(invalid("size", &size.to_string()));
    }
    tokio::time::sleep(state.config.generator_latency).await;
    let mut data = Vec::new();
    for index in 0..request.image_count() {
        let prompt = request.prompt.clone();
        let bytes = match kind {
            Kind::Gif { frames, frame_ms } => {
                blocking(move || animated_gif(&prompt, index, size, frames, frame_ms)).await?
            }
            Kind::Svg => svg_document(&prompt, index, size).into_bytes(),
        };
        data.push(ImageData {
            b64_json: Some(STANDARD.encode(bytes)),
            url: None,
            revised_prompt: None,
        });
    }
    let quality = match request.quality.as_deref() {
        None | Some("auto") => "medium",
        Some(q) => easel_core::catalog::find(&request.model)
            .and_then(|m| m.qualities.iter().copied().find(|a| *a == q))
            .unwrap_or("medium"),
    };
    let svg_usage = (kind == Kind::Svg).then(|| {
        let (author, _) = request.svg_author();
        serde_json::json!({
            "model": author.unwrap_or("offline-svg-author"),
            "input_tokens": (request.prompt.chars().count() as u64).div_ceil(4).max(1),
            "output_tokens": 400,
        })
    });
    Ok(Json(ImagesResponse {
        created: now(),
        data,
        background: Some("opaque".to_owned()),
        output_format: Some(kind.name().to_owned()),
        size: Some(size.to_string()),
        quality: Some(quality.to_owned()),
        usage: Some(usage(&request.prompt, size, quality, request.image_count())),
        svg_usage,
    })
    .into_response())
}

/// A shape of the picture: where it starts, how it drifts, its colour.
struct Shape {
    round: bool,
    x: f64,
    y: f64,
    radius: f64,
    drift_x: f64,
    drift_y: f64,
    color: [u8; 4],
}

/// The prompt's backdrop and shapes, the same each time for the same prompt and index. Few
/// flat colours, so every frame fits a GIF palette exactly (no dithering, fast encoding).
fn scene(prompt: &str, index: u32, size: Size) -> ([u8; 4], Vec<Shape>) {
    let mut rng = Rng::new(fnv1a(prompt.as_bytes()) ^ u64::from(index).wrapping_mul(GOLDEN));
    let hue = rng.unit();
    let backdrop = hsv(hue, 0.35, 0.95);
    let (w, h) = (f64::from(size.width), f64::from(size.height));
    let count = 4 + rng.below(4);
    let shapes = (0..count)
        .map(|i| Shape {
            round: rng.below(2) == 0,
            x: w * rng.between(0.15, 0.85),
            y: h * rng.between(0.15, 0.85),
            radius: w.min(h) * rng.between(0.06, 0.18),
            drift_x: w * rng.between(-0.25, 0.25),
            drift_y: h * rng.between(-0.25, 0.25),
            color: hsv(
                (hue + 0.5 + f64::from(i) * 0.09).rem_euclid(1.0),
                rng.between(0.55, 0.9),
                rng.between(0.5, 0.95),
            ),
        })
        .collect();
    (backdrop, shapes)
}

/// An animated GIF of `frames` frames, `frame_ms` each, looping forever: the scene's shapes
/// move a step per frame and come back to where they started.
pub(super) fn animated_gif(
    prompt: &str,
    index: u32,
    size: Size,
    frames: u32,
    frame_ms: u32,
) -> ImageResult<Vec<u8>> {
    let (backdrop, shapes) = scene(prompt, index, size);
    let mut out = Vec::new();
    {
        // Speed 30: the palette is exact anyway (few colours), so quantizing effort is moot.
        let mut encoder = GifEncoder::new_with_speed(&mut out, 30);
        encoder.set_repeat(Repeat::Infinite)?;
        for frame in 0..frames {
            let phase = (f64::from(frame) / f64::from(frames) * std::f64::consts::TAU).sin();
            let mut pixels = RgbaImage::from_pixel(size.width, size.height, image::Rgba(backdrop));
            for shape in &shapes {
                paint(
                    &mut pixels,
                    shape,
                    shape.x + shape.drift_x * phase,
                    shape.y + shape.drift_y * phase,
                );
            }
            let delay = Delay::from_numer_denom_ms(frame_ms, 1);
            encoder.encode_frame(Frame::from_parts(pixels, 0, 0, delay))?;
        }
    }
    Ok(out)
}

/// Fills a disc or square centred at (`cx`, `cy`), row span by row span.
fn paint(pixels: &mut RgbaImage, shape: &Shape, cx: f64, cy: f64) {
    let (w, h) = (pixels.width(), pixels.height());
    let r = shape.radius;
    let top = (cy - r).max(0.0) as u32;
    let bottom = ((cy + r).ceil().max(0.0) as u32).min(h);
    let width = w as usize;
    let raw: &mut [u8] = pixels;
    for y in top..bottom {
        let half = if shape.round {
            let dy = f64::from(y) + 0.5 - cy;
            (r * r - dy * dy).max(0.0).sqrt()
        } else {
            r
        };
        let start = (cx - half).max(0.0) as usize;
        let end = ((cx + half).max(0.0) as usize).min(width);
        let row = y as usize * width * 4;
        for x in start..end {
            raw[row + x * 4..row + x * 4 + 4].copy_from_slice(&shape.color);
        }
    }
}

/// A small SVG document of the scene, titled with the prompt (escaped: the prompt is text, not
/// markup). No scripts, no external references.
pub(super) fn svg_document(prompt: &str, index: u32, size: Size) -> String {
    let (backdrop, shapes) = scene(prompt, index, size);
    let hex = |c: [u8; 4]| format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
    let (w, h) = (size.width, size.height);
    let mut svg = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n\
         <title>{}</title>\n<rect width=\"{w}\" height=\"{h}\" fill=\"{}\"/>\n",
        escape(prompt),
        hex(backdrop)
    );
    for shape in &shapes {
        let fill = hex(shape.color);
        let (x, y, r) = (shape.x.round(), shape.y.round(), shape.radius.round());
        if shape.round {
            svg.push_str(&format!(
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"{r}\" fill=\"{fill}\"/>\n"
            ));
        } else {
            svg.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"{fill}\"/>\n",
                x - r,
                y - r,
                2.0 * r,
                2.0 * r,
                (r / 6.0).round()
            ));
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::AnimationDecoder;
    use image::codecs::gif::GifDecoder;

    const SMALL: Size = Size {
        width: 96,
        height: 64,
    };

    #[test]
    fn gifs_have_the_frames_and_timing_asked_for() {
        let bytes = animated_gif("a fox", 0, SMALL, 5, 120).unwrap();
        assert!(bytes.starts_with(b"GIF89a"));
        let frames = GifDecoder::new(std::io::Cursor::new(&bytes))
            .unwrap()
            .into_frames()
            .collect_frames()
            .unwrap();
        assert_eq!(frames.len(), 5);
        for frame in &frames {
            assert_eq!(frame.buffer().dimensions(), (96, 64));
            assert_eq!(frame.delay().numer_denom_ms(), (120, 1));
        }
        assert_ne!(
            frames[0].buffer().as_raw(),
            frames[1].buffer().as_raw(),
            "the picture moves"
        );
    }

    #[test]
    fn frame_durations_round_to_ten_ms() {
        let mut r = GenerationRequest::for_model("gpt-image-2.6-flare", "x");
        r.output_format = Some("gif".into());
        assert_eq!(
            Kind::of(&r),
            Some(Kind::Gif {
                frames: 9,
                frame_ms: 200
            })
        );
        r.frame_duration_ms = Some(124);
        r.frame_count = Some(3);
        assert_eq!(
            Kind::of(&r),
            Some(Kind::Gif {
                frames: 3,
                frame_ms: 120
            })
        );
        r.frame_duration_ms = Some(125);
        assert!(matches!(
            Kind::of(&r),
            Some(Kind::Gif { frame_ms: 130, .. })
        ));
    }

    #[test]
    fn svgs_are_small_documents_with_an_escaped_title() {
        let svg = svg_document("cats & <dogs>", 0, SMALL);
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("width=\"96\" height=\"64\" viewBox=\"0 0 96 64\""));
        assert!(svg.contains("<title>cats &amp; &lt;dogs&gt;</title>"));
        assert!(!svg.contains("<script"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(
            easel_core::files::svg_dimensions(svg.as_bytes()),
            Some((96, 64))
        );
        assert_eq!(svg, svg_document("cats & <dogs>", 0, SMALL));
        assert_ne!(svg, svg_document("cats & <dogs>", 1, SMALL));
    }
}
