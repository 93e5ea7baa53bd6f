use leptos::prelude::*;

#[component]
pub fn AppHeader() -> impl IntoView {
    view! {
        <header class="app-header">
            <a class="brand" href="/">"Easel"</a>
            <nav>
                <a id="nav-studio" href="/">"Studio"</a>
                <a id="nav-edit" href="/edit">"Edit"</a>
                <a id="nav-gallery" href="/gallery">"Gallery"</a>
                <a id="nav-settings" href="/settings">"Settings"</a>
            </nav>
        </header>
    }
}
