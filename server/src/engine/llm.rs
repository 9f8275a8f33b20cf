//! The LLM engine's transport: a streaming client of any OpenAI-compatible
//! `POST {base_url}/chat/completions` server (OpenAI, llama.cpp's `llama-server`, vLLM, Ollama).
//!
//! [`LlmClient::stream`] yields the reply as it is generated. It runs on its own task and stops,
//! closing the connection (which makes the LLM server stop generating), as soon as its consumer
//! drops the stream: a chat client that goes away cancels the generation. Every wait is bounded:
//! connecting, the gap between two pieces of the stream, and the whole reply.
//!
//! The wire format is Server-Sent Events, parsed by [`SseParser`], which holds no assumption
//! about how the bytes are split into chunks.

pub mod scripted;

use crate::config::LlmTimeouts;
use crate::egress::{GuardedResolver, TargetPolicy, describe_request_error, literal_address};
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The longest SSE line accepted; one chunk of a completion is a few hundred bytes.
const MAX_LINE_BYTES: usize = 1024 * 1024;
/// The most of an error response or of a non-streamed completion read.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The most of an LLM server's error message kept (it is logged).
const MAX_ERROR_CHARS: usize = 300;

/// One message of the prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptMessage {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    pub content: String,
}

/// A completion to ask for.
#[derive(Clone)]
pub struct LlmRequest {
    /// Up to, not including, `/chat/completions` (e.g. `http://127.0.0.1:8081/v1`).
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub temperature: f64,
    pub max_tokens: u64,
    pub messages: Vec<PromptMessage>,
    /// Whether `base_url` is a tenant's (a bot's own setting): it may then reach only public
    /// addresses and those the operator allows, never the operator's network by default.
    pub guarded: bool,
}

impl std::fmt::Debug for LlmRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the API key.
        f.debug_struct("LlmRequest")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[set]"))
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("messages", &self.messages.len())
            .field("guarded", &self.guarded)
            .finish()
    }
}

impl LlmRequest {
    fn url(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }

    fn body(&self) -> Value {
        let messages: Vec<Value> = self
            .messages
            .iter()
            .map(|m| json!({ "role": m.role, "content": m.content }))
            .collect();
        json!({
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stream": true,
            // Token counts come in a last chunk of their own (OpenAI's and llama.cpp's way).
            "stream_options": { "include_usage": true },
            // llama.cpp: no reuse of an earlier prompt's cache, so equal requests give equal
            // replies. Other servers ignore fields they do not know.
            "cache_prompt": false,
        })
    }
}

/// What the stream carries, in order: deltas, possibly the usage, then `Finished` once.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    /// The next piece of the reply's text.
    Delta(String),
    /// Tokens used, as the server counted them.
    Usage {
        prompt_tokens: u64,
        completion_tokens: u64,
    },
    /// The reply is complete; `reason` is the server's `finish_reason` (`stop`, `length`).
    Finished { reason: Option<String> },
}

/// Why a completion failed. After an error the stream ends.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("connecting to the LLM server failed: {0}")]
    Connect(String),
    #[error("the LLM server answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the LLM server reported an error: {0}")]
    Api(String),
    #[error("the LLM server sent nothing for {0:?}")]
    Idle(Duration),
    #[error("the LLM server did not finish within {0:?}")]
    Total(Duration),
    #[error("the LLM server sent something unreadable: {0}")]
    Protocol(String),
    #[error("the LLM server closed the stream before the reply was complete")]
    Truncated,
    #[error(
        "this bot's LLM URL reaches a private, loopback, link-local or reserved address \
         (allowed only by BOTWIRE_LLM_ALLOWED_CIDRS)"
    )]
    Refused,
}

/// A streaming client, cheap to clone (two connection pools: the operator's URL, and bots'
/// own URLs, whose addresses are checked).
#[derive(Clone)]
pub struct LlmClient {
    trusted: reqwest::Client,
    guarded: reqwest::Client,
    policy: TargetPolicy,
    timeouts: LlmTimeouts,
}

