use easel_core::backend::{AZURE_DEFAULT_API_VERSION, DEFAULT_KEY_HEADER};
use easel_core::{AuthStyle, Mode, Profile, catalog, decimal};
use leptos::prelude::*;

use crate::components::{KeyStorageChoice, ProfileSwitch};
use crate::state::Settings;

const SETTINGS_CSS: &str = include_str!("../../style/settings.css");

/// Where requests go, and with which key, as named profiles. Changes apply as they are typed.
#[component]
pub fn SettingsPage() -> impl IntoView {
    crate::components::add_styles("settings-styles", SETTINGS_CSS);
    let settings = expect_context::<Settings>();
    let is_direct = move || settings.mode.get() == Mode::Direct;
    let auth_is = move |style: AuthStyle| move || settings.auth.get() == style;
    view! {
        <main class="page narrow settings">
            <h1>"Settings"</h1>
            <fieldset class="profiles">
                <legend>"Connection profiles"</legend>
                <p class="hint">"Each profile is one way to reach an image API. Switch between them here or in the header."</p>
                <div class="profile-row">
                    <ProfileSwitch />
                    <button type="button" id="add-openai" on:click=move |_| settings.add(template("OpenAI (my key)", AuthStyle::Bearer))>"+ OpenAI"</button>
                    <button type="button" id="add-compatible" on:click=move |_| settings.add(Profile {
                        base_url: String::new(),
                        ..template("Compatible server", AuthStyle::Bearer)
                    })>"+ Compatible"</button>
                    <button type="button" id="add-azure" on:click=move |_| settings.add(Profile {
                        base_url: String::new(),
                        ..template("Azure OpenAI", AuthStyle::Azure)
                    })>"+ Azure"</button>
                    <button type="button" id="add-relay" on:click=move |_| settings.add(Profile {
                        name: "Relay".to_owned(),
                        ..Profile::default()
                    })>"+ Relay"</button>
                </div>
                <label class="field" for="profile-name">"Profile name"</label>
                <input id="profile-name" type="text"
                    prop:value=move || settings.name.get()
                    on:input:target=move |ev| settings.name.set(ev.target().value()) />
                <label class="field" for="default-model">"Model to switch to with this profile"</label>
                <input id="default-model" type="text" list="known-models" placeholder="keep the current model"
                    prop:value=move || settings.default_model.get()
                    on:input:target=move |ev| settings.default_model.set(ev.target().value()) />
                <datalist id="known-models">
                    {catalog::MODELS.iter().map(|m| view! { <option value=m.id /> }).collect_view()}
                </datalist>
                <Show when=move || settings.profiles.with(|list| list.len() > 1)>
                    <p><button type="button" id="delete-profile" class="danger"
                        on:click=move |_| settings.remove(&settings.active.get_untracked())>
                        "Delete this profile and its key"
                    </button></p>
                </Show>
            </fieldset>
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
                <KeyStorageChoice />
            </Show>

            <Show when=is_direct>
                <label class="field" for="auth-style">"Kind of server"</label>
                <select id="auth-style" on:change:target=move |ev| settings.auth.set(match ev.target().value().as_str() {
                    "header" => AuthStyle::Header,
                    "azure" => AuthStyle::Azure,
                    _ => AuthStyle::Bearer,
                })>
                    <option value="bearer" prop:selected=auth_is(AuthStyle::Bearer)>"OpenAI or compatible (Bearer key)"</option>
                    <option value="header" prop:selected=auth_is(AuthStyle::Header)>"Compatible, key in its own header"</option>
                    <option value="azure" prop:selected=auth_is(AuthStyle::Azure)>"Azure OpenAI"</option>
                </select>

                <label class="field" for="base-url">{move || if auth_is(AuthStyle::Azure)() { "Azure endpoint" } else { "API base URL" }}</label>
                <input id="base-url" type="url"
                    placeholder=move || if auth_is(AuthStyle::Azure)() { "https://my-resource.openai.azure.com" } else { "https://api.openai.com/v1" }
                    prop:value=move || settings.base_url.get()
                    on:input:target=move |ev| settings.base_url.set(ev.target().value()) />
                <p class="hint">"OpenAI, Azure, or any OpenAI-compatible server that allows this page (CORS)."</p>

                <Show when=auth_is(AuthStyle::Header)>
                    <label class="field" for="key-header">"Header that carries the key"</label>
                    <input id="key-header" type="text" spellcheck="false" placeholder=DEFAULT_KEY_HEADER
                        prop:value=move || settings.key_header.get()
                        on:input:target=move |ev| settings.key_header.set(ev.target().value()) />
                </Show>
                <Show when=auth_is(AuthStyle::Azure)>
                    <label class="field" for="azure-deployment">"Deployment name"</label>
                    <input id="azure-deployment" type="text" spellcheck="false" placeholder="my-gpt-image"
                        prop:value=move || settings.azure_deployment.get()
                        on:input:target=move |ev| settings.azure_deployment.set(ev.target().value()) />
                    <label class="field" for="azure-api-version">"api-version"</label>
                    <input id="azure-api-version" type="text" spellcheck="false" placeholder=AZURE_DEFAULT_API_VERSION
                        prop:value=move || settings.azure_api_version.get()
                        on:input:target=move |ev| settings.azure_api_version.set(ev.target().value()) />
                    <p class="hint">"Requests go to {endpoint}/openai/deployments/{deployment}/images/…?api-version=…, with the key in the api-key header."</p>
                </Show>

                <label class="field" for="api-key">"API key"</label>
                <input id="api-key" type="password" autocomplete="off" spellcheck="false"
                    placeholder="sk-…"
                    prop:value=move || settings.api_key.get()
                    on:input:target=move |ev| settings.api_key.set(ev.target().value()) />
                <p class="hint">"Sent only to the address above, in a header: never in a URL, a share link, a log or an export."</p>

                <KeyStorageChoice />

                <details>
                    <summary>"OpenAI organization and project (optional)"</summary>
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
            <p><a id="back-to-studio" class="button" href=crate::site::href("/")>"Back to the studio"</a></p>
        </main>
    }
}

/// A new Direct profile of the given kind, with OpenAI's address and an empty key.
fn template(name: &str, auth: AuthStyle) -> Profile {
    Profile {
        name: name.to_owned(),
        mode: Mode::Direct,
        auth,
        ..Profile::default()
    }
}
