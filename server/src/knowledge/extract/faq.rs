//! FAQ files: question-and-answer pairs from JSON objects or a CSV's two columns.

use serde_json::Value;

use super::whitespace::{normalize, single_line};
use super::{ExtractError, FaqPair, MAX_FAQ_PAIRS};

/// The keys under which an FAQ JSON object may hold its array of pairs.
const FAQ_JSON_ARRAY_KEYS: [&str; 3] = ["faqs", "items", "data"];

/// The array of an FAQ JSON document, if the value has that shape (an array whose first item
/// is an object with a `question` or `answer` key, at the top or under `faqs`/`items`/`data`).
/// An empty array at those places counts, so that it is answered "no pairs".
pub(super) fn faq_json_items(value: &Value) -> Option<&[Value]> {
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

pub(super) fn faq_json(items: &[Value]) -> Result<Vec<FaqPair>, ExtractError> {
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
pub(super) fn csv_header_has_faq_columns(text: &str) -> bool {
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
pub(super) fn faq_csv(text: &str) -> Result<Vec<FaqPair>, ExtractError> {
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
mod tests {
    use crate::knowledge::extract::{ExtractError, Extracted, FaqPair, MAX_FAQ_PAIRS, extract};
    use botwire_api::types::DocumentKind;

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
}
