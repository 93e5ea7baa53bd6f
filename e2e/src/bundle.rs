//! First-load size of the built app: what a visitor downloads before the page works
//! (index.html, the JS, wasm and CSS it references, and the JS those modules import), raw and
//! compressed the way static hosts serve it. Chunks fetched later (the gallery's wasm) are
//! listed apart, outside the budget.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The budget for the first load, brotli-compressed.
pub const BROTLI_BUDGET: u64 = 250 * 1024;

const FIRST_LOAD_EXTENSIONS: [&str; 3] = [".js", ".wasm", ".css"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSize {
    /// Path relative to the dist dir.
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

impl FileSize {
    fn measure(dist: &Path, path: &Path) -> io::Result<FileSize> {
        let bytes = std::fs::read(path)?;
        Ok(FileSize {
            name: path
                .strip_prefix(dist)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned(),
            raw: bytes.len() as u64,
            gzip: gzip_len(&bytes)?,
            brotli: brotli_len(&bytes)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct BundleReport {
    /// index.html first, then referenced files in the order they appear.
    pub files: Vec<FileSize>,
    /// The other .js and .wasm files of dist: loaded only when a page needs them.
    pub later: Vec<FileSize>,
}

impl BundleReport {
    /// Measures the first-load files of `dist`.
    pub fn measure(dist: &Path) -> io::Result<BundleReport> {
        let first = first_load_files(dist)?;
        let mut later: Vec<PathBuf> = std::fs::read_dir(dist)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                let name = path.to_string_lossy();
                (name.ends_with(".js") || name.ends_with(".wasm")) && !first.contains(path)
            })
            .collect();
        later.sort();
        let sizes = |paths: Vec<PathBuf>| -> io::Result<Vec<FileSize>> {
            paths
                .iter()
                .map(|path| FileSize::measure(dist, path))
                .collect()
        };
        Ok(BundleReport {
            files: sizes(first)?,
            later: sizes(later)?,
        })
    }

    pub fn total(&self) -> FileSize {
        FileSize {
            name: "total".into(),
            raw: self.files.iter().map(|f| f.raw).sum(),
            gzip: self.files.iter().map(|f| f.gzip).sum(),
            brotli: self.files.iter().map(|f| f.brotli).sum(),
        }
    }

    pub fn within_budget(&self) -> bool {
        self.total().brotli <= BROTLI_BUDGET
    }
}

impl fmt::Display for BundleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .files
            .iter()
            .chain(&self.later)
            .map(|file| file.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(16);
        let row = |f: &mut fmt::Formatter<'_>, file: &FileSize| {
            writeln!(
                f,
                "{:<width$}  {:>10}  {:>10}  {:>10}",
                file.name,
                kb(file.raw),
                kb(file.gzip),
                kb(file.brotli)
            )
        };
        writeln!(
            f,
            "{:<width$}  {:>10}  {:>10}  {:>10}",
            "first-load file", "raw", "gzip", "brotli"
        )?;
        let rule = "─".repeat(width + 36);
        writeln!(f, "{rule}")?;
        for file in &self.files {
            row(f, file)?;
        }
        writeln!(f, "{rule}")?;
        row(f, &self.total())?;
        let total = self.total().brotli;
        let verdict = if total <= BROTLI_BUDGET {
            format!("ok, {} left", kb(BROTLI_BUDGET - total))
        } else {
            format!("OVER by {}", kb(total - BROTLI_BUDGET))
        };
        write!(
            f,
            "{:<width$}  {:>10}  {:>10}  {:>10}  {verdict}",
            "budget (brotli)",
            "",
            "",
            kb(BROTLI_BUDGET)
        )?;
        if !self.later.is_empty() {
            writeln!(f, "\n\nloaded when a page needs it (outside the budget)")?;
            for file in &self.later {
                row(f, file)?;
            }
        }
        Ok(())
    }
}

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

/// index.html plus every local .js/.wasm/.css it names (in tags or in Trunk's inline
/// loader script), then the modules those scripts import statically, each once.
pub fn first_load_files(dist: &Path) -> io::Result<Vec<PathBuf>> {
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot read {}: {e} (build the app first)", index.display()),
        )
    })?;
    let mut files = vec![index];
    for reference in url_like_runs(&html) {
        let path = reference.split(['?', '#']).next().unwrap_or_default();
        if !FIRST_LOAD_EXTENSIONS.iter().any(|ext| path.ends_with(ext))
            || path.contains("://")
            || path.starts_with("//")
            || path.starts_with("data:")
        {
            continue;
        }
        let resolved = resolve(dist, path).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "index.html references {reference:?}, which is not in {}",
                    dist.display()
                ),
            )
        })?;
        if !files.contains(&resolved) {
            files.push(resolved);
        }
    }
    // A static `import … from "./x.js"` is fetched before the module runs: part of the first
    // load. (Dynamic `import()` and `fetch(new URL(…))` are not.)
    let mut next = 1;
    while next < files.len() {
        let path = files[next].clone();
        next += 1;
        if path.extension().is_none_or(|e| e != "js") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let base = path.parent().unwrap_or(dist);
        for import in static_imports(&text) {
            let resolved = base.join(import.trim_start_matches("./"));
            if !resolved.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "{} imports {import:?}, which is not in {}",
                        path.display(),
                        dist.display()
                    ),
                ));
            }
            if !files.contains(&resolved) {
                files.push(resolved);
            }
        }
    }
    Ok(files)
}

