//! Assignment: by hand (`conversation_assign`) to a person of the bot, and in rounds
//! (`inbox_auto_assign`, or automatically with `settings.inbox.auto_assign`): the queue's
//! longest-waiting conversation first, to the available agent assigned least recently, within
//! each agent's capacity; once per conversation across replicas; back to the queue when an
//! assignee does not reply in time.

use super::{Desk, desk, handed_off, handed_off_on, inbox_settings, online, reply};
use crate::conformance::support::{bearer, expect_error, expect_invalid_field};
use botwire_client::Client;
use botwire_client::types::{self, ConversationStatus, ErrorCode};
use botwire_conformance::{Backend, TestContext, on_both_databases, run_on};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use uuid::Uuid;

async fn round(client: &Client, bot: Uuid) -> Vec<types::InboxAutoAssignment> {
    client
        .inbox_auto_assign()
        .bot_id(bot)
        .send()
        .await
        .expect("inbox_auto_assign")
        .into_inner()
        .assigned
}

async fn assignee_of(desk: &Desk, conversation: Uuid) -> Option<Uuid> {
    desk.owner
        .client
        .conversation_get()
        .conversation_id(conversation)
        .send()
        .await
        .expect("conversation_get")
        .into_inner()
        .conversation
        .assignee_id
}

fn settings(
    auto: bool,
    capacity: Option<u64>,
    reassign: Option<i64>,
) -> types::BotInboxSettingsInput {
    types::BotInboxSettingsInput {
        auto_assign: Some(auto),
        agent_capacity: capacity.and_then(std::num::NonZeroU64::new),
        reassign_after_seconds: reassign,
    }
}

async fn inbox_auto_assign_takes_the_queue_in_turn_within_capacity(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo", "bruno", "dora"], &["bruno"]).await;
    let bruno = &desk.agents[1].client;
    inbox_settings(&desk, settings(false, Some(2), None)).await;
    // Nobody online: nothing to assign to.
    let first = handed_off(&desk, "turn-0").await;
    assert!(round(bruno, desk.bot.id).await.is_empty());
    let mut queue = vec![first];
    for i in 1..7 {
        queue.push(handed_off(&desk, &format!("turn-{i}")).await);
    }
    for agent in &desk.agents {
        online(agent).await;
    }
    let made = round(bruno, desk.bot.id).await;
    // Longest waiting first; three agents at two each leave the newest in the queue.
    let order: Vec<Uuid> = made.iter().map(|a| a.conversation_id).collect();
    assert_eq!(order, queue[..6]);
    let mut counts = BTreeMap::<Uuid, usize>::new();
    for assignment in &made {
        *counts.entry(assignment.assignee_id).or_default() += 1;
    }
    let agents: BTreeSet<Uuid> = desk.agents.iter().map(|a| a.id).collect();
    assert_eq!(counts.keys().copied().collect::<BTreeSet<_>>(), agents);
    assert!(counts.values().all(|n| *n == 2), "{counts:?}");
    // In turn: no agent gets a second before each has a first.
    let firsts: BTreeSet<Uuid> = made[..3].iter().map(|a| a.assignee_id).collect();
    assert_eq!(firsts, agents);
    assert_eq!(assignee_of(&desk, queue[6]).await, None);
    assert!(
        round(bruno, desk.bot.id).await.is_empty(),
        "everyone is full"
    );

    // Freed capacity moves the backlog, by itself once the bot assigns automatically.
    inbox_settings(&desk, settings(true, Some(2), None)).await;
    let freed = made[0].clone();
    bearer(ctx, &desk.owner.token)
        .conversation_status_set()
        .conversation_id(freed.conversation_id)
        .body(types::ConversationStatusSet::builder().status(ConversationStatus::Resolved))
        .send()
        .await
        .expect("conversation_status_set");
    assert_eq!(assignee_of(&desk, queue[6]).await, Some(freed.assignee_id));
    // A handoff is assigned at once when someone has room.
    desk.owner
        .client
        .conversation_assign()
        .conversation_id(queue[6])
        .body(types::ConversationAssign::builder().assignee_id(None))
        .send()
        .await
        .expect("conversation_assign");
    assert_eq!(
        assignee_of(&desk, queue[6]).await,
        Some(freed.assignee_id),
        "unassigning frees capacity, and the round gives it back"
    );
}

