//! Deterministic pictures for the offline generator: the same prompt and index always give
//! the same bytes, and different ones visibly different pictures (a gradient with circles,
//! rectangles and slanted stripes whose colours and places come from a hash of the prompt).
//!
//! Drawing fills whole spans of rows rather than testing every pixel against every shape,
//! because the relay is built without optimisation in dev and must still be quick.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, ImageResult};

/// The image file formats the generator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Webp,
}

impl Format {
    /// An `output_format` value (`jpg` is accepted as a spelling of `jpeg`).
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "png" => Some(Format::Png),
            "jpeg" | "jpg" => Some(Format::Jpeg),
            "webp" => Some(Format::Webp),
            _ => None,
        }
    }

    /// The name the API uses in `output_format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpeg",
            Format::Webp => "webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpg",
            Format::Webp => "webp",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::Webp => "image/webp",
        }
    }

    fn keeps_alpha(self) -> bool {
        self != Format::Jpeg
    }
}

/// What to draw besides the prompt: size, format and background.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    pub width: u32,
    pub height: u32,
    pub format: Format,
    /// Shapes on a fully transparent background instead of a gradient (png and webp only).
    pub transparent: bool,
    /// JPEG quality, 1–100.
    pub jpeg_quality: u8,
}

/// Draws picture number `index` for `prompt` and encodes it.
pub fn picture(prompt: &str, index: u32, spec: &Spec) -> ImageResult<Vec<u8>> {
    let transparent = spec.transparent && spec.format.keeps_alpha();
    let canvas = render(prompt, index, spec.width, spec.height, transparent);
    canvas.encode(spec)
}

/// Picture number `index` as streaming shows it: `partials` coarse previews, each finer than
/// the one before (big blocks of colour, then smaller), then the finished picture.
pub fn picture_with_partials(
    prompt: &str,
    index: u32,
    spec: &Spec,
    partials: u32,
) -> ImageResult<(Vec<Vec<u8>>, Vec<u8>)> {
    let transparent = spec.transparent && spec.format.keeps_alpha();
    let canvas = render(prompt, index, spec.width, spec.height, transparent);
    let previews = (0..partials)
        .map(|step| {
            let block = 8usize << (partials - 1 - step);
            canvas.pixelated(block).encode(spec)
        })
        .collect::<ImageResult<Vec<_>>>()?;
    Ok((previews, canvas.encode(spec)?))
}

/// Opaque RGBA pixels of picture `index` for `prompt`: what an edit paints into the masked area.
pub fn paint_rgba(prompt: &str, index: u32, width: u32, height: u32) -> Vec<u8> {
    let canvas = render(prompt, index, width, height, true);
    let backdrop = render(prompt, index ^ 0x5EED, width, height, false);
    // Shapes over a gradient, both from the prompt: the painted area is never see-through.
    let mut out = Vec::with_capacity(canvas.pixels.len());
    for (shape, back) in canvas
        .pixels
        .chunks_exact(4)
        .zip(backdrop.pixels.chunks_exact(3))
    {
        let a = u32::from(shape[3]);
        for c in 0..3 {
            out.push(((u32::from(shape[c]) * a + u32::from(back[c]) * (255 - a)) / 255) as u8);
        }
        out.push(255);
    }
    out
}

/// RGBA pixels in square blocks of `block` pixels: a coarse preview of them.
pub fn pixelate_rgba(pixels: Vec<u8>, width: u32, height: u32, block: usize) -> Vec<u8> {
    let canvas = Canvas {
        width: width as usize,
        height: height as usize,
        channels: 4,
        pixels,
    };
    canvas.pixelated(block).pixels
}

/// Encodes RGBA pixels in the spec's format (JPEG drops the alpha channel).
pub fn encode_rgba(pixels: Vec<u8>, width: u32, height: u32, spec: &Spec) -> ImageResult<Vec<u8>> {
    let canvas = Canvas {
        width: width as usize,
        height: height as usize,
        channels: 4,
        pixels,
    };
    canvas.encode(spec)
}

/// Pixels row by row: RGB for opaque pictures, RGBA (not premultiplied) for transparent ones,
/// drawn directly in the layout the encoder takes so no conversion pass is needed.
struct Canvas {
    width: usize,
    height: usize,
    channels: usize,
    pixels: Vec<u8>,
}

fn render(prompt: &str, index: u32, width: u32, height: u32, transparent: bool) -> Canvas {
    let mut rng = Rng::new(fnv1a(prompt.as_bytes()) ^ u64::from(index).wrapping_mul(GOLDEN));
    let palette = Palette::new(&mut rng);
    let channels = if transparent { 4 } else { 3 };
    let (width, height) = (width as usize, height as usize);
    let mut canvas = Canvas {
        width,
        height,
        channels,
        pixels: vec![0; width * height * channels],
    };
    if !transparent {
        canvas.gradient(palette.pick(&mut rng), palette.pick(&mut rng), rng.unit());
    }
    let shapes = 6 + rng.below(5);
    for _ in 0..shapes {
        let mut color = palette.pick(&mut rng);
        // Some shapes see-through, most solid, so overlaps show.
        color[3] = if rng.below(3) == 0 {
            140 + rng.below(80) as u8
        } else {
            255
        };
        match rng.below(3) {
            0 => canvas.circle(&mut rng, color),
            1 => canvas.rectangle(&mut rng, color),
            _ => canvas.stripe(&mut rng, color),
        }
    }
    canvas
}

