use easel_core::Mode;
use leptos::prelude::*;

use crate::api;
use crate::state::Settings;

/// Says when the relay draws offline stand-in images, asks for an access token the settings
/// lack, or does not answer at all (unless the browser is offline).
#[component]
pub fn RelayBanner() -> impl IntoView {
    let settings = expect_context::<Settings>();
    let info = LocalResource::new(move || {
        let mode = settings.mode.get();
        let relay_url = settings.relay_url.get();
        async move {
            match mode {
                Mode::Relay => Some(api::relay_info(&relay_url).await),
                Mode::Direct => None,
            }
        }
    });
    move || {
        match info.get() {
        Some(Some(Some(relay)))
            if relay.token_required && settings.relay_token.with(|t| t.trim().is_empty()) =>
        {
            Some(
                view! {
                    <p id="token-banner" class="banner warn" role="status">
                        "This relay asks for an access token. Enter the one its operator gave you in "
                        <a href=crate::site::href("/settings")>"Settings"</a> "."
                    </p>
                }
                .into_any(),
            )
        }
        Some(Some(Some(relay))) if relay.is_offline() => Some(
            view! {
                <p id="offline-banner" class="banner" role="status">
                    <strong>"Offline demo. "</strong>
                    "The relay draws stand-in images locally; nothing is sent to OpenAI. "
                    "Start it with OPENAI_API_KEY set for real images, or use your own key in "
                    <a href=crate::site::href("/settings")>"Settings"</a>"."
                </p>
            }
            .into_any(),
        ),
        // Offline the app still runs (from its service worker's cache), and no relay can
        // answer: suggesting another connection would mislead. Generating says it is offline.
        Some(Some(None)) if !api::offline() => Some(
            view! {
                <p id="no-relay-banner" class="banner warn" role="status">
                    "No Easel relay answers at " {settings.relay_url.get_untracked()} ". "
                    "Use your own API key instead in " <a href=crate::site::href("/settings")>"Settings"</a> "."
                </p>
            }
            .into_any(),
        ),
        _ => None,
    }
    }
}
