//! Connections to the upstream, and the relay's own small HTTP/1.1 client on them: connections
//! are kept open between requests and reused newest first.
//!
//! Not hyper's client connection: that runs each connection as a task of its own and hands
//! every request to it through a channel, its answer back through another and the body through a
//! third, so each exchange wakes two tasks several times (callgrind: some 15k instructions of the
//! relay's 54k a request). Here the request's own task writes the request and reads the answer
//! (httparse, as hyper does), and the connection goes back to the pool when its answer's body
//! ends, in the task that read it. The connector (TCP, TLS through rustls) is still
//! hyper-rustls'.

use std::collections::VecDeque;
use std::future::Future as _;
use std::io;
use std::mem::MaybeUninit;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker, ready};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Uri};
use bytes::BytesMut;
use http_body::{Frame, SizeHint};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tower::ServiceExt as _;

use crate::workers;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

type Stream = TokioIo<MaybeHttpsStream<TokioIo<TcpStream>>>;

/// Idle connections are closed after this long, as reqwest and hyper-util do.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// The most an answer's head may take (hyper's default buffer limit is about 400 kB).
const MAX_HEAD: usize = 64 * 1024;
/// Header lines in an answer's head, at most (hyper allows 100).
const MAX_HEADERS: usize = 100;
/// Bodies up to this size go out in the same write as the head.
const COPY_BODY: usize = 16 * 1024;
/// How much is read at a time: small at first, growing while reads fill it (a large image).
const FIRST_READ: usize = 8 * 1024;
const MAX_READ: usize = 256 * 1024;

pub(crate) struct Pool {
    connector: HttpsConnector<HttpConnector>,
    /// One list per worker thread (workers.rs), newest at the back: a connection is registered
    /// with the runtime of the thread that opened it.
    idle: Box<[Mutex<VecDeque<Box<Connection>>>]>,
    reaping: AtomicBool,
}

/// An open connection, with what was read from it and not yet used. Always boxed: with TLS
/// state inside it is over a kilobyte, which would otherwise be copied at every move.
struct Connection {
    io: Stream,
    /// What was read and not yet used.
    buffer: BytesMut,
    /// The request head being written (kept, so it is not allocated per request).
    out: Vec<u8>,
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

    /// Sends a request to `target` on an idle connection, or a new one, and reads the answer's
    /// head. `head` is the request line and fixed headers (`request_head`), `own` the
    /// request's own headers; a body gets its `content-length`. Only the answer's headers named
    /// in `keep` are kept, the first value of each, in a map with room for more. A request that
    /// an idle connection could not take because the upstream had closed it goes on the next
    /// connection.
    pub async fn send(
        self: &Arc<Pool>,
        target: &Uri,
        head: &[u8],
        own: &[(HeaderName, HeaderValue)],
        body: Option<&Bytes>,
        keep: &[HeaderName],
    ) -> Result<Response<PooledBody>, Error> {
        loop {
            let (mut connection, reused) = match self.take() {
                Some(connection) => (connection, true),
                // Boxed: connecting is rare, and its state would otherwise make every request's
                // future (moved whole, more than once) bigger.
                None => (Box::pin(self.connect(target)).await?, false),
            };
            match connection.write(head, own, body).await {
                Ok(()) => {}
                // Closed by the upstream while idle: nothing was taken in.
                Err(_) if reused => continue,
                Err(error) => return Err(error.into()),
            }
            let head = connection.read_head(keep).await?;
            return Ok(head.into_response(connection, Arc::clone(self)));
        }
    }

    /// This thread's idle connections.
    fn idle(&self) -> std::sync::MutexGuard<'_, VecDeque<Box<Connection>>> {
        self.idle[workers::current() % self.idle.len()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self) -> Option<Box<Connection>> {
        let mut idle = self.idle();
        while let Some(mut connection) = idle.pop_back() {
            if connection.since.elapsed() < IDLE_TIMEOUT && connection.is_open() {
                return Some(connection);
            }
        }
        None
    }

    fn put(&self, mut connection: Box<Connection>) {
        connection.since = Instant::now();
        self.idle().push_back(connection);
    }

    async fn connect(self: &Arc<Pool>, target: &Uri) -> Result<Box<Connection>, Error> {
        let io = self.connector.clone().oneshot(target.clone()).await?;
        self.reap_idle_connections();
        Ok(Box::new(Connection {
            io: TokioIo::new(io),
            buffer: BytesMut::new(),
            out: Vec::new(),
            since: Instant::now(),
        }))
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
                        .retain_mut(|c| c.since.elapsed() < IDLE_TIMEOUT && c.is_open());
                }
            }
        });
    }
}

