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
            // Not a shares directory under the test's working directory.
            .arg("--no-shares")
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

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_easel-relay"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for (flag, env) in [
        ("--addr", "EASEL_ADDR"),
        ("--upstream-kind", "EASEL_UPSTREAM_KIND"),
        ("--allow-origin", "EASEL_ALLOWED_ORIGINS"),
        ("--access-tokens-file", "EASEL_ACCESS_TOKENS_FILE"),
        ("--rate-limit-per-minute", "EASEL_RATE_LIMIT_PER_MINUTE"),
        ("--max-concurrent", "EASEL_MAX_CONCURRENT"),
        ("--json-limit-bytes", "EASEL_JSON_LIMIT_BYTES"),
        ("--multipart-limit-bytes", "EASEL_MULTIPART_LIMIT_BYTES"),
        ("--timeout-secs", "EASEL_TIMEOUT_SECS"),
        ("--stream-idle-secs", "EASEL_STREAM_IDLE_SECS"),
        ("--header-timeout-secs", "EASEL_HEADER_TIMEOUT_SECS"),
        ("--body-timeout-secs", "EASEL_BODY_TIMEOUT_SECS"),
        ("--write-timeout-secs", "EASEL_WRITE_TIMEOUT_SECS"),
        ("--log-format", "EASEL_LOG_FORMAT"),
        ("--test-mode", "EASEL_TEST_MODE"),
        ("--config", "EASEL_CONFIG"),
        ("--shares-dir", "EASEL_SHARES_DIR"),
        ("--shares-store", "EASEL_SHARES_STORE"),
        ("--no-shares", "EASEL_NO_SHARES"),
        ("--share-max-images", "EASEL_SHARE_MAX_IMAGES"),
        ("--share-max-bytes", "EASEL_SHARE_MAX_BYTES"),
        (
            "--share-default-expiry-secs",
            "EASEL_SHARE_DEFAULT_EXPIRY_SECS",
        ),
        ("--share-max-expiry-secs", "EASEL_SHARE_MAX_EXPIRY_SECS"),
    ] {
        assert!(help.contains(flag), "{flag} in --help");
        assert!(help.contains(&format!("[env: {env}")), "{env} in --help");
    }
    for secret in [
        "OPENAI_API_KEY",
        "EASEL_ACCESS_TOKENS ",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        assert!(help.contains(secret), "{secret} in --help");
    }
}

/// Starts the relay with `args`, waits for the ready line and returns the port and stderr file.
fn start(args: &[&str], extra_env: &[(&str, &str)]) -> (Running, u16, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap().keep();
    let log = dir.join("stderr.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_easel-relay"));
    command
        .args(["--addr", "127.0.0.1:0", "--dist", "/nonexistent/easel-dist"])
        // Shares in the test's own directory, not under its working directory.
        .arg("--shares-dir")
        .arg(dir.join("shares"))
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("EASEL_ADDR")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    for (name, value) in extra_env {
        command.env(name, value);
    }
    let mut relay = Running(command.spawn().unwrap());
    let mut line = String::new();
    BufReader::new(relay.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("ready line: {line:?}"));
    (relay, port, log)
}

#[test]
fn logs_to_a_file_have_no_colour_codes_and_json_logs_carry_the_request_fields() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for format in ["human", "json"] {
        let (relay, port, log) = start(
            &["--log-format", format, "--latency-ms", "0"],
            &[("EASEL_ACCESS_TOKENS", "secret-relay-token")],
        );
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .post(format!("http://127.0.0.1:{port}/v1/images/generations"))
                .bearer_auth("secret-relay-token")
                .json(&serde_json::json!({"model": "gpt-image-2", "prompt": "a secret prompt", "quality": "low"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        });
        drop(relay);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            !text.contains('\u{1b}'),
            "{format}: no ANSI escapes in {text}"
        );
        assert!(
            !text.contains("secret-relay-token"),
            "{format}: never the token"
        );
        assert!(
            !text.contains("a secret prompt"),
            "{format}: prompts only when enabled"
        );
        let line = text
            .lines()
            .find(|l| l.contains("response") && l.contains("/v1/images/generations"))
            .unwrap_or_else(|| panic!("{format}: a response line in {text}"));
        for field in [
            "status",
            "latency_ms",
            "upstream_request_id",
            "request_id",
            "method",
        ] {
            assert!(line.contains(field), "{format}: {field} in {line}");
        }
        if format == "json" {
            let json: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(json["fields"]["status"], 200);
            assert_eq!(json["span"]["path"], "/v1/images/generations");
        }
    }
}

#[test]
fn a_toml_file_sets_defaults_that_flags_override() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        "upstream-kind = \"offline\"\nallow-origin = [\"https://me.github.io\"]\nlatency_ms = 0\n\
         share-max-images = 7\n",
    )
    .unwrap();
    let (relay, port, _) = start(&["--config", config.to_str().unwrap()], &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let allowed = runtime.block_on(async {
        reqwest::Client::new()
            .request(
                reqwest::Method::OPTIONS,
                format!("http://127.0.0.1:{port}/v1/images/generations"),
            )
            .header("origin", "https://me.github.io")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap()
            .headers()
            .get("access-control-allow-origin")
            .cloned()
    });
    assert_eq!(allowed.unwrap(), "https://me.github.io");
    let info: serde_json::Value = runtime.block_on(async {
        reqwest::get(format!("http://127.0.0.1:{port}/v1/relay/info"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(info["shares"], true, "{info}");
    assert_eq!(info["share_max_images"], 7, "{info}");
    drop(relay);

    std::fs::write(&config, "no-such-setting = 1\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_easel-relay"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-setting"));
}
