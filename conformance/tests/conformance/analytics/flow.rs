//! The figures of what a visitor, the bot and an agent do through the API, and the refusals of
//! every analytics operation.

use super::{Series, overview, series};
use crate::conformance::inbox::{desk, handed_off, reply};
use crate::conformance::support::chat::ask;
use crate::conformance::support::expect_invalid_field;
use botwire_client::types::{self, ConversationStatus, FeedbackRating};
use botwire_conformance::{TestContext, on_both_databases};
use chrono::{DateTime, TimeDelta, Utc};
use std::num::NonZeroU64;

on_both_databases!(
    analytics_overview_get_counts_what_the_api_wrote,
    analytics_operations_refuse_bad_ranges
);

fn fell_back(reply: &types::ChatReply) -> bool {
    reply
        .suggested_actions
        .iter()
        .any(|a| a.type_ == types::SuggestedActionType::Handoff)
}

async fn analytics_overview_get_counts_what_the_api_wrote(ctx: &TestContext) {
    // Whole microseconds: what the server counts in (finer digits are dropped).
    let micros =
        |at: DateTime<Utc>| DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap();
    let start = micros(Utc::now() - TimeDelta::seconds(5));
    let desk = desk(ctx, &["cleo"], &[]).await;
    let owner = &desk.owner.client;
    let bot = desk.bot.id;
    // Two questions in one session: an FAQ's and one the knowledge base cannot answer.
    let known = ask(&desk.visitor, bot, "first", "How long does a refund take?").await;
    let unknown = ask(
        &desk.visitor,
        bot,
        "first",
        "Do you sell saddles for camels?",
    )
    .await;
    assert!(
        !fell_back(&known) && fell_back(&unknown),
        "{known:?} {unknown:?}"
    );
    // A second session, handed to humans (its question answered by the bot first), answered by
    // an agent, resolved, then reopened by the visitor: a second handoff, not answered yet.
    let handed = handed_off(&desk, "second").await;
    let history = crate::conformance::support::chat::history(&desk.visitor, bot, "second").await;
    let second_fell_back = history
        .iter()
        .filter(|m| m.role == types::MessageRole::Assistant)
        .any(|m| {
            m.suggested_actions
                .iter()
                .any(|a| a.type_ == types::SuggestedActionType::Handoff)
        });
    reply(&desk.agents[0].client, handed, "Cleo here: yes, we do.").await;
    owner
        .conversation_status_set()
        .conversation_id(handed)
        .body(types::ConversationStatusSet::builder().status(ConversationStatus::Resolved))
        .send()
        .await
        .expect("conversation_status_set");
    let reopened = ask(
        &desk.visitor,
        bot,
        "second",
        "One more thing: is the refund for customs too?",
    )
    .await;
    assert!(reopened.reply.is_none(), "humans have it: {reopened:?}");
    for (conversation, csat, rating) in [
        (known.conversation_id, 4, Some(FeedbackRating::Up)),
        (handed, 2, None),
    ] {
        desk.visitor
            .feedback_create()
            .conversation_id(conversation)
            .body(
                types::FeedbackCreate::builder()
                    .csat(NonZeroU64::new(csat))
                    .rating(rating),
            )
            .send()
            .await
            .expect("feedback_create");
    }
    let end = micros(Utc::now() + TimeDelta::seconds(5));

    let figures = overview(owner, bot, start, end).await;
    let current = &figures.current;
    // Users: 2 + 1 + 1; the bot: 2 + 1 (none to the reopening); the agent: 1. The handoff's
    // system note is not counted.
    assert_eq!(
        (current.user_messages, current.total_messages),
        (4, 8),
        "{current:?}"
    );
    assert_eq!(current.total_conversations, 2);
    assert_eq!(current.unique_users, 2);
    assert_eq!(current.unanswered_messages, 1 + u64::from(second_fell_back));
    assert_eq!(current.bot_response_ms.count, 3);
    assert!(current.bot_response_ms.mean.is_some_and(|ms| ms >= 0.0));
    assert_eq!((current.handoffs, current.handoffs_unanswered), (2, 1));
    assert_eq!(current.agent_first_response_ms.count, 1);
    assert_eq!((current.handoff_rate, current.containment_rate), (0.5, 0.5));
    assert_eq!(current.csat_responses, 2);
    assert_eq!(
        (current.satisfaction, current.satisfied_share),
        (Some(3.0), Some(0.5))
    );
    assert_eq!((current.thumbs_up, current.thumbs_down), (1, 0));
    let previous = &figures.previous;
    assert_eq!((previous.from, previous.to), (start - (end - start), start));
    assert_eq!(
        (previous.total_messages, previous.total_conversations),
        (0, 0)
    );
    assert_eq!(previous.bot_response_ms.mean, None);
    assert_eq!(figures.top_questions.len(), 4);
    assert!(
        figures
            .top_questions
            .iter()
            .any(|q| q.question == "how long does a refund take")
    );

    let csat = owner
        .analytics_csat_get()
        .bot_id(bot)
        .from(start)
        .to(end)
        .send()
        .await
        .expect("analytics_csat_get")
        .into_inner();
    let distribution: Vec<u64> = csat.distribution.iter().map(|b| b.count).collect();
    assert_eq!((csat.responses, csat.average), (2, Some(3.0)));
    assert_eq!(distribution, vec![0, 1, 0, 1, 0]);

    let gaps = owner
        .analytics_gaps_get()
        .bot_id(bot)
        .from(start)
        .to(end)
        .send()
        .await
        .expect("analytics_gaps_get")
        .into_inner();
    assert_eq!(gaps.messages, current.unanswered_messages);
    assert!(
        gaps.topics.iter().any(|t| t
            .sample_questions
            .contains(&"Do you sell saddles for camels?".to_string())),
        "{gaps:?}"
    );
    let topics = owner
        .analytics_topics_get()
        .bot_id(bot)
        .from(start)
        .to(end)
        .send()
        .await
        .expect("analytics_topics_get")
        .into_inner();
    assert_eq!(topics.messages, 4);
    // Both questions that name a refund join its topic, the largest.
    let first = &topics.topics[0];
    assert_eq!(
        (first.topic.as_str(), first.count.get()),
        ("refund", 2),
        "{topics:?}"
    );
    assert_eq!(topics.topics.len(), 3);

    for what in [Series::Messages, Series::Conversations] {
        let points = series(owner, bot, what, (start, end), "hour", "Europe/Stockholm")
            .await
            .expect("a series");
        let sum: u64 = points.points.iter().map(|p| p.value).sum();
        let whole = overview(owner, bot, points.from, points.to).await.current;
        let expected = match what {
            Series::Messages => whole.total_messages,
            Series::Conversations => whole.total_conversations,
        };
        assert_eq!(
            (sum, expected),
            (if what == Series::Messages { 8 } else { 2 }, sum)
        );
        assert_eq!(points.timezone, "Europe/Stockholm");
    }
    // Analytics are for the bot's account and its teams' admins: an agent of the team is refused.
    let agent_view = desk.agents[0]
        .client
        .analytics_overview_get()
        .bot_id(bot)
        .send()
        .await;
    let status = agent_view
        .expect_err("an agent")
        .status()
        .map(|s| s.as_u16());
    assert_eq!(status, Some(403));
}

