//! The end-to-end harness: a real relay serving the real release build, driven by headless
//! Chromium through chromedriver. Tests live in `e2e/tests/`; `cargo xtask test` runs them
//! after building `dist/` and the relay.

pub mod browser;
pub mod bundle;
pub mod http;
pub mod relay;
pub mod static_host;
pub mod tap;

use std::path::{Path, PathBuf};

pub use browser::Browser;
pub use relay::Relay;
pub use static_host::StaticHost;
pub use tap::Tap;

/// The workspace root (this crate sits one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e sits inside the workspace")
        .to_path_buf()
}

/// The built app: `EASEL_DIST`, else `<workspace>/dist`. Panics with the fix when it is
/// missing, because every journey needs it.
pub fn dist_dir() -> PathBuf {
    let dist = std::env::var_os("EASEL_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    assert!(
        dist.join("index.html").is_file(),
        "no built app at {} (index.html missing): run `cargo xtask test`, which builds it \
         with `trunk build --release` first, or set EASEL_DIST",
        dist.display()
    );
    dist
}

/// Where screenshots go (`e2e/artifacts/`, gitignored).
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&dir).expect("create e2e/artifacts");
    dir
}

/// The running test's name (libtest names each test's thread after it), for artifact names.
pub fn current_test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("e2e")
        .rsplit("::")
        .next()
        .unwrap_or("e2e")
        .to_string()
}
