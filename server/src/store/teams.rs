//! Teams (`teams`, `team_members`, `team_invites`, `team_bots`), and the one query that says
//! who may see a bot: [`bot_access_get`].

use super::{Page, page};
use crate::db::schema::{bots, team_bots, team_invites, team_members, teams, users};
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = teams)]
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    /// Each member's limit of active conversations given by auto-assignment, over every bot.
    pub agent_capacity: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = team_members)]
pub struct MemberRow {
    pub team_id: String,
    pub user_id: String,
    pub role: String,
    pub joined_at: NaiveDateTime,
    /// The member's own limit, replacing the team's.
    pub agent_capacity: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = team_invites)]
pub struct InviteRow {
    pub id: String,
    pub team_id: String,
    pub email: String,
    pub role: String,
    pub token_hash: String,
    pub invited_by: Option<String>,
    pub expires_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// A team with the caller's role in it and its size.
#[derive(Debug, Clone)]
pub struct TeamWithRole {
    pub team: TeamRow,
    pub role: String,
    pub member_count: i64,
}

/// A member with who they are.
#[derive(Debug, Clone, Queryable)]
pub struct MemberWithUser {
    pub member: MemberRow,
    pub email: String,
    pub name: String,
}

/// A shared bot, with its current name.
#[derive(Debug, Clone, Queryable)]
pub struct SharedBot {
    pub team_id: String,
    pub bot_id: String,
    pub shared_at: NaiveDateTime,
    pub bot_name: String,
}

/// What decides a caller's access to a bot: the bot's account, and the roles `user_id` holds
/// in the teams the bot is shared with (empty for none, or without a user).
#[derive(Debug, Clone)]
pub struct BotAccess {
    pub account_id: String,
    pub team_roles: Vec<String>,
}

/// Who may see the bot `bot_id`: the one rule every bot-scoped operation goes through (see
/// `auth::access`). `None`: no such bot.
pub async fn bot_access_get(
    db: &Db,
    bot_id: &str,
    user_id: Option<&str>,
) -> Result<Option<BotAccess>, DbError> {
    with_conn!(db, |conn| {
        let account_id: Option<String> = bots::table
            .find(bot_id)
            .select(bots::account_id)
            .first(&mut conn)
            .await
            .optional()?;
        let Some(account_id) = account_id else {
            return Ok(None);
        };
        let team_roles = match user_id {
            None => Vec::new(),
            Some(user_id) => {
                team_members::table
                    .inner_join(team_bots::table.on(team_bots::team_id.eq(team_members::team_id)))
                    .filter(team_bots::bot_id.eq(bot_id))
                    .filter(team_members::user_id.eq(user_id))
                    .select(team_members::role)
                    .load(&mut conn)
                    .await?
            }
        };
        Ok(Some(BotAccess {
            account_id,
            team_roles,
        }))
    })
}

/// The query of [`shared_bot_ids`], named for its signature.
type SharedBotIds = diesel::dsl::Select<
    diesel::dsl::Filter<
        diesel::dsl::InnerJoinOn<
            team_bots::table,
            team_members::table,
            diesel::dsl::Eq<team_members::team_id, team_bots::team_id>,
        >,
        diesel::dsl::Eq<team_members::user_id, String>,
    >,
    team_bots::bot_id,
>;

/// The ids of the bots shared with a team `user_id` belongs to (the bot list joins it).
pub fn shared_bot_ids(user_id: &str) -> SharedBotIds {
    team_bots::table
        .inner_join(team_members::table.on(team_members::team_id.eq(team_bots::team_id)))
        .filter(team_members::user_id.eq(user_id.to_string()))
        .select(team_bots::bot_id)
}

/// The role of `user_id` in the team, if they are a member.
pub async fn member_role_get(
    db: &Db,
    team_id: &str,
    user_id: &str,
) -> Result<Option<String>, DbError> {
    Ok(with_conn!(db, |conn| {
        team_members::table
            .find((team_id, user_id))
            .select(team_members::role)
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// Creates a team with its first member, its owner.
pub async fn team_create(db: &Db, team: &TeamRow, owner: &MemberRow) -> Result<(), DbError> {
    let team = diesel::insert_into(teams::table).values(team);
    let owner = diesel::insert_into(team_members::table).values(owner);
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            team.execute(conn).await?;
            owner.execute(conn).await?;
            Ok(())
        })
        .await
    })
}

/// The teams `user_id` belongs to, oldest first (ids are time-ordered), with their role and
/// member count.
pub async fn team_list(
    db: &Db,
    user_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<TeamWithRole>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let after = after.unwrap_or("").to_string();
    with_conn!(db, |conn| {
        let rows: Vec<(TeamRow, String)> = teams::table
            .inner_join(team_members::table)
            .filter(team_members::user_id.eq(user_id))
            .filter(teams::id.gt(after.clone()))
            .order(teams::id.asc())
            .limit(fetch)
            .select((TeamRow::as_select(), team_members::role))
            .load(&mut conn)
            .await?;
        let total = team_members::table
            .filter(team_members::user_id.eq(user_id))
            .count()
            .get_result(&mut conn)
            .await?;
        let ids: Vec<String> = rows.iter().map(|(team, _)| team.id.clone()).collect();
        let counts: Vec<(String, i64)> = team_members::table
            .filter(team_members::team_id.eq_any(ids))
            .group_by(team_members::team_id)
            .select((team_members::team_id, diesel::dsl::count_star()))
            .load(&mut conn)
            .await?;
        let items = rows
            .into_iter()
            .map(|(team, role)| {
                let member_count = counts
                    .iter()
                    .find(|(id, _)| *id == team.id)
                    .map_or(0, |(_, n)| *n);
                TeamWithRole {
                    team,
                    role,
                    member_count,
                }
            })
            .collect();
        Ok(page(items, limit, total))
    })
}

/// A team's name, whoever asks.
pub async fn team_name_get(db: &Db, team_id: &str) -> Result<Option<String>, DbError> {
    Ok(with_conn!(db, |conn| {
        teams::table
            .find(team_id)
            .select(teams::name)
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// One team as `user_id` sees it (a member: else `None`).
pub async fn team_get(
    db: &Db,
    team_id: &str,
    user_id: &str,
) -> Result<Option<TeamWithRole>, DbError> {
    with_conn!(db, |conn| {
        let row: Option<(TeamRow, String)> = teams::table
            .inner_join(team_members::table)
            .filter(teams::id.eq(team_id))
            .filter(team_members::user_id.eq(user_id))
            .select((TeamRow::as_select(), team_members::role))
            .first(&mut conn)
            .await
            .optional()?;
        let Some((team, role)) = row else {
            return Ok(None);
        };
        let member_count = team_members::table
            .filter(team_members::team_id.eq(team_id))
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(Some(TeamWithRole {
            team,
            role,
            member_count,
        }))
    })
}

/// Renames the team (`Some`) and sets its agents' capacity (`Some`, `None` inside: no
/// limit); true if the team exists.
pub async fn team_update(
    db: &Db,
    team_id: &str,
    name: Option<&str>,
    agent_capacity: Option<Option<i64>>,
) -> Result<bool, DbError> {
    #[derive(AsChangeset)]
    #[diesel(table_name = teams)]
    struct Changes<'a> {
        name: Option<&'a str>,
        agent_capacity: Option<Option<i64>>,
    }
    let changes = Changes {
        name,
        agent_capacity,
    };
    let update = diesel::update(teams::table.find(team_id)).set(&changes);
    let updated = with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(updated == 1)
}

/// Sets a member's own capacity (`None`: the team's applies); true if the member exists.
pub async fn team_member_capacity_set(
    db: &Db,
    team_id: &str,
    user_id: &str,
    agent_capacity: Option<i64>,
) -> Result<bool, DbError> {
    let update = diesel::update(team_members::table.find((team_id, user_id)))
        .set(team_members::agent_capacity.eq(agent_capacity));
    let updated = with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(updated == 1)
}

/// The capacities that apply to `agents` when they work `bot_id`'s queue, as (user, limit):
/// for each team the bot is shared with, each member's own capacity or else the team's; the
/// smallest per user. Users without any are left out.
pub async fn agent_limits(
    db: &Db,
    bot_id: &str,
    agents: &[String],
) -> Result<Vec<(String, i64)>, DbError> {
    let rows: Vec<(String, Option<i64>, Option<i64>)> = with_conn!(db, |conn| {
        team_bots::table
            .inner_join(teams::table.inner_join(team_members::table))
            .filter(team_bots::bot_id.eq(bot_id))
            .filter(team_members::user_id.eq_any(agents))
            .select((
                team_members::user_id,
                team_members::agent_capacity,
                teams::agent_capacity,
            ))
            .load(&mut conn)
            .await?
    });
    let mut limits: Vec<(String, i64)> = Vec::new();
    for (user_id, own, team) in rows {
        let Some(limit) = own.or(team) else {
            continue;
        };
        match limits.iter_mut().find(|(u, _)| *u == user_id) {
            Some((_, smallest)) => *smallest = (*smallest).min(limit),
            None => limits.push((user_id, limit)),
        }
    }
    Ok(limits)
}

/// Deletes the team; its memberships, invitations and shares go with it (foreign keys).
pub async fn team_delete(db: &Db, team_id: &str) -> Result<bool, DbError> {
    let delete = diesel::delete(teams::table.find(team_id));
    let deleted = with_write_conn!(db, |conn| delete.execute(&mut conn).await?);
    Ok(deleted > 0)
}

/// The team's members, earliest membership first (then by user id), with who they are.
pub async fn team_member_list(
    db: &Db,
    team_id: &str,
    after: Option<(NaiveDateTime, String)>,
    limit: usize,
) -> Result<Page<MemberWithUser>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    with_conn!(db, |conn| {
        let mut query = team_members::table
            .inner_join(users::table)
            .filter(team_members::team_id.eq(team_id))
            .into_boxed();
        if let Some((joined_at, user_id)) = after.clone() {
            query = query.filter(
                team_members::joined_at
                    .gt(joined_at)
                    .or(team_members::joined_at
                        .eq(joined_at)
                        .and(team_members::user_id.gt(user_id))),
            );
        }
        let items = query
            .order((team_members::joined_at.asc(), team_members::user_id.asc()))
            .limit(fetch)
            .select((MemberRow::as_select(), users::email, users::name))
            .load::<(MemberRow, String, String)>(&mut conn)
            .await?
            .into_iter()
            .map(|(member, email, name)| MemberWithUser {
                member,
                email,
                name,
            })
            .collect();
        let total = team_members::table
            .filter(team_members::team_id.eq(team_id))
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(page(items, limit, total))
    })
}

pub async fn team_member_get(
    db: &Db,
    team_id: &str,
    user_id: &str,
) -> Result<Option<MemberWithUser>, DbError> {
    Ok(with_conn!(db, |conn| {
        team_members::table
            .inner_join(users::table)
            .filter(team_members::team_id.eq(team_id))
            .filter(team_members::user_id.eq(user_id))
            .select((MemberRow::as_select(), users::email, users::name))
            .first::<(MemberRow, String, String)>(&mut conn)
            .await
            .optional()?
            .map(|(member, email, name)| MemberWithUser {
                member,
                email,
                name,
            })
    }))
}

/// What a change of the members did.
#[derive(Debug, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    NoSuchMember,
    /// It would leave the team without an owner.
    LastOwner,
}

/// Sets a member's role (`Some`) or removes the member (`None`), in one transaction that
/// keeps at least one owner: the count of owners is read after the change, so two owners
/// demoting each other at once cannot both succeed on PostgreSQL (the team's row is locked
/// first) nor on SQLite (writes take turns).
pub async fn team_member_change(
    db: &Db,
    team_id: &str,
    user_id: &str,
    role: Option<&str>,
) -> Result<MemberChange, DbError> {
    let role = role.map(str::to_string);
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            lock_team(conn, team_id).await?;
            let target = team_members::table.find((team_id, user_id));
            let changed = match &role {
                Some(role) => {
                    diesel::update(target)
                        .set(team_members::role.eq(role))
                        .execute(conn)
                        .await?
                }
                None => diesel::delete(target).execute(conn).await?,
            };
            if changed == 0 {
                return Ok(MemberChange::NoSuchMember);
            }
            let owners: i64 = team_members::table
                .filter(team_members::team_id.eq(team_id))
                .filter(team_members::role.eq("owner"))
                .count()
                .get_result(conn)
                .await?;
            if owners == 0 {
                // Undo: the transaction's error rolls it back.
                return Err(DbError::Query(diesel::result::Error::RollbackTransaction));
            }
            Ok(MemberChange::Done)
        })
        .await
        .or_else(|error| match error {
            DbError::Query(diesel::result::Error::RollbackTransaction) => {
                Ok(MemberChange::LastOwner)
            }
            other => Err(other),
        })
    })
}

