//! What the browser offers for images: hashing, thumbnails, and storage health.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, ImageBitmap, ImageBitmapOptions, ImageBitmapRenderingContext, ImageEncodeOptions,
    OffscreenCanvas,
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

/// A small WebP thumbnail, decoded and scaled by the browser (off the main thread where it
/// can), so the grid never decodes full-size images.
pub async fn thumbnail(image: &Blob, width: u32, height: u32) -> Result<Blob, JsValue> {
    // Chromium cannot make a bitmap from an SVG Blob; a vector scales itself and is small, so
    // it is its own thumbnail (shown, like the image, only through `<img>`). A GIF's thumbnail
    // is its first frame.
    if image.type_() == easel_core::files::ImageFormat::Svg.mime() {
        return Ok(image.clone());
    }
    let scale = f64::from(THUMB_EDGE) / f64::from(width.max(height).max(1));
    let (w, h) = if scale < 1.0 {
        (
            (f64::from(width) * scale).round().max(1.0) as u32,
            (f64::from(height) * scale).round().max(1.0) as u32,
        )
    } else {
        (width.max(1), height.max(1))
    };
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
    encode.set_type("image/webp");
    encode.set_quality(0.8);
    JsFuture::from(canvas.convert_to_blob_with_options(&encode)?)
        .await?
        .dyn_into()
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
