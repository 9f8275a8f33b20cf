//! The agents' side of conversations: changes to a conversation made by humans (with what
//! they tell: events, notifications, live events, in the same transaction), the inbox list and
//! its counts, the queue and its assignment rounds, handoffs, notes, canned responses, saved
//! views and cached summaries.

use super::chat::{ConversationRow, MessageRow, NewEvent};
use super::live::{LiveEventInsert, LiveWrites};
use super::notifications::Notice;
use super::{Page, now, page};
use crate::db::schema::{
    agent_assignments, bots, canned_responses, conversation_summaries, conversations, handoffs,
    inbox_views, messages, notes,
};
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};

/// The statuses of a conversation still in the inbox's work.
pub const ACTIVE: [&str; 2] = ["open", "pending"];

/// What a change does to the conversation's handoff log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffWrite {
    None,
    /// A handoff begins now.
    Requested(NaiveDateTime),
    /// An agent replied now: the latest handoff without a first response gets this one.
    Responded(NaiveDateTime),
}

/// What a change tells, written with it.
#[derive(Default)]
pub struct Told {
    pub events: Vec<NewEvent>,
    pub notices: Vec<(Vec<String>, Notice)>,
    pub live: Vec<LiveEventInsert>,
}

/// One change of a conversation by a human: its new state, maybe a message, what it tells.
pub struct ConversationWrite<'a> {
    pub account_id: &'a str,
    /// The state read before (its `updated_at` guards the write).
    pub before: &'a ConversationRow,
    /// The new state (status, takeover, assignee, tags, queue and reply times).
    pub after: &'a ConversationRow,
    pub message: Option<&'a MessageRow>,
    pub handoff: HandoffWrite,
    pub told: &'a Told,
}

macro_rules! told_write {
    ($conn:expr, $account_id:expr, $bot_id:expr, $told:expr) => {{
        let told: &Told = $told;
        for event in &told.events {
            insert_event!(
                $conn,
                $account_id,
                Some($bot_id),
                event.event_type,
                &event.payload
            );
        }
        for (recipients, notice) in &told.notices {
            insert_notifications!($conn, recipients.clone(), notice);
        }
        $conn.live_write(&told.live).await?;
    }};
}

/// Writes a change; false (nothing written) when the conversation changed since `before` was
/// read, or is gone: the caller reads it again and decides anew.
pub async fn conversation_write(db: &Db, write: &ConversationWrite<'_>) -> Result<bool, DbError> {
    let ConversationWrite {
        account_id,
        before,
        after,
        message,
        handoff,
        told,
    } = write;
    let added = i64::from(message.is_some());
    let last = message
        .map(|m| Some(m.created_at))
        .unwrap_or(before.last_message_at);
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            let changed = diesel::update(
                conversations::table
                    .filter(conversations::id.eq(&before.id))
                    .filter(conversations::updated_at.eq(before.updated_at)),
            )
            .set((
                conversations::status.eq(&after.status),
                conversations::handed_off.eq(after.handed_off),
                conversations::assignee_id.eq(&after.assignee_id),
                conversations::tags.eq(&after.tags),
                conversations::message_count.eq(conversations::message_count + added),
                conversations::last_message_at.eq(last),
                conversations::queued_at.eq(after.queued_at),
                conversations::awaiting_agent_since.eq(after.awaiting_agent_since),
                conversations::updated_at.eq(after.updated_at),
            ))
            .execute(conn)
            .await?;
            if changed == 0 {
                return Ok(false);
            }
            if let Some(message) = message {
                diesel::insert_into(messages::table)
                    .values(*message)
                    .execute(conn)
                    .await?;
            }
            match handoff {
                HandoffWrite::None => {}
                HandoffWrite::Requested(at) => {
                    diesel::insert_into(handoffs::table)
                        .values((
                            handoffs::id.eq(super::new_id()),
                            handoffs::conversation_id.eq(&before.id),
                            handoffs::bot_id.eq(&before.bot_id),
                            handoffs::requested_at.eq(*at),
                        ))
                        .execute(conn)
                        .await?;
                }
                HandoffWrite::Responded(at) => {
                    let open: Option<String> = handoffs::table
                        .filter(handoffs::conversation_id.eq(&before.id))
                        .filter(handoffs::first_response_at.is_null())
                        .order(handoffs::requested_at.desc())
                        .select(handoffs::id)
                        .first(conn)
                        .await
                        .optional()?;
                    if let Some(id) = open {
                        diesel::update(handoffs::table.find(id))
                            .set(handoffs::first_response_at.eq(*at))
                            .execute(conn)
                            .await?;
                    }
                }
            }
            told_write!(conn, *account_id, before.bot_id.as_str(), *told);
            Ok(true)
        })
        .await
    })
}

