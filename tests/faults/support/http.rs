//! A minimal blocking HTTP/1.1 client over one `TcpStream` per connection.
//!
//! Written here instead of using a client library because these tests are
//! about connections: each `Conn` is exactly one TCP connection, reused for
//! keep-alive, never silently re-dialled, and a request is never retried, so
//! a reset or an empty reply shows up as an error instead of being papered
//! over. Responses are parsed with `httparse` (already built for actix-http).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How a request failed to get a response.
#[derive(Debug)]
pub enum HttpError {
    /// Connecting failed (refused, unreachable).
    Connect(io::Error),
    /// The connection broke while sending or receiving (reset, broken pipe).
    Io(io::Error),
    /// The server closed the connection before a complete response.
    Closed { received: usize },
    /// No complete response within the client timeout.
    Timeout,
    /// Bytes that are not an HTTP response.
    Malformed(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Connect(e) => write!(f, "connect failed: {e}"),
            HttpError::Io(e) => write!(f, "connection error: {e}"),
            HttpError::Closed { received } => {
                write!(f, "connection closed after {received} bytes of response")
            }
            HttpError::Timeout => write!(f, "no response within the client timeout"),
            HttpError::Malformed(m) => write!(f, "malformed response: {m}"),
        }
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("status {}: body is not JSON ({e}): {}", self.status, self.text()))
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// True for a `503` problem document with `code: unavailable`.
    pub fn is_unavailable_problem(&self) -> bool {
        self.status == 503
            && self.header("content-type") == Some("application/problem+json")
            && serde_json::from_slice::<Value>(&self.body)
                .is_ok_and(|v| v["code"] == "unavailable" && v["status"] == 503)
    }

    fn keeps_alive(&self) -> bool {
        !self
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// One TCP connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    timeout: Duration,
    open: bool,
}

impl Conn {
    pub fn open(addr: SocketAddr, timeout: Duration) -> Result<Conn, HttpError> {
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(HttpError::Connect)?;
        stream.set_nodelay(true).map_err(HttpError::Io)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
            timeout,
            open: true,
        })
    }

    /// Sends a request and reads its response.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Reply, HttpError> {
        self.send_paced(method, path, headers, body, 1, Duration::ZERO)
    }

    /// Like [`Conn::send`], but the body goes out in `pieces` parts with a
    /// `pause` before each: a slow client whose request is in flight for
    /// about `pieces * pause`.
    pub fn send_paced(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        pieces: usize,
        pause: Duration,
    ) -> Result<Reply, HttpError> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        self.stream.write_all(head.as_bytes()).map_err(HttpError::Io)?;
        let size = body.len().div_ceil(pieces.max(1)).max(1);
        for piece in body.chunks(size) {
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
            self.stream.write_all(piece).map_err(HttpError::Io)?;
        }
        let reply = self.read_reply()?;
        self.open = reply.keeps_alive();
        Ok(reply)
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    fn fill(&mut self, deadline: Instant) -> Result<(), HttpError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HttpError::Timeout);
        }
        self.stream.set_read_timeout(Some(left)).map_err(HttpError::Io)?;
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.open = false;
                Err(HttpError::Closed {
                    received: self.buf.len(),
                })
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Err(HttpError::Timeout)
            }
            Err(e) => {
                self.open = false;
                Err(HttpError::Io(e))
            }
        }
    }

    fn read_reply(&mut self) -> Result<Reply, HttpError> {
        let deadline = Instant::now() + self.timeout;
        let (head_len, status, headers) = loop {
            let mut slots = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut slots);
            match parsed.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let headers = parsed
                        .headers
                        .iter()
                        .map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned()))
                        .collect::<Vec<_>>();
                    break (n, parsed.code.unwrap_or(0), headers);
                }
                Ok(httparse::Status::Partial) => self.fill(deadline)?,
                Err(e) => return Err(HttpError::Malformed(e.to_string())),
            }
        };
        let find = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let body = if status == 204 || status == 304 {
            self.buf.drain(..head_len);
            Vec::new()
        } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            self.buf.drain(..head_len);
            self.read_chunked(deadline)?
        } else {
            let length: usize = find("content-length")
                .ok_or_else(|| HttpError::Malformed("no content-length".into()))?
                .trim()
                .parse()
                .map_err(|_| HttpError::Malformed("bad content-length".into()))?;
            while self.buf.len() < head_len + length {
                self.fill(deadline)?;
            }
            let body = self.buf[head_len..head_len + length].to_vec();
            self.buf.drain(..head_len + length);
            body
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn read_chunked(&mut self, deadline: Instant) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                self.fill(deadline)?;
            };
            let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| HttpError::Malformed(format!("bad chunk size {size_text:?}")))?;
            while self.buf.len() < line_end + 2 + size + 2 {
                self.fill(deadline)?;
            }
            body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
            self.buf.drain(..line_end + 2 + size + 2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

/// A client on one keep-alive connection at a time: it dials when it has
/// none (or the server closed the last one), and never retries a request.
pub struct Client {
    addr: SocketAddr,
    conn: Option<Conn>,
    timeout: Duration,
    pub token: Option<String>,
}

impl Client {
    pub fn new(addr: SocketAddr, timeout: Duration) -> Client {
        Client {
            addr,
            conn: None,
            timeout,
            token: None,
        }
    }

    pub fn with_token(mut self, token: &str) -> Client {
        self.token = Some(token.to_string());
        self
    }

    pub fn get(&mut self, path: &str) -> Result<Reply, HttpError> {
        self.request("GET", path, None)
    }

    pub fn post(&mut self, path: &str, body: &Value) -> Result<Reply, HttpError> {
        self.request("POST", path, Some(body))
    }

    pub fn request(&mut self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply, HttpError> {
        let mut conn = match self.conn.take() {
            Some(conn) if conn.is_open() => conn,
            _ => Conn::open(self.addr, self.timeout)?,
        };
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = vec![];
        if let Some(b) = &bearer {
            headers.push(("authorization", b.as_str()));
        }
        let bytes = match body {
            Some(v) => {
                headers.push(("content-type", "application/json"));
                serde_json::to_vec(v).expect("json")
            }
            None => Vec::new(),
        };
        let reply = conn.send(method, path, &headers, &bytes)?;
        if conn.is_open() {
            self.conn = Some(conn);
        }
        Ok(reply)
    }

    /// Closes the connection (the server sees the client leave).
    pub fn close(&mut self) {
        self.conn = None;
    }
}
