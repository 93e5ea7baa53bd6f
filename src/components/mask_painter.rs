//! The mask painter: paint over the first image where an edit may change it, or (for models
//! that take a `markup` guide) draw marks that show what to change. The strokes, undo and redo
//! are `core::edit::MaskEditor`; this draws its overlay on a canvas laid over the image and
//! encodes the PNG that is sent.

use easel_core::Size;
use easel_core::edit::{Guide, MaskEditor, Rect, brush_radius_in_image, to_image_point};
use leptos::ev;
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, CanvasRenderingContext2d, ImageData, ImageEncodeOptions, KeyboardEvent, OffscreenCanvas,
    OffscreenCanvasRenderingContext2d, PointerEvent,
};

/// The brush's diameter in screen pixels, when the page opens.
const DEFAULT_BRUSH: u32 = 40;

/// The mask of one image: its editor, and a counter that changes with it so that the buttons
/// and the marked share follow.
#[derive(Clone, Copy)]
pub struct MaskHandle {
    editor: StoredValue<MaskEditor, LocalStorage>,
    /// Bumped after every change.
    pub version: RwSignal<u32>,
    /// What the painted pixels are sent as: a mask, or the marks of a markup guide.
    pub guide: RwSignal<Guide>,
    canvas: NodeRef<Canvas>,
}

impl PartialEq for MaskHandle {
    /// The same mask (each has its own counter).
    fn eq(&self, other: &MaskHandle) -> bool {
        self.version == other.version
    }
}

impl MaskHandle {
    /// An empty mask for an image of `size`.
    pub fn new(size: Size) -> MaskHandle {
        MaskHandle {
            editor: StoredValue::new_local(MaskEditor::new(size)),
            version: RwSignal::new(0),
            guide: RwSignal::new(Guide::Mask),
            canvas: NodeRef::new(),
        }
    }

    pub fn size(&self) -> Size {
        self.editor.with_value(MaskEditor::size)
    }

    /// How many pixels may change; 0 means no mask is sent.
    pub fn marked_count(&self) -> usize {
        self.version.track();
        self.editor.with_value(MaskEditor::marked_count)
    }

    pub fn can_undo(&self) -> bool {
        self.version.track();
        self.editor.with_value(MaskEditor::can_undo)
    }

    pub fn can_redo(&self) -> bool {
        self.version.track();
        self.editor.with_value(MaskEditor::can_redo)
    }

    pub fn undo(&self) {
        self.change(MaskEditor::undo);
    }

    pub fn redo(&self) {
        self.change(MaskEditor::redo);
    }

    pub fn invert(&self) {
        self.change(|e| Some(e.invert()));
    }

    pub fn clear(&self) {
        self.change(|e| Some(e.clear()));
    }

    fn change(&self, f: impl FnOnce(&mut MaskEditor) -> Option<Rect>) {
        let changed = self.editor.try_update_value(f).flatten();
        if let Some(rect) = changed {
            self.redraw(rect);
        }
        self.version.update(|v| *v = v.wrapping_add(1));
    }

    /// Draws the overlay of `rect` on the canvas.
    fn redraw(&self, rect: Rect) {
        let Some(canvas) = self.canvas.get_untracked() else {
            return;
        };
        // A "2d" context is always a CanvasRenderingContext2d: no instanceof check, since
        // every browser call the editor adds is glue in the first load.
        let Some(context) = canvas.get_context("2d").ok().flatten() else {
            return;
        };
        let context: CanvasRenderingContext2d = context.unchecked_into();
        let guide = self.guide.get_untracked();
        let pixels = self.editor.with_value(|e| e.overlay_rgba(rect, guide));
        if let Ok(data) =
            ImageData::new_with_u8_clamped_array_and_sh(Clamped(&pixels), rect.width, rect.height)
        {
            let _ = context.put_image_data(&data, f64::from(rect.x), f64::from(rect.y));
        }
    }

    fn redraw_all(&self) {
        let Size { width, height } = self.size();
        self.redraw(Rect {
            x: 0,
            y: 0,
            width,
            height,
        });
    }

