//! The `chat` operations, a module per operation or pair: `send` (`chat_send`), `stream`
//! (`chat_stream`), `sessions` (`session_list`, `session_history`, `session_delete`),
//! `conversations` (`conversation_get`, `conversation_escalate`, `conversation_handback`,
//! `feedback_create`); here, another account's conversations and sessions, not found by any of
//! them.

mod conversations;
mod send;
mod sessions;
mod stream;

use crate::conformance::support::chat::{FAQ, ask, bot_with_faq, conversation, history, message};
use crate::conformance::support::{bearer, create_bot, error_of, refused_as_missing, register};
use botwire_client::types::{self, ErrorCode, FeedbackRating};
use botwire_conformance::{TestContext, on_both_databases};

async fn chat_operations_on_another_accounts_conversations_and_sessions_are_not_found(
    ctx: &TestContext,
) {
    let (a, a_bot, _) = bot_with_faq(ctx, "chat-alice@example.test").await;
    let a_reply = ask(&a, a_bot.id, "alice-1", FAQ[0].0).await;
    let a_conversation = a_reply.conversation_id;
    let b_session = register(ctx, "chat-bob@example.test", "Bob").await;
    let b = &bearer(ctx, &b_session.token);
    let b_bot = create_bot(b, "Bob's bot").await;

    refused_as_missing("conversation_get", a_conversation, |id| {
        b.conversation_get().conversation_id(id).send()
    })
    .await;
    refused_as_missing("conversation_escalate", a_conversation, |id| {
        b.conversation_escalate()
            .conversation_id(id)
            .body(types::ConversationEscalate::builder())
            .send()
    })
    .await;
    refused_as_missing("conversation_handback", a_conversation, |id| {
        b.conversation_handback().conversation_id(id).send()
    })
    .await;
    refused_as_missing("feedback_create", a_conversation, |id| {
        b.feedback_create()
            .conversation_id(id)
            .body(types::FeedbackCreate::builder().rating(Some(FeedbackRating::Down)))
            .send()
    })
    .await;
    refused_as_missing("chat_send", a_bot.id, |id| {
        b.chat_send()
            .body(message(Some(id), Some("alice-1"), "Mine now"))
            .send()
    })
    .await;
    refused_as_missing("session_list", a_bot.id, |id| {
        b.session_list().bot_id(id).send()
    })
    .await;
    refused_as_missing("session_history", a_bot.id, |id| {
        b.session_history().bot_id(id).session_id("alice-1").send()
    })
    .await;
    refused_as_missing("session_delete", a_bot.id, |id| {
        b.session_delete().bot_id(id).session_id("alice-1").send()
    })
    .await;
    // A's session id under B's bot is a session B does not have.
    for (what, result) in [
        (
            "session_history",
            error_of(
                b.session_history()
                    .bot_id(b_bot.id)
                    .session_id("alice-1")
                    .send()
                    .await,
            ),
        ),
        (
            "session_delete",
            error_of(
                b.session_delete()
                    .bot_id(b_bot.id)
                    .session_id("alice-1")
                    .send()
                    .await,
            ),
        ),
    ] {
        assert_eq!(result.status(), 404, "{what}");
        assert_eq!(result.error.code, ErrorCode::SessionNotFound, "{what}");
    }

    let after = conversation(&a, a_conversation).await;
    assert!(!after.conversation.handed_off);
    assert_eq!(after.conversation.message_count, 2);
    assert_eq!(history(&a, a_bot.id, "alice-1").await.len(), 2);
}

on_both_databases!(chat_operations_on_another_accounts_conversations_and_sessions_are_not_found);
