//! A real SMTP server for tests: aiosmtpd (PyPI) on a free loopback port, storing every mail
//! it accepts in a Maildir that the test reads.
//!
//! aiosmtpd comes from the venv `cargo xtask ci` prepares (`target/tools/venv`), or from the
//! `python3` on `PATH`. Without it the sink fails, naming the fix: a test that needs mail never
//! skips.

use anyhow::{Context, Result, bail};
use std::ffi::OsString;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long aiosmtpd may take to import and bind.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Attempts to start, in case another process takes the free port between our probe and
/// aiosmtpd's bind.
const START_ATTEMPTS: usize = 3;

pub struct SmtpSink {
    child: Child,
    port: u16,
    /// `maildir/` (aiosmtpd's `Mailbox` handler) and `aiosmtpd.log`; removed on drop.
    dir: tempfile::TempDir,
    /// Mails already returned by a `wait_for_*`, so that each wait returns the next one.
    taken: Mutex<Vec<PathBuf>>,
}

impl SmtpSink {
    /// Starts aiosmtpd and waits until it greets on its port. Blocks for up to a few seconds.
    pub fn start() -> Result<SmtpSink> {
        let python = python_with_aiosmtpd()?;
        let dir = tempfile::tempdir().context("creating the SMTP sink's directory")?;
        let log_path = dir.path().join("aiosmtpd.log");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let log = std::fs::File::create(&log_path).context("creating aiosmtpd.log")?;
            // The Mailbox handler writes each mail as a file into a Maildir (`new/`), adding
            // the envelope as `X-MailFrom` and `X-RcptTo` headers. `-n`: no setuid to nobody.
            let mut child = Command::new(&python)
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(dir.path().join("maildir"))
                .env("PYTHONUNBUFFERED", "1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().context("opening aiosmtpd.log")?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {} -m aiosmtpd", python.to_string_lossy()))?;
            match wait_for_greeting(&mut child, port) {
                Ok(()) => {
                    return Ok(SmtpSink {
                        child,
                        port,
                        dir,
                        taken: Mutex::new(Vec::new()),
                    });
                }
                Err(error) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    if log.contains("address already in use") && attempt < START_ATTEMPTS {
                        continue;
                    }
                    bail!("{error:#}; aiosmtpd's output:\n{}", tail(&log, 20));
                }
            }
        }
    }

    /// The URL for `BOTWIRE_SMTP_URL`: `smtp://` without a `tls` parameter is lettre's
    /// plaintext transport (no STARTTLS, no credentials), which is what this sink speaks.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The maildir the mails are stored in (`new/` holds one file per mail).
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// Every mail delivered so far, oldest first, raw (headers and encoded body).
    pub fn messages(&self) -> Result<Vec<String>> {
        self.delivered()?
            .into_iter()
            .map(|(_, raw)| Ok(raw))
            .collect()
    }

    /// The text body of the next mail to `to` (an envelope recipient), decoded; waits for it
    /// up to `timeout`. Each call returns a mail no earlier call returned, oldest first.
    pub async fn wait_for_message(&self, to: &str, timeout: Duration) -> Result<String> {
        let raw = self.wait_for_raw_message(to, timeout).await?;
        text_body(&raw)
    }

    /// As [`SmtpSink::wait_for_message`], the whole mail as stored (headers and encoded body).
    pub async fn wait_for_raw_message(&self, to: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(raw) = self.take_next(to)? {
                return Ok(raw);
            }
            if Instant::now() >= deadline {
                let recipients: Vec<String> = self
                    .delivered()?
                    .iter()
                    .map(|(_, raw)| header(raw, "X-RcptTo").unwrap_or_default())
                    .collect();
                bail!(
                    "no new mail to {to} reached the SMTP sink within {timeout:?} (it holds {} \
                     mail(s), to {recipients:?})",
                    recipients.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn take_next(&self, to: &str) -> Result<Option<String>> {
        let mut taken = self.taken.lock().expect("the sink's lock");
        for (path, raw) in self.delivered()? {
            if !taken.contains(&path) && is_addressed_to(&raw, to) {
                taken.push(path);
                return Ok(Some(raw));
            }
        }
        Ok(None)
    }

    /// The files of `maildir/new` with their contents, in delivery order. A mail appears there
    /// whole: Maildir writes into `tmp/` and renames.
    fn delivered(&self) -> Result<Vec<(PathBuf, String)>> {
        let new = self.maildir().join("new");
        let entries = match std::fs::read_dir(&new) {
            Ok(entries) => entries,
            // aiosmtpd creates the maildir when it starts; be lenient anyway.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error).with_context(|| format!("reading {}", new.display())),
        };
        let mut paths = Vec::new();
        for entry in entries {
            paths.push(entry.context("listing the maildir")?.path());
        }
        paths.sort_by_key(|path| delivery_order(path));
        paths
            .into_iter()
            .map(|path| {
                let raw =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                Ok((path, String::from_utf8_lossy(&raw).into_owned()))
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Python's Maildir names files `<secs>.M<micros>P<pid>Q<count>.<host>`; `count` rises with
/// each mail of the one aiosmtpd process, so it orders them (the name breaks ties).
fn delivery_order(path: &Path) -> (u64, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let count = name
        .split_once('Q')
        .and_then(|(_, rest)| rest.split('.').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    (count, name)
}

fn is_addressed_to(raw: &str, to: &str) -> bool {
    header(raw, "X-RcptTo").is_some_and(|rcpt| {
        rcpt.split(',')
            .any(|address| address.trim().eq_ignore_ascii_case(to))
    })
}

/// A header's value (the first of that name), unfolded.
pub fn header(raw: &str, name: &str) -> Option<String> {
    let (headers, _) = split_mail(raw);
    let mut value: Option<String> = None;
    for line in headers.lines() {
        if let Some(current) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                current.push(' ');
                current.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((field, rest)) = line.split_once(':')
            && field.trim().eq_ignore_ascii_case(name)
        {
            value = Some(rest.trim().to_string());
        }
    }
    value
}

/// Headers and body of a raw mail (CRLF or LF line ends).
fn split_mail(raw: &str) -> (&str, &str) {
    let crlf = raw.find("\r\n\r\n").map(|at| (at, 4));
    let lf = raw.find("\n\n").map(|at| (at, 2));
    match [crlf, lf].into_iter().flatten().min() {
        Some((at, len)) => (&raw[..at], &raw[at + len..]),
        None => (raw, ""),
    }
}

/// The decoded body of a single-part `text/plain` mail (what the server sends), LF line ends.
/// Handles the transfer encodings lettre uses for text: 7bit, 8bit and quoted-printable.
pub fn text_body(raw: &str) -> Result<String> {
    let content_type = header(raw, "Content-Type").unwrap_or_else(|| "text/plain".into());
    if !content_type.to_ascii_lowercase().starts_with("text/plain") {
        bail!("expected a text/plain mail, got Content-Type: {content_type}");
    }
    let (_, body) = split_mail(raw);
    let encoding = header(raw, "Content-Transfer-Encoding")
        .unwrap_or_else(|| "7bit".into())
        .to_ascii_lowercase();
    let text = match encoding.as_str() {
        "7bit" | "8bit" | "binary" => body.to_string(),
        "quoted-printable" => String::from_utf8(decode_quoted_printable(body))
            .context("the quoted-printable body is not UTF-8")?,
        other => bail!("the sink does not decode Content-Transfer-Encoding: {other}"),
    };
    Ok(text.replace("\r\n", "\n"))
}

/// RFC 2045 quoted-printable: `=XX` is a byte, `=` at a line's end joins it to the next.
fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let rest = &bytes[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let Some(byte) = rest
            .get(..2)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            // Not an escape: keep it as written (RFC 2045's robustness advice).
            out.push(b'=');
            i += 1;
        }
    }
    out
}

/// The one-time code in a mail's text: the line that is only digits, at least six of them
/// (the server's templates put the code on a line of its own).
pub fn extract_code(text: &str) -> Result<String> {
    let mut codes: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| line.len() >= 6 && line.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    codes.dedup();
    match codes.as_slice() {
        [code] => Ok((*code).to_string()),
        // The text is not shown: it holds a code.
        [] => bail!(
            "the mail ({} lines) has no line of 6 or more digits",
            text.lines().count()
        ),
        _ => bail!("the mail has {} different code lines", codes.len()),
    }
}

/// The interpreter to run aiosmtpd with, probed once per test binary.
fn python_with_aiosmtpd() -> Result<OsString> {
    static FOUND: OnceLock<Result<OsString, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("the conformance crate is inside the workspace");
            let venv = root.join("target/tools/venv/bin/python");
            let mut candidates = Vec::new();
            if venv.exists() {
                candidates.push(venv.into_os_string());
            }
            candidates.push(OsString::from("python3"));
            first_with_aiosmtpd(&candidates)
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

fn first_with_aiosmtpd(candidates: &[OsString]) -> Result<OsString, String> {
    for python in candidates {
        let imports = Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if imports {
            return Ok(python.clone());
        }
    }
    let tried: Vec<_> = candidates.iter().map(|p| p.to_string_lossy()).collect();
    Err(format!(
        "the SMTP sink needs the Python package aiosmtpd, and no interpreter has it (tried {}). \
         Run `cargo xtask ci` (or `cargo xtask lint-spec`), which installs it into \
         target/tools/venv, or `pip install aiosmtpd`",
        tried.join(", ")
    ))
}

/// A loopback port free right now (aiosmtpd binds it next; `start` retries if it is taken).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until the server on `port` sends its `220` greeting (so it is aiosmtpd, ready), or
/// fails if the process exits or `START_TIMEOUT` passes.
fn wait_for_greeting(child: &mut Child, port: u16) -> Result<()> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().context("watching aiosmtpd")? {
            bail!("aiosmtpd exited ({status}) before accepting connections on {address}");
        }
        if let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) {
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            let mut greeting = [0u8; 3];
            if stream.read_exact(&mut greeting).is_ok() && &greeting == b"220" {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            bail!("aiosmtpd did not greet on {address} within {START_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable() {
        let decoded =
            decode_quoted_printable("Hello B=C3=B8b,\r\nsoft=\r\n break, a=3Db, bad=ZZ\r\n");
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "Hello Bøb,\r\nsoft break, a=b, bad=ZZ\r\n"
        );
    }

    #[test]
    fn headers_and_body() {
        let raw = "Subject: a\n long subject\nX-RcptTo: a@example.com, B@example.com\n\
                   Content-Transfer-Encoding: quoted-printable\n\nline=\n one\n123456\n";
        assert_eq!(header(raw, "subject").as_deref(), Some("a long subject"));
        assert!(is_addressed_to(raw, "b@example.com"));
        assert!(!is_addressed_to(raw, "c@example.com"));
        let text = text_body(raw).unwrap();
        assert_eq!(text, "line one\n123456\n");
        assert_eq!(extract_code(&text).unwrap(), "123456");
    }

    #[test]
    fn without_aiosmtpd_the_sink_names_the_fix() {
        let error = first_with_aiosmtpd(&["/nonexistent/python3".into()]).unwrap_err();
        assert!(error.contains("/nonexistent/python3"), "{error}");
        assert!(error.contains("cargo xtask ci") && error.contains("pip install aiosmtpd"));
    }

    #[test]
    fn codes() {
        assert_eq!(
            extract_code("Hi\n\n  4839201 \r\nexpires in 15 minutes").unwrap(),
            "4839201"
        );
        assert!(extract_code("no code, only 2026 and 12345").is_err());
        assert!(extract_code("111111\n222222").is_err());
    }
}
