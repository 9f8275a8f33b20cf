//! Confidence: a search's best hit turned into a relevance from 0 to 1.

use super::lang_index::Search;
use crate::engine::KnowledgeEntry;

/// The relevance, 0 to 1, of the best hit of `search`: how well it matches the message times
/// how clearly it beats the next distinct hit.
///
/// - match: the hit's score over the score of a reference entry that is the message itself,
///   capped at 1. For a FAQ the question field is compared with a question that is the
///   message (an answer that merely shares words adds nothing); for a passage, the passage
///   with a passage that is the message. Words of the message the knowledge base never uses
///   count in the reference (with the highest idf) and pull the match down, whatever the
///   message's length.
/// - margin: `(best - next) / best` of the raw scores, `next` being the best other hit that is
///   a different answer (another question for a FAQ, another document for a passage).
///
/// relevance = match * (1 + margin) / 2: an exact question with no rival is 1, an exact
/// question with an equal rival 0.5.
///
/// Measured during development on the answer-quality data set, half of its 1006 questions held
/// out; by threshold, the share of kept questions answered confidently and rightly / the same
/// for shortened kept questions / the share of held-out questions answered confidently (their
/// answer is not there):
/// 0.25: 0.990 / 0.905 / 0.443; 0.30: 0.990 / 0.905 / 0.308; 0.35: 0.990 / 0.903 / 0.219;
/// 0.40: 0.990 / 0.897 / 0.161; 0.45: 0.990 / 0.849 / 0.095; 0.50: 0.990 / 0.773 / 0.066.
/// In an earlier round (question boost 2), at 0.35 the match alone let 0.618 of the held-out questions through, the margin alone kept
/// only 0.785 of the answerable ones, and the total score over a self score let 0.839 through.
/// The same data as passages (the answers alone, asked the questions) is far harder for words
/// alone: hit@1 0.41, and at 0.35, 0.23 confidently right, 0.14 confidently wrong, 0.22 of
/// held-out questions answered.
pub(super) fn relevance(entries: &[KnowledgeEntry], search: &Search) -> Option<f64> {
    let best = search.hits.first()?;
    let entry = &entries[best.entry];
    let (score, reference) = match entry.question() {
        Some(_) => (best.question_score, search.self_score_question),
        None => (best.score, search.self_score_body),
    };
    if reference <= 0.0 || best.score <= 0.0 {
        return Some(0.0);
    }
    let matched = f64::from(score / reference).clamp(0.0, 1.0);
    let next = search.hits[1..]
        .iter()
        .find(|hit| distinct(entry, &entries[hit.entry]))
        .map_or(0.0, |hit| hit.score);
    let margin = f64::from((best.score - next) / best.score).clamp(0.0, 1.0);
    Some(matched * (1.0 + margin) / 2.0)
}

/// Whether `other` would be a different answer than `best`: another question (FAQ), another
/// document (passage), or another kind of entry.
fn distinct(best: &KnowledgeEntry, other: &KnowledgeEntry) -> bool {
    match (best.question(), other.question()) {
        (Some(a), Some(b)) => a.trim().to_lowercase() != b.trim().to_lowercase(),
        (None, None) => best.document_id != other.document_id,
        _ => true,
    }
}
