//! A seeded generator plans a bot's 40 days (2026-03-01 to 2026-04-10, across the daylight-saving
//! changes of America/New_York on 03-08, Europe/Stockholm on 03-29 and Australia/Sydney on
//! 04-05): conversations, the users' messages and the bot's replies with their response times,
//! handoffs with the agents' first replies, ratings. It writes them through the store (rows with
//! the planned times; the API only ever writes "now") and keeps its own tally, then checks every
//! analytics operation against the tally: fixed ranges (the whole window, an empty one, bucket
//! edges and the change days) and random ones (proptest, from a fixed seed), in several
//! intervals and time zones; a series' points must begin where the zone's calendar does, and add
//! up to the overview's totals over the series' own range.

use super::{Series, overview, series};
use crate::conformance::support::{bearer, create_bot, register};
use botwire_client::{Client, types};
use botwire_conformance::{TestContext, on_both_databases};
use botwire_server::db::schema::{conversations, feedback, handoffs, messages};
use botwire_server::db::{Db, DbError};
use botwire_server::store::chat::{ConversationRow, FeedbackRow, MessageRow};
use chrono::{DateTime, Datelike, Months, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::collections::HashSet;
use uuid::Uuid;

on_both_databases!(analytics_figures_match_an_independent_tally);

/// The planned conversations (two more start on bucket edges).
const CONVERSATIONS: u64 = 140;
const WINDOW_DAYS: i64 = 40;
/// Random ranges checked.
const RANDOM_RANGES: usize = 12;
const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Stockholm",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Sydney",
];
const INTERVALS: [&str; 4] = ["hour", "day", "week", "month"];
/// The users' messages, in two languages: the topics group them.
const QUESTIONS: [(&str, &str); 8] = [
    ("How long does a refund take?", "en"),
    ("Can I get a refund for a broken kettle?", "en"),
    ("refund status", "en"),
    ("What are your opening hours?", "en"),
    ("opening hours on sunday", "en"),
    ("Where is my parcel?", "en"),
    ("Hur lång tid tar en återbetalning?", "sv"),
    ("När får jag min återbetalning?", "sv"),
];

fn window_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
}

/// xorshift64*: the plan depends on the seed alone.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// 1 to `max` seconds and some microseconds.
    fn seconds(&mut self, max: u64) -> TimeDelta {
        TimeDelta::seconds(1 + self.below(max) as i64)
            + TimeDelta::microseconds(self.below(1_000_000) as i64)
    }
}

