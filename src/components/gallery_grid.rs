use easel_core::decimal::px;
use easel_core::gallery::GalleryItem;
use leptos::html::{Div, Img};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;
use web_sys::MouseEvent;

use crate::state::GalleryView;
use crate::state::grid_layout::{self, Metrics, Row, RowKind};
use crate::storage::ObjectUrl;

/// Rows rendered beyond the viewport on each side, in pixels.
const OVERSCAN: f64 = 600.0;

/// The gallery grid, grouped by generation and virtualized: only rows near the viewport exist
/// in the page, and only their cells hold object URLs (revoked when they leave).
#[component]
pub fn GalleryGrid() -> impl IntoView {
    let view = expect_context::<GalleryView>();
    let scroller = NodeRef::<Div>::new();
    let scroll_top = RwSignal::new(0.0);
    let viewport = RwSignal::new(800.0);
    let width = RwSignal::new(1000.0);

    // What can be seen is never taller than the window, even before the stylesheet sizes
    // the scroller.
    let visible_height = |el: &web_sys::HtmlDivElement| {
        let window = web_sys::window()
            .and_then(|w| w.inner_height().ok())
            .and_then(|h| h.as_f64());
        f64::from(el.client_height()).min(window.unwrap_or(f64::MAX))
    };
    // Rows are laid out only once the scroller's real width is known: a first layout at a
    // guessed width would build every visible cell twice.
    let measured = RwSignal::new(false);
    let measure = move || {
        if let Some(el) = scroller.get_untracked() {
            viewport.set(visible_height(&el));
            // Minus the horizontal padding of the canvas.
            width.set((f64::from(el.client_width()) - 16.0).max(100.0));
            measured.set(true);
        }
    };
    Effect::new(move |_| {
        if scroller.get().is_some() {
            measure();
        }
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| measure());
    on_cleanup(move || resize.remove());

    let metrics = Memo::new(move |_| Metrics {
        width: width.get(),
        min_cell: 168.0,
        gap: 8.0,
        heading: 44.0,
    });
    let rows = Memo::new(move |_| {
        let sizes = view.shown.with(|items| group_sizes(items));
        grid_layout::layout(&sizes, metrics.get())
    });
    let visible_rows = Memo::new(move |_| {
        if !measured.get() {
            return Vec::new();
        }
        rows.with(|rows| {
            let range = grid_layout::visible(rows, scroll_top.get(), viewport.get(), OVERSCAN);
            rows[range.clone()]
                .iter()
                .cloned()
                .zip(range)
                .collect::<Vec<(Row, usize)>>()
        })
    });
    let cell = move || metrics.with(Metrics::cell);

    view! {
        // Layout that virtualization depends on is inline, so it holds whatever the stylesheet.
        <div class="gallery-scroll" node_ref=scroller tabindex="-1"
            style="overflow-y: auto; position: relative; min-height: 0"
            on:scroll=move |_| {
                if let Some(el) = scroller.get_untracked() {
                    viewport.set(visible_height(&el));
                    scroll_top.set(f64::from(el.scroll_top()));
                }
            }>
            <div class="gallery-canvas" style:position="relative" style:height=move || px(rows.with(|r| grid_layout::total_height(r)))>
                <For each=move || visible_rows.get() key=|(row, index)| (*index, row_key(row)) let:((row, _index))>
                    <GridRow row cell=Signal::derive(cell) />
                </For>
            </div>
        </div>
    }
}

/// Stable per content and place, so rows that stay on screen while scrolling are not rebuilt,
/// and a new layout (the window resized) replaces every row it moved or resized: a row's
/// position and height are fixed when it is built.
fn row_key(row: &Row) -> String {
    let (top, height) = (row.top as u64, row.height as u64);
    match &row.kind {
        RowKind::Heading { first } => format!("h{first}-{top}"),
        RowKind::Cells { items } => format!("c{}-{}-{top}-{height}", items.start, items.end),
    }
}

/// Lengths of the consecutive runs of one generation in the shown order.
fn group_sizes(items: &[GalleryItem]) -> Vec<usize> {
    let mut sizes: Vec<usize> = Vec::new();
    let mut previous: Option<&str> = None;
    for item in items {
        if previous == Some(item.job_id.as_str()) {
            if let Some(last) = sizes.last_mut() {
                *last += 1;
            }
        } else {
            sizes.push(1);
        }
        previous = Some(item.job_id.as_str());
    }
    sizes
}

#[component]
fn GridRow(row: Row, cell: Signal<f64>) -> impl IntoView {
    let view = expect_context::<GalleryView>();
    let style = format!(
        "transform: translateY({}); height: {}",
        px(row.top),
        px(row.height)
    );
    match row.kind {
        RowKind::Heading { first } => {
            let item = view.shown.with_untracked(|s| s.get(first).cloned());
            view! {
                <div class="grid-heading" style=style>
                    {item.map(|item| {
                        let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(item.created_ms as f64));
                        let date = String::from(when.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED));
                        view! {
                            <p class="group-prompt" title=item.prompt.clone()>{item.prompt.clone()}</p>
                            <p class="group-meta">{format!("{} · {} · {date}", item.model, item.size())}</p>
                        }
                    })}
                </div>
            }
            .into_any()
        }
        RowKind::Cells { items } => view! {
            <div class="grid-row" style=style>
                {items.map(|index| view! { <GridCell index size=cell /> }).collect_view()}
            </div>
        }
        .into_any(),
    }
}

