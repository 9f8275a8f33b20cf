//! The monthly message quota `chat_send` and `chat_stream` enforce: counting refuses past the
//! quota (403 `quota_exceeded`, counting nothing), and `quota.warning` events are recorded once
//! at 80% and once at 100%, in the contract's payload shape. The service is driven directly
//! against the server's own database, and through chat (which counts every user message: before
//! answering when a quota applies, else in the transaction that stores the exchange).

use crate::conformance::support::chat::{FAQ, ask, bot_with_faq, history, message, unstreamed};
use crate::conformance::support::{bearer, create_bot, expect_error, registered};
use botwire_client::types::{ErrorCode, QuotaWarningEvent};
use botwire_conformance::{TestContext, on_both_databases};
use botwire_server::db::Db;
use botwire_server::store;

/// Registers a user through the API and returns their account id, and a pool on the database.
async fn account(ctx: &TestContext, email: &str) -> (Db, String) {
    let (_, db, account_id) = registered(ctx, email).await;
    (db, account_id)
}

async fn warnings(db: &Db, account_id: &str) -> Vec<QuotaWarningEvent> {
    store::usage::events_of_account(db, account_id, "quota.warning")
        .await
        .unwrap()
        .iter()
        .map(|payload| serde_json::from_str(payload).expect("the contract's QuotaWarningEvent"))
        .collect()
}

async fn the_quota_refuses_past_its_limit_and_warns_at_80_and_100_percent(ctx: &TestContext) {
    let (db, account_id) = account(ctx, "quota@example.test").await;
    store::usage::account_quota_set(&db, &account_id, Some(5))
        .await
        .unwrap();
    let count = |n| botwire_server::services::quota::count_messages(&db, &account_id, n, None);
    assert_eq!(count(3).await.unwrap(), 3);
    assert!(
        warnings(&db, &account_id).await.is_empty(),
        "60% warns of nothing"
    );
    assert_eq!(count(1).await.unwrap(), 4);
    let at_80 = warnings(&db, &account_id).await;
    assert_eq!(at_80.len(), 1);
    assert_eq!(at_80[0].data.threshold, 0.8);
    assert_eq!(
        (at_80[0].data.messages_used, at_80[0].data.messages_limit),
        (4, 5)
    );
    assert_eq!(count(1).await.unwrap(), 5);
    let at_100 = warnings(&db, &account_id).await;
    assert_eq!(
        at_100.iter().map(|w| w.data.threshold).collect::<Vec<_>>(),
        [0.8, 1.0]
    );

    let refused = count(1).await.expect_err("the quota is spent");
    let envelope = refused.to_envelope();
    assert_eq!(envelope.status().as_u16(), 403);
    assert_eq!(
        envelope.code(),
        botwire_api::types::ErrorCode::QuotaExceeded
    );
    assert_eq!(
        warnings(&db, &account_id).await.len(),
        2,
        "each threshold is announced once"
    );
    // Nothing was counted by the refused request: raising the quota by one admits one more.
    store::usage::account_quota_set(&db, &account_id, Some(6))
        .await
        .unwrap();
    assert_eq!(count(1).await.unwrap(), 6);
}

async fn the_server_default_applies_and_no_quota_means_unlimited(ctx: &TestContext) {
    let (db, account_id) = account(ctx, "default@example.test").await;
    let count =
        |n, default| botwire_server::services::quota::count_messages(&db, &account_id, n, default);
    assert_eq!(count(1000, None).await.unwrap(), 1000);
    assert!(warnings(&db, &account_id).await.is_empty());
    assert!(
        count(1, Some(1000)).await.is_err(),
        "the default quota of 1000 is spent"
    );
}

async fn concurrent_messages_never_exceed_the_quota(ctx: &TestContext) {
    let (db, account_id) = account(ctx, "race@example.test").await;
    store::usage::account_quota_set(&db, &account_id, Some(10))
        .await
        .unwrap();
    let attempts =
        (0..20).map(|_| botwire_server::services::quota::count_messages(&db, &account_id, 1, None));
    let results = futures::future::join_all(attempts).await;
    let admitted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(admitted, 10, "{results:?}");
    assert_eq!(warnings(&db, &account_id).await.len(), 2);
}

