//! An uploaded file -> its text, or its question-and-answer pairs.
//!
//! The kind of a file is decided from its content first (a PDF's `%PDF-` header, a ZIP that
//! holds `word/document.xml`, JSON, an HTML document) and from its name and declared content
//! type second (`.md`, `.txt`, `.csv`, `.json`, `.html`); see [`extract`].
//!
//! Every upload is hostile until read: the parsers run under `catch_unwind` (pdf-extract and
//! docx-rs panic on some malformed files), a ZIP's directory is checked before docx-rs
//! inflates anything, and results are bounded ([`MAX_TEXT_CHARS`], [`MAX_FAQ_PAIRS`]).
//! An error's message says what is wrong with the file and never quotes the file's content.
//!
//! docx-rs inflates ZIP entries without stopping at their declared sizes, and lopdf inflates
//! PDF streams without limit, so a file whose compressed parts expand a thousandfold (a
//! "bomb") could take gigabytes: both are inflated here first, into nothing, and refused past
//! 64 MiB a part or 128 MiB in all, before the parser sees them. A panic's message goes to the default panic hook (standard error),
//! never to the client. Extraction is CPU-bound (seconds for a 10 MB HTML file, unoptimised):
//! callers run it on a blocking thread.

mod bounds;
mod detect;
mod docx;
mod faq;
mod html;
mod markdown;
mod pdf;
mod whitespace;

use botwire_api::types::DocumentKind;
use serde_json::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};

use detect::{
    Format, Hint, decode_text, is_pdf, known_binary, starts_as_html_document, starts_with_html_tag,
};
use docx::{docx_text, zip_holds_docx};
use faq::{csv_header_has_faq_columns, faq_csv, faq_json, faq_json_items};
use html::html_text;
use markdown::markdown_text;
use pdf::pdf_text;
use whitespace::normalize;

/// The largest upload read, as the contract's 10 MB (`config::REQUEST_BODY_MAX_BYTES`).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The longest text kept from a file, in characters: any plain-text upload fits; a PDF or
/// DOCX whose text is longer than the largest text file is refused.
pub const MAX_TEXT_CHARS: usize = 10 * 1024 * 1024;
/// The most question-and-answer pairs read from one FAQ file.
pub const MAX_FAQ_PAIRS: usize = 10_000;
/// HTML nesting elements deeper than this is refused: parsing and rendering take time
/// quadratic in the depth (20 000 nested `<div>`s take seconds), and no page needs it.
pub const MAX_HTML_DEPTH: usize = 512;

/// One question and its answer, from an FAQ file (whitespace normalised, never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaqPair {
    pub question: String,
    pub answer: String,
}

/// What a file holds: text to split into passages, or question-and-answer pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted {
    /// Normalised text (lines trimmed, runs of spaces collapsed, paragraphs separated by one
    /// blank line), never empty. Kind: pdf, docx, html, markdown or text.
    Text { kind: DocumentKind, text: String },
    /// At least one pair. Kind: faq_csv or faq_json.
    Faq {
        kind: DocumentKind,
        pairs: Vec<FaqPair>,
    },
}

impl Extracted {
    /// The kind the file was read as (the `Document`'s `kind`).
    pub fn kind(&self) -> DocumentKind {
        match self {
            Extracted::Text { kind, .. } | Extracted::Faq { kind, .. } => *kind,
        }
    }
}

/// Why a file cannot be read. Every variant is the contract's 422 (the knowledge base is left
/// as it was), except [`ExtractError::TooLarge`], which is its 413. The messages are meant
/// for the client: they name the problem and never quote the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// `what` is the file's extension, its declared content type or a description of its
    /// content (never the content itself).
    #[error("unsupported file type: {what}")]
    Unsupported { what: String },
    #[error("not a PDF this server can read (it is damaged, encrypted or malformed)")]
    CorruptPdf,
    #[error("not a DOCX document this server can read (it is damaged or malformed)")]
    CorruptDocx,
    #[error("not an HTML document this server can read")]
    CorruptHtml,
    #[error("the HTML nests elements more than {limit} levels deep")]
    HtmlTooDeep { limit: usize },
    #[error("the file is not text: it is not valid UTF-8 (or UTF-16 with a byte order mark)")]
    NotText,
    #[error("the file has no text")]
    NoText,
    #[error("the file's text is longer than {limit} characters")]
    TooLong { limit: usize },
    #[error("the file is not valid JSON (line {line}, column {column})")]
    InvalidJson { line: usize, column: usize },
    #[error(
        "the JSON is not a list of question and answer pairs: expected an array of \
         {{\"question\": ..., \"answer\": ...}} objects, or an object with such an array under \
         \"faqs\", \"items\" or \"data\""
    )]
    NotFaqJson,
    #[error(
        "the CSV has no question and answer columns (a header row naming `question` and `answer`)"
    )]
    NoFaqColumns,
    #[error("the CSV could not be read (near line {line})")]
    InvalidCsv { line: u64 },
    /// `entry` is "row N" (a CSV line) or "item N" (a JSON array index, from 1).
    #[error("{entry} of the FAQ file: {problem}")]
    InvalidFaq {
        entry: String,
        problem: &'static str,
    },
    #[error("the file has no question and answer pairs")]
    NoPairs,
    #[error("the file has more than {limit} question and answer pairs")]
    TooManyPairs { limit: usize },
}