impl LlmClient {
    /// `allowed`: the non-public networks bots' own URLs may reach.
    pub fn new(timeouts: LlmTimeouts, allowed: Vec<ipnet::IpNet>) -> Result<LlmClient, LlmError> {
        let policy = TargetPolicy::new(allowed);
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(timeouts.connect)
                // A redirect would resend the API key elsewhere.
                .redirect(reqwest::redirect::Policy::none())
        };
        let trusted = builder()
            .build()
            .map_err(|e| LlmError::Connect(e.to_string()))?;
        let guarded = builder()
            .dns_resolver(std::sync::Arc::new(GuardedResolver::new(policy.clone())))
            .build()
            .map_err(|e| LlmError::Connect(e.to_string()))?;
        Ok(LlmClient {
            trusted,
            guarded,
            policy,
            timeouts,
        })
    }

    /// The completion of `request`, as it is generated. Dropping the stream cancels the
    /// request.
    pub fn stream(
        &self,
        request: &LlmRequest,
    ) -> impl Stream<Item = Result<LlmEvent, LlmError>> + Send + 'static + use<> {
        let (tx, rx) = mpsc::channel(64);
        let http = if request.guarded {
            self.guarded.clone()
        } else {
            self.trusted.clone()
        };
        let timeouts = self.timeouts;
        let request = request.clone();
        // An address in the URL itself is never resolved, so the resolver cannot refuse it.
        let refused = request.guarded
            && reqwest::Url::parse(&request.url())
                .ok()
                .and_then(|url| literal_address(&url))
                .is_some_and(|ip| !self.policy.permits(ip));
        tokio::spawn(async move {
            if refused {
                let _ = tx.send(Err(LlmError::Refused)).await;
                return;
            }
            tokio::select! {
                // The consumer went away: dropping `complete` closes the connection.
                () = tx.closed() => {}
                () = complete(http, timeouts, request, &tx) => {}
            }
        });
        futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
    }
}

type Sender = mpsc::Sender<Result<LlmEvent, LlmError>>;

/// Runs one completion, sending what it yields to `tx`.
async fn complete(http: reqwest::Client, timeouts: LlmTimeouts, request: LlmRequest, tx: &Sender) {
    if let Err(error) = stream_into(http, timeouts, request, tx).await {
        let _ = tx.send(Err(error)).await;
    }
}

async fn stream_into(
    http: reqwest::Client,
    timeouts: LlmTimeouts,
    request: LlmRequest,
    tx: &Sender,
) -> Result<(), LlmError> {
    let deadline = Instant::now() + timeouts.total;
    let mut post = http
        .post(request.url())
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .json(&request.body());
    if let Some(key) = &request.api_key {
        post = post.bearer_auth(key);
    }
    let response = within(deadline, timeouts, post.send())
        .await?
        .map_err(|e| LlmError::Connect(describe_request_error(e)))?;
    let status = response.status();
    let streamed = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let mut body = response.bytes_stream();
    if !status.is_success() || !streamed {
        let bytes = read_bounded(&mut body, deadline, timeouts).await?;
        if !status.is_success() {
            return Err(LlmError::Status {
                status: status.as_u16(),
                message: error_message_of(&bytes),
            });
        }
        // A server that ignores `stream: true` answers with one JSON completion.
        for event in whole_completion(&bytes)? {
            send(tx, Ok(event)).await;
        }
        return Ok(());
    }

    let mut parser = SseParser::default();
    let mut finish_reason: Option<String> = None;
    loop {
        let Some(next) = within(deadline, timeouts, body.next()).await? else {
            // The connection ended: complete only if the server said the reply was.
            return match (parser.finish(), finish_reason) {
                (Some(message), reason) => {
                    // A last event with no blank line after it.
                    match read_chunk(&message.data)? {
                        Chunk::Done => finished(tx, reason).await,
                        Chunk::Part(part) => {
                            let reason = part.finish_reason.clone().or(reason);
                            part.send(tx).await;
                            match reason {
                                Some(reason) => finished(tx, Some(reason)).await,
                                None => Err(LlmError::Truncated),
                            }
                        }
                    }
                }
                (None, Some(reason)) => finished(tx, Some(reason)).await,
                (None, None) => Err(LlmError::Truncated),
            };
        };
        let bytes = next.map_err(|_| LlmError::Truncated)?;
        for message in parser.push(&bytes)? {
            match read_chunk(&message.data)? {
                Chunk::Done => return finished(tx, finish_reason).await,
                Chunk::Part(part) => {
                    if part.finish_reason.is_some() {
                        finish_reason.clone_from(&part.finish_reason);
                    }
                    part.send(tx).await;
                }
            }
        }
    }
}

