//! Helpers of the knowledge base and chat: the FAQ the bots answer from and its files, messages
//! sent and asked, histories and conversations, the replies' expected shapes, and
//! `chat_stream`'s Server-Sent Events (the generated client hands a stream over as raw bytes;
//! the events are parsed here).

use super::{bearer, create_bot, register};
use botwire_client::types;
use botwire_client::{Client, Error, ResponseValue};
use botwire_conformance::{TestContext, read_text};
use uuid::Uuid;

/// The FAQ the chat tests' bots answer from: (question, answer).
pub const FAQ: &[(&str, &str)] = &[
    (
        "How long does a refund take?",
        "Refunds reach your original payment method within 14 days of us receiving the return.",
    ),
    (
        "Do you ship to Norway?",
        "Yes: we ship to Norway and the rest of the EEA, tracked, in 3 to 5 working days.",
    ),
    (
        "How do I reset my password?",
        "Choose \"Forgot password\" on the sign-in page and follow the link we mail you.",
    ),
];

/// A question no FAQ above answers, sharing none of their words.
pub const UNKNOWN_QUESTION: &str = "What is the airspeed velocity of an unladen swallow?";

/// An FAQ CSV (`question,answer` header, quoted fields) of `pairs`.
pub fn faq_csv(pairs: &[(&str, &str)]) -> Vec<u8> {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut csv = String::from("question,answer\n");
    for (question, answer) in pairs {
        csv.push_str(&format!("{},{}\n", quote(question), quote(answer)));
    }
    csv.into_bytes()
}

/// An FAQ JSON file: an array of `{"question", "answer"}` objects.
pub fn faq_json(pairs: &[(&str, &str)]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = pairs
        .iter()
        .map(|(question, answer)| serde_json::json!({ "question": question, "answer": answer }))
        .collect();
    serde_json::to_vec_pretty(&items).expect("JSON")
}

/// A file to upload, without metadata or a declared content type.
pub fn file(name: &str, bytes: impl Into<Vec<u8>>) -> botwire_client::Upload {
    botwire_client::Upload {
        file_name: name.into(),
        content_type: None,
        bytes: bytes.into(),
        title: None,
        category: None,
        other_parts: Vec::new(),
    }
}

/// Uploads a file that must be accepted (201).
pub async fn upload(
    owner: &Client,
    bot_id: Uuid,
    upload: botwire_client::Upload,
) -> types::Document {
    let name = upload.file_name.clone();
    let response = owner.document_create(&bot_id, upload).await;
    let response = response.unwrap_or_else(|e| panic!("document_create {name}: {e:?}"));
    assert_eq!(response.status(), 201);
    response.into_inner()
}

/// Uploads [`FAQ`] as `faq.csv` titled "Store FAQ".
pub async fn upload_faq(owner: &Client, bot_id: Uuid) -> types::Document {
    let mut faq = file("faq.csv", faq_csv(FAQ));
    faq.title = Some("Store FAQ".into());
    upload(owner, bot_id, faq).await
}

/// A chat body: `bot_id` and `session_id` when given.
pub fn message(
    bot_id: Option<Uuid>,
    session_id: Option<&str>,
    text: &str,
) -> types::builder::ChatSend {
    types::ChatSend::builder()
        .bot_id(bot_id)
        .session_id(
            session_id.map(|s| s.parse::<types::ChatSendSessionId>().expect("a session id")),
        )
        .message(text)
}

/// Sends a message that must be answered (200) and returns the reply.
pub async fn ask(client: &Client, bot_id: Uuid, session_id: &str, text: &str) -> types::ChatReply {
    let response = client
        .chat_send()
        .body(message(Some(bot_id), Some(session_id), text))
        .send()
        .await
        .unwrap_or_else(|e| panic!("chat_send {text:?}: {e:?}"));
    assert_eq!(response.status(), 200);
    response.into_inner()
}

/// A session's whole history (oldest first).
pub async fn history(client: &Client, bot_id: Uuid, session_id: &str) -> Vec<types::Message> {
    let page = client
        .session_history()
        .bot_id(bot_id)
        .session_id(session_id)
        .limit(100u64)
        .send()
        .await
        .unwrap_or_else(|e| panic!("session_history {session_id}: {e:?}"));
    assert!(!page.pagination.has_more);
    assert_eq!(page.pagination.total, page.data.len() as u64);
    page.into_inner().data
}

/// Asserts that `reply` is the bot's fallback: `fallback`, no sources, a "talk to a human"
/// action.
#[track_caller]
pub fn assert_fallback(reply: &types::ChatReply, fallback: &str) {
    assert_eq!(reply.reply.as_deref(), Some(fallback), "{reply:?}");
    assert!(reply.sources.is_empty(), "{reply:?}");
    assert!(
        reply
            .suggested_actions
            .iter()
            .any(|a| a.type_ == types::SuggestedActionType::Handoff),
        "{reply:?}"
    );
    assert!(reply.message_id.is_some(), "{reply:?}");
}

