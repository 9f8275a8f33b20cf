//! Sweeps the contract for endpoint coverage: each operation is called by a test, or pinned.
//!
//! As omicron's endpoint coverage check: every operationId of `openapi.yaml` is called through
//! the generated client (`.<operation_id>(`) by at least one conformance test, or it is pinned
//! in `conformance/uncovered-operations.txt`. The check is exact both ways, so the list only
//! shrinks: an operation pinned there that a test now calls fails too, until it leaves the list.
//!
//! Calls are found in the sources of this test binary (every `.rs` file under
//! `tests/conformance/`, comment lines skipped). `.{id}(` matches a generated method, which
//! takes no arguments, and the hand-written `document_create(&bot_id, upload)`. The plain-HTTP
//! sweeps (`unimplemented`, `inputs`, `unauthenticated`) send every operation, but check none's
//! own behaviour: they do not count, so an operation that answers 501 is uncovered as well.

use botwire_conformance::spec;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const UNCOVERED_FILE: &str = "conformance/uncovered-operations.txt";

/// Every `.rs` file under `dir`, recursively, sorted.
fn rust_sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The operations the conformance tests call through the generated client.
fn called_through_the_client() -> BTreeSet<String> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance"));
    let sources = rust_sources(dir);
    assert!(
        sources.iter().any(|p| p.ends_with("chat/send/mod.rs")),
        "the sweep reads the module folders: {sources:?}"
    );
    let code: String = sources
        .iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).expect("a test source");
            text.lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .map(|line| format!("{line}\n"))
                .collect::<Vec<_>>()
        })
        .collect();
    spec::operations()
        .into_iter()
        .map(|op| op.id)
        .filter(|id| code.contains(&format!(".{id}(")))
        .collect()
}

#[test]
fn every_operation_is_called_through_the_client_or_pinned_as_uncovered() {
    let called = called_through_the_client();
    let pinned = spec::uncovered();
    let mut wrong = Vec::new();
    for op in spec::operations() {
        match (called.contains(&op.id), pinned.contains(&op.id)) {
            (false, false) => wrong.push(format!(
                "{}: no conformance test calls it through the generated client (test it, or \
                 pin it in {UNCOVERED_FILE})",
                op.id
            )),
            (true, true) => wrong.push(format!(
                "{}: a conformance test calls it now: remove it from {UNCOVERED_FILE}",
                op.id
            )),
            _ => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{UNCOVERED_FILE} is not exact:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_uncovered_list_is_sorted_unique_and_names_real_operations() {
    let listed = spec::pinned(spec::UNCOVERED_LIST);
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        listed, sorted,
        "keep {UNCOVERED_FILE} sorted and free of duplicates"
    );
    let known: BTreeSet<String> = spec::operations().into_iter().map(|op| op.id).collect();
    for id in listed {
        assert!(known.contains(id), "{id} is listed but is not an operation");
    }
    assert!(
        spec::UNCOVERED_LIST.starts_with("# "),
        "{UNCOVERED_FILE} starts with a comment saying what it is"
    );
}
