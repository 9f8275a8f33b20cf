//! `chat_stream` from a bot whose engine is an LLM, against a scripted OpenAI-compatible server:
//! the reply streamed as it is generated, the generation cancelled when the client goes away,
//! and keep-alive pings while the LLM is slow.

use crate::conformance::support::chat::{FAQ, history, message, parse_events, unstreamed};
use crate::conformance::support::expect_error;
use crate::conformance::support::llm::{deltas_of, done_of, llm_bot, metrics, stream_text};
use botwire_client::types::{BotEngineKind, ErrorCode, MessageRole};
use botwire_conformance::{TestContext, on_both_databases};
use botwire_server::engine::llm::scripted::{self, SSE_HEAD, ScriptedLlm, Step};
use futures::StreamExt;
use std::time::{Duration, Instant};

async fn chat_stream_of_an_llm_reply_streams_it_as_it_is_generated(ctx: &TestContext) {
    let pieces = ["You can ", "reset it ", "from the ", "sign-in page."];
    let llm = ScriptedLlm::start(scripted::completion(&pieces))
        .await
        .expect("scripted LLM");
    let (owner, bot) = llm_bot(ctx, "llm-stream@example.test", &llm.base_url()).await;

    let body = stream_text(&owner, bot.id, "llm-2", FAQ[2].0).await;
    let names: Vec<String> = parse_events(&body).into_iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        ["delta", "delta", "delta", "delta", "sources", "done"],
        "{body}"
    );
    assert_eq!(deltas_of(&body), pieces);
    let done = done_of(&body);
    assert_eq!(done.reply.as_deref(), Some(pieces.concat().as_str()));
    assert_eq!(done.engine, Some(BotEngineKind::Llm));
    assert_eq!(done.sources[0].snippet, FAQ[2].1);
    // `done` is the stored reply.
    let messages = history(&owner, bot.id, "llm-2").await;
    assert_eq!(messages.len(), 2);
    assert_eq!(Some(messages[1].id), done.message_id);
    assert_eq!(messages[1].role, MessageRole::Assistant);
    assert_eq!(Some(&messages[1].content), done.reply.as_ref());
    assert_eq!(messages[1].engine, Some(BotEngineKind::Llm));
}

async fn chat_stream_left_by_its_client_cancels_the_generation(ctx: &TestContext) {
    let mut script = vec![Step::text(SSE_HEAD)];
    for _ in 0..200 {
        script.push(Step::text(&scripted::chunk(Some("word "), None)));
        script.push(Step::Pause(Duration::from_millis(25)));
    }
    let llm = ScriptedLlm::start(script).await.expect("scripted LLM");
    let (owner, bot) = llm_bot(ctx, "llm-cancel@example.test", &llm.base_url()).await;
    let response = owner
        .chat_stream()
        .body(message(Some(bot.id), Some("llm-6"), FAQ[0].0))
        .send()
        .await
        .unwrap_or_else(|e| panic!("chat_stream: {:?}", unstreamed(Err(e))));
    let mut body = response.into_inner().into_inner();
    let first = body.next().await.expect("a first chunk").expect("bytes");
    assert!(
        String::from_utf8_lossy(&first).contains("event: delta"),
        "{first:?}"
    );
    drop(body);
    // The script would take 5 s to write; the LLM sees the request dropped long before.
    let deadline = Instant::now() + Duration::from_secs(3);
    while llm.abandoned() == 0 {
        assert!(
            Instant::now() < deadline,
            "the LLM request outlived its client"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // An abandoned exchange stores nothing.
    let response = owner
        .session_history()
        .bot_id(bot.id)
        .session_id("llm-6")
        .send()
        .await;
    expect_error(response, 404, ErrorCode::SessionNotFound);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let text = metrics(ctx).await;
        if text.contains("botwire_llm_completions_total{outcome=\"cancelled\"} 1") {
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A stream that waits on a slow LLM sends `: ping` comments, and still ends well.
async fn chat_stream_waiting_on_a_slow_llm_is_kept_alive_with_pings(ctx: &TestContext) {
    let llm = ScriptedLlm::start(vec![
        Step::text(SSE_HEAD),
        Step::Pause(Duration::from_millis(550)),
        Step::text(&scripted::chunk(Some("Late"), None)),
        Step::text(&scripted::chunk(Some(" but here."), Some("stop"))),
        Step::text("data: [DONE]\n\n"),
    ])
    .await
    .expect("scripted LLM");
    let (owner, bot) = llm_bot(ctx, "llm-ping@example.test", &llm.base_url()).await;
    let body = stream_text(&owner, bot.id, "llm-7", FAQ[0].0).await;
    let before_first_delta = &body[..body.find("event: delta").expect("a delta")];
    assert!(
        before_first_delta.matches(": ping\n\n").count() >= 3,
        "{body}"
    );
    assert_eq!(done_of(&body).reply.as_deref(), Some("Late but here."));
}

on_both_databases!(
    chat_stream_of_an_llm_reply_streams_it_as_it_is_generated,
    chat_stream_left_by_its_client_cancels_the_generation,
);
on_both_databases!(
    config = |config| config.sse_ping_interval = Duration::from_millis(100),
    chat_stream_waiting_on_a_slow_llm_is_kept_alive_with_pings,
);
