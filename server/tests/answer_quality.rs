// Answer quality of the offline engine, measured on a real data set: PyPI's
// `zaragoza-construction-faq` (CC-BY-4.0; 503 question-answer pairs in Swedish and the same 503
// in English, 39 categories). `cargo xtask ci` installs it, pinned, into target/tools/venv
// (xtask/src/ci.rs, PYTHON_TOOLS); nothing is fetched here.
//
// Both languages go into one knowledge base (1006 FAQ entries) and every question is asked
// without naming its language (chosen among the knowledge base's, else the default), as a
// widget would send it:
// - hit@1 of each question -> its own answer (a hit on an entry of the same language whose
//   question has the same content words counts: the data set has duplicates);
// - hit@1 of shortened questions: every other content word (0th, 2nd, ...);
// - with half of the entries held out, how often a held-out question is still answered
//   confidently (wrongly, its answer is not there) at the contract's example threshold 0.35,
//   against how often a question whose answer is there is answered (rightly).
// Measured: hit@1 0.981 (questions) and 0.850 (shortened); with half held out, at 0.35, 0.992
// of the kept questions (0.903 shortened) answered confidently and rightly, 0.219 of the
// held-out ones answered confidently. The floors sit a little under (see the assertions); the
// numbers are printed (`cargo test -p botwire-server --test answer_quality -- --nocapture`).
//
// That measures recall of the data set's own wording. `answer_quality_on_paraphrases` asks, of
// the same 1006 entries and the same way, the hand-written questions of
// tests/quality/paraphrases.json (see tests/quality/README.md: other words, typos, context;
// split into `tune` and `heldout`, nothing is chosen on `heldout`) and reports per language and
// part: hit@1 (the reply at threshold 0 is the target's answer, an `also` pair's or one that
// `accepted_answers` accepts for the target); hit@3 (that, or the answer of one of the first
// three "did you mean" questions, `Answer::suggested_questions`, which the engine gives when
// asked at a threshold it never reaches: the questions of its nearest hits, best first, the
// top match's first); the share answered confidently at 0.35 and of those the share right;
// and of the unanswerable questions (off topic or near misses) the share answered confidently
// at 0.35, which is wrong. Measured, held out (tune in brackets): en hit@1 0.444 (0.426), hit@3
// 0.667 (0.611), answered 0.028 = 3 of 108 (0.102), all 3 right (0.909); sv hit@1 0.468
// (0.277), hit@3 0.638 (0.362), answered 0.043 = 2 of 47 (0.064), 1 of the 2 right (0.667);
// unanswerable answered 0.000 en, 0.000 sv, 0.000 off topic, 0.000 near misses (tune: 0.045,
// 0.000, 0.000, 0.050). These are today's baseline floors of the lexical engine, a little
// under the held-out figures (hit@1 en 0.41, sv 0.43; hit@3 en 0.63, sv 0.60; answered en
// 0.01, sv 0.02, one question fewer; right of answered, from 2 or 3 answers, is not asserted)
// and ceilings one question above (unanswerable answered: en 0.05, sv 0.07, each kind 0.06),
// to be raised when the semantic engine lands (issue 13 targets: held-out hit@1 en >= 0.70,
// sv >= 0.60, at most 10% of unanswerable questions answered).
//
// It also prints the calibration curve (per threshold: answered, right of answered,
// unanswerable answered, utility; tune and heldout) and checks that the tune part still
// chooses the threshold new bots start at (`DEFAULT_CONFIDENCE_THRESHOLD`). The curve and the
// survey of semantic models behind the targets are in docs/answer-quality.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use botwire_server::engine::offline::content_words;
use botwire_server::engine::{
    DEFAULT_CONFIDENCE_THRESHOLD, EngineSettings, EntryContent, KnowledgeEntry, KnowledgeIndex,
};

/// The data set's package, as pinned in xtask/src/ci.rs.
const PACKAGE: &str = "zaragoza-construction-faq";
const THRESHOLD: f64 = 0.35;

struct Pair {
    language: &'static str,
    id: String,
    question: String,
    answer: String,
}

impl Pair {
    fn key(&self) -> String {
        format!("{}:{}", self.language, self.id)
    }
}