#[component]
fn GridCell(index: usize, size: Signal<f64>) -> impl IntoView {
    let view = expect_context::<GalleryView>();
    let Some(item) = view.shown.with_untracked(|s| s.get(index).cloned()) else {
        return ().into_any();
    };
    let id = item.id.clone();
    let selected = {
        let id = id.clone();
        Memo::new(move |_| view.selected.with(|s| s.contains(&id)))
    };
    let on_click =
        move |ev: MouseEvent| view.click(index, ev.ctrl_key() || ev.meta_key(), ev.shift_key());
    let toggle_id = id.clone();
    view! {
        <figure class="grid-cell" class:selected=move || selected.get()
            style:width=move || px(size.get()) style:height=move || px(size.get())
            data-id=id.clone()>
            <button type="button" class="cell-open" on:click=on_click aria-label=format!("Open: {}", item.prompt)>
                <StoredThumb hash=item.sha256.clone() class="thumb" />
            </button>
            <input type="checkbox" class="cell-select" aria-label="Select"
                prop:checked=move || selected.get()
                on:change=move |_| view.toggle(&toggle_id) />
            {item.favorite.then(|| view! { <span class="cell-favorite" aria-label="Favorite">"★"</span> })}
        </figure>
    }
    .into_any()
}

/// A stored image's thumbnail, loaded when shown: the thumbnail as a `data:` URL, or for an
/// item without one its full image through an object URL revoked with the element.
#[component]
pub fn StoredThumb(hash: String, class: &'static str) -> impl IntoView {
    let gallery = expect_context::<GalleryView>().gallery;
    let img = NodeRef::<Img>::new();
    let full_image = StoredValue::new_local(None::<ObjectUrl>);
    spawn_local(async move {
        let Ok(db) = gallery.db().await else { return };
        let src = match db.thumb(&hash).await {
            // Set on the element and not kept here: the page holds only what is on screen.
            Ok(Some(thumb)) => JsValue::from(thumb.data_url()),
            _ => {
                let Some(blob) = db.image(&hash).await.ok().flatten() else {
                    return;
                };
                let Ok(url) = ObjectUrl::shown(&blob).await else {
                    return;
                };
                let src = JsValue::from_str(url.as_str());
                // The element may have left the page while loading: then the URL is dropped
                // (revoked) here.
                if full_image.try_set_value(Some(url)).is_some() {
                    return;
                }
                src
            }
        };
        if let Some(Some(img)) = img.try_get_untracked() {
            // A JS string set as is: a thumbnail's data URL is not copied into the app.
            let _ = js_sys::Reflect::set(&img, &JsValue::from_str("src"), &src);
        }
    });
    view! { <img class=class node_ref=img alt="" decoding="async" /> }
}

#[cfg(test)]
mod tests {
    #[test]
    fn group_sizes_follow_runs_of_a_job() {
        let item = |job: &str| {
            easel_core::gallery::GalleryItem {
            job_id: job.to_owned(),
            ..serde_json::from_str(
                r#"{"id":"x","sha256":"","mime":"image/png","width":1,"height":1,"prompt":"","model":"m",
                    "request":{"prompt":""},"created_ms":0,"job_id":"j"}"#,
            )
            .unwrap()
        }
        };
        let items = [item("a"), item("a"), item("b"), item("a")];
        assert_eq!(super::group_sizes(&items), [2, 1, 1]);
        assert!(super::group_sizes(&[]).is_empty());
    }
}
