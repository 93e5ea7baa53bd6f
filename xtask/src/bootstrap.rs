//! Idempotent, version-checked installation of the build and test tools.
//! Each check is cheap; each install happens only when the check fails.

use std::path::{Path, PathBuf};

use crate::Result;
use crate::proc::{self, output_of, which};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const TRUNK_VERSION: &str = "0.22.1";
const BINARYEN_VERSION: &str = "132.0.0";
const WASM_OPT_MAJOR: &str = "132";
/// Must understand the split points of the `wasm_split_helpers` version in Cargo.lock
/// (Leptos' `#[lazy]`); both crates are released together.
const WASM_SPLIT_VERSION: &str = "0.2.3";

/// The browser pair used by the browser tests and the end-to-end suite.
pub struct Chromium {
    pub driver: PathBuf,
    /// Only set when it is not where chromedriver looks by itself.
    pub browser: Option<PathBuf>,
}

/// Steps 1–4: everything `trunk build --release` needs.
pub fn build_tools() -> Result {
    wasm_target()?;
    trunk()?;
    wasm_bindgen()?;
    wasm_split()?;
    wasm_opt()
}

fn wasm_target() -> Result {
    let installed = output_of("rustup", &["target", "list", "--installed"])
        .ok_or("`rustup target list --installed` failed: is rustup installed?")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("✓ {WASM_TARGET} target present");
        return Ok(());
    }
    println!("→ installing the {WASM_TARGET} target (takes a minute or two)…");
    proc::run(proc::command("rustup").args(["target", "add", WASM_TARGET]))
}

/// rustfmt and clippy: part of rustup's default profile, absent from the minimal one.
pub fn rust_components() -> Result {
    let installed = output_of("rustup", &["component", "list", "--installed"])
        .ok_or("`rustup component list --installed` failed: is rustup installed?")?;
    let missing: Vec<&str> = ["rustfmt", "clippy"]
        .into_iter()
        .filter(|c| {
            !installed
                .lines()
                .any(|line| line.starts_with(&format!("{c}-")))
        })
        .collect();
    if missing.is_empty() {
        println!("✓ rustfmt and clippy present");
        return Ok(());
    }
    println!("→ installing rustup components: {}…", missing.join(", "));
    proc::run(
        proc::command("rustup")
            .args(["component", "add"])
            .args(&missing),
    )
}

/// The cargo-fuzz release the fuzz targets are run with (`core/fuzz`, `relay/fuzz`).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// cargo-fuzz, for the fuzz targets. Its nightly-only flags work on the stable toolchain with
/// `RUSTC_BOOTSTRAP=1` (see `test.rs`).
pub fn cargo_fuzz() -> Result {
    let installed = output_of("cargo", &["fuzz", "--version"]);
    if installed
        .as_deref()
        .is_some_and(|v| v.split_whitespace().nth(1) == Some(CARGO_FUZZ_VERSION))
    {
        println!("✓ cargo-fuzz {CARGO_FUZZ_VERSION} present");
        return Ok(());
    }
    println!("→ installing cargo-fuzz {CARGO_FUZZ_VERSION} (takes ~2 min on 2 cores)…");
    proc::run(proc::cargo().args([
        "install",
        "cargo-fuzz",
        "--version",
        CARGO_FUZZ_VERSION,
        "--locked",
    ]))
}

/// The version word after the tool name in `tool --version` output ("trunk 0.22.1" → "0.22.1").
fn reported_version(tool: &str) -> Option<String> {
    let text = output_of(tool, &["--version"])?;
    text.split_whitespace().nth(1).map(str::to_string)
}

fn trunk() -> Result {
    match reported_version("trunk") {
        Some(v) if v == TRUNK_VERSION => {
            println!("✓ trunk {TRUNK_VERSION} present");
            return Ok(());
        }
        Some(v) => println!("→ trunk {v} found, need {TRUNK_VERSION}"),
        None => {}
    }
    println!("→ installing trunk {TRUNK_VERSION} (takes ~14 min on 2 cores)…");
    // trunk 0.22.1 declares rust-version 1.96.1 but builds and works on 1.95.
    proc::run(proc::cargo().args([
        "install",
        "trunk",
        "--version",
        TRUNK_VERSION,
        "--locked",
        "--ignore-rust-version",
    ]))?;
    check_version("trunk", TRUNK_VERSION)
}

