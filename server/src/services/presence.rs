//! Presence: heartbeats, the status a user chooses (or a team admin sets for them), and who is
//! online or available. All of it is read from and written to the database, so any number of
//! replicas agree and a restart loses nothing.
//!
//! A user is `online` while their last heartbeat is under [`ONLINE_TTL`] old, and available for
//! assignment when they are online and their status is `online`. A heartbeat under
//! [`HEARTBEAT_COALESCE`] after the recorded one writes nothing (one read); a later one is one
//! write statement, whose guard keeps concurrent replicas from writing the same beat twice.

use super::teams::{granted_team, member, role_of};
use super::{Call, limit, not_found, page_info};
use crate::auth::access::{self, Grant, TeamRole};
use crate::error::Error;
use crate::store::presence::{self as store, DEFAULT_STATUS, PersonPresence, PresenceScope};
use crate::store::teams as team_store;
use crate::store::{self as stores, now, utc};
use botwire_api::policy::Access;
use botwire_api::types::{
    ErrorCode, Presence, PresenceAvailableListQuery, PresenceList, PresenceStatus,
    PresenceStatusSet, PresenceTeamGetQuery, TeamPresence,
};
use chrono::{NaiveDateTime, TimeDelta};
use uuid::Uuid;

/// How long a heartbeat keeps a user online (the contract's 60 seconds).
pub const ONLINE_TTL: TimeDelta = TimeDelta::seconds(60);

/// Heartbeats closer than this to the recorded one are not written.
pub const HEARTBEAT_COALESCE: TimeDelta = TimeDelta::seconds(15);

fn status_of(text: &str) -> PresenceStatus {
    text.parse().unwrap_or(PresenceStatus::Online)
}

fn is_online(last_seen_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    last_seen_at.is_some_and(|seen| now - seen < ONLINE_TTL)
}

fn presence_view(
    user_id: &str,
    status: &str,
    last_seen_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Presence {
    Presence {
        user_id: stores::uuid(user_id),
        status: status_of(status),
        online: is_online(last_seen_at, now),
        last_seen_at: last_seen_at.map(utc),
    }
}

fn person_view(person: &PersonPresence, now: NaiveDateTime) -> TeamPresence {
    TeamPresence {
        user_id: stores::uuid(&person.user_id),
        name: person.name.clone(),
        email: person.email.clone(),
        status: status_of(&person.status),
        online: is_online(person.last_seen_at, now),
        last_seen_at: person.last_seen_at.map(utc),
    }
}

/// The caller's presence as stored (a user without a row: `online`, never seen).
async fn own_presence(call: &Call<'_>, user_id: Uuid) -> Result<Presence, Error> {
    let id = user_id.to_string();
    let row = store::presence_get(&call.app.db, &id).await?;
    let (status, seen) = row.map_or((DEFAULT_STATUS.to_string(), None), |row| {
        (row.status, row.last_seen_at)
    });
    Ok(presence_view(&id, &status, seen, now()))
}

pub async fn presence_heartbeat(call: &Call<'_>) -> Result<Presence, Error> {
    let (user_id, _) = call.user()?;
    let id = user_id.to_string();
    let db = &call.app.db;
    let now = now();
    let recorded = store::presence_get(db, &id).await?;
    if let Some(row) = &recorded
        && row
            .last_seen_at
            .is_some_and(|seen| now - seen < HEARTBEAT_COALESCE)
    {
        return Ok(presence_view(&id, &row.status, row.last_seen_at, now));
    }
    if store::presence_heartbeat(db, &id, now, now - HEARTBEAT_COALESCE).await? {
        let status = recorded.map_or(DEFAULT_STATUS.to_string(), |row| row.status);
        Ok(presence_view(&id, &status, Some(now), now))
    } else {
        // Another replica recorded a beat in between: answer that one.
        own_presence(call, user_id).await
    }
}

pub async fn presence_status_set(
    call: &Call<'_>,
    body: PresenceStatusSet,
) -> Result<Presence, Error> {
    let (user_id, _) = call.user()?;
    store::presence_status_set(
        &call.app.db,
        &user_id.to_string(),
        &body.status.to_string(),
        now(),
    )
    .await?;
    own_presence(call, user_id).await
}

pub async fn team_member_presence_set(
    call: &Call<'_>,
    user_id: Uuid,
    body: PresenceStatusSet,
) -> Result<TeamPresence, Error> {
    let (team_id, caller_role) = granted_team(call)?;
    let target = member(call, team_id, user_id).await?;
    let (caller, _) = call.user()?;
    // Owners set anyone's status, admins that of admins and agents.
    if caller != user_id
        && caller_role < TeamRole::Owner
        && role_of(&target.member.role) == TeamRole::Owner
    {
        return Err(Error::Forbidden(
            "only an owner may set an owner's status".into(),
        ));
    }
    let db = &call.app.db;
    let id = user_id.to_string();
    store::presence_status_set(db, &id, &body.status.to_string(), now()).await?;
    let seen = store::presence_get(db, &id)
        .await?
        .and_then(|row| row.last_seen_at);
    let person = PersonPresence {
        user_id: id,
        name: target.name,
        email: target.email,
        status: body.status.to_string(),
        last_seen_at: seen,
    };
    Ok(person_view(&person, now()))
}

/// A cursor of a list ordered by name: `<name, hex>_<id>` of the previous page's last person.
fn name_cursor(raw: Option<&str>) -> Result<Option<(String, String)>, Error> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    raw.split_once('_')
        .and_then(|(name, id)| {
            let name = String::from_utf8(hex::decode(name).ok()?).ok()?;
            Some((name, Uuid::parse_str(id).ok()?.to_string()))
        })
        .map(Some)
        .ok_or_else(|| {
            Error::Validation(vec![(
                "cursor".into(),
                "not a cursor this server issued".into(),
            )])
        })
}