/// The package's data folder inside target/tools/venv (or `BOTWIRE_FAQ_DATA`, a folder with
/// the package's `faq.jsonl` and `faq-en.jsonl`).
fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BOTWIRE_FAQ_DATA") {
        return PathBuf::from(dir);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the server crate is inside the workspace");
    let lib = root.join("target/tools/venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|pythons| {
        pythons
            .filter_map(Result::ok)
            .map(|python| {
                python
                    .path()
                    .join("site-packages/zaragoza_construction_faq/data")
            })
            .find(|data| data.join("faq.jsonl").is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "the answer-quality test needs the PyPI package {PACKAGE} (pinned in xtask/src/ci.rs), \
             and {} has no zaragoza_construction_faq/data/faq.jsonl. Run `cargo xtask lint-spec` \
             (or `cargo xtask ci`), which installs it into target/tools/venv",
            lib.display()
        )
    })
}

fn load(dir: &Path, file: &str, language: &'static str) -> Vec<Pair> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("{}: {error}: {line}", path.display()));
            let field = |name: &str| {
                row[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: no string `{name}` in {line}", path.display()))
                    .to_string()
            };
            Pair {
                language,
                id: field("id"),
                question: field("q"),
                answer: field("a"),
            }
        })
        .collect()
}

fn pairs() -> Vec<Pair> {
    let dir = data_dir();
    let mut pairs = load(&dir, "faq.jsonl", "sv");
    pairs.extend(load(&dir, "faq-en.jsonl", "en"));
    pairs
}

fn entries(pairs: &[&Pair]) -> Vec<KnowledgeEntry> {
    pairs
        .iter()
        .map(|pair| KnowledgeEntry {
            id: pair.key(),
            document_id: uuid::Uuid::from_u128(if pair.language == "sv" { 1 } else { 2 }),
            title: format!("Swedish Construction FAQ ({})", pair.language),
            content: EntryContent::Faq {
                question: pair.question.clone(),
                answer: pair.answer.clone(),
            },
        })
        .collect()
}

fn settings(confidence_threshold: f64) -> EngineSettings {
    EngineSettings {
        confidence_threshold,
        fallback_message: "FALLBACK".into(),
        default_language: "en".into(),
    }
}

/// Asks every query; the share whose reply is one of its accepted answers.
fn hit_at_1(index: &KnowledgeIndex, queries: &[(String, BTreeSet<&str>)]) -> f64 {
    let settings = settings(0.0);
    let hits = queries
        .iter()
        .filter(|(query, accepted)| {
            let answer = index.answer(query, None, &settings);
            accepted.contains(answer.reply.as_str())
        })
        .count();
    hits as f64 / queries.len() as f64
}

/// For each pair, the answers that count as a hit: its own and those of every pair of the same
/// language with the same question. "The same" is the same content words in the same order
/// ("Vad är startbesked?" and "Vad är ett startbesked?"; "What is the RUT deduction?" twice):
/// no word-based engine can tell such questions apart.
fn accepted_answers<'a>(pairs: &[&'a Pair]) -> Vec<BTreeSet<&'a str>> {
    let key = |pair: &Pair| (pair.language, content_words(&pair.question, pair.language));
    let mut by_question: BTreeMap<(&str, Vec<String>), BTreeSet<&str>> = BTreeMap::new();
    for pair in pairs {
        by_question
            .entry(key(pair))
            .or_default()
            .insert(pair.answer.as_str());
    }
    pairs
        .iter()
        .map(|pair| by_question[&key(pair)].clone())
        .collect()
}