/// The `wasm-bindgen` version pinned in Cargo.lock: the CLI must match it exactly or
/// Trunk and the test runner refuse the build.
pub fn locked_wasm_bindgen() -> Result<String> {
    let lock = proc::root().join("Cargo.lock");
    let text = std::fs::read_to_string(&lock)
        .map_err(|e| format!("cannot read {}: {e}", lock.display()))?;
    parse_locked_version(&text, "wasm-bindgen")
        .ok_or_else(|| format!("{} has no `wasm-bindgen` package", lock.display()))
}

fn parse_locked_version(lock: &str, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    lock.split("[[package]]").find_map(|block| {
        let mut lines = block.lines().map(str::trim);
        lines.clone().any(|l| l == wanted).then_some(())?;
        lines.find_map(|l| {
            l.strip_prefix("version = \"")
                .and_then(|rest| rest.strip_suffix('"'))
                .map(str::to_string)
        })
    })
}

fn wasm_bindgen() -> Result {
    let wanted = locked_wasm_bindgen()?;
    let cli = reported_version("wasm-bindgen");
    let runner = reported_version("wasm-bindgen-test-runner");
    if cli.as_deref() == Some(&wanted) && runner.as_deref() == Some(&wanted) {
        println!("✓ wasm-bindgen-cli {wanted} present (matches Cargo.lock)");
        return Ok(());
    }
    if let Some(v) = cli.filter(|v| *v != wanted) {
        println!("→ wasm-bindgen {v} found, Cargo.lock pins {wanted}");
    }
    println!("→ installing wasm-bindgen-cli {wanted} (takes ~4 min on 2 cores)…");
    // No --locked: its lock file wants a webpki-roots release the registry does not have.
    proc::run(proc::cargo().args(["install", "wasm-bindgen-cli", "--version", &wanted]))?;
    check_version("wasm-bindgen", &wanted)?;
    check_version("wasm-bindgen-test-runner", &wanted)
}

fn wasm_split() -> Result {
    // `wasm-split-cli` has no --version; cargo's install list says which version it put there.
    let wanted = format!("wasm_split_cli_support v{WASM_SPLIT_VERSION}:");
    let installed = || {
        output_of("cargo", &["install", "--list"])
            .is_some_and(|list| list.lines().any(|l| l.trim() == wanted))
            && which("wasm-split-cli").is_some()
    };
    if installed() {
        println!("✓ wasm-split-cli {WASM_SPLIT_VERSION} present");
        return Ok(());
    }
    println!("→ installing wasm-split-cli {WASM_SPLIT_VERSION} (takes ~2 min on 2 cores)…");
    proc::run(proc::cargo().args([
        "install",
        "wasm_split_cli_support",
        "--version",
        WASM_SPLIT_VERSION,
        "--features",
        "build-binary",
        "--locked",
    ]))?;
    if installed() {
        Ok(())
    } else {
        Err("after installing, wasm-split-cli is not on the tool PATH".into())
    }
}

fn wasm_opt_version() -> Option<String> {
    output_of("wasm-opt", &["--version"])
}

