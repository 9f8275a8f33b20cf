//! `chat_send` retried with an `Idempotency-Key`: the stored reply replayed, a different
//! message under the same key a conflict, keys per credential, and keys expiring after 24
//! hours. (A stream replaying a sent reply, and the reverse, are `chat_stream`'s.)

use crate::conformance::support::chat::{FAQ, assert_faq_answer, bot_with_faq, history, message};
use crate::conformance::support::{bearer, create_bot, create_key, expect_error, registered};
use botwire_client::types::ErrorCode;
use botwire_conformance::{TestContext, on_both_databases};

async fn chat_send_retried_with_the_same_idempotency_key_replays_the_reply(ctx: &TestContext) {
    let (owner, bot, faq) = bot_with_faq(ctx, "idempotency@example.test").await;
    let send = |key: Option<&'static str>, text: &'static str| {
        let mut request = owner
            .chat_send()
            .body(message(Some(bot.id), Some("retry-1"), text));
        if let Some(key) = key {
            request = request.idempotency_key(key);
        }
        request.send()
    };

    let first = send(Some("key-1"), FAQ[0].0)
        .await
        .expect("chat_send")
        .into_inner();
    assert_faq_answer(&first, &faq, FAQ[0].1);
    let replay = send(Some("key-1"), FAQ[0].0)
        .await
        .expect("chat_send replay");
    assert_eq!(replay.status(), 200);
    assert_eq!(
        replay.into_inner(),
        first,
        "the same reply, ids and time included"
    );
    assert_eq!(
        history(&owner, bot.id, "retry-1").await.len(),
        2,
        "stored once"
    );

    let conflict = send(Some("key-1"), FAQ[1].0).await;
    expect_error(conflict, 409, ErrorCode::Conflict);
    assert_eq!(history(&owner, bot.id, "retry-1").await.len(), 2);

    // Keys are the credential's own: another credential's key-1 is a new message.
    let key = create_key(&owner, "retries", None, None).await;
    let by_key = bearer(ctx, &key.key)
        .chat_send()
        .idempotency_key("key-1")
        .body(message(Some(bot.id), Some("retry-1"), FAQ[0].0))
        .send()
        .await
        .expect("chat_send with another credential")
        .into_inner();
    assert_ne!(by_key.message_id, first.message_id);
    assert_eq!(history(&owner, bot.id, "retry-1").await.len(), 4);

    // Without a key, the same message twice is two messages.
    let one = send(None, FAQ[2].0).await.expect("chat_send").into_inner();
    let two = send(None, FAQ[2].0).await.expect("chat_send").into_inner();
    assert_ne!(one.message_id, two.message_id);
    assert_ne!(one.user_message_id, two.user_message_id);
    assert_eq!(history(&owner, bot.id, "retry-1").await.len(), 8);
}

/// Stored replies are deleted once their 24 hours are over (`idempotency_prune`, which each
/// process runs now and then): a young one stays and still replays; once deleted, the same key
/// is a new message.
async fn chat_send_idempotency_keys_expire_and_are_deleted(ctx: &TestContext) {
    use botwire_server::store::{chat::idempotency_prune, now};
    let (session, db, _) = registered(ctx, "expiry@example.test").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Expiring").await;
    let send = || {
        owner
            .chat_send()
            .idempotency_key("expiring")
            .body(message(Some(bot.id), Some("expiry-1"), "Hello"))
            .send()
    };
    let first = send().await.expect("chat_send").into_inner();

    let an_hour_ago = now() - chrono::Duration::hours(1);
    assert_eq!(
        idempotency_prune(&db, an_hour_ago).await.expect("pruning"),
        0
    );
    let replay = send().await.expect("chat_send replay").into_inner();
    assert_eq!(replay, first, "a young key still replays");

    let deleted = idempotency_prune(&db, now() + chrono::Duration::seconds(1))
        .await
        .expect("pruning");
    assert_eq!(deleted, 1);
    let again = send()
        .await
        .expect("chat_send after the key went")
        .into_inner();
    assert_ne!(
        again.message_id, first.message_id,
        "a new message, not a replay"
    );
    assert_eq!(history(&owner, bot.id, "expiry-1").await.len(), 4);
}

on_both_databases!(
    chat_send_retried_with_the_same_idempotency_key_replays_the_reply,
    chat_send_idempotency_keys_expire_and_are_deleted,
);
