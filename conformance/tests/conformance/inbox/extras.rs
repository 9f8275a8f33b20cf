//! `note_create`/`note_list`, `canned_response_*`, `inbox_view_*` and
//! `conversation_summary_get`: what agents keep beside conversations.

use super::{desk, handed_off, reply};
use crate::conformance::support::chat::history;
use crate::conformance::support::{create_key, expect_error, expect_invalid_field, x_api_key};
use botwire_client::types::{self, ErrorCode};
use botwire_conformance::{TestContext, on_both_databases};
use uuid::Uuid;

async fn write(client: &botwire_client::Client, conversation: Uuid, text: &str) -> types::Note {
    let response = client
        .note_create()
        .conversation_id(conversation)
        .body(types::NoteCreate::builder().content(text))
        .send()
        .await
        .expect("note_create");
    assert_eq!(response.status(), 201);
    response.into_inner()
}

async fn notes_stay_with_agents_and_resolve_mentions(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo", "bruno"], &[]).await;
    let (cleo, bruno) = (&desk.agents[0], &desk.agents[1]);
    let conversation = handed_off(&desk, "notes-1").await;
    let first = write(
        &cleo.client,
        conversation,
        "@BRUNO@desk.test and @nobody@elsewhere.test: mail me at cleo@desk.test",
    )
    .await;
    assert_eq!(
        first.mentions,
        vec![bruno.id],
        "only people of the bot are mentioned"
    );
    // With an API key, the account's user writes it.
    let key = create_key(&desk.owner.client, "notes", None, None).await;
    let second = write(
        &x_api_key(ctx, &key.key),
        conversation,
        "checked by the account",
    )
    .await;
    assert_eq!(second.author_id, desk.owner.id);
    let listed = bruno
        .client
        .note_list()
        .conversation_id(conversation)
        .send()
        .await
        .expect("note_list")
        .into_inner();
    assert_eq!(
        listed.data.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![first.id, second.id]
    );
    assert_eq!(listed.pagination.total, 2);
    let visible = history(&desk.visitor, desk.bot.id, "notes-1").await;
    assert!(visible.iter().all(|m| !m.content.contains("checked by")));
    expect_error(
        desk.visitor
            .note_list()
            .conversation_id(conversation)
            .send()
            .await,
        401,
        ErrorCode::Unauthorized,
    );
}

async fn canned_responses_fill_their_placeholders(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo"], &["cleo"]).await;
    let cleo = &desk.agents[0];
    let create = |shortcut: &str, content: &str| {
        desk.owner
            .client
            .canned_response_create()
            .bot_id(desk.bot.id)
            .body(
                types::CannedResponseCreate::builder()
                    .shortcut(shortcut)
                    .title("Greeting")
                    .content(content),
            )
            .send()
    };
    let hello = create(
        "hello",
        "Hi {{ contact.name }}, {{agent.name}} of {{bot.name}} here.",
    )
    .await
    .expect("canned_response_create")
    .into_inner();
    create("bye", "Bye!").await.expect("canned_response_create");
    expect_error(create("hello", "Again").await, 409, ErrorCode::Conflict);
    expect_invalid_field(
        create("order", "Order {{order.id}} shipped").await,
        "content",
    );
    let listed = cleo
        .client
        .canned_response_list()
        .bot_id(desk.bot.id)
        .limit(1u64)
        .send()
        .await
        .expect("canned_response_list")
        .into_inner();
    assert_eq!(listed.data[0].shortcut, "bye", "by shortcut");
    let next = cleo
        .client
        .canned_response_list()
        .bot_id(desk.bot.id)
        .cursor(listed.pagination.next_cursor.expect("a next page"))
        .send()
        .await
        .expect("canned_response_list")
        .into_inner();
    assert_eq!(
        next.data.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![hello.id]
    );

    let conversation = handed_off(&desk, "canned-1").await;
    let contact = desk
        .owner
        .client
        .contact_create()
        .body(types::ContactCreate::builder().name(Some("Léa".parse().expect("a name"))))
        .send()
        .await
        .expect("contact_create")
        .into_inner();
    desk.owner
        .client
        .session_contact_link()
        .bot_id(desk.bot.id)
        .session_id("canned-1")
        .body(types::SessionContactLink::builder().contact_id(Some(contact.id)))
        .send()
        .await
        .expect("session_contact_link");
    let sent = cleo
        .client
        .conversation_reply()
        .conversation_id(conversation)
        .body(types::ConversationReply::builder().canned_response_id(Some(hello.id)))
        .send()
        .await
        .expect("conversation_reply")
        .into_inner();
    assert_eq!(sent.content, "Hi Léa, Cleo of Desk here.");
    expect_error(
        cleo.client
            .conversation_reply()
            .conversation_id(conversation)
            .body(types::ConversationReply::builder().canned_response_id(Some(Uuid::new_v4())))
            .send()
            .await,
        404,
        ErrorCode::CannedResponseNotFound,
    );
    let gone = cleo
        .client
        .canned_response_delete()
        .canned_response_id(hello.id)
        .send()
        .await;
    assert_eq!(gone.expect("canned_response_delete").status(), 204);
    expect_error(
        cleo.client
            .canned_response_delete()
            .canned_response_id(hello.id)
            .send()
            .await,
        404,
        ErrorCode::CannedResponseNotFound,
    );
}

