//! The inbox: agents' replies, assignment (by hand and in rounds over the available agents),
//! status, tags, notes, canned responses, saved views, stats and summaries; and the live
//! streams of visitors and agents, on one process or across replicas.

mod assignment;
mod conversations;
mod extras;
mod streams;
mod support_flow;

use crate::conformance::support::chat::{ask, upload_faq};
use crate::conformance::support::teams::{add_member, create_team, verified};
use crate::conformance::support::{client_with, header, widget};
use botwire_client::Client;
use botwire_client::types::{self, TeamRole};
use botwire_conformance::TestContext;
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// How long a live event may take to arrive (the figure: a second).
pub const LIVE_WAIT: Duration = Duration::from_secs(1);

/// A person of the desk: a signed-in user.
pub struct Agent {
    pub id: Uuid,
    pub token: String,
    pub client: Client,
}

/// A bot with an FAQ, its account's user (Alva), and a team it is shared with whose members
/// are the desk's agents.
pub struct Desk {
    pub owner: Agent,
    pub bot: types::Bot,
    pub visitor: Client,
    pub agents: Vec<Agent>,
    /// The team the bot is shared with: the agents and the owner.
    pub team: Uuid,
}

async fn agent(ctx: &TestContext, email: &str, name: &str) -> Agent {
    let (session, client) = verified(ctx, email, name).await;
    Agent {
        id: session.user.id,
        token: session.token,
        client,
    }
}

/// A desk with the agents `names` (lower-case first names; `<name>@desk.test`), agents of the
/// team unless named in `admins`.
pub async fn desk(ctx: &TestContext, names: &[&str], admins: &[&str]) -> Desk {
    let owner = agent(ctx, "alva@desk.test", "Alva").await;
    let bot = crate::conformance::support::create_bot(&owner.client, "Desk").await;
    upload_faq(&owner.client, bot.id).await;
    let team = create_team(&owner.client, "Support").await.id;
    owner
        .client
        .team_bot_share()
        .team_id(team)
        .body(types::TeamBotShare::builder().bot_id(bot.id))
        .send()
        .await
        .expect("team_bot_share");
    let mut agents = Vec::new();
    for name in names {
        let email = format!("{name}@desk.test");
        let mut display = name.to_string();
        display[..1].make_ascii_uppercase();
        let person = agent(ctx, &email, &display).await;
        let role = if admins.contains(name) {
            TeamRole::Admin
        } else {
            TeamRole::Agent
        };
        add_member(ctx, &owner.client, team, &email, &person.client, role).await;
        agents.push(person);
    }
    Desk {
        visitor: widget(ctx, &bot.widget_token),
        owner,
        bot,
        agents,
        team,
    }
}

/// A visitor's conversation on `session`, handed to humans; its id.
pub async fn handed_off(desk: &Desk, session: &str) -> Uuid {
    handed_off_on(&desk.visitor, desk.bot.id, session).await
}

/// A conversation of `visitor` (a bot's widget client) on `session`, handed to humans; its id.
pub async fn handed_off_on(visitor: &Client, bot: Uuid, session: &str) -> Uuid {
    let reply = ask(visitor, bot, session, "Do you ship abroad?").await;
    let conversation = visitor
        .conversation_escalate()
        .conversation_id(reply.conversation_id)
        .body(
            types::ConversationEscalate::builder()
                .reason(Some("wants a person".parse().expect("a reason"))),
        )
        .send()
        .await
        .expect("conversation_escalate")
        .into_inner();
    assert!(conversation.handed_off);
    conversation.id
}

/// Makes an agent available (status `online` is the default; a heartbeat makes them online).
pub async fn online(agent: &Agent) {
    agent
        .client
        .presence_heartbeat()
        .send()
        .await
        .expect("presence_heartbeat");
}

/// Sets the bot's inbox settings.
pub async fn inbox_settings(desk: &Desk, inbox: types::BotInboxSettingsInput) -> types::Bot {
    let settings = types::BotSettingsInput::builder()
        .inbox(Some(inbox))
        .try_into()
        .expect("settings");
    crate::conformance::support::update_settings(&desk.owner.client, desk.bot.id, settings).await
}

