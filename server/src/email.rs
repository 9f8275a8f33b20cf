//! Outgoing email: over SMTP when `BOTWIRE_SMTP_URL` is set, otherwise as `.eml` files in the
//! outbox directory, where an operator can read them (the start-up log names the directory).
//!
//! What a mail carries (verification and reset codes) is secret: neither [`Email`]'s `Debug`
//! nor [`EmailError`] ever shows a body, and nothing here shows the SMTP URL (it may hold a
//! password).

use crate::config::Config;
use anyhow::{Context, Result};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::Error as SmtpError;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The sender of outbox mail, which never leaves the machine.
const OUTBOX_FROM: &str = "Botwire <botwire@localhost>";

/// One plain-text mail.
#[derive(Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body holds a code.
        f.debug_struct("Email")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why a mail was not sent. Never carries the body, the recipient's address or credentials.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The recipient is not a mailbox (`user@domain`); a client's mistake.
    #[error("the recipient address is invalid: {0}")]
    InvalidRecipient(String),
    #[error("building the message: {0}")]
    Build(String),
    /// The relay refused or could not be reached. `transient` when a retry may succeed.
    #[error("SMTP relay {relay}: {reason}")]
    Smtp {
        relay: String,
        reason: String,
        transient: bool,
    },
    #[error("writing to the outbox {}: {reason}", dir.display())]
    Outbox { dir: PathBuf, reason: String },
}

impl EmailError {
    /// Whether sending again later may succeed (a 4xx reply, a network failure).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            EmailError::Smtp {
                transient: true,
                ..
            }
        )
    }
}

/// Sends [`Email`]s. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// `host:port (security)`, for logs and errors: the URL without its credentials.
        relay: String,
    },
    /// lettre's file transport is not `Clone`; it is only a directory, so it is built per send.
    Outbox { dir: PathBuf },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Mailer {
    /// SMTP when `config.smtp` is set, else the outbox directory (created if missing).
    /// Connects to nothing: a relay that is down fails the sends, not the start.
    pub fn from_config(config: &Config) -> Result<Mailer> {
        match &config.smtp {
            Some(smtp) => {
                let from: Mailbox = smtp.from.parse().map_err(|e| {
                    anyhow::anyhow!(
                        "BOTWIRE_EMAIL_FROM is not a mailbox ({e}): \
                         expected `Name <user@domain>` or `user@domain`"
                    )
                })?;
                // lettre's URL errors name the scheme or the parse failure, never the URL.
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url)
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "BOTWIRE_SMTP_URL is not a usable SMTP URL: {e} (expected \
                             smtp://[user:pass@]host[:port][?tls=required|opportunistic] \
                             or smtps://...)"
                        )
                    })?
                    .build();
                Ok(Mailer {
                    from,
                    transport: Transport::Smtp {
                        transport,
                        relay: relay_description(&smtp.url),
                    },
                })
            }
            None => {
                create_outbox(&config.outbox_dir)?;
                Ok(Mailer {
                    from: OUTBOX_FROM.parse().context("the outbox sender")?,
                    transport: Transport::Outbox {
                        dir: config.outbox_dir.clone(),
                    },
                })
            }
        }
    }

    /// One line for the start-up log: where mail goes.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp { relay, .. } => format!("email: SMTP relay {relay}"),
            Transport::Outbox { dir } => format!(
                "email: no SMTP configured (BOTWIRE_SMTP_URL); \
                 messages are written to {} as .eml files",
                dir.display()
            ),
        }
    }

    pub async fn send(&self, email: Email) -> Result<(), EmailError> {
        let message = self.build(email)?;
        match &self.transport {
            Transport::Smtp { transport, relay } => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|error| smtp_error(relay, &error)),
            Transport::Outbox { dir } => AsyncFileTransport::<Tokio1Executor>::new(dir)
                .send(message)
                .await
                .map(drop)
                .map_err(|error| EmailError::Outbox {
                    dir: dir.clone(),
                    // An I/O error: a kind and an OS message, no content.
                    reason: error.to_string(),
                }),
        }
    }

    fn build(&self, email: Email) -> Result<Message, EmailError> {
        let Email { to, subject, text } = email;
        let to: Mailbox = to.parse().map_err(|e: lettre::address::AddressError| {
            EmailError::InvalidRecipient(e.to_string())
        })?;
        // 7bit when the text allows it, else quoted-printable (never base64, which lettre may
        // pick for non-ASCII text): the code stays readable in a raw .eml an operator opens.
        let body = if text.is_ascii() {
            Body::new(text)
        } else {
            Body::new_with_encoding(text, ContentTransferEncoding::QuotedPrintable)
                .map_err(|_| EmailError::Build("encoding the body".into()))?
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            // `<uuid@hostname>`: relays and spam filters expect one.
            .message_id(None)
            .body(body)
            // lettre's build errors name a missing or malformed header, not its value.
            .map_err(|e| EmailError::Build(e.to_string()))
    }
}