/// The filters of a bot's conversations (all optional, combined with AND): the inbox's, and
/// the session list's (`user_id`, `contact_id`).
#[derive(Debug, Clone, Default)]
pub struct InboxFilters {
    pub status: Option<String>,
    pub assignee_id: Option<String>,
    /// Matched in the JSON array of tags as the tag's JSON string (`"vip"`), escaped for LIKE.
    pub tag: Option<String>,
    pub handed_off: Option<bool>,
    pub user_id: Option<String>,
    pub contact_id: Option<String>,
}

/// A bot's conversations, most recent activity first (latest message, then id), after `after`
/// (the previous page's last (latest message, id)): a range of one index per filter. The
/// inbox list and the session list are both this.
pub async fn inbox_list(
    db: &Db,
    bot_id: &str,
    filters: &InboxFilters,
    after: Option<(NaiveDateTime, String)>,
    limit: usize,
) -> Result<Page<ConversationRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let needle = filters.tag.as_ref().map(|tag| {
        let quoted = serde_json::to_string(tag).unwrap_or_default();
        // LIKE's own wildcards in a tag match literally.
        let escaped = quoted
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    with_conn!(db, |conn| {
        let filtered = || {
            let mut query = conversations::table
                .filter(conversations::bot_id.eq(bot_id.to_string()))
                .into_boxed();
            if let Some(status) = &filters.status {
                query = query.filter(conversations::status.eq(status.clone()));
            }
            if let Some(assignee) = &filters.assignee_id {
                query = query.filter(conversations::assignee_id.eq(assignee.clone()));
            }
            if let Some(handed_off) = filters.handed_off {
                query = query.filter(conversations::handed_off.eq(handed_off));
            }
            if let Some(user_id) = &filters.user_id {
                query = query.filter(conversations::user_id.eq(user_id.clone()));
            }
            if let Some(contact_id) = &filters.contact_id {
                query = query.filter(conversations::contact_id.eq(contact_id.clone()));
            }
            if let Some(needle) = &needle {
                query = query.filter(conversations::tags.like(needle.clone()).escape('\\'));
            }
            query
        };
        let mut items = filtered();
        if let Some((at, id)) = after.clone() {
            items = items.filter(
                conversations::last_message_at
                    .lt(at)
                    .or(conversations::last_message_at
                        .eq(at)
                        .and(conversations::id.lt(id))),
            );
        }
        let items = items
            .select(ConversationRow::as_select())
            .order((
                conversations::last_message_at.desc(),
                conversations::id.desc(),
            ))
            .limit(fetch)
            .load(&mut conn)
            .await?;
        let total = filtered().count().get_result(&mut conn).await?;
        Ok(page(items, limit, total))
    })
}

/// A bot's inbox counts.
#[derive(Debug, Clone, Default)]
pub struct InboxCounts {
    /// (status, count) for each status that has conversations.
    pub by_status: Vec<(String, i64)>,
    pub unassigned: i64,
    pub handed_off: i64,
    /// Seconds from each handoff requested since `since` to its first agent reply.
    pub first_responses: Vec<f64>,
}

pub async fn inbox_stats_get(
    db: &Db,
    bot_id: &str,
    since: NaiveDateTime,
) -> Result<InboxCounts, DbError> {
    with_conn!(db, |conn| {
        let by_status: Vec<(String, i64)> = conversations::table
            .filter(conversations::bot_id.eq(bot_id))
            .group_by(conversations::status)
            .select((conversations::status, diesel::dsl::count_star()))
            .load(&mut conn)
            .await?;
        let unassigned: i64 = conversations::table
            .filter(conversations::bot_id.eq(bot_id))
            .filter(conversations::status.eq_any(ACTIVE))
            .filter(conversations::assignee_id.is_null())
            .count()
            .get_result(&mut conn)
            .await?;
        let handed_off: i64 = conversations::table
            .filter(conversations::bot_id.eq(bot_id))
            .filter(conversations::status.eq_any(ACTIVE))
            .filter(conversations::handed_off.eq(true))
            .count()
            .get_result(&mut conn)
            .await?;
        let answered: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = handoffs::table
            .filter(handoffs::bot_id.eq(bot_id))
            .filter(handoffs::requested_at.ge(since))
            .filter(handoffs::first_response_at.is_not_null())
            .select((handoffs::requested_at, handoffs::first_response_at))
            .load(&mut conn)
            .await?;
        let first_responses = answered
            .into_iter()
            .filter_map(|(asked, answered)| {
                answered.map(|at| (at - asked).num_microseconds().unwrap_or(0) as f64 / 1e6)
            })
            .collect();
        Ok(InboxCounts {
            by_status,
            unassigned,
            handed_off,
            first_responses,
        })
    })
}

/// The place of a waiting conversation in its bot's queue (1: next), or `None` when it is
/// not waiting (not handed off, assigned, or done).
pub async fn queue_position(db: &Db, conversation_id: &str) -> Result<Option<i64>, DbError> {
    with_conn!(db, |conn| {
        let mine: Option<ConversationRow> = conversations::table
            .find(conversation_id)
            .select(ConversationRow::as_select())
            .first(&mut conn)
            .await
            .optional()?;
        let Some(mine) = mine else {
            return Ok(None);
        };
        let waiting =
            mine.handed_off && mine.assignee_id.is_none() && ACTIVE.contains(&mine.status.as_str());
        let Some(queued_at) = mine.queued_at.filter(|_| waiting) else {
            return Ok(None);
        };
        let ahead: i64 = conversations::table
            .filter(conversations::bot_id.eq(&mine.bot_id))
            .filter(conversations::handed_off.eq(true))
            .filter(conversations::assignee_id.is_null())
            .filter(conversations::status.eq_any(ACTIVE))
            .filter(
                conversations::queued_at
                    .lt(queued_at)
                    .or(conversations::queued_at
                        .eq(queued_at)
                        .and(conversations::id.lt(&mine.id))),
            )
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(Some(ahead + 1))
    })
}

/// How an assignment round tells of each assignment it makes.
pub type AssignmentTold<'a> = dyn Fn(&ConversationRow, &ConversationRow) -> Told + Send + Sync + 'a;

/// How many active conversations auto-assignment may give an agent.
#[derive(Debug, Clone, Default)]
pub struct Capacities {
    /// Of the bot's, per agent (the bot's setting).
    pub per_bot: Option<i64>,
    /// Over every bot, per user (their teams' limits, `store::teams::agent_limits`).
    pub per_user: Vec<(String, i64)>,
}

/// One assignment round of a bot's queue, in one transaction that holds the bot's queue lock
/// (rounds of every replica run one at a time per bot) and the locks of the agents with a
/// limit over every bot (rounds of two bots sharing an agent take turns at that agent): each
/// waiting conversation, longest waiting first, goes to the agent of `agents` assigned least
/// recently by this bot (never assigned: first; then by id) who is under both capacities.
/// Returns the conversations assigned, as they are after.
pub async fn queue_assign_round(
    db: &Db,
    account_id: &str,
    bot_id: &str,
    agents: &[String],
    capacities: &Capacities,
    told: &AssignmentTold<'_>,
) -> Result<Vec<ConversationRow>, DbError> {
    if agents.is_empty() {
        return Ok(Vec::new());
    }
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            conn.queue_lock(bot_id).await?;
            let mut limited: Vec<&str> = capacities
                .per_user
                .iter()
                .map(|(user, _)| user.as_str())
                .collect();
            limited.sort_unstable();
            conn.agents_lock(&limited).await?;
            let waiting = || {
                conversations::table
                    .filter(conversations::bot_id.eq(bot_id))
                    .filter(conversations::handed_off.eq(true))
                    .filter(conversations::assignee_id.is_null())
                    .filter(conversations::status.eq_any(ACTIVE))
            };
            let mut ids: Vec<String> = waiting().select(conversations::id).load(conn).await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            ids.sort_unstable();
            let locked: Vec<&str> = ids.iter().map(String::as_str).collect();
            conn.conversations_lock(&locked).await?;
            // Read again under the locks: a manual assignment may have come first.
            let queue: Vec<ConversationRow> = waiting()
                .filter(conversations::id.eq_any(&ids))
                .order((conversations::queued_at.asc(), conversations::id.asc()))
                .select(ConversationRow::as_select())
                .load(conn)
                .await?;
            let loads: Vec<(Option<String>, i64)> = conversations::table
                .filter(conversations::bot_id.eq(bot_id))
                .filter(conversations::assignee_id.eq_any(agents))
                .filter(conversations::status.eq_any(ACTIVE))
                .group_by(conversations::assignee_id)
                .select((conversations::assignee_id, diesel::dsl::count_star()))
                .load(conn)
                .await?;
            let total_loads: Vec<(Option<String>, i64)> = if limited.is_empty() {
                Vec::new()
            } else {
                conversations::table
                    .filter(conversations::assignee_id.eq_any(&limited))
                    .filter(conversations::status.eq_any(ACTIVE))
                    .group_by(conversations::assignee_id)
                    .select((conversations::assignee_id, diesel::dsl::count_star()))
                    .load(conn)
                    .await?
            };
            let load_of = |loads: &[(Option<String>, i64)], agent: &str| {
                loads
                    .iter()
                    .find(|(u, _)| u.as_deref() == Some(agent))
                    .map_or(0, |(_, n)| *n)
            };
            let last: Vec<(String, NaiveDateTime)> = agent_assignments::table
                .filter(agent_assignments::bot_id.eq(bot_id))
                .filter(agent_assignments::user_id.eq_any(agents))
                .select((
                    agent_assignments::user_id,
                    agent_assignments::last_assigned_at,
                ))
                .load(conn)
                .await?;
            let mut pool: Vec<PoolAgent> = agents
                .iter()
                .map(|agent| PoolAgent {
                    last_assigned_at: last.iter().find(|(u, _)| u == agent).map(|(_, at)| *at),
                    id: agent.clone(),
                    bot_load: load_of(&loads, agent),
                    total_load: load_of(&total_loads, agent),
                    per_user: capacities
                        .per_user
                        .iter()
                        .find(|(u, _)| u == agent)
                        .map(|(_, limit)| *limit),
                })
                .collect();
            let start = now();
            let mut made = Vec::new();
            let mut all_told = Vec::new();
            for (i, conversation) in queue.iter().enumerate() {
                // `None` sorts first: never assigned.
                let free = pool
                    .iter_mut()
                    .filter(|agent| agent.has_room(capacities.per_bot))
                    .min_by(|a, b| (a.last_assigned_at, &a.id).cmp(&(b.last_assigned_at, &b.id)));
                let Some(agent) = free else {
                    break;
                };
                // Distinct times keep the round's order for the next round.
                let at = start + chrono::Duration::microseconds(i64::try_from(i).unwrap_or(0));
                agent.last_assigned_at = Some(at);
                agent.bot_load += 1;
                agent.total_load += 1;
                let assignee = agent.id.clone();
                let mut after = conversation.clone();
                after.assignee_id = Some(assignee.clone());
                after.awaiting_agent_since = Some(at);
                after.updated_at = at;
                diesel::update(conversations::table.find(&conversation.id))
                    .set((
                        conversations::assignee_id.eq(&after.assignee_id),
                        conversations::awaiting_agent_since.eq(after.awaiting_agent_since),
                        conversations::updated_at.eq(after.updated_at),
                    ))
                    .execute(conn)
                    .await?;
                diesel::insert_into(agent_assignments::table)
                    .values((
                        agent_assignments::bot_id.eq(bot_id),
                        agent_assignments::user_id.eq(&assignee),
                        agent_assignments::last_assigned_at.eq(at),
                    ))
                    .on_conflict((agent_assignments::bot_id, agent_assignments::user_id))
                    .do_update()
                    .set(
                        agent_assignments::last_assigned_at
                            .eq(excluded(agent_assignments::last_assigned_at)),
                    )
                    .execute(conn)
                    .await?;
                all_told.push(told(conversation, &after));
                made.push(after);
            }
            // Last: the live events' lock comes after every row lock, as in every writer.
            for told in &all_told {
                told_write!(conn, account_id, bot_id, told);
            }
            Ok(made)
        })
        .await
    })
}

