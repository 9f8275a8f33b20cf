//! The SSE parser on every way of splitting its input, and the client against a scripted
//! server: split chunks, error objects, abrupt closes, slow and stalled streams, cancellation.

use super::scripted::{self, SSE_HEAD, ScriptedLlm, Step};
use super::*;

fn timeouts(idle_ms: u64, total_ms: u64) -> LlmTimeouts {
    LlmTimeouts {
        connect: Duration::from_secs(2),
        idle: Duration::from_millis(idle_ms),
        total: Duration::from_millis(total_ms),
    }
}

fn request(base_url: String) -> LlmRequest {
    LlmRequest {
        base_url,
        model: "scripted".into(),
        api_key: Some("sk-test-secret".into()),
        temperature: 0.0,
        max_tokens: 64,
        messages: vec![
            PromptMessage {
                role: "system",
                content: "Be brief.".into(),
            },
            PromptMessage {
                role: "user",
                content: "Hello?".into(),
            },
        ],
        guarded: false,
    }
}

async fn run(script: Vec<Step>, idle_ms: u64, total_ms: u64) -> Vec<Result<LlmEvent, LlmError>> {
    let server = ScriptedLlm::start(script).await.expect("scripted server");
    let client = LlmClient::new(timeouts(idle_ms, total_ms), Vec::new()).expect("client");
    client.stream(&request(server.base_url())).collect().await
}

fn text_of(events: &[Result<LlmEvent, LlmError>]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(LlmEvent::Delta(text)) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// Every byte written on its own, with the stream intact.
fn one_byte_steps(script: Vec<Step>) -> Vec<Step> {
    script
        .into_iter()
        .flat_map(|step| match step {
            Step::Send(bytes) => bytes.into_iter().map(|b| Step::Send(vec![b])).collect(),
            pause => vec![pause],
        })
        .collect()
}

const STREAM: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"Hé\"}}]}\r\n\r\n\
    : keep-alive\n\n\
    event: message\ndata: {\"choices\":[{\"delta\":{\"content\":\"llo\"}}]}\r\r\
    data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
    data: [DONE]\n\n";

#[test]
fn parser_gives_the_same_events_however_the_bytes_are_split() {
    let whole = SseParser::default()
        .push(STREAM.as_bytes())
        .expect("parses");
    assert_eq!(whole.len(), 4);
    assert_eq!(whole[1].event.as_deref(), Some("message"));
    let bytes = STREAM.as_bytes();
    for split in 0..=bytes.len() {
        let mut parser = SseParser::default();
        let mut events = parser.push(&bytes[..split]).expect("first half");
        events.extend(parser.push(&bytes[split..]).expect("second half"));
        assert_eq!(events, whole, "split at byte {split}");
    }
    // And one byte at a time (a UTF-8 character split in two included).
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    for byte in bytes {
        events.extend(parser.push(std::slice::from_ref(byte)).expect("a byte"));
    }
    assert_eq!(events, whole);
}

#[test]
fn parser_joins_multi_line_data_and_skips_comments_and_unknown_fields() {
    let mut parser = SseParser::default();
    let events = parser
        .push(b": comment\nid: 7\nretry: 10\ndata: a\ndata:b\ndata\n\n\n")
        .expect("parses");
    assert_eq!(
        events,
        vec![SseMessage {
            event: None,
            data: "a\nb\n".into()
        }]
    );
}

#[test]
fn parser_keeps_a_last_complete_event_and_drops_a_cut_line() {
    let mut parser = SseParser::default();
    assert!(parser.push(b"data: [DONE]\n").expect("parses").is_empty());
    assert_eq!(parser.finish().map(|m| m.data), Some("[DONE]".to_string()));
    let mut parser = SseParser::default();
    assert!(parser.push(b"data: {\"cho").expect("parses").is_empty());
    assert_eq!(parser.finish(), None);
}

#[test]
fn parser_refuses_endless_lines_and_invalid_utf8() {
    let mut parser = SseParser::default();
    let long = vec![b'a'; MAX_LINE_BYTES + 1];
    assert!(matches!(parser.push(&long), Err(LlmError::Protocol(_))));
    let mut parser = SseParser::default();
    assert!(matches!(
        parser.push(b"data: \xff\xfe\n\n"),
        Err(LlmError::Protocol(_))
    ));
}

#[tokio::test]
async fn a_stream_written_byte_by_byte_reads_whole() {
    let events = run(
        one_byte_steps(scripted::completion(&["Hé", "llo", " wörld"])),
        2_000,
        10_000,
    )
    .await;
    assert_eq!(text_of(&events), "Héllo wörld");
    assert_eq!(
        events[events.len() - 2..],
        [
            Ok(LlmEvent::Usage {
                prompt_tokens: 42,
                completion_tokens: 3
            }),
            Ok(LlmEvent::Finished {
                reason: Some("stop".into())
            })
        ]
    );
}

#[tokio::test]
async fn the_request_is_an_openai_streaming_completion_with_the_key() {
    let server = ScriptedLlm::start(scripted::completion(&["ok"]))
        .await
        .expect("scripted server");
    let client = LlmClient::new(timeouts(2_000, 10_000), Vec::new()).expect("client");
    let events: Vec<_> = client.stream(&request(server.base_url())).collect().await;
    assert_eq!(text_of(&events), "ok");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let recorded = &requests[0];
    assert!(
        recorded
            .head
            .starts_with("POST /v1/chat/completions HTTP/1.1")
    );
    assert!(
        recorded
            .head
            .to_lowercase()
            .contains("authorization: bearer sk-test-secret")
    );
    let body = &recorded.body;
    assert_eq!(body["model"], "scripted");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["cache_prompt"], false);
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["content"], "Hello?");
}

