//! The accounts' email over a real SMTP relay: the server's `Mailer` against aiosmtpd on
//! loopback ([`SmtpSink`]), read back from the relay's mailbox, and `account_register` mailing
//! the code `account_email_verify` takes.
//!
//! The register -> verify flow through the HTTP API builds on the same pieces: point
//! `Config::smtp` at a sink, then `wait_for_message` and `extract_code`.

use botwire_conformance::smtp::{SmtpSink, extract_code, header, text_body};
use botwire_conformance::{Backend, TestContext, on_both_databases};
use botwire_server::config::{Config, DatabaseUrl, SmtpConfig};
use botwire_server::email::{Mailer, password_reset_email, verification_email};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// A mailer whose relay is `sink` (the database is never opened).
fn mailer_for(sink: &SmtpSink, scratch: &tempfile::TempDir) -> Mailer {
    let mut config = Config::for_database(
        DatabaseUrl::Sqlite(scratch.path().join("unused.sqlite3")),
        scratch.path().join("outbox"),
    );
    config.smtp = Some(SmtpConfig {
        url: sink.url(),
        from: "Botwire <noreply@botwire.test>".into(),
    });
    Mailer::from_config(&config).expect("a mailer for the sink")
}

#[tokio::test]
async fn codes_arrive_over_smtp() {
    let sink = SmtpSink::start().expect("starting the SMTP sink");
    let scratch = tempfile::tempdir().unwrap();
    let mailer = mailer_for(&sink, &scratch);
    assert_eq!(
        mailer.describe(),
        format!("email: SMTP relay 127.0.0.1:{} (plaintext)", sink.port())
    );

    mailer
        .send(verification_email(
            "ada@example.com",
            "Ada Lovelace",
            "482913",
            Duration::from_secs(15 * 60),
        ))
        .await
        .expect("sending over SMTP");
    let raw = sink
        .wait_for_raw_message("ada@example.com", WAIT)
        .await
        .unwrap();
    assert_eq!(
        header(&raw, "X-MailFrom").as_deref(),
        Some("noreply@botwire.test")
    );
    assert_eq!(
        header(&raw, "From").as_deref(),
        Some("Botwire <noreply@botwire.test>")
    );
    assert_eq!(header(&raw, "To").as_deref(), Some("ada@example.com"));
    assert_eq!(
        header(&raw, "Subject").as_deref(),
        Some("Verify your Botwire email address")
    );
    assert!(header(&raw, "Message-ID").is_some());
    let text = text_body(&raw).unwrap();
    assert_eq!(extract_code(&text).unwrap(), "482913");
    assert!(text.contains("Hello Ada Lovelace,"), "{text}");
    assert!(text.contains("expires in 15 minutes"), "{text}");
    assert!(text.contains("ignore this email"), "{text}");

    // A second mail to the same address is the next one the sink hands out; a non-ASCII
    // name makes it quoted-printable, which the sink decodes.
    mailer
        .send(password_reset_email(
            "ada@example.com",
            "Åda",
            "9075312",
            Duration::from_secs(3600),
        ))
        .await
        .expect("sending over SMTP");
    let text = sink
        .wait_for_message("ada@example.com", WAIT)
        .await
        .unwrap();
    assert_eq!(extract_code(&text).unwrap(), "9075312");
    assert!(text.contains("Hello Åda,"), "{text}");
    assert!(text.contains("expires in 1 hour"), "{text}");

    // Nothing else was sent to that address.
    let none = sink
        .wait_for_message("ada@example.com", Duration::from_millis(200))
        .await;
    assert!(none.is_err());
    assert_eq!(sink.messages().unwrap().len(), 2);

    // Dropping the sink stops aiosmtpd.
    let port = sink.port();
    drop(sink);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// The whole flow the issue asks for: a server configured with a real SMTP relay (the sink),
/// registration mails a code, the code read from the delivered mail verifies the email.
async fn account_register_mails_over_smtp_the_code_account_email_verify_takes(backend: Backend) {
    let sink = SmtpSink::start().expect("starting the SMTP sink");
    let url = sink.url();
    let ctx = TestContext::with(backend, move |config| {
        config.smtp = Some(SmtpConfig {
            url,
            from: "Botwire <noreply@botwire.test>".into(),
        });
    })
    .await
    .expect("a server mailing through the sink");
    let session = crate::conformance::support::register(&ctx, "grace@example.test", "Grace").await;
    assert!(!session.user.email_verified);
    let text = sink
        .wait_for_message("grace@example.test", WAIT)
        .await
        .expect("the mail");
    let code = extract_code(&text).expect("a code in the mail");
    let verify = botwire_client::types::AccountEmailVerify {
        code: code.parse().unwrap(),
        email: "grace@example.test".parse().unwrap(),
    };
    let user = ctx
        .client
        .account_email_verify()
        .body(verify)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(user.email_verified);
    ctx.teardown().await;
}

on_both_databases!(backend: account_register_mails_over_smtp_the_code_account_email_verify_takes);
