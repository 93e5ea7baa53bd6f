//! Generations in flight and their results, newest first.

use std::sync::atomic::{AtomicU64, Ordering};

use easel_core::{Backend, GenerationRequest};
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use web_sys::AbortController;

use crate::api::{self, GenerateError, Generation};

#[derive(Clone, Debug, PartialEq)]
pub enum JobState {
    Running,
    Done(Generation),
    Failed(easel_core::ApiFailure),
    Cancelled,
}

impl JobState {
    /// The name used in the page (`data-state`), for styling and tests.
    pub fn name(&self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done(_) => "done",
            JobState::Failed(_) => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// One generation request and what became of it.
#[derive(Clone)]
pub struct Job {
    pub id: u64,
    pub request: GenerationRequest,
    /// `performance.now()` when it was sent, for the elapsed-time display.
    pub started_ms: f64,
    pub state: ArcRwSignal<JobState>,
    abort: SendWrapper<Option<AbortController>>,
}

impl Job {
    pub fn cancel(&self) {
        if let Some(controller) = self.abort.as_ref() {
            controller.abort();
        }
        let state = self.state.clone();
        state.update(|s| {
            if *s == JobState::Running {
                *s = JobState::Cancelled;
            }
        });
    }
}

#[derive(Clone, Copy)]
pub struct Jobs {
    pub list: RwSignal<Vec<Job>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Jobs {
    pub fn provide() -> Jobs {
        let jobs = Jobs {
            list: RwSignal::new(Vec::new()),
        };
        provide_context(jobs);
        jobs
    }

    /// Sends the request and tracks it; the card appears at once.
    pub fn start(&self, request: GenerationRequest, backend: Backend) {
        let controller = AbortController::new().ok();
        let signal = controller.as_ref().map(AbortController::signal);
        let job = Job {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            request,
            started_ms: now_ms(),
            state: ArcRwSignal::new(JobState::Running),
            abort: SendWrapper::new(controller),
        };
        self.list.update(|list| list.insert(0, job.clone()));
        let Some(signal) = signal else {
            job.state
                .set(JobState::Failed(easel_core::ApiFailure::network(
                    "This browser cannot send requests.",
                )));
            return;
        };
        spawn_local(async move {
            let outcome = api::generate(&backend, &job.request, &signal).await;
            job.state.update(|state| {
                // A cancelled job stays cancelled even if an answer raced the abort.
                if *state == JobState::Running {
                    *state = match outcome {
                        Ok(generation) => JobState::Done(generation),
                        Err(GenerateError::Cancelled) => JobState::Cancelled,
                        Err(GenerateError::Failed(failure)) => JobState::Failed(failure),
                    };
                }
            });
        });
    }

    /// Removes a job from the page, cancelling it if it still runs; its images are released.
    pub fn dismiss(&self, id: u64) {
        self.list.update(|list| {
            if let Some(pos) = list.iter().position(|j| j.id == id) {
                list.remove(pos).cancel();
            }
        });
    }
}

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_default()
}