#[tokio::test]
async fn an_error_object_in_the_stream_ends_it_with_the_servers_message() {
    let script = vec![
        Step::text(SSE_HEAD),
        Step::text(&scripted::chunk(Some("Partial"), None)),
        Step::text(
            "data: {\"error\":{\"message\":\"context window exceeded\",\"type\":\"invalid_request_error\"}}\n\n",
        ),
    ];
    let events = run(script, 2_000, 10_000).await;
    assert_eq!(
        events,
        vec![
            Ok(LlmEvent::Delta("Partial".into())),
            Err(LlmError::Api("context window exceeded".into()))
        ]
    );
}

#[tokio::test]
async fn a_close_before_the_reply_is_complete_is_truncation() {
    let script = vec![
        Step::text(SSE_HEAD),
        Step::text(&scripted::chunk(Some("Half a"), None)),
        // Cut inside the next event.
        Step::text("data: {\"choices\":[{\"delta\":{\"content\":\" sen"),
    ];
    let events = run(script, 2_000, 10_000).await;
    assert_eq!(
        events,
        vec![
            Ok(LlmEvent::Delta("Half a".into())),
            Err(LlmError::Truncated)
        ]
    );
}

#[tokio::test]
async fn a_close_after_the_finish_reason_without_done_is_complete() {
    let script = vec![
        Step::text(SSE_HEAD),
        Step::text(&scripted::chunk(Some("All"), None)),
        Step::text(&scripted::chunk(None, Some("length"))),
    ];
    let events = run(script, 2_000, 10_000).await;
    assert_eq!(
        events,
        vec![
            Ok(LlmEvent::Delta("All".into())),
            Ok(LlmEvent::Finished {
                reason: Some("length".into())
            })
        ]
    );
}

#[tokio::test]
async fn a_slow_stream_within_the_idle_timeout_completes() {
    let mut script = vec![Step::text(SSE_HEAD)];
    for piece in ["slow", " but", " steady"] {
        script.push(Step::Pause(Duration::from_millis(150)));
        script.push(Step::text(&scripted::chunk(Some(piece), None)));
    }
    script.push(Step::text("data: [DONE]\n\n"));
    let events = run(script, 1_000, 10_000).await;
    assert_eq!(text_of(&events), "slow but steady");
    assert_eq!(
        events.last(),
        Some(&Ok(LlmEvent::Finished { reason: None }))
    );
}

#[tokio::test]
async fn a_stalled_stream_fails_at_the_idle_timeout() {
    let script = vec![
        Step::text(SSE_HEAD),
        Step::text(&scripted::chunk(Some("Then"), None)),
        Step::Pause(Duration::from_secs(5)),
        Step::text("data: [DONE]\n\n"),
    ];
    let started = std::time::Instant::now();
    let events = run(script, 200, 10_000).await;
    assert_eq!(
        events,
        vec![
            Ok(LlmEvent::Delta("Then".into())),
            Err(LlmError::Idle(Duration::from_millis(200)))
        ]
    );
    assert!(started.elapsed() < Duration::from_secs(4), "gave up early");
}

#[tokio::test]
async fn a_trickle_that_never_ends_fails_at_the_total_timeout() {
    let mut script = vec![Step::text(SSE_HEAD)];
    for _ in 0..100 {
        script.push(Step::Pause(Duration::from_millis(50)));
        script.push(Step::text(&scripted::chunk(Some("."), None)));
    }
    let events = run(script, 1_000, 400).await;
    assert!(text_of(&events).len() >= 2, "some dots came: {events:?}");
    assert_eq!(
        events.last(),
        Some(&Err(LlmError::Total(Duration::from_millis(400))))
    );
}

