//! A TCP proxy between the server and PostgreSQL that a test can cut, so a
//! database outage is simulated without touching the real PostgreSQL (other
//! tests use it).
//!
//! - [`Cut::Refuse`]: every connection is closed and the port stops
//!   listening (new connections are refused), as when the database host is
//!   up but PostgreSQL is down.
//! - [`Cut::Blackhole`]: every connection is closed; new ones are accepted
//!   and never answered, as with a firewall that drops packets.
//! - [`Cut::Stall`]: open connections stay open but nothing passes any more
//!   (a query sent now is never answered, and PostgreSQL never sees it to
//!   time it out); new ones are accepted and never answered. A network
//!   partition.
//!
//! [`Proxy::restore`] closes whatever the cut left hanging and forwards
//! again.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Refuse,
    Blackhole,
    Stall,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    Down(Cut),
}

struct Shared {
    mode: Mutex<Mode>,
    /// Both ends of every forwarded connection, to close them on a cut.
    open: Mutex<Vec<TcpStream>>,
    /// Connections accepted during a cut, held unanswered.
    held: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
}

impl Shared {
    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap()
    }

    fn close_all(&self) {
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        for s in self.held.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Up),
            open: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let acceptor = std::thread::spawn(move || accept_loop(Some(listener), addr, upstream, s));
        Proxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    pub fn cut(&self, cut: Cut) {
        *self.shared.mode.lock().unwrap() = Mode::Down(cut);
        if cut != Cut::Stall {
            self.shared.close_all();
        }
    }

    pub fn restore(&self) {
        // Closed before forwarding resumes: a stalled connection must not
        // come back to life with a half-sent query in it.
        self.shared.close_all();
        *self.shared.mode.lock().unwrap() = Mode::Up;
        self.shared.close_all();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.close_all();
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(
    mut listener: Option<TcpListener>,
    addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
) {
    if let Some(l) = &listener {
        l.set_nonblocking(true).expect("nonblocking");
    }
    while !shared.stop.load(Ordering::Relaxed) {
        let mode = shared.mode();
        if mode == Mode::Down(Cut::Refuse) {
            listener = None;
        } else if listener.is_none() {
            // std sets SO_REUSEADDR, so the port can be taken again at once.
            match TcpListener::bind(addr) {
                Ok(l) => {
                    l.set_nonblocking(true).expect("nonblocking");
                    listener = Some(l);
                }
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            }
        }
        let Some(l) = &listener else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        match l.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                if mode == Mode::Up {
                    forward(client, upstream, &shared);
                } else {
                    shared.held.lock().unwrap().push(client);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn forward(client: TcpStream, upstream: SocketAddr, shared: &Arc<Shared>) {
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    {
        let mut open = shared.open.lock().unwrap();
        for s in [&client, &server] {
            if let Ok(clone) = s.try_clone() {
                open.push(clone);
            }
        }
    }
    for (from, to) in [(&client, &server), (&server, &client)] {
        let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
            continue;
        };
        let shared = shared.clone();
        std::thread::spawn(move || pump(from, to, shared));
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, shared: Arc<Shared>) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = [0u8; 16 * 1024];
    while !shared.stop.load(Ordering::Relaxed) {
        if shared.mode() == Mode::Down(Cut::Stall) {
            // Nothing passes, and nothing is closed.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
