//! `session_stream` and `inbox_stream`: live events from the database after the client's
//! cursor, so a client that drops and reconnects with its last event id misses nothing; the
//! visitor's place in the queue; mentions only to the mentioned; and on PostgreSQL, a replica
//! whose listening connection is cut listens again.

use super::{LIVE_WAIT, desk, handed_off, inbox_live, reply, session_live};
use crate::conformance::support::chat::ask;
use crate::conformance::support::{bearer, expect_error, widget};
use botwire_client::types::{self, ErrorCode};
use botwire_conformance::{Backend, TestContext, on_both_databases, run_on};
use std::time::Duration;
use uuid::Uuid;

async fn session_stream_resumes_after_a_drop(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo"], &[]).await;
    let conversation = handed_off(&desk, "resume-1").await;
    let cleo = &desk.agents[0];
    let mut stream = session_live(
        &ctx.base_url,
        &desk.bot.widget_token,
        desk.bot.id,
        "resume-1",
        None,
    )
    .await;
    stream.next("conversation", LIVE_WAIT).await;
    reply(&cleo.client, conversation, "one").await;
    let one = stream.next("message", LIVE_WAIT).await;
    assert_eq!(one.data["content"], "one");
    let cursor = one.id.expect("a live event has an id");
    drop(stream);

    reply(&cleo.client, conversation, "two").await;
    reply(&cleo.client, conversation, "three").await;
    let mut again = session_live(
        &ctx.base_url,
        &desk.bot.widget_token,
        desk.bot.id,
        "resume-1",
        Some(cursor),
    )
    .await;
    let two = again.next("message", LIVE_WAIT).await;
    let three = again.next("message", LIVE_WAIT).await;
    assert_eq!(
        (two.data["content"].as_str(), three.data["content"].as_str()),
        (Some("two"), Some("three"))
    );
    assert!(two.id < three.id && one.id < two.id);
    let last = again.last_id();
    drop(again);

    // From the last id seen, nothing is sent twice.
    let mut caught_up = session_live(
        &ctx.base_url,
        &desk.bot.widget_token,
        desk.bot.id,
        "resume-1",
        last,
    )
    .await;
    let replayed = caught_up.drain(Duration::from_millis(300)).await;
    assert!(replayed.iter().all(|e| e.name != "message"), "{replayed:?}");
}

async fn the_visitor_sees_their_place_in_the_queue(ctx: &TestContext) {
    let desk = desk(ctx, &[], &[]).await;
    let first = handed_off(&desk, "queue-1").await;
    handed_off(&desk, "queue-2").await;
    let mut second = session_live(
        &ctx.base_url,
        &desk.bot.widget_token,
        desk.bot.id,
        "queue-2",
        None,
    )
    .await;
    let place = second.next("queue", LIVE_WAIT).await;
    assert_eq!(place.data["position"], 2);
    desk.owner
        .client
        .conversation_assign()
        .conversation_id(first)
        .body(types::ConversationAssign::builder().assignee_id(Some(desk.owner.id)))
        .send()
        .await
        .expect("conversation_assign");
    let place = second.next("queue", LIVE_WAIT).await;
    assert_eq!(place.data["position"], 1);
}

async fn inbox_stream_tells_agents_and_mentions_only_the_mentioned(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo", "bruno"], &[]).await;
    let (cleo, bruno) = (&desk.agents[0], &desk.agents[1]);
    let conversation = handed_off(&desk, "inbox-1").await;
    let mut cleo_live = inbox_live(&ctx.base_url, &cleo.token, None).await;
    let mut bruno_live = inbox_live(&ctx.base_url, &bruno.token, None).await;
    ask(
        &desk.visitor,
        desk.bot.id,
        "inbox-1",
        "Hello? Anyone there?",
    )
    .await;
    for live in [&mut cleo_live, &mut bruno_live] {
        let message = live.next("message", LIVE_WAIT).await;
        assert_eq!(message.data["conversation"]["id"], conversation.to_string());
        assert_eq!(message.data["message"]["role"], "user");
        assert_eq!(message.data["message"]["content"], "Hello? Anyone there?");
    }
    cleo.client
        .note_create()
        .conversation_id(conversation)
        .body(types::NoteCreate::builder().content("@bruno@desk.test over to you"))
        .send()
        .await
        .expect("note_create");
    let mention = bruno_live.next("mention", LIVE_WAIT).await;
    assert_eq!(mention.data["conversation_id"], conversation.to_string());
    let cleo_saw = cleo_live.drain(Duration::from_millis(300)).await;
    assert!(cleo_saw.iter().all(|e| e.name != "mention"), "{cleo_saw:?}");
}