#[tokio::test]
async fn an_http_error_carries_the_servers_message() {
    let body =
        r#"{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}"#;
    let script = vec![Step::text(&format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))];
    let events = run(script, 2_000, 10_000).await;
    assert_eq!(
        events,
        vec![Err(LlmError::Status {
            status: 401,
            message: "Invalid API Key".into()
        })]
    );
}

#[tokio::test]
async fn a_server_that_ignores_stream_true_is_read_whole() {
    let body = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Whole."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#;
    let script = vec![Step::text(&format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))];
    let events = run(script, 2_000, 10_000).await;
    assert_eq!(
        events,
        vec![
            Ok(LlmEvent::Delta("Whole.".into())),
            Ok(LlmEvent::Usage {
                prompt_tokens: 9,
                completion_tokens: 2
            }),
            Ok(LlmEvent::Finished {
                reason: Some("stop".into())
            })
        ]
    );
}

#[tokio::test]
async fn garbage_in_the_stream_is_a_protocol_error() {
    let script = vec![Step::text(SSE_HEAD), Step::text("data: {not json\n\n")];
    let events = run(script, 2_000, 10_000).await;
    assert!(
        matches!(events.as_slice(), [Err(LlmError::Protocol(_))]),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let client = LlmClient::new(timeouts(2_000, 10_000), Vec::new()).expect("client");
    let events: Vec<_> = client
        .stream(&request(format!("http://127.0.0.1:{port}/v1")))
        .collect()
        .await;
    assert!(
        matches!(events.as_slice(), [Err(LlmError::Connect(_))]),
        "{events:?}"
    );
    let Err(error) = &events[0] else {
        unreachable!()
    };
    assert!(!error.to_string().contains("sk-test-secret"));
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection_to_the_llm() {
    let mut script = vec![Step::text(SSE_HEAD)];
    for _ in 0..200 {
        script.push(Step::text(&scripted::chunk(Some("token "), None)));
        script.push(Step::Pause(Duration::from_millis(20)));
    }
    let server = ScriptedLlm::start(script).await.expect("scripted server");
    let client = LlmClient::new(timeouts(2_000, 30_000), Vec::new()).expect("client");
    let mut stream = Box::pin(client.stream(&request(server.base_url())));
    assert_eq!(
        stream.next().await,
        Some(Ok(LlmEvent::Delta("token ".into())))
    );
    drop(stream);
    // The script would take 4 s to write out; the server sees the client leave long before.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while server.abandoned() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the LLM connection stayed open after the stream was dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A stream as llama.cpp's `llama-server` really sent it (SmolLM2, `include_usage`), split at
/// every 7th byte.
#[tokio::test]
async fn a_recorded_llama_server_stream_reads_whole() {
    let recorded = include_bytes!("testdata/llama-server-stream.txt");
    let mut script = vec![Step::text(SSE_HEAD)];
    script.extend(recorded.chunks(7).map(|c| Step::Send(c.to_vec())));
    let events = run(script, 2_000, 10_000).await;
    assert_eq!(
        text_of(&events),
        "A refund is only available for items purchased from the store within 14 days of us \
         receiving the return."
    );
    assert_eq!(
        events[events.len() - 2..],
        [
            Ok(LlmEvent::Usage {
                prompt_tokens: 61,
                completion_tokens: 23
            }),
            Ok(LlmEvent::Finished {
                reason: Some("stop".into())
            })
        ]
    );
}

/// A bot's own URL (`guarded`) reaches the operator's network only where allowed, whether
/// the URL names an address or a host that resolves to one.
#[tokio::test]
async fn a_guarded_request_reaches_only_permitted_addresses() {
    let server = ScriptedLlm::start(scripted::completion(&["ok"]))
        .await
        .expect("scripted server");
    let port = server.base_url().rsplit(':').next().unwrap().to_string();
    let mut guarded = request(server.base_url());
    guarded.guarded = true;
    let refusing = LlmClient::new(timeouts(2_000, 10_000), Vec::new()).expect("client");
    let events: Vec<_> = refusing.stream(&guarded).collect().await;
    assert_eq!(events, vec![Err(LlmError::Refused)]);
    let mut by_name = guarded.clone();
    by_name.base_url = format!("http://localhost:{port}");
    let events: Vec<_> = refusing.stream(&by_name).collect().await;
    assert!(
        matches!(events.as_slice(), [Err(LlmError::Connect(_))]),
        "{events:?}"
    );
    assert!(server.requests().is_empty(), "a refused request was sent");

    let loopback = vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    let allowing = LlmClient::new(timeouts(2_000, 10_000), loopback).expect("client");
    let events: Vec<_> = allowing.stream(&guarded).collect().await;
    assert_eq!(text_of(&events), "ok");
}
