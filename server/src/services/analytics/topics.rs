//! Topics: user messages grouped by their most significant keyword, deterministically (the
//! contract's `analytics_topics_get`): each message joins the topic of its keyword that the
//! most messages share, ties to the alphabetically first.

use crate::engine::offline::keywords;
use crate::store::analytics::UserMessage;
use botwire_api::types::AnalyticsTopic;
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;

/// Sample questions per topic.
const SAMPLES: usize = 3;

/// A message as questions are compared: lower case, whitespace collapsed, no trailing `?`,
/// `!` or `.`.
pub fn normalized(text: &str) -> String {
    let lower = text.to_lowercase();
    let collapsed = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .trim_end_matches(['?', '!', '.'])
        .trim_end()
        .to_string()
}

/// A message's keywords: its distinct stems, each with the word it was written as.
struct Analyzed<'a> {
    message: &'a UserMessage,
    /// (stem, word), in the message's order, each stem once.
    keywords: Vec<(String, String)>,
}

/// The topics of `messages` (oldest first), largest first (ties by name), at most `limit`.
pub fn group(messages: &[UserMessage], limit: usize) -> Vec<AnalyticsTopic> {
    let analyzed: Vec<Analyzed> = messages
        .iter()
        .map(|message| {
            let mut seen = BTreeSet::new();
            let keywords = keywords(&message.content, message.language.as_deref().unwrap_or(""))
                .into_iter()
                .filter(|(stem, _)| seen.insert(stem.clone()))
                .collect();
            Analyzed { message, keywords }
        })
        .collect();
    // How many messages have each stem.
    let mut frequency = BTreeMap::<&str, usize>::new();
    for message in &analyzed {
        for (stem, _) in &message.keywords {
            *frequency.entry(stem.as_str()).or_default() += 1;
        }
    }
    let mut groups = BTreeMap::<&str, Vec<&Analyzed>>::new();
    for message in &analyzed {
        // The most frequent stem; among equals the alphabetically first (max_by_key keeps the
        // last maximum, so compare the reversed name too).
        let key = message
            .keywords
            .iter()
            .map(|(stem, _)| stem.as_str())
            .max_by(|a, b| frequency[a].cmp(&frequency[b]).then_with(|| b.cmp(a)));
        if let Some(key) = key {
            groups.entry(key).or_default().push(message);
        }
    }
    let mut topics: Vec<AnalyticsTopic> = groups
        .into_iter()
        .filter_map(|(key, members)| topic(key, &members))
        .collect();
    topics.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.topic.cmp(&b.topic)));
    topics.truncate(limit);
    topics
}

fn topic(key: &str, members: &[&Analyzed]) -> Option<AnalyticsTopic> {
    let count = NonZeroU64::new(u64::try_from(members.len()).ok()?)?;
    // The most frequent written form of a stem in the topic (ties: alphabetical).
    let word_of = |stem: &str| {
        let mut forms = BTreeMap::<&str, usize>::new();
        for member in members {
            for (s, word) in &member.keywords {
                if s == stem {
                    *forms.entry(word.as_str()).or_default() += 1;
                }
            }
        }
        most_frequent(forms)
    };
    // A second keyword when more than half of the topic's messages, and at least two, share it.
    let mut others = BTreeMap::<&str, usize>::new();
    for member in members {
        for (stem, _) in &member.keywords {
            if stem != key {
                *others.entry(stem.as_str()).or_default() += 1;
            }
        }
    }
    let second = most_frequent(others.clone())
        .filter(|stem| others[stem] >= 2 && others[stem] * 2 > members.len());
    // Sample questions: the most frequent distinct messages, as first written.
    let mut questions = BTreeMap::<String, (usize, &str)>::new();
    for member in members {
        let text = member.message.content.trim();
        questions.entry(normalized(text)).or_insert((0, text)).0 += 1;
    }
    let mut samples: Vec<(String, (usize, &str))> = questions.into_iter().collect();
    samples.sort_by_key(|sample| std::cmp::Reverse(sample.1.0));
    let sample_questions: Vec<String> = samples
        .iter()
        .take(SAMPLES)
        .map(|(_, (_, text))| (*text).to_string())
        .collect();
    let first = word_of(key)?;
    let name = match second.and_then(word_of) {
        // The two words in the order the topic's first sample has them.
        Some(second) => {
            let sample = samples
                .first()
                .map_or("", |(normalized, _)| normalized.as_str());
            match (sample.find(first), sample.find(second)) {
                (Some(a), Some(b)) if b < a => format!("{second} {first}"),
                _ => format!("{first} {second}"),
            }
        }
        None => first.to_string(),
    };
    Some(AnalyticsTopic {
        topic: name,
        count,
        sample_questions,
    })
}

/// The key with the highest count; ties to the first in the map's (alphabetical) order.
fn most_frequent(counts: BTreeMap<&str, usize>) -> Option<&str> {
    let mut best: Option<(&str, usize)> = None;
    for (key, n) in counts {
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((key, n));
        }
    }
    best.map(|(key, _)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> UserMessage {
        UserMessage {
            content: text.into(),
            language: Some("en".into()),
        }
    }

    #[test]
    fn messages_join_their_most_shared_keyword() {
        let messages: Vec<UserMessage> = [
            "How long does a refund take?",
            "I was charged twice, can I get a refund?",
            "how long does a refund take",
            "What are your opening hours?",
            "Are you open on Sunday? What are the opening hours",
            "opening hours on holidays?",
            "Refunds for cancelled orders",
            "?!",
        ]
        .iter()
        .map(|t| message(t))
        .collect();
        let topics = group(&messages, 10);
        let names: Vec<(&str, u64)> = topics
            .iter()
            .map(|t| (t.topic.as_str(), t.count.get()))
            .collect();
        assert_eq!(names, vec![("refund", 4), ("opening hours", 3)]);
        assert_eq!(
            topics[0].sample_questions,
            vec![
                "How long does a refund take?",
                "I was charged twice, can I get a refund?",
                "Refunds for cancelled orders"
            ]
        );
        assert_eq!(group(&messages, 1).len(), 1);
    }

    #[test]
    fn questions_compare_without_case_spacing_or_final_marks() {
        assert_eq!(normalized("  Where is   my ORDER?! "), "where is my order");
        assert_eq!(normalized("?"), "");
    }
}