#[derive(Debug, Default)]
struct Plan {
    /// Start, user key, handed to a human, replied by the bot.
    conversations: Vec<(DateTime<Utc>, String, bool, bool)>,
    /// Counted messages: time, role, user key, and for a user's message whether the bot was
    /// confident (None: no bot reply).
    messages: Vec<(DateTime<Utc>, &'static str, String, Option<bool>)>,
    /// The bot's replies: (reply, the user message it answers).
    replies: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    handoffs: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// Time, thumbs, CSAT.
    ratings: Vec<(DateTime<Utc>, Option<&'static str>, Option<i64>)>,
    rows: Rows,
}

#[derive(Debug, Default)]
struct Rows {
    conversations: Vec<ConversationRow>,
    messages: Vec<MessageRow>,
    handoffs: Vec<(String, String, NaiveDateTime, Option<NaiveDateTime>)>,
    feedback: Vec<FeedbackRow>,
}

fn message_row(
    conversation: &str,
    role: &str,
    content: &str,
    language: &str,
    at: DateTime<Utc>,
    answered: Option<bool>,
) -> MessageRow {
    MessageRow {
        id: Uuid::new_v4().to_string(),
        conversation_id: conversation.to_string(),
        role: role.to_string(),
        content: content.to_string(),
        language: Some(language.to_string()),
        sources: "[]".into(),
        suggested_actions: "[]".into(),
        engine: (role == "assistant").then(|| "offline".to_string()),
        agent_id: None,
        created_at: at.naive_utc(),
        answered,
    }
}

impl Plan {
    fn new(bot_id: &str, seed: u64) -> Plan {
        let mut rng = Rng(seed);
        let mut plan = Plan::default();
        let window = TimeDelta::days(WINDOW_DAYS).num_seconds() as u64;
        // Two starts exactly on bucket edges: a UTC midnight, and Stockholm's midnight of the
        // short day.
        let edges = [
            Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap(),
        ];
        for i in 0..CONVERSATIONS + 2 {
            let start = match i.checked_sub(CONVERSATIONS) {
                Some(edge) => edges[edge as usize],
                None => window_start() + rng.seconds(window - 1),
            };
            plan.conversation(bot_id, i, start, &mut rng);
        }
        plan
    }

    fn conversation(&mut self, bot_id: &str, i: u64, start: DateTime<Utc>, rng: &mut Rng) {
        let id = Uuid::new_v4().to_string();
        let session = format!("tally-{i}");
        let user_id = rng.chance(50).then(|| format!("user-{}", rng.below(30)));
        let key = user_id
            .as_ref()
            .map_or_else(|| format!("s:{session}"), |u| format!("u:{u}"));
        let exchanges = 1 + rng.below(4);
        let handoff_after = rng.chance(35).then(|| rng.below(exchanges));
        let (mut at, mut human, mut replied, mut count) = (start, false, false, 0i64);
        for j in 0..exchanges {
            if j > 0 {
                at += rng.seconds(7200);
            }
            let (text, language) = QUESTIONS[rng.below(QUESTIONS.len() as u64) as usize];
            let answered = (!human).then(|| rng.chance(60));
            self.messages.push((at, "user", key.clone(), answered));
            self.rows
                .messages
                .push(message_row(&id, "user", text, language, at, answered));
            count += 1;
            if !human {
                let asked = at;
                at += TimeDelta::milliseconds(1 + rng.below(8000) as i64)
                    + TimeDelta::microseconds(rng.below(1000) as i64);
                self.messages.push((at, "assistant", key.clone(), None));
                self.replies.push((at, asked));
                self.rows.messages.push(message_row(
                    &id,
                    "assistant",
                    "An answer.",
                    language,
                    at,
                    None,
                ));
                replied = true;
                count += 1;
            }
            if handoff_after == Some(j) {
                at += rng.seconds(60);
                let requested = at;
                // The handoff's note: a system message, which no figure counts.
                self.rows.messages.push(message_row(
                    &id,
                    "system",
                    "Handed to a human.",
                    "en",
                    at,
                    None,
                ));
                human = true;
                let answered = rng.chance(70).then(|| {
                    at += rng.seconds(900);
                    self.messages.push((at, "agent", key.clone(), None));
                    self.rows.messages.push(message_row(
                        &id,
                        "agent",
                        "Hello, an agent here.",
                        "en",
                        at,
                        None,
                    ));
                    count += 2;
                    at
                });
                self.handoffs.push((requested, answered));
                self.rows.handoffs.push((
                    Uuid::new_v4().to_string(),
                    id.clone(),
                    requested.naive_utc(),
                    answered.map(|a| a.naive_utc()),
                ));
            }
        }
        if rng.chance(45) {
            at += rng.seconds(120);
            let thumbs = rng
                .chance(50)
                .then(|| if rng.chance(70) { "up" } else { "down" });
            let csat = (thumbs.is_none() || rng.chance(60)).then(|| 1 + rng.below(5) as i64);
            self.ratings.push((at, thumbs, csat));
            self.rows.feedback.push(FeedbackRow {
                id: Uuid::new_v4().to_string(),
                conversation_id: id.clone(),
                message_id: None,
                rating: thumbs.map(str::to_string),
                csat,
                comment: None,
                created_at: at.naive_utc(),
            });
        }
        self.conversations.push((start, key, human, replied));
        self.rows.conversations.push(ConversationRow {
            id,
            bot_id: bot_id.to_string(),
            session_id: session,
            user_id,
            contact_id: None,
            by_visitor: true,
            status: if human { "pending" } else { "open" }.into(),
            handed_off: human,
            assignee_id: None,
            tags: "[]".into(),
            message_count: count,
            last_message_at: Some(at.naive_utc()),
            created_at: start.naive_utc(),
            updated_at: at.naive_utc(),
            queued_at: None,
            awaiting_agent_since: None,
        });
    }

    /// The tally's figures over `[from, to)`, as `AnalyticsFigures` defines them.
    fn figures(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Figures {
        let within = |at: &DateTime<Utc>| *at >= from && *at < to;
        let messages: Vec<_> = self.messages.iter().filter(|m| within(&m.0)).collect();
        let users: HashSet<&String> = messages
            .iter()
            .filter(|m| m.1 == "user")
            .map(|m| &m.2)
            .collect();
        let started: Vec<_> = self.conversations.iter().filter(|c| within(&c.0)).collect();
        let ratings: Vec<_> = self.ratings.iter().filter(|r| within(&r.0)).collect();
        let scores: Vec<i64> = ratings.iter().filter_map(|r| r.2).collect();
        let handoffs: Vec<_> = self.handoffs.iter().filter(|h| within(&h.0)).collect();
        let rate = |n: usize| {
            if started.is_empty() {
                0.0
            } else {
                n as f64 / started.len() as f64
            }
        };
        Figures {
            total_messages: messages.len() as u64,
            user_messages: messages.iter().filter(|m| m.1 == "user").count() as u64,
            unanswered_messages: messages.iter().filter(|m| m.3 == Some(false)).count() as u64,
            total_conversations: started.len() as u64,
            unique_users: users.len() as u64,
            bot_response: stats(
                self.replies
                    .iter()
                    .filter(|r| within(&r.0))
                    .map(|r| r.0 - r.1)
                    .collect(),
            ),
            agent_first_response: stats(handoffs.iter().filter_map(|h| Some(h.1? - h.0)).collect()),
            handoffs: handoffs.len() as u64,
            handoffs_unanswered: handoffs.iter().filter(|h| h.1.is_none()).count() as u64,
            handoff_rate: rate(started.iter().filter(|c| c.2).count()),
            containment_rate: rate(started.iter().filter(|c| c.3 && !c.2).count()),
            csat_responses: scores.len() as u64,
            satisfaction: (!scores.is_empty())
                .then(|| scores.iter().sum::<i64>() as f64 / scores.len() as f64),
            satisfied_share: (!scores.is_empty())
                .then(|| scores.iter().filter(|&&s| s >= 4).count() as f64 / scores.len() as f64),
            thumbs: (
                ratings.iter().filter(|r| r.1 == Some("up")).count() as u64,
                ratings.iter().filter(|r| r.1 == Some("down")).count() as u64,
            ),
            csat_distribution: (1..=5)
                .map(|s| scores.iter().filter(|&&x| x == s).count() as u64)
                .collect(),
        }
    }

    fn times(&self, what: Series) -> Vec<DateTime<Utc>> {
        match what {
            Series::Messages => self.messages.iter().map(|m| m.0).collect(),
            Series::Conversations => self.conversations.iter().map(|c| c.0).collect(),
        }
    }
}

/// (count, mean, median, p90) in ms, the nearest rank: sorted[ceil(p n) - 1].
type Stats = (u64, Option<f64>, Option<f64>, Option<f64>);

fn stats(mut durations: Vec<TimeDelta>) -> Stats {
    durations.sort();
    let n = durations.len();
    if n == 0 {
        return (0, None, None, None);
    }
    let ms = |d: TimeDelta| d.num_microseconds().unwrap() as f64 / 1000.0;
    let at = |p: f64| ms(durations[((p * n as f64).ceil() as usize).max(1) - 1]);
    let total: i64 = durations
        .iter()
        .map(|d| d.num_microseconds().unwrap())
        .sum();
    (
        n as u64,
        Some(total as f64 / n as f64 / 1000.0),
        Some(at(0.5)),
        Some(at(0.9)),
    )
}

#[derive(Debug, PartialEq)]
struct Figures {
    total_messages: u64,
    user_messages: u64,
    unanswered_messages: u64,
    total_conversations: u64,
    unique_users: u64,
    bot_response: Stats,
    agent_first_response: Stats,
    handoffs: u64,
    handoffs_unanswered: u64,
    handoff_rate: f64,
    containment_rate: f64,
    csat_responses: u64,
    satisfaction: Option<f64>,
    satisfied_share: Option<f64>,
    thumbs: (u64, u64),
    csat_distribution: Vec<u64>,
}

fn answered(figures: &types::AnalyticsFigures, csat: &types::AnalyticsCsat) -> Figures {
    let duration = |d: &types::AnalyticsDuration| (d.count, d.mean, d.median, d.p90);
    Figures {
        total_messages: figures.total_messages,
        user_messages: figures.user_messages,
        unanswered_messages: figures.unanswered_messages,
        total_conversations: figures.total_conversations,
        unique_users: figures.unique_users,
        bot_response: duration(&figures.bot_response_ms),
        agent_first_response: duration(&figures.agent_first_response_ms),
        handoffs: figures.handoffs,
        handoffs_unanswered: figures.handoffs_unanswered,
        handoff_rate: figures.handoff_rate,
        containment_rate: figures.containment_rate,
        csat_responses: figures.csat_responses,
        satisfaction: figures.satisfaction,
        satisfied_share: figures.satisfied_share,
        thumbs: (figures.thumbs_up, figures.thumbs_down),
        csat_distribution: csat.distribution.iter().map(|b| b.count).collect(),
    }
}

/// Floats compared to 1e-9 of their size (a mean of many microseconds may round differently).
fn close(a: &Figures, b: &Figures) -> bool {
    let near = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(1.0);
    let near_opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => near(x, y),
        (x, y) => x.is_none() && y.is_none(),
    };
    let stats = |x: &Stats, y: &Stats| x.0 == y.0 && near_opt(x.1, y.1) && x.2 == y.2 && x.3 == y.3;
    a.total_messages == b.total_messages
        && a.user_messages == b.user_messages
        && a.unanswered_messages == b.unanswered_messages
        && a.total_conversations == b.total_conversations
        && a.unique_users == b.unique_users
        && stats(&a.bot_response, &b.bot_response)
        && stats(&a.agent_first_response, &b.agent_first_response)
        && a.handoffs == b.handoffs
        && a.handoffs_unanswered == b.handoffs_unanswered
        && near(a.handoff_rate, b.handoff_rate)
        && near(a.containment_rate, b.containment_rate)
        && a.csat_responses == b.csat_responses
        && near_opt(a.satisfaction, b.satisfaction)
        && near_opt(a.satisfied_share, b.satisfied_share)
        && a.thumbs == b.thumbs
        && a.csat_distribution == b.csat_distribution
}

async fn seed(db: &Db, rows: &Rows) -> Result<(), DbError> {
    botwire_server::with_write_conn!(db, |conn| {
        for row in &rows.conversations {
            diesel::insert_into(conversations::table)
                .values(row)
                .execute(&mut conn)
                .await?;
        }
        for row in &rows.messages {
            diesel::insert_into(messages::table)
                .values(row)
                .execute(&mut conn)
                .await?;
        }
        for (id, conversation, requested, answered) in &rows.handoffs {
            let bot: String = conversations::table
                .find(conversation)
                .select(conversations::bot_id)
                .first(&mut conn)
                .await?;
            diesel::insert_into(handoffs::table)
                .values((
                    handoffs::id.eq(id),
                    handoffs::conversation_id.eq(conversation),
                    handoffs::bot_id.eq(bot),
                    handoffs::requested_at.eq(requested),
                    handoffs::first_response_at.eq(answered),
                ))
                .execute(&mut conn)
                .await?;
        }
        for row in &rows.feedback {
            diesel::insert_into(feedback::table)
                .values(row)
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    })
}

/// The overview and CSAT of `[from, to)` against the tally, the previous period too.
async fn check_range(
    client: &Client,
    bot: Uuid,
    plan: &Plan,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> types::AnalyticsFigures {
    let got = overview(client, bot, from, to).await;
    let csat = |from, to| async move {
        client
            .analytics_csat_get()
            .bot_id(bot)
            .from(from)
            .to(to)
            .send()
            .await
            .expect("analytics_csat_get")
            .into_inner()
    };
    for (figures, (f, t)) in [
        (&got.current, (from, to)),
        (&got.previous, (from - (to - from), from)),
    ] {
        assert_eq!((figures.from, figures.to), (f, t));
        let want = plan.figures(f, t);
        let csat = csat(f, t).await;
        let have = answered(figures, &csat);
        assert!(
            close(&have, &want),
            "{f}..{t}:\n the server: {have:?}\n the tally:  {want:?}"
        );
        assert_eq!(
            (csat.responses, csat.average),
            (want.csat_responses, want.satisfaction)
        );
    }
    got.current
}

/// A series against the tally: its points begin where `zone`'s calendar begins its buckets, one
/// after the other, and hold the tally's counts; they add up to the overview's total over the
/// series' own range.
async fn check_series(
    client: &Client,
    bot: Uuid,
    plan: &Plan,
    what: Series,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    interval: &str,
    zone: &str,
) {
    let tz: Tz = zone.parse().unwrap();
    let buckets = (to - from).num_hours() as f64
        / match interval {
            "hour" => 1.0,
            "day" => 23.0,
            "week" => 167.0,
            _ => 671.0,
        };
    let answer = match series(client, bot, what, (from, to), interval, zone).await {
        Ok(answer) => answer,
        Err(status) => {
            // Only a range of more than 1000 buckets is refused.
            assert!(
                status == 422 && buckets > 990.0,
                "{what:?} {from}..{to} {interval} {zone}: {status}"
            );
            return;
        }
    };
    let label = format!("{what:?} {from}..{to} by {interval} in {zone}");
    let points = &answer.points;
    assert!(!points.is_empty() && points.len() <= 1000, "{label}");
    assert!(
        answer.from <= from && answer.to >= to,
        "{label}: {} .. {}",
        answer.from,
        answer.to
    );
    assert_eq!(
        (points[0].start, answer.timezone.as_str()),
        (answer.from, zone),
        "{label}"
    );
    let mut ends: Vec<DateTime<Utc>> = points.iter().skip(1).map(|p| p.start).collect();
    ends.push(answer.to);
    let times = plan.times(what);
    for (point, end) in points.iter().zip(&ends) {
        let (start, local, local_end) = (
            point.start,
            point.start.with_timezone(&tz),
            end.with_timezone(&tz),
        );
        // Where the zone's calendar begins a bucket, and where the next one begins.
        let aligned = match interval {
            "hour" => {
                local.minute() == 0 && local.second() == 0 && *end - start == TimeDelta::hours(1)
            }
            _ => {
                let midnight =
                    |t: &DateTime<Tz>| t.hour() == 0 && t.minute() == 0 && t.second() == 0;
                let next = match interval {
                    "day" => local.date_naive().succ_opt().unwrap(),
                    "week" => local.date_naive() + TimeDelta::days(7),
                    _ => local
                        .date_naive()
                        .checked_add_months(Months::new(1))
                        .unwrap(),
                };
                midnight(&local)
                    && midnight(&local_end)
                    && local_end.date_naive() == next
                    && (interval != "week" || local.weekday() == chrono::Weekday::Mon)
                    && (interval != "month" || local.day() == 1)
            }
        };
        assert!(aligned, "{label}: a bucket {local} .. {local_end}");
        let want = times.iter().filter(|t| **t >= start && *t < end).count() as u64;
        assert_eq!(point.value, want, "{label}: the bucket at {local}");
    }
    let sum: u64 = points.iter().map(|p| p.value).sum();
    if answer.to - answer.from <= TimeDelta::days(366) {
        let whole = overview(client, bot, answer.from, answer.to).await.current;
        let total = match what {
            Series::Messages => whole.total_messages,
            Series::Conversations => whole.total_conversations,
        };
        assert_eq!(sum, total, "{label}: the points and the overview");
    }
}

async fn analytics_figures_match_an_independent_tally(ctx: &TestContext) {
    let session = register(ctx, "tally@analytics.test", "Tally").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Tally").await;
    let plan = Plan::new(&bot.id.to_string(), 0x5eed_2026_0301);
    let db = Db::connect(ctx.database_url(), 1)
        .await
        .expect("the test's database");
    seed(&db, &plan.rows)
        .await
        .expect("seeding through the store");
    let (start, end) = (
        window_start(),
        window_start() + TimeDelta::days(WINDOW_DAYS),
    );

    // The whole window holds everything planned.
    let whole = check_range(&owner, bot.id, &plan, start, end).await;
    assert_eq!(whole.total_conversations, CONVERSATIONS + 2);
    assert!(
        whole.handoffs > 10 && whole.csat_responses > 10 && whole.unanswered_messages > 10,
        "{whole:?}"
    );
    // An empty range (before anything), and a range ending on a planned start (excluded).
    check_range(
        &owner,
        bot.id,
        &plan,
        start - TimeDelta::days(20),
        start - TimeDelta::days(10),
    )
    .await;
    let edge = Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap();
    check_range(&owner, bot.id, &plan, edge - TimeDelta::hours(6), edge).await;
    check_range(&owner, bot.id, &plan, edge, edge + TimeDelta::hours(6)).await;

    // Fixed series: every interval in every zone over the window, and the change days.
    for zone in ZONES {
        for interval in INTERVALS {
            for what in [Series::Messages, Series::Conversations] {
                let range = if interval == "hour" {
                    (
                        Utc.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).unwrap(),
                        Utc.with_ymd_and_hms(2026, 4, 6, 12, 0, 0).unwrap(),
                    )
                } else {
                    (start, end)
                };
                check_series(&owner, bot.id, &plan, what, range, interval, zone).await;
            }
        }
    }
    // Stockholm's short day is a 23-hour bucket.
    let days = series(
        &owner,
        bot.id,
        Series::Messages,
        (
            Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 30, 12, 0, 0).unwrap(),
        ),
        "day",
        "Europe/Stockholm",
    )
    .await
    .expect("a series");
    let lengths: Vec<i64> = days
        .points
        .windows(2)
        .map(|w| (w[1].start - w[0].start).num_hours())
        .collect();
    assert_eq!(lengths, vec![24, 23], "{days:?}");

    // Topics: every user message of the range once at most, the largest first.
    let topics = owner
        .analytics_topics_get()
        .bot_id(bot.id)
        .from(start)
        .to(end)
        .limit(std::num::NonZeroU64::new(50).unwrap())
        .send()
        .await
        .expect("analytics_topics_get")
        .into_inner();
    let grouped: u64 = topics.topics.iter().map(|t| t.count.get()).sum();
    assert_eq!(
        (topics.messages, grouped),
        (whole.user_messages, whole.user_messages)
    );
    assert!(topics.topics.windows(2).all(|w| w[0].count >= w[1].count));
    let refund = QUESTIONS
        .iter()
        .filter(|q| q.0.to_lowercase().contains("refund"))
        .count();
    assert!(
        topics.topics.iter().any(|t| t.topic.starts_with("refund")),
        "{topics:?} ({refund} refund questions)"
    );
    let gaps = owner
        .analytics_gaps_get()
        .bot_id(bot.id)
        .from(start)
        .to(end)
        .send()
        .await
        .expect("analytics_gaps_get")
        .into_inner();
    assert_eq!(gaps.messages, whole.unanswered_messages);

    // Random ranges, intervals and zones, from a fixed seed.
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = (
        -5i64 * 86_400..(WINDOW_DAYS + 5) * 86_400,
        3_600i64..50 * 86_400,
        0..INTERVALS.len(),
        0..ZONES.len(),
        proptest::bool::ANY,
    );
    for _ in 0..RANDOM_RANGES {
        let (offset, length, interval, zone, messages) =
            strategy.new_tree(&mut runner).expect("a case").current();
        let from = start + TimeDelta::seconds(offset) + TimeDelta::microseconds(offset % 999_983);
        let to = from + TimeDelta::seconds(length);
        check_range(&owner, bot.id, &plan, from, to).await;
        let what = if messages {
            Series::Messages
        } else {
            Series::Conversations
        };
        check_series(
            &owner,
            bot.id,
            &plan,
            what,
            (from, to),
            INTERVALS[interval],
            ZONES[zone],
        )
        .await;
    }
}