impl Connection {
    fn tcp(&self) -> &TcpStream {
        match self.io.inner() {
            MaybeHttpsStream::Http(tcp) => tcp.inner(),
            MaybeHttpsStream::Https(tls) => tls.inner().get_ref().0.inner().inner(),
        }
    }

    /// Whether an idle connection can still take a request: nothing has come in on it since
    /// its last answer (the runtime's readiness, no system call), or what came in was TLS's
    /// own (a session ticket). An end of stream, an error or stray bytes close it.
    fn is_open(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        if self.tcp().poll_read_ready(&mut cx).is_pending() {
            return true;
        }
        let read = pin!(self.io.read_buf(&mut self.buffer));
        matches!(read.poll(&mut cx), Poll::Pending) && self.buffer.is_empty()
    }

    /// The request, head and body, in one write unless the body is large.
    async fn write(
        &mut self,
        head: &[u8],
        own: &[(HeaderName, HeaderValue)],
        body: Option<&Bytes>,
    ) -> io::Result<()> {
        let length = body.map_or(0, Bytes::len);
        let out = &mut self.out;
        out.clear();
        out.reserve(head.len() + 128 + length.min(COPY_BODY));
        out.extend_from_slice(head);
        for (name, value) in own {
            write_header(out, name, value);
        }
        if body.is_some() {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa(length, &mut [0; 20]));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        let rest = match body {
            Some(body) if body.len() > COPY_BODY => Some(body),
            Some(body) => {
                out.extend_from_slice(body);
                None
            }
            None => None,
        };
        write_all(&mut self.io, &self.out, rest).await
    }

    /// Reads until the answer's head is complete, skipping interim (1xx) answers.
    async fn read_head(&mut self, keep: &[HeaderName]) -> Result<Head, Error> {
        loop {
            if !self.buffer.is_empty()
                && let Some(head) = Head::parse(&mut self.buffer, keep)?
            {
                if head.status.is_informational() {
                    if head.status == StatusCode::SWITCHING_PROTOCOLS {
                        return Err("the upstream switched protocols".into());
                    }
                    continue;
                }
                return Ok(head);
            }
            if self.buffer.len() >= MAX_HEAD {
                return Err("the upstream's answer head is too large".into());
            }
            self.buffer.reserve(FIRST_READ);
            if self.io.read_buf(&mut self.buffer).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the upstream closed the connection before answering",
                )
                .into());
            }
        }
    }
}

async fn write_all(io: &mut Stream, head: &[u8], body: Option<&Bytes>) -> io::Result<()> {
    io.write_all(head).await?;
    if let Some(body) = body {
        io.write_all(body).await?;
    }
    io.flush().await
}

/// A request line and headers, written once for every request that starts with them (without
/// the blank line that ends a head).
pub(crate) fn request_head(method: &Method, target: &str, headers: &HeaderMap) -> Vec<u8> {
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(method.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        write_header(&mut head, name, value);
    }
    head
}

fn write_header(out: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue) {
    out.extend_from_slice(name.as_str().as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `n` in decimal, without `fmt`.
fn itoa(mut n: usize, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &digits[at..];
        }
    }
}

/// An answer's status line and headers, and how its body is framed.
pub struct Head {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub framing: Framing,
    pub keep_alive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// This many bytes left.
    Length(u64),
    Chunked(Chunked),
    /// Until the upstream closes the connection.
    UntilClose,
}