async fn analytics_operations_refuse_bad_ranges(ctx: &TestContext) {
    let desk = desk(ctx, &[], &[]).await;
    let owner = &desk.owner.client;
    let bot = desk.bot.id;
    let now = Utc::now();
    let day = TimeDelta::days(1);
    let result = owner
        .analytics_overview_get()
        .bot_id(bot)
        .from(now)
        .to(now)
        .send()
        .await;
    expect_invalid_field(result, "from");
    let result = owner
        .analytics_csat_get()
        .bot_id(bot)
        .from(now - day * 367)
        .to(now)
        .send()
        .await;
    expect_invalid_field(result, "from");
    let result = owner
        .analytics_topics_get()
        .bot_id(bot)
        .from(now)
        .to(now - day)
        .send()
        .await;
    expect_invalid_field(result, "from");
    let result = owner
        .analytics_gaps_get()
        .bot_id(bot)
        .from(now - day * 400)
        .send()
        .await;
    expect_invalid_field(result, "from");
    let result = owner
        .analytics_messages_get()
        .bot_id(bot)
        .from(now - day * 60)
        .to(now)
        .interval(types::AnalyticsMessagesGetInterval::Hour)
        .send()
        .await;
    expect_invalid_field(result, "interval");
    let result = owner
        .analytics_conversations_get()
        .bot_id(bot)
        .timezone(
            "Mars/Olympus_Mons"
                .parse::<types::AnalyticsConversationsGetTimezone>()
                .unwrap(),
        )
        .send()
        .await;
    expect_invalid_field(result, "timezone");
    // Defaults: the 30 days before now, in days of UTC.
    let defaults = owner
        .analytics_conversations_get()
        .bot_id(bot)
        .send()
        .await
        .expect("analytics_conversations_get")
        .into_inner();
    assert_eq!(
        (defaults.points.len(), defaults.timezone.as_str()),
        (31, "UTC")
    );
    assert!(defaults.points.iter().all(|p| p.value == 0));
    // An unknown bot.
    let missing = owner
        .analytics_overview_get()
        .bot_id(uuid::Uuid::new_v4())
        .send()
        .await;
    let status = missing
        .expect_err("an unknown bot")
        .status()
        .map(|s| s.as_u16());
    assert_eq!(status, Some(404));
}