/// Serializes changes of one team's members on PostgreSQL (`FOR UPDATE` on its row); SQLite's
/// writes already take turns.
async fn lock_team<C>(conn: &mut C, team_id: &str) -> Result<(), DbError>
where
    C: LockTeam,
{
    conn.lock_team(team_id).await
}

trait LockTeam {
    async fn lock_team(&mut self, team_id: &str) -> Result<(), DbError>;
}

impl LockTeam for diesel_async::pooled_connection::deadpool::Object<crate::db::SqliteConn> {
    async fn lock_team(&mut self, _team_id: &str) -> Result<(), DbError> {
        Ok(())
    }
}

impl LockTeam
    for diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection>
{
    async fn lock_team(&mut self, team_id: &str) -> Result<(), DbError> {
        teams::table
            .find(team_id)
            .select(teams::id)
            .for_update()
            .load::<String>(self)
            .await?;
        Ok(())
    }
}

/// Stores an invitation, replacing (deleting) a pending one of the same address and team.
pub async fn team_invite_create(db: &Db, invite: &InviteRow) -> Result<(), DbError> {
    let replaced = diesel::delete(
        team_invites::table
            .filter(team_invites::team_id.eq(invite.team_id.clone()))
            .filter(team_invites::email.eq(invite.email.clone()))
            .filter(team_invites::accepted_at.is_null()),
    );
    let insert = diesel::insert_into(team_invites::table).values(invite);
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            replaced.execute(conn).await?;
            insert.execute(conn).await?;
            Ok(())
        })
        .await
    })
}