/// The relative module paths after `from` in `import … from "./x.js"` (minified or not).
fn static_imports(js: &str) -> Vec<&str> {
    js.match_indices("from")
        .filter_map(|(at, _)| {
            let rest = js[at + 4..].trim_start();
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let inner = &rest[1..];
            let path = &inner[..inner.find(quote)?];
            (path.starts_with("./") && path.ends_with(".js")).then_some(path)
        })
        .collect()
}

/// Maximal runs of characters that can appear in a URL. Splitting on everything else
/// (quotes, spaces, parentheses) finds references in attributes and scripts alike, without
/// being thrown by an apostrophe in text.
fn url_like_runs(text: &str) -> impl Iterator<Item = &str> {
    let in_url = |c: char| c.is_ascii_alphanumeric() || "-_./~%@+:?#=&".contains(c);
    text.split(move |c: char| !in_url(c))
        .filter(|run| !run.is_empty())
}

/// A URL path from index.html → a file in dist. Tolerates a public-URL prefix
/// (`/easel/app.js` when deployed under `/easel/`) by dropping leading segments.
fn resolve(dist: &Path, path: &str) -> Option<PathBuf> {
    let trimmed = path.trim_start_matches("./").trim_start_matches('/');
    let segments: Vec<&str> = trimmed.split('/').filter(|s| !s.is_empty()).collect();
    (0..segments.len())
        .map(|skip| dist.join(segments[skip..].join("/")))
        .find(|candidate| candidate.is_file())
}

fn gzip_len(bytes: &[u8]) -> io::Result<u64> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len() as u64)
}

