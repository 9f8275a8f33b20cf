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

use botwire_api::types::DocumentKind;
use serde_json::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The largest upload read, as the contract's 10 MB (`config::REQUEST_BODY_MAX_BYTES`).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The longest text kept from a file, in characters: any plain-text upload fits; a PDF or
/// DOCX whose text is longer than the largest text file is refused.
pub const MAX_TEXT_CHARS: usize = 10 * 1024 * 1024;
/// The most question-and-answer pairs read from one FAQ file.
pub const MAX_FAQ_PAIRS: usize = 10_000;

/// A DOCX whose directory declares more than this (per entry, in total, entries) is refused
/// before it is inflated.
const MAX_ZIP_ENTRY_BYTES: u64 = 64 * 1024 * 1024;
const MAX_ZIP_TOTAL_BYTES: u64 = 128 * 1024 * 1024;
const MAX_ZIP_ENTRIES: usize = 10_000;

/// The width HTML is rendered at: wide enough that a paragraph stays on one line.
const HTML_WIDTH: usize = 2_000;
/// HTML nesting elements deeper than this is refused: parsing and rendering take time
/// quadratic in the depth (20 000 nested `<div>`s take seconds), and no page needs it.
pub const MAX_HTML_DEPTH: usize = 512;

/// The keys under which an FAQ JSON object may hold its array of pairs.
const FAQ_JSON_ARRAY_KEYS: [&str; 3] = ["faqs", "items", "data"];

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

// ---------------------------------------------------------------------------------------------
// What the name and the declared content type say.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pdf,
    Docx,
    Html,
    Markdown,
    Text,
    Csv,
    Json,
}

/// The client's hints: a format they name, else an extension or a (non-text) content type
/// naming none we read, each kept (sanitised) for the error message.
#[derive(Debug, Default)]
struct Hint {
    format: Option<Format>,
    extension: Option<String>,
    mime: Option<String>,
}

impl Hint {
    fn of(filename: &str, content_type: Option<&str>) -> Hint {
        let extension = filename
            .rsplit_once('.')
            .map(|(_, ext)| ext.trim().to_ascii_lowercase())
            .filter(|ext| !ext.is_empty() && !ext.contains(['/', '\\']));
        let mime = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|ct| ct.trim().to_ascii_lowercase())
            .filter(|ct| !ct.is_empty() && ct != "application/octet-stream");

        let by_extension = extension.as_deref().and_then(|ext| match ext {
            "pdf" => Some(Format::Pdf),
            "docx" => Some(Format::Docx),
            "html" | "htm" | "xhtml" => Some(Format::Html),
            "md" | "markdown" | "mdown" | "mkd" => Some(Format::Markdown),
            "txt" | "text" => Some(Format::Text),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        });
        let by_mime = mime.as_deref().and_then(|ct| match ct {
            "application/pdf" => Some(Format::Pdf),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
                Some(Format::Docx)
            }
            "text/html" | "application/xhtml+xml" => Some(Format::Html),
            "text/markdown" | "text/x-markdown" => Some(Format::Markdown),
            "text/plain" => Some(Format::Text),
            "text/csv" | "application/csv" | "text/comma-separated-values" => Some(Format::Csv),
            "application/json" | "text/json" => Some(Format::Json),
            _ => None,
        });
        let format = by_extension.or(by_mime);
        if format.is_some() {
            return Hint {
                format,
                ..Hint::default()
            };
        }
        Hint {
            format: None,
            extension: extension
                .filter(|ext| ext.len() <= 16 && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
                .map(|ext| format!(".{ext}")),
            // Any other text/* is read as text.
            mime: mime.filter(|ct| {
                ct.len() <= 100
                    && !ct.starts_with("text/")
                    && ct
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/.+-_".contains(&b))
            }),
        }
    }

    /// The client says this is text of some kind: undecodable bytes are "not text" rather
    /// than "unsupported".
    fn textual(&self) -> bool {
        matches!(
            self.format,
            Some(Format::Html | Format::Markdown | Format::Text | Format::Csv | Format::Json)
        )
    }

    /// JSON that is not FAQ JSON is refused only when nothing says it is another format.
    fn json_or_unknown(&self) -> bool {
        matches!(self.format, Some(Format::Json) | None)
    }

    /// "unsupported file type: <extension or content type, else the description>".
    fn unsupported(&self, description: &str) -> ExtractError {
        ExtractError::Unsupported {
            what: self
                .extension
                .clone()
                .or_else(|| self.mime.clone())
                .unwrap_or_else(|| description.to_owned()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sniffing.

/// `%PDF-` at the start (past whitespace); anywhere in the first 1024 bytes (as readers
/// accept) only when the client also says PDF, so that a text about PDFs stays text.
fn is_pdf(bytes: &[u8], hint: &Hint) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    if bytes[start..].starts_with(b"%PDF-") {
        return true;
    }
    let head = &bytes[..bytes.len().min(1024)];
    hint.format == Some(Format::Pdf) && head.windows(5).any(|w| w == b"%PDF-")
}

/// Formats recognised by their magic bytes that are not read (named in the error).
fn known_binary(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 8] = [
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "a legacy Office document",
        ),
        (b"{\\rtf", "an RTF document"),
        (b"\x89PNG", "an image"),
        (b"\xFF\xD8\xFF", "an image"),
        (b"GIF8", "an image"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"7z\xBC\xAF", "a 7z archive"),
        (b"Rar!", "a RAR archive"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, what)| *what)
}

/// UTF-8 (a byte order mark dropped), or UTF-16 with a byte order mark; `None` for anything
/// else, or for "text" with NULs or many control characters (binary).
fn decode_text(bytes: &[u8]) -> Option<String> {
    let text = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        std::str::from_utf8(rest).ok()?.to_owned()
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        utf16(rest, u16::from_le_bytes)?
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        utf16(rest, u16::from_be_bytes)?
    } else {
        std::str::from_utf8(bytes).ok()?.to_owned()
    };
    let controls = text
        .chars()
        .filter(|&c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        .count();
    if text.contains('\0') || controls * 100 > text.len() {
        return None;
    }
    Some(text)
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| unit([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// The first tag, past an XML declaration, comments and whitespace, is a doctype or `<html`.
fn starts_as_html_document(text: &str) -> bool {
    let head = lowercase_head(skip_preamble(text));
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// The first tag is one an HTML page or fragment starts with.
fn starts_with_html_tag(text: &str) -> bool {
    const TAGS: [&str; 27] = [
        "head", "body", "meta", "title", "link", "style", "script", "div", "p", "span", "a", "h1",
        "h2", "h3", "h4", "h5", "h6", "section", "article", "main", "header", "footer", "nav",
        "table", "ul", "ol", "br",
    ];
    let text = skip_preamble(text);
    let Some(rest) = text.strip_prefix('<') else {
        return false;
    };
    let name: String = rest
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let after = rest[name.len()..].chars().next();
    TAGS.contains(&name.as_str())
        && matches!(after, Some('>' | '/') | Some(' ' | '\t' | '\n' | '\r'))
}

/// Past leading whitespace, an `<?xml ...?>` declaration and `<!-- -->` comments.
fn skip_preamble(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if text.starts_with("<?") {
            match text.find("?>") {
                Some(end) => text = &text[end + 2..],
                None => return text,
            }
        } else if text.starts_with("<!--") {
            match text.find("-->") {
                Some(end) => text = &text[end + 3..],
                None => return text,
            }
        } else {
            return text;
        }
    }
}

fn lowercase_head(text: &str) -> String {
    text.chars()
        .take(32)
        .collect::<String>()
        .to_ascii_lowercase()
}

// ---------------------------------------------------------------------------------------------
// Normalising whitespace.

/// Lines trimmed, runs of whitespace within a line collapsed to one space, blank lines
/// collapsed to one (a paragraph break), control and zero-width characters dropped; a form
/// feed (a PDF's page break) is a paragraph break.
pub(crate) fn normalize(text: &str) -> String {
    fn flush(line: &mut String, out: &mut String, blank: &mut bool) {
        let collapsed = collapse_spaces(line);
        line.clear();
        if collapsed.is_empty() {
            *blank = true;
            return;
        }
        if !out.is_empty() {
            out.push_str(if *blank { "\n\n" } else { "\n" });
        }
        out.push_str(&collapsed);
        *blank = false;
    }
    let mut out = String::with_capacity(text.len());
    let mut blank_since_last = false;
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                flush(&mut line, &mut out, &mut blank_since_last);
            }
            '\n' | '\u{0b}' | '\u{85}' | '\u{2028}' => {
                flush(&mut line, &mut out, &mut blank_since_last)
            }
            '\x0c' | '\u{2029}' => {
                flush(&mut line, &mut out, &mut blank_since_last);
                blank_since_last = true;
            }
            _ => line.push(c),
        }
    }
    flush(&mut line, &mut out, &mut blank_since_last);
    out
}

