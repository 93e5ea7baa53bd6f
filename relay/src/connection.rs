//! The relay's client connections: accepted and served with hyper's HTTP/1.1 server, with the
//! three timeouts that keep a slow or silent client from holding a connection (and a
//! concurrency slot) for ever:
//!
//! - the request head (`header_read_timeout`): from the connection's start, or the end of its
//!   previous answer, until a whole request head has arrived. It cuts slowloris clients that
//!   send a head a byte at a time, clients that connect and say nothing, and idle keep-alive
//!   connections. hyper has it, but only with a timer, which `axum::serve` does not give it.
//! - the request body (`body_timeout`): from the head until the body's last byte. A body that
//!   is late is answered 408 `request_timeout`.
//! - the answer (`write_timeout`): a write to the client that makes no progress for this long
//!   ends the connection, so a client that stops reading lets go of its slot.
//!
//! Timers are made only when a read or a write has to wait: a request whose body came with
//! its head, and answers that fit the socket's buffer, cost no timer at all.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use http_body::Frame;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use crate::Config;

/// How long a client may take over each part of an exchange; `None`: no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// A whole request head, from the connection's start or the previous answer's end.
    pub header_read: Option<Duration>,
    /// A whole request body, from its head.
    pub body: Option<Duration>,
    /// A write to the client that makes no progress.
    pub write: Option<Duration>,
}

impl Timeouts {
    /// The configuration's timeouts; zero turns one off.
    pub fn of(config: &Config) -> Timeouts {
        let some = |duration: Duration| (!duration.is_zero()).then_some(duration);
        Timeouts {
            header_read: some(config.header_read_timeout),
            body: some(config.body_timeout),
            write: some(config.write_timeout),
        }
    }
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts::of(&Config::default())
    }
}

/// Accepts connections on `listener` and serves `app` on each until `stopped` resolves; then
/// stops accepting, lets every connection finish its current exchange and returns once all
/// have closed (the caller bounds that wait).
pub(crate) async fn serve<S>(
    listener: TcpListener,
    app: S,
    timeouts: Timeouts,
    stopped: impl Future<Output = ()> + Send + 'static,
) where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let (stop, stopping) = watch::channel(false);
    // Every connection holds a sender: the receiver ends when the last one has closed.
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    tokio::pin!(stopped);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        // Small answers and stream events go out at once rather than waiting on Nagle's
        // algorithm.
        let _ = stream.set_nodelay(true);
        let service = PerConnection {
            app: app.clone(),
            remote,
            body_timeout: timeouts.body,
        };
        let io = TokioIo::new(Stalls::new(stream, timeouts.write));
        let connection = builder.serve_connection(io, service);
        let (mut stopping, open) = (stopping.clone(), open.clone());
        tokio::spawn(async move {
            tokio::pin!(connection);
            let stop = async move {
                // An error means the server is gone, which also means stop.
                let _ = stopping.wait_for(|stop| *stop).await;
            };
            tokio::select! {
                ended = connection.as_mut() => {
                    // Timeouts and clients that leave mid-request; not worth a line by default.
                    if let Err(error) = ended {
                        tracing::debug!(%error, %remote, "connection ended early");
                    }
                }
                () = stop => {
                    // Finishes the exchange in progress, then closes.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(open);
    let _ = all_closed.recv().await;
}

/// Out of file descriptors and the like: wait a moment rather than spin on `accept`.
/// A connection reset before it was accepted is the client's business.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One connection's service: adds the client's address (the rate limit's identity) and the
/// body's deadline to each request.
#[derive(Clone)]
struct PerConnection<S> {
    app: S,
    remote: SocketAddr,
    body_timeout: Option<Duration>,
}

impl<S> hyper::service::Service<hyper::Request<hyper::body::Incoming>> for PerConnection<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = tower::util::Oneshot<S, Request>;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        let body_timeout = self.body_timeout;
        let mut request = request.map(|body| match body_timeout {
            Some(timeout) => Body::new(Deadline {
                body,
                deadline: Instant::now() + timeout,
                timer: None,
            }),
            None => Body::new(body),
        });
        request.extensions_mut().insert(ConnectInfo(self.remote));
        self.app.clone().oneshot(request)
    }
}

/// A request body that must have arrived by `deadline`.
struct Deadline {
    body: hyper::body::Incoming,
    deadline: Instant,
    timer: Option<Pin<Box<Sleep>>>,
}

/// The error a late request body ends with; `inspect::body_error` answers it with 408.
#[derive(Debug)]
pub(crate) struct BodyTimedOut;

impl fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl StdError for BodyTimedOut {}

/// Whether reading a body failed because it was late.
pub(crate) fn timed_out(error: &(dyn StdError + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<BodyTimedOut>() {
            return true;
        }
        cause = error.source();
    }
    false
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A client socket whose writes fail once they have made no progress for `timeout`.
struct Stalls {
    stream: TcpStream,
    timeout: Option<Duration>,
    /// Running while a write waits; made at the first wait, reset at the next ones.
    timer: Option<Pin<Box<Sleep>>>,
    waiting: bool,
}

impl Stalls {
    fn new(stream: TcpStream, timeout: Option<Duration>) -> Stalls {
        Stalls {
            stream,
            timeout,
            timer: None,
            waiting: false,
        }
    }

    /// After a write that made progress: `result` as it is. After one that has to wait: waits,
    /// unless the client has not read anything for `timeout`.
    fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if result.is_ready() {
            self.waiting = false;
            return result;
        }
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        if !self.waiting {
            self.waiting = true;
            let deadline = Instant::now() + timeout;
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let timer = self.timer.as_mut().expect("set while waiting");
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client stopped reading the answer",
        )))
    }
}

impl AsyncRead for Stalls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stalls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.check(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.check(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.stream).poll_flush(cx);
        this.check(cx, result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