async fn chat_send_and_chat_stream_count_every_message_and_refuse_past_the_quota(
    ctx: &TestContext,
) {
    let (session, db, account_id) = registered(ctx, "chat-quota@example.test").await;
    // Counting nothing more answers how many were counted.
    let used = || botwire_server::services::quota::count_messages(&db, &account_id, 0, None);
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Counted").await;

    // No quota: each message is counted with the exchange it is stored in.
    ask(&owner, bot.id, "s-1", "Hello").await;
    ask(&owner, bot.id, "s-2", "Hello again").await;
    let streamed = owner
        .chat_stream()
        .body(message(Some(bot.id), Some("s-1"), "And a stream"))
        .send()
        .await
        .expect("chat_stream");
    let events = botwire_conformance::read_text(streamed).await.unwrap();
    assert!(events.contains("event: done"), "{events}");
    assert_eq!(used().await.unwrap(), 3);

    // A quota: counted before answering, refused past it, as JSON before any stream starts.
    store::usage::account_quota_set(&db, &account_id, Some(4))
        .await
        .unwrap();
    ask(&owner, bot.id, "s-1", "The fourth").await;
    let refused = owner
        .chat_send()
        .body(message(Some(bot.id), Some("s-1"), "The fifth"))
        .send()
        .await;
    expect_error(refused, 403, ErrorCode::QuotaExceeded);
    let refused = unstreamed(
        owner
            .chat_stream()
            .body(message(Some(bot.id), Some("s-1"), "The fifth, streamed"))
            .send()
            .await,
    );
    expect_error(refused, 403, ErrorCode::QuotaExceeded);
    assert_eq!(used().await.unwrap(), 4);
    let history = history(&owner, bot.id, "s-1").await;
    assert_eq!(
        history.len(),
        6,
        "three exchanges of s-1, nothing of the refused"
    );
}

/// With a server-wide quota of two messages a month, the third is refused and not stored;
/// a replay of an answered message is still served.
async fn chat_send_past_the_servers_monthly_quota_is_refused(ctx: &TestContext) {
    let (owner, bot, _) = bot_with_faq(ctx, "quota-chat@example.test").await;
    ask(&owner, bot.id, "quota-1", FAQ[0].0).await;
    let second = owner
        .chat_send()
        .idempotency_key("second")
        .body(message(Some(bot.id), Some("quota-1"), FAQ[1].0))
        .send()
        .await
        .expect("the second message")
        .into_inner();
    let third = owner
        .chat_send()
        .body(message(Some(bot.id), Some("quota-1"), FAQ[2].0))
        .send()
        .await;
    expect_error(third, 403, ErrorCode::QuotaExceeded);
    let streamed = owner
        .chat_stream()
        .body(message(Some(bot.id), Some("quota-2"), FAQ[2].0))
        .send()
        .await;
    expect_error(unstreamed(streamed), 403, ErrorCode::QuotaExceeded);
    assert_eq!(
        history(&owner, bot.id, "quota-1").await.len(),
        4,
        "nothing of the third is stored"
    );
    let replay = owner
        .chat_send()
        .idempotency_key("second")
        .body(message(Some(bot.id), Some("quota-1"), FAQ[1].0))
        .send()
        .await
        .expect("a replay does not count");
    assert_eq!(replay.into_inner(), second);
}

on_both_databases!(
    the_quota_refuses_past_its_limit_and_warns_at_80_and_100_percent,
    the_server_default_applies_and_no_quota_means_unlimited,
    concurrent_messages_never_exceed_the_quota,
    chat_send_and_chat_stream_count_every_message_and_refuse_past_the_quota,
);
on_both_databases!(
    config = |config| config.monthly_message_quota = Some(2),
    chat_send_past_the_servers_monthly_quota_is_refused,
);
