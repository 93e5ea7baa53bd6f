//! A tiny blocking HTTP/1.1 client for local control endpoints (chromedriver, relay health).
//! It runs where async is unavailable (Drop) and keeps hyper out of the harness's own code.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response: status code and body text.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Sends one request to `addr` and reads the whole response. `None` on any I/O failure
/// (nothing listening yet, connection reset), which callers treat as "not ready".
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Option<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;

    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).ok()?;
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;

    let mut content_length = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }

    let mut bytes = Vec::new();
    if chunked {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line).ok()?;
            let size_hex = size_line.trim().split(';').next()?;
            let size = usize::from_str_radix(size_hex, 16).ok()?;
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2]; // data + CRLF
            reader.read_exact(&mut chunk).ok()?;
            bytes.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = content_length {
        bytes.resize(length, 0);
        reader.read_exact(&mut bytes).ok()?;
    } else {
        reader.read_to_end(&mut bytes).ok()?;
    }
    Some(Response {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// `GET path` with a short timeout.
pub fn get(addr: SocketAddr, path: &str) -> Option<Response> {
    request(addr, "GET", path, None, Duration::from_secs(5))
}
