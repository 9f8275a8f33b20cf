//! Text analysis per language: its stemmer and stop words, and the words a text becomes.

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};

use crate::engine::normalize_language;

/// Words longer than this are dropped (base64, URLs, hashes).
const MAX_TOKEN_CHARS: usize = 40;

/// The analysis languages: tantivy's stemmers, then `Plain`.
const STEMMED: [Language; 18] = [
    Language::Arabic,
    Language::Danish,
    Language::Dutch,
    Language::English,
    Language::Finnish,
    Language::French,
    Language::German,
    Language::Greek,
    Language::Hungarian,
    Language::Italian,
    Language::Norwegian,
    Language::Portuguese,
    Language::Romanian,
    Language::Russian,
    Language::Spanish,
    Language::Swedish,
    Language::Tamil,
    Language::Turkish,
];
pub(super) const ANALYSES: usize = STEMMED.len() + 1;

/// English beyond the (Lucene) stop words tantivy has: the words every question starts with.
/// Matching on them ranks nothing and makes an unrelated question look covered.
const ENGLISH_EXTRA_STOP_WORDS: &[&str] = &[
    "am", "about", "can", "could", "did", "do", "does", "had", "has", "have", "how", "i", "me",
    "my", "our", "should", "we", "were", "what", "when", "where", "which", "who", "whom", "why",
    "would", "you", "your",
];
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

/// Which analysis (index) a language code uses: its stemmer's, or `Plain`.
pub(super) fn analysis_for(code: &str) -> Analysis {
    let language = match code {
        "ar" => Language::Arabic,
        "da" => Language::Danish,
        "nl" => Language::Dutch,
        "en" => Language::English,
        "fi" => Language::Finnish,
        "fr" => Language::French,
        "de" => Language::German,
        "el" => Language::Greek,
        "hu" => Language::Hungarian,
        "it" => Language::Italian,
        "no" | "nb" | "nn" => Language::Norwegian,
        "pt" => Language::Portuguese,
        "ro" => Language::Romanian,
        "ru" => Language::Russian,
        "es" => Language::Spanish,
        "sv" => Language::Swedish,
        "ta" => Language::Tamil,
        "tr" => Language::Turkish,
        _ => return Analysis::Plain,
    };
    Analysis::Stemmed(language)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Analysis {
    Stemmed(Language),
    Plain,
}

impl Analysis {
    pub(super) fn slot(self) -> usize {
        match self {
            Analysis::Stemmed(language) => STEMMED
                .iter()
                .position(|l| *l == language)
                .expect("every stemmed language is listed"),
            Analysis::Plain => STEMMED.len(),
        }
    }

    fn stop_words(self) -> Option<StopWordFilter> {
        match self {
            Analysis::Stemmed(Language::English) => Some(StopWordFilter::remove(
                ENGLISH_STOP_WORDS
                    .iter()
                    .chain(ENGLISH_EXTRA_STOP_WORDS)
                    .map(|w| (*w).to_string()),
            )),
            Analysis::Stemmed(language) => StopWordFilter::new(language),
            Analysis::Plain => None,
        }
    }

    /// Words, lowercased, without stop words, stemmed: what is indexed and searched.
    pub(super) fn analyzer(self) -> TextAnalyzer {
        self.builder(true)
    }

    fn builder(self, stem: bool) -> TextAnalyzer {
        let mut builder = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_CHARS))
            .filter(LowerCaser)
            .dynamic();
        if let Some(stop_words) = self.stop_words() {
            builder = builder.filter_dynamic(stop_words);
        }
        if let (true, Analysis::Stemmed(language)) = (stem, self) {
            builder = builder.filter_dynamic(Stemmer::new(language));
        }
        builder.build()
    }
}

/// The words of `text` that the engine matches on in `language` (an ISO 639-1 code):
/// lowercased, stop words removed, not stemmed. For tests and tools (the answer-quality test
/// shortens questions with it).
pub fn content_words(text: &str, language: &str) -> Vec<String> {
    let analysis = analysis_for(&normalize_language(language).unwrap_or_default());
    tokens(&mut analysis.builder(false), text)
}

/// The keywords of `text` in `language`, as the engine matches them: each content word (stop
/// words out) as (its stem, the word as written, lowercased), in order. What the analytics
/// group user messages by.
pub fn keywords(text: &str, language: &str) -> Vec<(String, String)> {
    let analysis = analysis_for(&normalize_language(language).unwrap_or_default());
    let words = tokens(&mut analysis.builder(false), text);
    let mut stemmer = analysis.analyzer();
    words
        .into_iter()
        .filter_map(|word| {
            let stem = tokens(&mut stemmer, &word).into_iter().next()?;
            Some((stem, word))
        })
        .collect()
}

pub(super) fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::offline::KnowledgeIndex;
    use crate::engine::offline::fixtures::{faq, settings};

    #[test]
    fn swedish_is_stemmed() {
        let entries = vec![
            faq(
                "sv-1",
                "Hur bygger man en altan?",
                "Börja med bygglovet och gjut plintar för stommen.",
            ),
            faq(
                "sv-2",
                "Vad kostar ett tak?",
                "Ett nytt tak kostar från 1 500 kronor per kvadratmeter.",
            ),
        ];
        let index = KnowledgeIndex::build(&entries).unwrap();
        // The definite plural "altanerna" finds "altan" with the Swedish stemmer...
        let answer = index.answer("altanerna", Some("sv"), &settings(0.35));
        assert!(answer.confident, "{answer:?}");
        assert_eq!(answer.language, "sv");
        assert!(answer.reply.starts_with("Börja med bygglovet"));
        // ... and so does "taken" ("the roofs") find "tak".
        let answer = index.answer("taken", Some("sv-SE"), &settings(0.35));
        assert!(answer.reply.starts_with("Ett nytt tak"), "{answer:?}");
        assert_eq!(answer.language, "sv");
        // Analysed as English, "altanerna" is not "altan".
        let answer = index.answer("altanerna", Some("en"), &settings(0.0));
        assert!(!answer.confident, "{answer:?}");
    }

    #[test]
    fn content_words_drop_stop_words_and_keep_forms() {
        assert_eq!(
            content_words("What does a building permit cost?", "en"),
            ["building", "permit", "cost"]
        );
        assert_eq!(
            content_words("Vad kostar ett bygglov för altanerna?", "sv"),
            ["kostar", "bygglov", "altanerna"]
        );
        assert_eq!(
            content_words("Ça coûte combien ?", "xx"),
            ["ça", "coûte", "combien"]
        );
    }
}
