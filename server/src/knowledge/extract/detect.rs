//! What a file's name and declared content type say, and what its first bytes show.

use super::ExtractError;

// ---------------------------------------------------------------------------------------------
// What the name and the declared content type say.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
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
pub(super) struct Hint {
    pub(super) format: Option<Format>,
    extension: Option<String>,
    pub(super) mime: Option<String>,
}

impl Hint {
    pub(super) fn of(filename: &str, content_type: Option<&str>) -> Hint {
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
    pub(super) fn textual(&self) -> bool {
        matches!(
            self.format,
            Some(Format::Html | Format::Markdown | Format::Text | Format::Csv | Format::Json)
        )
    }

    /// JSON that is not FAQ JSON is refused only when nothing says it is another format.
    pub(super) fn json_or_unknown(&self) -> bool {
        matches!(self.format, Some(Format::Json) | None)
    }

    /// "unsupported file type: <extension or content type, else the description>".
    pub(super) fn unsupported(&self, description: &str) -> ExtractError {
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
pub(super) fn is_pdf(bytes: &[u8], hint: &Hint) -> bool {
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
pub(super) fn known_binary(bytes: &[u8]) -> Option<&'static str> {
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
pub(super) fn decode_text(bytes: &[u8]) -> Option<String> {
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
pub(super) fn starts_as_html_document(text: &str) -> bool {
    let head = lowercase_head(skip_preamble(text));
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// The first tag is one an HTML page or fragment starts with.
pub(super) fn starts_with_html_tag(text: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::extract::extract;

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
}
