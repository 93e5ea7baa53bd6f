//! `cargo xtask test`: every suite in order, continuing past failures, with a summary.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::bootstrap::{self, Chromium};
use crate::{Result, bundle, proc};

/// Fixed so the browser tests' compile-time `EASEL_TEST_RELAY` stays the same between runs
/// (a different value would rebuild them).
const PREFERRED_RELAY_PORT: u16 = 18431;
const PREFERRED_RUNNER_PORT: u16 = 18432;

/// A step of the test run; `needs` names an earlier step whose output it uses.
struct Step<'a> {
    name: &'static str,
    needs: Option<&'static str>,
    run: Box<dyn Fn() -> Result + 'a>,
}

impl<'a> Step<'a> {
    fn new(name: &'static str, run: impl Fn() -> Result + 'a) -> Self {
        Step {
            name,
            needs: None,
            run: Box::new(run),
        }
    }

    fn needs(mut self, step: &'static str) -> Self {
        self.needs = Some(step);
        self
    }
}

struct Outcome {
    name: &'static str,
    result: Result,
    skipped: bool,
    elapsed: Duration,
}

const RELEASE_BUILD: &str = "release build";

pub fn test() -> Result<ExitCode> {
    bootstrap::build_tools()?;
    bootstrap::rust_components()?;
    let chromium = bootstrap::chromium()?;

    let clippy_native = [
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ];
    let clippy_wasm = [
        "clippy",
        "-p",
        "easel",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ];
    let steps = [
        Step::new("fmt", || cargo(&["fmt", "--all", "--check"])),
        Step::new("clippy (native)", || cargo(&clippy_native)),
        Step::new("clippy (wasm)", || {
            cargo(&clippy_wasm)?;
            // The release build's code paths (the gallery chunk) exist only under this cfg.
            proc::run(
                proc::cargo()
                    .args([
                        "clippy",
                        "-p",
                        "easel",
                        "--target",
                        "wasm32-unknown-unknown",
                        "--lib",
                    ])
                    .args(["--", "-D", "warnings"])
                    .env(bundle::RUSTFLAGS_VAR, bundle::RELEASE_RUSTFLAGS),
            )
        }),
        Step::new("native tests", || {
            // The relay's share test against S3 must run here, not skip.
            let moto = crate::sdk::moto_server()?;
            proc::run(
                proc::cargo()
                    .args([
                        "test",
                        "--no-fail-fast",
                        "--workspace",
                        "--exclude",
                        "easel-e2e",
                    ])
                    .env("EASEL_MOTO_SERVER", moto)
                    .env("EASEL_REQUIRE_S3", "1"),
            )
        }),
        // The real relay binary (the dev build the steps below use too) under 500 clients for
        // 30 s with slow and silent ones among them: relay/tests/soak.rs.
        Step::new("relay soak", || {
            cargo(&[
                "test",
                "-p",
                "easel-relay",
                "--test",
                "soak",
                "--",
                "--ignored",
                "--nocapture",
            ])
        }),
        Step::new("fuzz", fuzz),
        Step::new("SDKs (Python, Node)", crate::sdk::sdk_tests),
        Step::new(RELEASE_BUILD, || {
            bundle::release_build()?;
            // The same app for a project site, served by a plain static server in the
            // end-to-end suite (`e2e/tests/static_site.rs`).
            bundle::release_build_at(SUB_PATH, &sub_path_dist())
        }),
        // Trunk keeps the previous dist/ when a build fails: never measure or test that.
        Step::new("bundle size", bundle_size).needs(RELEASE_BUILD),
        Step::new("browser tests", || browser_tests(&chromium)),
        Step::new("end-to-end", || end_to_end(&chromium)).needs(RELEASE_BUILD),
    ];

    let total = steps.len();
    let mut outcomes: Vec<Outcome> = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        println!("\n━━ [{}/{total}] {}", index + 1, step.name);
        let started = Instant::now();
        let failed_need = step.needs.filter(|need| {
            outcomes
                .iter()
                .any(|o| o.name == *need && o.result.is_err())
        });
        let (result, skipped) = match failed_need {
            Some(need) => (Err(format!("skipped: `{need}` failed")), true),
            None => ((step.run)(), false),
        };
        if let Err(message) = &result {
            eprintln!("✗ {}: {message}", step.name);
        }
        outcomes.push(Outcome {
            name: step.name,
            result,
            skipped,
            elapsed: started.elapsed(),
        });
    }

    print_summary(&outcomes);
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if failed == 0 {
        println!("{total} passed, 0 failed");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} passed, {failed} failed", total - failed);
        Ok(ExitCode::FAILURE)
    }
}

