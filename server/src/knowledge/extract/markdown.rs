//! Markdown text, lightly: block and inline markup stripped in a linear pass, the rest kept.

/// Markdown, lightly: headings' `#`, block quotes' `>`, bullets, fences, rules and table
/// separators dropped; emphasis and code markers removed; links and images become their text;
/// reference definitions dropped. Everything else is kept as written.
pub(super) fn markdown_text(markdown: &str) -> String {
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

#[cfg(test)]
mod tests {
    use crate::knowledge::extract::{extract, text_of};
    use botwire_api::types::DocumentKind;

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
}
