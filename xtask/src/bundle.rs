//! The release bundle: `trunk build --release`, then the gallery page split into its own wasm
//! chunk, fetched the first time a visitor opens the gallery.
//!
//! Trunk has no wasm-splitting step, so after it builds `dist/` this replaces its wasm and JS
//! glue: `wasm-split-cli` cuts the linked wasm at the `#[lazy]` function (`src/lib.rs`, built
//! with `--cfg easel_split` and relocations kept), `wasm-bindgen` processes the main part,
//! `wasm-opt` shrinks both parts, and every new file gets a content hash in its name so a
//! host's cache can never pair an old chunk with a new main module. Last, it writes the
//! service worker (`sw.js`), which lists every file of the build, and its page script
//! (`pwa-<hash>.js`), imported after the page's `load` (DESIGN.md, "Installable").

use std::fs;
use std::path::{Path, PathBuf};

use crate::Result;
use crate::{imports, proc};

/// Flags for release wasm builds: the config file's (`.cargo/config.toml`, which this
/// variable replaces), plus the split switch and the relocations `wasm-split-cli` reads.
pub const RELEASE_RUSTFLAGS: &str =
    "--cfg erase_components --cfg easel_split -Clink-args=--emit-relocs";
/// Replaces `[target.wasm32-unknown-unknown] rustflags` of the config file for one command.
pub const RUSTFLAGS_VAR: &str = "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS";
/// Trunk's wasm-opt call for `data-wasm-opt="z"`.
const WASM_OPT_ARGS: [&str; 2] = ["-Oz", "--enable-reference-types"];
/// More for the main module, which every visitor downloads (1.4 KB less brotli): passes
/// repeated while they still shrink it; its memory is its own, zero when instantiated (the
/// chunks import it); and Rust's wasm stack sits below its data and grows down, so the lowest
/// 1 KB is reached only by a stack already overflowing.
const MAIN_WASM_OPT_ARGS: [&str; 3] = ["--converge", "--zero-filled-memory", "--low-memory-unused"];
/// The module name the split main wasm imports its chunk loaders from.
const SPLIT_LINK: &str = "./__wasm_split.js";

/// Builds `dist/` for release at the root of its host, gallery chunk included.
pub fn release_build() -> Result {
    release_build_at("/", &proc::root().join("dist"))
}

/// Builds for release into `dist`, to be served under `public_url` (`/` or `/easel/` for a
/// GitHub Pages project site): Trunk writes it into every asset URL and the page's
/// `<base href>`, which the app's router and links start from (`src/site.rs`). `404.html` is a
/// copy of `index.html`: a static host that serves it for unknown paths (GitHub Pages does)
/// opens deep links such as `/easel/gallery` in the app.
pub fn release_build_at(public_url: &str, dist: &Path) -> Result {
    if !(public_url.starts_with('/') && public_url.ends_with('/')) {
        return Err(format!(
            "--public-url must start and end with `/`, like /easel/ (got {public_url:?})"
        ));
    }
    proc::run(
        proc::command("trunk")
            .args(["build", "--release", "--public-url", public_url, "--dist"])
            .arg(dist)
            .env(RUSTFLAGS_VAR, RELEASE_RUSTFLAGS),
    )?;
    split(dist)?;
    let pwa = compact_js(&read_text(&proc::root().join("public/pwa.js"))?);
    let pwa_name = format!("pwa-{:016x}.js", fnv1a(pwa.as_bytes()));
    write(&dist.join(&pwa_name), pwa.as_bytes())?;
    // Registering the service worker waits for the page's `load`: it is not first-load work.
    let on_load = format!("addEventListener(\"load\",()=>import(\"{public_url}{pwa_name}\"));\n");
    move_inline_scripts(dist, public_url, &on_load)?;
    fs::copy(dist.join("index.html"), dist.join("404.html"))
        .map_err(|e| format!("cannot write 404.html in {}: {e}", dist.display()))?;
    write_service_worker(dist)
}

/// The service worker's file: at the site's root, so that its scope is the whole app, and
/// never renamed, since browsers look for a new version under the same name.
const SERVICE_WORKER: &str = "sw.js";

