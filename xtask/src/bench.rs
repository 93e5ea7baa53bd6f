//! `cargo xtask bench relay`: the same local upstream called directly, through the relay and
//! through nginx `proxy_pass` (upstream keepalive), at concurrency 1, 64 and 256; plus the
//! first-event delay of a streamed request. Results go to `bench/results/` as Markdown + JSON.
//!
//! The relay and the load generator (relay/examples/bench.rs) are built with the `relay`
//! profile (opt-level 3, fat LTO, as deployed) into `target/bench`, because the workspace's
//! release profile is tuned for wasm size.
//!
//! `cargo xtask bench gallery`: the release app's gallery with 1,000 images in headless
//! Chromium (first row of thumbnails, heap against an empty gallery, scroll frame times). The
//! browser work is the e2e crate's `bench-gallery` binary, which has the WebDriver client
//! xtask must not depend on; this builds what it needs and runs it.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::test::free_port;
use crate::{Result, bootstrap, proc};

const CONCURRENCY: [u32; 3] = [1, 64, 256];
const TARGETS: [&str; 3] = ["direct", "relay", "nginx"];
const SSE_REQUESTS: u32 = 200;

const USAGE: &str = "usage: cargo xtask bench relay | gallery
  relay     EASEL_BENCH_SECONDS sets each run's length (default 5)
  gallery   EASEL_DIST=<dir> measures an existing build instead of building dist/;
            EASEL_BENCH_IMAGES (default 1000) and EASEL_BENCH_RUNS (default 5)";

pub fn bench(args: &[String]) -> Result {
    match args.first().map(String::as_str) {
        Some("relay") => relay(),
        Some("gallery") => gallery(),
        _ => Err(USAGE.into()),
    }
}

/// Builds the release app (unless `EASEL_DIST` names one) and the relay, then runs the e2e
/// crate's `bench-gallery`, which writes `bench/results/gallery-*.{md,json}`.
fn gallery() -> Result {
    let chromium = bootstrap::chromium()?;
    let dist = match std::env::var_os("EASEL_DIST").map(PathBuf::from) {
        Some(dist) if dist.join("index.html").is_file() => {
            println!("→ measuring the build in {} (EASEL_DIST)", dist.display());
            dist
        }
        Some(dist) => {
            return Err(format!(
                "EASEL_DIST={} has no index.html: build the app there or unset EASEL_DIST",
                dist.display()
            ));
        }
        None => {
            bootstrap::build_tools()?;
            crate::bundle::release_build()?;
            proc::root().join("dist")
        }
    };
    proc::run(proc::cargo().args(["build", "-p", "easel-relay"]))?;
    let mut cmd = proc::cargo();
    cmd.args(["run", "-p", "easel-e2e", "--bin", "bench-gallery", "--"])
        .arg("--results")
        .arg(proc::root().join("bench/results"))
        .env("EASEL_DIST", &dist)
        .env(
            "EASEL_RELAY_BIN",
            proc::root().join("target/debug/easel-relay"),
        )
        .env("CHROMEDRIVER", &chromium.driver);
    if let Some(browser) = &chromium.browser {
        cmd.env("CHROME", browser);
    }
    proc::run(&mut cmd)
}

