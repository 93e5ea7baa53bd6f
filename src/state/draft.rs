//! The studio form's values, shared so that other screens can fill it: "reuse settings" in the
//! gallery, a dropped PNG that carries its settings. Kept across page changes.

use easel_core::GenerationRequest;
use easel_core::catalog::{self, DEFAULT_MODEL, Model};
use leptos::prelude::*;

/// The model picker's value for a model outside the catalog.
pub const CUSTOM_MODEL: &str = "custom";
/// The size picker's value for a width × height typed in (models with a custom-size rule).
pub const CUSTOM_SIZE: &str = "custom";

#[derive(Clone, Copy)]
pub struct Draft {
    pub prompt: RwSignal<String>,
    /// A catalog model id, or [`CUSTOM_MODEL`].
    pub model_choice: RwSignal<String>,
    pub custom_model: RwSignal<String>,
    pub custom_size: RwSignal<String>,
    pub size: RwSignal<String>,
    pub quality: RwSignal<String>,
    pub format: RwSignal<String>,
    pub count: RwSignal<u32>,
    /// Streamed previews per image (`partial_images`); 0 sends no stream.
    pub previews: RwSignal<u32>,
    /// Width and height typed for [`CUSTOM_SIZE`].
    pub width: RwSignal<String>,
    pub height: RwSignal<String>,
    /// `auto` sends nothing.
    pub background: RwSignal<String>,
    /// 0–100 for jpeg and webp; 100 sends nothing.
    pub compression: RwSignal<u32>,
    /// `auto` sends nothing.
    pub moderation: RwSignal<String>,
    /// Empty: the model's default.
    pub complexity: RwSignal<String>,
    /// dall-e-3's style; empty: the model's default.
    pub style: RwSignal<String>,
    /// GIF frames and each frame's duration in ms.
    pub frames: RwSignal<u32>,
    pub frame_ms: RwSignal<u32>,
    /// SVG author model and its reasoning effort; empty: the API's default.
    pub svg_model: RwSignal<String>,
    pub svg_effort: RwSignal<String>,
    /// Sent as `safety_identifier` when set.
    pub safety_identifier: RwSignal<String>,
}

impl Draft {
    pub fn provide() -> Draft {
        let initial = catalog::find(DEFAULT_MODEL);
        let draft = Draft {
            prompt: RwSignal::new(String::new()),
            model_choice: RwSignal::new(DEFAULT_MODEL.to_owned()),
            custom_model: RwSignal::new(String::new()),
            custom_size: RwSignal::new(String::new()),
            size: RwSignal::new(initial.map_or("auto", Model::default_size).to_owned()),
            quality: RwSignal::new(
                initial
                    .and_then(Model::default_quality)
                    .unwrap_or_default()
                    .to_owned(),
            ),
            format: RwSignal::new(
                initial
                    .and_then(Model::default_output_format)
                    .unwrap_or_default()
                    .to_owned(),
            ),
            count: RwSignal::new(1),
            previews: RwSignal::new(0),
            width: RwSignal::new("1536".to_owned()),
            height: RwSignal::new("1024".to_owned()),
            background: RwSignal::new("auto".to_owned()),
            compression: RwSignal::new(100),
            moderation: RwSignal::new("auto".to_owned()),
            complexity: RwSignal::new(String::new()),
            style: RwSignal::new(String::new()),
            frames: RwSignal::new(catalog::GIF_DEFAULT_FRAMES),
            frame_ms: RwSignal::new(catalog::GIF_DEFAULT_FRAME_MS),
            svg_model: RwSignal::new(String::new()),
            svg_effort: RwSignal::new(String::new()),
            safety_identifier: RwSignal::new(String::new()),
        };
        provide_context(draft);
        draft
    }

    /// Chooses a model by name: a catalog model, or any other as a custom one (a profile's
    /// default model).
    pub fn use_model(&self, name: &str) {
        if catalog::find(name).is_some() {
            self.model_choice.set(name.to_owned());
        } else {
            self.model_choice.set(CUSTOM_MODEL.to_owned());
            self.custom_model.set(name.to_owned());
        }
    }

    /// Fills the form from a request made before: same prompt, model and parameters.
    pub fn apply(&self, request: &GenerationRequest) {
        self.prompt.set(request.prompt.clone());
        self.count.set(request.image_count().max(1));
        self.previews.set(match request.stream {
            Some(true) => request.partial_images.unwrap_or(0),
            _ => 0,
        });
        let text = |value: &Option<String>, default: &str| {
            value.clone().unwrap_or_else(|| default.to_owned())
        };
        self.background.set(text(&request.background, "auto"));
        self.moderation.set(text(&request.moderation, "auto"));
        self.complexity.set(text(&request.complexity, ""));
        self.style.set(text(&request.style, ""));
        self.compression
            .set(request.output_compression.unwrap_or(100).min(100));
        self.frames
            .set(request.frame_count.unwrap_or(catalog::GIF_DEFAULT_FRAMES));
        self.frame_ms.set(
            request
                .frame_duration_ms
                .unwrap_or(catalog::GIF_DEFAULT_FRAME_MS),
        );
        // `svg` is never read back from storage (see `GenerationRequest::svg`): the SVG author
        // stays as it is in the form.
        self.safety_identifier
            .set(text(&request.safety_identifier, ""));
        match catalog::find(&request.model) {
            Some(model) => {
                self.model_choice.set(model.id.to_owned());
                if let Some(size) = &request.size {
                    match easel_core::Size::parse(size) {
                        Some(custom) if !model.sizes.contains(&size.as_str()) => {
                            self.size.set(CUSTOM_SIZE.to_owned());
                            self.width.set(custom.width.to_string());
                            self.height.set(custom.height.to_string());
                        }
                        _ => self.size.set(size.clone()),
                    }
                }
                if let Some(quality) = &request.quality {
                    self.quality.set(quality.clone());
                }
                if let Some(format) = &request.output_format {
                    self.format.set(format.clone());
                }
            }
            None => {
                self.model_choice.set(CUSTOM_MODEL.to_owned());
                self.custom_model.set(request.model.clone());
                self.custom_size
                    .set(request.size.clone().unwrap_or_default());
            }
        }
    }
}