    /// Paints from now on as `guide`; what is already painted is kept and redrawn as such.
    pub fn set_guide(&self, guide: Guide) {
        if self.guide.get_untracked() != guide {
            self.guide.set(guide);
            self.redraw_all();
        }
    }

    /// The layer as a PNG of the image's size, encoded by the browser: as a mask, transparent
    /// (alpha 0) where the image may change and opaque elsewhere; as markup, the marks on a
    /// transparent sheet.
    pub async fn to_png(&self) -> Result<Blob, JsValue> {
        let Size { width, height } = self.size();
        let guide = self.guide.get_untracked();
        let pixels = self.editor.with_value(|e| e.layer_rgba(guide));
        let canvas = OffscreenCanvas::new(width, height)?;
        let context: OffscreenCanvasRenderingContext2d = canvas
            .get_context("2d")?
            .ok_or("no 2d canvas")?
            .unchecked_into();
        let data = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&pixels), width, height)?;
        drop(pixels);
        context.put_image_data(&data, 0.0, 0.0)?;
        let encode = ImageEncodeOptions::new();
        encode.set_type("image/png");
        JsFuture::from(canvas.convert_to_blob_with_options(&encode)?)
            .await?
            .dyn_into()
    }
}

/// The image with the mask over it, and the tools: brush size, paint or erase, undo, redo,
/// invert, clear, and where the model takes one, mask or markup. Ctrl+Z undoes, Ctrl+Shift+Z
/// (or Ctrl+Y) redoes.
#[component]
pub fn MaskPainter(
    mask: MaskHandle,
    /// The first image, as an object URL.
    image_url: String,
    /// Describes the image for screen readers.
    alt: String,
    /// Whether the chosen model takes a markup guide instead of a mask.
    #[prop(optional, into)]
    markup: Signal<bool>,
) -> impl IntoView {
    let brush = RwSignal::new(DEFAULT_BRUSH);
    let erase = RwSignal::new(false);
    let drawing = StoredValue::new(false);
    let Size { width, height } = mask.size();

    // Draw what the mask already holds once the canvas exists (a remount keeps the strokes).
    Effect::new(move |_| {
        if mask.canvas.get().is_some() {
            mask.redraw_all();
        }
    });

    // The offset is from the canvas's corner (it has no border or padding, and keeps the
    // pointer captured while a stroke lasts).
    let point = move |ev: &PointerEvent| {
        let canvas = mask.canvas.get_untracked()?;
        let shown_width = f64::from(canvas.client_width());
        let shown_height = f64::from(canvas.client_height());
        let size = mask.size();
        let at = to_image_point(
            f64::from(ev.offset_x()),
            f64::from(ev.offset_y()),
            shown_width,
            shown_height,
            size,
        );
        let radius =
            brush_radius_in_image(f64::from(brush.get_untracked()) / 2.0, shown_width, size);
        Some((at, radius))
    };
    let on_down = move |ev: PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        let Some((at, radius)) = point(&ev) else {
            return;
        };
        ev.prevent_default();
        if let Some(canvas) = mask.canvas.get_untracked() {
            let _ = canvas.set_pointer_capture(ev.pointer_id());
        }
        drawing.set_value(true);
        let erasing = erase.get_untracked();
        mask.change(|e| e.begin_stroke(at, radius, erasing));
    };
    let on_move = move |ev: PointerEvent| {
        if !drawing.get_value() {
            return;
        }
        if let Some((at, _)) = point(&ev) {
            // No version bump per move: counting marked pixels waits for the stroke's end.
            if let Some(rect) = mask
                .editor
                .try_update_value(|e| e.extend_stroke(at))
                .flatten()
            {
                mask.redraw(rect);
            }
        }
    };
    let on_up = move |_: PointerEvent| {
        if drawing.get_value() {
            drawing.set_value(false);
            mask.change(|e| {
                e.end_stroke();
                None
            });
        }
    };

    let keys = window_event_listener(ev::keydown, move |ev: KeyboardEvent| {
        if !(ev.ctrl_key() || ev.meta_key()) {
            return;
        }
        // Text fields keep their own undo.
        let typing = ev.target().is_some_and(|t| {
            t.is_instance_of::<web_sys::HtmlInputElement>()
                || t.is_instance_of::<web_sys::HtmlTextAreaElement>()
                || t.is_instance_of::<web_sys::HtmlSelectElement>()
        });
        if typing {
            return;
        }
        match (ev.key().to_ascii_lowercase().as_str(), ev.shift_key()) {
            ("z", false) => mask.undo(),
            ("z", true) | ("y", _) => mask.redo(),
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || keys.remove());

    // A model without markup gets a mask, whatever was chosen for the previous one.
    Effect::new(move |_| {
        if !markup.get() {
            mask.set_guide(Guide::Mask);
        }
    });
    let marking_up = move || markup.get() && mask.guide.get() == Guide::Markup;

    let share = move || {
        let total = (u64::from(width) * u64::from(height)).max(1);
        let marked = mask.marked_count() as u64;
        let percent = (marked * 100).div_ceil(total);
        match (marking_up(), marked) {
            (false, 0) => {
                "Nothing marked: the whole image may change. Paint where it should.".to_owned()
            }
            (false, _) => format!("{percent}% of the image marked for the edit."),
            (true, 0) => "No marks yet: draw on the image to show what to change (circle it, \
                          cross it out, sketch the new shape), then describe it."
                .to_owned(),
            (true, _) => {
                format!("Markup covers {percent}% of the image; it is sent as a guide, not a mask.")
            }
        }
    };
    let max_width = format!("min(100%, calc((100vh - 12rem) * {width} / {height}))");

    view! {
        <div class="mask-painter">
            <div class="mask-stage" style:max-width=max_width>
                <img src=image_url alt=alt draggable="false" />
                <canvas node_ref=mask.canvas id="mask-canvas" width=width height=height
                    aria-label="Mask: paint over the parts of the image to change"
                    on:pointerdown=on_down on:pointermove=on_move
                    on:pointerup=on_up on:pointercancel=on_up></canvas>
            </div>
            <div class="mask-tools" role="toolbar" aria-label="Mask tools">
                <Show when=move || markup.get()>
                    <span class="guide-switch" role="group" aria-label="What the brush draws">
                        <button type="button" id="guide-mask"
                            title="Paint where the image may change"
                            aria-pressed=move || (mask.guide.get() == Guide::Mask).to_string()
                            on:click=move |_| mask.set_guide(Guide::Mask)>"Mask"</button>
                        <button type="button" id="guide-markup"
                            title="Draw marks that show what to change (sent as markup, never with a mask)"
                            aria-pressed=move || (mask.guide.get() == Guide::Markup).to_string()
                            on:click=move |_| mask.set_guide(Guide::Markup)>"Markup"</button>
                    </span>
                </Show>
                <label class="inline" for="mask-brush">"Brush"</label>
                <input type="range" id="mask-brush" min="4" max="160" step="2"
                    prop:value=move || brush.get().to_string()
                    on:input:target=move |ev| {
                        if let Ok(size) = ev.target().value().parse() { brush.set(size) }
                    } />
                <button type="button" id="mask-paint" aria-pressed=move || (!erase.get()).to_string()
                    on:click=move |_| erase.set(false)>"Paint"</button>
                <button type="button" id="mask-erase" aria-pressed=move || erase.get().to_string()
                    on:click=move |_| erase.set(true)>"Erase"</button>
                <button type="button" id="mask-undo" title="Undo (Ctrl+Z)" aria-keyshortcuts="Control+Z"
                    disabled=move || !mask.can_undo() on:click=move |_| mask.undo()>"Undo"</button>
                <button type="button" id="mask-redo" title="Redo (Ctrl+Shift+Z)" aria-keyshortcuts="Control+Shift+Z"
                    disabled=move || !mask.can_redo() on:click=move |_| mask.redo()>"Redo"</button>
                <button type="button" id="mask-invert" on:click=move |_| mask.invert()>"Invert"</button>
                <button type="button" id="mask-clear" on:click=move |_| mask.clear()>"Clear"</button>
            </div>
            <p class="hint" id="mask-status" aria-live="polite">{share}</p>
        </div>
    }
}