/// An agent of an assignment round.
struct PoolAgent {
    id: String,
    last_assigned_at: Option<NaiveDateTime>,
    /// Active conversations of the round's bot.
    bot_load: i64,
    /// Active conversations of every bot (counted only when `per_user` is set).
    total_load: i64,
    per_user: Option<i64>,
}

impl PoolAgent {
    fn has_room(&self, per_bot: Option<i64>) -> bool {
        per_bot.is_none_or(|limit| self.bot_load < limit)
            && self.per_user.is_none_or(|limit| self.total_load < limit)
    }
}

/// Conversations assigned before `before` that no agent has answered since (candidates for
/// going back to the queue), with their bot's account and settings JSON.
pub async fn assignments_unanswered(
    db: &Db,
    before: NaiveDateTime,
    limit: i64,
) -> Result<Vec<(ConversationRow, String, String)>, DbError> {
    Ok(with_conn!(db, |conn| {
        conversations::table
            .inner_join(bots::table)
            .filter(conversations::assignee_id.is_not_null())
            .filter(conversations::handed_off.eq(true))
            .filter(conversations::status.eq_any(ACTIVE))
            .filter(conversations::awaiting_agent_since.lt(before))
            .order(conversations::awaiting_agent_since.asc())
            .limit(limit)
            .select((
                ConversationRow::as_select(),
                bots::account_id,
                bots::settings,
            ))
            .load(&mut conn)
            .await?
    }))
}