/// Writes `sw.js` from its template (`public/sw.js`) with the files it caches: every file of
/// `dist`, so that the studio, its lazy pages and the gallery open offline.
fn write_service_worker(dist: &Path) -> Result {
    let template = read_text(&proc::root().join("public").join(SERVICE_WORKER))?;
    let mut files = Vec::new();
    for path in files_in(dist)? {
        if path.is_dir() {
            return Err(format!(
                "{} is a folder: the service worker caches the files at the top of {} only",
                path.display(),
                dist.display()
            ));
        }
        let bytes = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        files.push((file_name(&path), bytes));
    }
    let worker = service_worker(&template, &files)?;
    write(&dist.join(SERVICE_WORKER), worker.as_bytes())?;
    println!(
        "✓ wrote {SERVICE_WORKER}, for the {} files of {}",
        files.len(),
        dist.display()
    );
    Ok(())
}

/// The service worker for a build made of `files` (name, bytes): the template with its list
/// of files to cache and its version, one hash of every name and byte in it. Any change to
/// any file gives a new version (the hashed names cover only what the split writes, and
/// `index.html`, the icons and `config.json` keep theirs), and a new version is what makes
/// browsers install the new files. `index.html` is listed as `./`, the site's root, which is
/// how every host serves it; `404.html` (its copy), the worker itself and dot files are left
/// out.
fn service_worker(template: &str, files: &[(String, Vec<u8>)]) -> Result<String> {
    let mut cached: Vec<(&str, &[u8])> = files
        .iter()
        .filter(|(name, _)| {
            // Dot files are no part of the site (Trunk leaves its `.trunk-lock`).
            !(matches!(name.as_str(), SERVICE_WORKER | "404.html") || name.starts_with('.'))
        })
        .map(|(name, bytes)| {
            let name = if name == "index.html" { "./" } else { name };
            (name, bytes.as_slice())
        })
        .collect();
    cached.sort_unstable();
    let mut content = Vec::new();
    for (name, bytes) in &cached {
        // Lengths first, so no two different lists of files hash the same bytes.
        content.extend_from_slice(&(name.len() as u64).to_le_bytes());
        content.extend_from_slice(name.as_bytes());
        content.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        content.extend_from_slice(bytes);
    }
    let version = format!("{:016x}", fnv1a(&content));
    let list = cached
        .iter()
        .map(|(name, _)| js_string(name))
        .collect::<Result<Vec<_>>>()?
        .join(",");
    let worker = replace_present(template, "\"{{version}}\"", &js_string(&version)?)?;
    let worker = replace_present(&worker, "\"{{files}}\"", &list)?;
    Ok(compact_js(&worker))
}

/// `text` as a JS string literal. Build file names need no escapes; anything that would is
/// refused rather than escaped, so the worker's list is plainly the names in `dist`.
fn js_string(text: &str) -> Result<String> {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
    {
        Ok(format!("\"{text}\""))
    } else {
        Err(format!(
            "the service worker cannot cache {text:?}: only letters, digits and . _ - / in \
             file names"
        ))
    }
}

/// `cargo xtask build [--public-url /easel/] [--dist <dir>]`.
pub fn build_command(args: &[String]) -> Result {
    let (mut public_url, mut dist) = ("/".to_owned(), proc::root().join("dist"));
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value, e.g. {what}"))
        };
        match arg.as_str() {
            "--public-url" => public_url = value("/easel/")?,
            "--dist" => dist = PathBuf::from(value("dist")?),
            other => {
                return Err(format!(
                    "`build` does not know `{other}` (see `cargo xtask --help`)"
                ));
            }
        }
    }
    release_build_at(&public_url, &dist)
}