fn name_cursor_of(person: &PersonPresence) -> String {
    format!("{}_{}", hex::encode(&person.name), person.user_id)
}

async fn presence_page(
    call: &Call<'_>,
    scope: PresenceScope,
    available: bool,
    cursor: Option<&str>,
    size: std::num::NonZeroU64,
) -> Result<PresenceList, Error> {
    let after = name_cursor(cursor)?;
    let now = now();
    let page = store::presence_list(
        &call.app.db,
        &scope,
        available.then(|| now - ONLINE_TTL),
        after,
        limit(size),
    )
    .await?;
    Ok(PresenceList {
        pagination: page_info(&page, page.items.last().map(name_cursor_of)),
        data: page.items.iter().map(|p| person_view(p, now)).collect(),
    })
}

pub async fn presence_team_get(
    call: &Call<'_>,
    query: PresenceTeamGetQuery,
) -> Result<PresenceList, Error> {
    let (user_id, _) = call.user()?;
    let scope = match query.team_id {
        Some(team_id) => {
            let team_id = team_id.to_string();
            team_store::member_role_get(&call.app.db, &team_id, &user_id.to_string())
                .await?
                .ok_or_else(|| not_found(ErrorCode::TeamNotFound, "team"))?;
            PresenceScope::Team { team_id }
        }
        None => PresenceScope::TeamsOf {
            user_id: user_id.to_string(),
        },
    };
    let cursor = query.cursor.as_deref().map(String::as_str);
    presence_page(call, scope, false, cursor, query.limit).await
}

pub async fn presence_available_list(
    call: &Call<'_>,
    query: PresenceAvailableListQuery,
) -> Result<PresenceList, Error> {
    let (user_id, _) = call.user()?;
    let scope = match query.bot_id {
        Some(bot_id) => {
            // The caller must see the bot, as its account or through a team.
            let grant = access::authorize_bot(
                call.app,
                &call.principal,
                Access::BotTeamAgent,
                bot_id,
                true,
            )
            .await?;
            let Grant::Bot { account_id, .. } = grant else {
                return Err(Error::Internal("a bot grant without its bot".into()));
            };
            PresenceScope::BotPool {
                bot_id: bot_id.to_string(),
                account_id: account_id.to_string(),
            }
        }
        None => PresenceScope::TeamsOf {
            user_id: user_id.to_string(),
        },
    };
    let cursor = query.cursor.as_deref().map(String::as_str);
    presence_page(call, scope, true, cursor, query.limit).await
}
