//! One analysis language's tantivy index of every entry, and its BM25 search.

use tantivy::directory::RamDirectory;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::InvertedIndexReader;
use tantivy::postings::Postings;
use tantivy::query::Bm25Weight;
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};
use tantivy::{DocSet, Index, Searcher, TERMINATED, TantivyDocument, Term};

use super::QUESTION_BOOST;
use super::analysis::{Analysis, tokens};
use crate::engine::{EntryContent, KnowledgeEntry};

/// How many hits a search keeps (the best answers; the nearest questions to suggest).
const TOP_HITS: usize = 10;
const TOKENIZER: &str = "botwire";
/// The index writer's memory budget: it sizes the initial term hash table, which grows as
/// needed (a single-segment writer never flushes). 4 MB built the test's 1006 entries as fast
/// as 50 MB did.
const WRITER_MEMORY: usize = 4_000_000;
/// tantivy's BM25 parameters (its [`Bm25Weight`] hard-codes them).
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// One language's index: tantivy's segment, the per-field statistics BM25 needs.
pub(super) struct LangIndex {
    analyzer: TextAnalyzer,
    /// Kept so the segment's data stays alive (the readers below point into it).
    _searcher: Searcher,
    question: FieldStats,
    body: FieldStats,
}

struct FieldStats {
    field: Field,
    postings: std::sync::Arc<InvertedIndexReader>,
    norms: FieldNormReader,
    /// Entries that have the field (the field's collection size for idf).
    docs: u64,
    /// Average length of the field over those entries.
    average_len: f32,
    boost: f32,
}

/// A scored entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Hit {
    pub(super) entry: usize,
    pub(super) score: f32,
    /// The question field's part of `score` (boosted).
    pub(super) question_score: f32,
}

/// What a search found, with what [`relevance`] needs.
///
/// [`relevance`]: super::confidence::relevance
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Search {
    pub(super) hits: Vec<Hit>,
    /// The scores of the reference entries of [`relevance`]: a FAQ whose question is the
    /// message, a passage whose text is the message.
    ///
    /// [`relevance`]: super::confidence::relevance
    pub(super) self_score_question: f32,
    pub(super) self_score_body: f32,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            hits: Vec::new(),
            self_score_question: 0.0,
            self_score_body: 0.0,
        }
    }
}

fn idf(doc_freq: u64, docs: u64) -> f32 {
    let x = (docs.saturating_sub(doc_freq) as f32 + 0.5) / (doc_freq as f32 + 0.5);
    (1.0 + x).ln()
}

/// BM25's term-frequency factor for one occurrence in a field `len` words long.
fn tf_factor(len: u32, average_len: f32) -> f32 {
    let len = FieldNormReader::id_to_fieldnorm(FieldNormReader::fieldnorm_to_id(len));
    1.0 / (1.0 + K1 * (1.0 - B + B * len as f32 / average_len))
}

impl LangIndex {
    pub(super) fn build(
        entries: &[KnowledgeEntry],
        analysis: Analysis,
    ) -> tantivy::Result<LangIndex> {
        let mut schema = Schema::builder();
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let question = schema.add_text_field("question", options.clone());
        let body = schema.add_text_field("body", options);
        let tokenizers = TokenizerManager::new();
        tokenizers.register(TOKENIZER, analysis.analyzer());
        // One segment, written in this thread: document i is entry i.
        let mut writer = Index::builder()
            .schema(schema.build())
            .tokenizers(tokenizers)
            .single_segment_index_writer(RamDirectory::create(), WRITER_MEMORY)?;
        let mut faqs = 0u64;
        for entry in entries {
            let mut document = TantivyDocument::default();
            match &entry.content {
                EntryContent::Faq {
                    question: q,
                    answer,
                } => {
                    faqs += 1;
                    document.add_text(question, q);
                    document.add_text(body, answer);
                }
                EntryContent::Passage { text } => {
                    document.add_text(body, &entry.title);
                    document.add_text(body, text);
                }
            }
            writer.add_document(document)?;
        }
        let index = writer.finalize()?;
        let searcher = index.reader()?.searcher();
        let [segment] = searcher.segment_readers() else {
            return Err(tantivy::TantivyError::InternalError(format!(
                "expected one segment, found {}",
                searcher.segment_readers().len()
            )));
        };
        if segment.max_doc() as usize != entries.len() {
            return Err(tantivy::TantivyError::InternalError(format!(
                "indexed {} documents of {} entries",
                segment.max_doc(),
                entries.len()
            )));
        }
        let stats = |field: Field, docs: u64, boost: f32| -> tantivy::Result<FieldStats> {
            let postings = segment.inverted_index(field)?;
            let average_len = if docs == 0 {
                1.0
            } else {
                (postings.total_num_tokens() as f32 / docs as f32).max(1.0)
            };
            Ok(FieldStats {
                field,
                postings,
                norms: segment.get_fieldnorms_reader(field)?,
                docs,
                average_len,
                boost,
            })
        };
        Ok(LangIndex {
            analyzer: analysis.analyzer(),
            question: stats(question, faqs, QUESTION_BOOST)?,
            body: stats(body, entries.len() as u64, 1.0)?,
            _searcher: searcher,
        })
    }

