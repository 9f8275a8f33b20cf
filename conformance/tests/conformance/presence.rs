//! Presence: heartbeats make a user online for 60 s (coalesced: one under 15 s after the
//! recorded one writes nothing), the status a user chooses or a team admin sets for them, the
//! presence of one's teams and the agents available for a bot; all of it held in the database,
//! so that two replicas on one PostgreSQL agree.

use crate::conformance::support::teams::{add_member, create_team, verified};
use crate::conformance::support::{client_with, create_bot, expect_error, header};
use botwire_client::Client;
use botwire_client::types::{self, ErrorCode, PresenceStatus, TeamRole};
use botwire_conformance::{Backend, TestContext, on_both_databases, run_on};
use std::num::NonZeroU64;
use uuid::Uuid;

async fn heartbeat(client: &Client) -> types::Presence {
    client
        .presence_heartbeat()
        .send()
        .await
        .expect("presence_heartbeat")
        .into_inner()
}

async fn set_status(client: &Client, status: PresenceStatus) -> types::Presence {
    client
        .presence_status_set()
        .body(types::PresenceStatusSet::builder().status(status))
        .send()
        .await
        .expect("presence_status_set")
        .into_inner()
}

fn set_for(
    team: Uuid,
    client: &Client,
    user: Uuid,
) -> impl Future<
    Output = Result<
        botwire_client::ResponseValue<types::TeamPresence>,
        botwire_client::Error<types::Error>,
    >,
> + '_ {
    client
        .team_member_presence_set()
        .team_id(team)
        .user_id(user)
        .body(types::PresenceStatusSet::builder().status(PresenceStatus::Away))
        .send()
}

fn names(list: &types::PresenceList) -> Vec<&str> {
    list.data.iter().map(|p| p.name.as_str()).collect()
}

async fn available(client: &Client, bot_id: Option<Uuid>) -> types::PresenceList {
    let mut request = client.presence_available_list();
    if let Some(bot_id) = bot_id {
        request = request.bot_id(bot_id);
    }
    request
        .send()
        .await
        .expect("presence_available_list")
        .into_inner()
}

async fn team_presence(client: &Client) -> types::PresenceList {
    client
        .presence_team_get()
        .send()
        .await
        .expect("presence_team_get")
        .into_inner()
}

/// A team of Alva (owner), Bruno (admin) and Cleo (agent), and Dora of another account.
struct Crew {
    alva: Client,
    bruno: Client,
    cleo: Client,
    dora: Client,
    cleo_id: Uuid,
    alva_id: Uuid,
    team: Uuid,
}

async fn crew(ctx: &TestContext) -> Crew {
    let (alva_session, alva) = verified(ctx, "alva@example.test", "Alva").await;
    let (_, bruno) = verified(ctx, "bruno@example.test", "Bruno").await;
    let (cleo_session, cleo) = verified(ctx, "cleo@example.test", "Cleo").await;
    let (_, dora) = verified(ctx, "dora@example.test", "Dora").await;
    let team = create_team(&alva, "Support").await.id;
    add_member(
        ctx,
        &alva,
        team,
        "bruno@example.test",
        &bruno,
        TeamRole::Admin,
    )
    .await;
    add_member(
        ctx,
        &alva,
        team,
        "cleo@example.test",
        &cleo,
        TeamRole::Agent,
    )
    .await;
    Crew {
        alva,
        bruno,
        cleo,
        dora,
        cleo_id: cleo_session.user.id,
        alva_id: alva_session.user.id,
        team,
    }
}

