//! The support flow end to end, as the issue scripts it: a visitor escalates, the only
//! available agent is auto-assigned and notified, sees the handoff on the inbox stream, writes
//! a note mentioning a colleague (who is notified), replies; the visitor's stream and history
//! show the reply and not the note; the agent resolves, and `conversation.ended` arrives
//! signed. On SQLite in one process; on PostgreSQL with the streams on a second replica.

use super::{LIVE_WAIT, desk, inbox_live, inbox_settings, online, reply, session_live};
use crate::conformance::support::chat::{ask, history};
use crate::conformance::support::webhooks::{WAIT, create_webhook, fast, verify};
use botwire_client::types::{self, ConversationStatus, MessageRole, WebhookEventType};
use botwire_conformance::receiver::Receiver;
use botwire_conformance::{Backend, TestContext, on_both_databases, run_with};
use std::time::Instant;

const NOTE: &str = "@bruno@desk.test can you check the customs rules for Norway?";

async fn notification_kinds(client: &botwire_client::Client) -> Vec<String> {
    client
        .notification_list()
        .send()
        .await
        .expect("notification_list")
        .into_inner()
        .data
        .iter()
        .map(|n| n.type_.to_string())
        .collect()
}

/// The flow, with the streams read from `stream_base` (this server, or a replica's).
async fn flow(ctx: &TestContext, stream_base: &str) {
    let desk = desk(ctx, &["cleo", "bruno"], &[]).await;
    let (cleo, bruno) = (&desk.agents[0], &desk.agents[1]);
    inbox_settings(
        &desk,
        types::BotInboxSettingsInput {
            auto_assign: Some(true),
            agent_capacity: None,
            reassign_after_seconds: None,
        },
    )
    .await;
    // Only Cleo is online: Alva (the account) and Bruno never sent a heartbeat.
    online(cleo).await;
    let receiver = Receiver::accepting().await;
    let hook = create_webhook(
        &desk.owner.client,
        desk.bot.id,
        &receiver.url("/support"),
        vec![WebhookEventType::ConversationEnded],
    )
    .await;

    let mut cleo_inbox = inbox_live(stream_base, &cleo.token, None).await;
    let first = ask(
        &desk.visitor,
        desk.bot.id,
        "flow-1",
        "Do you ship to Norway?",
    )
    .await;
    let conversation_id = first.conversation_id;
    let mut visitor_stream = session_live(
        stream_base,
        &desk.bot.widget_token,
        desk.bot.id,
        "flow-1",
        None,
    )
    .await;
    let state = visitor_stream.next("conversation", LIVE_WAIT).await;
    assert_eq!(state.data["handed_off"], false);

    let escalated = desk
        .visitor
        .conversation_escalate()
        .conversation_id(conversation_id)
        .body(types::ConversationEscalate::builder())
        .send()
        .await
        .expect("conversation_escalate")
        .into_inner();
    assert_eq!(
        escalated.assignee_id,
        Some(cleo.id),
        "assigned on handoff, and the answer says so"
    );
    let handoff = cleo_inbox.next("handoff", LIVE_WAIT).await;
    assert_eq!(handoff.data["id"], conversation_id.to_string());
    let assigned = cleo_inbox.next("assigned", LIVE_WAIT).await;
    assert_eq!(assigned.data["assignee_id"], cleo.id.to_string());
    assert!(
        notification_kinds(&cleo.client)
            .await
            .contains(&"session_assigned".to_string())
    );
    let waiting = visitor_stream.next("conversation", LIVE_WAIT).await;
    assert_eq!(waiting.data["handed_off"], true);

    let note = cleo
        .client
        .note_create()
        .conversation_id(conversation_id)
        .body(types::NoteCreate::builder().content(NOTE))
        .send()
        .await
        .expect("note_create")
        .into_inner();
    assert_eq!(note.mentions, vec![bruno.id]);
    assert_eq!(note.author_id, cleo.id);
    assert!(
        notification_kinds(&bruno.client)
            .await
            .contains(&"mention".to_string())
    );

    let sent = Instant::now();
    let answer = reply(
        &cleo.client,
        conversation_id,
        "Yes, we ship to Norway in 3 days.",
    )
    .await;
    assert_eq!(answer.role, MessageRole::Agent);
    assert_eq!(answer.agent_id, Some(cleo.id));
    let live = visitor_stream.next("message", LIVE_WAIT).await;
    assert!(
        sent.elapsed() < LIVE_WAIT,
        "the reply took {:?}",
        sent.elapsed()
    );
    assert_eq!(live.data["id"], answer.id.to_string());
    assert_eq!(live.data["role"], "agent");

    let messages = history(&desk.visitor, desk.bot.id, "flow-1").await;
    assert!(messages.iter().any(|m| m.id == answer.id));
    assert!(messages.iter().all(|m| !m.content.contains("customs")));

    let resolved = cleo
        .client
        .conversation_status_set()
        .conversation_id(conversation_id)
        .body(types::ConversationStatusSet::builder().status(ConversationStatus::Resolved))
        .send()
        .await
        .expect("conversation_status_set")
        .into_inner();
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    visitor_stream
        .next_where("conversation", LIVE_WAIT, |c| c["status"] == "resolved")
        .await;
    // The note reached no visitor: not one event of the visitor's stream holds it.
    let seen = visitor_stream
        .drain(std::time::Duration::from_millis(200))
        .await;
    for event in visitor_stream.seen().iter().chain(&seen) {
        assert!(!event.data.to_string().contains("customs"), "{event:?}");
    }

    let deliveries = receiver.wait_for(1, WAIT).await;
    let delivery = &deliveries[0];
    verify(&hook.secret, delivery).expect("signed with the webhook's secret");
    let body = delivery.json();
    assert_eq!(body["type"], "conversation.ended");
    assert_eq!(
        body["data"]["conversation"]["id"],
        conversation_id.to_string()
    );
    assert_eq!(body["data"]["conversation"]["status"], "resolved");
    assert_eq!(body["data"]["previous_status"], "open");
}

async fn a_support_conversation_runs_end_to_end(ctx: &TestContext) {
    let base = ctx.base_url.clone();
    flow(ctx, &base).await;
}

on_both_databases!(config = fast, a_support_conversation_runs_end_to_end);

/// The same flow with both streams on a second replica: every change made through the first
/// reaches them through PostgreSQL alone (`LISTEN`/`NOTIFY`), within the second.
async fn across_replicas(ctx: &TestContext) {
    let replica = ctx.replica(fast).await.expect("starting a replica");
    let base = format!("http://{}", replica.local_addr());
    flow(ctx, &base).await;
    replica.close().await.expect("stopping the replica");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_conversation_runs_across_replicas_postgres() {
    run_with(Backend::Postgres, fast, across_replicas).await;
}
