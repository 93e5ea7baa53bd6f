//! The official OpenAI SDKs (Python and Node), installed under `.tools/`, run unchanged against
//! the relay: b64 generations, streamed generations, multipart edits, and a wrong token.

use std::path::PathBuf;
use std::time::Duration;

use crate::test::{BackgroundRelay, free_port};
use crate::{Result, proc};

/// Where the Python venv with `openai` lives.
fn python_dir() -> PathBuf {
    proc::root().join(".tools").join("sdk-python")
}

/// Where npm installs `openai` for Node.
fn node_dir() -> PathBuf {
    proc::root().join(".tools").join("sdk-node")
}

const TOKEN: &str = "xtask-sdk-token";

pub fn sdk_tests() -> Result {
    let python = python_sdk()?;
    let node = node_sdk()?;
    proc::run(proc::cargo().args(["build", "-p", "easel-relay"]))?;
    let port = free_port(0, None)?;
    let log_path = proc::root().join("target/xtask/sdk-relay.log");
    let mut relay = BackgroundRelay::start_with_env(
        &log_path,
        &[
            "--upstream-kind",
            "offline",
            "--latency-ms",
            "0",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ],
        &[("EASEL_ACCESS_TOKENS", TOKEN)],
    )?;
    relay.wait_healthy(port, Duration::from_secs(30))?;
    let url = format!("http://127.0.0.1:{port}/v1");
    let script = |name: &str| proc::root().join("relay/tests/sdk").join(name);
    let env = |cmd: &mut std::process::Command| {
        cmd.env("EASEL_RELAY_URL", &url)
            .env("EASEL_RELAY_TOKEN", TOKEN)
            .env("EASEL_SDK_NODE_DIR", node_dir())
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL");
    };
    let mut py = proc::command(&python);
    py.arg(script("sdk_test.py"));
    env(&mut py);
    let mut js = proc::command(&node);
    js.arg(script("sdk_test.cjs"));
    env(&mut js);
    let result = proc::run(&mut py).and_then(|()| proc::run(&mut js));
    if result.is_err() {
        relay.print_log_tail();
    }
    result
}

/// `.tools/sdk-python/bin/python` with `openai` installed (from PyPI, once).
fn python_sdk() -> Result<PathBuf> {
    let dir = python_dir();
    let python = dir.join("bin").join("python");
    let has_sdk = || {
        proc::output_of(
            &python.to_string_lossy(),
            &["-c", "import openai; print(openai.__version__)"],
        )
    };
    if let Some(version) = has_sdk() {
        println!("✓ Python openai {version} present (.tools/sdk-python)");
        return Ok(python);
    }
    let python3 =
        proc::which("python3").ok_or("python3 not found: the SDK tests need Python 3 with venv")?;
    println!("→ creating .tools/sdk-python and installing the openai SDK from PyPI…");
    proc::run(proc::command(python3).args(["-m", "venv", &dir.to_string_lossy()]))?;
    proc::run(proc::command(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "openai",
    ]))?;
    let version = has_sdk().ok_or("the openai Python SDK did not install")?;
    println!("✓ Python openai {version} installed");
    Ok(python)
}

/// Where the Python venv with moto (an S3-compatible server for the relay's share tests) lives.
fn moto_dir() -> PathBuf {
    proc::root().join(".tools").join("moto")
}

/// `.tools/moto/bin/moto_server` (moto with its server extras from PyPI, once): the relay's
/// S3 share test starts it on loopback.
pub fn moto_server() -> Result<PathBuf> {
    let dir = moto_dir();
    let python = dir.join("bin").join("python");
    let server = dir.join("bin").join("moto_server");
    let has_moto = || {
        proc::output_of(
            &python.to_string_lossy(),
            &["-c", "import moto, flask; print(moto.__version__)"],
        )
        .filter(|_| proc::is_executable(&server))
    };
    if let Some(version) = has_moto() {
        println!("✓ moto {version} present (.tools/moto)");
        return Ok(server);
    }
    let python3 = proc::which("python3")
        .ok_or("python3 not found: the relay's S3 share test needs Python 3 with venv")?;
    println!("→ creating .tools/moto and installing moto[server] from PyPI…");
    proc::run(proc::command(python3).args(["-m", "venv", &dir.to_string_lossy()]))?;
    proc::run(proc::command(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "moto[server]",
    ]))?;
    let version = has_moto().ok_or("moto did not install")?;
    println!("✓ moto {version} installed");
    Ok(server)
}

/// `node`, with `openai` installed under `.tools/sdk-node` (from npm, once).
fn node_sdk() -> Result<PathBuf> {
    let node = proc::which("node").ok_or("node not found: the SDK tests need Node.js and npm")?;
    let dir = node_dir();
    let package = dir.join("node_modules").join("openai").join("package.json");
    if !package.is_file() {
        let npm = proc::which("npm").ok_or("npm not found: the SDK tests need Node.js and npm")?;
        println!("→ installing the openai Node SDK into .tools/sdk-node…");
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
        proc::run(proc::command(npm).args([
            "install",
            "--prefix",
            &dir.to_string_lossy(),
            "--no-audit",
            "--no-fund",
            "openai",
        ]))?;
    }
    let version = std::fs::read_to_string(&package)
        .ok()
        .and_then(|text| {
            let start = text.find("\"version\"")?;
            text[start..].split('"').nth(3).map(str::to_owned)
        })
        .ok_or("the openai Node SDK did not install")?;
    println!("✓ Node openai {version} present (.tools/sdk-node)");
    Ok(node)
}
