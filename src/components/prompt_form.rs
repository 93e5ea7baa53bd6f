use easel_core::catalog::{self, GIF_FRAME_MS, GIF_FRAMES, Model, ModelStatus, SVG_EFFORTS};
use easel_core::decimal::dollars;
use easel_core::{GenerationRequest, pricing, validate, validate_free_form};
use leptos::prelude::*;
use web_sys::KeyboardEvent;

use crate::state::jobs::preload_runner;
use crate::state::{CUSTOM_MODEL as CUSTOM, CUSTOM_SIZE, Draft, Gallery, Jobs, Settings};

/// The prompt and every parameter the chosen model accepts, nothing it doesn't.
#[component]
pub fn PromptForm() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let jobs = expect_context::<Jobs>();
    let gallery = expect_context::<Gallery>();

    let draft = expect_context::<Draft>();
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
        width,
        height,
        background,
        compression,
        moderation,
        complexity,
        style,
        frames,
        frame_ms,
        svg_model,
        svg_effort,
        safety_identifier,
        ..
    } = draft;

    let model = Memo::new(move |_| catalog::find(&model_choice.get()));
    // Keep what the new model also accepts; fall back to its defaults for the rest.
    Effect::new(move |_| {
        let Some(m) = model.get() else { return };
        if !(m.custom_sizes.is_some() && size.get_untracked() == CUSTOM_SIZE) {
            keep_or(size, m.sizes, m.default_size());
        }
        keep_or(background, m.backgrounds, "auto");
        keep_or(style, m.styles, "");
        keep_or(complexity, m.complexities, "");
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
    // One SVG per request.
    Effect::new(move |_| {
        if format.get() == "svg" {
            count.set(1);
        }
    });

    let request = Memo::new(move |_| {
        let prompt = prompt.get();
        match model.get() {
            Some(m) => {
                let mut r = GenerationRequest::for_model(m.id, &prompt);
                r.n = Some(count.get());
                let chosen = size.get();
                r.size = Some(if chosen == CUSTOM_SIZE {
                    format!("{}x{}", width.get().trim(), height.get().trim())
                } else {
                    chosen
                });
                r.quality = (!m.qualities.is_empty()).then(|| quality.get());
                let fmt = format.get();
                r.output_format = (!m.output_formats.is_empty()).then(|| fmt.clone());
                let still = fmt != "gif" && fmt != "svg";
                let previews = previews.get();
                if m.streams && previews > 0 && still {
                    r.stream = Some(true);
                    r.partial_images = Some(previews);
                }
                let chosen = |signal: RwSignal<String>, skip: &str| {
                    Some(signal.get()).filter(|v| !v.is_empty() && v != skip)
                };
                if !m.backgrounds.is_empty() {
                    r.background = chosen(background, "auto");
                }
                if m.moderation {
                    r.moderation = chosen(moderation, "auto");
                }
                r.complexity = chosen(complexity, "");
                r.style = chosen(style, "");
                if matches!(fmt.as_str(), "jpeg" | "webp") && compression.get() < 100 {
                    r.output_compression = Some(compression.get());
                }
                if fmt == "gif" {
                    r.frame_count = Some(frames.get());
                    r.frame_duration_ms = Some(frame_ms.get());
                }
                if fmt == "svg" {
                    let (author, effort) = (chosen(svg_model, ""), chosen(svg_effort, ""));
                    r.set_svg_author(author.as_deref().map(str::trim), effort.as_deref());
                }
                r.safety_identifier = chosen(safety_identifier, "").map(|s| s.trim().to_owned());
                r
            }
            None => {
                let mut r = GenerationRequest::for_model(custom_model.get().trim(), &prompt);
                r.n = Some(count.get());
                let size = custom_size.get();
                r.size = (!size.trim().is_empty()).then(|| size.trim().to_owned());
                r.safety_identifier =
                    Some(safety_identifier.get().trim().to_owned()).filter(|s| !s.is_empty());
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
        request_problem
            .or_else(|| {
                let locked = settings.locked.get();
                locked.then(|| "Unlock your saved key (above) to generate.".to_owned())
            })
            .or_else(|| settings.backend().problem().map(str::to_owned))
    });

    let estimate = Memo::new(move |_| pricing::estimate(&request.get()));
    let spent = Memo::new(move |_| (gallery.spent_today(), gallery.spent_since(0)));

    let submit = move || {
        if problem.get_untracked().is_some() {
            return;
        }
        let budget = settings.daily_budget.get_untracked();
        if !gallery.budget_allows(budget, estimate.get_untracked().as_ref()) {
            return;
        }
        jobs.start(request.get_untracked(), settings.backend());
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            submit();
        }
    };

    // One SVG per request: the count offers only 1 then.
    let max_n = move || match model.get() {
        Some(_) if format.get() == "svg" => 1,
        Some(m) => u32::from(m.n_max),
        None => 10,
    };
    // One closure type each for every group hidden by model or format (each type is code).
    let lacks = move |pick: fn(&Model) -> bool| move || !model.get().is_some_and(pick);
    let not_format =
        move |name: &'static str| move || model.get().is_none() || format.get() != name;
    let prompt_limit = move || model.get().map(|m| m.prompt_max_chars);

    view! {
        <form class="prompt-form" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <label for="prompt" class="field">"Prompt"</label>
            <textarea id="prompt" rows="4" placeholder="A lighthouse at dusk, oil on canvas"
                prop:value=move || prompt.get()
                on:input:target=move |ev| {
                    preload_runner();
                    prompt.set(ev.target().value())
                }
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

                // Hidden (not rebuilt) for a model outside the catalog: cheaper than a <Show>.
                    <SizeChoice model size />
                    // One component for every choice from the model's lists: a list is one
                    // loop, not a view type per control (each type is wasm every visitor loads).
                    {[
                        ("quality", "Quality", quality, (|m, _| m.qualities) as Pick, false),
                        ("format", "Format", format, |m, _| m.output_formats, false),
                        ("background", "Background", background, |m, _| m.backgrounds, false),
                        ("complexity", "Complexity", complexity, |m, _| m.complexities, true),
                        ("style", "Style", style, |m, _| m.styles, true),
                        ("moderation", "Moderation", moderation,
                            |m, _| if m.moderation { catalog::MODERATIONS } else { &[] }, false),
                        ("svg-effort", "SVG reasoning", svg_effort,
                            |_, f| if f == "svg" { SVG_EFFORTS } else { &[] }, true),
                    ]
                    .into_iter()
                    .map(|(id, label, value, pick, optional)| view! {
                        <ModelSelect model format id label value pick optional />
                    })
                    .collect_view()}
                    <div class="param" hidden=lacks(|m| !m.output_formats.is_empty())>
                        <label for="compression">"Compression"</label>
                        <input id="compression" type="number" min="0" max="100"
                            disabled=move || !matches!(format.get().as_str(), "jpeg" | "webp")
                            title="0–100; only the jpeg and webp formats are compressed"
                            prop:value=move || compression.get().to_string()
                            on:change:target=move |ev| compression.set(ev.target().value().parse().unwrap_or(100)) />
                    </div>
                    <div class="group" hidden=not_format("gif")>
                        <NumberParam id="frames" label="Frames" value=frames
                            min=*GIF_FRAMES.start() max=*GIF_FRAMES.end()
                            title="2 to 16 frames; 9 when not set" />
                        <NumberParam id="frame-ms" label="Frame ms" value=frame_ms
                            min=*GIF_FRAME_MS.start() max=*GIF_FRAME_MS.end()
                            title="How long each frame shows; rounded to 10 ms" />
                    </div>
                    <div class="param" hidden=not_format("svg")>
                        <label for="svg-model">"SVG author"</label>
                        <input id="svg-model" type="text" placeholder="API default"
                            title="The model that writes the SVG (optional)"
                            prop:value=move || svg_model.get()
                            on:input:target=move |ev| svg_model.set(ev.target().value()) />
                    </div>
                    <p class="hint notes">
                        <span id="format-note">{move || model.get().and_then(|m| {
                            // What the chosen format restricts, else why there is no GIF/SVG.
                            m.format_note(&format.get()).or_else(|| m.format_note("gif"))
                        })}</span>
                        " "
                        <span id="background-note">{move || {
                            let m = model.get()?;
                            (background.get() == "transparent").then(|| {
                                if !matches!(format.get().as_str(), "png" | "webp") {
                                    "Transparent needs the png or webp format."
                                } else if m.transparent_is_preview {
                                    "Transparency is a preview feature on this model."
                                } else {
                                    "Transparent: png or webp only."
                                }
                            })
                        }}</span>
                    </p>


                <div class="param">
                    <label for="count">"Images"</label>
                    <select id="count" on:change:target=move |ev| count.set(ev.target().value().parse().unwrap_or(1))>
                        {move || (1..=max_n()).map(|n| view! {
                            <option value=n.to_string() prop:selected=move || count.get() == n>{n}</option>
                        }).collect_view()}
                    </select>
                </div>
                <Show when=move || model.get().is_some_and(|m| m.streams) && !matches!(format.get().as_str(), "gif" | "svg")>
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
            <details class="advanced">
                <summary>"Advanced"</summary>
                <label class="field" for="safety-identifier">"Safety identifier"</label>
                <input id="safety-identifier" type="text" maxlength="64" spellcheck="false"
                    placeholder="optional: an anonymous id of the person asking"
                    prop:value=move || safety_identifier.get()
                    on:input:target=move |ev| safety_identifier.set(ev.target().value()) />
            </details>

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

/// Which of a model's lists a select offers, given the chosen format (empty: not offered).
pub type Pick = fn(&Model, &str) -> &'static [&'static str];

/// A select over one of the chosen model's lists, hidden when the model has none (or none is
/// chosen); `optional` adds a first choice, "Default", that sends nothing. The studio and the
/// edit page use it for every list-valued parameter.
#[component]
pub fn ModelSelect(
    model: Memo<Option<&'static Model>>,
    format: RwSignal<String>,
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    pick: Pick,
    optional: bool,
) -> impl IntoView {
    let options = move || model.get().map_or(&[][..], |m| format.with(|f| pick(m, f)));
    view! {
        <div class="param" hidden=move || options().is_empty()>
            <label for=id>{label}</label>
            <select id=id on:change:target=move |ev| value.set(ev.target().value())>
                {optional.then(|| view! {
                    <option value="" prop:selected=move || value.get().is_empty()>"Default"</option>
                })}
                {move || options().iter().map(|&option| view! {
                    <option value=option prop:selected=move || value.get() == option>{option}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

#[component]
fn NumberParam(
    id: &'static str,
    label: &'static str,
    value: RwSignal<u32>,
    min: u32,
    max: u32,
    title: &'static str,
) -> impl IntoView {
    view! {
        <div class="param">
            <label for=id>{label}</label>
            <input id=id type="number" min=min.to_string() max=max.to_string() title=title
                prop:value=move || value.get().to_string()
                on:input:target=move |ev| if let Ok(n) = ev.target().value().parse() { value.set(n) } />
        </div>
    }
}

/// The model's preset sizes, plus width × height fields where it takes any size, with its rule
/// and the reason a typed size is refused.
#[component]
fn SizeChoice(model: Memo<Option<&'static Model>>, size: RwSignal<String>) -> impl IntoView {
    let Draft { width, height, .. } = expect_context::<Draft>();
    let rule = move || model.get().and_then(|m| m.custom_sizes);
    let custom = move || rule().is_some() && size.get() == CUSTOM_SIZE;
    let verdict = move || rule().map(|r| r.check_typed(&width.get(), &height.get()));
    view! {
        <div class="param" hidden=move || model.get().is_none()>
            <label for="size">"Size"</label>
            <select id="size" on:change:target=move |ev| size.set(ev.target().value())>
                {move || model.get().map(|m| m.sizes).unwrap_or_default().iter().map(|&option| view! {
                    <option value=option prop:selected=move || size.get() == option>{option}</option>
                }).collect_view()}
                {move || rule().is_some().then(|| view! {
                    <option value=CUSTOM_SIZE prop:selected=move || size.get() == CUSTOM_SIZE>"Custom…"</option>
                })}
            </select>
        </div>
        <div class="param custom-size" hidden=move || !custom()>
                <label for="width">"Width × height"</label>
                <span>
                    <input id="width" type="number" step="16" min="16" inputmode="numeric"
                        aria-describedby="size-rule"
                        prop:value=move || width.get()
                        on:input:target=move |ev| width.set(ev.target().value()) />
                    " × "
                    <input id="height" type="number" step="16" min="16" inputmode="numeric"
                        aria-label="Height" aria-describedby="size-rule"
                        prop:value=move || height.get()
                        on:input:target=move |ev| height.set(ev.target().value()) />
                </span>
                <p class="hint" id="size-rule">{move || rule().map(|r| r.describe())}</p>
                <p class=move || if matches!(verdict(), Some(Err(_))) { "problem" } else { "hint" } id="size-note" role="status">
                    {move || match verdict() {
                        Some(Err(reason)) => Some(reason),
                        Some(Ok(note)) => note.map(str::to_owned),
                        None => None,
                    }}
                </p>
        </div>
    }
}

fn model_option(m: &'static Model, choice: RwSignal<String>) -> impl IntoView {
    let label = match m.status {
        ModelStatus::Current => m.id.to_owned(),
        ModelStatus::Deprecated { shutdown } => [m.id, " (shuts down ", shutdown, ")"].concat(),
        ModelStatus::ShutDown { since } => [m.id, " (retired ", since, ")"].concat(),
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
    let value = signal.get_untracked();
    if value != default && !allowed.contains(&value.as_str()) {
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