fn shortened(pair: &Pair) -> String {
    let words = content_words(&pair.question, pair.language);
    words
        .iter()
        .step_by(2)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A question of the paraphrase set (tests/quality/paraphrases.json, see the README there):
/// answerable ones with their target `pair` (and `also`), unanswerable ones with their `kind`.
struct Paraphrase {
    language: String,
    part: String,
    text: String,
    /// The keys (`Pair::key`) of the pairs whose answer is right: the target, then `also`.
    /// Empty for an unanswerable question.
    pairs: Vec<String>,
    /// `off_topic` or `near_miss` for an unanswerable question; empty otherwise.
    kind: String,
}

/// The paraphrase set's answerable and unanswerable questions.
fn paraphrases() -> (Vec<Paraphrase>, Vec<Paraphrase>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/quality/paraphrases.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let set: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let list = |name: &str| -> Vec<Paraphrase> {
        let rows = set[name]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no array `{name}`", path.display()));
        rows.iter()
            .map(|row| {
                let field = |name: &str| row[name].as_str().unwrap_or_default().to_string();
                let language = field("lang");
                let mut pairs: Vec<String> = Vec::new();
                if let Some(pair) = row["pair"].as_str() {
                    pairs.push(format!("{language}:{pair}"));
                }
                for also in row["also"].as_array().into_iter().flatten() {
                    let also = also.as_str().unwrap_or_else(|| panic!("`also` in {row}"));
                    pairs.push(format!("{language}:{also}"));
                }
                let paraphrase = Paraphrase {
                    language,
                    part: field("part"),
                    text: field("text"),
                    pairs,
                    kind: field("kind"),
                };
                assert!(
                    ["en", "sv"].contains(&paraphrase.language.as_str())
                        && ["tune", "heldout"].contains(&paraphrase.part.as_str())
                        && !paraphrase.text.is_empty(),
                    "{}: a question needs `lang` (en, sv), `part` (tune, heldout) and `text`: \
                     {row}",
                    path.display()
                );
                paraphrase
            })
            .collect()
    };
    (list("questions"), list("unanswerable"))
}

/// A FAQ question as the engine tells its suggestions apart (trimmed, case ignored).
fn question_key(question: &str) -> String {
    question.trim().to_lowercase()
}

/// Asks every query; the share whose accepted answers include the top match (the reply at
/// threshold 0, as in [`hit_at_1`]) or the answer of one of the first three "did you mean"
/// questions. Those are `Answer::suggested_questions`, which the engine gives only when it falls
/// back: asked at a threshold no relevance reaches (relevance is at most 1), it always falls
/// back and suggests the questions of its nearest hits, best first, the top match's first.
/// `answers` maps each FAQ question (`question_key`) to the answers of its entries.
fn hit_at_3(
    index: &KnowledgeIndex,
    queries: &[(String, BTreeSet<&str>)],
    answers: &BTreeMap<String, BTreeSet<&str>>,
) -> f64 {
    let (top, fallback) = (settings(0.0), settings(f64::INFINITY));
    let hits = queries
        .iter()
        .filter(|(query, accepted)| {
            let best = index.answer(query, None, &top);
            let suggested = index.answer(query, None, &fallback).suggested_questions;
            accepted.contains(best.reply.as_str())
                || suggested.iter().take(3).any(|question| {
                    answers
                        .get(&question_key(question))
                        .is_some_and(|answers| !answers.is_disjoint(accepted))
                })
        })
        .count();
    hits as f64 / queries.len() as f64
}

/// `n` of `of` as a share (0 of none).
fn share(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// Asks every query at `THRESHOLD`: the share answered confidently, and of those the share
/// whose reply is one of its accepted answers (0 when none is answered).
fn answered_at_threshold(
    index: &KnowledgeIndex,
    queries: &[(String, BTreeSet<&str>)],
) -> (f64, f64) {
    let strict = settings(THRESHOLD);
    let (mut answered, mut right) = (0, 0);
    for (query, accepted) in queries {
        let answer = index.answer(query, None, &strict);
        if answer.confident {
            answered += 1;
            right += usize::from(accepted.contains(answer.reply.as_str()));
        }
    }
    (share(answered, queries.len()), share(right, answered))
}

/// The most unanswerable questions (a share) a chosen threshold may answer: the bound.
const MAX_UNANSWERABLE_ANSWERED: f64 = 0.10;
/// The thresholds of the calibration curve.
const CURVE: [f64; 9] = [0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50];

/// One threshold of the calibration curve.
struct CurvePoint {
    threshold: f64,
    /// Shares of the answerable questions: answered (relevance at or above the threshold),
    /// and of those the share whose reply is right.
    answered: f64,
    right_of_answered: f64,
    /// Share of the unanswerable questions answered (each one wrongly).
    unanswerable_answered: f64,
    /// (right answers - wrong answers - answered unanswerable questions) / all questions: a
    /// wrong answer costs what a right one gains, a fallback costs nothing.
    utility: f64,
}

impl std::fmt::Display for CurvePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.3} {:.3} {:.3} {:+.3}",
            self.answered, self.right_of_answered, self.unanswerable_answered, self.utility
        )
    }
}

