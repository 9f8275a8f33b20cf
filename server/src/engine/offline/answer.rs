//! Answering: the message's language, the answer or the fallback and its suggestions.

use super::KnowledgeIndex;
use super::confidence::relevance;
use super::lang_index::Search;
use crate::engine::{Answer, AnswerSource, EngineSettings, choose_language, normalize_language};

/// How many questions a fallback suggests.
const SUGGESTIONS: usize = 3;

impl KnowledgeIndex {
    /// The answer to `message`. `language` (ISO 639-1) is the request's; without it the
    /// message's language is detected among the knowledge base's languages and the bot's
    /// default (see [`choose_language`]: the engine answers in those only), else it is the
    /// bot's default.
    pub fn answer(
        &self,
        message: &str,
        language: Option<&str>,
        settings: &EngineSettings,
    ) -> Answer {
        let language = self.language_of(message, language, settings);
        let search = self.search(message, &language);
        self.answer_from(search, language, settings)
    }

    /// The message's language: the request's, else detected among the knowledge base's and
    /// the bot's default, else the default (see [`Self::answer`]).
    fn language_of(
        &self,
        message: &str,
        language: Option<&str>,
        settings: &EngineSettings,
    ) -> String {
        let default = normalize_language(&settings.default_language);
        language
            .and_then(normalize_language)
            .or_else(|| {
                let mut candidates = self.languages.clone();
                candidates.extend(default.clone());
                choose_language(message, &candidates)
            })
            .or(default)
            .unwrap_or_else(|| "en".to_string())
    }

    /// [`Self::answer`], and the `k` best entries as context for an LLM, best first, without
    /// repeated texts. Each one's score is the best's relevance scaled by its share of the
    /// best's raw score.
    pub fn answer_with_context(
        &self,
        message: &str,
        language: Option<&str>,
        settings: &EngineSettings,
        k: usize,
    ) -> (Answer, Vec<AnswerSource>) {
        let language = self.language_of(message, language, settings);
        let search = self.search(message, &language);
        let best = relevance(&self.entries, &search).unwrap_or(0.0);
        let top = search.hits.first().map_or(0.0, |hit| hit.score);
        let mut context: Vec<AnswerSource> = Vec::new();
        for hit in &search.hits {
            if context.len() == k || hit.score <= 0.0 {
                break;
            }
            let entry = &self.entries[hit.entry];
            if context.iter().any(|c| c.snippet == entry.reply_text()) {
                continue;
            }
            context.push(AnswerSource {
                document_id: entry.document_id,
                title: entry.title.clone(),
                snippet: entry.reply_text().to_string(),
                score: best * f64::from(hit.score / top),
            });
        }
        (self.answer_from(search, language, settings), context)
    }

