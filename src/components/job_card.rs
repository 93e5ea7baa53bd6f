use easel_core::{decimal, pricing, retry};
use std::time::Duration;

use easel_core::ApiFailure;
use easel_core::files::{ImageFormat, download_name};
use leptos::prelude::*;

use crate::api::Generation;
use crate::state::{Job, JobState, Jobs, Settings, jobs::now_ms};
use crate::storage::ObjectUrl;

/// One generation: placeholders while it runs, then its images, or what went wrong.
#[component]
pub fn JobCard(job: Job) -> impl IntoView {
    let jobs = expect_context::<Jobs>();
    let settings = expect_context::<Settings>();
    let state = job.state.clone();
    let id = job.id;
    let n = job.request.image_count();
    let model = job.request.model.clone();
    let asked_size = job
        .request
        .size
        .clone()
        .unwrap_or_else(|| "default size".to_owned());
    let prompt = job.request.prompt.clone();
    // "Edit · " or "Variation · " before the model, for jobs made from images.
    let kind = (*job.from)
        .as_ref()
        .and_then(|f| f.made_by.label())
        .map_or(String::new(), |label| format!("{label} · "));

    let elapsed = RwSignal::new(0u64);
    let started = job.started_ms;
    if let Ok(ticker) = set_interval_with_handle(
        move || elapsed.set(((now_ms() - started) / 1000.0) as u64),
        Duration::from_millis(500),
    ) {
        let running = state.clone();
        Effect::new(move |_| {
            if running.with(|s| !s.is_pending()) {
                ticker.clear();
            }
        });
        on_cleanup(move || ticker.clear());
    }

    let body = {
        let state = state.clone();
        let job = job.clone();
        move || {
            match state.get() {
            pending @ (JobState::Running | JobState::Retrying { .. }) => {
                let job = job.clone();
                let retrying = match pending {
                    JobState::Retrying { retry, resume_at_ms, failure } => Some((retry, resume_at_ms, failure)),
                    _ => None,
                };
                let progress = move || match &retrying {
                    Some((retry, resume_at_ms, failure)) => {
                        elapsed.track();
                        let left = ((resume_at_ms - now_ms()) / 1000.0).ceil().max(0.0) as u64;
                        let what = failure.status.map_or("No answer".to_owned(), |s| format!("HTTP {s}"));
                        format!("{what}: retrying in {left} s… (retry {retry} of {})", retry::MAX_RETRIES)
                    }
                    None => format!("Generating… {} s", elapsed.get()),
                };
                let previews = job.previews.clone();
                view! {
                    <div class="results">
                        {(0..n as usize).map(|index| {
                            let previews = previews.clone();
                            let preview = move || previews.with(|p| p.get(index).cloned().flatten());
                            view! {
                                <div class="placeholder" aria-busy="true">
                                    {move || preview().map(|url| view! {
                                        <img class="preview" src=url.as_str().to_owned() alt="Preview of the image being made" />
                                    })}
                                    <span class="spinner" aria-hidden="true"></span>
                                    <span class="elapsed">{progress.clone()}</span>
                                </div>
                            }
                        }).collect_view()}
                    </div>
                    <button type="button" class="cancel" on:click=move |_| job.cancel()>"Cancel"</button>
                }
                .into_any()
            }
            JobState::Done { generation, unsaved, retries } => view! {
                {(retries > 0).then(|| view! {
                    <p class="hint job-retried">
                        {format!("Succeeded after {retries} automatic {}.", if retries == 1 { "retry" } else { "retries" })}
                    </p>
                })}
                {unsaved.map(|reason| view! {
                    <p class="unsaved" role="alert">
                        {format!("Not saved to the gallery: {reason} ")}
                        "The images stay here until this page closes: download the ones you want to keep, or free some space and "
                        <button type="button" class="save-again" on:click={
                            let job = job.clone();
                            move |_| jobs.save_again(&job)
                        }>"save again"</button>
                        "."
                    </p>
                })}
                {pricing::actual(&job.request, generation.usage.as_ref()).map(|cost| view! {
                    <p class="job-cost hint">{format!("Cost {}", decimal::dollars(cost))}</p>
                })}
                <Results generation prompt=prompt.clone() />
            }
            .into_any(),
            JobState::Failed(failure) => view! { <FailureNote failure job=job.clone() /> }.into_any(),
            JobState::Interrupted => {
                let job = job.clone();
                // An edit is sent by the edit page's code, loaded when that page is opened.
                let edit = job.from.is_some();
                view! {
                    <p class="interrupted">"Interrupted: the page was closed or reloaded before the answer arrived."</p>
                    <Show when=move || !edit || jobs.can_upload.get()
                        fallback=|| view! { <a class="button retry" href=crate::site::href("/edit")>"Retry on the edit page"</a> }>
                        <button type="button" class="retry" on:click={
                            let job = job.clone();
                            move |_| jobs.again(&job, settings.backend())
                        }>"Retry"</button>
                    </Show>
                }
                .into_any()
            }
            JobState::Cancelled => {
                view! { <p class="cancelled">{move || format!("Cancelled after {} s. Nothing was kept.", elapsed.get())}</p> }
                    .into_any()
            }
        }
        }
    };

    view! {
        <article class="job" data-state=move || state.with(JobState::name)>
            <header class="job-header">
                <p class="job-prompt" title=job.request.prompt.clone()>{job.request.prompt.clone()}</p>
                <p class="job-meta">
                    {format!("{kind}{model} · {asked_size} · {n} image{}", if n == 1 { "" } else { "s" })}
                </p>
                <button type="button" class="dismiss" title="Remove from this page" aria-label="Remove"
                    on:click=move |_| jobs.dismiss(id)>"×"</button>
            </header>
            {body}
        </article>
    }
}

