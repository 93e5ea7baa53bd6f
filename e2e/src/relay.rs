//! The relay under test: spawned per test on a free port, killed on drop.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const READY_PREFIX: &str = "Easel is running at ";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `easel-relay`. Its output is collected so tests can inspect logs
/// (e.g. that a key never appears in them).
pub struct Relay {
    child: Child,
    url: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    /// Its hosted shares, gone with the relay.
    _shares: tempfile::TempDir,
    /// What it serves, for [`Relay::restart`].
    dist: PathBuf,
}

/// The relay binary: `EASEL_RELAY_BIN`, else `<workspace>/target/debug/easel-relay`.
pub fn relay_bin() -> PathBuf {
    std::env::var_os("EASEL_RELAY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target/debug/easel-relay"))
}

impl Relay {
    /// Starts the relay on `127.0.0.1:0` serving `dist` with the offline generator and
    /// 300 ms latency; `extra_args` are appended and replace any default flag they repeat
    /// (`&["--latency-ms", "5000"]`). Waits for its ready line to learn the URL.
    pub fn start(dist: &Path, extra_args: &[&str]) -> Relay {
        Relay::start_with_env(dist, extra_args, &[])
    }

    /// As [`Relay::start`], with these environment variables set for the relay
    /// (`[("RUST_LOG", "debug")]`).
    pub fn start_with_env(dist: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> Relay {
        let bin = relay_bin();
        assert!(
            bin.is_file(),
            "no relay binary at {}: run `cargo build -p easel-relay` (or `cargo xtask test`), \
             or set EASEL_RELAY_BIN",
            bin.display()
        );
        let dist_path = dist.to_path_buf();
        let dist = dist.to_string_lossy();
        let shares = tempfile::tempdir().expect("a directory for the relay's shares");
        let shares_dir = shares.path().to_string_lossy().into_owned();
        let defaults: [(&str, Option<&str>); 5] = [
            ("--addr", Some("127.0.0.1:0")),
            ("--dist", Some(&dist)),
            ("--offline", None),
            ("--latency-ms", Some("300")),
            ("--shares-dir", Some(&shares_dir)),
        ];
        let mut cmd = Command::new(&bin);
        for (flag, value) in defaults {
            // The relay's CLI rejects a flag given twice, so a caller's value replaces ours.
            let overridden = extra_args
                .iter()
                .any(|a| *a == flag || a.starts_with(&format!("{flag}=")));
            if !overridden {
                cmd.arg(flag).args(value);
            }
        }
        cmd.args(extra_args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));

        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        collect(
            child.stdout.take().expect("piped"),
            &stdout,
            ready_tx.clone(),
        );
        collect(child.stderr.take().expect("piped"), &stderr, ready_tx);

        let started = Instant::now();
        let url = loop {
            match ready_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(url) => break url,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {}
            }
            if let Ok(Some(status)) = child.try_wait() {
                // Let the readers drain what the relay said before it died.
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "the relay exited ({status}) before its ready line\n{}",
                    output_of(&stdout, &stderr)
                );
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                panic!(
                    "the relay printed no `{READY_PREFIX}http://…` line within {}s\n{}",
                    START_TIMEOUT.as_secs(),
                    output_of(&stdout, &stderr)
                );
            }
        };
        Relay {
            child,
            url,
            stdout,
            stderr,
            _shares: shares,
            dist: dist_path,
        }
    }

    /// Kills the relay at once (SIGKILL: no graceful shutdown), as a crash or a power cut
    /// would; requests in flight break off.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the relay if it still runs and starts a new one on the same address and `dist`,
    /// so the page's origin (and its IndexedDB) is the same; `extra_args` as for
    /// [`Relay::start`]. Its output starts afresh.
    pub fn restart(&mut self, extra_args: &[&str]) {
        self.kill();
        let addr = self.addr().to_string();
        let mut args = vec!["--addr", addr.as_str()];
        args.extend_from_slice(extra_args);
        // The port was just freed by a killed process; tokio's listener sets SO_REUSEADDR.
        let next = Relay::start_with_env(&self.dist, &args, &[]);
        *self = next;
    }

    /// The base URL without a trailing slash, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address it listens on, for [`crate::http`] requests.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.url
            .trim_start_matches("http://")
            .parse()
            .unwrap_or_else(|e| panic!("the relay's URL {} is not http://IP:port: {e}", self.url))
    }

    /// `url` + `path` (`path` starts with `/`).
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("stdout buffer").clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    /// Everything the relay printed so far, stdout then stderr.
    pub fn logs(&self) -> String {
        output_of(&self.stdout, &self.stderr)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies a child's stream into `buffer` on a thread, announcing the ready line's URL.
fn collect(
    stream: impl Read + Send + 'static,
    buffer: &Arc<Mutex<String>>,
    ready: mpsc::Sender<String>,
) {
    let buffer = Arc::clone(buffer);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let line = strip_ansi(&line);
            if let Some(url) = parse_ready_line(&line) {
                let _ = ready.send(url);
            }
            let mut buffer = buffer.lock().expect("output buffer");
            buffer.push_str(&line);
            buffer.push('\n');
        }
    });
}

fn output_of(stdout: &Mutex<String>, stderr: &Mutex<String>) -> String {
    format!(
        "── relay stdout:\n{}── relay stderr:\n{}",
        stdout.lock().expect("stdout buffer"),
        stderr.lock().expect("stderr buffer")
    )
}

/// `…Easel is running at http://127.0.0.1:4000/ (offline)` → `http://127.0.0.1:4000`.
pub fn parse_ready_line(line: &str) -> Option<String> {
    let rest = &line[line.find(READY_PREFIX)? + READY_PREFIX.len()..];
    let url = rest.split_whitespace().next()?;
    let url = url
        .trim_end_matches([',', '.', ';', ')'])
        .trim_end_matches('/');
    url.starts_with("http").then(|| url.to_string())
}

/// Drops terminal colour codes (`ESC [ … letter`), in case the relay colours its output.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{parse_ready_line, strip_ansi};

    #[test]
    fn parses_the_ready_line() {
        assert_eq!(
            parse_ready_line("Easel is running at http://127.0.0.1:4000").as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(
            parse_ready_line("✓ Easel is running at http://127.0.0.1:4000/ (offline generator)")
                .as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(parse_ready_line("listening on 127.0.0.1:4000"), None);
    }

    #[test]
    fn strips_colours() {
        assert_eq!(strip_ansi("\u{1b}[1;32mEasel\u{1b}[0m is"), "Easel is");
    }
}
