//! A TCP forwarder in front of a real server, for outage tests: [`TcpProxy::cut`] makes the server
//! unreachable (open connections reset, new ones refused) without touching the server or its data,
//! and [`TcpProxy::restore`] brings it back on the same address, as a network partition would.
//!
//! It injects faults only; every byte that passes comes from the real component behind it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A forwarder from `127.0.0.1:<port>` to an upstream address; stops forwarding on drop.
pub struct TcpProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    upstream: SocketAddr,
    down: AtomicBool,
    stopped: AtomicBool,
    connections: AtomicU64,
    open: Mutex<Vec<TcpStream>>,
}

impl TcpProxy {
    /// Forwards a new port on 127.0.0.1 to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> TcpProxy {
        let upstream: SocketAddr = upstream
            .parse()
            .unwrap_or_else(|e| panic!("testkit: proxy upstream {upstream:?}: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("testkit: proxy bind");
        let address = listener.local_addr().expect("testkit: proxy address");
        let shared = Arc::new(Shared {
            upstream,
            down: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            open: Mutex::new(Vec::new()),
        });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || accept_loop(&listener, &accepting));
        TcpProxy { address, shared }
    }

    /// `127.0.0.1:<port>`, to use in place of the upstream's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Every open connection is reset and new ones are closed at once, until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.shared.down.store(true, Ordering::SeqCst);
        for stream in self.shared.open.lock().expect("proxy lock").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }

    /// Connections accepted so far (forwarded or refused), to see that a client really came by.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so it sees `stopped`.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_millis(200));
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        if shared.down.load(Ordering::SeqCst) {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(5))
        else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (Ok(client_copy), Ok(server_copy)) = (client.try_clone(), server.try_clone()) else {
            continue;
        };
        {
            let mut open = shared.open.lock().expect("proxy lock");
            // Closed connections pile up otherwise; a cut shuts down what is left.
            open.retain(|s| s.peer_addr().is_ok());
            open.extend(client.try_clone().ok());
            open.extend(server.try_clone().ok());
        }
        std::thread::spawn(move || pipe(client, server_copy));
        std::thread::spawn(move || pipe(server, client_copy));
    }
}

/// Copies `from` into `to` until either side closes, then closes both directions.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let mut buffer = [0u8; 1024];
                    while let Ok(n) = stream.read(&mut buffer) {
                        if n == 0 || stream.write_all(&buffer[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        address
    }

    fn round_trip(address: SocketAddr) -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(address)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"ping")?;
        let mut answer = [0u8; 4];
        stream.read_exact(&mut answer)?;
        Ok(answer.to_vec())
    }

    #[test]
    fn forwards_cuts_and_restores() {
        let proxy = TcpProxy::start(&echo_server().to_string());
        assert_eq!(round_trip(proxy.address()).unwrap(), b"ping");

        let mut open = TcpStream::connect(proxy.address()).unwrap();
        open.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        open.write_all(b"x").unwrap();
        let mut one = [0u8; 1];
        open.read_exact(&mut one).unwrap();
        proxy.cut();
        assert!(round_trip(proxy.address()).is_err(), "a cut proxy answered");
        let _ = open.write_all(b"y");
        assert!(
            matches!(open.read(&mut one), Ok(0) | Err(_)),
            "an open connection survived the cut"
        );

        proxy.restore();
        assert_eq!(round_trip(proxy.address()).unwrap(), b"ping");
        assert!(proxy.connections() >= 4);
    }
}