async fn finished(tx: &Sender, reason: Option<String>) -> Result<(), LlmError> {
    send(tx, Ok(LlmEvent::Finished { reason })).await;
    Ok(())
}

/// Sends to the consumer. A send fails only when the consumer is gone, and then `complete` is
/// being cancelled by `tx.closed()` in its select: there is no one left to tell.
async fn send(tx: &Sender, item: Result<LlmEvent, LlmError>) {
    let _ = tx.send(item).await;
}

/// `future`, bounded by the idle timeout and the overall deadline.
async fn within<F: Future>(
    deadline: Instant,
    timeouts: LlmTimeouts,
    future: F,
) -> Result<F::Output, LlmError> {
    let idle_until = Instant::now() + timeouts.idle;
    let until = idle_until.min(deadline);
    tokio::time::timeout_at(until, future).await.map_err(|_| {
        if until == deadline {
            LlmError::Total(timeouts.total)
        } else {
            LlmError::Idle(timeouts.idle)
        }
    })
}

async fn read_bounded<S>(
    body: &mut S,
    deadline: Instant,
    timeouts: LlmTimeouts,
) -> Result<Vec<u8>, LlmError>
where
    S: Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
{
    let mut out = Vec::new();
    while let Some(next) = within(deadline, timeouts, body.next()).await? {
        let bytes = next.map_err(|_| LlmError::Truncated)?;
        let room = MAX_BODY_BYTES.saturating_sub(out.len());
        out.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if out.len() >= MAX_BODY_BYTES {
            break;
        }
    }
    Ok(out)
}

/// The `error.message` of an OpenAI-style error body, else the body's start.
fn error_message_of(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| api_error_message(&v))
        .unwrap_or_else(|| text.trim().to_string());
    message.chars().take(MAX_ERROR_CHARS).collect()
}

/// The message of an `{"error": ...}` object (OpenAI: `{"error": {"message": ..}}`; some
/// servers: `{"error": "..."}`).
fn api_error_message(value: &Value) -> Option<String> {
    let error = value.get("error")?;
    let message = match error {
        Value::String(s) => s.clone(),
        other => other
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| other.to_string(), str::to_string),
    };
    Some(message.chars().take(MAX_ERROR_CHARS).collect())
}

/// One streamed chunk, read.
#[derive(Debug, PartialEq)]
enum Chunk {
    /// `data: [DONE]`.
    Done,
    Part(Part),
}

#[derive(Debug, Default, PartialEq)]
struct Part {
    delta: Option<String>,
    finish_reason: Option<String>,
    usage: Option<(u64, u64)>,
}

impl Part {
    async fn send(self, tx: &Sender) {
        if let Some(text) = self.delta {
            send(tx, Ok(LlmEvent::Delta(text))).await;
        }
        if let Some((prompt_tokens, completion_tokens)) = self.usage {
            send(
                tx,
                Ok(LlmEvent::Usage {
                    prompt_tokens,
                    completion_tokens,
                }),
            )
            .await;
        }
    }
}

