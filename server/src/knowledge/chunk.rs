//! Text -> passages for retrieval.
//!
//! text-splitter cuts at the highest-level boundary that keeps a passage within
//! [`CHUNK_MAX_CHARS`]: blank lines (paragraphs) first, then line breaks, sentences, words,
//! and only as a last resort characters. A passage is filled to at least
//! [`CHUNK_TARGET_CHARS`] when the text allows, and may grow up to the maximum to end at a
//! paragraph or sentence rather than mid-way. Sizes are in characters (Unicode scalar
//! values). Splitting is deterministic: the same text always gives the same passages.
//!
//! text-splitter's time grows with the square of the text it is given (a 1.6 MB text takes
//! a second, unoptimised; 10 MB, minutes), so a long text is first cut into sections of whole
//! lines up to [`SECTION_BYTES`], preferably at a blank line (where the splitter would cut
//! anyway), a line longer than [`LONG_LINE_BYTES`] in pieces of its own, and each section is
//! split on its own: linear time, whatever the text's shape.

use text_splitter::{ChunkConfig, TextSplitter};

/// The size a passage aims for, in characters.
pub const CHUNK_TARGET_CHARS: usize = 500;
/// No passage is longer, in characters.
pub const CHUNK_MAX_CHARS: usize = 1_000;
/// The length of the sections a long text is split in, in bytes.
const SECTION_BYTES: usize = 64 * 1024;
/// A line longer than this is split on its own, in pieces of this length (bytes).
const LONG_LINE_BYTES: usize = 4 * 1024;

/// The passages of a text, in order, each trimmed, non-empty and at most
/// [`CHUNK_MAX_CHARS`] characters long. Empty (or blank) text has none. The passages are
/// slices of the text: only the whitespace between them is left out.
pub fn chunk(text: &str) -> Vec<String> {
    let config = ChunkConfig::new(CHUNK_TARGET_CHARS..=CHUNK_MAX_CHARS).with_trim(true);
    let splitter = TextSplitter::new(config);
    let mut passages = Vec::new();
    for section in sections(text) {
        if section.contains(char::is_whitespace) {
            passages.extend(splitter.chunks(section).map(str::to_owned));
        } else {
            // No boundary to find (the splitter would go down to graphemes, slowly).
            let chars: Vec<char> = section.chars().collect();
            passages.extend(chars.chunks(CHUNK_MAX_CHARS).map(String::from_iter));
        }
    }
    passages.retain(|passage| !passage.trim().is_empty());
    passages
}

/// The text in consecutive sections, each ending after a line break (or at the end): lines
/// are gathered up to [`SECTION_BYTES`], cut preferably after a blank line in the second half;
/// a line longer than [`LONG_LINE_BYTES`] is a section of its own, cut in pieces of at most
/// that (after a sentence end or a space in the piece's second half where there is one, else
/// at a character boundary), since splitting text without line breaks costs the splitter
/// the most.
fn sections(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let first_line = rest.find('\n').map_or(rest.len(), |at| at + 1);
        let cut = if first_line > LONG_LINE_BYTES {
            let limit = rest.floor_char_boundary(LONG_LINE_BYTES);
            last_separator(&rest[..limit], &[". ", " "]).unwrap_or(limit)
        } else {
            // Whole lines, up to the section's length or the first long line.
            let mut end = first_line;
            let mut blank = None;
            while end < rest.len() {
                let next = rest[end..].find('\n').map_or(rest.len(), |at| end + at + 1);
                if next - end > LONG_LINE_BYTES || next > SECTION_BYTES {
                    break;
                }
                if next - end == 1 && end >= SECTION_BYTES / 2 {
                    blank = Some(next);
                }
                end = next;
            }
            match blank {
                Some(blank) if end > SECTION_BYTES / 2 && end < rest.len() => blank,
                _ => end,
            }
        };
        let (section, tail) = rest.split_at(cut);
        rest = tail;
        Some(section)
    })
}