/// The bots with a queue (conversations waiting without an assignee), with their account and
/// settings JSON.
pub async fn bots_with_queue(
    db: &Db,
    limit: i64,
) -> Result<Vec<(String, String, String)>, DbError> {
    Ok(with_conn!(db, |conn| {
        bots::table
            .filter(
                bots::id.eq_any(
                    conversations::table
                        .filter(conversations::handed_off.eq(true))
                        .filter(conversations::assignee_id.is_null())
                        .filter(conversations::status.eq_any(ACTIVE))
                        .select(conversations::bot_id),
                ),
            )
            .limit(limit)
            .select((bots::id, bots::account_id, bots::settings))
            .load(&mut conn)
            .await?
    }))
}

// Notes.

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notes)]
pub struct NoteRow {
    pub id: String,
    pub conversation_id: String,
    pub author_id: String,
    pub content: String,
    /// JSON array of user ids.
    pub mentions: String,
    pub created_at: NaiveDateTime,
}

/// Stores a note with what it tells (its mentions).
pub async fn note_create(
    db: &Db,
    account_id: &str,
    bot_id: &str,
    note: &NoteRow,
    told: &Told,
) -> Result<(), DbError> {
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            diesel::insert_into(notes::table)
                .values(note)
                .execute(conn)
                .await?;
            told_write!(conn, account_id, bot_id, told);
            Ok(())
        })
        .await
    })
}