/// The curve over `CURVE` from each question's (relevance, whether the top reply is right).
fn calibration_curve(answerable: &[(f64, bool)], unanswerable: &[(f64, bool)]) -> Vec<CurvePoint> {
    CURVE
        .iter()
        .map(|&threshold| {
            let answered: Vec<bool> = answerable
                .iter()
                .filter(|(relevance, _)| *relevance >= threshold)
                .map(|(_, right)| *right)
                .collect();
            let right = answered.iter().filter(|right| **right).count();
            let wrong = answered.len() - right;
            let outside = unanswerable
                .iter()
                .filter(|(relevance, _)| *relevance >= threshold)
                .count();
            CurvePoint {
                threshold,
                answered: share(answered.len(), answerable.len()),
                right_of_answered: share(right, answered.len()),
                unanswerable_answered: share(outside, unanswerable.len()),
                utility: (right as f64 - wrong as f64 - outside as f64)
                    / (answerable.len() + unanswerable.len()) as f64,
            }
        })
        .collect()
}

/// The threshold of best utility among those answering at most `MAX_UNANSWERABLE_ANSWERED` of
/// the unanswerable questions; of equal utilities (to 1e-9), the highest threshold.
fn chosen_threshold(curve: &[CurvePoint]) -> f64 {
    curve
        .iter()
        .filter(|point| point.unanswerable_answered <= MAX_UNANSWERABLE_ANSWERED)
        .fold(None::<&CurvePoint>, |best, point| match best {
            Some(best) if best.utility > point.utility + 1e-9 => Some(best),
            _ => Some(point),
        })
        .map_or(1.0, |point| point.threshold)
}

#[test]
fn answer_quality_on_zaragoza_construction_faq() {
    let pairs = pairs();
    let all: Vec<&Pair> = pairs.iter().collect();
    assert_eq!(all.len(), 1006, "503 pairs in each of Swedish and English");

    let started = std::time::Instant::now();
    let index = KnowledgeIndex::build(&entries(&all)).expect("building the index");
    let built = started.elapsed();

    let accepted = accepted_answers(&all);
    let full: Vec<(String, BTreeSet<&str>)> = all
        .iter()
        .zip(&accepted)
        .map(|(pair, accepted)| (pair.question.clone(), accepted.clone()))
        .collect();
    let short: Vec<(String, BTreeSet<&str>)> = all
        .iter()
        .zip(&accepted)
        .map(|(pair, accepted)| (shortened(pair), accepted.clone()))
        .collect();
    let started = std::time::Instant::now();
    let full_hits = hit_at_1(&index, &full);
    let asked = started.elapsed();
    let short_hits = hit_at_1(&index, &short);

    // Held out: index the even entries (in id order per language), ask the odd ones.
    let (kept, held_out): (Vec<&Pair>, Vec<&Pair>) = {
        let mut sorted = all.clone();
        sorted.sort_by_key(|pair| pair.key());
        let (kept, held): (Vec<_>, Vec<_>) =
            sorted.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        (
            kept.into_iter().map(|(_, p)| *p).collect(),
            held.into_iter().map(|(_, p)| *p).collect(),
        )
    };
    let half = KnowledgeIndex::build(&entries(&kept)).expect("building the half index");
    let strict = settings(THRESHOLD);
    let kept_accepted = accepted_answers(&kept);
    let rightly_confident = |shorten: bool| {
        kept.iter()
            .zip(&kept_accepted)
            .filter(|(pair, accepted)| {
                let query = if shorten {
                    shortened(pair)
                } else {
                    pair.question.clone()
                };
                let answer = half.answer(&query, None, &strict);
                answer.confident && accepted.contains(answer.reply.as_str())
            })
            .count() as f64
            / kept.len() as f64
    };
    let (rightly_confident, short_confident) = (rightly_confident(false), rightly_confident(true));
    let wrongly_confident = held_out
        .iter()
        .filter(|pair| half.answer(&pair.question, None, &strict).confident)
        .count() as f64
        / held_out.len() as f64;

    println!(
        "answer quality on {PACKAGE} ({} entries, sv+en): hit@1 question -> answer {:.3}, \
         shortened (every other content word) {:.3}; at threshold {THRESHOLD}, with half held \
         out: answered confidently and rightly {:.3} (shortened: {:.3}), held-out \
         questions answered confidently (wrongly) {:.3}. Build {built:.0?}, {} questions in \
         {asked:.0?} ({} build)",
        all.len(),
        full_hits,
        short_hits,
        rightly_confident,
        short_confident,
        wrongly_confident,
        full.len(),
        if cfg!(debug_assertions) {
            "unoptimised"
        } else {
            "release"
        },
    );
    // Measured: 0.981, 0.850, 0.992, 0.903 and 0.219.
    assert!(full_hits >= 0.97, "hit@1 question -> answer {full_hits:.3}");
    assert!(
        short_hits >= 0.83,
        "hit@1 shortened questions {short_hits:.3}"
    );
    assert!(
        rightly_confident >= 0.98,
        "confident and right {rightly_confident:.3}"
    );
    assert!(
        short_confident >= 0.88,
        "confident and right, shortened {short_confident:.3}"
    );
    assert!(
        wrongly_confident <= 0.25,
        "confident without the answer {wrongly_confident:.3}"
    );
}