fn relay() -> Result {
    let seconds: u32 = std::env::var("EASEL_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let nginx = nginx()?;
    let target_dir = proc::root().join("target/bench");
    proc::run(
        proc::cargo()
            .args([
                "build",
                "--profile",
                "relay",
                "-p",
                "easel-relay",
                "--bin",
                "easel-relay",
                "--example",
                "bench",
            ])
            .env("CARGO_TARGET_DIR", &target_dir),
    )?;
    let relay_bin = target_dir.join("relay/easel-relay");
    let tool = target_dir.join("relay/examples/bench");

    let upstream_port = free_port(0, None)?;
    let relay_port = free_port(0, Some(upstream_port))?;
    let nginx_port = free_port(0, Some(relay_port))?;
    let work = target_dir.join("nginx");
    std::fs::create_dir_all(work.join("logs"))
        .map_err(|e| format!("cannot create {work:?}: {e}"))?;

    let _upstream = Running::start(
        Command::new(&tool).args(["upstream", &format!("127.0.0.1:{upstream_port}")]),
    )?;
    let _relay = Running::start(
        Command::new(&relay_bin)
            .args([
                "--addr",
                &format!("127.0.0.1:{relay_port}"),
                "--upstream-kind",
                "compatible",
                "--upstream",
                &format!("http://127.0.0.1:{upstream_port}/v1"),
                "--rate-limit-per-minute",
                "0",
                "--max-concurrent",
                "100000",
                "--dist",
                "/nonexistent",
            ])
            .env("OPENAI_API_KEY", "sk-bench")
            // Per-request log lines off for both proxies (nginx: access_log off).
            .env("RUST_LOG", "warn"),
    )?;
    let config = work.join("nginx.conf");
    std::fs::write(&config, nginx_config(&work, nginx_port, upstream_port))
        .map_err(|e| format!("cannot write {config:?}: {e}"))?;
    let _nginx = Running::start(Command::new(&nginx).args([
        "-p",
        &work.to_string_lossy(),
        "-c",
        &config.to_string_lossy(),
        "-e",
        "stderr",
    ]))?;
    for port in [upstream_port, relay_port, nginx_port] {
        wait_for(port)?;
    }
    let url = |target: &str| {
        let port = match target {
            "direct" => upstream_port,
            "relay" => relay_port,
            _ => nginx_port,
        };
        format!("http://127.0.0.1:{port}/v1/images/generations")
    };

    println!("→ warming up");
    for target in TARGETS {
        measure(&tool, &["load", &url(target), "16", "1"])?;
    }
    let mut rows = Vec::new();
    for concurrency in CONCURRENCY {
        for target in TARGETS {
            let json = measure(
                &tool,
                &[
                    "load",
                    &url(target),
                    &concurrency.to_string(),
                    &seconds.to_string(),
                ],
            )?;
            let row = Row {
                target,
                concurrency,
                rps: field(&json, "rps")?,
                p50_us: field(&json, "p50_us")?,
                p99_us: field(&json, "p99_us")?,
                errors: field(&json, "errors")?,
            };
            println!(
                "  {target:<6} c={concurrency:<3} {:>9.0} req/s  p50 {:>6.0} µs  p99 {:>6.0} µs  errors {}",
                row.rps, row.p50_us, row.p99_us, row.errors
            );
            rows.push(row);
        }
    }
    let mut first_event = Vec::new();
    for target in TARGETS {
        let json = measure(&tool, &["sse", &url(target), &SSE_REQUESTS.to_string()])?;
        let (p50, p99) = (field(&json, "p50_us")?, field(&json, "p99_us")?);
        println!("  SSE first event via {target:<6} p50 {p50:.0} µs  p99 {p99:.0} µs");
        first_event.push((target, p50, p99));
    }
    write_results(&rows, &first_event, seconds, &nginx)
}

struct Row {
    target: &'static str,
    concurrency: u32,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    errors: f64,
}

fn write_results(
    rows: &[Row],
    first_event: &[(&str, f64, f64)],
    seconds: u32,
    nginx: &Path,
) -> Result {
    let stamp =
        proc::output_of("date", &["-u", "+%Y-%m-%dT%H%M%SZ"]).unwrap_or_else(|| "latest".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let nginx_version = proc::output_of(&nginx.to_string_lossy(), &["-v"]).unwrap_or_default();
    let find = |target: &str, c: u32| {
        rows.iter()
            .find(|r| r.target == target && r.concurrency == c)
    };

    let mut md = format!(
        "# Relay benchmark, {stamp}\n\n\
         `cargo xtask bench relay` on {cores} cores; each run {seconds} s of keep-alive POSTs of a \
         generation request to one local upstream answering a small JSON body. Load generator, \
         upstream, relay and nginx share the machine. Relay: `relay` profile (opt-level 3, fat LTO, mimalloc), \
         per-request logs off; nginx ({nginx_version}): `proxy_pass` with `keepalive 256`, \
         `access_log off`, `proxy_buffering off`.\n\n\
         | target | concurrency | requests/s | p50 µs | p99 µs | errors |\n|---|---:|---:|---:|---:|---:|\n"
    );
    for r in rows {
        md += &format!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} |\n",
            r.target, r.concurrency, r.rps, r.p50_us, r.p99_us, r.errors
        );
    }
    md += "\n## Ratios\n\n| concurrency | relay ÷ nginx throughput | relay ÷ direct throughput | relay p99 − direct p99 (µs) | nginx p99 − direct p99 (µs) |\n|---:|---:|---:|---:|---:|\n";
    let mut ratios = Vec::new();
    for c in CONCURRENCY {
        if let (Some(d), Some(r), Some(n)) = (find("direct", c), find("relay", c), find("nginx", c))
        {
            md += &format!(
                "| {c} | {:.2} | {:.2} | {:.0} | {:.0} |\n",
                r.rps / n.rps,
                r.rps / d.rps,
                r.p99_us - d.p99_us,
                n.p99_us - d.p99_us
            );
            ratios.push(format!(
                "{{\"concurrency\":{c},\"relay_vs_nginx_rps\":{:.3},\"relay_vs_direct_rps\":{:.3},\"relay_p99_overhead_us\":{:.0},\"nginx_p99_overhead_us\":{:.0}}}",
                r.rps / n.rps,
                r.rps / d.rps,
                r.p99_us - d.p99_us,
                n.p99_us - d.p99_us
            ));
        }
    }
    md += &format!(
        "\n## Server-Sent Events: first-event delay\n\n{SSE_REQUESTS} streamed requests in a row; \
         the upstream sends its first event at once and the next ones 20 ms apart.\n\n\
         | path | p50 µs | p99 µs |\n|---|---:|---:|\n"
    );
    for (target, p50, p99) in first_event {
        md += &format!("| {target} | {p50:.0} | {p99:.0} |\n");
    }
    let json = format!(
        "{{\"date\":\"{stamp}\",\"cores\":{cores},\"seconds_per_run\":{seconds},\"runs\":[{}],\"ratios\":[{}],\"sse_first_event\":[{}]}}\n",
        rows.iter()
            .map(|r| format!(
                "{{\"target\":\"{}\",\"concurrency\":{},\"rps\":{:.1},\"p50_us\":{},\"p99_us\":{},\"errors\":{}}}",
                r.target, r.concurrency, r.rps, r.p50_us, r.p99_us, r.errors
            ))
            .collect::<Vec<_>>()
            .join(","),
        ratios.join(","),
        first_event
            .iter()
            .map(|(t, p50, p99)| format!("{{\"target\":\"{t}\",\"p50_us\":{p50},\"p99_us\":{p99}}}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    let dir = proc::root().join("bench/results");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
    for (extension, text) in [("md", &md), ("json", &json)] {
        let path = dir.join(format!("relay-{stamp}.{extension}"));
        std::fs::write(&path, text).map_err(|e| format!("cannot write {path:?}: {e}"))?;
        println!("✓ wrote {}", path.display());
    }
    Ok(())
}

fn nginx_config(work: &Path, port: u16, upstream: u16) -> String {
    let work = work.display();
    format!(
        "worker_processes auto;\ndaemon off;\nmaster_process on;\npid {work}/nginx.pid;\n\
         error_log stderr warn;\nevents {{ worker_connections 4096; }}\nhttp {{\n\
         access_log off;\nclient_body_temp_path {work}/body;\nproxy_temp_path {work}/proxy;\n\
         fastcgi_temp_path {work}/fastcgi;\nuwsgi_temp_path {work}/uwsgi;\nscgi_temp_path {work}/scgi;\n\
         upstream api {{ server 127.0.0.1:{upstream}; keepalive 256; keepalive_requests 1000000; }}\n\
         keepalive_requests 1000000;\n\
         server {{\n  listen 127.0.0.1:{port} backlog=4096;\n  location / {{\n\
             proxy_pass http://api;\n    proxy_http_version 1.1;\n    proxy_set_header Connection \"\";\n\
             proxy_buffering off;\n  }}\n}}\n}}\n"
    )
}

/// nginx from PATH, else Debian's package unpacked under `.tools/nginx` (`apt-get download` +
/// `dpkg-deb -x`: no root needed, and no system service is installed or started).
fn nginx() -> Result<PathBuf> {
    if let Some(found) = proc::which("nginx") {
        return Ok(found);
    }
    let dir = proc::root().join(".tools/nginx");
    let binary = dir.join("usr/sbin/nginx");
    if proc::is_executable(&binary) {
        return Ok(binary);
    }
    let missing =
        "nginx is needed for the comparison: install Debian's `nginx` (apt-get install nginx)";
    let apt = proc::which("apt-get").ok_or(missing)?;
    println!("→ fetching Debian's nginx package into .tools/nginx…");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
    let download = || {
        proc::run(
            proc::command(&apt)
                .args(["download", "nginx"])
                .current_dir(&dir),
        )
    };
    if download().is_err() && crate::sys::is_root() {
        proc::run(proc::command(&apt).arg("update"))?;
        download()?;
    }
    let deb = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {dir:?}: {e}"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|e| e == "deb"))
        .ok_or(missing)?;
    proc::run(proc::command("dpkg-deb").arg("-x").arg(&deb).arg(&dir))?;
    if proc::is_executable(&binary) {
        Ok(binary)
    } else {
        Err(missing.into())
    }
}

/// Runs the load generator and returns its one line of JSON.
fn measure(tool: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| format!("could not run {}: {e}", tool.display()))?;
    if !output.status.success() {
        return Err(format!(
            "bench {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A number from the load generator's flat JSON.
fn field(json: &str, name: &str) -> Result<f64> {
    let key = format!("\"{name}\":");
    let start = json
        .find(&key)
        .ok_or_else(|| format!("no {name} in {json}"))?
        + key.len();
    json[start..]
        .split([',', '}'])
        .next()
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("{name} is not a number in {json}"))
}

fn wait_for(port: u16) -> Result {
    let started = Instant::now();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            return Err(format!("nothing listens on port {port} after 20 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A child process killed when dropped, so no early return leaves it running.
struct Running(Child);

impl Running {
    fn start(command: &mut Command) -> Result<Running> {
        println!("$ {}", proc::display(command));
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map(Running)
            .map_err(|e| format!("could not start {}: {e}", proc::display(command)))
    }
}

impl Drop for Running {
    /// SIGTERM first: nginx's master stops its workers only when asked, not when killed.
    fn drop(&mut self) {
        crate::sys::send_signal(self.0.id(), SIGTERM);
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SIGTERM: i32 = 15;

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn reads_numbers_from_flat_json() {
        let json = r#"{"requests":10,"rps":1234.5,"p99_us":77}"#;
        assert_eq!(field(json, "rps"), Ok(1234.5));
        assert_eq!(field(json, "p99_us"), Ok(77.0));
        assert!(field(json, "p50_us").is_err());
    }
}
