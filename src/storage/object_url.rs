use wasm_bindgen::JsValue;
use web_sys::{Blob, BlobPropertyBag, Url};

/// A `blob:` URL for image bytes, revoked when the last owner drops it, so the browser can
/// free the bytes. Holds only the URL string (the browser keeps the Blob alive through it),
/// which keeps it `Send` for signals.
#[derive(Debug, PartialEq, Eq)]
pub struct ObjectUrl {
    url: String,
}

impl ObjectUrl {
    /// A URL for a Blob (kept alive by the browser while the URL lives).
    pub fn from_blob(blob: &Blob) -> Result<ObjectUrl, JsValue> {
        Ok(ObjectUrl {
            url: Url::create_object_url_with_blob(blob)?,
        })
    }

    /// A new Blob of type `mime` holding `bytes`, and a URL for it.
    pub fn from_array(
        bytes: &js_sys::Uint8Array,
        mime: &str,
    ) -> Result<(ObjectUrl, Blob), JsValue> {
        let options = BlobPropertyBag::new();
        options.set_type(mime);
        let blob =
            Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(bytes), &options)?;
        Ok((ObjectUrl::from_blob(&blob)?, blob))
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }
}

impl Drop for ObjectUrl {
    fn drop(&mut self) {
        // Revoking cannot fail in a way we could act on.
        let _ = Url::revoke_object_url(&self.url);
    }
}