/// Creates the outbox, readable by its owner only where that can be said: it holds codes.
fn create_outbox(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating the email outbox {}", dir.display()))
}

/// A send failure in words that cannot leak: the reply code but not the relay's text (a relay
/// may echo the command it rejects, and an `AUTH` line carries the credentials); for local
/// failures (network, TLS, client), lettre's own messages, which name no content.
fn smtp_error(relay: &str, error: &SmtpError) -> EmailError {
    let (reason, transient) = if let Some(code) = error.status() {
        let reason = if error.is_permanent() {
            format!("the relay refused the message (permanent, code {code})")
        } else {
            format!("the relay refused the message (temporary, code {code})")
        };
        (reason, error.is_transient())
    } else if error.is_response() {
        ("the relay's reply could not be read".to_string(), true)
    } else if error.is_timeout() {
        ("timed out".to_string(), true)
    } else {
        // lettre's Display appends the source (an I/O or TLS error).
        (error.to_string(), !error.is_client())
    };
    EmailError::Smtp {
        relay: relay.to_string(),
        reason,
        transient,
    }
}

/// `host:port (security)` from an SMTP URL lettre accepted, without user or password. The
/// defaults are lettre's: 25 plain, 587 with `tls=`, 465 for `smtps`.
fn relay_description(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("smtp", url));
    let (authority, query) = match rest.find(['/', '?', '#']) {
        Some(at) => (
            &rest[..at],
            rest[at..].split_once('?').map_or("", |(_, q)| q),
        ),
        None => (rest, ""),
    };
    // The user and password come before the last '@'.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let tls = query
        .split(['&', '#'])
        .find_map(|pair| pair.strip_prefix("tls="));
    let (security, default_port) = match (scheme, tls) {
        ("smtps", _) => ("TLS", 465),
        (_, Some("required")) => ("STARTTLS required", 587),
        (_, Some("opportunistic")) => ("STARTTLS opportunistic", 587),
        _ => ("plaintext", 25),
    };
    // A port follows the last ':' unless that colon is inside an IPv6 literal.
    let has_port = host_port
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    if has_port {
        format!("{host_port} ({security})")
    } else {
        format!("{host_port}:{default_port} ({security})")
    }
}

/// The mail that confirms an address at registration. `valid_for` is the code's lifetime.
pub fn verification_email(to: &str, name: &str, code: &str, valid_for: Duration) -> Email {
    Email {
        to: to.to_string(),
        subject: "Verify your Botwire email address".to_string(),
        text: format!(
            "{greeting}\n\
             \n\
             Enter this code to verify your email address:\n\
             \n\
             {code}\n\
             \n\
             The code expires in {expiry}.\n\
             \n\
             If you did not create a Botwire account, ignore this email.\n",
            greeting = greeting(name),
            expiry = human_duration(valid_for),
        ),
    }
}

/// The mail that carries a password reset code. `valid_for` is the code's lifetime.
pub fn password_reset_email(to: &str, name: &str, code: &str, valid_for: Duration) -> Email {
    Email {
        to: to.to_string(),
        subject: "Reset your Botwire password".to_string(),
        text: format!(
            "{greeting}\n\
             \n\
             Enter this code to reset your Botwire password:\n\
             \n\
             {code}\n\
             \n\
             The code expires in {expiry}.\n\
             \n\
             If you did not ask to reset your password, ignore this email: your password \
             stays as it is.\n",
            greeting = greeting(name),
            expiry = human_duration(valid_for),
        ),
    }
}

/// "Hello <name>," with the user-chosen name on one line: control characters (line breaks)
/// would let a name write lines of its own into the mail.
pub fn greeting(name: &str) -> String {
    let name = one_line(name);
    if name.is_empty() {
        "Hello,".to_string()
    } else {
        format!("Hello {name},")
    }
}

/// "15 minutes", "1 hour", "2 days": the largest unit that divides the duration.
fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (count, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| seconds >= *size && seconds.is_multiple_of(*size))
        .map_or((seconds, "second"), |(size, unit)| (seconds / size, unit));
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

