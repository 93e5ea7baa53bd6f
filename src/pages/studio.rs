use leptos::prelude::*;

use crate::components::{JobCard, KeyPrompt, PromptForm, RelayBanner, SettingsDrop};
use crate::state::Jobs;

/// Write a prompt, pick settings, see the images.
#[component]
pub fn Studio() -> impl IntoView {
    let jobs = expect_context::<Jobs>();
    view! {
        <main class="studio">
            <SettingsDrop>
                <RelayBanner />
                <KeyPrompt />
                <PromptForm />
                <section class="jobs" aria-label="Generations" aria-live="polite">
                    <Show when=move || jobs.list.with(Vec::is_empty)>
                        <p class="empty">"Your images will appear here. Write a prompt and press Generate (Ctrl+Enter)."</p>
                    </Show>
                    <For each=move || jobs.list.get() key=|job| job.id let:job>
                        <JobCard job />
                    </For>
                </section>
            </SettingsDrop>
        </main>
    }
}
