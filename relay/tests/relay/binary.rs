//! The real binary: the ready line, port 0, and a clean stop on SIGTERM.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the relay if the test fails before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prints_the_ready_line_serves_and_stops_on_sigterm() {
    let mut relay = Running(
        Command::new(env!("CARGO_BIN_EXE_easel-relay"))
            .args(["--addr", "127.0.0.1:0", "--dist", "/nonexistent/easel-dist"])
            .env_remove("OPENAI_API_KEY")
            .env_remove("EASEL_ADDR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(relay.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let rest = line
        .trim_end()
        .strip_prefix("Easel is running at http://127.0.0.1:")
        .unwrap_or_else(|| panic!("ready line: {line:?}"));
    let (port, mode) = rest.split_once(' ').unwrap();
    assert_ne!(port.parse::<u16>().unwrap(), 0, "the bound port is printed");
    assert_eq!(
        mode,
        "(offline generator — set OPENAI_API_KEY to use OpenAI)"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let health = runtime.block_on(async {
        let url = format!("http://127.0.0.1:{port}/healthz");
        reqwest::get(url).await.unwrap().text().await.unwrap()
    });
    assert_eq!(health, "ok");

    let sent = Command::new("kill")
        .args(["-TERM", &relay.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = relay.0.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "stops in time");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit: {status}");
}
