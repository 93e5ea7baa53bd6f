//! Generations in flight and their results, newest first. A finished generation is stored in
//! the gallery before it shows as done; a job is recorded as pending while it runs (an edit
//! with its files), so a reload can offer to retry what was cut off.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use easel_core::gallery::{GalleryItem, ITEM_SCHEMA, MadeBy, Timing};
use easel_core::{ApiFailure, Backend, GenerationRequest, pricing, retry};
use futures::future::LocalBoxFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use web_sys::AbortController;

use crate::api::{self, GenerateError, Generation, Upload};
use crate::state::Gallery;
use crate::storage::{NewImage, ObjectUrl, PendingJob, browser};

#[derive(Clone, Debug, PartialEq)]
pub enum JobState {
    /// Sent; waiting for the answer, then storing it.
    Running,
    /// A transient failure; sending again by itself at `resume_at_ms` (`performance.now()`).
    /// `retry` counts from 1.
    Retrying {
        retry: u32,
        resume_at_ms: f64,
        failure: ApiFailure,
    },
    /// Answered. `unsaved` says why the images could not be stored, if they could not: they
    /// stay on this page (and downloadable) until it closes.
    Done {
        generation: Generation,
        unsaved: Option<String>,
        /// How many automatic retries it took.
        retries: u32,
    },
    Failed(ApiFailure),
    Cancelled,
    /// Sent before the page was reloaded or closed; its answer never arrived.
    Interrupted,
}

impl JobState {
    /// Still waiting for an answer (sent, or about to be sent again).
    pub fn is_pending(&self) -> bool {
        matches!(self, JobState::Running | JobState::Retrying { .. })
    }

    /// The name used in the page (`data-state`), for styling and tests.
    pub fn name(&self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Retrying { .. } => "retrying",
            JobState::Done { .. } => "done",
            JobState::Failed(_) => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Interrupted => "interrupted",
        }
    }
}

/// Sends an edit's or variation's files; called again for each retry. The edit page registers
/// it ([`Jobs::set_uploader`]), so the multipart code stays in that page's chunk.
pub type SendUpload = Rc<
    dyn Fn(
        Backend,
        GenerationRequest,
        Rc<Upload>,
        web_sys::AbortSignal,
        Rc<dyn Fn(usize, Arc<ObjectUrl>)>,
    ) -> LocalBoxFuture<'static, Result<Generation, GenerateError>>,
>;

/// An edit or variation: the gallery items it starts from and the files it sends.
pub struct FromImages {
    pub made_by: MadeBy,
    /// Gallery ids of the images used (files picked from disk have none).
    pub parents: Vec<String>,
    pub files: Rc<Upload>,
}

/// One generation request and what became of it.
#[derive(Clone)]
pub struct Job {
    /// Key in this page's list.
    pub id: u64,
    /// Unique across reloads: the gallery's job id.
    pub uid: String,
    pub request: GenerationRequest,
    /// `performance.now()` when it was sent, for the elapsed-time display.
    pub started_ms: f64,
    /// Unix ms when it was sent, for the gallery's timings.
    pub sent_unix_ms: u64,
    pub state: ArcRwSignal<JobState>,
    /// Streamed previews of the images still being made, by image index.
    pub previews: ArcRwSignal<Vec<Option<Arc<ObjectUrl>>>>,
    abort: SendWrapper<Option<AbortController>>,
    /// Set for edits and variations.
    pub from: SendWrapper<Option<Rc<FromImages>>>,
}

impl Job {
    pub fn cancel(&self) {
        if let Some(controller) = (*self.abort).as_ref() {
            controller.abort();
        }
        self.state.clone().update(|s| {
            if s.is_pending() {
                *s = JobState::Cancelled;
            }
        });
    }
}

