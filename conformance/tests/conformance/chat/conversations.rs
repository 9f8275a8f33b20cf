//! `conversation_get`, `conversation_escalate` and `conversation_handback`: a conversation
//! handed to a human is not answered until it is handed back; `feedback_create`: a reply or
//! the whole conversation rated.

use crate::conformance::support::chat::{
    FAQ, ask, assert_faq_answer, bot_with_faq, conversation, history,
};
use crate::conformance::support::{expect_error, expect_invalid_field, some};
use botwire_client::types::{self, ConversationStatus, ErrorCode, FeedbackRating, MessageRole};
use botwire_conformance::{TestContext, on_both_databases};
use uuid::Uuid;

async fn conversation_escalate_silences_the_bot_until_conversation_handback(ctx: &TestContext) {
    let (owner, bot, faq) = bot_with_faq(ctx, "handoff@example.test").await;
    let first = ask(&owner, bot.id, "handoff-1", FAQ[0].0).await;

    let escalated = owner
        .conversation_escalate()
        .conversation_id(first.conversation_id)
        .body(
            types::ConversationEscalate::builder()
                .reason(some::<types::ConversationEscalateReason>("Wants a person")),
        )
        .send()
        .await
        .expect("conversation_escalate");
    assert_eq!(escalated.status(), 200);
    let escalated = escalated.into_inner();
    assert!(escalated.handed_off);
    assert_eq!(escalated.status, ConversationStatus::Pending);
    assert_eq!(
        escalated.message_count, 3,
        "a system message notes the handoff"
    );
    let got = conversation(&owner, first.conversation_id).await;
    assert_eq!(got.conversation, escalated);
    let note = got.messages.last().expect("messages");
    assert_eq!(note.role, MessageRole::System);
    assert_eq!(escalated.last_message_at, Some(note.created_at));

    // The bot is silent: the message is stored for the agent.
    let silent = ask(&owner, bot.id, "handoff-1", FAQ[1].0).await;
    assert_eq!(silent.reply, None);
    assert_eq!(silent.message_id, None);
    assert!(silent.handed_off);
    assert_eq!(silent.engine, None);
    assert_eq!(silent.sources, vec![]);
    assert_eq!(silent.suggested_actions, vec![]);
    assert_eq!(silent.conversation_id, first.conversation_id);
    let messages = history(&owner, bot.id, "handoff-1").await;
    let roles: Vec<MessageRole> = messages.iter().map(|m| m.role).collect();
    use MessageRole::{Assistant, System, User};
    assert_eq!(roles, [User, Assistant, System, User]);
    assert_eq!(messages[3].id, silent.user_message_id);
    let got = conversation(&owner, first.conversation_id).await;
    assert_eq!(got.conversation.status, ConversationStatus::Pending);
    assert_eq!(got.conversation.message_count, 4);

    // Escalating again changes nothing.
    let again = owner
        .conversation_escalate()
        .conversation_id(first.conversation_id)
        .body(types::ConversationEscalate::builder())
        .send()
        .await
        .expect("conversation_escalate again");
    assert_eq!(again.into_inner(), got.conversation);

    // Handed back: the bot answers again; the status is kept until then.
    let back = owner
        .conversation_handback()
        .conversation_id(first.conversation_id)
        .send()
        .await
        .expect("conversation_handback");
    assert_eq!(back.status(), 200);
    assert!(!back.handed_off);
    assert_eq!(
        back.status,
        ConversationStatus::Pending,
        "handback keeps the status"
    );
    assert_eq!(back.message_count, 4);
    let answered = ask(&owner, bot.id, "handoff-1", FAQ[2].0).await;
    assert_faq_answer(&answered, &faq, FAQ[2].1);
    assert!(!answered.handed_off);
    let got = conversation(&owner, first.conversation_id).await;
    assert_eq!(got.conversation.status, ConversationStatus::Open);
    assert_eq!(got.messages.len(), 6);
    // Handing back a conversation that is not handed off returns it unchanged.
    let unchanged = owner
        .conversation_handback()
        .conversation_id(first.conversation_id)
        .send()
        .await
        .expect("conversation_handback again");
    assert_eq!(unchanged.into_inner(), got.conversation);
    expect_error(
        owner
            .conversation_handback()
            .conversation_id(Uuid::new_v4())
            .send()
            .await,
        404,
        ErrorCode::ConversationNotFound,
    );
}

async fn feedback_create_rates_a_reply_or_the_whole_conversation(ctx: &TestContext) {
    let (owner, bot, _) = bot_with_faq(ctx, "feedback@example.test").await;
    let reply = ask(&owner, bot.id, "feedback-1", FAQ[0].0).await;
    let other = ask(&owner, bot.id, "feedback-2", FAQ[1].0).await;
    let message_id = reply.message_id.expect("a reply");
    let rate = |conversation: Uuid, body: types::builder::FeedbackCreate| {
        owner
            .feedback_create()
            .conversation_id(conversation)
            .body(body)
            .send()
    };

    let up = rate(
        reply.conversation_id,
        types::FeedbackCreate::builder()
            .message_id(Some(message_id))
            .rating(Some(FeedbackRating::Up)),
    )
    .await
    .expect("feedback_create");
    assert_eq!(up.status(), 201);
    assert_eq!(up.conversation_id, reply.conversation_id);
    assert_eq!(up.message_id, Some(message_id));
    assert_eq!(up.rating, Some(FeedbackRating::Up));
    assert_eq!((up.csat, up.comment.as_deref()), (None, None));
    for csat in [1u64, 5] {
        let whole = rate(
            reply.conversation_id,
            types::FeedbackCreate::builder()
                .csat(std::num::NonZeroU64::new(csat))
                .comment(some::<types::FeedbackCreateComment>("Quick and clear")),
        )
        .await
        .expect("feedback_create with a CSAT score");
        assert_eq!(whole.status(), 201);
        assert_eq!(whole.message_id, None);
        assert_eq!(whole.rating, None);
        assert_eq!(whole.csat.map(|c| c.get()), Some(csat));
        assert_eq!(whole.comment.as_deref(), Some("Quick and clear"));
        assert_ne!(whole.id, up.id);
    }

    // A message of another conversation is not found; the user's own message is no reply.
    let foreign = rate(
        reply.conversation_id,
        types::FeedbackCreate::builder()
            .message_id(other.message_id)
            .rating(Some(FeedbackRating::Down)),
    )
    .await;
    expect_error(foreign, 404, ErrorCode::MessageNotFound);
    let not_a_reply = rate(
        reply.conversation_id,
        types::FeedbackCreate::builder()
            .message_id(Some(reply.user_message_id))
            .rating(Some(FeedbackRating::Down)),
    )
    .await;
    expect_invalid_field(not_a_reply, "message_id");
    expect_invalid_field(
        rate(
            reply.conversation_id,
            types::FeedbackCreate::builder().csat(std::num::NonZeroU64::new(6)),
        )
        .await,
        "csat",
    );
    expect_error(
        rate(reply.conversation_id, types::FeedbackCreate::builder()).await,
        422,
        ErrorCode::ValidationFailed,
    );
    expect_error(
        rate(
            Uuid::new_v4(),
            types::FeedbackCreate::builder().rating(Some(FeedbackRating::Up)),
        )
        .await,
        404,
        ErrorCode::ConversationNotFound,
    );
}

on_both_databases!(
    conversation_escalate_silences_the_bot_until_conversation_handback,
    feedback_create_rates_a_reply_or_the_whole_conversation,
);