impl Head {
    /// Takes a complete head off the front of `buffer`; `None` while it is incomplete. Of the
    /// headers, only the first value of those named in `keep` is kept.
    pub fn parse(buffer: &mut BytesMut, keep: &[HeaderName]) -> Result<Option<Head>, Error> {
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            buffer,
            &mut slots,
        );
        let length = match parsed? {
            httparse::Status::Complete(length) => length,
            httparse::Status::Partial => return Ok(None),
        };
        let status = StatusCode::from_u16(response.code.unwrap_or_default())?;
        let version_1_1 = response.version == Some(1);
        // Where each name and value is, so the values can share the head's bytes once they are
        // split off the buffer (the head is at most MAX_HEAD, well within u32).
        let start = buffer.as_ptr() as usize;
        let mut found = [(0u32, 0u32, 0u32, 0u32); MAX_HEADERS];
        let count = response.headers.len();
        for (slot, header) in found.iter_mut().zip(response.headers.iter()) {
            let offset = |bytes: &[u8]| (bytes.as_ptr() as usize - start) as u32;
            *slot = (
                offset(header.name.as_bytes()),
                header.name.len() as u32,
                offset(header.value),
                header.value.len() as u32,
            );
        }
        let head = buffer.split_to(length).freeze();
        // Room for what the relay adds (proxy.rs, edge.rs).
        let mut headers = HeaderMap::with_capacity(16);
        let (mut length, mut chunked, mut encoded, mut close, mut keep_alive) =
            (None::<u64>, false, false, false, false);
        for &(name, name_len, value, value_len) in &found[..count] {
            let (name, value) = (name as usize, value as usize);
            let name = HeaderName::from_bytes(&head[name..name + name_len as usize])?;
            let value =
                HeaderValue::from_maybe_shared(head.slice(value..value + value_len as usize))?;
            if name == axum::http::header::CONTENT_LENGTH {
                // A list of equal lengths is one length; anything else is not to be trusted.
                for part in value.to_str()?.split(',') {
                    let part: u64 = part
                        .trim()
                        .parse()
                        .map_err(|_| "the upstream sent an invalid content-length")?;
                    if length.is_some_and(|l| l != part) {
                        return Err("the upstream sent conflicting content-lengths".into());
                    }
                    length = Some(part);
                }
            } else if name == axum::http::header::TRANSFER_ENCODING {
                encoded = true;
                // Chunked only when it is the last coding.
                chunked = value
                    .to_str()?
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            } else if name == axum::http::header::CONNECTION {
                for token in value.to_str().unwrap_or_default().split(',') {
                    close |= token.trim().eq_ignore_ascii_case("close");
                    keep_alive |= token.trim().eq_ignore_ascii_case("keep-alive");
                }
            }
            if keep.contains(&name) {
                headers.entry(name).or_insert(value);
            }
        }
        let bodiless = status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
            || status.is_informational();
        let framing = if bodiless {
            Framing::Length(0)
        } else if encoded {
            if chunked {
                Framing::Chunked(Chunked::Start)
            } else {
                Framing::UntilClose
            }
        } else {
            length.map_or(Framing::UntilClose, Framing::Length)
        };
        let keep_alive = (if version_1_1 { !close } else { keep_alive && !close })
            // A message with both is suspect (RFC 9112 §6.3): not reused.
            && !(encoded && length.is_some())
            && framing != Framing::UntilClose;
        Ok(Some(Head {
            status,
            headers,
            framing,
            keep_alive,
        }))
    }

    fn into_response(self, connection: Box<Connection>, pool: Arc<Pool>) -> Response<PooledBody> {
        let mut body = PooledBody {
            connection: Some((connection, pool)),
            framing: self.framing,
            keep_alive: self.keep_alive,
            ended: false,
            read_size: FIRST_READ,
        };
        if self.framing == Framing::Length(0) {
            body.end();
        }
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// Where a chunked body's decoder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunked {
    /// At a size line, before its first digit.
    Start,
    /// Reading the size line's hex digits; the size so far.
    Size(u64),
    /// After the digits: an extension or whitespace until the line ends.
    SizeLine(u64),
    /// This many data bytes left in the chunk.
    Data(u64),
    /// The CRLF after a chunk's data; `true` once the CR is seen.
    DataEnd(bool),
    /// Trailer lines after the last chunk; `true` at the start of a line.
    Trailers(bool),
}

/// What the chunked decoder found in the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Data bytes at the front of the buffer.
    Data(usize),
    NeedMore,
    End,
}

