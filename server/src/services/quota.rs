//! The monthly message quota of an account: when one [`applies`], chat counts every message
//! through [`count_messages`] before answering, which refuses with 403 `quota_exceeded` once
//! the quota is spent and records a `quota.warning` event (for the webhooks) at 80% and at
//! 100%; when none does, the exchange's own write counts it.
//!
//! The quota is the account's own, else `BOTWIRE_MONTHLY_MESSAGE_QUOTA`, else unlimited (as
//! suits a self-hosted server); periods are calendar months in UTC.

use crate::db::Db;
use crate::error::Error;
use crate::store::usage::{self, Counted};
use botwire_api::types::{QuotaWarningEvent, QuotaWarningEventData, QuotaWarningEventType};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// The month `now` is in, and its start and (exclusive) end.
fn period(now: DateTime<Utc>) -> (String, DateTime<Utc>, DateTime<Utc>) {
    let start = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).expect("a month's first day");
    let end = if now.month() == 12 {
        NaiveDate::from_ymd_opt(now.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(now.year(), now.month() + 1, 1)
    }
    .expect("the next month's first day");
    let midnight = |date: NaiveDate| date.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    (
        format!("{:04}-{:02}", now.year(), now.month()),
        midnight(start),
        midnight(end),
    )
}

/// Whether a monthly quota applies to an account: its own (read with the bot a chat request
/// addresses, `store::chat::chat_target_get`), else the server's default. When
/// none does there is nothing to refuse, so chat counts a message with the write that stores
/// it (`store::chat::exchange_record`) instead of in a transaction of its own before answering.
pub fn applies(account_quota: Option<i64>, default_quota: Option<u64>) -> bool {
    default_quota.is_some() || account_quota.is_some()
}

/// The month (`YYYY-MM`) a message sent now counts in.
pub fn month_now() -> String {
    period(Utc::now()).0
}

/// Counts `n` messages of the account against its quota, now.
pub async fn count_messages(
    db: &Db,
    account_id: &str,
    n: i64,
    default_quota: Option<u64>,
) -> Result<i64, Error> {
    let now = Utc::now();
    let (month, start, end) = period(now);
    let payload = |user_id: &str, used: i64, limit: i64, threshold: f64| {
        let event = QuotaWarningEvent {
            data: QuotaWarningEventData {
                messages_limit: u64::try_from(limit).unwrap_or(0),
                messages_used: u64::try_from(used).unwrap_or(0),
                period_end: end,
                period_start: start,
                threshold,
                user_id: user_id.parse().unwrap_or_default(),
            },
            timestamp: now,
            type_: QuotaWarningEventType::QuotaWarning,
        };
        serde_json::to_string(&event).unwrap_or_default()
    };
    let default = default_quota.and_then(|q| i64::try_from(q).ok());
    let notice = super::notifications::quota_warning;
    match usage::usage_count(db, account_id, &month, n, default, &payload, &notice).await? {
        Counted::Within { used, .. } => Ok(used),
        Counted::Exceeded { used, limit } => Err(Error::QuotaExceeded(format!(
            "the monthly message quota of {limit} is spent ({used} used); it resets on {end}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_calendar_months() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let (month, start, end) = period(at("2026-12-31T23:59:59Z"));
        assert_eq!(month, "2026-12");
        assert_eq!(start, at("2026-12-01T00:00:00Z"));
        assert_eq!(end, at("2027-01-01T00:00:00Z"));
    }
}
