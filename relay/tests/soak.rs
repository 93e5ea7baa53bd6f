//! Load and soak on the real binary: 500 keep-alive clients ask the offline generator for small
//! b64 images for 30 s while hostile clients try to hold connections open: a head sent a byte
//! at a time (slowloris), connections that say nothing, bodies sent a byte at a time, and
//! clients that stop reading their answers. Every good request must succeed, no good client may
//! be starved, every hostile connection must be cut at its timeout, and the relay's memory must
//! stay flat.
//!
//! Ignored by `cargo test`: `cargo xtask test` runs it as its own step. By hand:
//! `cargo test -p easel-relay --test soak -- --ignored --nocapture`; `EASEL_SOAK_CLIENTS` and
//! `EASEL_SOAK_SECONDS` change the load, `EASEL_SOAK_HOSTILE` the hostile connections of each kind.
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The relay's client timeouts for this run, small so that many hostile connections are cut.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How late after its timeout a connection may be cut: the machine is fully loaded.
const CUT_SLACK: Duration = Duration::from_secs(2);
/// Memory is measured from here on: connections open, buffers and the allocator's caches
/// warmed up (mimalloc's keep growing for a while: 45 s at 50 requests/s before they level off,
/// and by a quarter over a 30 s run when measured from 6 s).
const WARM_UP: Duration = Duration::from_secs(10);
/// Hostile connections of each kind (but non-readers: a quarter) open at any time.
const HOSTILE: u64 = 16;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Kills the relay whatever happens to the test.
struct Relay {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Relay {
    fn start() -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let timeout = TIMEOUT.as_secs().to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_easel-relay"))
            .args(["--offline", "--latency-ms", "20", "--no-shares"])
            .args(["--addr", "127.0.0.1:0", "--dist", "/nonexistent/easel-dist"])
            .args(["--header-timeout-secs", &timeout])
            .args(["--body-timeout-secs", &timeout])
            .args(["--write-timeout-secs", &timeout])
            // The default rate limit stays on: every client has its own address, as behind a
            // proxy, and asks far less than 600 a minute.
            .arg("--trust-forwarded-for")
            // Above the good clients plus the slow bodies (each holds a slot until it is cut):
            // this run is about memory and timeouts, not about shedding.
            .args(["--max-concurrent", "1024"])
            .env_remove("OPENAI_API_KEY")
            .env_remove("EASEL_CONFIG")
            // No line per request: the log would cost more than the relay's own work.
            .env("RUST_LOG", "easel_relay=warn")
            // Memory freed goes back to the system at once, so RSS is what the relay holds and
            // a leak shows; by default mimalloc keeps freed pages a while for reuse, and its
            // RSS climbs for a minute before levelling off (175-181 MiB here, 86-95 with this).
            .env("MIMALLOC_PURGE_DELAY", "0")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("relay.log")).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("ready line: {line:?}"));
        Relay {
            child,
            addr,
            _dir: dir,
        }
    }

    fn status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/<pid>/status"))
    }

    /// Resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        self.status("VmRSS:")
    }

    /// CPU time the relay has used (user and system), in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // After the command name in parentheses: state is field 3, utime and stime 14 and 15.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: a plain query.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        ticks as f64 / per_second
    }

    fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .count()
    }

    /// The TCP state of the relay's end of the connection from `client_port`, as
    /// /proc/net/tcp has it (1: established), or `None` once it is gone.
    fn socket_state(&self, client_port: u16) -> Option<u8> {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        let (local, remote) = (
            format!(":{:04X}", self.addr.port()),
            format!(":{client_port:04X}"),
        );
        table.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields[1].ends_with(&local) && fields[2].ends_with(&remote))
                .then(|| u8::from_str_radix(fields[3], 16).unwrap())
        })
    }
}

/// 500 clients and their hostile company need more descriptors than a default soft limit
/// of 1024, in this process and in the relay it starts.
fn raise_open_file_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a struct owned here.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < needed {
            limit.rlim_cur = limit.rlim_max.min(needed.max(limit.rlim_cur));
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    assert!(
        limit.rlim_cur >= needed,
        "the soak needs {needed} open files; the hard limit is {}",
        limit.rlim_max
    );
}

