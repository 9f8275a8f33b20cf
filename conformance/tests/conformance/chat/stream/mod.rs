//! `chat_stream`: the reply as Server-Sent Events (`delta`s that add up to the reply, its
//! `sources`, then `done`, the stored reply); errors found before the stream starts are
//! ordinary JSON envelopes; a retry with the same `Idempotency-Key` replays the stored reply
//! (a sent one too, and a streamed one to `chat_send`). The LLM engine's streams are in `llm`
//! and `llm_e2e`.

mod llm;
mod llm_e2e;

use crate::conformance::support::chat::{
    Event, FAQ, UNKNOWN_QUESTION, assert_fallback, assert_faq_answer, history, message,
    parse_events, stream, unstreamed, upload_faq,
};
use crate::conformance::support::{
    bearer, create_bot, expect_error, expect_invalid_field, register, widget,
};
use botwire_client::Client;
use botwire_client::types::{self, ErrorCode, MessageRole};
use botwire_conformance::{TestContext, on_both_databases};
use uuid::Uuid;

async fn chat_stream_sends_the_reply_as_server_sent_events(ctx: &TestContext) {
    let session = register(ctx, "stream@example.test", "Streamer").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Streaming").await;
    let faq = upload_faq(&owner, bot.id).await;

    let streamed = stream(
        &owner,
        message(Some(bot.id), Some("stream-1"), FAQ[0].0),
        None,
    )
    .await;
    let done = &streamed.done;
    assert_faq_answer(done, &faq, FAQ[0].1);
    assert!(streamed.deltas.len() > 1, "{:?}", streamed.events);
    assert_eq!(Some(streamed.deltas.concat()), done.reply);
    assert_eq!(streamed.sources.as_ref(), Some(&done.sources));
    // `done` is the stored reply.
    let messages = history(&owner, bot.id, "stream-1").await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].id, done.user_message_id);
    assert_eq!(messages[0].content, FAQ[0].0);
    assert_eq!(Some(messages[1].id), done.message_id);
    assert_eq!(messages[1].role, MessageRole::Assistant);
    assert_eq!(Some(&messages[1].content), done.reply.as_ref());
    assert_eq!(messages[1].sources, done.sources);

    // The fallback streams the same way, with its way to a human.
    let fallback = stream(
        &owner,
        message(Some(bot.id), Some("stream-1"), UNKNOWN_QUESTION),
        None,
    )
    .await;
    assert_fallback(&fallback.done, &bot.settings.fallback_message);
    assert_eq!(Some(fallback.deltas.concat()), fallback.done.reply);
    assert_eq!(fallback.done.conversation_id, done.conversation_id);
    assert_eq!(history(&owner, bot.id, "stream-1").await.len(), 4);

    // A visitor streams too, in a session the server makes.
    let visitor = stream(
        &widget(ctx, &bot.widget_token),
        message(None, None, FAQ[1].0),
        None,
    )
    .await;
    assert_faq_answer(&visitor.done, &faq, FAQ[1].1);
    assert!(visitor.done.session_id.starts_with("vs_"));

    // While a human has taken over: `done` with no reply, and nothing to stream before it.
    owner
        .conversation_escalate()
        .conversation_id(done.conversation_id)
        .body(types::ConversationEscalate::builder())
        .send()
        .await
        .expect("conversation_escalate");
    let silent = stream(
        &owner,
        message(Some(bot.id), Some("stream-1"), FAQ[2].0),
        None,
    )
    .await;
    assert_eq!(silent.done.reply, None);
    assert_eq!(silent.done.message_id, None);
    assert!(silent.done.handed_off);
    assert!(silent.deltas.is_empty(), "{:?}", silent.events);
    let messages = history(&owner, bot.id, "stream-1").await;
    assert_eq!(messages.last().map(|m| m.role), Some(MessageRole::User));
}

/// The contract: "When a human has taken over, the stream is a single `done` with `reply`
/// null."
async fn chat_stream_of_a_handed_off_conversation_is_a_single_done(ctx: &TestContext) {
    let session = register(ctx, "stream-handoff@example.test", "Streamer").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Streaming").await;
    upload_faq(&owner, bot.id).await;
    let first = stream(&owner, message(Some(bot.id), Some("s-1"), FAQ[0].0), None).await;
    owner
        .conversation_escalate()
        .conversation_id(first.done.conversation_id)
        .body(types::ConversationEscalate::builder())
        .send()
        .await
        .expect("conversation_escalate");
    let silent = stream(&owner, message(Some(bot.id), Some("s-1"), FAQ[1].0), None).await;
    let names: Vec<&str> = silent.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["done"], "{:?}", silent.events);
}

/// A stream that must fail before it starts, as a JSON envelope.
#[allow(clippy::result_large_err)] // the generated client's own error type
async fn send(
    client: &Client,
    body: types::builder::ChatSend,
) -> Result<botwire_client::ResponseValue<()>, botwire_client::Error<types::Error>> {
    unstreamed(client.chat_stream().body(body).send().await)
}