impl Chunked {
    /// Consumes framing bytes from the front of `buffer` until data, the end, or too little.
    pub fn decode(&mut self, buffer: &mut BytesMut) -> Result<Decoded, Error> {
        let mut used = 0;
        let result = loop {
            if let Chunked::Data(left) = *self {
                if left == 0 {
                    *self = Chunked::DataEnd(false);
                    continue;
                }
                if used < buffer.len() {
                    let n = (buffer.len() - used).min(usize::try_from(left).unwrap_or(usize::MAX));
                    *self = Chunked::Data(left - n as u64);
                    let _ = buffer.split_to(used);
                    return Ok(Decoded::Data(n));
                }
                break Decoded::NeedMore;
            }
            let Some(&byte) = buffer.get(used) else {
                break Decoded::NeedMore;
            };
            used += 1;
            *self = match (*self, byte) {
                (Chunked::Start, _) if byte.is_ascii_hexdigit() => {
                    Chunked::Size(u64::from((byte as char).to_digit(16).unwrap_or_default()))
                }
                (Chunked::Size(size), _) if byte.is_ascii_hexdigit() => {
                    let digit = u64::from((byte as char).to_digit(16).unwrap_or_default());
                    let size = size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(digit))
                        .ok_or("the upstream sent a chunk size that overflows")?;
                    Chunked::Size(size)
                }
                (Chunked::Size(size) | Chunked::SizeLine(size), b'\n') => {
                    if size == 0 {
                        Chunked::Trailers(true)
                    } else {
                        Chunked::Data(size)
                    }
                }
                (Chunked::Size(size) | Chunked::SizeLine(size), b';' | b'\r' | b' ' | b'\t') => {
                    Chunked::SizeLine(size)
                }
                (Chunked::SizeLine(size), _) if byte != b'\n' => Chunked::SizeLine(size),
                (Chunked::DataEnd(false), b'\r') => Chunked::DataEnd(true),
                (Chunked::DataEnd(_), b'\n') => Chunked::Start,
                (Chunked::Trailers(true), b'\n') => {
                    let _ = buffer.split_to(used);
                    return Ok(Decoded::End);
                }
                (Chunked::Trailers(true), b'\r') => Chunked::Trailers(true),
                (Chunked::Trailers(_), b'\n') => Chunked::Trailers(true),
                (Chunked::Trailers(_), _) => Chunked::Trailers(false),
                _ => return Err("the upstream sent an invalid chunked body".into()),
            };
        };
        let _ = buffer.split_to(used);
        Ok(result)
    }
}

/// An answer's body, read from its connection as it is polled, which goes back to the pool once
/// the body has been read to its end. A body dropped before its end takes the connection with
/// it (closed), since the rest of that answer would still be on the wire.
pub(crate) struct PooledBody {
    connection: Option<(Box<Connection>, Arc<Pool>)>,
    framing: Framing,
    keep_alive: bool,
    ended: bool,
    read_size: usize,
}

impl PooledBody {
    fn end(&mut self) {
        self.ended = true;
        if let Some((connection, pool)) = self.connection.take()
            && self.keep_alive
            // Bytes past the answer's end: the upstream is not speaking HTTP/1.1 properly.
            && connection.buffer.is_empty()
        {
            pool.put(connection);
        }
    }

    /// Reads more into the connection's buffer; 0 at the end of the stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some((connection, _)) = &mut self.connection else {
            return Poll::Ready(Ok(0));
        };
        connection.buffer.reserve(self.read_size);
        let room = connection.buffer.capacity() - connection.buffer.len();
        let read = pin!(connection.io.read_buf(&mut connection.buffer));
        let n = ready!(read.poll(cx))?;
        // A read that filled what there was room for: a large body, read in larger pieces.
        if n == room {
            self.read_size = (self.read_size * 2).min(MAX_READ);
        }
        Poll::Ready(Ok(n))
    }

    fn buffer(&mut self) -> &mut BytesMut {
        &mut self
            .connection
            .as_mut()
            .expect("a body not ended has its connection")
            .0
            .buffer
    }
}

fn cut_short() -> Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the upstream closed the connection before the answer's end",
    )
    .into()
}