/// One line: words separated by single spaces; control, zero-width and soft-hyphen
/// characters dropped.
fn collapse_spaces(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut space = false;
    for c in line.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else if c.is_control() || matches!(c, '\u{feff}' | '\u{200b}' | '\u{ad}') {
            continue;
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// One line, for a question.
fn single_line(text: &str) -> String {
    collapse_spaces(text)
}

// ---------------------------------------------------------------------------------------------
// PDF.

fn pdf_text(bytes: &[u8]) -> Result<String, ExtractError> {
    if !pdf_inflates_within_bounds(bytes) {
        return Err(ExtractError::CorruptPdf);
    }
    guarded(|| pdf_extract::extract_text_from_mem(bytes))
        .ok_or(ExtractError::CorruptPdf)?
        .map_err(|_| ExtractError::CorruptPdf)
}

/// Runs a parser that may panic on hostile input; a panic is `None`.
fn guarded<T>(parse: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(parse)).ok()
}

// ---------------------------------------------------------------------------------------------
// DOCX.

/// A ZIP entry, from the central directory.
struct ZipEntry<'a> {
    name: &'a [u8],
    method: u16,
    uncompressed: u64,
}

/// The central directory's entries; `None` if it cannot be found or read (a truncated or
/// damaged archive, or ZIP64, which a DOCX within the upload limit never needs).
fn zip_entries(bytes: &[u8]) -> Option<Vec<ZipEntry<'_>>> {
    const EOCD: &[u8] = b"PK\x05\x06";
    const CDH: &[u8] = b"PK\x01\x02";
    let u16_at = |at: usize| -> Option<u16> {
        Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let last = bytes.len().checked_sub(22)?;
    let first = last.saturating_sub(0xFFFF);
    let eocd = (first..=last)
        .rev()
        .find(|&at| &bytes[at..at + 4] == EOCD)?;
    let count = u16_at(eocd + 10)?;
    let offset = u32_at(eocd + 16)?;
    if count == 0xFFFF || offset == 0xFFFF_FFFF {
        return None;
    }
    let mut entries = Vec::with_capacity(usize::from(count).min(MAX_ZIP_ENTRIES));
    let mut at = usize::try_from(offset).ok()?;
    for _ in 0..count {
        if bytes.get(at..at + 4)? != CDH {
            return None;
        }
        let method = u16_at(at + 10)?;
        let uncompressed = u32_at(at + 24)?;
        let name_len = usize::from(u16_at(at + 28)?);
        let extra_len = usize::from(u16_at(at + 30)?);
        let comment_len = usize::from(u16_at(at + 32)?);
        let name = bytes.get(at + 46..at + 46 + name_len)?;
        entries.push(ZipEntry {
            name,
            method,
            uncompressed: u64::from(uncompressed),
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(entries)
}

/// Whether a ZIP is a Word document: its directory, or (damaged) its bytes, name
/// `word/document.xml`.
fn zip_holds_docx(bytes: &[u8]) -> bool {
    const MAIN: &[u8] = b"word/document.xml";
    match zip_entries(bytes) {
        Some(entries) => entries.iter().any(|e| e.name == MAIN),
        None => bytes.windows(MAIN.len()).any(|w| w == MAIN),
    }
}

/// Whether every stream of a PDF inflates within the bounds of a DOCX's entries. lopdf
/// inflates streams (object streams as it loads, content streams as pdf-extract reads them)
/// with no limit; so every `stream ... endstream` of the raw file that is zlib or raw deflate
/// data is inflated here first, into nothing, stopping as soon as it passes its bound. Other
/// filters (LZW, run-length, images' DCT) expand a few times at most.
fn pdf_inflates_within_bounds(bytes: &[u8]) -> bool {
    let mut total = 0u64;
    let mut at = 0;
    while let Some(found) = find(&bytes[at..], b"stream") {
        let keyword = at + found;
        at = keyword + b"stream".len();
        if bytes[..keyword].ends_with(b"end") {
            continue;
        }
        let data = match &bytes[at..] {
            [b'\r', b'\n', ..] => at + 2,
            [b'\n' | b'\r', ..] => at + 1,
            _ => continue,
        };
        let end = find(&bytes[data..], b"endstream").map_or(bytes.len(), |e| data + e);
        let inflated = inflated_size(&bytes[data..end], MAX_ZIP_ENTRY_BYTES + 1);
        total += inflated;
        if inflated > MAX_ZIP_ENTRY_BYTES || total > MAX_ZIP_TOTAL_BYTES {
            return false;
        }
        at = end;
    }
    true
}

/// How many bytes `data` inflates to as zlib or else raw deflate data, counting no further
/// than `limit` (0 when it is neither).
fn inflated_size(data: &[u8], limit: u64) -> u64 {
    use std::io::Read;
    let count = |reader: &mut dyn Read| {
        let mut counted = 0u64;
        let mut buffer = [0u8; 64 * 1024];
        while counted < limit {
            match reader.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => counted += n as u64,
            }
        }
        counted
    };
    let zlib = count(&mut flate2::read::ZlibDecoder::new(data));
    if zlib > 0 {
        return zlib;
    }
    count(&mut flate2::read::DeflateDecoder::new(data))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The archive is small enough to inflate: stored or deflated entries (the only methods
/// DOCX uses and docx-rs reads), with declared sizes within bounds. (Sizes are declared by
/// the file; docx-rs does not stop at them. See the module's notes.)
fn zip_within_bounds(entries: &[ZipEntry<'_>]) -> bool {
    entries.len() <= MAX_ZIP_ENTRIES
        && entries
            .iter()
            .all(|e| matches!(e.method, 0 | 8) && e.uncompressed <= MAX_ZIP_ENTRY_BYTES)
        && entries.iter().map(|e| e.uncompressed).sum::<u64>() <= MAX_ZIP_TOTAL_BYTES
}

/// Whether every entry really inflates within the bounds. The sizes an archive declares are
/// the file's word, and docx-rs does not stop at them: so each entry is inflated here first,
/// into nothing, stopping as soon as it passes its bound, before docx-rs reads the archive.
fn zip_inflates_within_bounds(bytes: &[u8]) -> bool {
    use std::io::Read;
    let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return false;
    };
    let mut total = 0u64;
    for index in 0..archive.len() {
        let Ok(entry) = archive.by_index(index) else {
            return false;
        };
        let mut limited = entry.take(MAX_ZIP_ENTRY_BYTES + 1);
        let Ok(inflated) = std::io::copy(&mut limited, &mut std::io::sink()) else {
            return false;
        };
        total += inflated;
        if inflated > MAX_ZIP_ENTRY_BYTES || total > MAX_ZIP_TOTAL_BYTES {
            return false;
        }
    }
    true
}

fn docx_text(bytes: &[u8]) -> Result<String, ExtractError> {
    let entries = zip_entries(bytes).ok_or(ExtractError::CorruptDocx)?;
    if !zip_within_bounds(&entries) || !zip_inflates_within_bounds(bytes) {
        return Err(ExtractError::CorruptDocx);
    }
    let docx = guarded(|| docx_rs::read_docx(bytes))
        .ok_or(ExtractError::CorruptDocx)?
        .map_err(|_| ExtractError::CorruptDocx)?;
    let mut out = String::new();
    for child in &docx.document.children {
        docx_block(child, &mut out);
    }
    Ok(out)
}

/// A body element: paragraphs and tables (content controls opened); tables of contents
/// (generated text), bookmarks and comments' anchors skipped.
fn docx_block(child: &docx_rs::DocumentChild, out: &mut String) {
    use docx_rs::DocumentChild;
    match child {
        DocumentChild::Paragraph(p) => docx_paragraph(p, out),
        DocumentChild::Table(t) => docx_table(t, out),
        DocumentChild::StructuredDataTag(sdt) => docx_sdt(sdt, out),
        _ => {}
    }
}

fn docx_paragraph(paragraph: &docx_rs::Paragraph, out: &mut String) {
    for child in &paragraph.children {
        docx_inline(child, out);
    }
    out.push_str("\n\n");
}

/// A paragraph's content: runs, insertions, hyperlinks' text, moved-to text; deletions and
/// moved-from text (tracked changes' old text) skipped.
fn docx_inline(child: &docx_rs::ParagraphChild, out: &mut String) {
    use docx_rs::{InsertChild, MoveToChild, ParagraphChild};
    match child {
        ParagraphChild::Run(run) => docx_run(run, out),
        ParagraphChild::Insert(insert) => {
            for c in &insert.children {
                if let InsertChild::Run(run) = c {
                    docx_run(run, out);
                }
            }
        }
        ParagraphChild::MoveTo(moved) => {
            for c in &moved.children {
                if let MoveToChild::Run(run) = c {
                    docx_run(run, out);
                }
            }
        }
        ParagraphChild::Hyperlink(link) => {
            for c in &link.children {
                docx_inline(c, out);
            }
        }
        ParagraphChild::StructuredDataTag(sdt) => docx_sdt(sdt, out),
        _ => {}
    }
}

fn docx_run(run: &docx_rs::Run, out: &mut String) {
    use docx_rs::RunChild;
    for c in &run.children {
        match c {
            RunChild::Text(t) => out.push_str(&t.text),
            RunChild::Tab(_) | RunChild::PTab(_) => out.push('\t'),
            RunChild::Break(_) | RunChild::CarriageReturn(_) => out.push('\n'),
            _ => {}
        }
    }
}

fn docx_sdt(sdt: &docx_rs::StructuredDataTag, out: &mut String) {
    use docx_rs::StructuredDataTagChild;
    for c in &sdt.children {
        match c {
            StructuredDataTagChild::Run(run) => docx_run(run, out),
            StructuredDataTagChild::Paragraph(p) => docx_paragraph(p, out),
            StructuredDataTagChild::Table(t) => docx_table(t, out),
            StructuredDataTagChild::StructuredDataTag(inner) => docx_sdt(inner, out),
            _ => {}
        }
    }
}

/// A row per line, its cells' text separated by " | ".
fn docx_table(table: &docx_rs::Table, out: &mut String) {
    use docx_rs::{TableCellContent, TableChild, TableRowChild};
    for TableChild::TableRow(row) in &table.rows {
        let mut cells = Vec::new();
        for TableRowChild::TableCell(cell) in &row.cells {
            let mut text = String::new();
            for content in &cell.children {
                match content {
                    TableCellContent::Paragraph(p) => docx_paragraph(p, &mut text),
                    TableCellContent::Table(t) => docx_table(t, &mut text),
                    TableCellContent::StructuredDataTag(sdt) => docx_sdt(sdt, &mut text),
                    TableCellContent::TableOfContents(_) => {}
                }
            }
            let text = single_line(&text);
            if !text.is_empty() {
                cells.push(text);
            }
        }
        if !cells.is_empty() {
            out.push_str(&cells.join(" | "));
            out.push('\n');
        }
    }
    out.push('\n');
}

// ---------------------------------------------------------------------------------------------
// HTML and Markdown.

/// The text a reader sees: `<head>`, scripts and styles dropped; no decoration (heading and
/// bullet prefixes, emphasis markers, link brackets or footnotes); images by their alt text.
fn html_text(html: &str) -> Result<String, ExtractError> {
    if html_depth(html) > MAX_HTML_DEPTH {
        return Err(ExtractError::HtmlTooDeep {
            limit: MAX_HTML_DEPTH,
        });
    }
    guarded(|| {
        html2text::config::with_decorator(html2text::render::TrivialDecorator::new())
            .no_table_borders()
            .string_from_read(html.as_bytes(), HTML_WIDTH)
    })
    .ok_or(ExtractError::CorruptHtml)?
    .map_err(|_| ExtractError::CorruptHtml)
}

/// How deep the elements of an HTML document nest, estimated in one linear pass over its
/// tags: void elements, elements whose end tag may be left out (`<p>`, `<li>`, `<td>`, ...),
/// formatting elements (which the parser's active-formatting list bounds), comments and the
/// content of raw-text elements (`<script>`, `<style>`) do not count; nor do self-closing
/// tags inside `<svg>` and `<math>` (elsewhere HTML ignores the slash: `<div/>` opens a
/// `div`). Close tags pop one level, whatever their name.
fn html_depth(html: &str) -> usize {
    const UNCOUNTED: [&str; 51] = [
        // Void.
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "keygen", "basefont", "bgsound", "frame", "image",
        // Optional end tags.
        "html", "head", "body", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th",
        "thead", "tbody", "tfoot", "colgroup", "rb", "rt", "rtc", "rp", // Formatting.
        "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strong", "u",
    ];
    const RAW_TEXT: [&str; 7] = [
        "script", "style", "textarea", "title", "xmp", "noembed", "noframes",
    ];
    let html = html.to_ascii_lowercase();
    let (mut depth, mut deepest, mut at) = (0usize, 0usize, 0usize);
    // Inside how many <svg> or <math> elements.
    let mut foreign = 0usize;
    while let Some(open) = html[at..].find('<') {
        at += open + 1;
        let rest = &html[at..];
        if rest.starts_with("!--") {
            match rest.find("-->") {
                Some(end) => at += end + 3,
                None => break,
            }
            continue;
        }
        let closing = rest.starts_with('/');
        let name_at = usize::from(closing);
        let name_len = rest[name_at..]
            .bytes()
            .take_while(u8::is_ascii_alphanumeric)
            .count();
        if name_len == 0 {
            continue;
        }
        let name = &rest[name_at..name_at + name_len];
        let Some(end) = rest.find('>') else {
            break;
        };
        let self_closing = foreign > 0 && rest[..end].ends_with('/');
        at += end + 1;
        if name == "svg" || name == "math" {
            if closing {
                foreign = foreign.saturating_sub(1);
            } else if !rest[..end].ends_with('/') {
                foreign += 1;
            }
        }
        if !closing && RAW_TEXT.contains(&name) {
            match html[at..].find(&format!("</{name}")) {
                Some(close) => at += close,
                None => break,
            }
            continue;
        }
        if self_closing || UNCOUNTED.contains(&name) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

/// Markdown, lightly: headings' `#`, block quotes' `>`, bullets, fences, rules and table
/// separators dropped; emphasis and code markers removed; links and images become their text;
/// reference definitions dropped. Everything else is kept as written.
fn markdown_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        let mut line = line.trim();
        // Block quotes, possibly nested.
        while let Some(rest) = line.strip_prefix('>') {
            line = rest.trim_start();
        }
        if is_markdown_rule(line) || line.starts_with("```") || line.starts_with("~~~") {
            out.push('\n');
            continue;
        }
        if is_table_separator(line) || is_reference_definition(line) {
            continue;
        }
        let heading = line.trim_start_matches('#');
        if heading.len() < line.len()
            && line.len() - heading.len() <= 6
            && (heading.is_empty() || heading.starts_with(' '))
        {
            // A heading is a paragraph of its own.
            let title = heading.trim().trim_end_matches('#').trim_end();
            out.push('\n');
            out.push_str(&markdown_inline(title));
            out.push_str("\n\n");
            continue;
        }
        for bullet in ["- ", "* ", "+ "] {
            if let Some(rest) = line.strip_prefix(bullet) {
                line = rest.trim_start();
                break;
            }
        }
        if let Some(rest) = line
            .strip_prefix("[ ] ")
            .or_else(|| line.strip_prefix("[x] "))
        {
            line = rest;
        }
        if line.starts_with('|') && line.ends_with('|') && line.len() > 1 {
            line = line[1..line.len() - 1].trim();
        }
        out.push_str(&markdown_inline(line));
        out.push('\n');
    }
    out
}

/// `---`, `***`, `___`, `===` (setext underlines too): a paragraph break.
fn is_markdown_rule(line: &str) -> bool {
    let mut marks = line.chars().filter(|c| !c.is_whitespace());
    let Some(first) = marks.next() else {
        return false;
    };
    matches!(first, '-' | '*' | '_' | '=') && {
        let rest = marks.collect::<Vec<_>>();
        rest.len() >= 2 && rest.iter().all(|&c| c == first)
    }
}

/// A table's header separator (`|---|:--:|`): dropped.
fn is_table_separator(line: &str) -> bool {
    line.contains('-')
        && line.contains('|')
        && line
            .chars()
            .all(|c| matches!(c, '|' | '-' | ':') || c.is_whitespace())
}

/// `[label]: https://...`
fn is_reference_definition(line: &str) -> bool {
    line.starts_with('[')
        && line
            .find("]:")
            .is_some_and(|end| end > 1 && !line[1..end].contains(']'))
}

/// Links and images -> their text; autolinks -> their address; emphasis, strike-through and
/// code markers removed (an `_` or `*` inside a word, as in `snake_case`, is kept).
///
/// Linear in the line's length, whatever it holds: the searches for a closing `]`, `)` or
/// `>` resume where the previous one stopped.
fn markdown_inline(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut close_bracket = NextOf::new(&chars, |c| c == ']');
    let mut close_paren = NextOf::new(&chars, |c| c == ')');
    let mut close_ref = NextOf::new(&chars, |c| c == ']');
    let mut close_angle = NextOf::new(&chars, |c| c == '>');
    let mut space = NextOf::new(&chars, char::is_whitespace);
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // [text](url), [text][ref], ![alt](url)
        let open = match c {
            '!' if chars.get(i + 1) == Some(&'[') => Some(i + 1),
            '[' => Some(i),
            _ => None,
        };
        if let Some(open) = open
            && let Some(close) = close_bracket.at(open + 1)
        {
            let end = match chars.get(close + 1) {
                Some('(') => close_paren.at(close + 2),
                Some('[') => close_ref.at(close + 2),
                _ => None,
            };
            if let Some(end) = end {
                // The text holds no `]`, so no link: this recursion is one level deep.
                let text: String = chars[open + 1..close].iter().collect();
                out.push_str(&markdown_inline(&text));
                i = end + 1;
                continue;
            }
        }
        // <https://...>, <someone@example.com>
        if c == '<'
            && let Some(end) = close_angle.at(i + 1)
            && space.at(i + 1).is_none_or(|s| s > end)
        {
            let inner: String = chars[i + 1..end].iter().collect();
            if inner.starts_with("http://") || inner.starts_with("https://") || inner.contains('@')
            {
                out.push_str(&inner);
                i = end + 1;
                continue;
            }
        }
        match c {
            '`' => {}
            '~' if chars.get(i + 1) == Some(&'~') => i += 1,
            '*' | '_' => {
                let run = chars[i..].iter().take_while(|&&x| x == c).count();
                let before = i.checked_sub(1).map(|b| chars[b]);
                let after = chars.get(i + run).copied();
                let word = |x: Option<char>| x.is_some_and(char::is_alphanumeric);
                // Inside a word (snake_case, 2*3) or between spaces (2 * 3): literal.
                if word(before) == word(after) {
                    out.extend(std::iter::repeat_n(c, run));
                }
                i += run - 1;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// The next position, at or after a given one, of a character matching a predicate, for
/// positions asked in increasing order: each search resumes where the last one stopped.
struct NextOf<'a> {
    chars: &'a [char],
    matches: fn(char) -> bool,
    /// No match in `from..found`; `found` matches, or is `chars.len()` (none). `usize::MAX`
    /// before the first search.
    from: usize,
    found: usize,
}

impl<'a> NextOf<'a> {
    fn new(chars: &'a [char], matches: fn(char) -> bool) -> Self {
        NextOf {
            chars,
            matches,
            from: usize::MAX,
            found: usize::MAX,
        }
    }

    fn at(&mut self, at: usize) -> Option<usize> {
        if at < self.from || at > self.found {
            let rest = self.chars.get(at..).unwrap_or_default();
            self.from = at;
            self.found = at
                + rest
                    .iter()
                    .position(|&c| (self.matches)(c))
                    .unwrap_or(rest.len());
        }
        (self.found < self.chars.len()).then_some(self.found)
    }
}

// ---------------------------------------------------------------------------------------------
// FAQ files.

/// The array of an FAQ JSON document, if the value has that shape (an array whose first item
/// is an object with a `question` or `answer` key, at the top or under `faqs`/`items`/`data`).
/// An empty array at those places counts, so that it is answered "no pairs".
fn faq_json_items(value: &Value) -> Option<&[Value]> {
    let items = match value {
        Value::Array(items) => items,
        Value::Object(object) => object
            .iter()
            .find(|(key, value)| {
                FAQ_JSON_ARRAY_KEYS.contains(&key.to_ascii_lowercase().as_str()) && value.is_array()
            })
            .and_then(|(_, value)| value.as_array())?,
        _ => return None,
    };
    match items.first() {
        None => Some(items),
        Some(Value::Object(first)) => first
            .keys()
            .any(|k| k.eq_ignore_ascii_case("question") || k.eq_ignore_ascii_case("answer"))
            .then_some(items.as_slice()),
        Some(_) => None,
    }
}

fn faq_json(items: &[Value]) -> Result<Vec<FaqPair>, ExtractError> {
    if items.len() > MAX_FAQ_PAIRS {
        return Err(ExtractError::TooManyPairs {
            limit: MAX_FAQ_PAIRS,
        });
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let entry = || format!("item {}", index + 1);
            let Value::Object(object) = item else {
                return Err(ExtractError::InvalidFaq {
                    entry: entry(),
                    problem: "it is not a {\"question\", \"answer\"} object",
                });
            };
            let field = |name: &str| {
                object
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value)
            };
            let question = match field("question") {
                Some(Value::String(q)) => q,
                None | Some(Value::Null) => {
                    return Err(ExtractError::InvalidFaq {
                        entry: entry(),
                        problem: "it has no question",
                    });
                }
                Some(_) => {
                    return Err(ExtractError::InvalidFaq {
                        entry: entry(),
                        problem: "its question is not a string",
                    });
                }
            };
            let answer = match field("answer") {
                Some(Value::String(a)) => a,
                None | Some(Value::Null) => {
                    return Err(ExtractError::InvalidFaq {
                        entry: entry(),
                        problem: "it has no answer",
                    });
                }
                Some(_) => {
                    return Err(ExtractError::InvalidFaq {
                        entry: entry(),
                        problem: "its answer is not a string",
                    });
                }
            };
            faq_pair(question, answer).map_err(|problem| ExtractError::InvalidFaq {
                entry: entry(),
                problem,
            })
        })
        .collect()
}

/// Normalised, both non-empty.
fn faq_pair(question: &str, answer: &str) -> Result<FaqPair, &'static str> {
    let question = single_line(question);
    let answer = normalize(answer);
    match (question.is_empty(), answer.is_empty()) {
        (true, _) => Err("the question is empty"),
        (_, true) => Err("the answer is empty"),
        _ => Ok(FaqPair { question, answer }),
    }
}

/// The delimiters an FAQ CSV may use: the first whose header row names both columns wins
/// (spreadsheets in many locales export `;`).
const CSV_DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// The positions of the `question` and `answer` columns in a header row.
fn faq_columns(header: &csv::StringRecord) -> Option<(usize, usize)> {
    let position = |name: &str| {
        header.iter().position(|h| {
            h.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                .eq_ignore_ascii_case(name)
        })
    };
    Some((position("question")?, position("answer")?))
}

fn csv_reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes())
}

/// The first line is a CSV header with `question` and `answer` columns.
fn csv_header_has_faq_columns(text: &str) -> bool {
    let first_line = text.lines().next().unwrap_or_default();
    CSV_DELIMITERS.iter().any(|&delimiter| {
        csv_reader(first_line, delimiter)
            .records()
            .next()
            .and_then(Result::ok)
            .and_then(|header| faq_columns(&header))
            .is_some()
    })
}

/// A header row with `question` and `answer` columns (any case, any order; other columns
/// ignored); rows entirely blank skipped; a row with only one of the two is an error.
fn faq_csv(text: &str) -> Result<Vec<FaqPair>, ExtractError> {
    for delimiter in CSV_DELIMITERS {
        let mut reader = csv_reader(text, delimiter);
        let mut records = reader.records();
        let Some(Ok(header)) = records.next() else {
            continue;
        };
        let Some((question_at, answer_at)) = faq_columns(&header) else {
            continue;
        };
        let mut pairs = Vec::new();
        for record in records {
            let record = record.map_err(|error| ExtractError::InvalidCsv {
                line: error.position().map_or(0, csv::Position::line),
            })?;
            let question = record.get(question_at).unwrap_or_default();
            let answer = record.get(answer_at).unwrap_or_default();
            if question.trim().is_empty() && answer.trim().is_empty() {
                continue;
            }
            if pairs.len() == MAX_FAQ_PAIRS {
                return Err(ExtractError::TooManyPairs {
                    limit: MAX_FAQ_PAIRS,
                });
            }
            let line = record.position().map_or(0, csv::Position::line);
            pairs.push(
                faq_pair(question, answer).map_err(|problem| ExtractError::InvalidFaq {
                    entry: format!("row {line}"),
                    problem,
                })?,
            );
        }
        return Ok(pairs);
    }
    Err(ExtractError::NoFaqColumns)
}

#[cfg(test)]
mod bomb_tests {
    use super::*;

    /// A DOCX-shaped archive whose `word/document.xml` declares 1 KB but inflates to more
    /// than the entry bound.
    fn lying_docx() -> Vec<u8> {
        use std::io::Write;
        let mut buffer = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buffer);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("word/document.xml", options).unwrap();
            let block = vec![b'a'; 1 << 20];
            for _ in 0..=(MAX_ZIP_ENTRY_BYTES >> 20) {
                zip.write_all(&block).unwrap();
            }
            zip.finish().unwrap();
        }
        let mut bytes = buffer.into_inner();
        // Rewrite the declared uncompressed size (local header and central directory) to 1 KB.
        let lie = 1024u32.to_le_bytes();
        let local = bytes.windows(4).position(|w| w == b"PK\x03\x04").unwrap();
        bytes[local + 22..local + 26].copy_from_slice(&lie);
        let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[central + 24..central + 28].copy_from_slice(&lie);
        bytes
    }

    #[test]
    fn a_docx_that_inflates_past_its_declared_size_is_refused() {
        let bomb = lying_docx();
        assert!(
            bomb.len() < MAX_FILE_BYTES,
            "the bomb itself is small: {}",
            bomb.len()
        );
        let entries = zip_entries(&bomb).unwrap();
        assert!(
            zip_within_bounds(&entries),
            "its declared sizes look harmless"
        );
        assert!(!zip_inflates_within_bounds(&bomb));
        assert_eq!(docx_text(&bomb).unwrap_err(), ExtractError::CorruptDocx);
    }

    /// A PDF with one FlateDecode stream of `size` zeros (`%PDF-` and a stream are all the
    /// bound looks at).
    fn pdf_with_stream(size: u64) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![0u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            encoder.write_all(&block[..n]).unwrap();
            left -= n as u64;
        }
        let data = encoder.finish().unwrap();
        let mut pdf = format!(
            "%PDF-1.5\n1 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\r\n",
            data.len()
        )
        .into_bytes();
        pdf.extend_from_slice(&data);
        pdf.extend_from_slice(b"\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
        pdf
    }

    #[test]
    fn a_pdf_stream_that_inflates_past_the_bound_is_refused() {
        let small = pdf_with_stream(1 << 20);
        assert!(pdf_inflates_within_bounds(&small));
        let bomb = pdf_with_stream(MAX_ZIP_ENTRY_BYTES + (1 << 20));
        assert!(
            bomb.len() < MAX_FILE_BYTES / 10,
            "the bomb itself is small: {}",
            bomb.len()
        );
        assert!(!pdf_inflates_within_bounds(&bomb));
        assert_eq!(pdf_text(&bomb).unwrap_err(), ExtractError::CorruptPdf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use docx_rs::{
        Delete, Docx, Hyperlink, HyperlinkType, Paragraph, Run, Table, TableCell, TableRow,
    };

    // -- Fixtures, built here ---------------------------------------------------------------

    /// A one-page PDF, written by hand: Helvetica (a standard font, so no font file), one
    /// line of text per `lines`, the cross-reference table's offsets computed.
    fn pdf(lines: &[&str], font: &str) -> Vec<u8> {
        let mut content = String::from("BT /F1 12 Tf 72 720 Td 16 TL\n");
        for line in lines {
            let escaped = line
                .replace('\\', "\\\\")
                .replace('(', "\\(")
                .replace(')', "\\)");
            content.push_str(&format!("({escaped}) Tj T*\n"));
        }
        content.push_str("ET");
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
                .to_owned(),
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            ),
            font.to_owned(),
        ];
        let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::new();
        for (i, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    const HELVETICA: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

    /// A DOCX written by docx-rs: paragraphs, a hyperlink, a tracked deletion, a table.
    fn docx() -> Vec<u8> {
        let document = Docx::new()
            .add_paragraph(Paragraph::new().add_run(Run::new().add_text("Refund policy")))
            .add_paragraph(
                Paragraph::new()
                    .add_run(Run::new().add_text("Refunds are paid within "))
                    .add_run(Run::new().add_text("14 days").bold())
                    .add_run(Run::new().add_text(". See "))
                    .add_hyperlink(
                        Hyperlink::new("https://example.com/refunds", HyperlinkType::External)
                            .add_run(Run::new().add_text("the refunds page")),
                    )
                    .add_run(Run::new().add_text("."))
                    .add_delete(
                        Delete::new().add_run(Run::new().add_delete_text("Withdrawn sentence.")),
                    ),
            )
            .add_table(Table::new(vec![
                TableRow::new(vec![
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(Run::new().add_text("Plan"))),
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(Run::new().add_text("Days"))),
                ]),
                TableRow::new(vec![
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(Run::new().add_text("Basic"))),
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(Run::new().add_text("30"))),
                ]),
            ]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        document
            .build()
            .pack(&mut bytes)
            .expect("docx-rs packs a document");
        bytes.into_inner()
    }

    /// A ZIP of stored entries, written by hand (CRC-32 computed).
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        fn crc32(data: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &byte in data {
                crc ^= u32::from(byte);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        let mut out = Vec::new();
        let mut directory = Vec::new();
        for (name, data) in entries {
            let offset = u32::try_from(out.len()).unwrap();
            let size = u32::try_from(data.len()).unwrap();
            let name_len = u16::try_from(name.len()).unwrap();
            let crc = crc32(data);
            out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&name_len.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            directory
                .extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
            directory.extend_from_slice(&crc.to_le_bytes());
            directory.extend_from_slice(&size.to_le_bytes());
            directory.extend_from_slice(&size.to_le_bytes());
            directory.extend_from_slice(&name_len.to_le_bytes());
            directory.extend_from_slice(&[0; 12]);
            directory.extend_from_slice(&offset.to_le_bytes());
            directory.extend_from_slice(name.as_bytes());
        }
        let directory_at = u32::try_from(out.len()).unwrap();
        let count = u16::try_from(entries.len()).unwrap();
        out.extend_from_slice(&directory);
        out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&u32::try_from(directory.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&directory_at.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    fn text_of(result: Result<Extracted, ExtractError>, kind: DocumentKind) -> String {
        match result {
            Ok(Extracted::Text { kind: k, text }) if k == kind => text,
            other => panic!("expected {kind} text, got {other:?}"),
        }
    }

    fn pairs_of(result: Result<Extracted, ExtractError>, kind: DocumentKind) -> Vec<FaqPair> {
        match result {
            Ok(Extracted::Faq { kind: k, pairs }) if k == kind => pairs,
            other => panic!("expected {kind} pairs, got {other:?}"),
        }
    }

    fn pair(question: &str, answer: &str) -> FaqPair {
        FaqPair {
            question: question.to_owned(),
            answer: answer.to_owned(),
        }
    }

    // -- Documents ---------------------------------------------------------------------------

    #[test]
    fn reads_a_pdf() {
        let bytes = pdf(
            &["Refunds are paid within 14 days.", "Call (555) 0100."],
            HELVETICA,
        );
        let text = text_of(
            extract("policy.pdf", Some("application/pdf"), &bytes),
            DocumentKind::Pdf,
        );
        assert!(
            text.contains("Refunds are paid within 14 days."),
            "{text:?}"
        );
        assert!(text.contains("Call (555) 0100."), "{text:?}");
        // Detected by content, whatever the name says.
        let text = text_of(extract("upload.bin", None, &bytes), DocumentKind::Pdf);
        assert!(text.contains("Refunds"), "{text:?}");
    }

    #[test]
    fn a_truncated_or_damaged_pdf_is_refused() {
        let bytes = pdf(&["Refunds are paid within 14 days."], HELVETICA);
        for cut in [bytes.len() / 2, 40, 9] {
            assert_eq!(
                extract("policy.pdf", None, &bytes[..cut]),
                Err(ExtractError::CorruptPdf),
                "cut at {cut}"
            );
        }
        assert_eq!(
            extract("policy.pdf", None, b"%PDF-1.7\n\x00\x01\x02 not really"),
            Err(ExtractError::CorruptPdf)
        );
        // A name that says PDF on content that is not one.
        assert_eq!(
            extract("policy.pdf", None, b"Just some text."),
            Err(ExtractError::CorruptPdf)
        );
        // Text that mentions the header is text; junk before the header is read as PDF
        // when the name says PDF.
        let about = b"A PDF file starts with %PDF-1.7 and ends with %%EOF.";
        assert_eq!(
            extract("notes.txt", None, about).map(|e| e.kind()),
            Ok(DocumentKind::Text)
        );
        let mut prefixed = b"junk before the header\n".to_vec();
        prefixed.extend(pdf(&["Hello there."], HELVETICA));
        assert!(
            text_of(extract("x.pdf", None, &prefixed), DocumentKind::Pdf).contains("Hello there.")
        );
    }

    #[test]
    fn a_pdf_that_makes_the_parser_panic_is_refused() {
        // pdf-extract panics ("unexpected encoding") on an encoding name it does not know.
        let bytes = pdf(
            &["Hello"],
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /NoSuchEncoding >>",
        );
        assert_eq!(
            extract("x.pdf", None, &bytes),
            Err(ExtractError::CorruptPdf)
        );
    }

    #[test]
    fn a_pdf_without_text_has_no_text() {
        let bytes = pdf(&[], HELVETICA);
        assert_eq!(extract("scan.pdf", None, &bytes), Err(ExtractError::NoText));
    }

    #[test]
    fn reads_a_docx() {
        let bytes = docx();
        let text = text_of(extract("policy.docx", None, &bytes), DocumentKind::Docx);
        assert_eq!(
            text,
            "Refund policy\n\nRefunds are paid within 14 days. See the refunds page.\n\n\
             Plan | Days\nBasic | 30"
        );
        // By content, whatever the name.
        assert_eq!(
            extract("upload", None, &bytes).map(|e| e.kind()),
            Ok(DocumentKind::Docx)
        );
    }

    #[test]
    fn a_zip_that_is_not_a_docx_is_unsupported() {
        let bytes = zip(&[("hello.txt", b"hello"), ("data/x.xml", b"<x/>")]);
        assert_eq!(
            extract("archive.zip", None, &bytes),
            Err(ExtractError::Unsupported {
                what: ".zip".to_owned()
            })
        );
        let error = extract("archive", None, &bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unsupported file type: a ZIP archive that is not a DOCX document"
        );
        // Named .docx, still not one.
        assert!(matches!(
            extract("policy.docx", None, &bytes),
            Err(ExtractError::Unsupported { .. })
        ));
    }

    #[test]
    fn a_damaged_docx_is_refused() {
        let bytes = docx();
        // Truncated: the directory is gone, the main part's name is still there.
        assert_eq!(
            extract("policy.docx", None, &bytes[..bytes.len() * 2 / 3]),
            Err(ExtractError::CorruptDocx)
        );
        // A ZIP naming word/document.xml whose parts are not Word XML.
        let bytes = zip(&[
            ("[Content_Types].xml", b"not xml at all <<<"),
            ("word/document.xml", b"<w:document>"),
        ]);
        assert_eq!(
            extract("policy.docx", None, &bytes),
            Err(ExtractError::CorruptDocx)
        );
        // A name that says DOCX on content that is not a ZIP.
        assert_eq!(
            extract("policy.docx", None, b"plain words"),
            Err(ExtractError::CorruptDocx)
        );
    }

    #[test]
    fn a_docx_declaring_huge_entries_is_refused_before_inflating() {
        let mut bytes = zip(&[("word/document.xml", b"<w:document/>")]);
        // Patch the directory entry's declared uncompressed size to 4 GB.
        let at = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[at + 24..at + 28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            extract("big.docx", None, &bytes),
            Err(ExtractError::CorruptDocx)
        );
    }

    #[test]
    fn reads_html_without_scripts_styles_or_head() {
        let html = r#"<!DOCTYPE html>
<html><head><title>Head title</title><style>body { color: red; }</style>
<script>var secret = "token";</script></head>
<body>
  <h1>Opening   hours</h1>
  <p>We are open <b>9&ndash;17</b>, Monday to Friday. See <a href="/map">the map</a>.</p>
  <script>console.log("tracking")</script>
  <noscript>Enable JavaScript</noscript>
  <ul><li>Closed on holidays</li></ul>
  <style>.x { display: none }</style>
</body></html>"#;
        let text = text_of(
            extract("hours.html", Some("text/html"), html.as_bytes()),
            DocumentKind::Html,
        );
        for leaked in [
            "secret",
            "tracking",
            "color",
            "display",
            "Head title",
            "<",
            "{",
        ] {
            assert!(!text.contains(leaked), "{leaked:?} leaked into {text:?}");
        }
        assert!(text.contains("Opening hours"), "{text:?}");
        assert!(
            text.contains("We are open 9–17, Monday to Friday. See the map."),
            "{text:?}"
        );
        assert!(text.contains("Closed on holidays"), "{text:?}");
        // By content: a doctype under another name; a fragment with no name.
        assert_eq!(
            extract("hours.txt", None, html.as_bytes()).map(|e| e.kind()),
            Ok(DocumentKind::Html)
        );
        assert_eq!(
            extract("fragment", None, b"<p>Hello <i>there</i></p>").map(|e| e.kind()),
            Ok(DocumentKind::Html)
        );
    }

    #[test]
    fn html_that_nests_too_deeply_is_refused_at_once() {
        let nest = |open: &str, close: &str, depth: usize| {
            format!("{}deep{}", open.repeat(depth), close.repeat(depth))
        };
        let started = std::time::Instant::now();
        for html in [
            nest("<div>", "</div>", 20_000),
            nest("<ul><li>", "</ul>", 20_000),
        ] {
            assert_eq!(
                extract("deep.html", None, html.as_bytes()),
                Err(ExtractError::HtmlTooDeep {
                    limit: MAX_HTML_DEPTH
                })
            );
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // Deep but within bounds; or only seemingly deep (end tags left out, formatting
        // elements, tags inside scripts and comments).
        let html = nest("<section>", "</section>", MAX_HTML_DEPTH);
        assert_eq!(
            text_of(extract("a.html", None, html.as_bytes()), DocumentKind::Html),
            "deep"
        );
        let many = MAX_HTML_DEPTH * 4;
        for html in [
            format!("<ul>{}</ul>", "<li>item ".repeat(many)),
            "<p>paragraph ".repeat(many),
            nest("<b>", "</b>", many),
            format!("<p>x</p><script>{}</script>", "if (a<b) {} ".repeat(many)),
            format!("<p>x</p><!-- {} -->", "<div>".repeat(many)),
            format!("<p>x</p>{}", "<br><img src=x><input/>".repeat(many)),
            format!("<p>x</p><svg>{}</svg>", "<path d=\"M0 0\"/>".repeat(many)),
        ] {
            assert!(
                extract("a.html", None, html.as_bytes()).is_ok(),
                "{}",
                &html[..40]
            );
        }
        // HTML ignores the slash of a non-void element outside SVG and MathML: this nests.
        let html = format!("<p>x</p>{}", "<div/>".repeat(many));
        assert_eq!(
            extract("a.html", None, html.as_bytes()),
            Err(ExtractError::HtmlTooDeep {
                limit: MAX_HTML_DEPTH
            })
        );
    }

    #[test]
    fn reads_markdown_lightly() {
        let markdown = "# Shipping *policy*\n\n\
            We ship **worldwide** via [our partner](https://example.com \"title\").\n\
            See ![the map](map.png) or <https://example.com/faq>.\n\n\
            > Orders before `noon` ship the same day.\n\n\
            - Express: 1-2 days\n\
            * Standard: 3_5 days, 2 * 3 = 6, snake_case kept\n\n\
            | Zone | Price |\n|------|:-----:|\n| EU | 5 |\n\n\
            ---\n\n\
            ```\ncode stays\n```\n\n\
            [partner]: https://example.com\n\
            Heading two\n===========\n\
            ## Returns ##\nSee ~~old~~ new rules.";
        let text = text_of(
            extract("shipping.md", None, markdown.as_bytes()),
            DocumentKind::Markdown,
        );
        assert_eq!(
            text,
            "Shipping policy\n\n\
             We ship worldwide via our partner.\n\
             See the map or https://example.com/faq.\n\n\
             Orders before noon ship the same day.\n\n\
             Express: 1-2 days\n\
             Standard: 3_5 days, 2 * 3 = 6, snake_case kept\n\n\
             Zone | Price\nEU | 5\n\n\
             code stays\n\n\
             Heading two\n\n\
             Returns\n\n\
             See old new rules."
        );
    }

    #[test]
    fn markdown_with_html_blocks_stays_markdown() {
        let markdown = "<div align=\"center\">Logo</div>\n\n# Title\n\nBody.";
        let text = text_of(
            extract("README.md", None, markdown.as_bytes()),
            DocumentKind::Markdown,
        );
        assert!(text.contains("Title\n\nBody."), "{text:?}");
    }

    #[test]
    fn markdown_stripping_is_linear_on_hostile_lines() {
        for line in [
            "[".repeat(200_000),
            "<".repeat(200_000),
            "[a](".repeat(50_000),
            "*_".repeat(100_000),
        ] {
            let started = std::time::Instant::now();
            let _ = extract("x.md", None, line.as_bytes());
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "too slow"
            );
        }
    }

    #[test]
    fn reads_plain_text_and_normalises_whitespace() {
        let raw = "\u{feff}  Line   one\t\twith tabs  \r\nline two\r\n\r\n\r\n\n   \nPara\u{a0}two\x0cPage two\u{200b}\n";
        let text = text_of(
            extract("notes.txt", Some("text/plain"), raw.as_bytes()),
            DocumentKind::Text,
        );
        assert_eq!(text, "Line one with tabs\nline two\n\nPara two\n\nPage two");
        // No name at all, a name we do not know: text.
        assert_eq!(
            extract("", None, b"hello").map(|e| e.kind()),
            Ok(DocumentKind::Text)
        );
        assert_eq!(
            extract("server.log", None, b"hello").map(|e| e.kind()),
            Ok(DocumentKind::Text)
        );
        // UTF-16 with a byte order mark.
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("Grüße".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(
            text_of(extract("de.txt", None, &utf16), DocumentKind::Text),
            "Grüße"
        );
    }

    #[test]
    fn binary_or_non_utf8_text_is_refused() {
        let garbage: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let error = extract("notes.txt", Some("text/plain"), &garbage).unwrap_err();
        assert_eq!(error, ExtractError::NotText);
        assert!(error.to_string().contains("not valid UTF-8"), "{error}");
        // Latin-1 is not UTF-8.
        assert_eq!(
            extract("notes.txt", None, b"Gr\xfc\xdfe"),
            Err(ExtractError::NotText)
        );
        // Valid UTF-8 with NULs is binary.
        assert_eq!(
            extract("notes.txt", None, b"a\0b\0c"),
            Err(ExtractError::NotText)
        );
        // Binary without a textual name: unsupported, named by its extension or content.
        assert_eq!(
            extract("photo.jpg", Some("image/jpeg"), &garbage),
            Err(ExtractError::Unsupported {
                what: ".jpg".to_owned()
            })
        );
        assert_eq!(
            extract("upload", Some("image/png"), b"\x89PNG\r\n\x1a\nrest"),
            Err(ExtractError::Unsupported {
                what: "image/png".to_owned()
            })
        );
        assert_eq!(
            extract("old.doc", None, b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest")
                .unwrap_err()
                .to_string(),
            "unsupported file type: .doc"
        );
        assert_eq!(
            extract("upload", None, b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest")
                .unwrap_err()
                .to_string(),
            "unsupported file type: a legacy Office document"
        );
        // Text declared as another format.
        assert!(matches!(
            extract("logo.svg", Some("image/svg+xml"), b"<svg></svg>"),
            Err(ExtractError::Unsupported { .. })
        ));
    }

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

    // -- FAQ files ---------------------------------------------------------------------------

    #[test]
    fn reads_an_faq_csv() {
        let csv = "\u{feff}Category,ANSWER, Question ,Notes\n\
            billing,\"Within 14 days, by bank transfer.\",How fast are refunds?,x\n\
            ,,,\n\
            support,\"Say \"\"help\"\"\nin the chat.\",\"How do I reach you?\",\n\
            short,Yes.,Is there a trial?\n";
        let pairs = pairs_of(
            extract("faq.csv", Some("text/csv"), csv.as_bytes()),
            DocumentKind::FaqCsv,
        );
        assert_eq!(
            pairs,
            vec![
                pair("How fast are refunds?", "Within 14 days, by bank transfer."),
                pair("How do I reach you?", "Say \"help\"\nin the chat."),
                pair("Is there a trial?", "Yes."),
            ]
        );
        // Semicolons; and a CSV header under no name.
        let csv = "question;answer\nOpen on Sunday?;No.\n";
        assert_eq!(
            pairs_of(
                extract("faq.csv", None, csv.as_bytes()),
                DocumentKind::FaqCsv
            ),
            vec![pair("Open on Sunday?", "No.")]
        );
        assert_eq!(
            pairs_of(
                extract("upload", None, csv.as_bytes()),
                DocumentKind::FaqCsv
            ),
            vec![pair("Open on Sunday?", "No.")]
        );
    }

    #[test]
    fn a_csv_without_the_columns_or_pairs_is_refused() {
        let error = extract("faq.csv", None, b"q,a\nOpen?,No.\n").unwrap_err();
        assert_eq!(error, ExtractError::NoFaqColumns);
        assert!(
            error
                .to_string()
                .starts_with("the CSV has no question and answer columns")
        );
        assert_eq!(
            extract("faq.csv", None, b"question,answer\n,\n"),
            Err(ExtractError::NoPairs)
        );
        let error =
            extract("faq.csv", None, b"question,answer\nOpen?,No.\nClosed?,\n").unwrap_err();
        assert_eq!(
            error,
            ExtractError::InvalidFaq {
                entry: "row 3".to_owned(),
                problem: "the answer is empty"
            }
        );
        assert_eq!(
            error.to_string(),
            "row 3 of the FAQ file: the answer is empty"
        );
    }

    #[test]
    fn reads_an_faq_json_in_both_shapes() {
        let array = r#"[{"question": "Open  on Sunday?", "answer": "No.", "category": "hours"},
                        {"Question": "Parking?", "Answer": "Yes,\n\n free."}]"#;
        let expected = vec![
            pair("Open on Sunday?", "No."),
            pair("Parking?", "Yes,\n\nfree."),
        ];
        assert_eq!(
            pairs_of(
                extract("faq.json", None, array.as_bytes()),
                DocumentKind::FaqJson
            ),
            expected
        );
        for key in ["faqs", "items", "data"] {
            let object = format!(r#"{{"title": "x", "{key}": {array}}}"#);
            assert_eq!(
                pairs_of(
                    extract("faq.json", None, object.as_bytes()),
                    DocumentKind::FaqJson
                ),
                expected,
                "{key}"
            );
        }
        // By content under another name.
        assert_eq!(
            pairs_of(
                extract("faq.txt", None, array.as_bytes()),
                DocumentKind::FaqJson
            ),
            expected
        );
    }

    #[test]
    fn json_that_is_not_an_faq_is_refused() {
        assert_eq!(
            extract("faq.json", None, br#"{"a": 1}"#),
            Err(ExtractError::NotFaqJson)
        );
        assert_eq!(
            extract("faq.json", None, b"[1, 2]"),
            Err(ExtractError::NotFaqJson)
        );
        assert_eq!(extract("faq.json", None, b"[]"), Err(ExtractError::NoPairs));
        assert_eq!(
            extract("faq.json", None, br#"[{"question": "x"#),
            Err(ExtractError::InvalidJson {
                line: 1,
                column: 16
            })
        );
        assert_eq!(
            extract(
                "faq.json",
                None,
                br#"[{"question": "Q?", "answer": "A."}, {"question": "Q2?"}]"#
            ),
            Err(ExtractError::InvalidFaq {
                entry: "item 2".to_owned(),
                problem: "it has no answer"
            })
        );
        assert_eq!(
            extract("faq.json", None, br#"[{"question": "Q?", "answer": 3}]"#),
            Err(ExtractError::InvalidFaq {
                entry: "item 1".to_owned(),
                problem: "its answer is not a string"
            })
        );
        // JSON-looking text under a text name is text.
        assert_eq!(
            extract("notes.md", None, b"[1]").map(|e| e.kind()),
            Ok(DocumentKind::Markdown)
        );
    }

    #[test]
    fn faq_files_are_bounded() {
        let mut csv = String::from("question,answer\n");
        for i in 0..=MAX_FAQ_PAIRS {
            csv.push_str(&format!("Q{i}?,A{i}.\n"));
        }
        assert_eq!(
            extract("faq.csv", None, csv.as_bytes()),
            Err(ExtractError::TooManyPairs {
                limit: MAX_FAQ_PAIRS
            })
        );
        let json = format!(
            "[{}]",
            vec![r#"{"question":"q","answer":"a"}"#; MAX_FAQ_PAIRS + 1].join(",")
        );
        assert_eq!(
            extract("faq.json", None, json.as_bytes()),
            Err(ExtractError::TooManyPairs {
                limit: MAX_FAQ_PAIRS
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

    #[test]
    fn normalize_keeps_paragraphs_and_drops_the_rest() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \n\n \t"), "");
        assert_eq!(
            normalize("a\rb\r\n\r\nc\u{2029}d\u{2028}e\x07"),
            "a\nb\n\nc\n\nd\ne"
        );
    }
}