/// The team's pending invitations (not accepted, not expired at `now`), newest first.
pub async fn team_invite_list(
    db: &Db,
    team_id: &str,
    now: NaiveDateTime,
    before: Option<&str>,
    limit: usize,
) -> Result<Page<InviteRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let before = before.unwrap_or("~").to_string();
    with_conn!(db, |conn| {
        let pending = || {
            team_invites::table
                .filter(team_invites::team_id.eq(team_id.to_string()))
                .filter(team_invites::accepted_at.is_null())
                .filter(team_invites::expires_at.gt(now))
        };
        let items = pending()
            .filter(team_invites::id.lt(before.clone()))
            .order(team_invites::id.desc())
            .limit(fetch)
            .select(InviteRow::as_select())
            .load(&mut conn)
            .await?;
        let total = pending().count().get_result(&mut conn).await?;
        Ok(page(items, limit, total))
    })
}

/// A pending invitation of the team by id.
pub async fn team_invite_get(
    db: &Db,
    team_id: &str,
    invite_id: &str,
    now: NaiveDateTime,
) -> Result<Option<InviteRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        team_invites::table
            .filter(team_invites::id.eq(invite_id))
            .filter(team_invites::team_id.eq(team_id))
            .filter(team_invites::accepted_at.is_null())
            .filter(team_invites::expires_at.gt(now))
            .select(InviteRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// Gives a pending invitation a new token and expiry (a resend). False: it is not pending.
pub async fn team_invite_renew(
    db: &Db,
    invite_id: &str,
    token_hash: &str,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<bool, DbError> {
    let update = diesel::update(
        team_invites::table
            .filter(team_invites::id.eq(invite_id))
            .filter(team_invites::accepted_at.is_null()),
    )
    .set((
        team_invites::token_hash.eq(token_hash),
        team_invites::created_at.eq(created_at),
        team_invites::expires_at.eq(expires_at),
    ));
    let updated = with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(updated > 0)
}

/// Deletes a pending invitation. False: it is not pending.
pub async fn team_invite_delete(db: &Db, team_id: &str, invite_id: &str) -> Result<bool, DbError> {
    let delete = diesel::delete(
        team_invites::table
            .filter(team_invites::id.eq(invite_id))
            .filter(team_invites::team_id.eq(team_id))
            .filter(team_invites::accepted_at.is_null()),
    );
    let deleted = with_write_conn!(db, |conn| delete.execute(&mut conn).await?);
    Ok(deleted > 0)
}

/// The invitation whose token has this hash, whatever its state.
pub async fn team_invite_by_token(db: &Db, token_hash: &str) -> Result<Option<InviteRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        team_invites::table
            .filter(team_invites::token_hash.eq(token_hash))
            .select(InviteRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// What accepting an invitation did.
#[derive(Debug, PartialEq, Eq)]
pub enum Acceptance {
    Joined,
    /// Used meanwhile, or the user is a member already.
    Conflict,
}

/// Marks the invitation accepted and adds the member, together; only once (the update is
/// conditional on the invitation still being pending). The team's owners and admins are told
/// (`joined`), in the same transaction.
pub async fn team_invite_accept(
    db: &Db,
    invite_id: &str,
    member: &MemberRow,
    joined: &crate::store::notifications::Notice,
    event: &(dyn Fn(&[String]) -> String + Send + Sync),
) -> Result<Acceptance, DbError> {
    let mark = diesel::update(
        team_invites::table
            .filter(team_invites::id.eq(invite_id))
            .filter(team_invites::accepted_at.is_null()),
    )
    .set(team_invites::accepted_at.eq(member.joined_at));
    let insert = diesel::insert_into(team_members::table)
        .values(member)
        .on_conflict_do_nothing();
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            if mark.execute(conn).await? == 0 || insert.execute(conn).await? == 0 {
                return Err(DbError::Query(diesel::result::Error::RollbackTransaction));
            }
            let leads: Vec<String> = team_members::table
                .filter(team_members::team_id.eq(&member.team_id))
                .filter(team_members::role.eq_any(["owner", "admin"]))
                .filter(team_members::user_id.ne(&member.user_id))
                .select(team_members::user_id)
                .load(conn)
                .await?;
            insert_notifications!(conn, leads, joined);
            // `team.member_joined` to each account whose bots the team works, with its bots.
            let shared: Vec<(String, String)> = team_bots::table
                .inner_join(bots::table)
                .filter(team_bots::team_id.eq(&member.team_id))
                .select((bots::account_id, bots::id))
                .order((bots::account_id.asc(), bots::id.asc()))
                .load(conn)
                .await?;
            let mut accounts: Vec<(String, Vec<String>)> = Vec::new();
            for (account_id, bot_id) in shared {
                match accounts.iter_mut().find(|(id, _)| *id == account_id) {
                    Some((_, bots)) => bots.push(bot_id),
                    None => accounts.push((account_id, vec![bot_id])),
                }
            }
            for (account_id, bot_ids) in &accounts {
                insert_event!(
                    conn,
                    account_id,
                    None,
                    "team.member_joined",
                    &event(bot_ids)
                );
            }
            Ok(Acceptance::Joined)
        })
        .await
        .or_else(|error| match error {
            DbError::Query(diesel::result::Error::RollbackTransaction) => Ok(Acceptance::Conflict),
            other => Err(other),
        })
    })
}

