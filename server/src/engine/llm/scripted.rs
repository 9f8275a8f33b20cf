//! A scripted OpenAI-compatible server, for tests of the LLM client and of chat over it: every
//! connection gets the same bytes, written step by step with pauses, so tests can split chunks
//! anywhere, stall, send errors, close abruptly, and see whether the client went away.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The head of a streamed answer (the body ends when the connection does).
pub const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";

/// One step of the script.
#[derive(Debug, Clone)]
pub enum Step {
    Send(Vec<u8>),
    Pause(Duration),
}

impl Step {
    pub fn text(text: &str) -> Step {
        Step::Send(text.as_bytes().to_vec())
    }
}

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The request line and headers, as sent.
    pub head: String,
    pub body: serde_json::Value,
}

pub struct ScriptedLlm {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    abandoned: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedLlm {
    /// Listens on a free loopback port and answers every connection with `script`.
    pub async fn start(script: Vec<Step>) -> std::io::Result<ScriptedLlm> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let abandoned = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let task = tokio::spawn({
            let requests = requests.clone();
            let abandoned = abandoned.clone();
            async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let (script, requests, abandoned) =
                        (script.clone(), requests.clone(), abandoned.clone());
                    tokio::spawn(
                        async move { serve(socket, &script, &requests, &abandoned).await },
                    );
                }
            }
        });
        Ok(ScriptedLlm {
            addr,
            requests,
            abandoned,
            task,
        })
    }

    /// The base URL to configure (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The requests received so far (recorded once read, before the script is written).
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.requests).clone()
    }

    /// How many connections the client closed before the script was written out.
    pub fn abandoned(&self) -> usize {
        self.abandoned.load(Ordering::SeqCst)
    }
}

impl Drop for ScriptedLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(
    mut socket: TcpStream,
    script: &[Step],
    requests: &Mutex<Vec<Recorded>>,
    abandoned: &AtomicUsize,
) {
    let Some(recorded) = read_request(&mut socket).await else {
        return;
    };
    lock(requests).push(recorded);
    for step in script {
        match step {
            Step::Pause(pause) => tokio::time::sleep(*pause).await,
            Step::Send(bytes) => {
                if socket.write_all(bytes).await.is_err() || socket.flush().await.is_err() {
                    abandoned.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
    let _ = socket.shutdown().await;
}

async fn read_request(socket: &mut TcpStream) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = serde_json::from_slice(&buffer[head_end..head_end + length])
        .unwrap_or(serde_json::Value::Null);
    Some(Recorded { head, body })
}

/// A well-formed streamed completion of `pieces`, with a usage chunk and `[DONE]`, one step
/// per event.
pub fn completion(pieces: &[&str]) -> Vec<Step> {
    let mut steps = vec![Step::text(SSE_HEAD)];
    for piece in pieces {
        steps.push(Step::text(&chunk(Some(piece), None)));
    }
    steps.push(Step::text(&chunk(None, Some("stop"))));
    steps.push(Step::text(&format!(
        "data: {}\n\n",
        serde_json::json!({
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": { "prompt_tokens": 42, "completion_tokens": pieces.len() },
        })
    )));
    steps.push(Step::text("data: [DONE]\n\n"));
    steps
}

/// One `chat.completion.chunk` event.
pub fn chunk(content: Option<&str>, finish_reason: Option<&str>) -> String {
    let delta = match content {
        Some(content) => serde_json::json!({ "content": content }),
        None => serde_json::json!({}),
    };
    format!(
        "data: {}\n\n",
        serde_json::json!({
            "object": "chat.completion.chunk",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
        })
    )
}
