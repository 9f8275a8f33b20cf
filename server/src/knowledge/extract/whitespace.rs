//! Whitespace normalisation: the one form every extracted text and FAQ pair is stored in.

/// Lines trimmed, runs of whitespace within a line collapsed to one space, blank lines
/// collapsed to one (a paragraph break), control and zero-width characters dropped; a form
/// feed (a PDF's page break) is a paragraph break.
pub(super) fn normalize(text: &str) -> String {
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
pub(super) fn single_line(text: &str) -> String {
    collapse_spaces(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::extract::{extract, text_of};
    use botwire_api::types::DocumentKind;

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
    fn normalize_keeps_paragraphs_and_drops_the_rest() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \n\n \t"), "");
        assert_eq!(
            normalize("a\rb\r\n\r\nc\u{2029}d\u{2028}e\x07"),
            "a\nb\n\nc\n\nd\ne"
        );
    }
}
