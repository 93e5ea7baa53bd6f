use leptos::prelude::*;

use crate::state::{Draft, Settings};

#[component]
pub fn AppHeader() -> impl IntoView {
    view! {
        <header class="app-header">
            <a class="brand" href=crate::site::href("/")>"Easel"</a>
            <ProfileSwitch />
            <nav>
                <a id="nav-studio" href=crate::site::href("/")>"Studio"</a>
                <a id="nav-edit" href=crate::site::href("/edit")>"Edit"</a>
                <a id="nav-gallery" href=crate::site::href("/gallery")>"Gallery"</a>
                <a id="nav-settings" href=crate::site::href("/settings")>"Settings"</a>
            </nav>
        </header>
    }
}

/// Where requests go, switched in one click once there is more than one profile; a profile's
/// default model comes with it.
#[component]
pub fn ProfileSwitch() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let draft = expect_context::<Draft>();
    let switch = move |id: String| {
        if let Some(model) = settings.switch_to(&id) {
            draft.use_model(&model);
        }
    };
    view! {
        <select id="profile" class="profile-switch" aria-label="Connection profile"
                hidden=move || settings.profiles.with(|list| list.len() < 2)
                title="Where image requests go"
                on:change:target=move |ev| switch(ev.target().value())>
                {move || settings.profiles.get().into_iter().map(|p| {
                    let id = p.id.clone();
                    view! {
                        <option value=p.id prop:selected=move || settings.active.get() == id>{p.name}</option>
                    }
                }).collect_view()}
            </select>
    }
}
