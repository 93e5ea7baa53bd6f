//! Raw deflate through the browser's `CompressionStream` / `DecompressionStream`: no deflate
//! code in the wasm. The recipe links' codec (`easel_core::share`) uses it.

use easel_core::share::{Inflated, ShareError, ShareManifest, decode_payload, encode_payload};
use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ReadableStream, ReadableStreamDefaultReader, ReadableWritablePair};

// web-sys has these behind `web_sys_unstable_apis`; two constructors are all the app needs.
#[wasm_bindgen]
extern "C" {
    /// A `CompressionStream` or `DecompressionStream`: a `{readable, writable}` pair.
    type CodecStream;
    #[wasm_bindgen(catch, constructor, js_class = "CompressionStream")]
    fn compression(format: &str) -> Result<CodecStream, JsValue>;
    #[wasm_bindgen(catch, constructor, js_class = "DecompressionStream")]
    fn decompression(format: &str) -> Result<CodecStream, JsValue>;
}

/// `bytes` compressed as raw deflate (RFC 1951).
pub async fn deflate_raw(bytes: &[u8]) -> Result<Vec<u8>, JsValue> {
    let stream = CodecStream::compression("deflate-raw")?;
    let reader = piped(bytes, stream.unchecked_ref())?;
    let mut out = Vec::new();
    while let Some(piece) = next(&reader).await? {
        out.extend(piece.to_vec());
    }
    Ok(out)
}

/// Inflates raw deflate data into `out`, piece by piece as the browser produces it. At the
/// first piece past `out`'s limit the stream is cancelled and the data refused: a small
/// payload that would inflate to gigabytes never does.
pub async fn inflate_raw(deflated: &[u8], out: &mut Inflated) -> Result<(), ShareError> {
    let broken = |e: JsValue| ShareError::Inflate(describe(&e));
    let stream = CodecStream::decompression("deflate-raw").map_err(broken)?;
    let reader = piped(deflated, stream.unchecked_ref()).map_err(broken)?;
    while let Some(piece) = next(&reader).await.map_err(broken)? {
        // Read out of the browser's memory only what still fits.
        if let Err(too_large) = out.check_room(piece.length() as usize) {
            let _ = reader.cancel();
            return Err(too_large);
        }
        out.push(&piece.to_vec())?;
    }
    Ok(())
}

/// A reader of `bytes` piped through a transform stream.
fn piped(
    bytes: &[u8],
    transform: &ReadableWritablePair,
) -> Result<ReadableStreamDefaultReader, JsValue> {
    // With options, like every other Blob the app makes: one browser call fewer in the glue.
    let blob = Blob::new_with_u8_array_sequence_and_options(
        &Array::of1(&Uint8Array::from(bytes)),
        &web_sys::BlobPropertyBag::new(),
    )?;
    let output: ReadableStream = blob.stream().pipe_through(transform);
    Ok(output.get_reader().unchecked_into())
}

/// The next piece of a byte stream; `None` at its end.
async fn next(reader: &ReadableStreamDefaultReader) -> Result<Option<Uint8Array>, JsValue> {
    let result = JsFuture::from(reader.read()).await?;
    if Reflect::get(&result, &JsValue::from_str("done"))?
        .as_bool()
        .unwrap_or(true)
    {
        return Ok(None);
    }
    Ok(Some(
        Reflect::get(&result, &JsValue::from_str("value"))?.unchecked_into(),
    ))
}

fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the browser could not unpack it".to_owned())
}

/// A recipe payload (`"1" + base64url(deflate-raw(JSON))`) of a checked manifest.
pub async fn encode_recipe(manifest: &ShareManifest) -> Result<String, ShareError> {
    manifest.check()?;
    let deflated = deflate_raw(manifest.to_json().as_bytes())
        .await
        .map_err(|e| ShareError::Inflate(describe(&e)))?;
    Ok(encode_payload(&deflated))
}

/// The manifest a recipe payload carries: length and version first, then base64url, then
/// inflated with the limit, then checked. Never panics: every failure is a [`ShareError`].
pub async fn decode_recipe(payload: &str) -> Result<ShareManifest, ShareError> {
    let deflated = decode_payload(payload)?;
    let mut out = Inflated::default();
    inflate_raw(&deflated, &mut out).await?;
    ShareManifest::parse(&out.into_bytes())
}
