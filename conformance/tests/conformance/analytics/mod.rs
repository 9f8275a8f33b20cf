//! Analytics: every operation's figures against what the test itself wrote. `flow` writes
//! through the API (the write paths record what the figures count: replies, fallbacks,
//! handoffs, reopenings, agents' replies, ratings) and checks the figures and the refusals;
//! `tally` seeds a bot through the store with planned times over 40 days that cross
//! daylight-saving changes, keeps its own tally, and checks every operation over fixed and
//! random ranges, intervals and time zones.

mod flow;
mod tally;

use botwire_client::Client;
use botwire_client::types;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A range's figures (`analytics_overview_get`).
pub async fn overview(
    client: &Client,
    bot: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> types::AnalyticsOverview {
    client
        .analytics_overview_get()
        .bot_id(bot)
        .from(from)
        .to(to)
        .send()
        .await
        .unwrap_or_else(|e| panic!("analytics_overview_get {from}..{to}: {e:?}"))
        .into_inner()
}

/// What a series counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    Conversations,
    Messages,
}

/// A series (`analytics_conversations_get` or `analytics_messages_get`); the error's status
/// when refused.
pub async fn series(
    client: &Client,
    bot: Uuid,
    what: Series,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    interval: &str,
    timezone: &str,
) -> Result<types::AnalyticsTimeSeries, u16> {
    let status = |e: botwire_client::Error<types::Error>| e.status().map_or(0, |s| s.as_u16());
    match what {
        Series::Conversations => client
            .analytics_conversations_get()
            .bot_id(bot)
            .from(from)
            .to(to)
            .interval(
                interval
                    .parse::<types::AnalyticsConversationsGetInterval>()
                    .expect("an interval"),
            )
            .timezone(
                timezone
                    .parse::<types::AnalyticsConversationsGetTimezone>()
                    .expect("a zone"),
            )
            .send()
            .await
            .map(|r| r.into_inner())
            .map_err(status),
        Series::Messages => client
            .analytics_messages_get()
            .bot_id(bot)
            .from(from)
            .to(to)
            .interval(
                interval
                    .parse::<types::AnalyticsMessagesGetInterval>()
                    .expect("an interval"),
            )
            .timezone(
                timezone
                    .parse::<types::AnalyticsMessagesGetTimezone>()
                    .expect("a zone"),
            )
            .send()
            .await
            .map(|r| r.into_inner())
            .map_err(status),
    }
}