/// Asserts that `reply` is `answer`, drawn from `document` (its one source).
#[track_caller]
pub fn assert_faq_answer(reply: &types::ChatReply, document: &types::Document, answer: &str) {
    assert_eq!(reply.reply.as_deref(), Some(answer), "{reply:?}");
    assert_eq!(reply.sources.len(), 1, "{reply:?}");
    let source = &reply.sources[0];
    assert_eq!(source.document_id, document.id, "{reply:?}");
    assert_eq!(source.title, document.title, "{reply:?}");
    assert_eq!(source.snippet, answer, "{reply:?}");
    assert!(source.score > 0.0 && source.score <= 1.0, "{reply:?}");
    assert!(reply.suggested_actions.is_empty(), "{reply:?}");
}

/// A stream's result with its body left out (a `ByteStream` is not `Debug`), for the error
/// helpers above.
#[allow(clippy::result_large_err)] // the generated client's own error type
pub fn unstreamed(
    result: Result<ResponseValue<botwire_client::ByteStream>, Error<types::Error>>,
) -> Result<ResponseValue<()>, Error<types::Error>> {
    result.map(|response| {
        let (status, headers) = (response.status(), response.headers().clone());
        ResponseValue::new((), status, headers)
    })
}

/// An owner with a bot that answers [`FAQ`].
pub async fn bot_with_faq(ctx: &TestContext, email: &str) -> (Client, types::Bot, types::Document) {
    let session = register(ctx, email, "Chat Owner").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Acme Support").await;
    let faq = upload_faq(&owner, bot.id).await;
    (owner, bot, faq)
}

/// A conversation with its messages, which must be found (200).
pub async fn conversation(client: &Client, id: Uuid) -> types::ConversationWithMessages {
    let response = client
        .conversation_get()
        .conversation_id(id)
        .send()
        .await
        .expect("conversation_get");
    assert_eq!(response.status(), 200);
    response.into_inner()
}

/// One Server-Sent Event: its name and its `data` as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub data: serde_json::Value,
}

/// The events of a `text/event-stream` body (comment lines, such as `: ping`, skipped).
pub fn parse_events(body: &str) -> Vec<Event> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data: Option<String> = None;
            for line in block.lines() {
                if line.starts_with(':') {
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => name = Some(value.to_string()),
                    "data" => match &mut data {
                        Some(data) => {
                            data.push('\n');
                            data.push_str(value);
                        }
                        None => data = Some(value.to_string()),
                    },
                    other => panic!("an unexpected field {other:?} in {block:?}"),
                }
            }
            if name.is_none() && data.is_none() {
                return None;
            }
            let name = name.unwrap_or_else(|| panic!("an event without a name: {block:?}"));
            let data = data.unwrap_or_else(|| panic!("an event without data: {block:?}"));
            let data = serde_json::from_str(&data)
                .unwrap_or_else(|e| panic!("the data of {name} is not JSON ({e}): {data}"));
            Some(Event { name, data })
        })
        .collect()
}

/// What a stream held: the text of its `delta`s, its `sources` event's sources (if any), and
/// its `done` reply, checked to come in that order, `done` last and once.
pub struct Streamed {
    pub deltas: Vec<String>,
    pub sources: Option<Vec<types::Source>>,
    pub done: types::ChatReply,
    pub events: Vec<Event>,
}

/// Streams a message that must be answered (200, `text/event-stream`) and reads its events.
pub async fn stream(
    client: &Client,
    body: types::builder::ChatSend,
    key: Option<&str>,
) -> Streamed {
    let mut request = client.chat_stream().body(body);
    if let Some(key) = key {
        request = request.idempotency_key(key);
    }
    let response = request.send().await;
    let response = unstreamed_ok(response).await;
    let events = parse_events(&response);
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    let deltas_end = names.iter().take_while(|n| **n == "delta").count();
    let rest = &names[deltas_end..];
    assert!(
        rest == ["sources", "done"] || rest == ["done"],
        "deltas, at most one `sources`, then `done`: {names:?}"
    );
    let deltas = events[..deltas_end]
        .iter()
        .map(|e| {
            serde_json::from_value::<types::ChatStreamDelta>(e.data.clone())
                .expect("a ChatStreamDelta")
                .text
        })
        .collect();
    let sources = (rest.len() == 2).then(|| {
        serde_json::from_value::<types::ChatStreamSources>(events[deltas_end].data.clone())
            .expect("a ChatStreamSources")
            .sources
    });
    let done = serde_json::from_value(events.last().expect("events").data.clone())
        .expect("`done` is a ChatReply");
    Streamed {
        deltas,
        sources,
        done,
        events,
    }
}

/// The body of a successful stream, checking its status and content type.
async fn unstreamed_ok(
    response: Result<
        botwire_client::ResponseValue<botwire_client::ByteStream>,
        botwire_client::Error<types::Error>,
    >,
) -> String {
    let response = match response {
        Ok(response) => response,
        Err(botwire_client::Error::ErrorResponse(envelope)) => {
            panic!("chat_stream failed: {:?}", envelope.into_inner())
        }
        Err(other) => panic!("chat_stream failed: {other}"),
    };
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    read_text(response).await.expect("the stream's text")
}
