//! The rate limits' statements on PostgreSQL (see `store::rate_limits`): the atomic check of
//! a key's requests, and the prune of departed keys.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text, Untyped};

/// One check of `$5` requests of a key, atomically: `$1` key, `$2` interval and `$3`
/// tolerance (ms), `$4` the time, or NULL for the database's clock. Each parameter appears
/// once, in order, as [`CheckQuery`] binds them.
///
/// The database's clock, not the replica's: one clock for every replica, so clock skew between
/// replicas can neither hand out extra requests nor make one replica see another's buckets as
/// set in the future. (`X-RateLimit-Reset` is then in the database's time, which NTP keeps as
/// close to the client's as the replica's would be.)
///
/// The requests are decided as if checked one after another at the same instant: with
/// `m = max(tat, now)`, the `k`-th is admitted while `m + (k - 1) * interval - tolerance <=
/// now` (the first by the plain rule, `tat - tolerance <= now`, which is the same condition),
/// so `k = min(cost, (now + tolerance - m) / interval + 1)` are, and the TAT moves to
/// `m + k * interval`. `admitted` keeps `k`, since RETURNING sees only the new row. The insert
/// admits a fresh key (`m = now`). On conflict the row is locked and the rule is applied to
/// its latest version; a check that admits none writes nothing. That case reads the TAT for
/// its headers from the statement's snapshot, which a concurrent check may have moved on
/// since: headers only, and `ratelimit`'s `Gcra::decisions` bounds them.
pub(crate) const CHECK_SQL: &str = "\
WITH p AS (
    SELECT $1::TEXT AS key, $2::BIGINT AS interval_ms, $3::BIGINT AS tolerance_ms,
        COALESCE($4::BIGINT, FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT) AS now_ms,
        $5::BIGINT AS cost
), admitted AS (
    INSERT INTO rate_limits AS r (key, tat_ms, admitted)
    SELECT key, now_ms + interval_ms * LEAST(cost, tolerance_ms / interval_ms + 1),
        LEAST(cost, tolerance_ms / interval_ms + 1)
    FROM p
    ON CONFLICT (key) DO UPDATE
        SET tat_ms = (SELECT GREATEST(r.tat_ms, now_ms) + interval_ms
                * LEAST(cost, (now_ms + tolerance_ms - GREATEST(r.tat_ms, now_ms)) / interval_ms + 1)
                FROM p),
            admitted = (SELECT
                LEAST(cost, (now_ms + tolerance_ms - GREATEST(r.tat_ms, now_ms)) / interval_ms + 1)
                FROM p)
        WHERE r.tat_ms - (SELECT tolerance_ms FROM p) <= (SELECT now_ms FROM p)
    RETURNING r.tat_ms, r.admitted
)
SELECT p.now_ms,
    COALESCE((SELECT admitted FROM admitted), 0) AS admitted,
    COALESCE((SELECT tat_ms FROM admitted),
        (SELECT tat_ms FROM rate_limits WHERE key = p.key)) AS tat_ms
FROM p";

/// Rows whose TAT passed more than `$1` ms ago (by the database's clock).
pub(crate) const PRUNE_SQL: &str = "DELETE FROM rate_limits \
     WHERE tat_ms < FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT - $1";

/// [`CHECK_SQL`] with its binds, as a query with a static id: each connection then prepares
/// it once and a check is one round trip. (`sql_query` is never cached: it would parse, plan
/// and prepare on every check, an extra round trip each time.)
pub(crate) struct CheckQuery<'a> {
    pub(crate) key: &'a str,
    /// The limit's interval and tolerance (ms).
    pub(crate) interval: i64,
    pub(crate) tolerance: i64,
    pub(crate) at: Option<i64>,
    pub(crate) cost: i64,
}

impl QueryId for CheckQuery<'_> {
    type QueryId = CheckQuery<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for CheckQuery<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for CheckQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Each `$n` of the SQL becomes the next bind, in order (the placeholders diesel
        // writes are the same `$n`).
        let mut parts = CHECK_SQL.split('$');
        out.push_sql(parts.next().unwrap_or_default());
        for (bind, part) in parts.enumerate() {
            match bind {
                0 => out.push_bind_param::<Text, str>(self.key)?,
                1 => out.push_bind_param::<BigInt, i64>(&self.interval)?,
                2 => out.push_bind_param::<BigInt, i64>(&self.tolerance)?,
                3 => out.push_bind_param::<Nullable<BigInt>, Option<i64>>(&self.at)?,
                _ => out.push_bind_param::<BigInt, i64>(&self.cost)?,
            }
            let digits = part.chars().take_while(char::is_ascii_digit).count();
            out.push_sql(&part[digits..]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postgres_query_is_check_sql_with_its_five_binds() {
        // `Gcra::new(30)`'s parameters: interval 2 000 ms, tolerance 29 intervals.
        let query = CheckQuery {
            key: "chat:k",
            interval: 2_000,
            tolerance: 58_000,
            at: None,
            cost: 3,
        };
        let rendered = diesel::debug_query::<Pg, _>(&query).to_string();
        assert_eq!(
            rendered,
            format!("{CHECK_SQL} -- binds: [\"chat:k\", 2000, 58000, None, 3]")
        );
    }
}