/// Just past the last of the separators (tried in order) in the second half of `window`.
fn last_separator(window: &str, separators: &[&str]) -> Option<usize> {
    separators.iter().find_map(|separator| {
        window
            .rfind(separator)
            .filter(|&at| at >= window.len() / 2)
            .map(|at| at + separator.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long text of numbered sentences and paragraphs, every sentence distinct.
    fn long_text() -> String {
        text_of(120)
    }

    fn text_of(paragraphs: usize) -> String {
        (0..paragraphs)
            .map(|p| {
                (0..(3 + p % 7))
                    .map(|s| format!("Paragraph {p} sentence {s} says something about refunds."))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    fn chars(s: &str) -> usize {
        s.chars().count()
    }

    #[test]
    fn passages_are_bounded_ordered_non_empty_and_cover_the_text() {
        check_passages(&long_text());
    }

    #[test]
    fn a_very_long_text_is_split_in_linear_time() {
        // About 2.5 MB: text-splitter alone takes tens of seconds unoptimised.
        let text = text_of(8_000);
        assert!(text.len() > 40 * SECTION_BYTES);
        let started = std::time::Instant::now();
        check_passages(&text);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        // One paragraph longer than a section, and a "word" longer than one.
        check_passages(&"A sentence that goes on. ".repeat(3 * SECTION_BYTES / 25));
        let word = "x".repeat(3 * SECTION_BYTES + 5);
        let passages = chunk(&word);
        assert_eq!(passages.concat(), word);
        assert!(passages.iter().all(|p| chars(p) <= CHUNK_MAX_CHARS));
    }

    fn check_passages(text: &str) {
        let passages = chunk(text);
        assert!(passages.len() > 10, "{}", passages.len());
        for passage in &passages {
            assert!(!passage.trim().is_empty());
            assert_eq!(passage.trim(), passage, "trimmed");
            assert!(chars(passage) <= CHUNK_MAX_CHARS, "{}", chars(passage));
        }
        // All but the last reach toward the target: no needless fragments.
        let short = passages[..passages.len() - 1]
            .iter()
            .filter(|p| chars(p) < CHUNK_TARGET_CHARS / 2)
            .count();
        assert_eq!(short, 0, "{passages:#?}");
        // In order, and together they are the text: only whitespace between them is dropped.
        let mut rest = text;
        for passage in &passages {
            let at = rest.find(passage.as_str()).expect("passage in order");
            assert!(
                rest[..at].trim().is_empty(),
                "text skipped before {passage:?}"
            );
            rest = &rest[at + passage.len()..];
        }
        assert!(rest.trim().is_empty());
        let joined: String = passages.concat().split_whitespace().collect();
        let original: String = text.split_whitespace().collect();
        assert_eq!(joined, original);
    }

    #[test]
    fn passages_end_at_sentences_or_paragraphs() {
        let passages = chunk(&long_text());
        for passage in &passages {
            assert!(passage.starts_with("Paragraph "), "{passage:?}");
            assert!(passage.ends_with('.'), "{passage:?}");
        }
    }

    #[test]
    fn chunking_is_deterministic() {
        let text = long_text();
        assert_eq!(chunk(&text), chunk(&text));
    }

    #[test]
    fn short_and_empty_texts() {
        assert_eq!(chunk("One short paragraph."), vec!["One short paragraph."]);
        assert!(chunk("").is_empty());
        assert!(chunk(" \n\n\t ").is_empty());
    }

    #[test]
    fn text_without_boundaries_is_still_bounded() {
        let word = "x".repeat(3 * CHUNK_MAX_CHARS + 17);
        let passages = chunk(&word);
        assert_eq!(passages.concat(), word);
        assert!(
            passages
                .iter()
                .all(|p| chars(p) <= CHUNK_MAX_CHARS && !p.is_empty())
        );
        // Multi-byte characters are counted as characters.
        let accents = "é".repeat(2 * CHUNK_MAX_CHARS);
        let passages = chunk(&accents);
        assert_eq!(passages.concat(), accents);
        assert!(passages.len() >= 2);
        assert!(passages.iter().all(|p| chars(p) <= CHUNK_MAX_CHARS));
        assert!(
            passages.iter().any(|p| p.len() > CHUNK_MAX_CHARS),
            "counted in bytes"
        );
    }
}