fn brotli_len(bytes: &[u8]) -> io::Result<u64> {
    use brotli::ffi::compressor::{
        BrotliEncoderCompress, BrotliEncoderMaxCompressedSize, BrotliEncoderMode,
    };
    // Quality 11, window 22: what static hosts use for precompressed assets.
    // Through brotli's non-generic C entry point on purpose: the generic Rust API is
    // instantiated in this crate, unoptimised in test builds (~5x slower on a release wasm),
    // while this function is compiled inside `brotli` with its optimised dev profile.
    let mut out = vec![0u8; BrotliEncoderMaxCompressedSize(bytes.len()).max(1024)];
    let mut out_len = out.len();
    // SAFETY: both pointers come from live slices with the lengths passed alongside;
    // the encoder writes at most `out_len` bytes and stores the used length back.
    let ok = unsafe {
        BrotliEncoderCompress(
            11,
            22,
            BrotliEncoderMode::BROTLI_MODE_GENERIC,
            bytes.len(),
            bytes.as_ptr(),
            &mut out_len,
            out.as_mut_ptr(),
        )
    };
    if ok == 1 {
        Ok(out_len as u64)
    } else {
        Err(io::Error::other("brotli compression failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_trunk_references_once_in_order() {
        let dist = tempfile::tempdir().unwrap();
        let html = r#"<!DOCTYPE html><html><head>
<link rel="stylesheet" href="/style-abc.css" integrity="sha384-x"/>
<link rel="modulepreload" href="/easel-123.js" crossorigin="anonymous">
<link rel="preload" href="/easel-123_bg.wasm" as="fetch" type="application/wasm">
<link rel="icon" href="data:,">
<script type="module">import init from '/easel-123.js';await init({ module_or_path: '/easel-123_bg.wasm' });</script>
<script src="https://example.invalid/x.js"></script>
</head></html>"#;
        std::fs::write(dist.path().join("index.html"), html).unwrap();
        for name in ["style-abc.css", "easel-123.js", "easel-123_bg.wasm"] {
            std::fs::write(dist.path().join(name), name.repeat(50)).unwrap();
        }
        let names: Vec<String> = BundleReport::measure(dist.path())
            .unwrap()
            .files
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            [
                "index.html",
                "style-abc.css",
                "easel-123.js",
                "easel-123_bg.wasm"
            ]
        );
    }

    #[test]
    fn follows_static_imports_and_lists_lazy_chunks_apart() {
        let dist = tempfile::tempdir().unwrap();
        let html = r#"<script type="module">import init from"/easel-1.js";init({module_or_path:"/easel-1_bg.wasm"})</script>"#;
        std::fs::write(dist.path().join("index.html"), html).unwrap();
        let files = [
            (
                "easel-1.js",
                "import * as import1 from \"./split-2.js\"\nArray.from(x);",
            ),
            (
                "split-2.js",
                "import { initSync } from \"./easel-1.js\";\nfetch(new URL(\"./chunk-3.wasm\", import.meta.url));",
            ),
            ("easel-1_bg.wasm", "main"),
            ("chunk-3.wasm", "chunk"),
        ];
        for (name, text) in files {
            std::fs::write(dist.path().join(name), text).unwrap();
        }
        let report = BundleReport::measure(dist.path()).unwrap();
        let names = |list: &[FileSize]| list.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&report.files),
            ["index.html", "easel-1.js", "easel-1_bg.wasm", "split-2.js"]
        );
        assert_eq!(names(&report.later), ["chunk-3.wasm"]);
        assert!(report.to_string().contains("outside the budget"));
    }

    #[test]
    fn resolves_a_public_url_prefix() {
        let dist = tempfile::tempdir().unwrap();
        std::fs::write(dist.path().join("app.js"), "x").unwrap();
        assert_eq!(
            resolve(dist.path(), "/easel/app.js"),
            Some(dist.path().join("app.js"))
        );
        assert_eq!(resolve(dist.path(), "/easel/missing.js"), None);
    }

    #[test]
    fn compression_shrinks_repetitive_input_and_report_sums() {
        let bytes = b"easel ".repeat(1000);
        assert!(gzip_len(&bytes).unwrap() < 200);
        assert!(brotli_len(&bytes).unwrap() < 100);
        let report = BundleReport {
            later: Vec::new(),
            files: vec![
                FileSize {
                    name: "a".into(),
                    raw: 1,
                    gzip: 2,
                    brotli: 3,
                },
                FileSize {
                    name: "b".into(),
                    raw: 10,
                    gzip: 20,
                    brotli: BROTLI_BUDGET,
                },
            ],
        };
        assert_eq!(report.total().brotli, BROTLI_BUDGET + 3);
        assert!(!report.within_budget());
        assert!(report.to_string().contains("OVER by"));
    }
}
