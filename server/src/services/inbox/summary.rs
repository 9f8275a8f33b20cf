//! Conversation summaries for an agent taking over: extractive, offline and deterministic, in
//! the conversation's language (English, or Swedish), cached until the conversation changes.

use super::super::Call;
use super::super::chat::conversation_of_caller;
use crate::error::Error;
use crate::store::chat::{self as chat_store, MessageRow};
use crate::store::inbox::{self as store, SummaryRow};
use crate::store::{now, utc};
use botwire_api::types::{ConversationSummary, ConversationSummaryEngine, MessageRole};
use uuid::Uuid;

/// The longest quote a summary takes from one message, in characters.
const QUOTE_MAX: usize = 160;

pub async fn conversation_summary_get(
    call: &Call<'_>,
    conversation_id: Uuid,
) -> Result<ConversationSummary, Error> {
    let (conversation, _) = conversation_of_caller(call, conversation_id).await?;
    let db = &call.app.db;
    let cached = store::summary_get(db, &conversation.id, conversation.message_count).await?;
    let row = match cached {
        Some(row) => row,
        None => {
            let messages = chat_store::messages_list(db, &conversation, None, 10_000).await?;
            let (engine, summary) =
                match llm_summary(call, &conversation.bot_id, &messages.items).await? {
                    Some(summary) => (ConversationSummaryEngine::Llm, summary),
                    None => (
                        ConversationSummaryEngine::Offline,
                        summarize(&messages.items, &conversation.status),
                    ),
                };
            let row = SummaryRow {
                conversation_id: conversation.id.clone(),
                message_count: conversation.message_count,
                engine: engine.to_string(),
                summary,
                generated_at: now(),
            };
            store::summary_put(db, &row).await?;
            row
        }
    };
    Ok(ConversationSummary {
        conversation_id,
        engine: row
            .engine
            .parse()
            .unwrap_or(ConversationSummaryEngine::Offline),
        generated_at: utc(row.generated_at),
        message_count: u64::try_from(row.message_count).unwrap_or(0),
        summary: row.summary,
    })
}

