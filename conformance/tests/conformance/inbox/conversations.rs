//! `conversation_reply`, `conversation_status_set`, `conversation_tags_set`,
//! `inbox_conversation_list` and `inbox_stats_get`: what agents do to a conversation, and the
//! inbox that lists and counts them.

use super::{desk, handed_off, reply};
use crate::conformance::support::chat::{ask, history};
use crate::conformance::support::{create_key, expect_error, expect_invalid_field, x_api_key};
use botwire_client::types::{self, ConversationStatus, ErrorCode, MessageRole};
use botwire_conformance::{TestContext, on_both_databases};
use std::collections::BTreeSet;
use uuid::Uuid;

async fn status_set(
    client: &botwire_client::Client,
    conversation: Uuid,
    status: ConversationStatus,
) -> types::Conversation {
    client
        .conversation_status_set()
        .conversation_id(conversation)
        .body(types::ConversationStatusSet::builder().status(status))
        .send()
        .await
        .expect("conversation_status_set")
        .into_inner()
}

async fn conversation_reply_takes_the_conversation_over(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo"], &[]).await;
    let key = create_key(&desk.owner.client, "desk", None, None).await;
    let with_key = x_api_key(ctx, &key.key);
    let first = ask(
        &desk.visitor,
        desk.bot.id,
        "takeover-1",
        "Do you ship abroad?",
    )
    .await;
    let conversation = first.conversation_id;
    // An API key's reply has no agent; the bot goes quiet.
    let message = reply(&with_key, conversation, "A person here: yes, we do.").await;
    assert_eq!(message.role, MessageRole::Agent);
    assert_eq!(message.agent_id, None);
    let after = ask(
        &desk.visitor,
        desk.bot.id,
        "takeover-1",
        "Great, and to Norway?",
    )
    .await;
    assert!(after.handed_off);
    assert_eq!(
        after.reply, None,
        "the bot stays silent once a human has it"
    );
    let messages = history(&desk.visitor, desk.bot.id, "takeover-1").await;
    assert!(
        messages
            .iter()
            .any(|m| m.id == message.id && m.role == MessageRole::Agent)
    );
    // A signed-in agent's reply makes the unassigned conversation theirs.
    let cleo = &desk.agents[0];
    let answered = reply(&cleo.client, conversation, "Norway too.").await;
    assert_eq!(answered.agent_id, Some(cleo.id));
    let now = desk
        .owner
        .client
        .conversation_get()
        .conversation_id(conversation)
        .send()
        .await
        .expect("conversation_get")
        .into_inner()
        .conversation;
    assert_eq!(now.status, ConversationStatus::Open);
    assert_eq!(now.assignee_id, Some(cleo.id));
    // Neither or both of content and a canned response: 422; a closed conversation: 409.
    for body in [
        types::ConversationReply::builder(),
        types::ConversationReply::builder()
            .content(Some("text".parse().expect("text")))
            .canned_response_id(Some(Uuid::new_v4())),
    ] {
        expect_invalid_field(
            cleo.client
                .conversation_reply()
                .conversation_id(conversation)
                .body(body)
                .send()
                .await,
            "content",
        );
    }
    status_set(&cleo.client, conversation, ConversationStatus::Closed).await;
    expect_error(
        cleo.client
            .conversation_reply()
            .conversation_id(conversation)
            .body(types::ConversationReply::builder().content(Some("late".parse().expect("t"))))
            .send()
            .await,
        409,
        ErrorCode::Conflict,
    );
    // A widget token is no credential of the agents' operations.
    expect_error(
        desk.visitor
            .conversation_reply()
            .conversation_id(conversation)
            .body(types::ConversationReply::builder().content(Some("me".parse().expect("t"))))
            .send()
            .await,
        401,
        ErrorCode::Unauthorized,
    );
}

async fn conversation_status_set_follows_the_lifecycle(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo"], &[]).await;
    let cleo = &desk.agents[0].client;
    let conversation = handed_off(&desk, "life-1").await;
    let resolved = status_set(cleo, conversation, ConversationStatus::Resolved).await;
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    let same = status_set(cleo, conversation, ConversationStatus::Resolved).await;
    assert_eq!(
        same.updated_at, resolved.updated_at,
        "the same status changes nothing"
    );
    // A visitor writing to a resolved conversation reopens it: waiting for a human again.
    ask(&desk.visitor, desk.bot.id, "life-1", "One more question").await;
    let reopened = desk
        .owner
        .client
        .conversation_get()
        .conversation_id(conversation)
        .send()
        .await
        .expect("conversation_get")
        .into_inner()
        .conversation;
    assert_eq!(reopened.status, ConversationStatus::Pending);
    reply(cleo, conversation, "Sure.").await;
    let stats = desk
        .owner
        .client
        .inbox_stats_get()
        .bot_id(desk.bot.id)
        .send()
        .await
        .expect("inbox_stats_get")
        .into_inner();
    assert_eq!((stats.open, stats.pending, stats.resolved), (1, 0, 0));
    assert_eq!(stats.handed_off, 1);
    assert_eq!(stats.unassigned, 0, "the replying agent took it");
    let first_response = stats
        .average_first_response_seconds
        .expect("the handoff was answered");
    assert!((0.0..60.0).contains(&first_response), "{first_response}");
}