async fn chat_stream_errors_before_the_stream_are_json_envelopes(ctx: &TestContext) {
    let session = register(ctx, "stream-errors@example.test", "Streamer").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Streaming").await;
    let other = create_bot(&owner, "Other").await;
    let json = |response: &botwire_client::ResponseValue<types::Error>| {
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
    };

    owner
        .bot_update()
        .bot_id(bot.id)
        .body(
            types::BotUpdate::builder().settings(Some(types::BotSettingsInput {
                message_max_length: Some(10.try_into().unwrap()),
                ..Default::default()
            })),
        )
        .send()
        .await
        .expect("bot_update");
    let too_long = send(&owner, message(Some(bot.id), Some("e-1"), "eleven char")).await;
    expect_invalid_field(too_long, "message");
    let no_session = send(&owner, message(Some(bot.id), None, "Hi")).await;
    expect_invalid_field(no_session, "session_id");
    let visitor = widget(ctx, &bot.widget_token);
    let elsewhere = send(&visitor, message(Some(other.id), None, "Hi")).await;
    json(&expect_error(elsewhere, 403, ErrorCode::Forbidden));
    let missing = send(&owner, message(Some(Uuid::new_v4()), Some("e-1"), "Hi")).await;
    json(&expect_error(missing, 404, ErrorCode::BotNotFound));

    owner
        .bot_deactivate()
        .bot_id(bot.id)
        .send()
        .await
        .expect("bot_deactivate");
    let inactive = send(&owner, message(Some(bot.id), Some("e-1"), "Hi")).await;
    json(&expect_error(inactive, 403, ErrorCode::BotInactive));
    let inactive = send(&visitor, message(None, None, "Hi")).await;
    expect_error(inactive, 403, ErrorCode::BotInactive);

    // Nothing was stored.
    let sessions = owner.session_list().bot_id(bot.id).send().await;
    assert_eq!(sessions.expect("session_list").pagination.total, 0);
}

async fn chat_stream_retried_with_an_idempotency_key_replays_the_stored_reply(ctx: &TestContext) {
    let session = register(ctx, "stream-retry@example.test", "Streamer").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Streaming").await;
    let faq = upload_faq(&owner, bot.id).await;

    let sent = owner
        .chat_send()
        .idempotency_key("stream-key-1")
        .body(message(Some(bot.id), Some("retry-1"), FAQ[0].0))
        .send()
        .await
        .expect("chat_send")
        .into_inner();
    let replayed = stream(
        &owner,
        message(Some(bot.id), Some("retry-1"), FAQ[0].0),
        Some("stream-key-1"),
    )
    .await;
    assert_eq!(replayed.done, sent, "the stored reply, ids included");
    assert_eq!(Some(replayed.deltas.concat()), sent.reply);
    // A stream first, then the same retry as a plain send.
    let streamed = stream(
        &owner,
        message(Some(bot.id), Some("retry-1"), FAQ[1].0),
        Some("stream-key-2"),
    )
    .await;
    let again = stream(
        &owner,
        message(Some(bot.id), Some("retry-1"), FAQ[1].0),
        Some("stream-key-2"),
    )
    .await;
    assert_eq!(again.done, streamed.done);
    let resent = owner
        .chat_send()
        .idempotency_key("stream-key-2")
        .body(message(Some(bot.id), Some("retry-1"), FAQ[1].0))
        .send()
        .await
        .expect("chat_send replay");
    assert_eq!(resent.into_inner(), streamed.done);
    assert_eq!(
        history(&owner, bot.id, "retry-1").await.len(),
        4,
        "stored once each"
    );

    let conflict = owner
        .chat_stream()
        .idempotency_key("stream-key-1")
        .body(message(Some(bot.id), Some("retry-1"), FAQ[2].0))
        .send()
        .await;
    expect_error(unstreamed(conflict), 409, ErrorCode::Conflict);
    assert_faq_answer(&replayed.done, &faq, FAQ[0].1);
}

on_both_databases!(
    chat_stream_of_a_handed_off_conversation_is_a_single_done,
    chat_stream_sends_the_reply_as_server_sent_events,
    chat_stream_errors_before_the_stream_are_json_envelopes,
    chat_stream_retried_with_an_idempotency_key_replays_the_stored_reply,
);

#[test]
fn chat_stream_events_are_parsed_as_the_contract_writes_them() {
    let body =
        "event: delta\ndata: {\"text\":\"Hello \"}\n\n: ping\n\nevent: done\ndata: {\"a\":1}\n\n";
    let events = parse_events(body);
    assert_eq!(
        events,
        [
            Event {
                name: "delta".into(),
                data: serde_json::json!({"text": "Hello "})
            },
            Event {
                name: "done".into(),
                data: serde_json::json!({"a": 1})
            },
        ]
    );
}
