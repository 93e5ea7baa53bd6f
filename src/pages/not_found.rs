use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="page narrow">
            <h1>"Nothing here"</h1>
            <p>"This address is not part of Easel. " <a href=crate::site::href("/")>"Go to the studio"</a> "."</p>
        </main>
    }
}
