//! What the browser offers for images: hashing, thumbnails, and storage health.

use js_sys::{Function, JsString, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, IdleRequestOptions, ImageBitmap, ImageBitmapOptions, ImageBitmapRenderingContext,
    ImageEncodeOptions, OffscreenCanvas,
};

/// The long side of a thumbnail, in pixels: enough for a sharp grid cell on a 2x screen.
pub const THUMB_EDGE: u32 = 256;

/// SHA-256 of the bytes, as lowercase hex, by the browser's SubtleCrypto.
pub async fn sha256_hex(bytes: &Uint8Array) -> Result<String, JsValue> {
    let subtle = web_sys::window().ok_or("no window")?.crypto()?.subtle();
    let digest =
        JsFuture::from(subtle.digest_with_str_and_buffer_source("SHA-256", bytes)?).await?;
    let digest = Uint8Array::new(&digest).to_vec();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// A thumbnail's encoded bytes and their type. The bytes stay in the browser's memory: the
/// app only passes them from storage to the page.
///
/// The grid shows it as a `data:` URL, not a `blob:` URL: the browser loads a blob URL through
/// its blob registry, a round trip per image, while it decodes a data URL in place. Measured
/// in headless Chromium on 2 cores: 40 thumbnails of ~10 KB loaded in 7–13 ms as data URLs,
/// 65–107 ms as blob URLs (both from IndexedDB).
#[derive(Clone, Debug)]
pub struct Thumbnail {
    pub mime: String,
    pub bytes: Uint8Array,
}

impl Thumbnail {
    /// The thumbnail as a `data:` URL (a JS string), encoded by the browser where it can
    /// (`Uint8Array.prototype.toBase64`), so the bytes never pass through the app's memory.
    pub fn data_url(&self) -> JsString {
        let prefix = JsString::from(format!("data:{};base64,", self.mime));
        let native = Reflect::get(&self.bytes, &JsValue::from_str("toBase64"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .and_then(|to_base64| to_base64.call0(&self.bytes).ok());
        match native {
            Some(encoded) => prefix.concat(&encoded),
            None => {
                use base64::Engine;
                let encoded = base64::engine::general_purpose::STANDARD.encode(self.bytes.to_vec());
                prefix.concat(&JsValue::from_str(&encoded))
            }
        }
    }
}

/// A small WebP thumbnail, decoded and scaled by the browser (off the main thread where it
/// can), so the grid never decodes full-size images.
pub async fn thumbnail(image: &Blob, width: u32, height: u32) -> Result<Thumbnail, JsValue> {
    // Chromium cannot make a bitmap from an SVG Blob; a vector scales itself and is small, so
    // it is its own thumbnail (shown, like the image, only through `<img>`). A GIF's thumbnail
    // is its first frame.
    if image.type_() == easel_core::files::ImageFormat::Svg.mime() {
        let bytes = JsFuture::from(image.array_buffer()).await?;
        return Ok(Thumbnail {
            mime: image.type_(),
            bytes: Uint8Array::new(&bytes),
        });
    }
    let (w, h) = fit(width, height, THUMB_EDGE);
    let blob = scaled(image, w, h, "image/webp", 0.8).await?;
    let bytes = JsFuture::from(blob.array_buffer()).await?;
    Ok(Thumbnail {
        // A browser without a WebP encoder answers with PNG: the type says which.
        mime: blob.type_(),
        bytes: Uint8Array::new(&bytes),
    })
}

/// `(width, height)` scaled down to fit `edge` on its long side (never up, never 0).
fn fit(width: u32, height: u32, edge: u32) -> (u32, u32) {
    let scale = f64::from(edge) / f64::from(width.max(height).max(1));
    if scale < 1.0 {
        (
            (f64::from(width) * scale).round().max(1.0) as u32,
            (f64::from(height) * scale).round().max(1.0) as u32,
        )
    } else {
        (width.max(1), height.max(1))
    }
}

/// `image` decoded and scaled to `w` x `h` by the browser, encoded as `mime` at `quality`.
async fn scaled(image: &Blob, w: u32, h: u32, mime: &str, quality: f64) -> Result<Blob, JsValue> {
    let options = ImageBitmapOptions::new();
    options.set_resize_width(w);
    options.set_resize_height(h);
    options.set_resize_quality(web_sys::ResizeQuality::Medium);
    let window = web_sys::window().ok_or("no window")?;
    let bitmap: ImageBitmap = JsFuture::from(
        window.create_image_bitmap_with_blob_and_image_bitmap_options(image, &options)?,
    )
    .await?
    .dyn_into()?;
    let canvas = OffscreenCanvas::new(w, h)?;
    let context: ImageBitmapRenderingContext = canvas
        .get_context("bitmaprenderer")?
        .ok_or("no bitmaprenderer")?
        .dyn_into()?;
    context.transfer_from_image_bitmap(&bitmap);
    let encode = ImageEncodeOptions::new();
    encode.set_type(mime);
    encode.set_quality(quality);
    JsFuture::from(canvas.convert_to_blob_with_options(&encode)?)
        .await?
        .dyn_into()
}

/// A share link's tiny preview of a stored thumbnail: at most `edge` pixels on its long
/// side, WebP (or JPEG where the browser has no WebP encoder), at most `max_bytes` — lower
/// qualities are tried until it fits. `None` when it cannot be made that small (or the
/// thumbnail is an SVG, which the browser cannot turn into a bitmap).
pub async fn tiny_preview(
    thumb: &Thumbnail,
    width: u32,
    height: u32,
    edge: u32,
    max_bytes: usize,
) -> Option<(String, Vec<u8>)> {
    if thumb.mime == easel_core::files::ImageFormat::Svg.mime() {
        return None;
    }
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(&thumb.mime);
    let source =
        Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(&thumb.bytes), &options)
            .ok()?;
    let (w, h) = fit(width, height, edge);
    for (mime, quality) in [
        ("image/webp", 0.7),
        ("image/webp", 0.4),
        ("image/jpeg", 0.6),
        ("image/jpeg", 0.3),
    ] {
        let Ok(blob) = scaled(&source, w, h, mime, quality).await else {
            continue;
        };
        // A browser without this encoder answers with PNG: not a preview type.
        if blob.type_() != mime || blob.size() as usize > max_bytes {
            continue;
        }
        let bytes = JsFuture::from(blob.array_buffer()).await.ok()?;
        return Some((mime.to_owned(), Uint8Array::new(&bytes).to_vec()));
    }
    None
}

/// Asks the browser not to evict the gallery under storage pressure. `true` when granted.
pub async fn request_persistence() -> bool {
    let Some(storage) = storage_manager() else {
        return false;
    };
    let Ok(promise) = storage.persist() else {
        return false;
    };
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// `(used, quota)` in bytes, when the browser tells.
pub async fn storage_estimate() -> Option<(f64, f64)> {
    let estimate = JsFuture::from(storage_manager()?.estimate().ok()?)
        .await
        .ok()?;
    let number = |key: &str| {
        Reflect::get(&estimate, &JsValue::from_str(key))
            .ok()?
            .as_f64()
    };
    Some((number("usage")?, number("quota")?))
}

fn storage_manager() -> Option<web_sys::StorageManager> {
    Some(web_sys::window()?.navigator().storage())
}

/// Notes a moment of the start-up (a User Timing mark, `easel:<what>`), so the gallery
/// benchmark and the browser's performance panel can tell where load time goes.
pub fn mark(what: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(&format!("easel:{what}"));
    }
}

/// Resolves when the browser is idle — it has painted and handled what was waiting, such as
/// thumbnails arriving from storage — or after `timeout_ms` at the latest. Where there is no
/// `requestIdleCallback`, after `timeout_ms`.
pub async fn when_idle(timeout_ms: u32) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let idle = Reflect::has(&window, &JsValue::from_str("requestIdleCallback")).unwrap_or(false);
    let promise = Promise::new(&mut |resolve, _| {
        if idle {
            let options = IdleRequestOptions::new();
            options.set_timeout(timeout_ms);
            if window
                .request_idle_callback_with_options(&resolve, &options)
                .is_ok()
            {
                return;
            }
        }
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            &resolve,
            i32::try_from(timeout_ms).unwrap_or(i32::MAX),
        );
    });
    let _ = JsFuture::from(promise).await;
}