async fn conversation_assign_gives_it_to_a_person_of_the_bot(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo", "bruno"], &[]).await;
    let (cleo, bruno) = (&desk.agents[0], &desk.agents[1]);
    let conversation = handed_off(&desk, "assign-1").await;
    let stranger = crate::conformance::support::register(ctx, "stranger@desk.test", "S").await;
    expect_invalid_field(
        cleo.client
            .conversation_assign()
            .conversation_id(conversation)
            .body(types::ConversationAssign::builder().assignee_id(Some(stranger.user.id)))
            .send()
            .await,
        "assignee_id",
    );
    let assign = |to: Option<Uuid>| {
        cleo.client
            .conversation_assign()
            .conversation_id(conversation)
            .body(types::ConversationAssign::builder().assignee_id(to))
            .send()
    };
    let assigned = assign(Some(bruno.id)).await.expect("assign").into_inner();
    assert_eq!(assigned.assignee_id, Some(bruno.id));
    let notified = bruno
        .client
        .notification_list()
        .send()
        .await
        .expect("notification_list")
        .into_inner();
    assert!(
        notified
            .data
            .iter()
            .any(|n| n.type_ == types::NotificationType::SessionAssigned)
    );
    let again = assign(Some(bruno.id)).await.expect("assign").into_inner();
    assert_eq!(
        again.updated_at, assigned.updated_at,
        "the same assignee changes nothing"
    );
    let cleared = assign(None).await.expect("unassign").into_inner();
    assert_eq!(cleared.assignee_id, None);
    expect_error(
        cleo.client
            .conversation_assign()
            .conversation_id(Uuid::new_v4())
            .body(types::ConversationAssign::builder().assignee_id(None))
            .send()
            .await,
        404,
        ErrorCode::ConversationNotFound,
    );
}

fn capacity(limit: Option<u64>) -> Option<std::num::NonZeroU64> {
    limit.and_then(std::num::NonZeroU64::new)
}

