//! Analytics: a bot's figures over a range, computed from what is stored (the store's rows,
//! counted here, so that both backends answer alike). The definitions are the contract's
//! (`AnalyticsFigures`, `AnalyticsDuration`, the operations' descriptions); `buckets` places
//! series points in the caller's time zone and `topics` groups user messages.

mod buckets;
mod topics;

use super::Call;
use super::bots::granted_bot;
use crate::error::Error;
use crate::store::analytics as store;
use crate::store::now;
use botwire_api::types::{
    AnalyticsCsat, AnalyticsCsatBucket, AnalyticsDuration, AnalyticsFigures, AnalyticsOverview,
    AnalyticsTimeSeries, AnalyticsTimeSeriesInterval, AnalyticsTimeSeriesPoint,
    AnalyticsTopQuestion, AnalyticsTopics,
};
use buckets::Interval;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, HashSet};
use std::num::NonZeroU64;
use uuid::Uuid;

/// The range when the caller gives no `from`: this long before `to`.
const DEFAULT_DAYS: i64 = 30;
/// The longest range.
const MAX_DAYS: i64 = 366;
/// The most points a series answers.
const MAX_POINTS: usize = 1000;
/// The overview's most frequent questions.
const TOP_QUESTIONS: usize = 10;

/// A range `[from, to)`, in microseconds (what both databases store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Range {
    /// The caller's range with its defaults, or 422 on `from`.
    pub fn of(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<Range, Error> {
        let to = to.map_or_else(|| now().and_utc(), micros);
        let from = from.map_or_else(|| to - TimeDelta::days(DEFAULT_DAYS), micros);
        if from >= to {
            return Err(invalid("from", "must be before `to`"));
        }
        if to - from > TimeDelta::days(MAX_DAYS) {
            return Err(invalid("from", "the range is longer than 366 days"));
        }
        Ok(Range { from, to })
    }

    /// The period of equal length just before this one.
    fn previous(self) -> Range {
        Range {
            from: self.from - (self.to - self.from),
            to: self.from,
        }
    }

    fn naive(self) -> (NaiveDateTime, NaiveDateTime) {
        (self.from.naive_utc(), self.to.naive_utc())
    }
}

/// `at` to whole microseconds (later digits would compare differently on the two backends).
fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

fn invalid(field: &str, why: &str) -> Error {
    Error::Validation(vec![(field.into(), why.into())])
}

pub async fn analytics_overview_get(
    call: &Call<'_>,
    bot_id: Uuid,
    range: Range,
) -> Result<AnalyticsOverview, Error> {
    let bot = granted_bot(call, bot_id).await?;
    let current = figures(call, &bot.id, range).await?;
    let previous = figures(call, &bot.id, range.previous()).await?;
    let (from, to) = range.naive();
    let asked = store::user_messages(&call.app.db, &bot.id, from, to, false).await?;
    let mut counts = BTreeMap::<String, u64>::new();
    for message in &asked {
        let question = topics::normalized(&message.content);
        if !question.is_empty() {
            *counts.entry(question).or_default() += 1;
        }
    }
    let mut top: Vec<(String, u64)> = counts.into_iter().collect();
    // Most frequent first; the map's order (alphabetical) breaks ties, the sort being stable.
    top.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    let top_questions = top
        .into_iter()
        .take(TOP_QUESTIONS)
        .filter_map(|(question, count)| {
            Some(AnalyticsTopQuestion {
                question,
                count: NonZeroU64::new(count)?,
            })
        })
        .collect();
    Ok(AnalyticsOverview {
        current,
        previous,
        top_questions,
    })
}

/// The figures of one range (`AnalyticsFigures`' definitions).
async fn figures(call: &Call<'_>, bot_id: &str, range: Range) -> Result<AnalyticsFigures, Error> {
    let db = &call.app.db;
    let (from, to) = range.naive();
    let (messages, conversations, senders, replies, handoffs, feedback) = futures::try_join!(
        store::messages_in_range(db, bot_id, from, to),
        store::conversations_started(db, bot_id, from, to),
        store::message_senders(db, bot_id, from, to),
        store::bot_replies(db, bot_id, from, to),
        store::handoffs_in_range(db, bot_id, from, to),
        store::feedback_in_range(db, bot_id, from, to),
    )?;
    let user = messages.iter().filter(|m| m.role == "user");
    let user_messages = count(user.clone());
    let unanswered_messages = count(user.filter(|m| m.answered == Some(false)));
    let users: HashSet<String> = senders
        .into_iter()
        .map(|(user_id, session_id)| match user_id {
            Some(user_id) => format!("u:{user_id}"),
            None => format!("s:{session_id}"),
        })
        .collect();
    let total_conversations = count(conversations.iter());
    let handed = count(conversations.iter().filter(|c| c.handed));
    let contained = count(conversations.iter().filter(|c| c.replied && !c.handed));
    let bot_response_ms = durations(
        replies
            .iter()
            .filter_map(|(reply, asked)| Some(*reply - (*asked)?)),
    );
    let agent_first_response_ms = durations(
        handoffs
            .iter()
            .filter_map(|(requested, answered)| Some((*answered)? - *requested)),
    );
    let scores: Vec<i64> = feedback.iter().filter_map(|(_, csat)| *csat).collect();
    let csat = Csat::of(&scores);
    let rated = |rating: &str| {
        count(
            feedback
                .iter()
                .filter(|(r, _)| r.as_deref() == Some(rating)),
        )
    };
    Ok(AnalyticsFigures {
        from: range.from,
        to: range.to,
        total_messages: count(messages.iter()),
        user_messages,
        total_conversations,
        unique_users: count(users.iter()),
        unanswered_messages,
        bot_response_ms,
        agent_first_response_ms,
        handoffs: count(handoffs.iter()),
        handoffs_unanswered: count(handoffs.iter().filter(|(_, answered)| answered.is_none())),
        handoff_rate: share(handed, total_conversations),
        containment_rate: share(contained, total_conversations),
        csat_responses: csat.responses,
        satisfaction: csat.average,
        satisfied_share: csat.satisfied_share,
        thumbs_up: rated("up"),
        thumbs_down: rated("down"),
    })
}

