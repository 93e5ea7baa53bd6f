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
    /// Copies `bytes` into a new Blob of type `mime` and makes a URL for it.
    pub fn from_bytes(bytes: &[u8], mime: &str) -> Result<ObjectUrl, JsValue> {
        let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
        let options = BlobPropertyBag::new();
        options.set_type(mime);
        let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
        Ok(ObjectUrl {
            url: Url::create_object_url_with_blob(&blob)?,
        })
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