#[derive(Clone, Copy)]
pub struct Jobs {
    pub list: RwSignal<Vec<Job>>,
    gallery: Gallery,
    uploader: StoredValue<Option<SendUpload>, LocalStorage>,
    /// Whether edits can be sent from this page now (the edit page's code is loaded).
    pub can_upload: RwSignal<bool>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Jobs {
    /// Tracks jobs for this page, and lists the ones a previous page left unfinished.
    pub fn provide(gallery: Gallery) -> Jobs {
        let jobs = Jobs {
            list: RwSignal::new(Vec::new()),
            gallery,
            uploader: StoredValue::new_local(None),
            can_upload: RwSignal::new(false),
        };
        provide_context(jobs);
        spawn_local(async move { jobs.restore_interrupted().await });
        jobs
    }

    async fn restore_interrupted(&self) {
        let Ok(db) = self.gallery.db().await else {
            return;
        };
        for PendingJob {
            uid,
            request_json,
            files,
        } in db.pending().await.unwrap_or_default()
        {
            let Ok(request) = serde_json::from_str::<GenerationRequest>(&request_json) else {
                let _ = db.remove_pending(&uid).await;
                continue;
            };
            let mut job = new_job(uid, request, None, JobState::Interrupted);
            job.from = SendWrapper::new(files.map(|(parents, files)| {
                Rc::new(FromImages {
                    made_by: if files.variation {
                        MadeBy::Variation
                    } else {
                        MadeBy::Edit
                    },
                    parents,
                    files: Rc::new(files),
                })
            }));
            self.list.update(|list| list.push(job));
        }
    }

    /// How edits and variations are sent: given by the edit page when its code has loaded.
    pub fn set_uploader(&self, send: SendUpload) {
        self.uploader.set_value(Some(send));
        self.can_upload.set(true);
    }

    /// Sends the request and tracks it; the card appears at once.
    pub fn start(&self, request: GenerationRequest, backend: Backend) {
        self.launch(request, backend, None);
    }

    /// Sends an edit or variation and tracks it like a generation.
    pub fn start_from(&self, request: GenerationRequest, backend: Backend, from: FromImages) {
        self.launch(request, backend, Some(Rc::new(from)));
    }

    /// Sends a job's request again, with the same images if it had any.
    pub fn again(&self, job: &Job, backend: Backend) {
        self.launch(job.request.clone(), backend, (*job.from).clone());
    }

    fn launch(&self, request: GenerationRequest, backend: Backend, from: Option<Rc<FromImages>>) {
        let controller = AbortController::new().ok();
        let signal = controller.as_ref().map(AbortController::signal);
        let mut job = new_job(unique_id(), request, controller, JobState::Running);
        job.from = SendWrapper::new(from);
        self.list.update(|list| list.insert(0, job.clone()));
        let Some(signal) = signal else {
            job.state.set(JobState::Failed(ApiFailure::network(
                "This browser cannot send requests.",
            )));
            return;
        };
        let (gallery, uploader) = (self.gallery, self.uploader);
        spawn_local(async move {
            #[cfg(easel_split)]
            match easel_run_job(job.clone(), backend, gallery, uploader, signal).await {
                Ok(running) => running.await,
                Err(e) => job.state.update(|state| {
                    if state.is_pending() {
                        *state = JobState::Failed(ApiFailure::network(e.0));
                    }
                }),
            }
            #[cfg(not(easel_split))]
            run(job, backend, gallery, uploader, signal).await;
        });
    }

    /// Tries again to store a generation whose save failed (e.g. the disk was full).
    pub fn save_again(&self, job: &Job) {
        let unsaved = job.state.with_untracked(|s| match s {
            JobState::Done {
                generation,
                unsaved: Some(_),
                retries,
            } => Some((generation.clone(), *retries)),
            _ => None,
        });
        let Some((generation, retries)) = unsaved else {
            return;
        };
        let (gallery, job) = (self.gallery, job.clone());
        spawn_local(async move {
            // A finished job ran in the runner's chunk, so it is loaded and this cannot fail.
            #[cfg(easel_split)]
            if let Ok(saving) = easel_save_again(job, generation, retries, gallery).await {
                saving.await;
            }
            #[cfg(not(easel_split))]
            save_again(job, generation, retries, gallery).await;
        });
    }

    /// Removes a job from the page, cancelling it if it still runs; its images are released
    /// (stored ones stay in the gallery).
    pub fn dismiss(&self, id: u64) {
        let mut removed = None;
        self.list.update(|list| {
            if let Some(pos) = list.iter().position(|j| j.id == id) {
                removed = Some(list.remove(pos));
            }
        });
        if let Some(job) = removed {
            job.cancel();
            if job.state.with_untracked(|s| *s == JobState::Interrupted) {
                let gallery = self.gallery;
                spawn_local(async move {
                    if let Ok(db) = gallery.db().await {
                        let _ = db.remove_pending(&job.uid).await;
                    }
                });
            }
        }
    }
}

/// Why a job could not start: the runner's code did not arrive.
#[cfg(easel_split)]
struct NotLoaded(&'static str);

#[cfg(easel_split)]
impl From<leptos::wasm_split::SplitLoaderError> for NotLoaded {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> NotLoaded {
        NotLoaded(
            "Easel could not download the code that sends requests; check the connection and \
             try again.",
        )
    }
}

/// Running a job (sending, reading the answer, storing it) is a wasm chunk of its own in
/// release builds (`--cfg easel_split`): the studio works before it arrives, and the prompt
/// form fetches it when typing starts (see [`preload_runner`]). It is fetched before anything
/// is sent, so a chunk that cannot be fetched costs no request.
#[cfg(easel_split)]
#[leptos::wasm_split::wasm_split(
    easel_jobs,
    wasm_split_path = ::leptos::wasm_split,
    fallible,
    preload(preload_jobs)
)]
fn easel_run_job(
    job: Job,
    backend: Backend,
    gallery: Gallery,
    uploader: StoredValue<Option<SendUpload>, LocalStorage>,
    signal: web_sys::AbortSignal,
) -> Result<LocalBoxFuture<'static, ()>, NotLoaded> {
    Ok(Box::pin(run(job, backend, gallery, uploader, signal)))
}

