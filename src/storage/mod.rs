//! Browser storage: the IndexedDB gallery, image helpers, object-URL ownership, preferences.

pub mod archive;
pub mod browser;
pub mod deflate;
pub mod download;
mod gallery_db;
mod object_url;
mod preferences;
pub mod vault;

pub use archive::{ArchiveError, ExportFormat, ImportReport, export_zip, import_zip};
pub use browser::Thumbnail;
pub use download::{file_for_download, save_as};
pub use gallery_db::{GalleryDb, ItemRecord, NewImage, PendingJob, StorageError, StoredItem};
pub use object_url::ObjectUrl;
pub use preferences::{
    Area, load_json, load_text, load_text_in, remove, remove_in, save_json, save_text, save_text_in,
};
