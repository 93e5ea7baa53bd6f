//! Process helpers: every child runs from the workspace root with the project's tool PATH.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// Where `npm install --prefix` puts binaryen (wasm-opt); `.tools/` is gitignored.
pub fn binaryen_dir() -> PathBuf {
    root().join(".tools").join("binaryen")
}

/// `cargo install` target: tools installed a moment ago must be found even when the
/// cargo bin dir is not on the caller's PATH (a fresh CI shell).
fn cargo_bin_dir() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin"))
}

/// PATH for every child: project-local wasm-opt first (Debian's binaryen 108 breaks the
/// page, so it must never win), then cargo's bin dir, then the inherited PATH.
pub fn tool_path() -> OsString {
    let mut dirs = vec![binaryen_dir().join("node_modules").join(".bin")];
    dirs.extend(cargo_bin_dir());
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).expect("PATH entries contain no separator")
}

/// The cargo that launched xtask, so nested builds use the same toolchain.
pub fn cargo() -> Command {
    command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// A command run from the workspace root with the tool PATH.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(root()).env("PATH", tool_path());
    cmd
}

/// Runs a command with inherited stdio, echoing it first; fails on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result {
    let line = display(cmd);
    println!("$ {line}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// The output of a quick command (e.g. `--version`), or None if it cannot run or fails.
pub fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = command(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    // Prefer stdout: wrappers such as Debian's chromium script print noise on stderr.
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if stdout.is_empty() {
        Some(String::from_utf8_lossy(&out.stderr).trim().to_string())
    } else {
        Some(stdout)
    }
}

/// Finds an executable on the tool PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&tool_path())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The command line as a person would type it (env overrides are listed separately by callers).
pub fn display(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