#[cfg(easel_split)]
#[leptos::wasm_split::wasm_split(easel_jobs, wasm_split_path = ::leptos::wasm_split, fallible)]
fn easel_save_again(
    job: Job,
    generation: Generation,
    retries: u32,
    gallery: Gallery,
) -> Result<LocalBoxFuture<'static, ()>, NotLoaded> {
    Ok(Box::pin(save_again(job, generation, retries, gallery)))
}

/// Fetches the code that runs jobs, so the first generation need not wait for it. Called
/// when typing a prompt starts; a failure is met again, and reported, when a job starts.
pub fn preload_runner() {
    #[cfg(easel_split)]
    {
        static ASKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !ASKED.swap(true, Ordering::Relaxed) {
            spawn_local(async {
                let _ = preload_jobs().await;
            });
        }
    }
}

/// Records the job as pending, sends it (again after transient failures) and stores its
/// answer in the gallery.
async fn run(
    job: Job,
    backend: Backend,
    gallery: Gallery,
    uploader: StoredValue<Option<SendUpload>, LocalStorage>,
    signal: web_sys::AbortSignal,
) {
    if signal.aborted() {
        return;
    }
    let db = gallery.db().await.ok();
    // An edit keeps its files with it, so that after a reload it can be sent again.
    if let (Some(db), Ok(json)) = (&db, serde_json::to_string(&job.request)) {
        let files = (*job.from)
            .as_ref()
            .map(|f| (f.parents.as_slice(), &*f.files));
        let _ = db.add_pending(&job.uid, &json, files).await;
    }
    let mut retries = 0;
    let outcome = loop {
        let previews = job.previews.clone();
        let on_preview = move |index: usize, url: Arc<ObjectUrl>| {
            previews.clone().update(|list| {
                if list.len() <= index {
                    list.resize(index + 1, None);
                }
                list[index] = Some(url);
            });
        };
        let outcome = match (*job.from).as_ref() {
            Some(from) => match uploader.with_value(Clone::clone) {
                Some(send) => {
                    let (backend, request) = (backend.clone(), job.request.clone());
                    let files = Rc::clone(&from.files);
                    send(backend, request, files, signal.clone(), Rc::new(on_preview)).await
                }
                None => Err(GenerateError::Failed(ApiFailure::network(
                    "Edits are sent from the edit page: open Edit and retry there.",
                ))),
            },
            None => api::generate(&backend, &job.request, &signal, &on_preview).await,
        };
        // Previews are only for the wait; the answer (or a retry) replaces them.
        job.previews.clone().set(Vec::new());
        let Err(GenerateError::Failed(failure)) = &outcome else {
            break outcome;
        };
        let Some(wait) = retry::delay_ms(failure, retries + 1, js_sys::Math::random()) else {
            break outcome;
        };
        retries += 1;
        job.state.set(JobState::Retrying {
            retry: retries,
            resume_at_ms: now_ms() + wait as f64,
            failure: failure.clone(),
        });
        sleep_ms(wait).await;
        if signal.aborted() {
            break Err(GenerateError::Cancelled);
        }
        job.state.set(JobState::Running);
    };
    let next = match outcome {
        Ok(generation) => stored(&job, generation, retries, gallery).await,
        Err(GenerateError::Cancelled) => JobState::Cancelled,
        Err(GenerateError::Failed(failure)) => JobState::Failed(failure),
    };
    if let Some(db) = &db {
        let _ = db.remove_pending(&job.uid).await;
    }
    job.state.update(|state| {
        // A cancelled job stays cancelled even if an answer raced the abort.
        if state.is_pending() {
            *state = next;
        }
    });
}