#[derive(Default)]
struct GoodStats {
    latencies_us: Vec<u64>,
    statuses: BTreeMap<u16, u64>,
    /// Failures without a status: refused, reset, closed under a request, bad body.
    failures: Vec<String>,
    /// Connections the relay closed between requests.
    reconnects: u64,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

/// A closed loop on one keep-alive connection: a small generation, its whole answer, the next.
async fn good_client(addr: SocketAddr, index: usize, stop: Arc<AtomicBool>) -> GoodStats {
    let mut stats = GoodStats::default();
    let forwarded_for = format!(
        "10.{}.{}.{}",
        index >> 16 & 255,
        index >> 8 & 255,
        index & 255
    );
    let mut sender = match connect(addr).await {
        Ok(sender) => Some(sender),
        Err(error) => {
            stats.failures.push(format!("connect: {error}"));
            None
        }
    };
    let mut sequence = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let reusable = match sender.take() {
            Some(mut open) => open.ready().await.is_ok().then_some(open),
            None => None,
        };
        let mut ready = match reusable {
            Some(open) => open,
            None => {
                stats.reconnects += 1;
                match connect(addr).await {
                    Ok(sender) => sender,
                    Err(error) => {
                        stats.failures.push(format!("connect: {error}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                }
            }
        };
        sequence += 1;
        // A new prompt each time: the generator draws a new picture.
        let body = format!(
            r#"{{"model":"dall-e-2","prompt":"soak client {index} picture {sequence}","size":"256x256","response_format":"b64_json"}}"#
        );
        let request = hyper::Request::post("/v1/images/generations")
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .header("x-forwarded-for", forwarded_for.as_str())
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let sent = Instant::now();
        match ready.send_request(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                *stats.statuses.entry(status).or_default() += 1;
                match response.into_body().collect().await {
                    Ok(body) => {
                        let body = body.to_bytes();
                        let head = &body[..body.len().min(200)];
                        if status == 200 && !head.windows(10).any(|w| w == b"\"b64_json\"") {
                            stats.failures.push("a 200 without b64_json".into());
                        }
                    }
                    Err(error) => stats.failures.push(format!("body: {error}")),
                }
                stats.latencies_us.push(sent.elapsed().as_micros() as u64);
                sender = Some(ready);
            }
            Err(error) => stats.failures.push(format!("request: {error}")),
        }
    }
    stats
}

/// When each hostile connection of one kind was cut, counted from its last byte sent (from
/// its start for silent ones); `None` for one still open long after its timeout.
type Cuts = Vec<Option<Duration>>;

/// Reads until the relay closes the connection; `None` after `TIMEOUT` + 10 s.
async fn until_closed(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let reading = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    let closed = tokio::time::timeout(TIMEOUT + Duration::from_secs(10), reading)
        .await
        .is_ok();
    (received, closed)
}

/// Connects and sends nothing, again and again until `stop`.
async fn silent(addr: SocketAddr, stop: Arc<AtomicBool>) -> Cuts {
    let mut cuts = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        // Before the connection: a task resumed late on a busy machine would start the clock late.
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let (received, closed) = until_closed(&mut stream).await;
        assert!(received.is_empty(), "a silent client got an answer");
        cuts.push(closed.then(|| started.elapsed()));
    }
    cuts
}

/// Sends a request head a byte every 500 ms (never done within the timeout), again and again.
async fn slowloris(addr: SocketAddr, stop: Arc<AtomicBool>) -> Cuts {
    let mut cuts = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let dripping = tokio::spawn(async move {
            let head = b"GET /healthz HTTP/1.1\r\nHost: soak\r\nX-Slow: ".repeat(4);
            for byte in head {
                if writer.write_all(&[byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        let (received, closed) = until_closed(&mut reader).await;
        dripping.abort();
        assert!(received.is_empty(), "a slowloris client got an answer");
        cuts.push(closed.then(|| started.elapsed()));
    }
    cuts
}

/// Sends a generation's head and then its body a byte every 500 ms, again and again; each must
/// be answered 408 and closed at the body timeout.
async fn slow_body(addr: SocketAddr, stop: Arc<AtomicBool>) -> Cuts {
    let body = br#"{"model":"dall-e-2","prompt":"a body that never ends","size":"256x256"}"#;
    let head = format!(
        "POST /v1/images/generations HTTP/1.1\r\nHost: soak\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut cuts = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let started = Instant::now();
        writer.write_all(head.as_bytes()).await.unwrap();
        let dripping = tokio::spawn(async move {
            for byte in body {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if writer.write_all(&[*byte]).await.is_err() {
                    break;
                }
            }
        });
        let (received, closed) = until_closed(&mut reader).await;
        dripping.abort();
        let text = String::from_utf8_lossy(&received);
        assert!(
            !closed || text.starts_with("HTTP/1.1 408"),
            "a late body: {text}"
        );
        cuts.push(closed.then(|| started.elapsed()));
    }
    cuts
}

/// Asks for a large image 16 times in one go (pipelined) with a small receive buffer and never
/// reads: the relay's writes stall. Cut when the relay's end of the connection is no longer
/// established.
async fn non_reader(relay: Arc<Relay>, image: String, stop: Arc<AtomicBool>) -> Cuts {
    let request = format!("GET {image} HTTP/1.1\r\nHost: soak\r\n\r\n").repeat(16);
    let mut cuts = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(relay.addr).await.unwrap();
        let port = stream.local_addr().unwrap().port();
        let started = Instant::now();
        stream.write_all(request.as_bytes()).await.unwrap();
        let cut = loop {
            if relay.socket_state(port) != Some(1) {
                break Some(started.elapsed());
            }
            if started.elapsed() > TIMEOUT + Duration::from_secs(10) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        cuts.push(cut);
        drop(stream);
    }
    cuts
}

/// One large image in the generator's store, for the non-reading clients; its path.
async fn large_image(addr: SocketAddr) -> String {
    let answer = reqwest::Client::new()
        .post(format!("http://{addr}/v1/images/generations"))
        .json(&serde_json::json!({
            "model": "soak-large",
            "prompt": "a large picture for clients that do not read",
            "size": "4096x2304",
            "response_format": "url",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: serde_json::Value = answer.json().await.unwrap();
    let url = answer["data"][0]["url"].as_str().unwrap();
    let path = &url[url.find("/v1/").unwrap()..];
    let image = reqwest::get(format!("http://{addr}{path}"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    println!(
        "large image for the non-readers: {} KiB",
        image.len() / 1024
    );
    path.to_owned()
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[test]
#[ignore = "30 s of load on the real binary: `cargo xtask test` runs it as its own step"]
fn five_hundred_clients_for_thirty_seconds_with_hostile_company() {
    let clients = env_or("EASEL_SOAK_CLIENTS", 500) as usize;
    let seconds = env_or("EASEL_SOAK_SECONDS", 30);
    let hostile_each = env_or("EASEL_SOAK_HOSTILE", HOSTILE) as usize;
    raise_open_file_limit(2 * (clients + 4 * hostile_each) as u64 + 256);
    let relay = Arc::new(Relay::start());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = relay.addr;
    let image = runtime.block_on(large_image(addr));
    let baseline_rss = relay.rss_kib();
    let baseline_files = relay.open_files();
    let baseline_cpu = relay.cpu_seconds();

    let stop_good = Arc::new(AtomicBool::new(false));
    let stop_hostile = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let good: Vec<_> = (0..clients)
        .map(|index| runtime.spawn(good_client(addr, index, Arc::clone(&stop_good))))
        .collect();
    // The hostile clients join once the good ones are under way.
    std::thread::sleep(Duration::from_secs(2));
    let mut hostile = Vec::new();
    for _ in 0..hostile_each {
        let stop = || Arc::clone(&stop_hostile);
        hostile.push(("silent", runtime.spawn(silent(addr, stop()))));
        hostile.push(("slowloris", runtime.spawn(slowloris(addr, stop()))));
        hostile.push(("slow body", runtime.spawn(slow_body(addr, stop()))));
    }
    for _ in 0..hostile_each.div_ceil(4) {
        let stop = Arc::clone(&stop_hostile);
        let task = non_reader(Arc::clone(&relay), image.clone(), stop);
        hostile.push(("non-reader", runtime.spawn(task)));
    }

    // Resident memory once a second while the load runs.
    let mut rss: Vec<(Duration, u64)> = Vec::new();
    let mut threads = 0;
    let end = started + Duration::from_secs(seconds);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(1).min(end - Instant::now()));
        rss.push((started.elapsed(), relay.rss_kib()));
        threads = threads.max(relay.status("Threads:"));
    }
    stop_good.store(true, Ordering::Relaxed);
    stop_hostile.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let cpu = relay.cpu_seconds() - baseline_cpu;

    let mut stats = GoodStats::default();
    let mut per_client = Vec::with_capacity(clients);
    for task in good {
        let client = runtime.block_on(task).unwrap();
        per_client.push(client.latencies_us.len() as u64);
        stats.latencies_us.extend(client.latencies_us);
        for (status, count) in client.statuses {
            *stats.statuses.entry(status).or_default() += count;
        }
        stats.failures.extend(client.failures);
        stats.reconnects += client.reconnects;
    }
    let mut cuts: BTreeMap<&str, Cuts> = BTreeMap::new();
    for (kind, task) in hostile {
        cuts.entry(kind)
            .or_default()
            .extend(runtime.block_on(task).unwrap());
    }
    drop(runtime);
    // Every client has gone: the relay should let go of their connections and buffers.
    std::thread::sleep(Duration::from_secs(3));
    let after_rss = relay.rss_kib();
    let after_files = relay.open_files();

    // The report, for the test log.
    let requests = stats.latencies_us.len() as u64;
    stats.latencies_us.sort_unstable();
    let (p50, p99, max) = (
        percentile(&stats.latencies_us, 0.50),
        percentile(&stats.latencies_us, 0.99),
        stats.latencies_us.last().copied().unwrap_or(0),
    );
    per_client.sort_unstable();
    let fewest = per_client.first().copied().unwrap_or(0);
    let mean = requests as f64 / clients as f64;
    println!(
        "relay soak: {clients} clients, {:.1} s: {requests} requests, {:.0} req/s, \
         p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; per client {fewest}..{} (mean {mean:.1}); \
         statuses {:?}; failures {}; reconnects {}; relay CPU {cpu:.1} s ({:.1} ms a request)",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0,
        max as f64 / 1000.0,
        per_client.last().copied().unwrap_or(0),
        stats.statuses,
        stats.failures.len(),
        stats.reconnects,
        cpu * 1000.0 / requests.max(1) as f64,
    );
    let series: Vec<String> = rss
        .iter()
        .map(|(_, kib)| format!("{:.0}", mib(*kib)))
        .collect();
    println!(
        "relay RSS (MiB): before {:.1}, each second [{}], 3 s after {:.1}; open files before \
         {baseline_files}, after {after_files}; threads at most {threads}",
        mib(baseline_rss),
        series.join(" "),
        mib(after_rss),
    );
    for (kind, cuts) in &cuts {
        let times: Vec<Duration> = cuts.iter().flatten().copied().collect();
        println!(
            "hostile {kind:<10}: {} connections, {} cut, after {:.2}..{:.2} s",
            cuts.len(),
            times.len(),
            times.iter().min().unwrap_or(&Duration::ZERO).as_secs_f64(),
            times.iter().max().unwrap_or(&Duration::ZERO).as_secs_f64(),
        );
    }

    // Every good request answered, and answered well.
    assert!(
        stats.failures.is_empty(),
        "{} good requests failed, e.g. {:?}",
        stats.failures.len(),
        &stats.failures[..stats.failures.len().min(5)]
    );
    assert_eq!(
        stats.statuses.keys().copied().collect::<Vec<_>>(),
        [200],
        "every good request is a 200: {:?}",
        stats.statuses
    );
    assert_eq!(
        stats.reconnects, 0,
        "no good keep-alive connection was closed"
    );
    assert!(requests > 0);
    // Nobody starved: every client kept being served, and the slowest answers stay within a
    // small multiple of the typical one (the loop is closed, so the typical one is the queue).
    assert!(
        fewest as f64 >= mean / 3.0,
        "a client got {fewest} answers where the mean was {mean:.1}"
    );
    assert!(
        p99 <= 3 * p50 + 1_000_000 && max <= 5 * p50 + 2_000_000,
        "answers wait too long: p50 {p50} µs, p99 {p99} µs, max {max} µs"
    );

    // Every hostile connection cut, at its timeout, not before and not long after.
    assert!(
        hostile_each == 0 || cuts.len() == 4,
        "every kind of hostile client ran"
    );
    for (kind, cuts) in &cuts {
        assert!(!cuts.is_empty(), "no {kind} client ran");
        for cut in cuts {
            let cut = cut.unwrap_or_else(|| panic!("a {kind} connection was never cut"));
            assert!(
                cut >= TIMEOUT - Duration::from_millis(100),
                "a {kind} connection was cut early, after {cut:?}"
            );
            assert!(
                cut <= TIMEOUT + CUT_SLACK,
                "a {kind} connection was cut late, after {cut:?}"
            );
        }
    }

    // Memory flat: the last third of the run no higher than just after the warm-up, give or
    // take 20% and 8 MiB.
    let warmed: Vec<u64> = rss
        .iter()
        .filter(|(at, _)| *at >= WARM_UP && *at < WARM_UP + Duration::from_secs(3))
        .map(|(_, kib)| *kib)
        .collect();
    let last_third: Vec<u64> = rss
        .iter()
        .filter(|(at, _)| *at >= elapsed * 2 / 3)
        .map(|(_, kib)| *kib)
        .collect();
    assert!(
        !warmed.is_empty() && !last_third.is_empty(),
        "run too short"
    );
    let warmed = *warmed.iter().max().unwrap();
    let late = *last_third.iter().max().unwrap();
    let allowed = warmed + warmed / 5 + 8 * 1024;
    assert!(
        late <= allowed,
        "memory grew: {:.1} MiB after the warm-up, {:.1} MiB in the last third",
        mib(warmed),
        mib(late)
    );
    // The allocator keeps some freed memory for reuse, so not all the way back to where it
    // started; but idle, the relay must not need more than it did under load.
    let peak = rss.iter().map(|(_, kib)| *kib).max().unwrap();
    assert!(
        after_rss <= peak + 8 * 1024,
        "memory grew once the clients had gone: {:.1} MiB, peak under load {:.1} MiB",
        mib(after_rss),
        mib(peak)
    );
    assert!(
        after_files <= baseline_files + 2,
        "connections left open: {baseline_files} files before, {after_files} after"
    );
}