fn split(dist: &Path) -> Result {
    let root = proc::root();
    let linked = root.join("target/wasm32-unknown-unknown/release/easel.wasm");
    let (js_name, wasm_name) = trunk_outputs(dist)?;
    let stem = js_name.trim_end_matches(".js");
    let work = root.join("target/split");
    if work.exists() {
        fs::remove_dir_all(&work).map_err(|e| format!("cannot clear {}: {e}", work.display()))?;
    }
    fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;

    proc::run(
        proc::command("wasm-split-cli")
            .arg(&linked)
            .arg(&work)
            .args(["--out-name", stem]),
    )?;
    let chunks: Vec<PathBuf> = files_in(&work)?
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|e| e == "wasm") && !p.ends_with(format!("{stem}.wasm"))
        })
        .collect();
    if chunks.is_empty() {
        return Err(format!(
            "wasm-split-cli found no lazy function in {}: was it built with `--cfg easel_split`?",
            linked.display()
        ));
    }

    let pkg = work.join("pkg");
    proc::run(
        proc::command("wasm-bindgen")
            .arg(work.join(format!("{stem}.wasm")))
            .arg("--out-dir")
            .arg(&pkg)
            .args([
                "--target",
                "web",
                "--keep-lld-exports",
                "--no-demangle",
                "--no-typescript",
            ]),
    )?;
    let bound = pkg.join(format!("{stem}_bg.wasm"));
    let exports = fs::read(&bound).map_err(|e| format!("cannot read {}: {e}", bound.display()))?;
    write(
        &bound,
        &imports::drop_exports(&exports, imports::serves_unused_class)?,
    )?;
    optimize(&bound, &dist.join(&wasm_name), &MAIN_WASM_OPT_ARGS)?;
    // Imports renamed after wasm-opt, which keeps import names as they are (imports.rs).
    let main_wasm = dist.join(&wasm_name);
    let optimized =
        fs::read(&main_wasm).map_err(|e| format!("cannot read {}: {e}", main_wasm.display()))?;
    let (shortened, renamed) = imports::shorten(&optimized, &format!("./{stem}_bg.js"))
        .map_err(|e| format!("cannot rename the imports of {}: {e}", main_wasm.display()))?;
    write(&main_wasm, &shortened)?;

    // Chunks first: the loader names them, the main JS names the loader.
    let mut loader = compact_js(&read_text(&work.join(SPLIT_LINK))?);
    for chunk in &chunks {
        let name = file_name(chunk);
        let optimized = work.join(format!("opt-{name}"));
        optimize(chunk, &optimized, &[])?;
        let hashed = hashed_name(&optimized, name.trim_end_matches(".wasm"), "wasm")?;
        fs::rename(&optimized, dist.join(&hashed))
            .map_err(|e| format!("cannot move {hashed} into {}: {e}", dist.display()))?;
        loader = replace_present(
            &loader,
            &format!("\"./{name}\""),
            &format!("\"./{hashed}\""),
        )?;
    }
    // The glue and the loader name each other, so no file's own hash can name it: one hash
    // of all three outputs names the main wasm, its glue and the loader. Trunk's names came
    // from its own build, which this replaces, so they may not change when these files do,
    // and a browser holding the old (immutable) files would pair them with new ones.
    let glue = compact_js(&read_text(&pkg.join(&js_name))?);
    let glue = imports::drop_unused_glue(&glue, &renamed)?;
    let glue = imports::rename_in_glue(&glue, &renamed)?;
    let build = fnv1a(&[shortened.as_slice(), loader.as_bytes(), glue.as_bytes()].concat());
    let prefix = stem.rsplit_once('-').map_or(stem, |(prefix, _)| prefix);
    let (new_js, new_wasm) = (
        format!("{prefix}-{build:016x}.js"),
        format!("{prefix}-{build:016x}_bg.wasm"),
    );
    let loader_name = format!("split-{build:016x}.js");
    let loader = replace_present(
        &loader,
        &format!("\"./{js_name}\""),
        &format!("\"./{new_js}\""),
    )?;
    write(&dist.join(&loader_name), loader.as_bytes())?;
    let glue = replace_present(
        &glue,
        &format!("from \"{SPLIT_LINK}\""),
        &format!("from \"./{loader_name}\""),
    )?;
    // Its default wasm URL (the page passes one); the wasm's import module keeps its name.
    let glue = glue.replace(&format!("'{stem}_bg.wasm'"), &format!("'{new_wasm}'"));
    write(&dist.join(&new_js), glue.as_bytes())?;
    fs::remove_file(dist.join(&js_name))
        .map_err(|e| format!("cannot remove {js_name} from {}: {e}", dist.display()))?;
    fs::rename(&main_wasm, dist.join(&new_wasm))
        .map_err(|e| format!("cannot rename {wasm_name} in {}: {e}", dist.display()))?;
    let index = dist.join("index.html");
    let html = replace_present(&read_text(&index)?, &js_name, &new_js)?;
    let html = replace_present(&html, &wasm_name, &new_wasm)?;
    write(&index, html.as_bytes())?;
    println!(
        "✓ split the lazy pages into {} chunk(s); main {new_wasm}, loader {loader_name}",
        chunks.len()
    );
    Ok(())
}

