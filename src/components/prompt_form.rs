use easel_core::catalog::{self, Model};
use easel_core::decimal::dollars;
use easel_core::{GenerationRequest, pricing, validate, validate_free_form};
use leptos::prelude::*;
use web_sys::KeyboardEvent;

use crate::state::{CUSTOM_MODEL as CUSTOM, Draft, Gallery, Jobs, Settings};

/// The prompt and every parameter the chosen model accepts, nothing it doesn't.
#[component]
pub fn PromptForm() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let jobs = expect_context::<Jobs>();
    let gallery = expect_context::<Gallery>();

    let Draft {
        prompt,
        model_choice,
        custom_model,
        custom_size,
        size,
        quality,
        format,
        count,
        previews,
    } = expect_context::<Draft>();

    let model = Memo::new(move |_| catalog::find(&model_choice.get()));
    // Keep what the new model also accepts; fall back to its defaults for the rest.
    Effect::new(move |_| {
        let Some(m) = model.get() else { return };
        keep_or(size, m.sizes, m.default_size());
        keep_or(
            quality,
            m.qualities,
            m.default_quality().unwrap_or_default(),
        );
        keep_or(
            format,
            m.output_formats,
            m.default_output_format().unwrap_or_default(),
        );
        count.update(|n| *n = (*n).clamp(1, u32::from(m.n_max)));
    });

    let request = Memo::new(move |_| {
        let prompt = prompt.get();
        match model.get() {
            Some(m) => {
                let mut r = GenerationRequest::for_model(m.id, &prompt);
                r.n = Some(count.get());
                r.size = Some(size.get());
                r.quality = (!m.qualities.is_empty()).then(|| quality.get());
                r.output_format = (!m.output_formats.is_empty()).then(|| format.get());
                let previews = previews.get();
                if m.streams && previews > 0 {
                    r.stream = Some(true);
                    r.partial_images = Some(previews);
                }
                r
            }
            None => {
                let mut r = GenerationRequest::for_model(custom_model.get().trim(), &prompt);
                r.n = Some(count.get());
                let size = custom_size.get();
                r.size = (!size.trim().is_empty()).then(|| size.trim().to_owned());
                r
            }
        }
    });
    let problem = Memo::new(move |_| {
        let request = request.get();
        let problems = match model.get() {
            Some(_) => validate(&request),
            None => validate_free_form(&request),
        };
        let request_problem = problems.into_iter().next().map(|p| p.message);
        request_problem.or_else(|| settings.backend().problem().map(str::to_owned))
    });

    let estimate = Memo::new(move |_| pricing::estimate(&request.get()));
    let spent = Memo::new(move |_| {
        (
            gallery.spent_since(local_midnight_ms()),
            gallery.spent_since(0),
        )
    });

    let submit = move || {
        if problem.get_untracked().is_some() {
            return;
        }
        let budget = settings.daily_budget.get_untracked();
        let question = budget
            .zip(estimate.get_untracked())
            .and_then(|(budget, estimate)| {
                pricing::budget_question(spent.get_untracked().0, &estimate, budget)
            });
        if let Some(question) = question {
            let confirmed = web_sys::window()
                .and_then(|w| w.confirm_with_message(&question).ok())
                .unwrap_or(false);
            if !confirmed {
                return;
            }
        }
        jobs.start(request.get_untracked(), settings.backend());
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            submit();
        }
    };

    let max_n = move || model.get().map_or(10, |m| u32::from(m.n_max));
    let prompt_limit = move || model.get().map(|m| m.prompt_max_chars);

    view! {
        <form class="prompt-form" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <label for="prompt" class="field">"Prompt"</label>
            <textarea id="prompt" rows="4" placeholder="A lighthouse at dusk, oil on canvas"
                prop:value=move || prompt.get()
                on:input:target=move |ev| prompt.set(ev.target().value())
                on:keydown=on_keydown />
            <p class="hint counter">
                {move || {
                    let used = prompt.with(|p| p.chars().count());
                    match prompt_limit() {
                        Some(limit) => format!("{} / {} characters", grouped(used), grouped(limit)),
                        None => format!("{} characters", grouped(used)),
                    }
                }}
            </p>

            <div class="params">
                <div class="param model">
                    <label for="model">"Model"</label>
                    <select id="model" on:change:target=move |ev| model_choice.set(ev.target().value())>
                        {catalog::MODELS.iter().map(|m| model_option(m, model_choice)).collect_view()}
                        <option value=CUSTOM prop:selected=move || model_choice.get() == CUSTOM>"Other model…"</option>
                    </select>
                    <p class="hint model-note">{move || model_note(model.get())}</p>
                </div>

                <Show when=move || model.get().is_none()>
                    <div class="param">
                        <label for="custom-model">"Model name"</label>
                        <input id="custom-model" type="text" placeholder="as your server names it"
                            prop:value=move || custom_model.get()
                            on:input:target=move |ev| custom_model.set(ev.target().value()) />
                    </div>
                    <div class="param">
                        <label for="custom-size">"Size"</label>
                        <input id="custom-size" type="text" placeholder="server default, or 1024x1024"
                            prop:value=move || custom_size.get()
                            on:input:target=move |ev| custom_size.set(ev.target().value()) />
                    </div>
                </Show>

                <Show when=move || model.get().is_some()>
                    <Choice id="size" label="Size" value=size
                        options=Signal::derive(move || model.get().map(|m| m.sizes).unwrap_or_default()) />
                    <Choice id="quality" label="Quality" value=quality
                        options=Signal::derive(move || model.get().map(|m| m.qualities).unwrap_or_default()) />
                    <Show when=move || model.get().is_some_and(|m| !m.output_formats.is_empty())>
                        <Choice id="format" label="Format" value=format
                            options=Signal::derive(move || model.get().map(|m| m.output_formats).unwrap_or_default()) />
                    </Show>
                </Show>

                <div class="param">
                    <label for="count">"Images"</label>
                    <select id="count" on:change:target=move |ev| count.set(ev.target().value().parse().unwrap_or(1))>
                        {move || (1..=max_n()).map(|n| view! {
                            <option value=n.to_string() prop:selected=move || count.get() == n>{n}</option>
                        }).collect_view()}
                    </select>
                </div>
                <Show when=move || model.get().is_some_and(|m| m.streams)>
                    <div class="param">
                        <label for="previews">"Previews"</label>
                        <select id="previews" title="Rough versions shown while the image is made; each costs a little more."
                            on:change:target=move |ev| previews.set(ev.target().value().parse().unwrap_or(0))>
                            {(0..=3u32).map(|p| view! {
                                <option value=p.to_string() prop:selected=move || previews.get() == p>
                                    {if p == 0 { "None".to_owned() } else { p.to_string() }}
                                </option>
                            }).collect_view()}
                        </select>
                    </div>
                </Show>
            </div>

            <div class="actions">
                <button id="generate" type="submit" class="primary"
                    disabled=move || problem.get().is_some()
                    title=move || problem.get().unwrap_or_default()>
                    "Generate"
                </button>
                <span id="cost-estimate" class="hint"
                    title="Estimated from published prices; each result shows what it cost.">
                    {move || estimate.get().map(|e| e.text())}
                </span>
                <span id="generate-reason" class="hint" aria-live="polite">{move || problem.get()}</span>
                <span class="hint shortcut">"Ctrl/⌘ + Enter"</span>
                <span id="spending" class="hint">
                    {move || {
                        let (today, all) = spent.get();
                        (all > 0.0).then(|| format!("Spent {} today · {} in all", dollars(today), dollars(all)))
                    }}
                </span>
            </div>
        </form>
    }
}

