//! The group commit that stores `chat_send`'s exchanges (`store::chat::ExchangeQueue`): messages
//! sent at once are each stored and counted once; and its fallback: when the transaction that
//! an exchange shares with others fails, each exchange is written again alone, so the failing
//! one gets its error and the others are stored, whole. Which exchanges share a batch is a
//! matter of timing, so the batch is made directly (`exchanges_record_as_one_batch`); what it
//! stored is read back through the API.

use crate::conformance::support::chat::{history, message};
use crate::conformance::support::{bearer, create_bot, expect_error, registered};
use botwire_client::types::ErrorCode;
use botwire_conformance::{TestContext, on_both_databases};
use botwire_server::store::chat::{
    ConversationRow, ExchangeWrite, MessageRow, NewEvent, Recorded, exchanges_record_as_one_batch,
};
use botwire_server::store::{new_id, now};

/// A first exchange of `session`: its new conversation, the user's message and the bot's reply
/// (ids given), one event, one message counted.
fn first_exchange(
    account_id: &str,
    bot_id: &str,
    session: &str,
    message_ids: [&str; 2],
) -> ExchangeWrite {
    let at = now();
    let conversation = ConversationRow {
        id: new_id(),
        bot_id: bot_id.to_string(),
        session_id: session.to_string(),
        user_id: None,
        contact_id: None,
        by_visitor: false,
        status: "open".into(),
        handed_off: false,
        assignee_id: None,
        tags: "[]".into(),
        message_count: 2,
        last_message_at: Some(at),
        created_at: at,
        updated_at: at,
        queued_at: None,
        awaiting_agent_since: None,
    };
    let message = |id: &str, role: &str, content: String| MessageRow {
        id: id.to_string(),
        conversation_id: conversation.id.clone(),
        role: role.into(),
        content,
        language: Some("en".into()),
        sources: "[]".into(),
        suggested_actions: "[]".into(),
        engine: (role == "bot").then(|| "offline".into()),
        agent_id: None,
        created_at: at,
        answered: None,
    };
    let messages = vec![
        message(message_ids[0], "user", format!("Hello from {session}")),
        message(message_ids[1], "bot", format!("Hello, {session}")),
    ];
    ExchangeWrite {
        account_id: account_id.to_string(),
        conversation,
        new: true,
        messages,
        events: vec![NewEvent {
            event_type: "message.created",
            payload: format!(r#"{{"session":"{session}"}}"#),
        }],
        live: Vec::new(),
        usage: Some((botwire_server::services::quota::month_now(), 1)),
        handoff_at: None,
    }
}

async fn a_failed_batch_stores_each_exchange_that_can_be_stored(ctx: &TestContext) {
    let (session, db, account_id) = registered(ctx, "batch@example.test").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Batched").await;
    let bot_id = bot.id.to_string();
    let (user_message, reply) = (new_id(), new_id());
    let stored = first_exchange(&account_id, &bot_id, "stored", [&user_message, &reply]);
    // Its user message reuses the first exchange's id: the shared insert fails on the primary
    // key, and so does this exchange's own transaction afterwards.
    let refused = first_exchange(&account_id, &bot_id, "refused", [&user_message, &new_id()]);

    let outcomes = exchanges_record_as_one_batch(&db, vec![stored, refused]).await;

    assert!(matches!(outcomes[0], Ok(Recorded::Yes)), "{outcomes:?}");
    assert!(outcomes[1].is_err(), "{outcomes:?}");
    let messages = history(&owner, bot.id, "stored").await;
    let ids: Vec<String> = messages.iter().map(|m| m.id.to_string()).collect();
    assert_eq!(ids, [user_message, reply]);
    assert_eq!(messages[0].content, "Hello from stored");
    // Nothing of the refused exchange: not its conversation, not its reply.
    let missing = owner
        .session_history()
        .bot_id(bot.id)
        .session_id("refused")
        .send()
        .await;
    expect_error(missing, 404, ErrorCode::SessionNotFound);
    let used = botwire_server::services::quota::count_messages(&db, &account_id, 0, None)
        .await
        .unwrap();
    assert_eq!(used, 1, "the stored exchange's message alone is counted");
}

/// Messages sent at once are recorded together (a group commit, `store::chat::ExchangeQueue`):
/// each is stored once, in its own session, counted once, and the first messages of a session
/// that race each other end up in one conversation.
async fn chat_send_of_messages_at_once_stores_and_counts_each_once(ctx: &TestContext) {
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
        let history = history(&owner, bot.id, s).await;
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
    let used = botwire_server::services::quota::count_messages(&db, &account_id, 0, None)
        .await
        .unwrap();
    assert_eq!(used, i64::try_from(replies.len()).unwrap());
}

on_both_databases!(
    chat_send_of_messages_at_once_stores_and_counts_each_once,
    a_failed_batch_stores_each_exchange_that_can_be_stored,
);