fn wasm_opt() -> Result {
    let is_wanted = |v: &str| v.contains(&format!("version {WASM_OPT_MAJOR}"));
    let local = proc::binaryen_dir()
        .join("node_modules")
        .join(".bin")
        .join("wasm-opt");
    if proc::is_executable(&local) && wasm_opt_version().is_some_and(|v| is_wanted(&v)) {
        println!("✓ wasm-opt {WASM_OPT_MAJOR} present (.tools/binaryen)");
        return Ok(());
    }
    let npm = which("npm").ok_or(
        "npm not found: wasm-opt comes from npm `binaryen`; install Node.js and npm \
         (apt-get install nodejs npm)",
    )?;
    println!("→ installing wasm-opt via npm binaryen@{BINARYEN_VERSION} into .tools/binaryen…");
    let prefix = proc::binaryen_dir();
    std::fs::create_dir_all(&prefix).map_err(|e| format!("cannot create {prefix:?}: {e}"))?;
    proc::run(proc::command(npm).args([
        "install",
        "--prefix",
        &prefix.to_string_lossy(),
        "--no-audit",
        "--no-fund",
        &format!("binaryen@{BINARYEN_VERSION}"),
    ]))?;
    match wasm_opt_version() {
        Some(v) if is_wanted(&v) => {
            println!("✓ {v}");
            Ok(())
        }
        other => Err(format!(
            "wasm-opt on the tool PATH reports {other:?}, expected version {WASM_OPT_MAJOR}"
        )),
    }
}

fn check_version(tool: &str, wanted: &str) -> Result {
    match reported_version(tool) {
        Some(v) if v == wanted => {
            println!("✓ {tool} {wanted} installed");
            Ok(())
        }
        other => Err(format!(
            "after installing, `{tool} --version` reports {other:?}, expected {wanted}; \
             is another {tool} earlier on PATH?"
        )),
    }
}

/// Step 5 (test only): chromedriver and Chromium, from the environment, Debian's packages,
/// or an apt install when we are root.
pub fn chromium() -> Result<Chromium> {
    for var in ["CHROMEDRIVER", "CHROME"] {
        if let Some(path) = std::env::var_os(var)
            && !proc::is_executable(Path::new(&path))
        {
            return Err(format!(
                "{var}={} is not an executable file",
                path.display()
            ));
        }
    }
    if let Some(found) = find_chromium() {
        return Ok(found);
    }
    let apt = which("apt-get");
    if !crate::sys::is_root() || apt.is_none() {
        return Err(missing_chromium());
    }
    println!("→ installing chromium and chromium-driver with apt (takes ~1 min)…");
    let apt = apt.expect("checked above");
    proc::run(
        proc::command(&apt)
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    proc::run(
        proc::command(&apt)
            .args(["install", "-y", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    find_chromium().ok_or_else(missing_chromium)
}

fn find_chromium() -> Option<Chromium> {
    let env_path = |name: &str| std::env::var_os(name).map(PathBuf::from);
    let driver = env_path("CHROMEDRIVER")
        .or_else(|| existing("/usr/bin/chromedriver"))
        .or_else(|| which("chromedriver"))?;
    let browser = env_path("CHROME");
    let default_browser = || {
        existing("/usr/bin/chromium")
            .or_else(|| which("chromium"))
            .or_else(|| which("google-chrome"))
    };
    let shown = browser.clone().or_else(default_browser)?;
    let version = |p: &Path| output_of(&p.to_string_lossy(), &["--version"]);
    println!(
        "✓ {} ({})",
        version(&driver).unwrap_or_else(|| "chromedriver".into()),
        driver.display()
    );
    println!(
        "✓ {} ({})",
        version(&shown).unwrap_or_else(|| "chromium".into()),
        shown.display()
    );
    Some(Chromium { driver, browser })
}

fn existing(path: &str) -> Option<PathBuf> {
    let path = PathBuf::from(path);
    proc::is_executable(&path).then_some(path)
}

fn missing_chromium() -> String {
    "Chromium and chromedriver are needed for the browser and end-to-end tests. Install the \
     Debian packages `chromium` and `chromium-driver` (apt-get install chromium chromium-driver), \
     or set CHROMEDRIVER to a chromedriver binary (and CHROME to the browser binary if it is \
     not /usr/bin/chromium)."
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::parse_locked_version;

    #[test]
    fn finds_the_exact_package_not_a_prefix() {
        let lock = r#"
[[package]]
name = "wasm-bindgen-futures"
version = "0.4.50"

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        assert_eq!(
            parse_locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(parse_locked_version(lock, "trunk"), None);
    }
}