/// A select over a fixed list of values.
#[component]
fn Choice(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    options: Signal<&'static [&'static str]>,
) -> impl IntoView {
    view! {
        <div class="param">
            <label for=id>{label}</label>
            <select id=id on:change:target=move |ev| value.set(ev.target().value())>
                {move || options.get().iter().map(|&option| view! {
                    <option value=option prop:selected=move || value.get() == option>{option}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

fn model_option(m: &'static Model, choice: RwSignal<String>) -> impl IntoView {
    let label = if m.is_retired() {
        format!("{} (retired)", m.id)
    } else {
        m.id.to_owned()
    };
    view! { <option value=m.id prop:selected=move || choice.get() == m.id>{label}</option> }
}

fn model_note(model: Option<&'static Model>) -> String {
    match model {
        Some(m) => match m.status_note() {
            Some(status) => format!("{}; {status}.", m.blurb),
            None => format!("{}.", m.blurb),
        },
        None => "A model of an OpenAI-compatible server: its name and size are sent as typed."
            .to_owned(),
    }
}

/// Keeps `signal`'s value if `allowed` has it, else sets `default`.
fn keep_or(signal: RwSignal<String>, allowed: &[&str], default: &str) {
    if !allowed.contains(&signal.get_untracked().as_str()) {
        signal.set(default.to_owned());
    }
}

/// `32000` → `32,000`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// This day's start in the browser's time zone, unix ms: "today" as the person means it.
fn local_midnight_ms() -> u64 {
    let day = js_sys::Date::new_0();
    day.set_hours(0);
    day.set_minutes(0);
    day.set_seconds(0);
    day.set_milliseconds(0);
    day.get_time() as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_thousands() {
        assert_eq!(super::grouped(0), "0");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1000), "1,000");
        assert_eq!(super::grouped(32000), "32,000");
        assert_eq!(super::grouped(1234567), "1,234,567");
    }
}
