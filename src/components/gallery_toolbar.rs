use easel_core::Size;
use easel_core::gallery::{SortOrder, facets};
use leptos::prelude::*;

use crate::state::GalleryView;

/// Search, filters, order, and what to do with the selection.
#[component]
pub fn GalleryToolbar() -> impl IntoView {
    let view = expect_context::<GalleryView>();
    let query = view.query;
    let facets = Memo::new(move |_| view.gallery.items.with(|items| facets(items)));
    let collection_name = RwSignal::new(String::new());
    let selected_ids = move || view.selected.get().into_iter().collect::<Vec<String>>();
    // On a phone the filters fold behind a button so the images stay in view.
    let filters_open = RwSignal::new(false);

    view! {
        <section class="gallery-toolbar" aria-label="Search and filters">
            <input id="gallery-search" type="search" placeholder="Search prompts" aria-label="Search prompts"
                prop:value=move || query.with(|q| q.text.clone())
                on:input:target=move |ev| query.update(|q| q.text = ev.target().value()) />
            <button type="button" id="toggle-filters" class="filters-toggle" aria-controls="gallery-filters"
                aria-expanded=move || filters_open.get().to_string()
                on:click=move |_| filters_open.update(|open| *open = !*open)>
                {move || match query.with(|q| q.active_filters()) {
                    0 => "Filters".to_owned(),
                    n => format!("Filters ({n})"),
                }}
            </button>
            <div id="gallery-filters" class="filters" class:open=move || filters_open.get()>
            <FacetFilter id="filter-model" label="Model" all="All models"
                options=Signal::derive(move || facets.get().models)
                chosen=Signal::derive(move || query.with(|q| q.model.clone().unwrap_or_default()))
                pick=Callback::new(move |value: String| query.update(|q| q.model = (!value.is_empty()).then_some(value))) />
            <FacetFilter id="filter-size" label="Size" all="All sizes"
                options=Signal::derive(move || facets.get().sizes.iter().map(Size::to_string).collect())
                chosen=Signal::derive(move || query.with(|q| q.size.map(|s| s.to_string()).unwrap_or_default()))
                pick=Callback::new(move |value: String| query.update(|q| q.size = Size::parse(&value))) />
            <FacetFilter id="filter-collection" label="Collection" all="All collections"
                options=Signal::derive(move || facets.get().collections)
                chosen=Signal::derive(move || query.with(|q| q.collection.clone().unwrap_or_default()))
                pick=Callback::new(move |value: String| query.update(|q| q.collection = (!value.is_empty()).then_some(value))) />
            <label class="choice inline">
                <input id="filter-favorites" type="checkbox"
                    prop:checked=move || query.with(|q| q.favorites_only)
                    on:change:target=move |ev| query.update(|q| q.favorites_only = ev.target().checked()) />
                "Favorites"
            </label>
            <label class="inline">"From "
                <input id="filter-from" type="date"
                    on:change:target=move |ev| query.update(|q| q.created_from_ms = day_start(&ev.target().value(), 0)) />
            </label>
            <label class="inline">"To "
                <input id="filter-to" type="date"
                    on:change:target=move |ev| query.update(|q| q.created_until_ms = day_start(&ev.target().value(), 1)) />
            </label>
            <select id="sort" aria-label="Order"
                on:change:target=move |ev| query.update(|q| {
                    q.sort = if ev.target().value() == "oldest" { SortOrder::OldestFirst } else { SortOrder::NewestFirst };
                })>
                <option value="newest">"Newest first"</option>
                <option value="oldest">"Oldest first"</option>
            </select>
            </div>
        </section>

        <section class="selection-bar" aria-label="Selection">
            <button type="button" id="select-all" on:click=move |_| view.select_all_shown()>"Select all shown"</button>
            <span class="hint count" id="shown-count">
                {move || {
                    if !view.gallery.listed.get() {
                        return "Counting…".to_owned();
                    }
                    let shown = view.shown.with(Vec::len);
                    // Deleted images waiting out their undo window no longer count.
                    let all = view.gallery.items.with(Vec::len).saturating_sub(view.deleting.with(Vec::len));
                    let noun = if all == 1 { "image" } else { "images" };
                    if shown == all { format!("{all} {noun}") } else { format!("{shown} of {all} {noun}") }
                }}
            </span>
            <Show when=move || !view.selected.with(|s| s.is_empty())>
                <span class="hint" id="selected-count">{move || format!("{} selected", view.selected.with(|s| s.len()))}</span>
                <button type="button" on:click=move |_| view.selected.set(Default::default())>"Clear"</button>
                <button type="button" id="bulk-favorite" on:click=move |_| view.set_favorite(&selected_ids(), true)>"★ Favorite"</button>
                <input id="bulk-collection" type="text" placeholder="Collection name" aria-label="Collection name"
                    prop:value=move || collection_name.get()
                    on:input:target=move |ev| collection_name.set(ev.target().value()) />
                <button type="button" id="bulk-add-collection"
                    disabled=move || collection_name.with(|n| n.trim().is_empty())
                    on:click=move |_| view.add_to_collection(&selected_ids(), &collection_name.get_untracked())>
                    "Add to collection"
                </button>
                <button type="button" id="bulk-share" on:click=move |_| view.sharing.set(Some(view.selected_items()))>"Share…"</button>
                <button type="button" id="bulk-delete" class="danger" on:click=move |_| view.delete(selected_ids())>"Delete"</button>
            </Show>
        </section>
    }
}

/// A filter menu over the values the gallery has; the empty value means "all".
#[component]
fn FacetFilter(
    id: &'static str,
    label: &'static str,
    all: &'static str,
    options: Signal<Vec<String>>,
    chosen: Signal<String>,
    pick: Callback<String>,
) -> impl IntoView {
    view! {
        <select id=id aria-label=label on:change:target=move |ev| pick.run(ev.target().value())>
            <option value="">{all}</option>
            {move || options.get().into_iter().map(|option| {
                let selected = chosen.with(|c| *c == option);
                view! { <option value=option.clone() prop:selected=selected>{option.clone()}</option> }
            }).collect_view()}
        </select>
    }
}

/// Unix ms at the start of the day `date` (`YYYY-MM-DD`, local time) plus `add_days`.
fn day_start(date: &str, add_days: u32) -> Option<u64> {
    if date.is_empty() {
        return None;
    }
    let mut parts = date.split('-').map(|p| p.parse::<u32>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    let day = js_sys::Date::new_with_year_month_day(y, m as i32 - 1, (d + add_days) as i32);
    let ms = day.get_time();
    (ms.is_finite() && ms >= 0.0).then_some(ms as u64)
}