    pub(super) fn search(&self, message: &str, docs: usize) -> Search {
        let mut words = tokens(&mut self.analyzer.clone(), message);
        let length = u32::try_from(words.len()).unwrap_or(u32::MAX);
        words.sort();
        words.dedup();
        let mut scores = vec![0f32; docs];
        let mut question_scores = vec![0f32; docs];
        let mut self_score_question = 0.0;
        let mut self_score_body = 0.0;
        for word in &words {
            for (is_question, field, self_score) in [
                (true, &self.question, &mut self_score_question),
                (false, &self.body, &mut self_score_body),
            ] {
                let term = Term::from_field_text(field.field, word);
                let (doc_freq, postings) = match field
                    .postings
                    .read_postings(&term, IndexRecordOption::WithFreqs)
                {
                    Ok(Some(postings)) => (u64::from(postings.doc_freq()), Some(postings)),
                    _ => (0, None),
                };
                // The reference entry of `relevance`: its field is the message itself.
                *self_score += field.boost
                    * idf(doc_freq, field.docs.max(1))
                    * (1.0 + K1)
                    * tf_factor(length, field.average_len);
                let Some(mut postings) = postings else {
                    continue;
                };
                let weight = Bm25Weight::for_one_term_without_explain(
                    doc_freq,
                    field.docs.max(doc_freq),
                    field.average_len,
                )
                .boost_by(field.boost);
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    let score = weight.score(field.norms.fieldnorm_id(doc), postings.term_freq());
                    scores[doc as usize] += score;
                    if is_question {
                        question_scores[doc as usize] += score;
                    }
                    doc = postings.advance();
                }
            }
        }
        let mut hits: Vec<Hit> = scores
            .iter()
            .enumerate()
            .filter(|(_, score)| **score > 0.0)
            .map(|(entry, score)| Hit {
                entry,
                score: *score,
                question_score: question_scores[entry],
            })
            .collect();
        // Best first; ties by entry id (entries are sorted by id).
        let order = |a: &Hit, b: &Hit| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry));
        if hits.len() > TOP_HITS {
            hits.select_nth_unstable_by(TOP_HITS - 1, order);
            hits.truncate(TOP_HITS);
        }
        hits.sort_by(order);
        Search {
            hits,
            self_score_question,
            self_score_body,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::offline::KnowledgeIndex;
    use crate::engine::offline::fixtures::{faq, passage, settings};

    #[test]
    fn ties_are_broken_by_entry_id() {
        let entries = [
            faq("b", "How do refunds work?", "From b."),
            faq("a", "How do refunds work?", "From a."),
            faq("c", "How do refunds work?", "From c."),
        ];
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let shuffled: Vec<_> = order.iter().map(|i| entries[*i].clone()).collect();
            let index = KnowledgeIndex::build(&shuffled).unwrap();
            let answer = index.answer("How do refunds work?", None, &settings(0.0));
            assert_eq!(answer.reply, "From a.");
        }
    }

    #[test]
    fn faq_questions_weigh_more_than_a_passage_repeating_the_words() {
        let entries = vec![
            faq(
                "faq",
                "How do I reset my password?",
                "Choose 'Forgot password' on the sign-in page.",
            ),
            passage(
                "spam#0",
                9,
                "Security notes",
                "Password reset. Reset password. Password reset password reset: a reset of a \
                 password resets the password.",
            ),
        ];
        let index = KnowledgeIndex::build(&entries).unwrap();
        let answer = index.answer("reset password", Some("en"), &settings(0.0));
        assert_eq!(
            answer.reply, "Choose 'Forgot password' on the sign-in page.",
            "{answer:?}"
        );
    }
}