/// The invitation to a team: the token to accept it with, and for how long it is valid.
pub fn team_invite_email(
    to: &str,
    team: &str,
    inviter: &str,
    token: &str,
    valid_for: Duration,
) -> Email {
    let (team, inviter) = (one_line(team), one_line(inviter));
    Email {
        to: to.to_string(),
        subject: "You are invited to a Botwire team".to_string(),
        text: format!(
            "Hello,\n\
             \n\
             {inviter} invited you to the team \"{team}\" on Botwire.\n\
             \n\
             To join, sign in (or register) with this email address, verify it, and accept\n\
             the invitation with this token (team_invite_accept):\n\
             \n\
             {token}\n\
             \n\
             The invitation expires in {expiry}. If you did not expect it, ignore this email.\n",
            inviter = if inviter.is_empty() {
                "Someone"
            } else {
                &inviter
            },
            expiry = human_duration(valid_for),
        ),
    }
}

/// A user-chosen text on one line (control characters, line breaks among them, as spaces).
fn one_line(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The mail that tells an account's owner a webhook was disabled after failed deliveries.
pub fn webhook_disabled_email(to: &str, name: &str, url: &str, failures: i64) -> Email {
    Email {
        to: to.to_string(),
        subject: "A Botwire webhook was disabled".to_string(),
        text: format!(
            "{greeting}\n\
             \n\
             Your webhook to {url} was disabled after {failures} deliveries in a row failed.\n\
             No events are sent to it until it is enabled again (webhook_update with\n\
             \"enabled\": true); its delivery log shows what the endpoint answered.\n",
            greeting = greeting(name),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatabaseUrl, SmtpConfig};

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            TempDir(std::env::temp_dir().join(format!("botwire-email-{}", uuid::Uuid::new_v4())))
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn config(outbox: &Path) -> Config {
        Config::for_database(
            DatabaseUrl::Sqlite(outbox.join("unused.sqlite3")),
            outbox.into(),
        )
    }

    fn read_outbox(dir: &Path) -> Vec<String> {
        let mut mails: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .map(|path| std::fs::read_to_string(path).unwrap())
            .collect();
        mails.sort();
        mails
    }

    /// The line that is nothing but digits.
    fn code_line(mail: &str) -> Option<&str> {
        mail.lines()
            .map(str::trim)
            .find(|line| line.len() >= 6 && line.bytes().all(|b| b.is_ascii_digit()))
    }

    #[tokio::test]
    async fn outbox_holds_each_mail_with_its_code() {
        let temp = TempDir::new();
        let outbox = temp.0.join("nested/outbox");
        let mailer = Mailer::from_config(&config(&outbox)).unwrap();
        assert!(outbox.is_dir(), "the outbox is created");
        assert_eq!(
            mailer.describe(),
            format!(
                "email: no SMTP configured (BOTWIRE_SMTP_URL); messages are written to {} as .eml files",
                outbox.display()
            )
        );

        let fifteen = Duration::from_secs(15 * 60);
        mailer
            .send(verification_email(
                "ada@example.com",
                "Ada",
                "483920",
                fifteen,
            ))
            .await
            .unwrap();
        mailer
            .send(password_reset_email(
                "bob@example.com",
                "Bøb",
                "771204",
                Duration::from_secs(3600),
            ))
            .await
            .unwrap();

        let mails = read_outbox(&outbox);
        assert_eq!(mails.len(), 2, "{mails:#?}");
        let to_ada = mails
            .iter()
            .find(|m| m.contains("To: ada@example.com"))
            .unwrap();
        assert_eq!(code_line(to_ada), Some("483920"));
        assert!(to_ada.contains("From: Botwire <botwire@localhost>"));
        assert!(to_ada.contains("Subject: Verify your Botwire email address"));
        assert!(to_ada.contains("expires in 15 minutes"));
        assert!(to_ada.contains("Content-Type: text/plain"));
        // Non-ASCII text is quoted-printable, so the code is still on a line of its own.
        let to_bob = mails
            .iter()
            .find(|m| m.contains("To: bob@example.com"))
            .unwrap();
        assert!(to_bob.contains("Content-Transfer-Encoding: quoted-printable"));
        assert_eq!(code_line(to_bob), Some("771204"));
        assert!(to_bob.contains("expires in 1 hour"));
    }

    #[tokio::test]
    async fn a_bad_recipient_is_refused_without_echoing_it() {
        let temp = TempDir::new();
        let mailer = Mailer::from_config(&config(&temp.0)).unwrap();
        let error = mailer
            .send(verification_email(
                "not-an-address",
                "Ada",
                "483920",
                Duration::from_secs(60),
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(error, EmailError::InvalidRecipient(_)),
            "{error:?}"
        );
        let shown = format!("{error} {error:?}");
        assert!(
            !shown.contains("not-an-address") && !shown.contains("483920"),
            "{shown}"
        );
        assert!(read_outbox(&temp.0).is_empty());
    }

    #[tokio::test]
    async fn smtp_failures_name_the_relay_but_no_secret() {
        // A port nothing listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let temp = TempDir::new();
        let mut config = config(&temp.0);
        config.smtp = Some(SmtpConfig {
            url: format!("smtp://mailuser:s3cret-pw@127.0.0.1:{port}"),
            from: "Botwire <noreply@example.com>".into(),
        });
        let mailer = Mailer::from_config(&config).unwrap();
        assert_eq!(
            mailer.describe(),
            format!("email: SMTP relay 127.0.0.1:{port} (plaintext)")
        );
        let error = mailer
            .send(verification_email(
                "ada@example.com",
                "Ada",
                "483920",
                Duration::from_secs(60),
            ))
            .await
            .unwrap_err();
        assert!(error.is_transient(), "{error:?}");
        let shown = format!("{error} {error:?} {mailer:?}");
        assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
        for secret in ["s3cret-pw", "mailuser", "483920", "ada@example.com"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn bad_smtp_settings_fail_without_echoing_the_url() {
        let temp = TempDir::new();
        let mut config = config(&temp.0);
        config.smtp = Some(SmtpConfig {
            url: "imap://user:s3cret-pw@mail.example.com".into(),
            from: "noreply@example.com".into(),
        });
        let error = format!("{:#}", Mailer::from_config(&config).unwrap_err());
        assert!(
            error.contains("BOTWIRE_SMTP_URL") && !error.contains("s3cret-pw"),
            "{error}"
        );
        config.smtp = Some(SmtpConfig {
            url: "smtp://mail.example.com".into(),
            from: "not a mailbox".into(),
        });
        let error = format!("{:#}", Mailer::from_config(&config).unwrap_err());
        assert!(error.contains("BOTWIRE_EMAIL_FROM"), "{error}");
    }

    #[test]
    fn relay_descriptions() {
        let cases = [
            (
                "smtp://relay.example.com",
                "relay.example.com:25 (plaintext)",
            ),
            (
                "smtp://u:p@relay.example.com:2525",
                "relay.example.com:2525 (plaintext)",
            ),
            (
                "smtp://u:p%40ss@relay.example.com?tls=required",
                "relay.example.com:587 (STARTTLS required)",
            ),
            (
                "smtp://relay.example.com:1587/client.example.com?tls=opportunistic",
                "relay.example.com:1587 (STARTTLS opportunistic)",
            ),
            (
                "smtps://u:p@relay.example.com",
                "relay.example.com:465 (TLS)",
            ),
            ("smtp://[::1]", "[::1]:25 (plaintext)"),
            ("smtp://[::1]:2525", "[::1]:2525 (plaintext)"),
        ];
        for (url, expected) in cases {
            assert_eq!(relay_description(url), expected, "{url}");
        }
    }

    #[test]
    fn templates() {
        let mail = verification_email(
            "a@example.com",
            "Eve\nYour code is 000000",
            "123456",
            Duration::from_secs(600),
        );
        assert!(
            mail.text.starts_with("Hello Eve Your code is 000000,\n"),
            "{}",
            mail.text
        );
        assert!(mail.text.contains("\n123456\n"));
        assert!(mail.text.contains("expires in 10 minutes"));
        assert!(mail.text.contains("ignore this email"));
        assert!(!format!("{mail:?}").contains("123456"));
        let mail = password_reset_email("a@example.com", "  ", "654321", Duration::from_secs(90));
        assert!(mail.text.starts_with("Hello,\n"));
        assert!(mail.text.contains("\n654321\n"));
        assert!(mail.text.contains("expires in 90 seconds"));
        assert!(mail.text.contains("ignore this email"));
        assert_eq!(human_duration(Duration::from_secs(86_400)), "1 day");
        assert_eq!(human_duration(Duration::from_secs(2 * 3_600)), "2 hours");
    }
}
