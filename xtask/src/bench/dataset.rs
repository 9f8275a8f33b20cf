//! The FAQ data set the bot answers from, and the chat bodies made of its questions.

use super::SESSIONS;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::Path;

/// The data set the bot answers from, as pinned for the answer-quality test.
const FAQ_PACKAGE_DIR: &str = "zaragoza_construction_faq/data";

/// A data set's question-answer pair.
pub(super) struct Pair {
    pub(super) question: String,
    pub(super) answer: String,
}

/// Both languages of the data set (Swedish first, as the answer-quality test loads them).
pub(super) fn faq_pairs(venv: &Path) -> Result<Vec<Pair>> {
    let lib = venv.join("lib");
    let data = std::fs::read_dir(&lib)
        .with_context(|| format!("reading {}", lib.display()))?
        .filter_map(Result::ok)
        .map(|python| python.path().join("site-packages").join(FAQ_PACKAGE_DIR))
        .find(|data| data.join("faq.jsonl").is_file())
        .with_context(|| format!("no {FAQ_PACKAGE_DIR}/faq.jsonl under {}", lib.display()))?;
    let mut pairs = Vec::new();
    for file in ["faq.jsonl", "faq-en.jsonl"] {
        let path = data.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let row: Value = serde_json::from_str(line)
                .with_context(|| format!("{}: {line}", path.display()))?;
            let field = |name: &str| {
                row[name]
                    .as_str()
                    .map(str::to_string)
                    .with_context(|| format!("{}: no `{name}` in {line}", path.display()))
            };
            pairs.push(Pair {
                question: field("q")?,
                answer: field("a")?,
            });
        }
    }
    Ok(pairs)
}

/// One chat body per question of the data set, the sessions `<prefix>-0..SESSIONS` in turn.
pub(super) fn chat_bodies(pairs: &[Pair], bot: &str, prefix: &str) -> Vec<String> {
    pairs
        .iter()
        .enumerate()
        .map(|(k, pair)| {
            json!({
                "bot_id": bot,
                "session_id": format!("{prefix}-{}", k % SESSIONS),
                "message": pair.question,
            })
            .to_string()
        })
        .collect()
}
