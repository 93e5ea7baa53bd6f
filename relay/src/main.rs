//! `easel-relay`: reads the configuration from flags and the environment, then serves
//! [`easel_relay::app`] until Ctrl+C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use easel_relay::{ApiKey, Config, DEFAULT_UPSTREAM, Upstream};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

/// Serves the Easel app and relays its image requests to OpenAI (or an offline generator).
///
/// The API key is read only from the environment (OPENAI_API_KEY), never from a flag, so it
/// does not show in process listings.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "EASEL_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The built app to serve.
    #[arg(long, env = "EASEL_DIST", default_value = "dist")]
    dist: PathBuf,
    /// Base URL of the OpenAI-compatible API to forward to.
    #[arg(long, env = "OPENAI_BASE_URL", default_value = DEFAULT_UPSTREAM)]
    upstream: String,
    /// Answer with the offline generator even when OPENAI_API_KEY is set.
    #[arg(long)]
    offline: bool,
    /// An origin whose pages may call this relay (repeatable; `*` for any).
    #[arg(
        long = "allow-origin",
        env = "EASEL_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    allow_origins: Vec<String>,
    /// How long the offline generator takes per request, in milliseconds.
    #[arg(long, env = "EASEL_LATENCY_MS", default_value_t = 600)]
    latency_ms: u64,
    /// Total time allowed for one upstream request, in seconds.
    #[arg(long, env = "EASEL_TIMEOUT_SECS", default_value_t = 300)]
    timeout_secs: u64,
    /// The URL clients use to reach the relay, for generated image links (default: http://<Host>).
    #[arg(long, env = "EASEL_PUBLIC_URL")]
    public_url: Option<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("easel_relay=info,tower_http=info")),
        )
        .init();
    let cli = Cli::parse();

    let key = non_empty_env("OPENAI_API_KEY");
    let (upstream, mode) = match key {
        Some(key) if !cli.offline => (
            Upstream::Forward {
                base_url: cli.upstream.clone(),
                api_key: ApiKey::new(key),
                organization: non_empty_env("OPENAI_ORG_ID"),
                project: non_empty_env("OPENAI_PROJECT_ID"),
            },
            format!("forwarding to {}", cli.upstream),
        ),
        Some(_) => (
            Upstream::Offline,
            "offline generator (--offline)".to_owned(),
        ),
        None => (
            Upstream::Offline,
            "offline generator — set OPENAI_API_KEY to use OpenAI".to_owned(),
        ),
    };
    if !cli.dist.join("index.html").is_file() {
        tracing::warn!(dist = %cli.dist.display(), "the app is not built; run `cargo xtask run`");
    }
    let config = Config {
        upstream,
        dist_dir: Some(cli.dist),
        allowed_origins: cli.allow_origins,
        generator_latency: Duration::from_millis(cli.latency_ms),
        upstream_timeout: Duration::from_secs(cli.timeout_secs),
        public_url: cli.public_url,
    };

    let listener = TcpListener::bind(cli.addr).await?;
    let addr = listener.local_addr()?;
    // Scripts wait for this line: print it only once the port accepts connections.
    println!("Easel is running at http://{addr} ({mode})");

    let (stop, stopping) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let server = axum::serve(listener, easel_relay::app(config))
        .with_graceful_shutdown(stopped(stopping.clone()));
    // A forwarded request may take minutes; a stop request should not.
    let grace_over = async {
        stopped(stopping).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result?,
        () = grace_over => tracing::warn!("open requests did not finish in time; stopping anyway"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// How long open requests may run on after Ctrl+C or SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

async fn stopped(mut stopping: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = stopping.wait_for(|stop| *stop).await;
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Resolves on Ctrl+C or SIGTERM; open requests are then allowed to finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
