//! `cargo xtask run | test`: installs the tools Easel needs and orchestrates builds and tests.

mod bench;
mod bootstrap;
mod bundle;
mod imports;
mod proc;
mod run;
mod sdk;
mod sys;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
Easel developer commands

Usage: cargo xtask <COMMAND> [OPTIONS]

Commands:
  run    Build the release app and serve it with the relay (offline generator unless
         OPENAI_API_KEY is set). Ctrl+C stops it.
           --addr <HOST:PORT>   listen address (default 127.0.0.1:8080)
           -- <ARGS>...         extra arguments for easel-relay (e.g. -- --latency-ms 500)
  build  Build the release app into dist/ (the lazy pages as separate wasm chunks, 404.html
         for deep links on static hosts)
           --public-url <PATH>  where it will be served (default /; /<repo>/ for a GitHub
                                Pages project site)
           --dist <DIR>         output folder (default dist)
  test   Run every check: fmt, clippy (native + wasm), native tests (the relay's S3 share test
         against moto, installed under .tools/moto), a short run of each fuzz target, the relay
         soak (500 clients for 30 s with slow and silent ones among them), release build, bundle
         size budget, browser tests, end-to-end journeys. Prints a summary.
  fuzz   Run only the fuzz step: each cargo-fuzz target for a few seconds (docs/fuzzing.md)
  sdk    Run the official OpenAI SDKs (Python, Node; installed under .tools/) against the relay
  bench relay
         Measure the relay against direct calls and nginx proxy_pass (concurrency 1/64/256,
         requests/s, p50, p99, SSE first-event delay); writes bench/results/relay-*.{md,json}
  bench gallery
         Build the release app, seed 1,000 images of 1024x1024 from the offline generator and
         measure the gallery in headless Chromium (median of 5): navigation to the first row of
         thumbnails, heap after load against an empty gallery, p95 frame time scrolling to the
         end; writes bench/results/gallery-*.{md,json} (EASEL_DIST=<dir> skips the build)
  setup  Only install the tools (both commands above do this first)
  help   Print this message

Both install what is missing (wasm32 target, trunk, wasm-bindgen-cli, wasm-split-cli, wasm-opt;
for `test` also Chromium and chromedriver) and skip what is present.

Environment:
  CHROMEDRIVER   chromedriver binary to use (default /usr/bin/chromedriver)
  CHROME         Chromium binary for the end-to-end tests (default /usr/bin/chromium)
";

/// Errors are human-readable sentences; every failure ends the command with a message.
pub type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("run") => run::parse(&args[1..]).and_then(run::run),
        Some("build") => bootstrap::build_tools()
            .and_then(|()| bundle::build_command(&args[1..]))
            .map(|()| ExitCode::SUCCESS),
        Some("test") if args.len() == 1 => test::test(),
        Some("test") => Err(format!("`test` takes no arguments, got {:?}", &args[1..])),
        Some("fuzz") => test::fuzz().map(|()| ExitCode::SUCCESS),
        Some("sdk") => sdk::sdk_tests().map(|()| ExitCode::SUCCESS),
        Some("bench") => bench::bench(&args[1..]).map(|()| ExitCode::SUCCESS),
        Some("setup") => bootstrap::build_tools()
            .and_then(|()| bootstrap::rust_components())
            .and_then(|()| bootstrap::chromium())
            .map(|_| ExitCode::SUCCESS),
        None | Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("✗ {message}");
            ExitCode::FAILURE
        }
    }
}