/// Reads an uploaded file: its name and declared content type (as the client sent them) and
/// its bytes.
///
/// Detection, content first:
/// 1. `%PDF-` at the start (or in the first 1024 bytes of a file named `.pdf`): PDF.
/// 2. A ZIP (`PK\x03\x04`): DOCX if it holds `word/document.xml`, otherwise unsupported.
/// 3. A name or content type that says PDF or DOCX, on content that is neither: corrupt.
/// 4. Otherwise the bytes must be text (UTF-8, or UTF-16 with a byte order mark).
/// 5. Text that parses as JSON holding `{question, answer}` objects: FAQ JSON, whatever the
///    name. Other JSON is refused, unless the name says Markdown, text, CSV or HTML.
/// 6. Text that starts as an HTML document (`<!doctype html`, `<html`): HTML; text that starts
///    with a common HTML tag: HTML, unless the name says Markdown.
/// 7. By the extension, then by the content type: `.md`/`.markdown` Markdown, `.csv` FAQ CSV
///    (a header row with `question` and `answer` columns), `.json` (refused above if not FAQ
///    JSON), `.html`/`.htm` HTML, `.txt` text.
/// 8. No or an unknown extension: FAQ CSV if the first line is such a header, else text,
///    unless the declared content type names another format (`image/png`: unsupported).
pub fn extract(
    filename: &str,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<Extracted, ExtractError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ExtractError::TooLarge {
            limit: MAX_FILE_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ExtractError::Empty);
    }
    let hint = Hint::of(filename, content_type);

    if is_pdf(bytes, &hint) {
        return text(DocumentKind::Pdf, pdf_text(bytes)?);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        if zip_holds_docx(bytes) {
            return text(DocumentKind::Docx, docx_text(bytes)?);
        }
        return Err(hint.unsupported("a ZIP archive that is not a DOCX document"));
    }
    match hint.format {
        Some(Format::Pdf) => return Err(ExtractError::CorruptPdf),
        Some(Format::Docx) => return Err(ExtractError::CorruptDocx),
        _ => {}
    }
    if let Some(what) = known_binary(bytes) {
        return Err(hint.unsupported(what));
    }
    let Some(decoded) = decode_text(bytes) else {
        return Err(if hint.textual() {
            ExtractError::NotText
        } else {
            hint.unsupported("binary content")
        });
    };
    let content = decoded.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if content.is_empty() {
        return Err(ExtractError::Empty);
    }

    if content.starts_with(['{', '[']) || hint.format == Some(Format::Json) {
        match serde_json::from_str::<Value>(content) {
            Ok(value) => match faq_json_items(&value) {
                Some(items) => return faq(DocumentKind::FaqJson, faq_json(items)?),
                None if hint.json_or_unknown() => return Err(ExtractError::NotFaqJson),
                None => {}
            },
            Err(error) if hint.format == Some(Format::Json) => {
                return Err(ExtractError::InvalidJson {
                    line: error.line(),
                    column: error.column(),
                });
            }
            Err(_) => {}
        }
    }

    if starts_as_html_document(content)
        || (hint.format != Some(Format::Markdown) && starts_with_html_tag(content))
    {
        return text(DocumentKind::Html, html_text(content)?);
    }

    match hint.format {
        Some(Format::Html) => text(DocumentKind::Html, html_text(content)?),
        Some(Format::Markdown) => text(DocumentKind::Markdown, markdown_text(content)),
        Some(Format::Csv) => faq(DocumentKind::FaqCsv, faq_csv(content)?),
        Some(Format::Text) => text(DocumentKind::Text, content.to_owned()),
        // Handled above; kept for exhaustiveness.
        Some(Format::Json) => Err(ExtractError::NotFaqJson),
        Some(Format::Pdf) => Err(ExtractError::CorruptPdf),
        Some(Format::Docx) => Err(ExtractError::CorruptDocx),
        // Text under another name (`.log`), unless the content type names another format.
        None if hint.mime.is_some() => Err(hint.unsupported("unknown")),
        None if csv_header_has_faq_columns(content) => faq(DocumentKind::FaqCsv, faq_csv(content)?),
        None => text(DocumentKind::Text, content.to_owned()),
    }
}