/// Whether the address belongs to a member of the team.
pub async fn team_has_member_email(db: &Db, team_id: &str, email: &str) -> Result<bool, DbError> {
    let count: i64 = with_conn!(db, |conn| {
        team_members::table
            .inner_join(users::table)
            .filter(team_members::team_id.eq(team_id))
            .filter(users::email.eq(email))
            .count()
            .get_result(&mut conn)
            .await?
    });
    Ok(count > 0)
}

/// Shares a bot with a team. False: it was shared already.
pub async fn team_bot_share(
    db: &Db,
    team_id: &str,
    bot_id: &str,
    shared_at: NaiveDateTime,
) -> Result<bool, DbError> {
    let insert = diesel::insert_into(team_bots::table)
        .values((
            team_bots::team_id.eq(team_id),
            team_bots::bot_id.eq(bot_id),
            team_bots::shared_at.eq(shared_at),
        ))
        .on_conflict_do_nothing();
    let inserted = with_write_conn!(db, |conn| insert.execute(&mut conn).await?);
    Ok(inserted > 0)
}

/// Stops sharing. False: it was not shared.
pub async fn team_bot_unshare(db: &Db, team_id: &str, bot_id: &str) -> Result<bool, DbError> {
    let delete = diesel::delete(team_bots::table.find((team_id, bot_id)));
    let deleted = with_write_conn!(db, |conn| delete.execute(&mut conn).await?);
    Ok(deleted > 0)
}

