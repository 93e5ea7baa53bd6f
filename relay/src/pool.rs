//! Connections to the upstream, kept open between requests and reused newest first.
//!
//! hyper's own HTTP/1 connections, pooled here rather than by hyper-util's `legacy::Client`
//! (which reqwest wraps): that client hashes the pool key with SipHash byte by byte three times
//! per request, boxes a 2.6 kB future, and spawns a task per response just to notice when the
//! connection is free again. Here a connection goes back to the pool when its response body
//! ends, in the task that read it.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Request, Response, Uri};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use tower::ServiceExt as _;

use crate::workers;

pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

type Sender = SendRequest<Full<Bytes>>;

/// Idle connections are closed after this long, as reqwest and hyper-util do.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

pub(crate) struct Pool {
    connector: HttpsConnector<HttpConnector>,
    /// One list per worker thread (workers.rs), newest at the back: a connection's task runs
    /// on the thread that opened it, so a request on another thread would cost a wake-up
    /// across threads each way.
    idle: Box<[Mutex<VecDeque<Idle>>]>,
    reaping: AtomicBool,
}

struct Idle {
    sender: Sender,
    since: Instant,
}

impl Pool {
    pub fn new(connector: HttpsConnector<HttpConnector>) -> Arc<Pool> {
        Arc::new(Pool {
            connector,
            idle: (0..workers::default_count())
                .map(|_| Mutex::default())
                .collect(),
            reaping: AtomicBool::new(false),
        })
    }

    /// Sends `request` (its URI in origin form, its `Host` header set) to `target` on an idle
    /// connection, or a new one. A request that an idle connection could not take because the
    /// upstream had just closed it was never sent, and goes on the next connection.
    pub async fn send(
        self: &Arc<Pool>,
        target: &Uri,
        mut request: Request<Full<Bytes>>,
    ) -> Result<Response<PooledBody>, Error> {
        loop {
            let (mut sender, reused) = match self.take() {
                Some(sender) => (sender, true),
                // Boxed: connecting is rare, and its state would otherwise make every request's
                // future (moved whole, more than once) bigger.
                None => (Box::pin(self.connect(target)).await?, false),
            };
            // A connection whose last body just ended may still be finishing that exchange.
            if let Err(error) = sender.ready().await {
                if reused {
                    continue;
                }
                return Err(error.into());
            }
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let pool = Arc::clone(self);
                    return Ok(response.map(|body| PooledBody {
                        body,
                        connection: Some((sender, pool)),
                        ended: false,
                    }));
                }
                Err(mut error) => match error.take_message() {
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(error.into_error().into()),
                },
            }
        }
    }

    /// This thread's idle connections.
    fn idle(&self) -> std::sync::MutexGuard<'_, VecDeque<Idle>> {
        self.idle[workers::current() % self.idle.len()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self) -> Option<Sender> {
        let mut idle = self.idle();
        while let Some(Idle { sender, since }) = idle.pop_back() {
            if !sender.is_closed() && since.elapsed() < IDLE_TIMEOUT {
                return Some(sender);
            }
        }
        None
    }

    fn put(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let idle = Idle {
            sender,
            since: Instant::now(),
        };
        self.idle().push_back(idle);
    }

    async fn connect(self: &Arc<Pool>, target: &Uri) -> Result<Sender, Error> {
        let io = self.connector.clone().oneshot(target.clone()).await?;
        let (sender, connection) = http1::handshake(io).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "upstream connection ended");
            }
        });
        self.reap_idle_connections();
        Ok(sender)
    }

    /// From the first connection on, closes the ones idle too long, so an upstream that is no
    /// longer called does not keep sockets open. Stops once the relay is gone.
    fn reap_idle_connections(self: &Arc<Pool>) {
        if self.reaping.swap(true, Ordering::Relaxed) {
            return;
        }
        let pool: Weak<Pool> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(IDLE_TIMEOUT / 3);
            loop {
                ticks.tick().await;
                let Some(pool) = pool.upgrade() else { break };
                for list in &pool.idle {
                    list.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .retain(|idle| {
                            !idle.sender.is_closed() && idle.since.elapsed() < IDLE_TIMEOUT
                        });
                }
            }
        });
    }
}

/// A response body that gives its connection back to the pool once it has been read to the
/// end. A body dropped before its end takes the connection with it: hyper closes it, since the
/// rest of that response would still be on the wire.
pub(crate) struct PooledBody {
    body: Incoming,
    connection: Option<(Sender, Arc<Pool>)>,
    ended: bool,
}

impl PooledBody {
    fn release(&mut self) {
        if let Some((sender, pool)) = self.connection.take() {
            pool.put(sender);
        }
    }
}

impl http_body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            this.ended = true;
            this.release();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // A body with nothing left (such as a `Content-Length: 0` answer) may never be polled.
        if self.is_end_stream() {
            self.release();
        }
    }
}