impl Canvas {
    fn encode(&self, spec: &Spec) -> ImageResult<Vec<u8>> {
        let (width, height) = (self.width as u32, self.height as u32);
        let rgb;
        let (pixels, color) = match (self.channels, spec.format.keeps_alpha()) {
            (4, true) => (&self.pixels, ExtendedColorType::Rgba8),
            (4, false) => {
                rgb = self
                    .pixels
                    .chunks_exact(4)
                    .flat_map(|p| [p[0], p[1], p[2]])
                    .collect::<Vec<u8>>();
                (&rgb, ExtendedColorType::Rgb8)
            }
            _ => (&self.pixels, ExtendedColorType::Rgb8),
        };
        let mut out = Vec::new();
        match spec.format {
            // Fast deflate: the pictures are simple, and speed matters more than a few kilobytes.
            Format::Png => {
                PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
                    .write_image(pixels, width, height, color)?
            }
            Format::Jpeg => JpegEncoder::new_with_quality(&mut out, spec.jpeg_quality)
                .write_image(pixels, width, height, color)?,
            Format::Webp => {
                WebPEncoder::new_lossless(&mut out).write_image(pixels, width, height, color)?
            }
        }
        Ok(out)
    }

    /// A copy in square blocks of `block` pixels, each the colour of its top-left pixel.
    fn pixelated(&self, block: usize) -> Canvas {
        let mut out = Canvas {
            width: self.width,
            height: self.height,
            channels: self.channels,
            pixels: vec![0; self.pixels.len()],
        };
        let ch = self.channels;
        for y in 0..self.height {
            let source_row = (y / block) * block * self.width * ch;
            let row = y * self.width * ch;
            for x in 0..self.width {
                let source = source_row + (x / block) * block * ch;
                out.pixels[row + x * ch..row + x * ch + ch]
                    .copy_from_slice(&self.pixels[source..source + ch]);
            }
        }
        out
    }
}

// The loops below index plain slices rather than chaining iterator adapters: the relay is
// built without optimisation in dev, where every adapter call per pixel costs.
impl Canvas {
    fn row(&mut self, y: usize) -> &mut [u8] {
        let stride = self.width * self.channels;
        &mut self.pixels[y * stride..(y + 1) * stride]
    }

    /// A linear gradient from `from` to `to` along the direction `turn` (0..1 of a full turn).
    fn gradient(&mut self, from: [u8; 4], to: [u8; 4], turn: f64) {
        let angle = turn * std::f64::consts::TAU;
        let (dx, dy) = (angle.cos(), angle.sin());
        let (w, h) = (self.width as f64, self.height as f64);
        // Project the corners so the gradient spans the whole picture in any direction.
        let reach = (w * dx.abs() + h * dy.abs()).max(1.0);
        let start = -(w * dx.min(0.0) + h * dy.min(0.0));
        // 256 steps are smooth to the eye and turn the per-pixel work into a table lookup.
        let mut table = [[0u8; 3]; 257];
        for (step, entry) in table.iter_mut().enumerate() {
            for c in 0..3 {
                let (a, b) = (i32::from(from[c]), i32::from(to[c]));
                entry[c] = (a + (b - a) * step as i32 / 256) as u8;
            }
        }
        // Position along the gradient in 16.16 fixed point, 65536 at the far end.
        let step = (dx / reach * 65536.0) as i64;
        let channels = self.channels;
        for y in 0..self.height {
            let mut t = ((start + y as f64 * dy) / reach * 65536.0) as i64;
            let row = self.row(y);
            let mut i = 0;
            while i < row.len() {
                let level = if t <= 0 {
                    0
                } else if t >= 65536 {
                    256
                } else {
                    (t >> 8) as usize
                };
                let rgb = table[level];
                row[i] = rgb[0];
                row[i + 1] = rgb[1];
                row[i + 2] = rgb[2];
                if channels == 4 {
                    row[i + 3] = 255;
                }
                t += step;
                i += channels;
            }
        }
    }

    fn circle(&mut self, rng: &mut Rng, color: [u8; 4]) {
        let (w, h) = (self.width as f64, self.height as f64);
        let (cx, cy) = (w * rng.between(0.1, 0.9), h * rng.between(0.1, 0.9));
        let r = w.min(h) * rng.between(0.08, 0.32);
        let top = (cy - r).max(0.0) as usize;
        let bottom = ((cy + r).ceil() as usize).min(self.height);
        for y in top..bottom {
            let dy = y as f64 + 0.5 - cy;
            let half = (r * r - dy * dy).max(0.0).sqrt();
            self.span(y, cx - half, cx + half, color);
        }
    }