fn count<T>(items: impl Iterator<Item = T>) -> u64 {
    u64::try_from(items.count()).unwrap_or(u64::MAX)
}

/// `part / whole`, 0 for an empty whole.
#[allow(clippy::cast_precision_loss)]
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Count, mean, median and p90 (nearest rank) of durations, in milliseconds.
#[allow(clippy::cast_precision_loss)]
fn durations(items: impl Iterator<Item = TimeDelta>) -> AnalyticsDuration {
    // Negative durations cannot be stored by the write paths; a clock step could make one, and
    // it counts as 0 rather than pulling the mean below what happened.
    let mut micros: Vec<i64> = items
        .map(|d| d.num_microseconds().unwrap_or(0).max(0))
        .collect();
    micros.sort_unstable();
    let n = micros.len();
    if n == 0 {
        return AnalyticsDuration {
            count: 0,
            mean: None,
            median: None,
            p90: None,
        };
    }
    let total: i128 = micros.iter().map(|&m| i128::from(m)).sum();
    let ms = |m: i64| m as f64 / 1000.0;
    // Nearest rank: the value at rank ceil(p n), 1-based.
    let rank = |numerator: usize, denominator: usize| (numerator * n).div_ceil(denominator);
    AnalyticsDuration {
        count: count(micros.iter()),
        mean: Some(total as f64 / n as f64 / 1000.0),
        median: Some(ms(micros[rank(1, 2) - 1])),
        p90: Some(ms(micros[rank(9, 10) - 1])),
    }
}

/// CSAT over a set of scores.
struct Csat {
    responses: u64,
    average: Option<f64>,
    satisfied_share: Option<f64>,
    distribution: [u64; 5],
}

impl Csat {
    #[allow(clippy::cast_precision_loss)]
    fn of(scores: &[i64]) -> Csat {
        let mut distribution = [0u64; 5];
        for &score in scores {
            if let Some(slot) = usize::try_from(score - 1).ok().filter(|&i| i < 5) {
                distribution[slot] += 1;
            }
        }
        let responses: u64 = distribution.iter().sum();
        let total: u64 = distribution
            .iter()
            .zip(1u64..)
            .map(|(n, score)| n * score)
            .sum();
        let satisfied = distribution[3] + distribution[4];
        let (average, satisfied_share) = if responses == 0 {
            (None, None)
        } else {
            (
                Some(total as f64 / responses as f64),
                Some(share(satisfied, responses)),
            )
        };
        Csat {
            responses,
            average,
            satisfied_share,
            distribution,
        }
    }
}

pub async fn analytics_csat_get(
    call: &Call<'_>,
    bot_id: Uuid,
    range: Range,
) -> Result<AnalyticsCsat, Error> {
    let bot = granted_bot(call, bot_id).await?;
    let (from, to) = range.naive();
    let feedback = store::feedback_in_range(&call.app.db, &bot.id, from, to).await?;
    let scores: Vec<i64> = feedback.iter().filter_map(|(_, csat)| *csat).collect();
    let csat = Csat::of(&scores);
    let bucket = |i: usize| AnalyticsCsatBucket {
        score: NonZeroU64::new(i as u64 + 1).unwrap_or(NonZeroU64::MIN),
        count: csat.distribution[i],
    };
    Ok(AnalyticsCsat {
        from: range.from,
        to: range.to,
        responses: csat.responses,
        average: csat.average,
        satisfied_share: csat.satisfied_share,
        distribution: [bucket(0), bucket(1), bucket(2), bucket(3), bucket(4)],
    })
}

/// What a series counts.
#[derive(Debug, Clone, Copy)]
pub enum Series {
    Conversations,
    Messages,
}

/// A series request: its range, bucket width and time zone (the contract's strings).
pub struct SeriesQuery<'a> {
    pub range: Range,
    pub interval: &'a str,
    pub timezone: &'a str,
}