#[component]
fn Results(generation: Generation, prompt: String) -> impl IntoView {
    let made_size = generation.size.clone();
    view! {
        <div class="results">
            {generation.images.iter().enumerate().map(|(index, image)| {
                let file = download_name(&prompt, index + 1, image.format.extension());
                let src = image.url.as_str().to_owned();
                // An SVG is saved from a URL of its own bytes: the one that shows it is of a
                // wrapper (see ObjectUrl).
                let saved = (image.format == ImageFormat::Svg)
                    .then(|| ObjectUrl::from_blob(&image.blob).ok())
                    .flatten();
                let href = saved.as_ref().map_or_else(|| src.clone(), |u| u.as_str().to_owned());
                on_cleanup(move || drop(saved));
                view! {
                    <figure class="result-card">
                        <img class="result" src=src.clone() alt=prompt.clone() decoding="async" />
                        <figcaption>
                            {image.revised_prompt.clone().map(|revised| view! {
                                <p class="revised" title="The server rewrote the prompt">{revised}</p>
                            })}
                            <a class="download button" href=href download=file.clone() title=file>"Download"</a>
                        </figcaption>
                    </figure>
                }
            }).collect_view()}
        </div>
        {made_size.map(|size| view! { <p class="hint">{format!("Made at {size}.")}</p> })}
    }
}

#[component]
fn FailureNote(failure: ApiFailure, job: Job) -> impl IntoView {
    let settings = expect_context::<Settings>();
    let jobs = expect_context::<Jobs>();
    let mut status = match (failure.status, failure.param.as_deref()) {
        (Some(status), Some(param)) => format!("HTTP {status} · parameter '{param}'"),
        (Some(status), None) => format!("HTTP {status}"),
        (None, _) => "No answer from the server".to_owned(),
    };
    if let Some(id) = &failure.request_id {
        status.push_str(&format!(" · request id {id}"));
    }
    let retry = failure.may_succeed_unchanged();
    let help = failure.help_link(settings.backend().is_openai_direct());
    view! {
        <div class="job-error" role="alert">
            <p class="error-message">{failure.message.clone()}</p>
            <p class="error-explanation">{failure.explanation()}</p>
            {help.map(|(text, url)| view! {
                <p class="error-help">
                    <a href=url target="_blank" rel="noopener noreferrer">{text}</a>
                </p>
            })}
            <p class="hint error-status">{status}</p>
            {retry.then(|| view! {
                <button type="button" class="retry"
                    on:click=move |_| jobs.again(&job, settings.backend())>"Try again"</button>
            })}
        </div>
    }
}