async fn save_again(job: Job, generation: Generation, retries: u32, gallery: Gallery) {
    job.state
        .set(stored(&job, generation, retries, gallery).await);
}

/// The job's answer stored in the gallery: done, saying why if it could not be stored.
async fn stored(job: &Job, generation: Generation, retries: u32, gallery: Gallery) -> JobState {
    let records = gallery_records(job, &generation).await;
    let unsaved = gallery.save(records).await.err().map(|e| e.to_string());
    JobState::Done {
        generation,
        unsaved,
        retries,
    }
}

fn new_job(
    uid: String,
    request: GenerationRequest,
    abort: Option<AbortController>,
    state: JobState,
) -> Job {
    Job {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        uid,
        request,
        started_ms: now_ms(),
        sent_unix_ms: js_sys::Date::now() as u64,
        state: ArcRwSignal::new(state),
        previews: ArcRwSignal::new(Vec::new()),
        abort: SendWrapper::new(abort),
        from: SendWrapper::new(None),
    }
}

/// The gallery records of a finished generation: metadata, bytes and a thumbnail per image.
async fn gallery_records(job: &Job, generation: &Generation) -> Vec<(GalleryItem, NewImage)> {
    let started_ms = job.sent_unix_ms;
    let finished_ms = js_sys::Date::now() as u64;
    let mut records = Vec::with_capacity(generation.images.len());
    // The request's cost, shared equally by its images.
    let cost = pricing::actual(&job.request, generation.usage.as_ref())
        .map(|total| total / generation.images.len().max(1) as f64);
    // An SVG's size is not read from its bytes (see `easel_core::files::dimensions`): it is
    // the size it was made at.
    let made_at = generation
        .size
        .as_deref()
        .or(job.request.size.as_deref())
        .and_then(easel_core::Size::parse);
    for (index, image) in generation.images.iter().enumerate() {
        let id = format!("{}-{index}", job.uid);
        let (width, height) = match made_at {
            Some(size) if image.width == 0 => (size.width, size.height),
            _ => (image.width, image.height),
        };
        let item = GalleryItem {
            schema: ITEM_SCHEMA,
            id: id.clone(),
            sha256: image.hash.clone(),
            mime: image.format.mime().to_owned(),
            bytes: image.byte_len,
            crc32: Some(image.crc32),
            width,
            height,
            prompt: job.request.prompt.clone(),
            revised_prompt: image.revised_prompt.clone(),
            model: job.request.model.clone(),
            request: job.request.clone(),
            usage: generation.usage.clone(),
            cost,
            timing: Timing {
                started_ms,
                finished_ms,
            },
            created_ms: finished_ms,
            parents: (*job.from)
                .as_ref()
                .map_or_else(Vec::new, |f| f.parents.clone()),
            made_by: (*job.from)
                .as_ref()
                .map_or(MadeBy::Generation, |f| f.made_by),
            favorite: false,
            collections: Vec::new(),
            job_id: job.uid.clone(),
            index: index as u32,
        };
        // A missing thumbnail only costs speed: the grid falls back to the full image.
        let thumb = browser::thumbnail(&image.blob, width, height).await.ok();
        let record = NewImage {
            id,
            job: job.uid.clone(),
            created: finished_ms as f64,
            hash: image.hash.clone(),
            meta: item.to_json(),
            image: (*image.blob).clone(),
            thumb,
        };
        records.push((item, record));
    }
    records
}

/// A job id unique across reloads and tabs: time plus randomness.
fn unique_id() -> String {
    let random = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    format!("{:x}-{random:08x}", js_sys::Date::now() as u64)
}

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_default()
}

/// Waits `ms` milliseconds without blocking the page.
async fn sleep_ms(ms: u64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
