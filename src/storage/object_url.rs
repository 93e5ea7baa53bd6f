use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, Url};

const SVG: &str = "image/svg+xml";

/// A `blob:` URL for image bytes, revoked when the last owner drops it, so the browser can
/// free the bytes. Holds only the URL string (the browser keeps the Blob alive through it),
/// which keeps it `Send` for signals.
///
/// An SVG never gets a URL of its own type: opened in a tab of its own, an SVG is a document
/// that runs its scripts as this site (see `easel_core::files::inert_svg`). A URL to show one
/// is of an inert wrapper; a URL to save one is of its bytes typed as a plain file.
#[derive(Debug, PartialEq, Eq)]
pub struct ObjectUrl {
    url: String,
}

impl ObjectUrl {
    /// A URL to save a Blob from (kept alive by the browser while the URL lives). Also shows
    /// every image type but SVG.
    pub fn from_blob(blob: &Blob) -> Result<ObjectUrl, JsValue> {
        let url = if blob.type_() == SVG {
            let bytes = blob.slice_with_f64_and_f64_and_content_type(
                0.0,
                blob.size(),
                "application/octet-stream",
            )?;
            Url::create_object_url_with_blob(&bytes)?
        } else {
            Url::create_object_url_with_blob(blob)?
        };
        Ok(ObjectUrl { url })
    }

    /// A URL to show a stored image.
    pub async fn shown(blob: &Blob) -> Result<ObjectUrl, JsValue> {
        if blob.type_() != SVG {
            return ObjectUrl::from_blob(blob);
        }
        let bytes = js_sys::Uint8Array::new(&JsFuture::from(blob.array_buffer()).await?);
        inert_svg_url(&bytes)
    }

    /// A new Blob of type `mime` holding `bytes`, and a URL to show it.
    pub fn from_array(
        bytes: &js_sys::Uint8Array,
        mime: &str,
    ) -> Result<(ObjectUrl, Blob), JsValue> {
        let blob = blob_of(bytes, mime)?;
        let url = if mime == SVG {
            inert_svg_url(bytes)?
        } else {
            ObjectUrl::from_blob(&blob)?
        };
        Ok((url, blob))
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }
}

/// A URL of the inert wrapper that shows the SVG `bytes`.
fn inert_svg_url(bytes: &js_sys::Uint8Array) -> Result<ObjectUrl, JsValue> {
    let inert = easel_core::files::inert_svg(&bytes.to_vec());
    let wrapper = blob_of(&js_sys::Uint8Array::from(inert.as_bytes()), SVG)?;
    Ok(ObjectUrl {
        url: Url::create_object_url_with_blob(&wrapper)?,
    })
}

fn blob_of(bytes: &js_sys::Uint8Array, mime: &str) -> Result<Blob, JsValue> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(bytes), &options)
}

impl Drop for ObjectUrl {
    fn drop(&mut self) {
        // Revoking cannot fail in a way we could act on.
        let _ = Url::revoke_object_url(&self.url);
    }
}