/// A team's `agent_capacity` bounds each member's open conversations over every bot, a
/// member's own replaces it, and the smallest limit that applies wins.
async fn team_and_member_capacities_bound_auto_assignment_over_every_bot(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo", "bruno"], &["bruno"]).await;
    let (cleo, bruno) = (&desk.agents[0], &desk.agents[1]);
    let owner = &desk.owner.client;
    let team_update =
        |body: types::builder::TeamUpdate| owner.team_update().team_id(desk.team).body(body).send();
    // Agents may not change the team; the bounds are the contract's.
    expect_error(
        cleo.client
            .team_update()
            .team_id(desk.team)
            .body(types::TeamUpdate::builder().agent_capacity(capacity(Some(1))))
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    // Null (which the typed client leaves out) clears a capacity: sent as JSON.
    let patch = |path: String, body: serde_json::Value| {
        let request = reqwest::Client::new()
            .patch(format!("{}{path}", ctx.base_url))
            .bearer_auth(&desk.owner.token)
            .json(&body);
        async move {
            let response = request.send().await.expect("PATCH");
            let status = response.status().as_u16();
            (
                status,
                response.json::<serde_json::Value>().await.expect("JSON"),
            )
        }
    };
    let team_path = format!("/v1/teams/{}", desk.team);
    let (status, _) = patch(
        team_path.clone(),
        serde_json::json!({"agent_capacity": 1001}),
    )
    .await;
    assert_eq!(status, 422);
    let team = team_update(types::TeamUpdate::builder().agent_capacity(capacity(Some(2))))
        .await
        .expect("team_update")
        .into_inner();
    assert_eq!(team.agent_capacity, capacity(Some(2)));
    assert_eq!(team.name, "Support", "fields left out stay");
    let member = owner
        .team_member_update()
        .team_id(desk.team)
        .user_id(cleo.id)
        .body(types::TeamMemberUpdate::builder().agent_capacity(capacity(Some(1))))
        .send()
        .await
        .expect("team_member_update")
        .into_inner();
    assert_eq!(member.agent_capacity, capacity(Some(1)));
    assert_eq!(member.role, types::TeamRole::Agent, "fields left out stay");

    // Bruno already holds a conversation of another bot the team works.
    let other = crate::conformance::support::create_bot(owner, "Other desk").await;
    crate::conformance::support::chat::upload_faq(owner, other.id).await;
    owner
        .team_bot_share()
        .team_id(desk.team)
        .body(types::TeamBotShare::builder().bot_id(other.id))
        .send()
        .await
        .expect("team_bot_share");
    let elsewhere = crate::conformance::support::widget(ctx, &other.widget_token);
    let held = handed_off_on(&elsewhere, other.id, "held-1").await;
    owner
        .conversation_assign()
        .conversation_id(held)
        .body(types::ConversationAssign::builder().assignee_id(Some(bruno.id)))
        .send()
        .await
        .expect("conversation_assign");

    let mut queue = Vec::new();
    for i in 0..4 {
        queue.push(handed_off(&desk, &format!("cap-{i}")).await);
    }
    online(cleo).await;
    online(bruno).await;
    let made = round(&bruno.client, desk.bot.id).await;
    let to = |made: &[types::InboxAutoAssignment], agent: Uuid| {
        made.iter().filter(|a| a.assignee_id == agent).count()
    };
    assert_eq!(
        to(&made, cleo.id),
        1,
        "her own limit, 1, replaces the team's"
    );
    assert_eq!(
        to(&made, bruno.id),
        1,
        "the team's 2, counted over both bots"
    );
    assert_eq!(made.len(), 2);

    // No team limit: Bruno is free, Cleo keeps her own; then hers goes back to none.
    let (status, team) = patch(team_path, serde_json::json!({"agent_capacity": null})).await;
    assert_eq!(
        (status, &team["agent_capacity"]),
        (200, &serde_json::Value::Null)
    );
    assert_eq!(team["name"], "Support");
    let made = round(&bruno.client, desk.bot.id).await;
    assert_eq!(to(&made, cleo.id), 0, "{made:?}");
    assert_eq!(to(&made, bruno.id), 2, "{made:?}");
    let member_path = format!("/v1/teams/{}/members/{}", desk.team, cleo.id);
    let (status, member) = patch(member_path, serde_json::json!({"agent_capacity": null})).await;
    assert_eq!(
        (status, &member["agent_capacity"]),
        (200, &serde_json::Value::Null)
    );
    assert_eq!(member["role"], "agent");
    let renamed = team_update(
        types::TeamUpdate::builder().name(Some("Support EMEA".parse().expect("a name"))),
    )
    .await
    .expect("team_update")
    .into_inner();
    assert_eq!(
        (renamed.name.as_str(), renamed.agent_capacity),
        ("Support EMEA", capacity(None))
    );
}

on_both_databases!(
    inbox_auto_assign_takes_the_queue_in_turn_within_capacity,
    conversation_assign_gives_it_to_a_person_of_the_bot,
    team_and_member_capacities_bound_auto_assignment_over_every_bot,
);

/// Three replicas run rounds at the same time: each conversation is assigned once, and the
/// agents' counts differ by at most one.
async fn rounds_on_three_replicas_assign_each_conversation_once(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo", "bruno", "dora"], &[]).await;
    let mut queue = BTreeSet::new();
    for i in 0..10 {
        queue.insert(handed_off(&desk, &format!("race-{i}")).await);
    }
    for agent in &desk.agents {
        online(agent).await;
    }
    let mut replicas = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..3 {
        let replica = ctx.replica(|_| {}).await.expect("starting a replica");
        clients.push(crate::conformance::support::client_with(
            &format!("http://{}", replica.local_addr()),
            crate::conformance::support::header(
                "authorization",
                &format!("Bearer {}", desk.owner.token),
            ),
        ));
        replicas.push(replica);
    }
    let (a, b, c) = tokio::join!(
        round(&clients[0], desk.bot.id),
        round(&clients[1], desk.bot.id),
        round(&clients[2], desk.bot.id),
    );
    let made: Vec<_> = a.into_iter().chain(b).chain(c).collect();
    let assigned: Vec<Uuid> = made.iter().map(|m| m.conversation_id).collect();
    assert_eq!(assigned.len(), 10, "{made:?}");
    assert_eq!(assigned.iter().copied().collect::<BTreeSet<_>>(), queue);
    let mut counts = BTreeMap::<Uuid, usize>::new();
    for assignment in &made {
        *counts.entry(assignment.assignee_id).or_default() += 1;
    }
    let (least, most) = (
        counts.values().min().copied().unwrap_or(0),
        counts.values().max().copied().unwrap_or(0),
    );
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(most - least <= 1, "{counts:?}");
    for conversation in &queue {
        let assignee = assignee_of(&desk, *conversation).await;
        assert!(
            made.iter()
                .any(|m| m.conversation_id == *conversation && Some(m.assignee_id) == assignee)
        );
    }
    for replica in replicas {
        replica.close().await.expect("stopping a replica");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rounds_on_three_replicas_assign_each_conversation_once_postgres() {
    run_on(
        Backend::Postgres,
        rounds_on_three_replicas_assign_each_conversation_once,
    )
    .await;
}

/// A conversation whose assignee has not replied within `reassign_after_seconds` goes back to
/// the queue, its place kept; one the assignee answered stays.
async fn an_unanswered_assignment_goes_back_to_the_queue(ctx: &TestContext) {
    let desk = desk(ctx, &["cleo"], &[]).await;
    let cleo = &desk.agents[0];
    inbox_settings(&desk, settings(false, None, Some(30))).await;
    let unanswered = handed_off(&desk, "late-1").await;
    let answered = handed_off(&desk, "late-2").await;
    for conversation in [unanswered, answered] {
        desk.owner
            .client
            .conversation_assign()
            .conversation_id(conversation)
            .body(types::ConversationAssign::builder().assignee_id(Some(cleo.id)))
            .send()
            .await
            .expect("conversation_assign");
    }
    reply(&cleo.client, answered, "On it.").await;
    let deadline = Instant::now() + Duration::from_secs(45);
    while assignee_of(&desk, unanswered).await.is_some() {
        assert!(Instant::now() < deadline, "still assigned after 45 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(assignee_of(&desk, answered).await, Some(cleo.id));
}

on_both_databases!(an_unanswered_assignment_goes_back_to_the_queue);
