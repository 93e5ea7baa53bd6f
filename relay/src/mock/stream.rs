//! Streamed answers (`stream: true`): Server-Sent Events as the API sends them —
//! `<kind>.partial_image` previews, each finer than the last, then `<kind>.completed` with the
//! finished image and usage. Events are written as they are drawn, with the generator's latency
//! spread between them, so progress UIs see them arrive one by one.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use easel_core::Usage;
use easel_core::catalog::{self, ResultEncoding};
use tokio::sync::mpsc;

use super::{Plan, now, plan_size};
use crate::AppError;
use crate::inspect::Form;

/// Draws image `index`: its previews and the finished picture, encoded.
pub(super) type Render =
    Arc<dyn Fn(u32) -> image::ImageResult<(Vec<Vec<u8>>, Vec<u8>)> + Send + Sync>;

pub(super) struct Job {
    /// `image_generation` or `image_edit`: the events' prefix.
    pub kind: &'static str,
    pub count: u32,
    pub partials: u32,
    pub plan: Plan,
    pub latency: Duration,
    /// Per image.
    pub usage: Usage,
    pub render: Render,
}

/// `Some(partial_images)` when the request asks to stream and the model can.
pub(super) fn requested(model: &str, form: &Form) -> Result<Option<u32>, AppError> {
    if !form.streams() {
        return Ok(None);
    }
    if catalog::find(model).is_some_and(|m| m.results != ResultEncoding::AlwaysBase64) {
        return Err(AppError::InvalidRequest {
            message: format!("Streaming is not supported for {model}."),
            param: Some("stream".into()),
            code: "invalid_value",
        });
    }
    let partials = match form.field("partial_images") {
        None => 0,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 3)
            .ok_or_else(|| AppError::InvalidRequest {
                message: format!("Invalid 'partial_images': must be between 0 and 3 (got {text})."),
                param: Some("partial_images".into()),
                code: "integer_out_of_range",
            })?,
    };
    Ok(Some(partials))
}

pub(super) fn respond(job: Job) -> Response {
    let (events, receiver) = mpsc::channel::<Bytes>(2);
    tokio::spawn(async move {
        // A send fails once the client is gone: the job stops there.
        let _ = produce(job, &events).await;
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        Some((Ok::<_, std::convert::Infallible>(event), receiver))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(body))
        .expect("static parts are valid")
}

async fn produce(job: Job, events: &mpsc::Sender<Bytes>) -> Result<(), ()> {
    let pause = job.latency / (job.partials + 1);
    let fields = serde_json::json!({
        "size": plan_size(&job.plan).to_string(),
        "quality": job.plan.quality(),
        "background": job.plan.background(),
        "output_format": job.plan.spec.format.name(),
    });
    for index in 0..job.count {
        let render = Arc::clone(&job.render);
        let drawn = super::off_thread(move || render(index)).await;
        let (previews, finished) = match drawn {
            Ok(Ok(drawn)) => drawn,
            failed => {
                let detail = match failed {
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                    Ok(Ok(_)) => unreachable!(),
                };
                let error = AppError::Internal(detail);
                return events.send(error.sse_event()).await.map_err(drop);
            }
        };
        for (partial_index, preview) in previews.into_iter().enumerate() {
            tokio::time::sleep(pause).await;
            let mut data = fields.clone();
            data["type"] = format!("{}.partial_image", job.kind).into();
            data["b64_json"] = STANDARD.encode(preview).into();
            data["created_at"] = now().into();
            data["partial_image_index"] = partial_index.into();
            send(events, &format!("{}.partial_image", job.kind), &data).await?;
        }
        tokio::time::sleep(pause).await;
        let mut data = fields.clone();
        data["type"] = format!("{}.completed", job.kind).into();
        data["b64_json"] = STANDARD.encode(finished).into();
        data["created_at"] = now().into();
        data["usage"] = serde_json::to_value(&job.usage).unwrap_or_default();
        send(events, &format!("{}.completed", job.kind), &data).await?;
    }
    Ok(())
}

async fn send(
    events: &mpsc::Sender<Bytes>,
    name: &str,
    data: &serde_json::Value,
) -> Result<(), ()> {
    let event = format!("event: {name}\ndata: {data}\n\n");
    events.send(event.into()).await.map_err(drop)
}