pub async fn analytics_series_get(
    call: &Call<'_>,
    bot_id: Uuid,
    series: Series,
    query: SeriesQuery<'_>,
) -> Result<AnalyticsTimeSeries, Error> {
    let interval = Interval::parse(query.interval)
        .ok_or_else(|| invalid("interval", "not one of hour, day, week, month"))?;
    let zone: chrono_tz::Tz = query
        .timezone
        .parse()
        .map_err(|_| invalid("timezone", "not an IANA time zone name"))?;
    let starts = buckets::starts(query.range.from, query.range.to, interval, zone, MAX_POINTS)
        .ok_or_else(|| invalid("interval", "the range gives more than 1000 buckets"))?;
    let bot = granted_bot(call, bot_id).await?;
    let (first, end) = (starts[0], *starts.last().unwrap_or(&starts[0]));
    let (from, to) = (first.naive_utc(), end.naive_utc());
    let db = &call.app.db;
    let mut times: Vec<NaiveDateTime> = match series {
        Series::Conversations => store::conversations_started(db, &bot.id, from, to)
            .await?
            .into_iter()
            .map(|c| c.created_at)
            .collect(),
        Series::Messages => store::messages_in_range(db, &bot.id, from, to)
            .await?
            .into_iter()
            .map(|m| m.created_at)
            .collect(),
    };
    times.sort_unstable();
    let points = starts
        .windows(2)
        .map(|bucket| {
            let below = |at: DateTime<Utc>| times.partition_point(|t| *t < at.naive_utc());
            AnalyticsTimeSeriesPoint {
                start: bucket[0],
                value: u64::try_from(below(bucket[1]) - below(bucket[0])).unwrap_or(u64::MAX),
            }
        })
        .collect();
    Ok(AnalyticsTimeSeries {
        from: first,
        to: end,
        interval: match interval {
            Interval::Hour => AnalyticsTimeSeriesInterval::Hour,
            Interval::Day => AnalyticsTimeSeriesInterval::Day,
            Interval::Week => AnalyticsTimeSeriesInterval::Week,
            Interval::Month => AnalyticsTimeSeriesInterval::Month,
        },
        timezone: zone.name().to_string(),
        points,
    })
}

/// Which user messages a topics answer groups.
#[derive(Debug, Clone, Copy)]
pub enum Grouped {
    /// All of the range's (`analytics_topics_get`).
    All,
    /// Those the engine had no confident answer to (`analytics_gaps_get`).
    Unanswered,
}

pub async fn analytics_topics_get(
    call: &Call<'_>,
    bot_id: Uuid,
    range: Range,
    grouped: Grouped,
    limit: NonZeroU64,
) -> Result<AnalyticsTopics, Error> {
    let bot = granted_bot(call, bot_id).await?;
    let (from, to) = range.naive();
    let unanswered = matches!(grouped, Grouped::Unanswered);
    let messages = store::user_messages(&call.app.db, &bot.id, from, to, unanswered).await?;
    let limit = usize::try_from(limit.get()).unwrap_or(usize::MAX);
    Ok(AnalyticsTopics {
        from: range.from,
        to: range.to,
        messages: count(messages.iter()),
        topics: topics::group(&messages, limit),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_nearest_rank() {
        let of = |ms: &[i64]| durations(ms.iter().map(|&m| TimeDelta::milliseconds(m)));
        let one = of(&[7]);
        assert_eq!(
            (one.count, one.mean, one.median, one.p90),
            (1, Some(7.0), Some(7.0), Some(7.0))
        );
        let ten = of(&[10, 1, 9, 2, 8, 3, 7, 4, 6, 5]);
        assert_eq!(
            (ten.mean, ten.median, ten.p90),
            (Some(5.5), Some(5.0), Some(9.0))
        );
        let eleven = of(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100]);
        assert_eq!((eleven.median, eleven.p90), (Some(6.0), Some(10.0)));
        assert_eq!(of(&[]).mean, None);
    }

    #[test]
    fn csat_counts_each_score() {
        let csat = Csat::of(&[5, 4, 1, 5]);
        assert_eq!(csat.responses, 4);
        assert_eq!(csat.average, Some(3.75));
        assert_eq!(csat.satisfied_share, Some(0.75));
        assert_eq!(csat.distribution, [1, 0, 0, 1, 2]);
        assert_eq!(Csat::of(&[]).average, None);
    }

    #[test]
    fn ranges_default_and_refuse() {
        let to = DateTime::parse_from_rfc3339("2026-05-08T00:00:00Z")
            .unwrap()
            .to_utc();
        let range = Range::of(None, Some(to)).unwrap();
        assert_eq!(range.to - range.from, TimeDelta::days(30));
        assert_eq!(range.previous().to, range.from);
        assert!(Range::of(Some(to), Some(to)).is_err());
        assert!(Range::of(Some(to - TimeDelta::days(367)), Some(to)).is_err());
        assert!(Range::of(Some(to - TimeDelta::days(366)), Some(to)).is_ok());
    }
}