async fn inbox_views_are_their_users_own(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo"], &[]).await;
    let cleo = &desk.agents[0].client;
    let create = |name: &str, bot: Option<Uuid>| {
        cleo.inbox_view_create()
            .body(
                types::InboxViewCreate::builder()
                    .name(name)
                    .bot_id(bot)
                    .filters(
                        types::InboxViewFiltersInput::builder()
                            .tag(Some(" VIP ".parse().expect("a tag")))
                            .status(Some(types::ConversationStatus::Open)),
                    ),
            )
            .send()
    };
    let first = create("Mine", None)
        .await
        .expect("inbox_view_create")
        .into_inner();
    assert_eq!(first.filters.tag.as_deref(), Some("vip"));
    let second = create("Desk", Some(desk.bot.id))
        .await
        .expect("inbox_view_create")
        .into_inner();
    expect_error(create("Mine", None).await, 409, ErrorCode::Conflict);
    expect_error(
        create("Elsewhere", Some(Uuid::new_v4())).await,
        404,
        ErrorCode::BotNotFound,
    );
    let listed = cleo
        .inbox_view_list()
        .send()
        .await
        .expect("inbox_view_list")
        .into_inner();
    assert_eq!(
        listed.data.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![second.id, first.id],
        "newest first"
    );
    // Another user's view is not found; a key has no views.
    expect_error(
        desk.owner
            .client
            .inbox_view_delete()
            .view_id(first.id)
            .send()
            .await,
        404,
        ErrorCode::ViewNotFound,
    );
    let key = create_key(&desk.owner.client, "views", None, None).await;
    expect_error(
        x_api_key(ctx, &key.key).inbox_view_list().send().await,
        401,
        ErrorCode::Unauthorized,
    );
    let deleted = cleo.inbox_view_delete().view_id(first.id).send().await;
    assert_eq!(deleted.expect("inbox_view_delete").status(), 204);
}

async fn conversation_summary_get_tells_the_story_and_caches_it(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo"], &[]).await;
    let cleo = &desk.agents[0];
    let conversation = handed_off(&desk, "summary-1").await;
    reply(
        &cleo.client,
        conversation,
        "We ship to 30 countries. Which one is yours?",
    )
    .await;
    let summarize = || {
        cleo.client
            .conversation_summary_get()
            .conversation_id(conversation)
            .send()
    };
    let summary = summarize()
        .await
        .expect("conversation_summary_get")
        .into_inner();
    assert_eq!(summary.engine, types::ConversationSummaryEngine::Offline);
    assert_eq!(summary.message_count, 4);
    for part in [
        "The visitor asked: “Do you ship abroad?”",
        "handed to a human (wants a person)",
        "An agent replied: “We ship to 30 countries.”",
    ] {
        assert!(
            summary.summary.contains(part),
            "{part:?} in {:?}",
            summary.summary
        );
    }
    let again = summarize()
        .await
        .expect("conversation_summary_get")
        .into_inner();
    assert_eq!(again.generated_at, summary.generated_at, "cached");
    reply(&cleo.client, conversation, "Sorted.").await;
    let newer = summarize()
        .await
        .expect("conversation_summary_get")
        .into_inner();
    assert_eq!(newer.message_count, 5);
    assert!(
        newer
            .summary
            .contains("Agents replied 2 times; last: “Sorted.”"),
        "{}",
        newer.summary
    );
}

on_both_databases!(
    notes_stay_with_agents_and_resolve_mentions,
    canned_responses_fill_their_placeholders,
    inbox_views_are_their_users_own,
    conversation_summary_get_tells_the_story_and_caches_it,
);

/// An LLM bot's summary is its LLM's, from the whole transcript; when the LLM fails, the
/// offline summarizer writes it.
async fn conversation_summary_get_uses_the_bots_llm(ctx: &TestContext) {
    use botwire_server::engine::llm::scripted::{self, ScriptedLlm};
    let written = "The visitor asked about shipping abroad; an agent confirmed it.";
    let llm = ScriptedLlm::start(scripted::completion(&[written]))
        .await
        .expect("scripted LLM");
    let desk = desk(ctx, &["cleo"], &[]).await;
    crate::conformance::support::llm::use_llm(
        &desk.owner.client,
        desk.bot.id,
        Some(&llm.base_url()),
    )
    .await;
    let conversation = handed_off(&desk, "llm-summary").await;
    reply(
        &desk.agents[0].client,
        conversation,
        "Yes, we ship to 30 countries.",
    )
    .await;
    let summarize = || {
        desk.agents[0]
            .client
            .conversation_summary_get()
            .conversation_id(conversation)
            .send()
    };
    let summary = summarize()
        .await
        .expect("conversation_summary_get")
        .into_inner();
    assert_eq!(summary.engine, types::ConversationSummaryEngine::Llm);
    assert_eq!(summary.summary, written);
    let asked = llm.requests().last().cloned().expect("the LLM was asked");
    let prompt = asked.body["messages"].to_string();
    assert!(prompt.contains("Summarize"), "{prompt}");
    assert!(prompt.contains("Visitor: Do you ship abroad?"), "{prompt}");
    assert!(
        prompt.contains("Agent: Yes, we ship to 30 countries."),
        "{prompt}"
    );

    // An LLM that cannot be reached: the offline summary.
    crate::conformance::support::llm::use_llm(
        &desk.owner.client,
        desk.bot.id,
        Some("http://127.0.0.1:9/v1"),
    )
    .await;
    reply(&desk.agents[0].client, conversation, "Anything else?").await;
    let offline = summarize()
        .await
        .expect("conversation_summary_get")
        .into_inner();
    assert_eq!(offline.engine, types::ConversationSummaryEngine::Offline);
    assert!(
        offline.summary.starts_with("The visitor asked"),
        "{}",
        offline.summary
    );
}

on_both_databases!(conversation_summary_get_uses_the_bots_llm);
