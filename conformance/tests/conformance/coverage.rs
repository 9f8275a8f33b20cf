//! Endpoint coverage: every operation of the contract is either pinned as not implemented
//! (and then swept for its 501 by `unimplemented`) or called by conformance tests of its own
//! through the generated client (`.<operation_id>(`).

use botwire_conformance::spec;

#[test]
fn every_operation_is_pinned_or_has_conformance_tests() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance");
    let sources: String = std::fs::read_dir(dir)
        .expect("the conformance test folder")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| std::fs::read_to_string(path).expect("a test source"))
        .collect();
    let unimplemented = spec::unimplemented();
    let uncovered: Vec<String> = spec::operations()
        .into_iter()
        .map(|op| op.id)
        // `.{id}(`: generated methods take no arguments; the hand-written
        // `document_create(&bot_id, upload)` does.
        .filter(|id| !unimplemented.contains(id) && !sources.contains(&format!(".{id}(")))
        .collect();
    assert!(
        uncovered.is_empty(),
        "operations neither in unimplemented-operations.txt nor called by a conformance test: {uncovered:?}"
    );
}
