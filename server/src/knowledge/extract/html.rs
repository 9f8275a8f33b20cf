//! HTML text, as html2text renders it, once the document is known not to nest too deeply.

use super::{ExtractError, MAX_HTML_DEPTH, guarded};

/// The width HTML is rendered at: wide enough that a paragraph stays on one line.
const HTML_WIDTH: usize = 2_000;

/// The text a reader sees: `<head>`, scripts and styles dropped; no decoration (heading and
/// bullet prefixes, emphasis markers, link brackets or footnotes); images by their alt text.
pub(super) fn html_text(html: &str) -> Result<String, ExtractError> {
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

#[cfg(test)]
mod tests {
    use crate::knowledge::extract::{ExtractError, MAX_HTML_DEPTH, extract, text_of};
    use botwire_api::types::DocumentKind;

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
}
