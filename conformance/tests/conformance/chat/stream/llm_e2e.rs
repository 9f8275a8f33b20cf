//! `chat_stream` from a bot whose engine is a real OpenAI-compatible LLM (llama-server serving
//! SmolLM2-135M-Instruct on loopback): the model's tokens streamed as they come, its passages,
//! then `done`, the stored reply. Structure only, never facts.
//!
//! Ignored in ordinary runs, as `chat::send::llm_e2e`: `cargo xtask llm-e2e` runs them.

use crate::conformance::support::chat::{FAQ, message, stream};
use crate::conformance::support::llm::{assert_stored, real_llm, real_llm_bot};
use botwire_client::types::BotEngineKind;
use botwire_conformance::{TestContext, on_both_databases};

async fn chat_stream_of_the_real_llm_streams_its_tokens_as_they_come(ctx: &TestContext) {
    let llm = real_llm();
    let (owner, bot, _) =
        real_llm_bot(ctx, "llm-stream@example.test", &llm.base_url, &llm.model).await;

    let body = message(Some(bot.id), Some("llm-stream"), FAQ[0].0);
    let streamed = stream(&owner, body, None).await;
    let done = &streamed.done;
    eprintln!(
        "{:?} streamed {} deltas: {:?}",
        done.engine,
        streamed.deltas.len(),
        streamed.deltas
    );
    assert_eq!(
        done.engine,
        Some(BotEngineKind::Llm),
        "the LLM at {} did not answer: {:?}",
        llm.base_url,
        streamed.events
    );
    // The model's tokens, as they come: more than one piece.
    assert!(streamed.deltas.len() >= 2, "{:?}", streamed.events);
    assert_eq!(Some(streamed.deltas.concat()), done.reply);
    assert!(
        !done.reply.as_deref().unwrap_or_default().trim().is_empty(),
        "{done:?}"
    );
    // The passages the prompt was grounded on, before `done`.
    let sources = streamed.sources.as_ref().expect("a `sources` event");
    assert!(!sources.is_empty(), "{:?}", streamed.events);
    assert_eq!(sources, &done.sources);
    // `done` is the stored reply.
    assert_stored(&owner, bot.id, FAQ[0].0, done).await;
}

on_both_databases!(
    #[ignore = "needs a real LLM: run `cargo xtask llm-e2e`"]
    chat_stream_of_the_real_llm_streams_its_tokens_as_they_come,
);
