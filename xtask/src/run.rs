//! `cargo xtask run`: release build + relay in the foreground until Ctrl+C.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::sys::{self, SIGINT, SIGKILL};
use crate::{Result, bootstrap, proc};

pub struct RunArgs {
    addr: String,
    relay_args: Vec<String>,
}

pub fn parse(args: &[String]) -> Result<RunArgs> {
    let mut parsed = RunArgs {
        addr: "127.0.0.1:8080".into(),
        relay_args: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                parsed.addr = args
                    .next()
                    .ok_or("--addr needs a value, e.g. 127.0.0.1:8080")?
                    .clone();
            }
            "--" => parsed.relay_args.extend(args.by_ref().cloned()),
            other => match other.strip_prefix("--addr=") {
                Some(addr) => parsed.addr = addr.into(),
                None => {
                    return Err(format!(
                        "`run` does not know `{other}` (see `cargo xtask --help`)"
                    ));
                }
            },
        }
    }
    Ok(parsed)
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    bootstrap::build_tools()?;
    crate::bundle::release_build()?;
    proc::run(proc::cargo().args(["build", "-p", "easel-relay"]))?;

    let relay = proc::root().join("target/debug/easel-relay");
    let mut cmd = proc::command(&relay);
    cmd.args(["--dist", "dist", "--addr", &args.addr])
        .args(&args.relay_args);
    match std::env::var_os("OPENAI_API_KEY") {
        Some(_) => println!("→ OPENAI_API_KEY is set: the relay forwards to the API"),
        None => println!("→ OPENAI_API_KEY is not set: the relay uses its offline generator"),
    }
    println!("$ {}", proc::display(&cmd));

    // The terminal sends Ctrl+C to the whole process group: the relay shuts itself down,
    // and xtask must outlive it to report how it ended.
    sys::count_interrupts();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", relay.display()))?;
    let mut first_interrupt: Option<Instant> = None;
    let mut forwarded = false;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("waiting for the relay: {e}"))?
        {
            break status;
        }
        match sys::interrupts() {
            0 => {}
            1 => {
                // A SIGINT that reached only xtask (e.g. `kill -INT`), not the terminal's
                // whole group: pass it on if the relay is still up a moment later.
                let at = *first_interrupt.get_or_insert_with(Instant::now);
                if !forwarded && at.elapsed() > Duration::from_secs(3) {
                    sys::send_signal(child.id(), SIGINT);
                    forwarded = true;
                }
            }
            _ => {
                // A second Ctrl+C means "now": do not wait for a hung graceful shutdown.
                println!("→ second Ctrl+C: killing the relay");
                sys::send_signal(child.id(), SIGKILL);
                let _ = child.wait();
                return Ok(ExitCode::from(130));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };

    if status.success() || (sys::interrupts() > 0 && status.signal() == Some(SIGINT)) {
        println!("✓ relay stopped");
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!("the relay exited unexpectedly ({status})"))
    }
}