#[test]
fn answer_quality_on_paraphrases() {
    let pairs = pairs();
    let all: Vec<&Pair> = pairs.iter().collect();
    assert_eq!(all.len(), 1006, "503 pairs in each of Swedish and English");
    let index = KnowledgeIndex::build(&entries(&all)).expect("building the index");

    // The answers that count for each pair (its own and its duplicates', see
    // `accepted_answers`), and those of each FAQ question, to score the suggestions.
    let accepted: BTreeMap<String, BTreeSet<&str>> = all
        .iter()
        .map(|pair| pair.key())
        .zip(accepted_answers(&all))
        .collect();
    let mut answers: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for pair in &all {
        answers
            .entry(question_key(&pair.question))
            .or_default()
            .insert(pair.answer.as_str());
    }

    let (questions, unanswerable) = paraphrases();
    let query = |question: &Paraphrase| -> (String, BTreeSet<&str>) {
        let mut right = BTreeSet::new();
        for key in &question.pairs {
            let answers = accepted.get(key).unwrap_or_else(|| {
                panic!(
                    "paraphrase `{}` names {key}, not in the data set",
                    question.text
                )
            });
            right.extend(answers.iter().copied());
        }
        (question.text.clone(), right)
    };
    let group = |list: &[Paraphrase], keep: &dyn Fn(&Paraphrase) -> bool| {
        list.iter()
            .filter(|q| keep(q))
            .map(query)
            .collect::<Vec<_>>()
    };

    println!(
        "answer quality on paraphrases of {PACKAGE} ({} entries, sv+en; language not given; \
         answered = confident at threshold {THRESHOLD})",
        all.len()
    );
    println!("  lang part       n  hit@1  hit@3  answered (n)  right of answered");
    // (language, part) -> (hit@1, hit@3, answered)
    let mut measured: BTreeMap<(&str, &str), (f64, f64, f64)> = BTreeMap::new();
    for language in ["en", "sv"] {
        for part in ["tune", "heldout"] {
            let queries = group(&questions, &|q| q.language == language && q.part == part);
            assert!(!queries.is_empty(), "no {language} {part} paraphrases");
            let hit1 = hit_at_1(&index, &queries);
            let hit3 = hit_at_3(&index, &queries, &answers);
            let (answered, right) = answered_at_threshold(&index, &queries);
            let n = queries.len();
            let count = (answered * n as f64).round();
            println!(
                "  {language}   {part:<7} {n:>4}  {hit1:.3}  {hit3:.3}  {answered:.3} ({count:>2})  {right:.3}"
            );
            measured.insert((language, part), (hit1, hit3, answered));
        }
    }
    println!("  unanswerable       n  answered (wrongly)");
    // (language or kind, part) -> share answered
    let mut wrong: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for name in ["en", "sv", "off_topic", "near_miss"] {
        for part in ["tune", "heldout"] {
            let queries = group(&unanswerable, &|q| {
                (q.language == name || q.kind == name) && q.part == part
            });
            assert!(
                !queries.is_empty(),
                "no {name} {part} unanswerable questions"
            );
            let (answered, _) = answered_at_threshold(&index, &queries);
            println!("  {name:<9} {part:<7} {:>4}  {answered:.3}", queries.len());
            wrong.insert((name, part), answered);
        }
    }

    // The calibration curve: each question asked once at threshold 0 (its relevance is the
    // best hit's score), then counted at each threshold. The threshold a new bot starts at is
    // chosen on the tune part alone (see `chosen_threshold`).
    let relevances = |list: &[(String, BTreeSet<&str>)]| -> Vec<(f64, bool)> {
        let top = settings(0.0);
        list.iter()
            .map(|(query, accepted)| {
                let answer = index.answer(query, None, &top);
                let relevance = answer.sources.first().map_or(0.0, |source| source.score);
                (relevance, accepted.contains(answer.reply.as_str()))
            })
            .collect()
    };
    println!(
        "  calibration (both languages): threshold -> answered, right of answered, \
         unanswerable answered, utility; tune | heldout"
    );
    let mut curves: BTreeMap<&str, Vec<CurvePoint>> = BTreeMap::new();
    for part in ["tune", "heldout"] {
        let answerable = relevances(&group(&questions, &|q| q.part == part));
        let outside = relevances(&group(&unanswerable, &|q| q.part == part));
        curves.insert(part, calibration_curve(&answerable, &outside));
    }
    for (tune, heldout) in curves["tune"].iter().zip(&curves["heldout"]) {
        println!("    {:.2}: {tune} | {heldout}", tune.threshold);
    }
    let chosen = chosen_threshold(&curves["tune"]);
    println!(
        "  chosen on tune (best utility with at most {MAX_UNANSWERABLE_ANSWERED} of the \
         unanswerable answered; ties to the higher threshold): {chosen:.2}"
    );
    assert!(
        (chosen - DEFAULT_CONFIDENCE_THRESHOLD).abs() < 1e-9,
        "the tune part's curve now chooses {chosen:.2}, new bots start at \
         {DEFAULT_CONFIDENCE_THRESHOLD}: re-choose the default (services::bots) and update \
         docs/answer-quality.md"
    );

    // Today's baseline of the lexical engine, set from the held-out figures (see the top of
    // the file): hit@1 and hit@3 0.03 under, answered one question under (right of answered,
    // from 2 or 3 answers, is not asserted).
    for (language, (hit1, hit3, answered)) in
        [("en", (0.41, 0.63, 0.01)), ("sv", (0.43, 0.60, 0.02))]
    {
        let got = measured[&(language, "heldout")];
        assert!(
            got.0 >= hit1,
            "{language} held-out hit@1 {:.3} < {hit1}",
            got.0
        );
        assert!(
            got.1 >= hit3,
            "{language} held-out hit@3 {:.3} < {hit3}",
            got.1
        );
        assert!(
            got.2 >= answered,
            "{language} held-out answered {:.3} < {answered}",
            got.2
        );
    }
    // One held-out unanswerable question more answered than today.
    for (name, ceiling) in [
        ("en", 0.05),
        ("sv", 0.07),
        ("off_topic", 0.06),
        ("near_miss", 0.06),
    ] {
        let got = wrong[&(name, "heldout")];
        assert!(
            got <= ceiling,
            "{name} held-out unanswerable answered {got:.3} > {ceiling}"
        );
    }
}

