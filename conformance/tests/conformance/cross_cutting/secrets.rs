//! Sweeps the operations that take or hand out a secret: none reaches the server's log.
//!
//! No secret (password, API key, client secret, session token, emailed code, TOTP secret,
//! webhook signing secret) ever appears in the server's log, even at debug level, whatever the
//! requests do with it.

use crate::conformance::support::chat::ask;
use crate::conformance::support::webhooks::{WAIT, create_webhook, fast, send_ping};
use crate::conformance::support::{PASSWORD, bearer, create_bot, debug_log_to, register};
use botwire_client::types::{
    AccountLogin, AccountPasswordForgot, AccountPasswordReset, ApiKeyCreate, WebhookEventType,
};
use botwire_conformance::receiver::Receiver;
use botwire_conformance::{Backend, TestContext, on_both_databases};

async fn secrets_never_reach_the_log(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.log");
    let log = debug_log_to(&path);
    let ctx = TestContext::with_logger(backend, |_| {}, log)
        .await
        .unwrap();
    let password = PASSWORD;
    let session = register(&ctx, "secretive@example.test", "Secretive").await;
    // A failed login too: a wrong password must not be logged either.
    let wrong = AccountLogin {
        email: "secretive@example.test".parse().unwrap(),
        password: "a wrong passphrase 9KwM".parse().unwrap(),
        totp_code: None,
    };
    assert!(ctx.client.account_login().body(wrong).send().await.is_err());
    let authed = |token: &str| bearer(&ctx, token);
    let owner = authed(&session.token);
    let key = owner
        .api_key_create()
        .body(ApiKeyCreate {
            bot_id: None,
            name: "logged?".parse().unwrap(),
            rate_limits: None,
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    authed(&key.key).bot_list().send().await.unwrap();
    let totp = owner
        .account_totp_setup()
        .send()
        .await
        .unwrap()
        .into_inner();
    let forgot = AccountPasswordForgot {
        email: "secretive@example.test".parse().unwrap(),
    };
    ctx.client
        .account_password_forgot()
        .body(forgot)
        .send()
        .await
        .unwrap();
    let codes = mailed_codes(&ctx).await;
    assert_eq!(
        codes.len(),
        2,
        "a verification and a reset code were mailed"
    );
    let reset = AccountPasswordReset {
        code: codes[1].parse().unwrap(),
        email: "secretive@example.test".parse().unwrap(),
        new_password: "another secret passphrase 4RtV".parse().unwrap(),
    };
    ctx.client
        .account_password_reset()
        .body(reset)
        .send()
        .await
        .unwrap();
    ctx.teardown().await;

    let logged = std::fs::read_to_string(&path).unwrap();
    assert!(
        logged.contains("request completed"),
        "the log was written: {logged}"
    );
    let mut secrets = vec![
        password.to_string(),
        "a wrong passphrase 9KwM".into(),
        "another secret passphrase 4RtV".into(),
        session.token.clone(),
        key.key.clone(),
        key.client_secret.clone(),
        totp.secret.clone(),
    ];
    secrets.extend(codes);
    for secret in &secrets {
        assert!(
            !logged.contains(secret.as_str()),
            "a secret reached the log: {secret}"
        );
    }
}

/// The codes mailed so far (the outbox's .eml files, oldest first).
async fn mailed_codes(ctx: &TestContext) -> Vec<String> {
    for _ in 0..100 {
        let mut files: Vec<_> = std::fs::read_dir(ctx.outbox_dir())
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok());
        let codes: Vec<String> = files
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .filter_map(|mail| {
                mail.lines()
                    .map(str::trim)
                    .find(|line| line.len() == 8 && line.chars().all(|c| c.is_ascii_digit()))
                    .map(str::to_string)
            })
            .collect();
        if codes.len() >= 2 {
            return codes;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Vec::new()
}

// ---- secrets -----------------------------------------------------------------------------

/// Signing secrets never reach the server's log, even at debug level, through creation,
/// rotation and deliveries.
async fn signing_secrets_never_reach_the_log(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.log");
    let log = debug_log_to(&path);
    let ctx = TestContext::with_logger(backend, fast, log).await.unwrap();
    let session = register(&ctx, "hook-secrets@example.test", "Secretive").await;
    let owner = bearer(&ctx, &session.token);
    let bot = create_bot(&owner, "Secretive").await;
    let receiver = Receiver::accepting().await;
    let hook = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/s"),
        vec![WebhookEventType::MessageSent],
    )
    .await;
    let rotated = owner
        .webhook_secret_rotate()
        .webhook_id(hook.id)
        .send()
        .await;
    let rotated = rotated.expect("webhook_secret_rotate").into_inner();
    ask(&owner, bot.id, "s-1", "Hello").await;
    send_ping(&owner, hook.id).await;
    receiver.wait_for(2, WAIT).await;
    ctx.teardown().await;

    let logged = std::fs::read_to_string(&path).unwrap();
    assert!(
        logged.contains("webhook attempt"),
        "the log was written: {logged}"
    );
    for secret in [&hook.secret, &rotated.secret] {
        let key = secret.strip_prefix("whsec_").unwrap();
        assert!(!logged.contains(key), "a signing secret reached the log");
    }
}

on_both_databases!(
    backend: secrets_never_reach_the_log,
    signing_secrets_never_reach_the_log,
);
