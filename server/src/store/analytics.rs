//! The analytics' reads: what a bot's conversations, messages, handoffs and feedback hold over
//! a range `[from, to)`, as rows for `services::analytics` to count. Every figure is computed
//! from these rows, so both backends answer alike (no date arithmetic in SQL).

use crate::db::schema::{conversations, feedback, handoffs, messages};
use crate::db::{Db, DbError};
use crate::with_conn;
use chrono::NaiveDateTime;
use diesel::dsl::{exists, max};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// The roles the analytics count as messages (not `system`).
const COUNTED_ROLES: [&str; 3] = ["user", "assistant", "agent"];

/// The bot's messages created in `[from, to)`, each joined to its conversation.
macro_rules! bot_messages {
    ($bot_id:expr, $from:expr, $to:expr) => {
        messages::table
            .inner_join(conversations::table)
            .filter(conversations::bot_id.eq($bot_id))
            .filter(messages::created_at.ge($from))
            .filter(messages::created_at.lt($to))
    };
}

/// A message of the range: when, whose, and (a user's) whether the engine was confident.
#[derive(Debug, Clone, Queryable)]
pub struct MessageStat {
    pub created_at: NaiveDateTime,
    pub role: String,
    pub answered: Option<bool>,
}

/// A conversation started in the range.
#[derive(Debug, Clone, Queryable)]
pub struct ConversationStat {
    pub created_at: NaiveDateTime,
    /// A handoff was requested in it, or an agent replied in it (as of now).
    pub handed: bool,
    /// The bot replied in it.
    pub replied: bool,
}

/// A user's message of the range, as written.
#[derive(Debug, Clone, Queryable)]
pub struct UserMessage {
    pub content: String,
    pub language: Option<String>,
}

/// The messages of the bot's conversations in the range, from users, the bot and agents.
pub async fn messages_in_range(
    db: &Db,
    bot_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<MessageStat>, DbError> {
    Ok(with_conn!(db, |conn| {
        bot_messages!(bot_id, from, to)
            .filter(messages::role.eq_any(COUNTED_ROLES))
            .select((messages::created_at, messages::role, messages::answered))
            .load::<MessageStat>(&mut conn)
            .await?
    }))
}

/// The conversations the bot started in the range.
pub async fn conversations_started(
    db: &Db,
    bot_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<ConversationStat>, DbError> {
    let rows: Vec<(NaiveDateTime, bool, bool, bool)> = with_conn!(db, |conn| {
        conversations::table
            .filter(conversations::bot_id.eq(bot_id))
            .filter(conversations::created_at.ge(from))
            .filter(conversations::created_at.lt(to))
            .select((
                conversations::created_at,
                exists(handoffs::table.filter(handoffs::conversation_id.eq(conversations::id))),
                exists(
                    messages::table
                        .filter(messages::conversation_id.eq(conversations::id))
                        .filter(messages::role.eq("agent")),
                ),
                exists(
                    messages::table
                        .filter(messages::conversation_id.eq(conversations::id))
                        .filter(messages::role.eq("assistant")),
                ),
            ))
            .load(&mut conn)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(created_at, requested, by_agent, replied)| ConversationStat {
                created_at,
                handed: requested || by_agent,
                replied,
            },
        )
        .collect())
}

/// The distinct users who sent a message in the range: (`user_id`, `session_id`) of their
/// conversations (the caller's `user_id` names a user across sessions).
pub async fn message_senders(
    db: &Db,
    bot_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(Option<String>, String)>, DbError> {
    Ok(with_conn!(db, |conn| {
        bot_messages!(bot_id, from, to)
            .filter(messages::role.eq("user"))
            .select((conversations::user_id, conversations::session_id))
            .distinct()
            .load(&mut conn)
            .await?
    }))
}

/// The bot's replies of the range: (the reply's time, the time of the latest user message
/// before it in its conversation: the message it answers).
pub async fn bot_replies(
    db: &Db,
    bot_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(NaiveDateTime, Option<NaiveDateTime>)>, DbError> {
    let asked = diesel::alias!(messages as asked);
    Ok(with_conn!(db, |conn| {
        bot_messages!(bot_id, from, to)
            .filter(messages::role.eq("assistant"))
            .select((
                messages::created_at,
                asked
                    .filter(
                        asked
                            .field(messages::conversation_id)
                            .eq(messages::conversation_id),
                    )
                    .filter(asked.field(messages::role).eq("user"))
                    .filter(asked.field(messages::created_at).lt(messages::created_at))
                    .select(max(asked.field(messages::created_at)))
                    .single_value()
                    .assume_not_null()
                    .nullable(),
            ))
            .load(&mut conn)
            .await?
    }))
}

/// The handoffs requested in the range: (requested, first agent reply).
pub async fn handoffs_in_range(
    db: &Db,
    bot_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(NaiveDateTime, Option<NaiveDateTime>)>, DbError> {
    Ok(with_conn!(db, |conn| {
        handoffs::table
            .filter(handoffs::bot_id.eq(bot_id))
            .filter(handoffs::requested_at.ge(from))
            .filter(handoffs::requested_at.lt(to))
            .select((handoffs::requested_at, handoffs::first_response_at))
            .load(&mut conn)
            .await?
    }))
}

/// The feedback left in the range: (thumbs rating, CSAT score).
pub async fn feedback_in_range(
    db: &Db,
    bot_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(Option<String>, Option<i64>)>, DbError> {
    Ok(with_conn!(db, |conn| {
        feedback::table
            .inner_join(conversations::table)
            .filter(conversations::bot_id.eq(bot_id))
            .filter(feedback::created_at.ge(from))
            .filter(feedback::created_at.lt(to))
            .select((feedback::rating, feedback::csat))
            .load(&mut conn)
            .await?
    }))
}

/// The users' messages of the range, oldest first; only those the engine had no confident
/// answer to when `unanswered`.
pub async fn user_messages(
    db: &Db,
    bot_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    unanswered: bool,
) -> Result<Vec<UserMessage>, DbError> {
    Ok(with_conn!(db, |conn| {
        let mut query = bot_messages!(bot_id, from, to)
            .filter(messages::role.eq("user"))
            .into_boxed();
        if unanswered {
            query = query.filter(messages::answered.eq(false));
        }
        query
            .order((messages::created_at.asc(), messages::id.asc()))
            .select((messages::content, messages::language))
            .load::<UserMessage>(&mut conn)
            .await?
    }))
}
