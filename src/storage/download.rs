//! Files going out of the browser: a PNG carries its prompt and settings (an `iTXt` chunk,
//! pixels untouched), and a Blob is saved under a readable name.

use easel_core::files::ImageFormat;
use easel_core::gallery::GalleryItem;
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement};

use crate::storage::ObjectUrl;

/// How long a download's object URL lives: the browser has read the Blob long before.
const REVOKE_AFTER_MS: u64 = 30_000;

/// The file to download for `item`: for a PNG, the same bytes with the item's
/// [`EmbeddedSettings`](easel_core::gallery::EmbeddedSettings) in an `easel` `iTXt` chunk, so
/// dropping it on the studio restores them; any other format unchanged. A PNG that cannot take
/// the chunk (damaged) is also given unchanged: the image matters more than its settings.
pub async fn file_for_download(item: &GalleryItem, image: &Blob) -> Result<Blob, JsValue> {
    if item.mime != ImageFormat::Png.mime() {
        return Ok(image.clone());
    }
    let bytes = blob_bytes(image).await?;
    match item.embedded_settings().write_into_png(&bytes) {
        Ok(with_settings) => bytes_to_blob(&with_settings, ImageFormat::Png.mime()),
        Err(_) => Ok(image.clone()),
    }
}

/// The download name of an item: `a-fox-in-snow-2.png` (its prompt, its position from 1).
pub fn download_name(item: &GalleryItem) -> String {
    let extension = ImageFormat::from_mime(&item.mime).map_or("bin", ImageFormat::extension);
    easel_core::files::download_name(&item.prompt, item.index as usize + 1, extension)
}

/// Saves `blob` as a file named `file_name`, through a temporary `<a download>` whose object
/// URL is revoked once the browser has had time to read it. Failures (no document) are
/// silent: there is nothing the page could do instead.
pub fn save_as(blob: &Blob, file_name: &str) {
    let Ok(url) = ObjectUrl::from_blob(blob) else {
        return;
    };
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(anchor) = document
        .create_element("a")
        .map(JsCast::unchecked_into::<HtmlAnchorElement>)
    else {
        return;
    };
    anchor.set_href(url.as_str());
    anchor.set_download(file_name);
    anchor.set_hidden(true);
    // Some browsers only follow a link that is in the document.
    if let Some(body) = document.body() {
        let _ = body.append_child(&anchor);
    }
    anchor.click();
    anchor.remove();
    leptos::prelude::set_timeout(
        move || drop(url),
        std::time::Duration::from_millis(REVOKE_AFTER_MS),
    );
}

/// The bytes of a Blob, copied into wasm memory (one image at a time).
pub(crate) async fn blob_bytes(blob: &Blob) -> Result<Vec<u8>, JsValue> {
    let buffer = JsFuture::from(blob.array_buffer()).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

pub(crate) fn bytes_to_blob(bytes: &[u8], mime: &str) -> Result<Blob, JsValue> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let array = Uint8Array::from(bytes);
    Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(&array), &options)
}