/// A stream that must be refused before it opens.
#[track_caller]
fn refused(
    result: Result<
        botwire_client::ResponseValue<botwire_client::ByteStream>,
        botwire_client::Error<types::Error>,
    >,
    status: u16,
    code: ErrorCode,
) {
    match result {
        Ok(response) => panic!(
            "expected {status}, the stream opened ({})",
            response.status()
        ),
        Err(error) => {
            expect_error::<()>(Err(error), status, code);
        }
    }
}

async fn streams_refuse_what_the_caller_cannot_see(ctx: &TestContext) {
    let desk = desk(ctx, &[], &[]).await;
    let visitor = widget(ctx, &desk.bot.widget_token);
    refused(
        visitor
            .session_stream()
            .bot_id(desk.bot.id)
            .session_id("never-written")
            .send()
            .await,
        404,
        ErrorCode::SessionNotFound,
    );
    let owner = bearer(ctx, &desk.owner.token);
    refused(
        owner.inbox_stream().bot_id(Uuid::new_v4()).send().await,
        404,
        ErrorCode::BotNotFound,
    );
    // A cursor that is not an event id breaks the header's schema: 400, in the envelope.
    ask(&visitor, desk.bot.id, "bad-cursor", "Hi").await;
    let response = ctx
        .http
        .get(ctx.url(&format!(
            "/v1/bots/{}/sessions/bad-cursor/events",
            desk.bot.id
        )))
        .header("x-widget-token", &desk.bot.widget_token)
        .header("last-event-id", "not-a-number")
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("the envelope");
    assert_eq!(body["error"]["code"], "invalid_request");
}

on_both_databases!(
    session_stream_resumes_after_a_drop,
    the_visitor_sees_their_place_in_the_queue,
    inbox_stream_tells_agents_and_mentions_only_the_mentioned,
    streams_refuse_what_the_caller_cannot_see,
);

/// A replica whose `LISTEN` connection is cut opens another: an event written through the
/// first server after that still reaches a stream on the replica within the second.
async fn a_replica_listens_again_after_losing_its_connection(ctx: &TestContext) {
    let replica = ctx.replica(|_| {}).await.expect("starting a replica");
    let base = format!("http://{}", replica.local_addr());
    let desk = desk(ctx, &["cleo"], &[]).await;
    let conversation = handed_off(&desk, "cut-1").await;
    let mut stream = session_live(&base, &desk.bot.widget_token, desk.bot.id, "cut-1", None).await;
    stream.next("conversation", LIVE_WAIT).await;
    let botwire_server::config::DatabaseUrl::Postgres(url) = ctx.database_url() else {
        panic!("a PostgreSQL test");
    };
    let mut conn =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(url.as_str())
            .await
            .expect("a connection");
    let cut = diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE query LIKE 'LISTEN botwire_live%' AND pid <> pg_backend_pid()",
        ),
        &mut conn,
    )
    .await
    .expect("terminating the listeners");
    assert!(cut >= 2, "both servers listen: {cut} connections cut");
    tokio::time::sleep(Duration::from_millis(500)).await;
    reply(&desk.agents[0].client, conversation, "still here").await;
    let message = stream.next("message", LIVE_WAIT).await;
    assert_eq!(message.data["content"], "still here");
    drop(stream);
    replica.close().await.expect("stopping the replica");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_listens_again_after_losing_its_connection_postgres() {
    run_on(
        Backend::Postgres,
        a_replica_listens_again_after_losing_its_connection,
    )
    .await;
}