/// Normalised, non-empty, bounded text of the given kind.
fn text(kind: DocumentKind, raw: String) -> Result<Extracted, ExtractError> {
    let text = normalize(&raw);
    if text.is_empty() {
        return Err(ExtractError::NoText);
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ExtractError::TooLong {
            limit: MAX_TEXT_CHARS,
        });
    }
    Ok(Extracted::Text { kind, text })
}

/// At least one, at most [`MAX_FAQ_PAIRS`] pairs, bounded in total length.
fn faq(kind: DocumentKind, pairs: Vec<FaqPair>) -> Result<Extracted, ExtractError> {
    if pairs.is_empty() {
        return Err(ExtractError::NoPairs);
    }
    if pairs.len() > MAX_FAQ_PAIRS {
        return Err(ExtractError::TooManyPairs {
            limit: MAX_FAQ_PAIRS,
        });
    }
    let chars: usize = pairs
        .iter()
        .map(|p| p.question.chars().count() + p.answer.chars().count())
        .sum();
    if chars > MAX_TEXT_CHARS {
        return Err(ExtractError::TooLong {
            limit: MAX_TEXT_CHARS,
        });
    }
    Ok(Extracted::Faq { kind, pairs })
}

/// Runs a parser that may panic on hostile input; a panic is `None`.
fn guarded<T>(parse: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(parse)).ok()
}

/// The text of an extraction that must be text of `kind` (for the submodules' tests).
#[cfg(test)]
fn text_of(result: Result<Extracted, ExtractError>, kind: DocumentKind) -> String {
    match result {
        Ok(Extracted::Text { kind: k, text }) if k == kind => text,
        other => panic!("expected {kind} text, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_refused() {
        for bytes in [&b""[..], b"   \n\t ", b"\xEF\xBB\xBF", b"\xEF\xBB\xBF \n"] {
            assert_eq!(
                extract("empty.txt", None, bytes),
                Err(ExtractError::Empty),
                "{bytes:?}"
            );
        }
        assert_eq!(extract("empty.pdf", None, b""), Err(ExtractError::Empty));
        assert_eq!(
            extract("empty.html", None, b"<html><body> </body></html>"),
            Err(ExtractError::NoText)
        );
        assert_eq!(
            extract("empty.md", None, b"---\n\n# \n"),
            Err(ExtractError::NoText)
        );
    }

    #[test]
    fn an_oversize_file_is_refused() {
        let bytes = vec![b'a'; MAX_FILE_BYTES + 1];
        assert_eq!(
            extract("big.txt", None, &bytes),
            Err(ExtractError::TooLarge {
                limit: MAX_FILE_BYTES
            })
        );
    }

    #[test]
    fn error_messages_do_not_quote_the_file() {
        let secret = "SECRET-CONTENT-7731";
        let cases: Vec<(&str, String)> = vec![
            ("a.json", format!(r#"{{"{secret}": 1}}"#)),
            (
                "a.json",
                format!(r#"[{{"question": "{secret}", "answer": 1}}]"#),
            ),
            ("a.json", format!(r#"[{{"question": "{secret}""#)),
            ("a.csv", format!("{secret},{secret}\n")),
            ("a.csv", format!("question,answer\n{secret},\n")),
            ("a.pdf", format!("%PDF-1.4 {secret}")),
            ("a.docx", format!("PK\x03\x04word/document.xml{secret}")),
            ("a.txt", format!("{secret}\0")),
        ];
        for (name, content) in cases {
            let error = extract(name, None, content.as_bytes()).unwrap_err();
            assert!(!error.to_string().contains(secret), "{name}: {error}");
        }
        // Nor a hostile name.
        let error =
            extract("x.<script>alert(1)</script>", Some("image/<b>"), b"\x89PNG").unwrap_err();
        assert_eq!(error.to_string(), "unsupported file type: an image");
    }
}
