//! PostgreSQL's statements on a chat batch's existing conversations (see
//! `store::chat::batch`): the lock of their rows and their update from arrays.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp, Untyped};

/// PostgreSQL's lock of a batch's existing conversations, in id order (the lock is taken above
/// the sort). A query with a static id, so each connection prepares it once (diesel never
/// caches a `sql_query`: it would be parsed and planned on every batch).
pub(crate) struct ConversationsLock<'a> {
    pub(crate) ids: &'a Vec<&'a str>,
}

/// PostgreSQL's update of a batch's existing conversations, one statement for any number:
/// the batch's values are arrays, joined to the rows with `unnest`. A static id, as above.
pub(crate) struct ConversationsUpdate<'a> {
    pub(crate) ids: &'a Vec<&'a str>,
    pub(crate) added: Vec<i64>,
    pub(crate) last_message_at: Vec<Option<NaiveDateTime>>,
    pub(crate) status: Vec<&'a str>,
    pub(crate) updated_at: NaiveDateTime,
}

impl QueryId for ConversationsLock<'_> {
    type QueryId = ConversationsLock<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryId for ConversationsUpdate<'_> {
    type QueryId = ConversationsUpdate<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for ConversationsLock<'_> {
    type SqlType = Untyped;
}

impl Query for ConversationsUpdate<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for ConversationsLock<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT 1 FROM conversations WHERE id = ANY(");
        out.push_bind_param::<Array<Text>, _>(self.ids)?;
        out.push_sql(") ORDER BY id FOR NO KEY UPDATE");
        Ok(())
    }
}

impl QueryFragment<Pg> for ConversationsUpdate<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "UPDATE conversations AS c SET message_count = c.message_count + u.added, \
             last_message_at = u.last_message_at, status = u.status, updated_at = ",
        );
        out.push_bind_param::<Timestamp, _>(&self.updated_at)?;
        out.push_sql(" FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(self.ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.added)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&self.last_message_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.status)?;
        out.push_sql(") AS u (id, added, last_message_at, status) WHERE c.id = u.id");
        Ok(())
    }
}
