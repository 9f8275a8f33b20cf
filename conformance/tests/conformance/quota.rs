//! The monthly message quota: counting refuses past the quota (403 `quota_exceeded`,
//! counting nothing), and `quota.warning` events are recorded once at 80% and once at 100%,
//! in the contract's payload shape. The service is driven directly against the server's own
//! database, and through chat (which counts every user message: before answering when a quota
//! applies, else in the transaction that stores the exchange).

use super::support::registered;
use botwire_client::types::QuotaWarningEvent;
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
    let count = |n| botwire_server::quota::count_messages(&db, &account_id, n, None);
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
    let count = |n, default| botwire_server::quota::count_messages(&db, &account_id, n, default);
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
        (0..20).map(|_| botwire_server::quota::count_messages(&db, &account_id, 1, None));
    let results = futures::future::join_all(attempts).await;
    let admitted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(admitted, 10, "{results:?}");
    assert_eq!(warnings(&db, &account_id).await.len(), 2);
}

async fn chat_counts_every_message_and_refuses_past_the_quota(ctx: &TestContext) {
    use super::support::{ask, bearer, create_bot, expect_error, message, unstreamed};
    use botwire_client::types::ErrorCode;
    let (session, db, account_id) = registered(ctx, "chat-quota@example.test").await;
    // Counting nothing more answers how many were counted.
    let used = || botwire_server::quota::count_messages(&db, &account_id, 0, None);
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
    let history = super::support::history(&owner, bot.id, "s-1").await;
    assert_eq!(
        history.len(),
        6,
        "three exchanges of s-1, nothing of the refused"
    );
}

/// Messages sent at once are recorded together (a group commit, `store::chat::ExchangeQueue`):
/// each is stored once, in its own session, counted once, and the first messages of a session
/// that race each other end up in one conversation.
async fn concurrent_messages_are_each_stored_and_counted_once(ctx: &TestContext) {
    use super::support::{bearer, create_bot, message};
    let (session, db, account_id) = registered(ctx, "together@example.test").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Busy").await;
    let sessions = ["t-1", "t-2", "t-3"];
    let per_session = 8;
    let sends = (0..per_session).flat_map(|i| {
        let owner = &owner;
        sessions.iter().map(move |s| async move {
            owner
                .chat_send()
                .body(message(
                    Some(bot.id),
                    Some(s),
                    &format!("Message {i} of {s}"),
                ))
                .send()
                .await
                .map(|reply| reply.into_inner())
        })
    });
    let replies = futures::future::join_all(sends).await;
    let replies: Vec<_> = replies
        .into_iter()
        .map(|r| r.expect("every message is answered"))
        .collect();
    for s in sessions {
        let history = super::support::history(&owner, bot.id, s).await;
        assert_eq!(history.len(), 2 * per_session, "{s}: {history:?}");
        let conversations: std::collections::BTreeSet<_> =
            history.iter().map(|m| m.conversation_id).collect();
        assert_eq!(conversations.len(), 1, "{s}: one conversation");
        for reply in replies.iter().filter(|r| r.session_id == s) {
            let stored = history.iter().filter(|m| Some(m.id) == reply.message_id);
            assert_eq!(
                stored.count(),
                1,
                "{s}: the reply {:?} once",
                reply.message_id
            );
            assert_eq!(reply.conversation_id, history[0].conversation_id);
        }
    }
    let used = botwire_server::quota::count_messages(&db, &account_id, 0, None)
        .await
        .unwrap();
    assert_eq!(used, i64::try_from(replies.len()).unwrap());
}

on_both_databases!(
    concurrent_messages_are_each_stored_and_counted_once,
    chat_counts_every_message_and_refuses_past_the_quota,
    the_quota_refuses_past_its_limit_and_warns_at_80_and_100_percent,
    the_server_default_applies_and_no_quota_means_unlimited,
    concurrent_messages_never_exceed_the_quota,
);