/// A conversation's notes, oldest first, after the cursor (a note id).
pub async fn note_list(
    db: &Db,
    conversation_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<NoteRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let after = after.unwrap_or("").to_string();
    with_conn!(db, |conn| {
        let items = notes::table
            .filter(notes::conversation_id.eq(conversation_id))
            .filter(notes::id.gt(&after))
            .order(notes::id.asc())
            .limit(fetch)
            .select(NoteRow::as_select())
            .load(&mut conn)
            .await?;
        let total = notes::table
            .filter(notes::conversation_id.eq(conversation_id))
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(page(items, limit, total))
    })
}

// Canned responses.

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = canned_responses)]
pub struct CannedResponseRow {
    pub id: String,
    pub bot_id: String,
    pub shortcut: String,
    pub title: String,
    pub content: String,
    pub created_at: NaiveDateTime,
}

/// Stores a canned response; false when the bot has one with this shortcut.
pub async fn canned_response_create(db: &Db, row: &CannedResponseRow) -> Result<bool, DbError> {
    let inserted = with_write_conn!(db, |conn| {
        diesel::insert_into(canned_responses::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(&mut conn)
            .await?
    });
    Ok(inserted == 1)
}

/// A bot's canned responses by shortcut, after the cursor (a shortcut).
pub async fn canned_response_list(
    db: &Db,
    bot_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<CannedResponseRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let after = after.unwrap_or("").to_string();
    with_conn!(db, |conn| {
        let items = canned_responses::table
            .filter(canned_responses::bot_id.eq(bot_id))
            .filter(canned_responses::shortcut.gt(&after))
            .order(canned_responses::shortcut.asc())
            .limit(fetch)
            .select(CannedResponseRow::as_select())
            .load(&mut conn)
            .await?;
        let total = canned_responses::table
            .filter(canned_responses::bot_id.eq(bot_id))
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(page(items, limit, total))
    })
}

/// A canned response of a bot.
pub async fn canned_response_get(
    db: &Db,
    bot_id: &str,
    id: &str,
) -> Result<Option<CannedResponseRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        canned_responses::table
            .filter(canned_responses::id.eq(id))
            .filter(canned_responses::bot_id.eq(bot_id))
            .select(CannedResponseRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// The bot of a canned response and its account, whoever asks (for the access rule).
pub async fn canned_response_bot_get(
    db: &Db,
    id: &str,
) -> Result<Option<(String, String)>, DbError> {
    Ok(with_conn!(db, |conn| {
        canned_responses::table
            .inner_join(bots::table)
            .filter(canned_responses::id.eq(id))
            .select((bots::id, bots::account_id))
            .first(&mut conn)
            .await
            .optional()?
    }))
}

pub async fn canned_response_delete(db: &Db, bot_id: &str, id: &str) -> Result<bool, DbError> {
    let deleted = with_write_conn!(db, |conn| {
        diesel::delete(
            canned_responses::table
                .filter(canned_responses::id.eq(id))
                .filter(canned_responses::bot_id.eq(bot_id)),
        )
        .execute(&mut conn)
        .await?
    });
    Ok(deleted == 1)
}

// Saved views.

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inbox_views, treat_none_as_default_value = false)]
pub struct InboxViewRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub bot_id: Option<String>,
    /// JSON of the contract's `InboxViewFilters`.
    pub filters: String,
    pub created_at: NaiveDateTime,
}

