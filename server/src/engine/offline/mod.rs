//! The offline engine: BM25 over in-memory tantivy indexes, one per analysis language.
//!
//! ## Index
//! A [`KnowledgeIndex`] holds the entries (sorted by id) and, per analysis language (tantivy's
//! 18 stemming languages, plus "plain" for every other language: lowercased words, no
//! stemming), a one-segment RAM index of all of them with two fields: `question` (FAQ
//! questions) and `body` (FAQ answers; passages with their document's title). Every entry is in
//! every language's index, so a message is always analysed with its own language's stop words
//! and stemmer and still finds entries written in another language by their shared words.
//! `build` indexes the languages detected in the entries; another language is indexed the
//! first time a message in it arrives (once: the index is shared, `Send + Sync`).
//!
//! ## Scoring
//! Each field is scored with BM25 (k1 = 1.2, b = 0.75, tantivy's [`Bm25Weight`]) as its own
//! collection: a field's idf counts the entries that have the field (FAQs for `question`,
//! everything for `body`), its average length likewise, so passages do not dilute FAQ
//! questions. An entry's score is `QUESTION_BOOST * bm25(question) + bm25(body)`. Hits are
//! ranked by score, ties by entry id.
//!
//! ## Confidence
//! A raw BM25 score depends on the query (its length, its words' rarity), so it is turned into
//! a relevance from 0 to 1 before it is compared with `confidence_threshold`: see
//! [`relevance`]. The answer-quality test measures the rule on a real data set.
//!
//! [`Bm25Weight`]: tantivy::query::Bm25Weight
//! [`relevance`]: confidence::relevance

mod analysis;
mod answer;
mod confidence;
#[cfg(test)]
mod fixtures;
mod lang_index;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::{EngineError, EntryContent, KnowledgeEntry, detect_language};
use analysis::{ANALYSES, analysis_for};
use lang_index::{LangIndex, Search};

pub use analysis::{content_words, keywords};

/// How much more a word of a FAQ question counts than a word of body text. Measured with the
/// answer-quality test (hit@1 of questions / of shortened questions): 1 -> 0.925 / 0.777,
/// 1.5 -> 0.958 / 0.824, 2 -> 0.973 / 0.841, 3 -> 0.981 / 0.850, 4 -> 0.991 / 0.858,
/// 6 -> 0.997 / 0.857. That test asks the questions themselves, which a higher boost always
/// favours; past 3 the gain is small while an answer's own words count for less and less.
pub const QUESTION_BOOST: f32 = 3.0;
/// A language is one of the knowledge base's when at least 1/10 of the entries whose language
/// was detected are in it (a few misdetected entries add none).
const LANGUAGE_MIN_SHARE_DIVISOR: usize = 10;
/// How many entries (evenly spaced) and how many of their first characters the languages are
/// detected from.
const LANGUAGE_SAMPLE: usize = 200;
const LANGUAGE_SAMPLE_CHARS: usize = 300;

/// A bot's knowledge base, indexed for answering. Build it once per knowledge-base revision
/// and share it (`Arc`); answering only reads it.
pub struct KnowledgeIndex {
    /// Sorted by id: an entry's position is its document id in every language's index.
    entries: Vec<KnowledgeEntry>,
    /// The languages (ISO 639-1, sorted) the entries are written in: those of at least a tenth
    /// of the sampled entries whose language could be detected.
    languages: Vec<String>,
    /// Per analysis language, built by `build` or on first use.
    indexes: [OnceLock<Result<LangIndex, String>>; ANALYSES],
}

impl std::fmt::Debug for KnowledgeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let built: Vec<usize> = (0..ANALYSES)
            .filter(|slot| self.indexes[*slot].get().is_some())
            .collect();
        f.debug_struct("KnowledgeIndex")
            .field("entries", &self.entries.len())
            .field("languages", &self.languages)
            .field("built_analyses", &built)
            .finish()
    }
}

impl KnowledgeIndex {
    /// Indexes `entries` (any order; duplicate ids are kept, ordered by id then content).
    pub fn build(entries: &[KnowledgeEntry]) -> Result<KnowledgeIndex, EngineError> {
        let mut entries = entries.to_vec();
        entries.sort_by(|a, b| {
            a.id.cmp(&b.id)
                .then_with(|| a.reply_text().cmp(b.reply_text()))
                .then_with(|| a.question().cmp(&b.question()))
        });
        let mut index = KnowledgeIndex {
            entries,
            languages: Vec::new(),
            indexes: std::array::from_fn(|_| OnceLock::new()),
        };
        // The languages the knowledge base is written in: indexed now (errors surface here),
        // any other on first use.
        // Detecting is most of the build's time: a sample of entries, the start of each.
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let step = index.entries.len().div_ceil(LANGUAGE_SAMPLE).max(1);
        for entry in index.entries.iter().step_by(step) {
            let text = match &entry.content {
                EntryContent::Faq { question, answer } => format!("{question}\n{answer}"),
                EntryContent::Passage { text } => text.clone(),
            };
            let end = text
                .char_indices()
                .nth(LANGUAGE_SAMPLE_CHARS)
                .map_or(text.len(), |(at, _)| at);
            if let Some(code) = detect_language(&text[..end]) {
                *counts.entry(code).or_default() += 1;
            }
        }
        let detected: usize = counts.values().sum();
        index.languages = counts
            .into_iter()
            .filter(|(_, count)| *count * LANGUAGE_MIN_SHARE_DIVISOR >= detected)
            .map(|(code, _)| code)
            .collect();
        let mut built = [false; ANALYSES];
        for code in &index.languages {
            let analysis = analysis_for(code);
            if !std::mem::replace(&mut built[analysis.slot()], true) {
                let lang_index = LangIndex::build(&index.entries, analysis)?;
                let _ = index.indexes[analysis.slot()].set(Ok(lang_index));
            }
        }
        Ok(index)
    }

    /// How many entries the index holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The languages (ISO 639-1, sorted) the knowledge base is written in, as detected.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// The index of `language`'s analysis, built now if it was not.
    fn lang_index(&self, language: &str) -> Option<&LangIndex> {
        let analysis = analysis_for(language);
        self.indexes[analysis.slot()]
            .get_or_init(|| {
                LangIndex::build(&self.entries, analysis).map_err(|error| error.to_string())
            })
            .as_ref()
            .ok()
    }

    fn search(&self, message: &str, language: &str) -> Search {
        if self.entries.is_empty() {
            return Search::default();
        }
        // A failure to build an index that `build` would have built the same way is not
        // expected; it answers as if nothing matched.
        let Some(index) = self.lang_index(language) else {
            return Search::default();
        };
        index.search(message, self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{settings, shop};
    use super::*;

    #[test]
    fn knowledge_index_is_send_and_sync() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<KnowledgeIndex>();
        shared::<std::sync::Arc<KnowledgeIndex>>();
    }

    #[test]
    fn answers_are_deterministic_whatever_the_order_of_the_entries() {
        let entries = shop();
        let mut reversed = entries.clone();
        reversed.reverse();
        let index = KnowledgeIndex::build(&entries).unwrap();
        let other = KnowledgeIndex::build(&reversed).unwrap();
        for message in [
            "How do refunds work?",
            "shipping",
            "ship",
            "password",
            "Which ship carried the Olympic torch?",
            "returned items",
        ] {
            for threshold in [0.0, 0.35, 0.9] {
                let first = index.answer(message, None, &settings(threshold));
                assert_eq!(first, index.answer(message, None, &settings(threshold)));
                assert_eq!(first, other.answer(message, None, &settings(threshold)));
            }
        }
    }
}