async fn presence_follows_heartbeats_and_the_chosen_status(ctx: &TestContext) {
    let crew = crew(ctx).await;

    // Nobody has sent a heartbeat: all `online` by choice, none online.
    let before = team_presence(&crew.cleo).await;
    assert_eq!(names(&before), vec!["Alva", "Bruno", "Cleo"]);
    assert!(
        before
            .data
            .iter()
            .all(|p| !p.online && p.last_seen_at.is_none() && p.status == PresenceStatus::Online)
    );
    assert!(available(&crew.alva, None).await.data.is_empty());

    // A heartbeat makes Cleo online; one right after it is coalesced (same `last_seen_at`).
    let first = heartbeat(&crew.cleo).await;
    assert!(first.online);
    assert_eq!(first.user_id, crew.cleo_id);
    assert_eq!(first.status, PresenceStatus::Online);
    let seen = first.last_seen_at.expect("a heartbeat time");
    let second = heartbeat(&crew.cleo).await;
    assert_eq!(second.last_seen_at, Some(seen));
    assert_eq!(names(&available(&crew.alva, None).await), vec!["Cleo"]);
    heartbeat(&crew.bruno).await;
    assert_eq!(
        names(&available(&crew.alva, None).await),
        vec!["Bruno", "Cleo"]
    );

    // Busy: still connected, no longer available; the heartbeat keeps the chosen status.
    let busy = set_status(&crew.cleo, PresenceStatus::Busy).await;
    assert_eq!(busy.status, PresenceStatus::Busy);
    assert!(busy.online);
    assert_eq!(heartbeat(&crew.cleo).await.status, PresenceStatus::Busy);
    assert_eq!(names(&available(&crew.cleo, None).await), vec!["Bruno"]);
    set_status(&crew.cleo, PresenceStatus::Online).await;

    // An admin forces an agent offline; the agent's own choice takes over again.
    let forced = crew
        .bruno
        .team_member_presence_set()
        .team_id(crew.team)
        .user_id(crew.cleo_id)
        .body(types::PresenceStatusSet::builder().status(PresenceStatus::Offline))
        .send()
        .await
        .expect("team_member_presence_set")
        .into_inner();
    assert_eq!(forced.status, PresenceStatus::Offline);
    assert_eq!(forced.name, "Cleo");
    assert_eq!(forced.email, "cleo@example.test");
    assert!(forced.online, "still connected, only out of assignment");
    assert_eq!(names(&available(&crew.alva, None).await), vec!["Bruno"]);
    let cleo = team_presence(&crew.alva).await;
    assert_eq!(cleo.data[2].status, PresenceStatus::Offline);
    // Agents set no one else's status, admins not an owner's; an unknown member is 404.
    expect_error(
        set_for(crew.team, &crew.cleo, crew.alva_id).await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        set_for(crew.team, &crew.bruno, crew.alva_id).await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        set_for(crew.team, &crew.alva, Uuid::new_v4()).await,
        404,
        ErrorCode::MemberNotFound,
    );
    expect_error(
        set_for(crew.team, &crew.dora, crew.cleo_id).await,
        404,
        ErrorCode::TeamNotFound,
    );
    set_status(&crew.cleo, PresenceStatus::Online).await;
    assert_eq!(
        names(&available(&crew.alva, None).await),
        vec!["Bruno", "Cleo"]
    );

    // Pages of one, in name order, each person once.
    let mut seen_names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = crew.bruno.presence_team_get().limit(NonZeroU64::MIN);
        if let Some(cursor) = &cursor {
            request = request.cursor(cursor.clone());
        }
        let page = request.send().await.expect("a page").into_inner();
        assert_eq!(page.pagination.total, 3);
        seen_names.extend(page.data.iter().map(|p| p.name.clone()));
        match page.pagination.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen_names, vec!["Alva", "Bruno", "Cleo"]);
    expect_error(
        crew.bruno
            .presence_team_get()
            .cursor("not-a-cursor")
            .send()
            .await,
        422,
        ErrorCode::ValidationFailed,
    );

    // One team only; a team of others is 404; a user in no team sees themself.
    let one = crew
        .cleo
        .presence_team_get()
        .team_id(crew.team)
        .send()
        .await
        .expect("presence_team_get");
    assert_eq!(one.pagination.total, 3);
    expect_error(
        crew.dora
            .presence_team_get()
            .team_id(crew.team)
            .send()
            .await,
        404,
        ErrorCode::TeamNotFound,
    );
    assert_eq!(names(&team_presence(&crew.dora).await), vec!["Dora"]);

    // A heartbeat older than 60 s is offline, and out of the pool (the database's clock is
    // the only one: set the recorded beat back rather than wait).
    let db = botwire_server::db::Db::connect(ctx.database_url(), 2)
        .await
        .expect("a pool");
    let now = chrono::Utc::now().naive_utc();
    botwire_server::store::presence::presence_heartbeat(
        &db,
        &crew.cleo_id.to_string(),
        now - chrono::TimeDelta::seconds(61),
        now + chrono::TimeDelta::hours(1),
    )
    .await
    .expect("setting the beat back");
    let stale = team_presence(&crew.alva).await;
    assert!(!stale.data[2].online);
    assert_eq!(names(&available(&crew.alva, None).await), vec!["Bruno"]);
    // The next heartbeat is written at once (the recorded one is long past 15 s).
    let fresh = heartbeat(&crew.cleo).await;
    assert!(fresh.online);
    assert!(fresh.last_seen_at.expect("a time") > seen);
}