/// Stores a view; false when the user has one with this name.
pub async fn inbox_view_create(db: &Db, row: &InboxViewRow) -> Result<bool, DbError> {
    let inserted = with_write_conn!(db, |conn| {
        diesel::insert_into(inbox_views::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(&mut conn)
            .await?
    });
    Ok(inserted == 1)
}

/// A user's views, newest first, before the cursor (a view id).
pub async fn inbox_view_list(
    db: &Db,
    user_id: &str,
    before: Option<&str>,
    limit: usize,
) -> Result<Page<InboxViewRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let before = before.map(str::to_string);
    with_conn!(db, |conn| {
        let mut items = inbox_views::table
            .filter(inbox_views::user_id.eq(user_id))
            .into_boxed();
        if let Some(before) = before.clone() {
            items = items.filter(inbox_views::id.lt(before));
        }
        let items = items
            .order(inbox_views::id.desc())
            .limit(fetch)
            .select(InboxViewRow::as_select())
            .load(&mut conn)
            .await?;
        let total = inbox_views::table
            .filter(inbox_views::user_id.eq(user_id))
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(page(items, limit, total))
    })
}

pub async fn inbox_view_get(
    db: &Db,
    user_id: &str,
    id: &str,
) -> Result<Option<InboxViewRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        inbox_views::table
            .filter(inbox_views::id.eq(id))
            .filter(inbox_views::user_id.eq(user_id))
            .select(InboxViewRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

pub async fn inbox_view_delete(db: &Db, user_id: &str, id: &str) -> Result<bool, DbError> {
    let deleted = with_write_conn!(db, |conn| {
        diesel::delete(
            inbox_views::table
                .filter(inbox_views::id.eq(id))
                .filter(inbox_views::user_id.eq(user_id)),
        )
        .execute(&mut conn)
        .await?
    });
    Ok(deleted == 1)
}

// Summaries.

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = conversation_summaries)]
pub struct SummaryRow {
    pub conversation_id: String,
    pub message_count: i64,
    pub engine: String,
    pub summary: String,
    pub generated_at: NaiveDateTime,
}