    fn answer_from(&self, search: Search, language: String, settings: &EngineSettings) -> Answer {
        let best = search.hits.first().zip(relevance(&self.entries, &search));
        match best {
            Some((hit, relevance)) if relevance >= settings.confidence_threshold => {
                let entry = &self.entries[hit.entry];
                Answer {
                    reply: entry.reply_text().to_string(),
                    language,
                    confident: true,
                    sources: vec![AnswerSource {
                        document_id: entry.document_id,
                        title: entry.title.clone(),
                        snippet: entry.reply_text().to_string(),
                        score: relevance,
                    }],
                    suggested_questions: Vec::new(),
                }
            }
            _ => {
                let mut suggested: Vec<String> = Vec::new();
                for hit in &search.hits {
                    let Some(question) = self.entries[hit.entry].question() else {
                        continue;
                    };
                    let question = question.trim();
                    if question.is_empty()
                        || suggested
                            .iter()
                            .any(|s| s.to_lowercase() == question.to_lowercase())
                    {
                        continue;
                    }
                    suggested.push(question.to_string());
                    if suggested.len() == SUGGESTIONS {
                        break;
                    }
                }
                Answer {
                    reply: settings.fallback_message.clone(),
                    language,
                    confident: false,
                    sources: Vec::new(),
                    suggested_questions: suggested,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::offline::fixtures::{faq, settings, shop};

    #[test]
    fn a_matching_question_is_answered_with_its_source() {
        let index = KnowledgeIndex::build(&shop()).unwrap();
        assert_eq!(index.languages(), ["en"]);
        let answer = index.answer("How do refunds work?", None, &settings(0.35));
        assert!(answer.confident, "{answer:?}");
        assert_eq!(
            answer.reply,
            "Refunds are issued to the original payment method within 14 days."
        );
        assert_eq!(answer.language, "en");
        assert!(answer.suggested_questions.is_empty());
        assert!(!answer.offers_handoff());
        let [source] = answer.sources.as_slice() else {
            panic!("one source: {answer:?}")
        };
        assert_eq!(source.document_id, uuid::Uuid::from_u128(1));
        assert_eq!(source.title, "FAQ");
        assert_eq!(source.snippet, answer.reply);
        // The exact question, with no rival: relevance 1.
        assert!((source.score - 1.0).abs() < 1e-6, "{}", source.score);

        // Another wording still finds it, with a lower relevance.
        let answer = index.answer("refund", None, &settings(0.0));
        assert!(answer.reply.starts_with("Refunds are issued"), "{answer:?}");
        assert!(answer.sources[0].score > 0.0 && answer.sources[0].score <= 1.0);
    }

    #[test]
    fn a_passage_is_answered_with_its_document() {
        let index = KnowledgeIndex::build(&shop()).unwrap();
        let answer = index.answer(
            "can items be returned within 30 days of delivery",
            None,
            &settings(0.2),
        );
        assert!(answer.confident, "{answer:?}");
        assert!(answer.reply.starts_with("Items can be returned"));
        assert_eq!(answer.sources[0].document_id, uuid::Uuid::from_u128(7));
        assert_eq!(answer.sources[0].title, "Returns policy");
    }

    #[test]
    fn an_unknown_question_falls_back_with_suggestions() {
        let index = KnowledgeIndex::build(&shop()).unwrap();
        let settings = settings(0.35);
        // Shares "ship" with three questions, and nothing else with any.
        let answer = index.answer(
            "Which ship carried the Olympic torch to Athens in 2004?",
            None,
            &settings,
        );
        assert!(!answer.confident, "{answer:?}");
        assert!(answer.offers_handoff());
        assert_eq!(answer.reply, settings.fallback_message);
        assert!(answer.sources.is_empty());
        assert_eq!(answer.suggested_questions.len(), 3, "{answer:?}");
        for question in &answer.suggested_questions {
            assert!(
                shop()
                    .iter()
                    .any(|entry| entry.question() == Some(question.as_str())),
                "{question}"
            );
        }
        assert!(
            answer
                .suggested_questions
                .iter()
                .any(|q| q.contains("ship"))
        );

        // Nothing in common at all: the fallback, nothing to suggest.
        let answer = index.answer("Quelle heure est-il à Paris ?", None, &settings);
        assert!(!answer.confident);
        assert_eq!(answer.reply, settings.fallback_message);
        assert!(answer.suggested_questions.is_empty(), "{answer:?}");

        // Stop words only.
        let answer = index.answer("what is it?", None, &settings);
        assert!(!answer.confident);
        assert!(answer.suggested_questions.is_empty(), "{answer:?}");
    }

    #[test]
    fn suggestions_have_no_duplicates() {
        let entries = vec![
            faq("a", "How do refunds work?", "One."),
            faq("b", "how do refunds work? ", "Two."),
            faq("c", "Are refunds taxed?", "Three."),
        ];
        let index = KnowledgeIndex::build(&entries).unwrap();
        let answer = index.answer("refunds", None, &settings(1.0));
        assert!(!answer.confident);
        assert_eq!(
            answer.suggested_questions,
            ["How do refunds work?", "Are refunds taxed?"]
        );
    }

    #[test]
    fn an_empty_knowledge_base_falls_back() {
        let index = KnowledgeIndex::build(&[]).unwrap();
        assert!(index.is_empty());
        let answer = index.answer("How do refunds work?", None, &settings(0.0));
        assert!(!answer.confident);
        assert_eq!(answer.reply, "Sorry, I do not know. Ask a human?");
        assert!(answer.sources.is_empty() && answer.suggested_questions.is_empty());
        assert_eq!(answer.language, "en");
    }

    #[test]
    fn the_language_is_given_else_chosen_among_the_knowledge_base_s_else_the_default() {
        let mut entries = shop();
        entries.push(faq(
            "sv-1",
            "Hur lång tid tar leveransen?",
            "Beställningar skickas inom två arbetsdagar och kommer fram inom tre till fem dagar.",
        ));
        entries.push(faq(
            "sv-2",
            "Hur fungerar återbetalningar?",
            "Pengarna betalas tillbaka till det ursprungliga betalningssättet inom 14 dagar.",
        ));
        let index = KnowledgeIndex::build(&entries).unwrap();
        assert_eq!(index.languages(), ["en", "sv"]);
        let settings = settings(0.35);
        let answer = index.answer("Hur lång tid tar leveransen?", None, &settings);
        assert_eq!(answer.language, "sv");
        assert!(
            answer.reply.starts_with("Beställningar skickas"),
            "{answer:?}"
        );
        assert_eq!(
            index
                .answer("How long does shipping take?", None, &settings)
                .language,
            "en"
        );
        // Given: used as it is (normalised), even if the knowledge base has none of it; the
        // language's index is built on first use.
        let answer = index.answer("Wie lange dauert der Versand?", Some("DE-at"), &settings);
        assert_eq!(answer.language, "de");
        // Too short to tell: the default.
        assert_eq!(index.answer("ok", None, &settings).language, "en");
        let mut swedish = settings.clone();
        swedish.default_language = "sv".into();
        assert_eq!(index.answer("ok", None, &swedish).language, "sv");
    }
}
