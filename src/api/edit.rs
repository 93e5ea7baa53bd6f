//! Edits and variations: multipart bodies in the order and with the names `core::edit` gives,
//! answered like generations (JSON, or `image_edit.*` events when streaming).
//!
//! Only the editor page calls this, so in release builds it lives in that page's chunk.

use std::sync::Arc;

use easel_core::ApiFailure;
use easel_core::edit::{Guide, PartValue, edit_parts, variation_parts};
use easel_core::files::ImageFormat;
use easel_core::{Backend, GenerationRequest};
use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, Blob, FormData};

use super::fetch;
use super::generate::{GenerateError, Generation, failed, read_answer};
use crate::storage::ObjectUrl;

/// The files of an edit (several images and a mask) or a variation (one image).
#[derive(Clone, Debug)]
pub struct Upload {
    pub variation: bool,
    /// In order: the mask applies to the first.
    pub images: Vec<Blob>,
    /// A PNG of the first image's size, transparent where the image may change.
    pub mask: Option<Blob>,
    /// Or a `markup` guide: marks on a transparent PNG of the first image's size.
    pub markup: Option<Blob>,
}

impl Upload {
    /// The painted layer sent with the images, if any (a mask wins: they never go together).
    fn layer(&self) -> Option<(Guide, &Blob)> {
        match (&self.mask, &self.markup) {
            (Some(mask), _) => Some((Guide::Mask, mask)),
            (None, Some(markup)) => Some((Guide::Markup, markup)),
            (None, None) => None,
        }
    }
}

/// Sends an edit or variation and reads its images.
pub async fn send_upload(
    backend: &Backend,
    request: &GenerationRequest,
    upload: &Upload,
    signal: &AbortSignal,
    on_preview: &dyn Fn(usize, Arc<ObjectUrl>),
) -> Result<Generation, GenerateError> {
    let form = form(request, upload).map_err(|e| {
        GenerateError::Failed(ApiFailure::malformed(format!(
            "The files could not be prepared: {}",
            fetch::describe(&e)
        )))
    })?;
    let path = if upload.variation {
        "images/variations"
    } else {
        "images/edits"
    };
    // No Content-Type: the browser writes the multipart boundary itself.
    let headers = backend.auth_headers();
    let response = fetch::send_body(
        &backend.endpoint(path),
        "POST",
        &headers,
        Some(&JsValue::from(form)),
        Some(signal),
    )
    .await
    .map_err(|e| failed(backend, signal, fetch::no_answer(&e)))?;
    read_answer(backend, &response, request, signal, on_preview).await
}

fn form(request: &GenerationRequest, upload: &Upload) -> Result<FormData, JsValue> {
    let parts = if upload.variation {
        variation_parts(request)
    } else {
        edit_parts(
            request,
            upload.images.len(),
            upload.layer().map(|(guide, _)| guide),
        )
    };
    let form = FormData::new()?;
    for part in parts {
        match part.value {
            PartValue::Text(text) => form.append_with_str(part.name, &text)?,
            PartValue::Image(index) => {
                let Some(image) = upload.images.get(index) else {
                    continue;
                };
                // Servers check the file name's extension as well as its type.
                let file_name = format!("image-{}.{}", index + 1, extension(image));
                form.append_with_blob_and_filename(part.name, image, &file_name)?
            }
            PartValue::Layer => {
                if let Some((guide, layer)) = upload.layer() {
                    let file_name = format!("{}.png", guide.field());
                    form.append_with_blob_and_filename(part.name, layer, &file_name)?
                }
            }
        }
    }
    Ok(form)
}

fn extension(blob: &Blob) -> &'static str {
    match blob.type_().as_str() {
        "image/jpeg" => ImageFormat::Jpeg.extension(),
        "image/webp" => ImageFormat::Webp.extension(),
        _ => ImageFormat::Png.extension(),
    }
}
