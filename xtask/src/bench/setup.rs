//! The set-up through the HTTP API: an account, an API key, a bot with the data set, and the
//! sessions the scenarios use.

use super::dataset::{Pair, chat_bodies};
use super::{SESSIONS, http};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// What the set-up through the API created.
pub(super) struct Setup {
    /// A session token (JWT) of the account's user.
    pub(super) token: String,
    pub(super) key: String,
    pub(super) bot: String,
    pub(super) history_session: String,
    /// Of [`RACE_REQUESTS`] concurrent first messages to one new session, how many got a 5xx.
    pub(super) race_failures: usize,
}

/// Concurrent first messages sent to one new session by the set-up's check.
pub(super) const RACE_REQUESTS: usize = 16;

impl Setup {
    /// An account, an account-wide API key, a bot with the data set as one FAQ JSON document,
    /// a check that it answers, a session of 10 exchanges (20 messages) for history reads, and
    /// one message in each session the chat scenarios use, so that they measure sessions that
    /// exist (concurrent first messages to one session are checked apart, see `race`).
    pub(super) fn run(addr: SocketAddr, pairs: &[Pair]) -> Result<Setup> {
        let json_type = ("Content-Type", "application/json");
        let session = http::call(
            addr,
            "POST",
            "/v1/auth/register",
            &[json_type],
            json!({"email": "bench@example.com", "name": "Bench", "password": "a long bench passphrase"})
                .to_string()
                .as_bytes(),
        )
        .context("registering")?;
        let token = session["token"].as_str().context("no token")?;
        let bearer = format!("Bearer {token}");
        let created = http::call(
            addr,
            "POST",
            "/v1/api-keys",
            &[json_type, ("Authorization", &bearer)],
            br#"{"name":"bench"}"#,
        )
        .context("creating an API key")?;
        let key = created["key"].as_str().context("no key")?.to_string();
        let auth = ("X-API-Key", key.as_str());
        let bot = http::call(
            addr,
            "POST",
            "/v1/bots",
            &[json_type, auth],
            br#"{"name":"Construction FAQ"}"#,
        )
        .context("creating a bot")?;
        let bot = bot["id"].as_str().context("no bot id")?.to_string();
        let faq: Vec<Value> = pairs
            .iter()
            .map(|pair| json!({"question": pair.question, "answer": pair.answer}))
            .collect();
        let (content_type, body) = http::multipart(
            "construction-faq.json",
            "application/json",
            Value::from(faq).to_string().as_bytes(),
            &[("metadata", r#"{"title":"Swedish construction FAQ"}"#)],
        );
        let document = http::call(
            addr,
            "POST",
            &format!("/v1/bots/{bot}/documents"),
            &[("Content-Type", &content_type), auth],
            &body,
        )
        .context("uploading the FAQ")?;
        println!(
            "set-up: bot {bot}, document of {} FAQ pairs",
            document["faq_count"]
        );
        let history_session = "history".to_string();
        let english = &pairs[pairs.len() / 2..];
        let mut answered = 0;
        for pair in english.iter().take(10) {
            let reply = http::call(
                addr,
                "POST",
                "/v1/chat",
                &[json_type, auth],
                json!({"bot_id": bot, "session_id": history_session, "message": pair.question})
                    .to_string()
                    .as_bytes(),
            )
            .context("a chat message of the set-up")?;
            if reply["reply"].is_null() || reply["engine"] != "offline" {
                bail!("no reply from the offline engine: {reply}");
            }
            answered += usize::from(reply["reply"].as_str() == Some(pair.answer.as_str()));
        }
        println!("set-up: {answered} of 10 questions answered with their own FAQ answer");
        for prefix in ["chat", "stream"] {
            for body in chat_bodies(pairs, &bot, prefix).iter().take(SESSIONS) {
                http::call(
                    addr,
                    "POST",
                    "/v1/chat",
                    &[json_type, auth],
                    body.as_bytes(),
                )
                .context("a first message of a session")?;
            }
        }
        let race_failures = race(addr, &key, &bot)?;
        println!(
            "set-up: {race_failures} of {RACE_REQUESTS} concurrent first messages to one new \
             session failed with a 5xx"
        );
        Ok(Setup {
            token: token.to_string(),
            key,
            bot,
            history_session,
            race_failures,
        })
    }
}

/// Sends [`RACE_REQUESTS`] first messages to one new session at once (as 64 connections
/// rotating through new sessions do); returns how many were answered with a 5xx.
fn race(addr: SocketAddr, key: &str, bot: &str) -> Result<usize> {
    let request = http::request(
        "POST",
        "/v1/chat",
        &[("Content-Type", "application/json"), ("X-API-Key", key)],
        json!({"bot_id": bot, "session_id": "race", "message": "How do I get a building permit?"})
            .to_string()
            .as_bytes(),
    );
    let barrier = std::sync::Barrier::new(RACE_REQUESTS);
    let statuses: Vec<Result<u16>> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..RACE_REQUESTS)
            .map(|_| {
                scope.spawn(|| {
                    let connection = http::Connection::open(addr);
                    barrier.wait();
                    Ok(connection?.send(&request)?.status)
                })
            })
            .collect();
        senders
            .into_iter()
            .map(|sender| {
                sender
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a sender panicked")))
            })
            .collect()
    });
    let mut failures = 0;
    for status in statuses {
        failures += usize::from(status? >= 500);
    }
    Ok(failures)
}