    fn rectangle(&mut self, rng: &mut Rng, color: [u8; 4]) {
        let (w, h) = (self.width as f64, self.height as f64);
        let (x0, y0) = (w * rng.between(0.0, 0.8), h * rng.between(0.0, 0.8));
        let (x1, y1) = (
            x0 + w * rng.between(0.1, 0.45),
            y0 + h * rng.between(0.1, 0.45),
        );
        for y in (y0 as usize)..(y1 as usize).min(self.height) {
            self.span(y, x0, x1, color);
        }
    }

    /// A band across the whole height, leaning left or right.
    fn stripe(&mut self, rng: &mut Rng, color: [u8; 4]) {
        let (w, h) = (self.width as f64, self.height as f64);
        let x = w * rng.between(0.0, 1.0);
        let half = w * rng.between(0.02, 0.09);
        let lean = rng.between(-0.8, 0.8);
        for y in 0..self.height {
            let center = x + (y as f64 - h / 2.0) * lean;
            self.span(y, center - half, center + half, color);
        }
    }

    /// Paints `color` over row `y` from `x0` to `x1` (clipped), compositing by its alpha.
    fn span(&mut self, y: usize, x0: f64, x1: f64, color: [u8; 4]) {
        let start = x0.max(0.0) as usize;
        let end = (x1.max(0.0) as usize).min(self.width);
        if start >= end || color[3] == 0 {
            return;
        }
        let channels = self.channels;
        let span = &mut self.row(y)[start * channels..end * channels];
        let alpha = u32::from(color[3]);
        if alpha == 255 {
            // Solid: one pixel, then copies doubling in length.
            span[..channels].copy_from_slice(&color[..channels]);
            let mut filled = channels;
            while filled < span.len() {
                let n = filled.min(span.len() - filled);
                span.copy_within(..n, filled);
                filled += n;
            }
            return;
        }
        let mut i = 0;
        while i < span.len() {
            // "Source over" for straight alpha, in integers; opaque pixels stay opaque.
            let below = if channels == 4 {
                u32::from(span[i + 3])
            } else {
                255
            };
            // Never zero: `alpha` is at least 1 here.
            let out = alpha * 255 + below * (255 - alpha);
            for c in 0..3 {
                let blended = u32::from(color[c]) * alpha * 255
                    + u32::from(span[i + c]) * below * (255 - alpha);
                span[i + c] = (blended / out) as u8;
            }
            if channels == 4 {
                span[i + 3] = (out / 255) as u8;
            }
            i += channels;
        }
    }
}

/// A few harmonious colours: a random hue and its neighbours and complement.
struct Palette([[u8; 4]; 5]);

impl Palette {
    fn new(rng: &mut Rng) -> Palette {
        let hue = rng.unit();
        let offsets = [0.0, 0.08, -0.08, 0.5, 0.42];
        Palette(offsets.map(|offset| {
            hsv(
                (hue + offset).rem_euclid(1.0),
                rng.between(0.45, 0.9),
                rng.between(0.45, 1.0),
            )
        }))
    }

    fn pick(&self, rng: &mut Rng) -> [u8; 4] {
        self.0[rng.below(self.0.len() as u32) as usize]
    }
}

pub(crate) fn hsv(h: f64, s: f64, v: f64) -> [u8; 4] {
    let sector = (h * 6.0).floor();
    let f = h * 6.0 - sector;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    let (r, g, b) = match sector as u32 % 6 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    let byte = |x: f64| (x * 255.0).round() as u8;
    [byte(r), byte(g), byte(b), 255]
}

pub(crate) const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// FNV-1a: a stable hash (unlike std's, which is seeded per process).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64: tiny, stable across platforms and versions.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    pub(crate) fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(width: u32, height: u32) -> Spec {
        Spec {
            width,
            height,
            format: Format::Png,
            transparent: false,
            jpeg_quality: 90,
        }
    }

    #[test]
    fn pictures_are_not_flat() {
        let canvas = render("a lighthouse at dusk", 0, 64, 48, false);
        assert_eq!(canvas.pixels.len(), 64 * 48 * 3);
        let first = &canvas.pixels[..3];
        assert!(canvas.pixels.chunks_exact(3).any(|p| p != first));
    }

    #[test]
    fn transparent_pictures_have_clear_and_solid_pixels() {
        let canvas = render("a fox", 0, 64, 64, true);
        assert!(canvas.pixels.chunks_exact(4).any(|p| p[3] == 0));
        assert!(canvas.pixels.chunks_exact(4).any(|p| p[3] > 0));
    }

    #[test]
    fn same_input_same_bytes() {
        let a = picture("same", 1, &spec(40, 30)).unwrap();
        assert_eq!(a, picture("same", 1, &spec(40, 30)).unwrap());
        assert_ne!(a, picture("same", 2, &spec(40, 30)).unwrap());
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn formats() {
        assert_eq!(Format::parse("jpg"), Some(Format::Jpeg));
        assert_eq!(Format::parse("gif"), None);
        assert_eq!(Format::Webp.mime(), "image/webp");
        assert_eq!(Format::Jpeg.name(), "jpeg");
    }
}