pub async fn team_bot_get(
    db: &Db,
    team_id: &str,
    bot_id: &str,
) -> Result<Option<SharedBot>, DbError> {
    Ok(with_conn!(db, |conn| {
        team_bots::table
            .inner_join(bots::table)
            .filter(team_bots::team_id.eq(team_id))
            .filter(team_bots::bot_id.eq(bot_id))
            .select((
                team_bots::team_id,
                team_bots::bot_id,
                team_bots::shared_at,
                bots::name,
            ))
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// The bots shared with the team, most recently shared first (then by bot id).
pub async fn team_bot_list(
    db: &Db,
    team_id: &str,
    before: Option<(NaiveDateTime, String)>,
    limit: usize,
) -> Result<Page<SharedBot>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    with_conn!(db, |conn| {
        let mut query = team_bots::table
            .inner_join(bots::table)
            .filter(team_bots::team_id.eq(team_id))
            .into_boxed();
        if let Some((shared_at, bot_id)) = before.clone() {
            query = query.filter(
                team_bots::shared_at.lt(shared_at).or(team_bots::shared_at
                    .eq(shared_at)
                    .and(team_bots::bot_id.lt(bot_id))),
            );
        }
        let items = query
            .order((team_bots::shared_at.desc(), team_bots::bot_id.desc()))
            .limit(fetch)
            .select((
                team_bots::team_id,
                team_bots::bot_id,
                team_bots::shared_at,
                bots::name,
            ))
            .load(&mut conn)
            .await?;
        let total = team_bots::table
            .filter(team_bots::team_id.eq(team_id))
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(page(items, limit, total))
    })
}
