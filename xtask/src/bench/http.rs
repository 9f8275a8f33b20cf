//! A minimal HTTP/1.1 client over std's `TcpStream`: enough for the benchmark's set-up calls
//! and for timing the first byte of a response body. It knows nothing of Botwire's crates (the
//! xtask must build when the server does not).

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// From the first byte of the request written to the first byte of the body received
    /// (`None` for an empty body).
    pub first_body_byte: Option<Duration>,
}

/// One keep-alive connection; requests are sent one at a time.
pub struct Connection {
    stream: TcpStream,
}

impl Connection {
    pub fn open(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Connection { stream })
    }

    /// Sends a whole request (see [`request`]) and reads its whole response.
    pub fn send(&mut self, request: &[u8]) -> Result<Response> {
        let started = Instant::now();
        self.stream.write_all(request)?;
        let mut buf = Vec::with_capacity(8192);
        let mut first_body_byte = None;
        let header_end = loop {
            self.read_more(&mut buf)?;
            if let Some(at) = find(&buf, b"\r\n\r\n") {
                if buf.len() > at + 4 {
                    first_body_byte = Some(started.elapsed());
                }
                break at + 4;
            }
        };
        let head = std::str::from_utf8(&buf[..header_end]).context("response head")?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("no status line in {head:?}"))?;
        let mut content_length = None;
        let mut chunked = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = Some(value.parse::<usize>().context("content-length")?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        let mut body = buf.split_off(header_end);
        let note_first = |body: &Vec<u8>, first: &mut Option<Duration>| {
            if first.is_none() && !body.is_empty() {
                *first = Some(started.elapsed());
            }
        };
        if chunked {
            let mut decoded = Vec::new();
            loop {
                let Some(line_end) = find(&body, b"\r\n") else {
                    self.read_more(&mut body)?;
                    note_first(&body, &mut first_body_byte);
                    continue;
                };
                let size = std::str::from_utf8(&body[..line_end])
                    .ok()
                    .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
                    .context("a chunk size")?;
                if body.len() < line_end + 2 + size + 2 {
                    self.read_more(&mut body)?;
                    continue;
                }
                decoded.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
                body.drain(..line_end + 2 + size + 2);
                if size == 0 {
                    break;
                }
            }
            body = decoded;
        } else if let Some(length) = content_length {
            while body.len() < length {
                self.read_more(&mut body)?;
                note_first(&body, &mut first_body_byte);
            }
            body.truncate(length);
        } else {
            // Neither: the body runs to the end of the connection.
            loop {
                let before = body.len();
                if self.read_more(&mut body).is_err() || body.len() == before {
                    break;
                }
                note_first(&body, &mut first_body_byte);
            }
        }
        if body.is_empty() {
            first_body_byte = None;
        }
        Ok(Response {
            status,
            body,
            first_body_byte,
        })
    }

    fn read_more(&mut self, buf: &mut Vec<u8>) -> Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            bail!("the server closed the connection mid-response");
        }
        buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An HTTP/1.1 request's bytes (keep-alive; `Content-Length` when there is a body).
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// One call of the API on a fresh connection; a 2xx answer's JSON body, or an error naming
/// the status and body.
pub fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Value> {
    let response = Connection::open(addr)?.send(&request(method, path, headers, body))?;
    if !(200..300).contains(&response.status) {
        bail!(
            "{method} {path}: {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    }
    if response.body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&response.body).with_context(|| format!("{method} {path}: JSON body"))
}

/// A `multipart/form-data` body with one file part and text parts; returns (content type, body).
pub fn multipart(
    file_name: &str,
    file_type: &str,
    file: &[u8],
    fields: &[(&str, &str)],
) -> (String, Vec<u8>) {
    let boundary = "botwire-bench-boundary-7d1f0c2a";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{file_name}\"\r\nContent-Type: {file_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