/// The cached summary of a conversation, if it was made at `message_count` messages.
pub async fn summary_get(
    db: &Db,
    conversation_id: &str,
    message_count: i64,
) -> Result<Option<SummaryRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        conversation_summaries::table
            .find(conversation_id)
            .filter(conversation_summaries::message_count.eq(message_count))
            .select(SummaryRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

pub async fn summary_put(db: &Db, row: &SummaryRow) -> Result<(), DbError> {
    with_write_conn!(db, |conn| {
        diesel::insert_into(conversation_summaries::table)
            .values(row)
            .on_conflict(conversation_summaries::conversation_id)
            .do_update()
            .set((
                conversation_summaries::message_count.eq(row.message_count),
                conversation_summaries::engine.eq(&row.engine),
                conversation_summaries::summary.eq(&row.summary),
                conversation_summaries::generated_at.eq(row.generated_at),
            ))
            .execute(&mut conn)
            .await?
    });
    Ok(())
}

/// The bot's people, who can be mentioned or assigned: `(id, email, name, account)` of the
/// bot's account's users and the members of the teams it is shared with.
pub async fn bot_people_list(
    db: &Db,
    bot_id: &str,
    account_id: &str,
) -> Result<Vec<(String, String, String, String)>, DbError> {
    use crate::db::schema::{team_bots, team_members, users};
    Ok(with_conn!(db, |conn| {
        let teams: Vec<String> = team_bots::table
            .filter(team_bots::bot_id.eq(bot_id))
            .select(team_bots::team_id)
            .load(&mut conn)
            .await?;
        let members: Vec<String> = team_members::table
            .filter(team_members::team_id.eq_any(teams))
            .select(team_members::user_id)
            .load(&mut conn)
            .await?;
        users::table
            .filter(
                users::account_id
                    .eq(account_id)
                    .or(users::id.eq_any(members)),
            )
            .order(users::id.asc())
            .select((users::id, users::email, users::name, users::account_id))
            .load(&mut conn)
            .await?
    }))
}

/// The bots a user sees: their account's and those shared with their teams.
pub async fn bots_visible_to(
    db: &Db,
    account_id: &str,
    user_id: &str,
) -> Result<Vec<String>, DbError> {
    Ok(with_conn!(db, |conn| {
        bots::table
            .filter(
                bots::account_id
                    .eq(account_id)
                    .or(bots::id.eq_any(super::teams::shared_bot_ids(user_id))),
            )
            .select(bots::id)
            .load(&mut conn)
            .await?
    }))
}