impl http_body::Body for PooledBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            let data = match this.framing {
                Framing::Length(left) => {
                    let buffer = this.buffer();
                    if buffer.is_empty() {
                        None
                    } else {
                        let n = buffer
                            .len()
                            .min(usize::try_from(left).unwrap_or(usize::MAX));
                        let data = buffer.split_to(n).freeze();
                        this.framing = Framing::Length(left - n as u64);
                        Some(data)
                    }
                }
                Framing::Chunked(mut state) => {
                    let decoded = state.decode(this.buffer());
                    this.framing = Framing::Chunked(state);
                    match decoded {
                        Ok(Decoded::Data(n)) => Some(this.buffer().split_to(n).freeze()),
                        Ok(Decoded::NeedMore) => None,
                        Ok(Decoded::End) => {
                            this.end();
                            return Poll::Ready(None);
                        }
                        Err(error) => {
                            this.connection = None;
                            this.ended = true;
                            return Poll::Ready(Some(Err(error)));
                        }
                    }
                }
                Framing::UntilClose => {
                    let buffer = this.buffer();
                    (!buffer.is_empty()).then(|| buffer.split().freeze())
                }
            };
            if let Some(data) = data {
                if this.framing == Framing::Length(0) {
                    this.end();
                }
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            match ready!(this.poll_fill(cx)) {
                Ok(0) if this.framing == Framing::UntilClose => {
                    this.connection = None;
                    this.ended = true;
                    return Poll::Ready(None);
                }
                Ok(0) => {
                    this.connection = None;
                    this.ended = true;
                    return Poll::Ready(Some(Err(cut_short())));
                }
                Ok(_) => {}
                Err(error) => {
                    this.connection = None;
                    this.ended = true;
                    return Poll::Ready(Some(Err(error.into())));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            _ if self.ended => SizeHint::with_exact(0),
            Framing::Length(left) => SizeHint::with_exact(left),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        let mut buffer = BytesMut::from(text);
        let head = Head::parse(&mut buffer, &[axum::http::header::CONTENT_TYPE])
            .unwrap()
            .unwrap();
        assert!(buffer.is_empty());
        head
    }

    #[test]
    fn heads_say_how_their_body_is_framed_and_whether_the_connection_stays() {
        let ok = head("HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 12\r\n\r\n");
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.headers["content-type"], "a/b");
        assert_eq!(ok.framing, Framing::Length(12));
        assert!(ok.keep_alive);
        let chunked = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(chunked.framing, Framing::Chunked(Chunked::Start));
        assert!(chunked.keep_alive);
        let close = head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n");
        assert!(!close.keep_alive);
        let old = head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
        assert!(!old.keep_alive);
        let old = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n");
        assert!(old.keep_alive);
        let until_close = head("HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(until_close.framing, Framing::UntilClose);
        assert!(!until_close.keep_alive);
        let empty = head("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(empty.framing, Framing::Length(0));
        let same = head("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n");
        assert_eq!(same.framing, Framing::Length(3));
        for bad in [
            "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
        ] {
            assert!(Head::parse(&mut BytesMut::from(bad), &[]).is_err(), "{bad}");
        }
        let mut partial = BytesMut::from("HTTP/1.1 200 OK\r\nContent-");
        assert!(Head::parse(&mut partial, &[]).unwrap().is_none());
    }

    /// Decodes `wire` fed in pieces of `step` bytes; the data and whether it ended.
    fn dechunk(wire: &[u8], step: usize) -> Result<(Vec<u8>, bool, usize), Error> {
        let mut state = Chunked::Start;
        let (mut buffer, mut data) = (BytesMut::new(), Vec::new());
        for piece in wire.chunks(step) {
            buffer.extend_from_slice(piece);
            loop {
                match state.decode(&mut buffer)? {
                    Decoded::Data(n) => data.extend_from_slice(&buffer.split_to(n)),
                    Decoded::NeedMore => break,
                    Decoded::End => return Ok((data, true, buffer.len())),
                }
            }
        }
        Ok((data, false, buffer.len()))
    }

    #[test]
    fn chunked_bodies_decode_however_they_arrive() {
        let wire = b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nx-trailer: 1\r\n\r\n";
        for step in [1, 2, 3, 7, wire.len()] {
            let (data, ended, left) = dechunk(wire, step).unwrap();
            assert_eq!(data, b"hello 0123456789", "step {step}");
            assert!(ended);
            assert_eq!(left, 0);
        }
        let (data, ended, _) = dechunk(b"3\r\nabc\r\n0\r\n\r\n", 1).unwrap();
        assert_eq!((data.as_slice(), ended), (&b"abc"[..], true));
        let (_, ended, _) = dechunk(b"3\r\nabc\r\n", 100).unwrap();
        assert!(!ended);
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"3\r\nabcd\r\n",
            b"ffffffffffffffffff\r\n",
        ] {
            assert!(dechunk(bad, 1).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn numbers_in_decimal() {
        assert_eq!(itoa(0, &mut [0; 20]), b"0");
        assert_eq!(itoa(1024, &mut [0; 20]), b"1024");
        assert_eq!(
            itoa(usize::MAX, &mut [0; 20]),
            usize::MAX.to_string().as_bytes()
        );
    }
}