fn print_summary(outcomes: &[Outcome]) {
    println!("\n{:<18} {:<8} {:>9}", "step", "result", "seconds");
    println!("{}", "─".repeat(37));
    for o in outcomes {
        let result = match (&o.result, o.skipped) {
            (Ok(()), _) => "ok",
            (Err(_), false) => "FAILED",
            (Err(_), true) => "skipped",
        };
        println!(
            "{:<18} {:<8} {:>9.1}",
            o.name,
            result,
            o.elapsed.as_secs_f64()
        );
    }
    let total: Duration = outcomes.iter().map(|o| o.elapsed).sum();
    println!("{}", "─".repeat(37));
    println!("{:<18} {:<8} {:>9.1}", "total", "", total.as_secs_f64());
}

/// How long each fuzz target runs in `cargo xtask test`.
const FUZZ_SECONDS: u32 = 12;

/// The cargo-fuzz workspaces and their targets (docs/fuzzing.md says what each checks).
const FUZZ_TARGETS: [(&str, &[&str]); 2] = [
    ("core/fuzz", &["decode", "png_text", "sse", "api_response"]),
    ("relay/fuzz", &["relay_request", "upstream_answer"]),
];

/// A short run of every fuzz target, each workspace built once first. A crash fails the step
/// (the rest still run, so one report names every failing target); libFuzzer saves the input
/// under `<workspace>/artifacts/<target>/`. New inputs go to a scratch corpus under `target/`,
/// the checked-in seeds (`<workspace>/corpus/<target>`) only being read. cargo-fuzz needs
/// nightly flags (sanitizers); `RUSTC_BOOTSTRAP=1` lets the stable toolchain take them.
pub fn fuzz() -> Result {
    bootstrap::cargo_fuzz()?;
    let mut failed = Vec::new();
    for (workspace, targets) in FUZZ_TARGETS {
        let dir = proc::root().join(workspace);
        let cargo_fuzz = || {
            let mut cmd = proc::cargo();
            cmd.current_dir(&dir)
                .arg("fuzz")
                .env("RUSTC_BOOTSTRAP", "1");
            cmd
        };
        proc::run(cargo_fuzz().arg("build"))?;
        for target in targets {
            let scratch = proc::root().join("target/fuzz-corpus").join(target);
            std::fs::create_dir_all(&scratch)
                .map_err(|e| format!("could not create {}: {e}", scratch.display()))?;
            let run = proc::run(
                cargo_fuzz()
                    .args(["run", target])
                    .arg(&scratch)
                    .arg(Path::new("corpus").join(target))
                    .arg("--")
                    .arg(format!("-max_total_time={FUZZ_SECONDS}")),
            );
            if run.is_err() {
                failed.push(*target);
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed: {}", failed.join(", ")))
    }
}

fn cargo(args: &[&str]) -> Result {
    proc::run(proc::cargo().args(args))
}

fn dist_dir() -> std::path::PathBuf {
    proc::root().join("dist")
}

/// The public URL of the sub-path build, as a GitHub Pages project site has it.
const SUB_PATH: &str = "/easel/";

fn sub_path_dist() -> std::path::PathBuf {
    proc::root().join("target/dist-easel")
}

fn relay_bin() -> std::path::PathBuf {
    proc::root().join("target/debug/easel-relay")
}

/// The measurement lives in `easel_e2e::bundle` (one implementation); its test enforces
/// the budget and prints the table.
fn bundle_size() -> Result {
    proc::run(
        proc::cargo()
            .args([
                "test",
                "-p",
                "easel-e2e",
                "--test",
                "bundle",
                "--",
                "--nocapture",
            ])
            .env("EASEL_DIST", dist_dir()),
    )
}

fn browser_tests(chromium: &Chromium) -> Result {
    cargo(&["build", "-p", "easel-relay"])?;
    let relay_port = free_port(PREFERRED_RELAY_PORT, None)?;
    let runner_port = free_port(PREFERRED_RUNNER_PORT, Some(relay_port))?;
    let relay_url = format!("http://127.0.0.1:{relay_port}");
    let runner_addr = format!("127.0.0.1:{runner_port}");

    let log_path = proc::root().join("target/xtask/browser-tests-relay.log");
    let mut relay = BackgroundRelay::start(
        &log_path,
        &[
            "--offline",
            "--latency-ms",
            "0",
            "--dist",
            "dist",
            "--addr",
            &format!("127.0.0.1:{relay_port}"),
            "--allow-origin",
            &format!("http://{runner_addr}"),
        ],
    )?;
    relay.wait_healthy(relay_port, Duration::from_secs(30))?;
    println!("✓ relay ready at {relay_url} (log: {})", log_path.display());

    let mut cmd = proc::cargo();
    // Every suite runs even when one fails, so one run shows every failure.
    cmd.args([
        "test",
        "--no-fail-fast",
        "-p",
        "easel",
        "--target",
        "wasm32-unknown-unknown",
    ])
    .env("CHROMEDRIVER", &chromium.driver)
    .env("WASM_BINDGEN_TEST_ADDRESS", &runner_addr)
    .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
    .env("EASEL_TEST_RELAY", &relay_url);
    println!(
        "  with CHROMEDRIVER, WASM_BINDGEN_TEST_ADDRESS={runner_addr}, EASEL_TEST_RELAY={relay_url}"
    );
    let result = proc::run(&mut cmd);
    if result.is_err() {
        relay.print_log_tail();
    }
    result
    // `relay` drops here: killed whatever the outcome.
}

fn end_to_end(chromium: &Chromium) -> Result {
    cargo(&["build", "-p", "easel-relay"])?;
    let mut cmd = proc::cargo();
    cmd.args([
        "test",
        "--no-fail-fast",
        "-p",
        "easel-e2e",
        "--",
        "--test-threads=1",
    ])
    .env("EASEL_DIST", dist_dir())
    .env("EASEL_SUB_PATH_DIST", sub_path_dist())
    .env("EASEL_SUB_PATH", SUB_PATH)
    .env("EASEL_RELAY_BIN", relay_bin())
    .env("CHROMEDRIVER", &chromium.driver);
    if let Some(browser) = &chromium.browser {
        cmd.env("CHROME", browser);
    }
    proc::run(&mut cmd)
}

/// `preferred` if nothing listens there, else any free port (never `avoid`).
pub(crate) fn free_port(preferred: u16, avoid: Option<u16>) -> Result<u16> {
    if preferred != 0
        && Some(preferred) != avoid
        && TcpListener::bind((Ipv4Addr::LOCALHOST, preferred)).is_ok()
    {
        return Ok(preferred);
    }
    loop {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
            .port();
        if Some(port) != avoid {
            if preferred != 0 {
                println!("→ port {preferred} is busy, using {port}");
            }
            return Ok(port);
        }
    }
}

/// A relay child that is killed when dropped, so no early return can leak it.
pub(crate) struct BackgroundRelay {
    child: Child,
    log_path: std::path::PathBuf,
}

impl BackgroundRelay {
    fn start(log_path: &Path, args: &[&str]) -> Result<Self> {
        Self::start_with_env(log_path, args, &[])
    }

    pub(crate) fn start_with_env(
        log_path: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
        }
        let log = File::create(log_path).map_err(|e| format!("cannot create {log_path:?}: {e}"))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot share {log_path:?}: {e}"))?;
        let mut cmd = proc::command(relay_bin());
        cmd.args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        println!("$ {}", proc::display(&cmd));
        let child = cmd
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", relay_bin().display()))?;
        Ok(Self {
            child,
            log_path: log_path.to_path_buf(),
        })
    }

    pub(crate) fn wait_healthy(&mut self, port: u16, timeout: Duration) -> Result {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.print_log_tail();
                return Err(format!("the relay exited ({status}) before it was ready"));
            }
            if healthz_ok(port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.print_log_tail();
        Err(format!(
            "the relay did not answer GET /healthz on port {port} within {}s",
            timeout.as_secs()
        ))
    }

    pub(crate) fn print_log_tail(&self) {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(30)..];
        eprintln!("── relay log ({}), last lines:", self.log_path.display());
        for line in tail {
            eprintln!("   {line}");
        }
    }
}

impl Drop for BackgroundRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET, enough to poll a local health endpoint without an HTTP crate.
fn healthz_ok(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200")
}
