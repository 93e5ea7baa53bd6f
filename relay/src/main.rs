//! `easel-relay`: reads the configuration from flags, the environment and an optional TOML
//! file, then serves [`easel_relay::app`] until Ctrl+C or SIGTERM.

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, ValueEnum};
use easel_relay::config::parse_token_list;
use easel_relay::{
    ApiKey, Config, DEFAULT_UPSTREAM, Fault, Forward, RateLimit, ShareStore, Shares, Upstream,
    UpstreamKind,
};
use tracing_subscriber::EnvFilter;

// Small, short-lived allocations per request (header maps, bodies): see relay/Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRETS_HELP: &str = "\
Secrets come only from the environment or files, never from flags (flags show in process lists):
  OPENAI_API_KEY            the upstream's API key (Azure: AZURE_OPENAI_API_KEY is read first);
                            without one (and without --upstream-kind) the offline generator answers
  OPENAI_ORG_ID, OPENAI_PROJECT_ID   sent to OpenAI as OpenAI-Organization / OpenAI-Project
  EASEL_ACCESS_TOKENS       comma-separated relay tokens; with --access-tokens-file, both count
  RUST_LOG                  log filter (default: easel_relay=info,tower_http=info)
  AWS_*, GOOGLE_*, AZURE_*  the share store's settings (--shares-store), as object_store reads
                            them: e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
                            AWS_ENDPOINT_URL and AWS_ALLOW_HTTP=true for an S3-compatible server;
                            GOOGLE_SERVICE_ACCOUNT; AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCOUNT_KEY

