//! The binary's threads: one single-threaded runtime per core, each accepting on its own
//! socket bound to the same port (`SO_REUSEPORT`, so the kernel spreads connections across
//! them), the way nginx runs a worker per core.
//!
//! A connection's request, its upstream exchange and its answer then stay on one thread. With
//! tokio's work-stealing runtime they hop between threads, and each hop is a futex wake-up:
//! on the benchmark that runtime cost 30% more CPU per request and gave less throughput, even
//! at 64 connections. Blocking work (the generator's drawing, file reads) still goes to
//! tokio's blocking pool, as before.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};

use crate::Relay;

thread_local! {
    /// Which worker this thread is, for the upstream pool (pool.rs) to keep each thread's
    /// connections to itself. Other threads (tests' runtimes) count as worker 0.
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

pub(crate) fn current() -> usize {
    WORKER.with(Cell::get)
}

/// How many workers: one per core the process may use.
pub fn default_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Binds `addr` once per worker (port 0 picks a free port for all of them). The sockets listen
/// from here on, so the port accepts connections before any runtime runs.
pub fn bind(addr: SocketAddr, workers: usize) -> io::Result<Vec<std::net::TcpListener>> {
    // Without SO_REUSEPORT one socket, and so one worker.
    let workers = if cfg!(unix) { workers.max(1) } else { 1 };
    // tokio's socket API, which has SO_REUSEPORT, registers listeners with a runtime: a
    // throwaway one, left again by `into_std`.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let _entered = runtime.enter();
    let mut listeners: Vec<std::net::TcpListener> = Vec::with_capacity(workers);
    let mut addr = addr;
    for _ in 0..workers {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        #[cfg(all(unix, not(target_os = "solaris"), not(target_os = "illumos")))]
        if workers > 1 {
            socket.set_reuseport(true)?;
        }
        socket.bind(addr)?;
        let listener = socket.listen(1024)?.into_std()?;
        // The others join the port the first one got.
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Serves `app` on `listeners`, one worker thread each (this thread is the first), until
/// `shutdown` resolves; each worker then drains as `serve` does.
pub fn serve(
    listeners: Vec<std::net::TcpListener>,
    app: Relay,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut stopping = stopping.clone();
        async move {
            // An error means the sender is gone, which also means stop.
            let _ = stopping.wait_for(|stop| *stop).await;
        }
    };
    let mut listeners = listeners.into_iter().enumerate();
    let (_, first) = listeners
        .next()
        .ok_or_else(|| io::Error::other("no listener to serve on"))?;
    let others: Vec<_> = listeners
        .map(|(index, listener)| {
            let (app, stopped) = (app.clone(), stopped());
            std::thread::Builder::new()
                .name(format!("easel-worker-{index}"))
                .spawn(move || run(index, listener, app, stopped, grace))
        })
        .collect::<io::Result<_>>()?;
    let this = run(
        0,
        first,
        app,
        async move {
            shutdown.await;
            let _ = stop.send(true);
        },
        grace,
    );
    let mut result = this;
    for worker in others {
        let finished = worker
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("a worker thread panicked")));
        result = result.and(finished);
    }
    result
}

fn run(
    index: usize,
    listener: std::net::TcpListener,
    app: Relay,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    WORKER.with(|worker| worker.set(index));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let timeouts = app.timeouts();
        crate::serve(listener, app, timeouts, shutdown, grace).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, service};

    #[test]
    fn workers_share_one_port_answer_on_every_socket_and_stop_together() {
        let listeners = bind("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        let addr = listeners[0].local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        assert!(listeners.iter().all(|l| l.local_addr().unwrap() == addr));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let shutdown = async move {
                let _ = stopped.await;
            };
            serve(
                listeners,
                service(Config::default()),
                shutdown,
                Duration::from_secs(1),
            )
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            // A new connection each time, so the kernel spreads them over the sockets.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap();
            for _ in 0..12 {
                let answer = client
                    .get(format!("http://{addr}/healthz"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.text().await.unwrap(), "ok");
            }
        });
        stop.send(()).unwrap();
        server.join().unwrap().unwrap();
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "no worker listens"
        );
    }
}
