mod app_header;
mod job_card;
mod prompt_form;
mod relay_banner;
mod settings_drop;

pub use app_header::AppHeader;
pub use job_card::JobCard;
pub use prompt_form::PromptForm;
pub use relay_banner::RelayBanner;
pub use settings_drop::SettingsDrop;