async fn conversation_tags_set_normalises_tags(ctx: &TestContext) {
    let desk = desk(ctx, &[], &[]).await;
    let owner = &desk.owner.client;
    let conversation = handed_off(&desk, "tags-1").await;
    let set = |tags: Vec<&str>| {
        owner
            .conversation_tags_set()
            .conversation_id(conversation)
            .body(
                types::ConversationTagsSet::builder().tags(
                    tags.into_iter()
                        .map(|t| t.parse().expect("a tag"))
                        .collect::<Vec<_>>(),
                ),
            )
            .send()
    };
    let tagged = set(vec!["Billing", " billing", "VIP "])
        .await
        .expect("tags")
        .into_inner();
    assert_eq!(tagged.tags, vec!["billing", "vip"]);
    expect_invalid_field(set(vec!["ok", "   "]).await, "tags[1]");
    let cleared = set(vec![]).await.expect("tags").into_inner();
    assert!(cleared.tags.is_empty());
}

async fn inbox_conversation_list_filters_and_pages(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo"], &[]).await;
    let cleo = &desk.agents[0];
    let owner = &desk.owner.client;
    let mut handed = Vec::new();
    for i in 0..3 {
        handed.push(handed_off(&desk, &format!("list-{i}")).await);
    }
    let bot_only = ask(&desk.visitor, desk.bot.id, "list-bot", "Opening hours?").await;
    owner
        .conversation_tags_set()
        .conversation_id(handed[1])
        .body(types::ConversationTagsSet::builder().tags(vec!["vip".parse().expect("t")]))
        .send()
        .await
        .expect("conversation_tags_set");
    owner
        .conversation_assign()
        .conversation_id(handed[2])
        .body(types::ConversationAssign::builder().assignee_id(Some(cleo.id)))
        .send()
        .await
        .expect("conversation_assign");
    let ids =
        |list: types::ConversationList| -> Vec<Uuid> { list.data.iter().map(|c| c.id).collect() };
    // Most recent activity first.
    let all = cleo
        .client
        .inbox_conversation_list()
        .bot_id(desk.bot.id)
        .send()
        .await
        .expect("inbox_conversation_list")
        .into_inner();
    assert_eq!(all.pagination.total, 4);
    assert_eq!(
        ids(all),
        vec![bot_only.conversation_id, handed[2], handed[1], handed[0]]
    );
    let list = |f: &dyn Fn(
        botwire_client::builder::InboxConversationList<'_>,
    ) -> botwire_client::builder::InboxConversationList<'_>| {
        let request = f(cleo.client.inbox_conversation_list().bot_id(desk.bot.id));
        async move {
            request
                .send()
                .await
                .expect("inbox_conversation_list")
                .into_inner()
        }
    };
    assert_eq!(
        ids(list(&|r| r.handed_off(true)).await),
        vec![handed[2], handed[1], handed[0]]
    );
    assert_eq!(
        ids(list(&|r| r.handed_off(false)).await),
        vec![bot_only.conversation_id]
    );
    assert_eq!(ids(list(&|r| r.tag("VIP")).await), vec![handed[1]]);
    assert_eq!(
        ids(list(&|r| r.assignee_id(cleo.id)).await),
        vec![handed[2]]
    );
    assert_eq!(
        ids(list(&|r| r.status(types::InboxConversationListStatus::Pending)).await),
        vec![handed[2], handed[1], handed[0]]
    );
    // Pages of one, in the same order, each conversation once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = cleo
            .client
            .inbox_conversation_list()
            .bot_id(desk.bot.id)
            .limit(1u64);
        if let Some(cursor) = &cursor {
            request = request.cursor(cursor.clone());
        }
        let page = request.send().await.expect("a page").into_inner();
        seen.extend(page.data.iter().map(|c| c.id));
        match page.pagination.next_cursor {
            Some(next) if page.pagination.has_more => cursor = Some(next),
            _ => break,
        }
    }
    assert_eq!(seen.len(), 4);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 4);
    assert_eq!(seen[0], bot_only.conversation_id);

    // A saved view's filters, overridden by those given.
    let view = cleo
        .client
        .inbox_view_create()
        .body(
            types::InboxViewCreate::builder()
                .name("Waiting")
                .bot_id(Some(desk.bot.id))
                .filters(types::InboxViewFiltersInput::builder().handed_off(Some(true))),
        )
        .send()
        .await
        .expect("inbox_view_create")
        .into_inner();
    assert_eq!(
        ids(list(&|r| r.view_id(view.id)).await),
        vec![handed[2], handed[1], handed[0]]
    );
    assert_eq!(
        ids(list(&|r| r.view_id(view.id).handed_off(false)).await),
        vec![bot_only.conversation_id]
    );
    expect_error(
        cleo.client
            .inbox_conversation_list()
            .bot_id(desk.bot.id)
            .view_id(Uuid::new_v4())
            .send()
            .await,
        404,
        ErrorCode::ViewNotFound,
    );
    let other_bot = crate::conformance::support::create_bot(owner, "Other").await;
    expect_invalid_field(
        owner
            .inbox_conversation_list()
            .bot_id(other_bot.id)
            .view_id(
                owner
                    .inbox_view_create()
                    .body(
                        types::InboxViewCreate::builder()
                            .name("Bound")
                            .bot_id(Some(desk.bot.id))
                            .filters(types::InboxViewFiltersInput::builder()),
                    )
                    .send()
                    .await
                    .expect("inbox_view_create")
                    .into_inner()
                    .id,
            )
            .send()
            .await,
        "view_id",
    );
}

on_both_databases!(
    conversation_reply_takes_the_conversation_over,
    conversation_status_set_follows_the_lifecycle,
    conversation_tags_set_normalises_tags,
    inbox_conversation_list_filters_and_pages,
);
