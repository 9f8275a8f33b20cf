//! Presence (`presence`): each user's chosen status and last heartbeat, in the database so that
//! every replica answers alike; and the lists of people's presence (a user's teams, a team, the
//! pool of a bot), ordered by name.

use super::{Page, page};
use crate::db::schema::{presence, team_bots, team_members, users};
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

/// The status of a user without a row: they never chose one.
pub const DEFAULT_STATUS: &str = "online";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = presence)]
pub struct PresenceRow {
    pub user_id: String,
    pub status: String,
    pub last_seen_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// A person's presence with who they are.
#[derive(Debug, Clone)]
pub struct PersonPresence {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub status: String,
    pub last_seen_at: Option<NaiveDateTime>,
}

/// Whose presence a list holds.
#[derive(Debug, Clone)]
pub enum PresenceScope {
    /// The members of every team `user_id` belongs to, and the user themself.
    TeamsOf { user_id: String },
    /// The members of one team.
    Team { team_id: String },
    /// Who may work a bot: the users of its account and the members of the teams it is
    /// shared with.
    BotPool { bot_id: String, account_id: String },
}

pub async fn presence_get(db: &Db, user_id: &str) -> Result<Option<PresenceRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        presence::table
            .find(user_id)
            .select(PresenceRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// Records a heartbeat at `now` in one statement, unless the recorded one is at or after
/// `stale_before` (then nothing is written). True: it wrote.
pub async fn presence_heartbeat(
    db: &Db,
    user_id: &str,
    now: NaiveDateTime,
    stale_before: NaiveDateTime,
) -> Result<bool, DbError> {
    let upsert = diesel::insert_into(presence::table)
        .values(PresenceRow {
            user_id: user_id.to_string(),
            status: DEFAULT_STATUS.to_string(),
            last_seen_at: Some(now),
            updated_at: now,
        })
        .on_conflict(presence::user_id)
        .do_update()
        .set((
            presence::last_seen_at.eq(excluded(presence::last_seen_at)),
            presence::updated_at.eq(excluded(presence::updated_at)),
        ));
    // `ON CONFLICT ... DO UPDATE ... WHERE`: the guard (diesel names it `FilterDsl::filter`).
    let upsert = diesel::query_dsl::methods::FilterDsl::filter(
        upsert,
        presence::last_seen_at
            .is_null()
            .or(presence::last_seen_at.lt(stale_before)),
    );
    Ok(with_write_conn!(db, |conn| upsert.execute(&mut conn).await?) > 0)
}

/// Sets a user's chosen status (their last heartbeat stays).
pub async fn presence_status_set(
    db: &Db,
    user_id: &str,
    status: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let upsert = diesel::insert_into(presence::table)
        .values(PresenceRow {
            user_id: user_id.to_string(),
            status: status.to_string(),
            last_seen_at: None,
            updated_at: now,
        })
        .on_conflict(presence::user_id)
        .do_update()
        .set((
            presence::status.eq(excluded(presence::status)),
            presence::updated_at.eq(excluded(presence::updated_at)),
        ));
    with_write_conn!(db, |conn| upsert.execute(&mut conn).await?);
    Ok(())
}

/// The presence of the people in `scope`, by name then id, after `after` (a previous page's
/// last name and id); with `seen_since`, only those whose status is `online` and whose last
/// heartbeat is at or after it (the available ones).
pub async fn presence_list(
    db: &Db,
    scope: &PresenceScope,
    seen_since: Option<NaiveDateTime>,
    after: Option<(String, String)>,
    limit: usize,
) -> Result<Page<PersonPresence>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    with_conn!(db, |conn| {
        // Who is in scope: the members of some teams, and maybe an account's users.
        let (teams, account): (Vec<String>, Option<String>) = match scope {
            PresenceScope::TeamsOf { user_id } => (
                team_members::table
                    .filter(team_members::user_id.eq(user_id))
                    .select(team_members::team_id)
                    .load(&mut conn)
                    .await?,
                None,
            ),
            PresenceScope::Team { team_id } => (vec![team_id.clone()], None),
            PresenceScope::BotPool { bot_id, account_id } => (
                team_bots::table
                    .filter(team_bots::bot_id.eq(bot_id))
                    .select(team_bots::team_id)
                    .load(&mut conn)
                    .await?,
                Some(account_id.clone()),
            ),
        };
        let mut people: Vec<String> = team_members::table
            .filter(team_members::team_id.eq_any(teams))
            .select(team_members::user_id)
            .distinct()
            .load(&mut conn)
            .await?;
        if let PresenceScope::TeamsOf { user_id } = scope {
            people.push(user_id.clone());
        }
        let filtered = || {
            let mut query = users::table.left_join(presence::table).into_boxed();
            query = match account.clone() {
                Some(account_id) => query.filter(
                    users::id
                        .eq_any(people.clone())
                        .or(users::account_id.eq(account_id)),
                ),
                None => query.filter(users::id.eq_any(people.clone())),
            };
            if let Some(since) = seen_since {
                query = query
                    .filter(presence::status.eq(DEFAULT_STATUS))
                    .filter(presence::last_seen_at.ge(since));
            }
            query
        };
        let mut query = filtered();
        if let Some((name, id)) = after.clone() {
            query = query.filter(
                users::name
                    .gt(name.clone())
                    .or(users::name.eq(name).and(users::id.gt(id))),
            );
        }
        let items = query
            .order((users::name.asc(), users::id.asc()))
            .limit(fetch)
            .select((
                users::id,
                users::name,
                users::email,
                presence::status.nullable(),
                presence::last_seen_at.nullable(),
            ))
            .load::<(
                String,
                String,
                String,
                Option<String>,
                Option<NaiveDateTime>,
            )>(&mut conn)
            .await?
            .into_iter()
            .map(
                |(user_id, name, email, status, last_seen_at)| PersonPresence {
                    user_id,
                    name,
                    email,
                    status: status.unwrap_or_else(|| DEFAULT_STATUS.to_string()),
                    last_seen_at,
                },
            )
            .collect();
        let total = filtered().count().get_result(&mut conn).await?;
        Ok(page(items, limit, total))
    })
}