/// Generated JS (wasm-bindgen's glue, wasm-split's loader) without its comments and indentation
/// (1 KB less gzip on every first visit; Trunk minifies the glue it writes, but this one
/// replaces it). Line by line, which is sound for this output: it has no string or template
/// literal that spans lines.
fn compact_js(js: &str) -> String {
    let mut out = String::with_capacity(js.len());
    let mut in_comment = false;
    for line in js.lines() {
        let line = line.trim();
        if in_comment {
            in_comment = !line.contains("*/");
            continue;
        }
        if line.starts_with("/*") {
            in_comment = !line.contains("*/");
            continue;
        }
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Moves each inline `<script>` of `index.html` (Trunk's loader) into a file of its own with
/// a content hash in its name: the page's Content-Security-Policy (its meta tag, and the
/// relay's header) allows scripts from the page's origin only. `prologue` goes before the
/// first script's code.
fn move_inline_scripts(dist: &Path, public_url: &str, prologue: &str) -> Result {
    let index = dist.join("index.html");
    let mut html = read_text(&index)?;
    let mut moved = 0;
    while let Some((start, end, attributes, body)) = inline_script(&html) {
        let body = if moved == 0 {
            [prologue, &body].concat()
        } else {
            body
        };
        let name = format!("start-{:016x}.js", fnv1a(body.as_bytes()));
        write(&dist.join(&name), body.as_bytes())?;
        let tag = format!("<script{attributes} src=\"{public_url}{name}\"></script>");
        html.replace_range(start..end, &tag);
        moved += 1;
    }
    if moved == 0 {
        return Err(format!(
            "expected Trunk's inline loader script in {}, found none",
            index.display()
        ));
    }
    write(&index, html.as_bytes())?;
    println!("✓ moved {moved} inline script(s) of index.html into files");
    Ok(())
}

/// The first `<script …>body</script>` without a `src`: its byte range, its attributes and its
/// body.
fn inline_script(html: &str) -> Option<(usize, usize, String, String)> {
    let mut from = 0;
    while let Some(found) = html[from..].find("<script") {
        let start = from + found;
        let open_end = start + html[start..].find('>')?;
        let close = open_end + html[open_end..].find("</script>")?;
        let end = close + "</script>".len();
        let attributes = &html[start + "<script".len()..open_end];
        if !attributes.contains("src=") {
            return Some((
                start,
                end,
                attributes.to_owned(),
                html[open_end + 1..close].to_owned(),
            ));
        }
        from = end;
    }
    None
}

/// The JS glue and wasm Trunk wrote (`easel-<hash>.js`, `easel-<hash>_bg.wasm`; the two
/// hashes differ).
fn trunk_outputs(dist: &Path) -> Result<(String, String)> {
    let names: Vec<String> = files_in(dist)?.iter().map(|p| file_name(p)).collect();
    let only = |suffix: &str| -> Result<String> {
        let found: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with("easel-") && n.ends_with(suffix))
            .collect();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(format!(
                "expected one easel-*{suffix} in {}, found {found:?}: did Trunk build?",
                dist.display()
            )),
        }
    };
    Ok((only(".js")?, only("_bg.wasm")?))
}

fn optimize(input: &Path, output: &Path, extra: &[&str]) -> Result {
    proc::run(
        proc::command("wasm-opt")
            .args(WASM_OPT_ARGS)
            .args(extra)
            .arg(input)
            .arg("-o")
            .arg(output),
    )
}

/// `stem-<16 hex digits of the content's FNV-1a hash>.ext`: a cache key, not a checksum.
fn hashed_name(path: &Path, stem: &str, ext: &str) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(format!("{stem}-{:016x}.{ext}", fnv1a(&bytes)))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `text` with every occurrence of `from` replaced (wasm-bindgen imports the loader once per
/// split point); none means the tools' output changed shape, which must stop the build
/// rather than ship a page that cannot load.
fn replace_present(text: &str, from: &str, to: &str) -> Result<String> {
    if text.contains(from) {
        Ok(text.replace(from, to))
    } else {
        Err(format!("expected `{from}` in generated JS, found none"))
    }
}

fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    Ok(entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result {
    fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{compact_js, fnv1a, inline_script, replace_present, service_worker};

    fn build(files: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        files
            .iter()
            .map(|(name, text)| ((*name).to_owned(), text.as_bytes().to_vec()))
            .collect()
    }

    /// The string literal the template's `const <name> = …;` line was given.
    fn constant<'a>(worker: &'a str, name: &str) -> &'a str {
        let line = worker
            .lines()
            .find(|l| l.starts_with(&format!("const {name} = ")))
            .unwrap_or_else(|| panic!("no const {name} in {worker}"));
        &line[format!("const {name} = ").len()..line.len() - 1]
    }

    const TEMPLATE: &str = include_str!("../../public/sw.js");

    #[test]
    fn the_service_worker_caches_every_file_of_the_build_but_itself_and_404() {
        let files = build(&[
            ("split_easel_gallery-0123456789abcdef.wasm", "chunk"),
            ("index.html", "<html>"),
            ("404.html", "<html>"),
            ("sw.js", "the previous worker"),
            (".trunk-lock", ""),
            ("config.json", "{}"),
            ("easel-0123456789abcdef_bg.wasm", "main"),
        ]);
        let worker = service_worker(TEMPLATE, &files).unwrap();
        assert_eq!(
            constant(&worker, "FILES"),
            r#"["./","config.json","easel-0123456789abcdef_bg.wasm","split_easel_gallery-0123456789abcdef.wasm"]"#
        );
        assert!(
            !worker.contains("{{"),
            "every placeholder is filled: {worker}"
        );
        assert!(!worker.contains("// "), "comments are left out: {worker}");
    }

    #[test]
    fn the_service_workers_version_changes_with_any_file_and_only_then() {
        let one = build(&[("index.html", "<html>"), ("config.json", "{}")]);
        let version = |files: &[(String, Vec<u8>)]| {
            constant(&service_worker(TEMPLATE, files).unwrap(), "VERSION").to_owned()
        };
        let first = version(&one);
        assert_eq!(first.len(), 2 + 16, "16 hex digits in quotes: {first}");
        let mut reordered = one.clone();
        reordered.reverse();
        assert_eq!(version(&reordered), first, "the order files are listed in");
        // A host's config.json edited in place, or an icon redrawn: a new version.
        let edited = build(&[("index.html", "<html>"), ("config.json", "{\"mode\":1}")]);
        assert_ne!(version(&edited), first);
        let renamed = build(&[("index.html", "<html>"), ("config2.json", "{}")]);
        assert_ne!(version(&renamed), first);
        // The same bytes cut between name and content elsewhere: another build.
        assert_ne!(
            version(&build(&[("x", "yz")])),
            version(&build(&[("xy", "z")]))
        );
    }

    #[test]
    fn the_service_worker_refuses_names_it_cannot_list_and_templates_without_placeholders() {
        let odd = build(&[("a\"b.js", "")]);
        assert!(service_worker(TEMPLATE, &odd).is_err());
        let plain = build(&[("index.html", "")]);
        assert!(service_worker("const FILES = [];", &plain).is_err());
    }

    #[test]
    fn glue_loses_comments_and_indentation_only() {
        let js = "/**\n * @returns {number}\n */\nexport function f() {\n    // why\n    return `a ${1}`; /* kept */\n}\n/* one line */\n";
        assert_eq!(
            compact_js(js),
            "export function f() {\nreturn `a ${1}`; /* kept */\n}\n"
        );
    }

    #[test]
    fn finds_only_inline_scripts() {
        let html = r#"<script src="/a.js"></script><script type="module">import x;</script>"#;
        let (start, end, attributes, body) = inline_script(html).unwrap();
        assert_eq!(
            &html[start..end],
            r#"<script type="module">import x;</script>"#
        );
        assert_eq!(attributes, r#" type="module""#);
        assert_eq!(body, "import x;");
        assert_eq!(inline_script(r#"<script src="/a.js"></script>"#), None);
    }

    #[test]
    fn names_change_with_content() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a(b"chunk v1"), fnv1a(b"chunk v2"));
    }

    #[test]
    fn generated_js_is_patched_everywhere_or_refused() {
        assert_eq!(
            replace_present("import x from \"./a.js\"", "\"./a.js\"", "\"./b.js\"").unwrap(),
            "import x from \"./b.js\""
        );
        assert_eq!(
            replace_present("\"./a.js\" \"./a.js\"", "\"./a.js\"", "\"./b.js\"").unwrap(),
            "\"./b.js\" \"./b.js\""
        );
        assert!(replace_present("no import here", "\"./a.js\"", "\"./b.js\"").is_err());
    }
}