Every flag can also be set in a TOML file (--config), by its long name:
  addr = \"0.0.0.0:8080\"
  allow-origin = [\"https://me.github.io\"]
  rate-limit-per-minute = 30
Flags beat environment variables, which beat the file.";

/// Serves the Easel app and relays its image requests to OpenAI, Azure OpenAI or an
/// OpenAI-compatible server (or answers them with an offline generator).
#[derive(Debug, Parser)]
#[command(version, about, after_help = SECRETS_HELP)]
struct Cli {
    /// A TOML file with defaults for any of these flags.
    #[arg(long, env = "EASEL_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "EASEL_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The built app to serve.
    #[arg(long, env = "EASEL_DIST", default_value = "dist")]
    dist: PathBuf,

    /// Which upstream answers image requests; `auto` is openai when OPENAI_API_KEY is set,
    /// else offline.
    #[arg(long, env = "EASEL_UPSTREAM_KIND", value_enum, default_value_t = Kind::Auto)]
    upstream_kind: Kind,
    /// Base URL of the upstream API (Azure: https://<resource>.openai.azure.com/openai).
    #[arg(long, env = "OPENAI_BASE_URL", default_value = DEFAULT_UPSTREAM)]
    upstream: String,
    /// Answer with the offline generator whatever else is configured.
    #[arg(long, env = "EASEL_OFFLINE")]
    offline: bool,
    /// Read the upstream's API key from this file instead of OPENAI_API_KEY.
    #[arg(long, env = "OPENAI_API_KEY_FILE")]
    api_key_file: Option<PathBuf>,
    /// Azure: the deployment that serves image requests.
    #[arg(long, env = "AZURE_OPENAI_DEPLOYMENT")]
    azure_deployment: Option<String>,
    /// Azure: the api-version query parameter.
    #[arg(long, env = "OPENAI_API_VERSION", default_value = "2025-04-01-preview")]
    azure_api_version: String,
    /// Compatible servers: the header that carries the key (`authorization` sends
    /// `Bearer <key>`; any other header gets the key as it is).
    #[arg(
        long,
        env = "EASEL_UPSTREAM_AUTH_HEADER",
        default_value = "authorization"
    )]
    upstream_auth_header: String,

    /// An origin whose pages may call this relay (repeatable or comma-separated; `*` for any).
    #[arg(
        long = "allow-origin",
        env = "EASEL_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    allow_origins: Vec<String>,
    /// A file of relay access tokens, one per line; when any token is configured, image
    /// requests need `Authorization: Bearer <token>`.
    #[arg(long, env = "EASEL_ACCESS_TOKENS_FILE")]
    access_tokens_file: Option<PathBuf>,
    /// Image requests per minute per client (by token, else by address); 0 turns it off.
    #[arg(long, env = "EASEL_RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    rate_limit_per_minute: u32,
    /// Requests a client may make at once before the per-minute rate applies.
    #[arg(long, env = "EASEL_RATE_LIMIT_BURST", default_value_t = 120)]
    rate_limit_burst: u32,
    /// Identify clients by the last X-Forwarded-For hop (only behind a reverse proxy that sets it).
    #[arg(long, env = "EASEL_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Image requests in flight at once (streams count until they end); more get 503.
    #[arg(long, env = "EASEL_MAX_CONCURRENT", default_value_t = 256)]
    max_concurrent: usize,
    /// Largest JSON request body, in bytes.
    #[arg(long, env = "EASEL_JSON_LIMIT_BYTES", default_value_t = 1024 * 1024)]
    json_limit_bytes: usize,
    /// Largest multipart request body (edits and variations with files), in bytes.
    #[arg(long, env = "EASEL_MULTIPART_LIMIT_BYTES", default_value_t = 64 * 1024 * 1024)]
    multipart_limit_bytes: usize,

    /// Total time allowed for one upstream request, in seconds.
    #[arg(long, env = "EASEL_TIMEOUT_SECS", default_value_t = 300)]
    timeout_secs: u64,
    /// Longest silence allowed in an upstream stream, in seconds.
    #[arg(long, env = "EASEL_STREAM_IDLE_SECS", default_value_t = 120)]
    stream_idle_secs: u64,
    /// How long a client may take to send a request head, in seconds, counted from the
    /// connection's start or the end of its previous answer (so also the keep-alive idle
    /// time); 0: no limit.
    #[arg(long, env = "EASEL_HEADER_TIMEOUT_SECS", default_value_t = 30)]
    header_timeout_secs: u64,
    /// How long a request body may take to arrive after its head, in seconds (late: 408);
    /// raise it for large uploads over slow links; 0: no limit.
    #[arg(long, env = "EASEL_BODY_TIMEOUT_SECS", default_value_t = 120)]
    body_timeout_secs: u64,
    /// How long a write to a client may make no progress, in seconds, before the connection
    /// is closed (a client that stopped reading); 0: no limit.
    #[arg(long, env = "EASEL_WRITE_TIMEOUT_SECS", default_value_t = 60)]
    write_timeout_secs: u64,
    /// After Ctrl+C or SIGTERM, how long open requests may run on, in seconds.
    #[arg(long, env = "EASEL_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,

    /// Log format: human-readable lines, or one JSON object per line.
    #[arg(long, env = "EASEL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// Write prompts to the log (off: they are the users' words).
    #[arg(long, env = "EASEL_LOG_PROMPTS")]
    log_prompts: bool,

    /// How long the offline generator takes per request, in milliseconds.
    #[arg(long, env = "EASEL_LATENCY_MS", default_value_t = 600)]
    latency_ms: u64,
    /// Accept the x-easel-fault request header, which makes the generator fail on purpose.
    #[arg(long, env = "EASEL_TEST_MODE")]
    test_mode: bool,
    /// Make every generator request fail this way (needs --test-mode): unauthorized,
    /// unverified-org, rate-limit, insufficient-quota, moderation-blocked, server-error,
    /// server-error-once and unavailable-once (only the first request), unavailable, timeout,
    /// truncated, cdn-429, malformed (a 200 that is not JSON), not-an-image (base64 of text),
    /// huge (a 200 body longer than the app accepts).
    #[arg(long, env = "EASEL_FAULT", requires = "test_mode")]
    fault: Option<Fault>,
    /// The URL clients use to reach the relay, for generated image links (default: http://<Host>).
    #[arg(long, env = "EASEL_PUBLIC_URL")]
    public_url: Option<String>,

    /// Where hosted shares are kept, when --shares-store is not set (made if missing).
    #[arg(long, env = "EASEL_SHARES_DIR", default_value = "shares")]
    shares_dir: PathBuf,
    /// Keep shares in an object store instead: s3://bucket/prefix, gs://bucket/prefix or
    /// az://container/prefix, configured by the AWS_*, GOOGLE_* or AZURE_* variables.
    #[arg(long, env = "EASEL_SHARES_STORE")]
    shares_store: Option<String>,
    /// Do not host shares (the share routes answer 404 shares_disabled).
    #[arg(long, env = "EASEL_NO_SHARES")]
    no_shares: bool,
    /// Distinct images one share may hold.
    #[arg(long, env = "EASEL_SHARE_MAX_IMAGES", default_value_t = 64)]
    share_max_images: usize,
    /// Bytes one share's images may take together (the request is also held to
    /// --multipart-limit-bytes).
    #[arg(long, env = "EASEL_SHARE_MAX_BYTES", default_value_t = 64 * 1024 * 1024)]
    share_max_bytes: u64,
    /// How long a share lives when its creator does not say, in seconds; 0: until deleted.
    #[arg(long, env = "EASEL_SHARE_DEFAULT_EXPIRY_SECS", default_value_t = 0)]
    share_default_expiry_secs: u64,
    /// The longest a share may live, in seconds (caps the default too); 0: no cap.
    #[arg(long, env = "EASEL_SHARE_MAX_EXPIRY_SECS", default_value_t = 0)]
    share_max_expiry_secs: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    Auto,
    Offline,
    Openai,
    Azure,
    Compatible,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(message) => {
            eprintln!("easel-relay: {message}");
            return ExitCode::from(2);
        }
    };
    init_logging(cli.log_format);
    let grace = Duration::from_secs(cli.shutdown_grace_secs);
    let addr = cli.addr;
    let (config, mode) = match configure(cli) {
        Ok(configured) => configured,
        Err(message) => {
            eprintln!("easel-relay: {message}");
            return ExitCode::from(2);
        }
    };
    let served = easel_relay::workers::bind(addr, easel_relay::workers::default_count()).and_then(
        |listeners| {
            let addr = listeners[0].local_addr()?;
            // Scripts wait for this line: print it only once the port accepts connections.
            println!("Easel is running at http://{addr} ({mode})");
            let relay = easel_relay::service(config);
            easel_relay::workers::serve(listeners, relay, shutdown_signal(), grace)
        },
    );
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("easel-relay: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Flags and environment over the TOML file over built-in defaults: the file's values become
/// the flags' defaults.
fn parse_cli() -> Result<Cli, String> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut command = Cli::command();
    if let Some(path) = config_path(&args) {
        command = with_file_defaults(command, &path)?;
    }
    let matches = command.get_matches_from(args);
    Cli::from_arg_matches(&matches).map_err(|e| e.to_string())
}

fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("EASEL_CONFIG").map(PathBuf::from)
}

fn with_file_defaults(mut command: clap::Command, path: &Path) -> Result<clap::Command, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the config file {}: {e}", path.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| format!("the config file {} is not valid TOML: {e}", path.display()))?;
    for (key, value) in table {
        let long = key.replace('_', "-");
        let id = command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(long.as_str()) && long != "config")
            .map(|arg| arg.get_id().clone())
            .ok_or_else(|| format!("{}: unknown setting `{key}`", path.display()))?;
        let values: Vec<String> = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect(),
            other => vec![scalar(&other)],
        };
        command = command.mut_arg(id, |arg| arg.default_values(values));
    }
    Ok(command)
}

fn scalar(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Colours only on a terminal (and never with NO_COLOR): escape codes in a log file or the
/// journal are noise.
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("easel_relay=info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Human => {
            let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(ansi).init()
        }
    }
}

fn configure(cli: Cli) -> Result<(Config, String), String> {
    let kind = match (cli.offline, cli.upstream_kind) {
        (true, _) => Kind::Offline,
        (false, Kind::Auto) if api_key(&cli, false)?.is_some() => Kind::Openai,
        (false, Kind::Auto) => Kind::Offline,
        (false, kind) => kind,
    };
    let forward = |kind: UpstreamKind, api_key: Option<ApiKey>| Forward {
        kind,
        base_url: cli.upstream.clone(),
        api_key,
        organization: non_empty_env("OPENAI_ORG_ID"),
        project: non_empty_env("OPENAI_PROJECT_ID"),
    };
    let needs_key = |azure| {
        api_key(&cli, azure)?.ok_or_else(|| {
            "this upstream needs an API key: set OPENAI_API_KEY or --api-key-file".to_owned()
        })
    };
    let upstream = match kind {
        Kind::Auto | Kind::Offline => Upstream::Offline,
        Kind::Openai => Upstream::Forward(forward(UpstreamKind::OpenAi, Some(needs_key(false)?))),
        Kind::Azure => {
            let deployment = cli
                .azure_deployment
                .clone()
                .ok_or("--upstream-kind azure needs --azure-deployment")?;
            if cli.upstream == DEFAULT_UPSTREAM {
                return Err("--upstream-kind azure needs --upstream \
                            https://<resource>.openai.azure.com/openai"
                    .into());
            }
            let kind = UpstreamKind::Azure {
                deployment,
                api_version: cli.azure_api_version.clone(),
            };
            Upstream::Forward(forward(kind, Some(needs_key(true)?)))
        }
        Kind::Compatible => {
            let auth_header = cli
                .upstream_auth_header
                .parse()
                .map_err(|_| format!("`{}` is not a header name", cli.upstream_auth_header))?;
            Upstream::Forward(forward(
                UpstreamKind::Compatible { auth_header },
                api_key(&cli, false)?,
            ))
        }
    };
    let mode = match (&upstream, cli.offline) {
        (Upstream::Forward(_), _) => format!("forwarding to {}", cli.upstream),
        (Upstream::Offline, true) => "offline generator (--offline)".to_owned(),
        (Upstream::Offline, false)
            if kind == Kind::Offline && cli.upstream_kind == Kind::Offline =>
        {
            "offline generator".to_owned()
        }
        (Upstream::Offline, false) => {
            "offline generator — set OPENAI_API_KEY to use OpenAI".to_owned()
        }
    };

    let mut access_tokens = non_empty_env("EASEL_ACCESS_TOKENS")
        .map(|text| parse_token_list(&text))
        .unwrap_or_default();
    if let Some(path) = &cli.access_tokens_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the access tokens file {}: {e}", path.display()))?;
        access_tokens.extend(parse_token_list(&text));
    }
    if !cli.dist.join("index.html").is_file() {
        tracing::warn!(dist = %cli.dist.display(), "the app is not built; run `cargo xtask run`");
    }
    if !access_tokens.is_empty() {
        tracing::info!(
            count = access_tokens.len(),
            "image requests need a relay token"
        );
    }
    let shares = shares(&cli)?;
    let config = Config {
        upstream,
        dist_dir: Some(cli.dist),
        allowed_origins: cli.allow_origins,
        access_tokens,
        rate_limit: (cli.rate_limit_per_minute > 0).then_some(RateLimit {
            per_minute: cli.rate_limit_per_minute,
            burst: cli.rate_limit_burst,
        }),
        trust_forwarded_for: cli.trust_forwarded_for,
        max_concurrent: cli.max_concurrent,
        json_body_limit: cli.json_limit_bytes,
        multipart_body_limit: cli.multipart_limit_bytes,
        upstream_timeout: Duration::from_secs(cli.timeout_secs),
        stream_idle_timeout: Duration::from_secs(cli.stream_idle_secs),
        header_read_timeout: Duration::from_secs(cli.header_timeout_secs),
        body_timeout: Duration::from_secs(cli.body_timeout_secs),
        write_timeout: Duration::from_secs(cli.write_timeout_secs),
        log_prompts: cli.log_prompts,
        generator_latency: Duration::from_millis(cli.latency_ms),
        test_mode: cli.test_mode,
        fault: cli.fault,
        public_url: cli.public_url,
        shares,
    };
    Ok((config, mode))
}