pub async fn reply(client: &Client, conversation: Uuid, text: &str) -> types::Message {
    let response = client
        .conversation_reply()
        .conversation_id(conversation)
        .body(types::ConversationReply::builder().content(Some(text.parse().expect("text"))))
        .send()
        .await
        .unwrap_or_else(|e| panic!("conversation_reply: {e:?}"));
    assert_eq!(response.status(), 201);
    response.into_inner()
}

/// One event of a live stream.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub id: Option<i64>,
    pub name: String,
    pub data: Value,
}

/// A live stream being read in the background; dropped, it disconnects.
pub struct Live {
    events: mpsc::UnboundedReceiver<LiveEvent>,
    seen: Vec<LiveEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn parse_block(block: &str) -> Option<LiveEvent> {
    let (mut id, mut name, mut data) = (None, None, None);
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(": ").unwrap_or((line, ""));
        match field {
            "id" => id = Some(value.parse().expect("a numeric event id")),
            "event" => name = Some(value.to_string()),
            "data" => data = Some(serde_json::from_str(value).expect("JSON data")),
            other => panic!("an unexpected field {other:?} in {block:?}"),
        }
    }
    Some(LiveEvent {
        id,
        name: name?,
        data: data.expect("an event with data"),
    })
}

impl Live {
    fn read(response: botwire_client::ResponseValue<botwire_client::ByteStream>) -> Live {
        assert_eq!(response.status(), 200);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        let (tx, events) = mpsc::unbounded_channel();
        let mut body = response.into_inner().into_inner();
        let task = tokio::spawn(async move {
            let mut buffer = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if let Some(event) = parse_block(block.trim_end())
                        && tx.send(event).is_err()
                    {
                        return;
                    }
                }
            }
        });
        Live {
            events,
            seen: Vec::new(),
            task,
        }
    }

    /// The next event named `name` within `within` (others are skipped, and kept in `seen`).
    pub async fn next(&mut self, name: &str, within: Duration) -> LiveEvent {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => {
                    self.seen.push(event.clone());
                    if event.name == name {
                        return event;
                    }
                }
                Ok(None) => panic!("the stream ended before `{name}`; seen {:?}", self.seen),
                Err(_) => panic!("no `{name}` within {within:?}; seen {:?}", self.seen),
            }
        }
    }

    /// The next event named `name` whose data `matches`, within `within`.
    pub async fn next_where(
        &mut self,
        name: &str,
        within: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> LiveEvent {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(name, left).await;
            if matches(&event.data) {
                return event;
            }
        }
    }

    /// Every event that arrives within `within`.
    pub async fn drain(&mut self, within: Duration) -> Vec<LiveEvent> {
        let deadline = tokio::time::Instant::now() + within;
        let mut got = Vec::new();
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            self.seen.push(event.clone());
            got.push(event);
        }
        got
    }

    /// Every event read so far.
    pub fn seen(&self) -> &[LiveEvent] {
        &self.seen
    }

    /// The id of the last event with one seen so far.
    pub fn last_id(&self) -> Option<i64> {
        self.seen.iter().rev().find_map(|e| e.id)
    }
}

/// A visitor's session stream, from `base_url` (a replica's, or the test server's).
pub async fn session_live(
    base_url: &str,
    widget_token: &str,
    bot_id: Uuid,
    session: &str,
    last_event_id: Option<i64>,
) -> Live {
    let client = client_with(base_url, header("x-widget-token", widget_token));
    let mut request = client.session_stream().bot_id(bot_id).session_id(session);
    if let Some(id) = last_event_id {
        request = request.last_event_id(id.to_string());
    }
    Live::read(request.send().await.expect("session_stream"))
}

/// An agent's inbox stream, from `base_url`.
pub async fn inbox_live(base_url: &str, token: &str, last_event_id: Option<i64>) -> Live {
    let client = client_with(
        base_url,
        header("authorization", &format!("Bearer {token}")),
    );
    let mut request = client.inbox_stream();
    if let Some(id) = last_event_id {
        request = request.last_event_id(id.to_string());
    }
    Live::read(request.send().await.expect("inbox_stream"))
}
