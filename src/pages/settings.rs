use easel_core::{Mode, decimal};
use leptos::prelude::*;

use crate::state::Settings;

/// Where requests go, and with which key. Changes apply as they are typed.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let is_direct = move || settings.mode.get() == Mode::Direct;
    view! {
        <main class="page narrow settings">
            <h1>"Settings"</h1>
            <fieldset class="modes">
                <legend>"How Easel reaches the image API"</legend>
                <label class="choice">
                    <input type="radio" id="mode-relay" name="mode"
                        prop:checked=move || !is_direct()
                        on:change=move |_| settings.mode.set(Mode::Relay) />
                    <span><strong>"Relay"</strong>" — a relay server holds the API key; at most its access token is typed here."</span>
                </label>
                <label class="choice">
                    <input type="radio" id="mode-direct" name="mode"
                        prop:checked=is_direct
                        on:change=move |_| settings.mode.set(Mode::Direct) />
                    <span><strong>"Direct"</strong>" — this page calls the API with your own key."</span>
                </label>
            </fieldset>

            <Show when=move || !is_direct()>
                <label class="field" for="relay-url">"Relay address"</label>
                <input id="relay-url" type="url" placeholder="https://relay.example.com"
                    prop:value=move || settings.relay_url.get()
                    on:input:target=move |ev| settings.relay_url.set(ev.target().value()) />
                <p class="hint">"Defaults to the address this page came from."</p>

                <label class="field" for="relay-token">"Access token (only if the relay asks for one)"</label>
                <input id="relay-token" type="password" autocomplete="off" spellcheck="false"
                    prop:value=move || settings.relay_token.get()
                    on:input:target=move |ev| settings.relay_token.set(ev.target().value()) />
                <p class="hint">"Given by whoever runs the relay; sent only to the relay address above."</p>
                <RememberSecret id="remember-token" />
            </Show>

            <Show when=is_direct>
                <label class="field" for="base-url">"API base URL"</label>
                <input id="base-url" type="url" placeholder="https://api.openai.com/v1"
                    prop:value=move || settings.base_url.get()
                    on:input:target=move |ev| settings.base_url.set(ev.target().value()) />
                <p class="hint">"OpenAI, or any OpenAI-compatible server that allows this page (CORS)."</p>

                <label class="field" for="api-key">"API key"</label>
                <input id="api-key" type="password" autocomplete="off" spellcheck="false"
                    placeholder="sk-…"
                    prop:value=move || settings.api_key.get()
                    on:input:target=move |ev| settings.api_key.set(ev.target().value()) />
                <p class="hint">"Sent only to the base URL above, never anywhere else."</p>

                <RememberSecret id="remember-key" />

                <details>
                    <summary>"Organization and project (optional)"</summary>
                    <label class="field" for="organization">"Organization ID"</label>
                    <input id="organization" type="text" placeholder="org-…"
                        prop:value=move || settings.organization.get()
                        on:input:target=move |ev| settings.organization.set(ev.target().value()) />
                    <label class="field" for="project">"Project ID"</label>
                    <input id="project" type="text" placeholder="proj_…"
                        prop:value=move || settings.project.get()
                        on:input:target=move |ev| settings.project.set(ev.target().value()) />
                </details>
            </Show>

            <fieldset class="spending">
                <legend>"Spending"</legend>
                <label class="field" for="daily-budget">"Daily budget in US dollars (optional)"</label>
                <input id="daily-budget" type="text" inputmode="decimal" placeholder="no budget"
                    prop:value=move || settings.daily_budget.get().map(|b| decimal::fixed(b, 2)).unwrap_or_default()
                    on:change:target=move |ev| settings.daily_budget.set(decimal::parse_dollars(&ev.target().value())) />
                <p class="hint">"Easel asks before a generation that could take today's spending past it. Costs are estimated from published prices."</p>
            </fieldset>

            <p class="problem" role="status">{move || settings.backend().problem()}</p>
            <p><a id="back-to-studio" class="button" href="/">"Back to the studio"</a></p>
        </main>
    }
}

/// The choice to keep the key and the relay token across visits, with what that risks.
#[component]
fn RememberSecret(id: &'static str) -> impl IntoView {
    let settings = expect_context::<Settings>();
    view! {
        <label class="choice">
            <input type="checkbox" id=id
                prop:checked=move || settings.remember_key.get()
                on:change:target=move |ev| settings.remember_key.set(ev.target().checked()) />
            <span>"Remember it on this device"</span>
        </label>
        <Show when=move || settings.remember_key.get()>
            <p class="warning">"Stored unencrypted in this browser: anyone with access to this device or a malicious script on this page could read it."</p>
        </Show>
    }
}