/// The share store and limits; the store's settings from the environment (object_store's
/// `AWS_*`, `GOOGLE_*`, `AZURE_*` keys), like the secrets.
fn shares(cli: &Cli) -> Result<Option<Shares>, String> {
    if cli.no_shares {
        return Ok(None);
    }
    let store = match &cli.shares_store {
        Some(url) => {
            let options = std::env::vars_os()
                .filter_map(|(key, value)| {
                    Some((key.into_string().ok()?, value.into_string().ok()?))
                })
                .filter(|(key, _)| {
                    ["AWS_", "GOOGLE_", "AZURE_"]
                        .iter()
                        .any(|prefix| key.starts_with(prefix))
                });
            ShareStore::from_url(url, options)?
        }
        None => ShareStore::local(&cli.shares_dir)?,
    };
    tracing::info!(%store, "hosting shares");
    let seconds = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
    Ok(Some(Shares {
        store,
        max_images: cli.share_max_images,
        max_bytes: cli.share_max_bytes,
        default_expiry: seconds(cli.share_default_expiry_secs),
        max_expiry: seconds(cli.share_max_expiry_secs),
    }))
}

/// The key from --api-key-file, else the environment (for Azure, its own variable first).
fn api_key(cli: &Cli, azure: bool) -> Result<Option<ApiKey>, String> {
    if let Some(path) = &cli.api_key_file {
        let key = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the API key file {}: {e}", path.display()))?;
        return Ok(Some(ApiKey::new(key.trim())));
    }
    let from_env = azure
        .then(|| non_empty_env("AZURE_OPENAI_API_KEY"))
        .flatten()
        .or_else(|| non_empty_env("OPENAI_API_KEY"));
    Ok(from_env.map(ApiKey::new))
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
