//! The studio form's values, shared so that other screens can fill it: "reuse settings" in the
//! gallery, a dropped PNG that carries its settings. Kept across page changes.

use easel_core::GenerationRequest;
use easel_core::catalog::{self, DEFAULT_MODEL, Model};
use leptos::prelude::*;

/// The model picker's value for a model outside the catalog.
pub const CUSTOM_MODEL: &str = "custom";

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
        };
        provide_context(draft);
        draft
    }

    /// Fills the form from a request made before: same prompt, model and parameters.
    pub fn apply(&self, request: &GenerationRequest) {
        self.prompt.set(request.prompt.clone());
        self.count.set(request.image_count().max(1));
        self.previews.set(match request.stream {
            Some(true) => request.partial_images.unwrap_or(0),
            _ => 0,
        });
        match catalog::find(&request.model) {
            Some(model) => {
                self.model_choice.set(model.id.to_owned());
                if let Some(size) = &request.size {
                    self.size.set(size.clone());
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
