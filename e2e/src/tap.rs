//! A recording TCP proxy: the browser talks to the tap's port, the tap forwards every byte
//! to the real server and keeps a copy of what the browser sent (request heads and bodies),
//! connection by connection. Put in front of a server, it shows everything that server was
//! told, whatever the server itself logs. Byte level, so keep-alive, preflights and
//! multipart uploads are all recorded as sent.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What one connection's client sent, growing while it is open.
type Record = Arc<Mutex<Vec<u8>>>;

pub struct Tap {
    addr: SocketAddr,
    sent: Arc<Mutex<Vec<Record>>>,
}

impl Tap {
    /// A free loopback port, taken now so the tap's origin can be named (in an allowlist, a
    /// setting) before the server behind it exists.
    pub fn bind() -> TcpListener {
        TcpListener::bind("127.0.0.1:0").expect("a free loopback port for a tap")
    }

    /// Forwards every connection made to `listener` to `upstream`, recording what the client
    /// sends. Runs on threads until the test process ends.
    pub fn start(listener: TcpListener, upstream: SocketAddr) -> Tap {
        let addr = listener.local_addr().expect("tap address");
        let sent: Arc<Mutex<Vec<Record>>> = Arc::default();
        let connections = Arc::clone(&sent);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let record = Record::default();
                connections
                    .lock()
                    .expect("tap connections")
                    .push(Arc::clone(&record));
                std::thread::spawn(move || relay(client, upstream, &record));
            }
        });
        Tap { addr, sent }
    }

    /// `http://127.0.0.1:<port>`: the origin the browser uses for the server behind it.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything clients sent so far, one entry per connection, in the order they connected.
    pub fn sent(&self) -> Vec<Vec<u8>> {
        self.sent
            .lock()
            .expect("tap connections")
            .iter()
            .map(|record| record.lock().expect("tap record").clone())
            .collect()
    }
}

/// Copies both ways until either side closes; the client's bytes are appended to `record`.
fn relay(client: TcpStream, upstream: SocketAddr, record: &Mutex<Vec<u8>>) {
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(mut client_reader), Ok(mut server_writer)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    let mut server_reader = server;
    let mut client_writer = client;
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut server_reader, &mut client_writer);
        let _ = client_writer.shutdown(Shutdown::Both);
    });
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match client_reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                record
                    .lock()
                    .expect("tap record")
                    .extend_from_slice(&buffer[..n]);
                if server_writer.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = server_writer.shutdown(Shutdown::Write);
    let _ = back.join();
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::Tap;

    #[test]
    fn forwards_both_ways_and_records_what_the_client_sent() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = server.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut conn, _) = server.accept().unwrap();
            let mut request = [0u8; 5];
            conn.read_exact(&mut request).unwrap();
            conn.write_all(b"pong:").unwrap();
            conn.write_all(&request).unwrap();
        });
        let tap = Tap::start(Tap::bind(), upstream);
        let mut client = TcpStream::connect(tap.origin().trim_start_matches("http://")).unwrap();
        client.write_all(b"hello").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "pong:hello");
        assert_eq!(tap.sent(), vec![b"hello".to_vec()]);
    }
}