fn read_chunk(data: &str) -> Result<Chunk, LlmError> {
    if data.trim() == "[DONE]" {
        return Ok(Chunk::Done);
    }
    let value: Value = serde_json::from_str(data)
        .map_err(|e| LlmError::Protocol(format!("a chunk is not JSON: {e}")))?;
    if let Some(message) = api_error_message(&value) {
        return Err(LlmError::Api(message));
    }
    let choice = value.get("choices").and_then(|c| c.get(0));
    let text = |field: &str| {
        choice
            .and_then(|c| c.get(field))
            .and_then(|d| d.get("content"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(Chunk::Part(Part {
        delta: text("delta"),
        finish_reason: choice
            .and_then(|c| c.get("finish_reason"))
            .and_then(Value::as_str)
            .map(str::to_string),
        usage: usage_of(&value),
    }))
}

fn usage_of(value: &Value) -> Option<(u64, u64)> {
    let usage = value.get("usage")?;
    Some((
        usage.get("prompt_tokens")?.as_u64()?,
        usage.get("completion_tokens")?.as_u64()?,
    ))
}

/// The events of a non-streamed completion (`choices[0].message.content`).
fn whole_completion(bytes: &[u8]) -> Result<Vec<LlmEvent>, LlmError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| LlmError::Protocol(format!("the completion is not JSON: {e}")))?;
    if let Some(message) = api_error_message(&value) {
        return Err(LlmError::Api(message));
    }
    let choice = value
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| LlmError::Protocol("the completion has no choices".into()))?;
    let content = choice
        .get("message")
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .ok_or_else(|| LlmError::Protocol("the completion has no message content".into()))?;
    let mut events = vec![LlmEvent::Delta(content.to_string())];
    if let Some((prompt_tokens, completion_tokens)) = usage_of(&value) {
        events.push(LlmEvent::Usage {
            prompt_tokens,
            completion_tokens,
        });
    }
    events.push(LlmEvent::Finished {
        reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_string),
    });
    Ok(events)
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseMessage {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// An incremental Server-Sent Events parser (the WHATWG rules: `\n`, `\r\n` or `\r` line
/// ends, `:` comments, multi-line `data`, a blank line dispatches). Bytes may be split
/// anywhere, inside a line or a UTF-8 character.
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseMessage>, LlmError> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(offset) = self.pending[start..]
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
        {
            let end = start + offset;
            let terminator = match (self.pending[end], self.pending.get(end + 1)) {
                (b'\r', Some(b'\n')) => 2,
                // A `\r` last in the buffer may be the first half of `\r\n`: wait.
                (b'\r', None) => break,
                _ => 1,
            };
            let line = std::str::from_utf8(&self.pending[start..end])
                .map_err(|_| LlmError::Protocol("a line is not UTF-8".into()))?
                .to_string();
            start = end + terminator;
            self.line(&line, &mut out);
        }
        self.pending.drain(..start);
        if self.pending.len() > MAX_LINE_BYTES {
            return Err(LlmError::Protocol(format!(
                "a line is longer than {MAX_LINE_BYTES} bytes"
            )));
        }
        Ok(out)
    }

    /// At the end of the stream: the event whose lines were complete but that no blank line
    /// followed (an unterminated last line is dropped: it may be cut short).
    pub fn finish(&mut self) -> Option<SseMessage> {
        self.pending.clear();
        self.dispatch()
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseMessage>) {
        if line.is_empty() {
            out.extend(self.dispatch());
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => self.data.push(value.to_string()),
            "event" => self.event = Some(value.to_string()),
            _ => {}
        }
    }

    fn dispatch(&mut self) -> Option<SseMessage> {
        let event = self.event.take();
        if self.data.is_empty() {
            return None;
        }
        let data = std::mem::take(&mut self.data).join("\n");
        Some(SseMessage { event, data })
    }
}

#[cfg(test)]
mod tests;