/// Build and answer times, printed, never asserted (a test build is unoptimised and CI
/// machines vary): `cargo test -p botwire-server --release --test answer_quality -- --ignored
/// --nocapture`.
#[test]
#[ignore = "a benchmark: run it with --release -- --ignored --nocapture"]
fn answer_timing() {
    use std::time::{Duration, Instant};
    let pairs = pairs();
    let all: Vec<&Pair> = pairs.iter().collect();
    let entries = entries(&all);
    let english: Vec<KnowledgeEntry> = entries
        .iter()
        .filter(|entry| entry.id.starts_with("en:"))
        .cloned()
        .collect();
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let builds = |entries: &[KnowledgeEntry]| {
        median(
            (0..7)
                .map(|_| {
                    let started = Instant::now();
                    let index = KnowledgeIndex::build(entries).expect("building");
                    let elapsed = started.elapsed();
                    drop(index);
                    elapsed
                })
                .collect(),
        )
    };
    println!(
        "build: {} English entries {:?}; {} entries, English and Swedish {:?} (medians of 7)",
        english.len(),
        builds(&english),
        entries.len(),
        builds(&entries)
    );
    let index = KnowledgeIndex::build(&entries).expect("building");
    for (name, language) in [("detected language", None), ("language given", Some("en"))] {
        let settings = settings(THRESHOLD);
        let mut times = Vec::new();
        for _ in 0..5 {
            for pair in &all {
                let language = language.map(|_| pair.language);
                let started = Instant::now();
                let answer = index.answer(&pair.question, language, &settings);
                times.push(started.elapsed());
                std::hint::black_box(answer);
            }
        }
        times.sort();
        let total: Duration = times.iter().sum();
        println!(
            "answer ({name}): {} questions, mean {:?}, median {:?}, p99 {:?}, max {:?}",
            times.len(),
            total / times.len() as u32,
            times[times.len() / 2],
            times[times.len() * 99 / 100],
            times[times.len() - 1]
        );
    }
}