/// The summary of the bot's LLM, when its engine is `llm` and the LLM answers; `None` sends
/// the caller to the offline summarizer.
async fn llm_summary(
    call: &Call<'_>,
    bot_id: &str,
    messages: &[MessageRow],
) -> Result<Option<String>, Error> {
    let account_id = call.account()?.to_string();
    let Some(bot) = crate::store::bots::bot_get(&call.app.db, &account_id, bot_id).await? else {
        return Ok(None);
    };
    let stored = super::super::bots::settings_of(&bot.id, &bot.settings)?;
    if messages.is_empty() {
        return Ok(None);
    }
    let language = language(messages);
    let system = format!(
        "Summarize this support conversation in two to four sentences for a human agent who \
         takes it over: what the visitor asked, what the bot answered, whether and why it was \
         handed to a human, and what the agents did. State only what the conversation says. \
         Write in the language whose ISO 639-1 code is \"{language}\"."
    );
    let transcript = messages
        .iter()
        .map(|m| {
            let who = match role(m) {
                Some(MessageRole::User) => "Visitor",
                Some(MessageRole::Assistant) => "Bot",
                Some(MessageRole::Agent) => "Agent",
                _ => "Note",
            };
            format!("{who}: {}", m.content)
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(super::super::chat::llm_complete(call, &stored, system, transcript).await)
}

/// The first sentence of a message, at most [`QUOTE_MAX`] characters (cut at a word).
fn quote(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = text
        .char_indices()
        .find(|&(i, c)| matches!(c, '.' | '!' | '?') && text[i + c.len_utf8()..].starts_with(' '))
        .map_or(text.as_str(), |(i, c)| &text[..i + c.len_utf8()]);
    if sentence.chars().count() <= QUOTE_MAX {
        return sentence.to_string();
    }
    let cut: String = sentence.chars().take(QUOTE_MAX).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

/// The words of a summary in one language.
struct Words {
    asked: &'static str,
    answered: &'static str,
    handed: &'static str,
    agent: fn(usize) -> String,
    more: fn(usize) -> String,
    resolved: &'static str,
    closed: &'static str,
    waiting: &'static str,
    empty: &'static str,
}

const ENGLISH: Words = Words {
    asked: "The visitor asked",
    answered: "The bot answered",
    handed: "The conversation was handed to a human",
    agent: |n| {
        if n == 1 {
            "An agent replied".into()
        } else {
            format!("Agents replied {n} times; last")
        }
    },
    more: |n| {
        if n == 1 {
            "The visitor then wrote".into()
        } else {
            format!("The visitor wrote {n} more messages; last")
        }
    },
    resolved: "It is resolved.",
    closed: "It is closed.",
    waiting: "It is waiting for a human.",
    empty: "The conversation has no messages yet.",
};

const SWEDISH: Words = Words {
    asked: "Besökaren frågade",
    answered: "Boten svarade",
    handed: "Samtalet lämnades över till en människa",
    agent: |n| {
        if n == 1 {
            "En agent svarade".into()
        } else {
            format!("Agenter svarade {n} gånger; senast")
        }
    },
    more: |n| {
        if n == 1 {
            "Besökaren skrev sedan".into()
        } else {
            format!("Besökaren skrev {n} meddelanden till; senast")
        }
    },
    resolved: "Det är löst.",
    closed: "Det är stängt.",
    waiting: "Det väntar på en människa.",
    empty: "Samtalet har inga meddelanden än.",
};

fn role(message: &MessageRow) -> Option<MessageRole> {
    message.role.parse().ok()
}

/// The conversation's language: the one most of its user and bot messages were detected in.
fn language(messages: &[MessageRow]) -> &'static str {
    let swedish = messages
        .iter()
        .filter(|m| m.language.as_deref() == Some("sv"))
        .count();
    let other = messages
        .iter()
        .filter(|m| m.language.as_deref().is_some_and(|l| l != "sv"))
        .count();
    if swedish > other { "sv" } else { "en" }
}

/// An extractive summary: the question, the bot's answer, the handoff and its reason, what
/// the agents said last and what the visitor added, and where the conversation stands.
pub(super) fn summarize(messages: &[MessageRow], status: &str) -> String {
    let words = if language(messages) == "sv" {
        &SWEDISH
    } else {
        &ENGLISH
    };
    let Some(first) = messages
        .iter()
        .position(|m| role(m) == Some(MessageRole::User))
    else {
        return words.empty.to_string();
    };
    let mut parts = vec![format!(
        "{}: “{}”",
        words.asked,
        quote(&messages[first].content)
    )];
    let later = &messages[first + 1..];
    if let Some(answer) = later
        .iter()
        .take_while(|m| role(m) != Some(MessageRole::User))
        .find(|m| role(m) == Some(MessageRole::Assistant))
    {
        parts.push(format!("{}: “{}”", words.answered, quote(&answer.content)));
    }
    let handoff = later.iter().find(|m| {
        role(m) == Some(MessageRole::System) && m.content.starts_with("Handed to a human")
    });
    if let Some(handoff) = handoff {
        match handoff.content.split_once(": ") {
            Some((_, reason)) => parts.push(format!("{} ({}).", words.handed, quote(reason))),
            None => parts.push(format!("{}.", words.handed)),
        }
    }
    let agents: Vec<&MessageRow> = later
        .iter()
        .filter(|m| role(m) == Some(MessageRole::Agent))
        .collect();
    if let Some(last) = agents.last() {
        parts.push(format!(
            "{}: “{}”",
            (words.agent)(agents.len()),
            quote(&last.content)
        ));
    }
    let users: Vec<&MessageRow> = later
        .iter()
        .filter(|m| role(m) == Some(MessageRole::User))
        .collect();
    if let Some(last) = users.last() {
        parts.push(format!(
            "{}: “{}”",
            (words.more)(users.len()),
            quote(&last.content)
        ));
    }
    match status {
        "resolved" => parts.push(words.resolved.to_string()),
        "closed" => parts.push(words.closed.to_string()),
        "pending" if handoff.is_some() && agents.is_empty() => {
            parts.push(words.waiting.to_string());
        }
        _ => {}
    }
    parts
        .into_iter()
        .map(|part| {
            // A quote that ends its own sentence needs no full stop after it.
            let ended = part.trim_end_matches('”').ends_with(['.', '!', '?', '…']);
            if ended { part } else { format!("{part}.") }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(role: &str, content: &str, language: Option<&str>) -> MessageRow {
        MessageRow {
            id: String::new(),
            conversation_id: String::new(),
            role: role.into(),
            content: content.into(),
            language: language.map(String::from),
            sources: "[]".into(),
            suggested_actions: "[]".into(),
            engine: None,
            agent_id: None,
            created_at: chrono::NaiveDateTime::default(),
            answered: None,
        }
    }

    #[test]
    fn a_support_conversation_is_told_in_order() {
        let messages = [
            message(
                "user",
                "I was charged twice for order 4821. Can I get a refund?",
                Some("en"),
            ),
            message(
                "assistant",
                "Refunds take 14 days. Anything else?",
                Some("en"),
            ),
            message("system", "Handed to a human: charged twice", None),
            message(
                "agent",
                "I have refunded the duplicate charge. Sorry about that!",
                None,
            ),
        ];
        assert_eq!(
            summarize(&messages, "resolved"),
            "The visitor asked: “I was charged twice for order 4821.” The bot answered: “Refunds \
             take 14 days.” The conversation was handed to a human (charged twice). An agent \
             replied: “I have refunded the duplicate charge.” It is resolved."
        );
    }

    #[test]
    fn a_swedish_conversation_is_summarized_in_swedish() {
        let messages = [
            message("user", "Behöver jag bygglov för en altan?", Some("sv")),
            message("assistant", "Ja, oftast.", Some("sv")),
        ];
        assert!(summarize(&messages, "open").starts_with("Besökaren frågade"));
        assert_eq!(summarize(&[], "open"), ENGLISH.empty);
    }
}