/// With `bot_id`: the users of the bot's account and the members of the teams it is shared
/// with, those available; a bot the caller cannot see is the 404 of a missing one.
async fn available_agents_of_a_bot_are_its_pool(ctx: &TestContext) {
    let crew = crew(ctx).await;
    let shared = create_bot(&crew.alva, "Shared").await;
    let private = create_bot(&crew.alva, "Private").await;
    crew.alva
        .team_bot_share()
        .team_id(crew.team)
        .body(types::TeamBotShare::builder().bot_id(shared.id))
        .send()
        .await
        .expect("team_bot_share");
    for client in [&crew.alva, &crew.bruno, &crew.cleo, &crew.dora] {
        heartbeat(client).await;
    }
    assert_eq!(
        names(&available(&crew.cleo, Some(shared.id)).await),
        vec!["Alva", "Bruno", "Cleo"]
    );
    // The private bot's pool is its account; the team sees no such bot.
    assert_eq!(
        names(&available(&crew.alva, Some(private.id)).await),
        vec!["Alva"]
    );
    for (client, bot) in [
        (&crew.cleo, private.id),
        (&crew.dora, shared.id),
        (&crew.dora, Uuid::new_v4()),
    ] {
        expect_error(
            client.presence_available_list().bot_id(bot).send().await,
            404,
            ErrorCode::BotNotFound,
        );
    }
    set_status(&crew.bruno, PresenceStatus::Away).await;
    assert_eq!(
        names(&available(&crew.alva, Some(shared.id)).await),
        vec!["Alva", "Cleo"]
    );
}

on_both_databases!(
    presence_follows_heartbeats_and_the_chosen_status,
    available_agents_of_a_bot_are_its_pool,
);

/// Two replicas on one PostgreSQL: a heartbeat or status through one is what the other
/// answers, and a heartbeat through the second right after the first is coalesced.
async fn replicas_agree_on_presence(ctx: &TestContext) {
    let crew = crew(ctx).await;
    let replica = ctx.replica(|_| {}).await.expect("starting a replica");
    let base = format!("http://{}", replica.local_addr());
    let login = |email: &'static str| async move {
        ctx.client
            .account_login()
            .body(
                types::AccountLogin::builder()
                    .email(email)
                    .password(crate::conformance::support::PASSWORD),
            )
            .send()
            .await
            .expect("account_login")
            .into_inner()
            .token
    };
    let cleo_there = client_with(
        &base,
        header(
            "authorization",
            &format!("Bearer {}", login("cleo@example.test").await),
        ),
    );
    let alva_there = client_with(
        &base,
        header(
            "authorization",
            &format!("Bearer {}", login("alva@example.test").await),
        ),
    );

    let here = heartbeat(&crew.cleo).await;
    let there = heartbeat(&cleo_there).await;
    assert_eq!(
        there.last_seen_at, here.last_seen_at,
        "coalesced across replicas"
    );
    assert_eq!(names(&available(&alva_there, None).await), vec!["Cleo"]);
    set_status(&cleo_there, PresenceStatus::Away).await;
    assert!(available(&crew.alva, None).await.data.is_empty());
    let seen_here = team_presence(&crew.alva).await;
    let seen_there = team_presence(&alva_there).await;
    assert_eq!(seen_here, seen_there);
    assert_eq!(seen_here.data[2].status, PresenceStatus::Away);
    crew.bruno
        .team_member_presence_set()
        .team_id(crew.team)
        .user_id(crew.cleo_id)
        .body(types::PresenceStatusSet::builder().status(PresenceStatus::Online))
        .send()
        .await
        .expect("team_member_presence_set");
    assert_eq!(names(&available(&alva_there, None).await), vec!["Cleo"]);
    replica.close().await.expect("stopping the replica");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_agree_on_presence_postgres() {
    run_on(Backend::Postgres, replicas_agree_on_presence).await;
}
