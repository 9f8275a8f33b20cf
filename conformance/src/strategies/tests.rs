//! The strategies checked against the server's own checker.

use super::*;
use proptest::strategy::ValueTree;

fn runner() -> TestRunner {
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

fn sample<T: fmt::Debug>(strategy: &BoxedStrategy<T>, runner: &mut TestRunner, n: usize) -> Vec<T> {
    (0..n)
        .map(|_| strategy.new_tree(runner).expect("a value").current())
        .collect()
}

/// The named schemas that are JSON request bodies.
fn request_schemas() -> Vec<String> {
    let mut names: Vec<String> = spec::operations()
        .iter()
        .filter_map(|op| op.json_body_schema().map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn valid_values_of_every_schema_pass_the_checker() {
    let mut runner = runner();
    let schemas = spec::DOCUMENT["components"]["schemas"]
        .as_object()
        .expect("schemas");
    for (name, schema) in schemas {
        for value in sample(&valid_for(schema), &mut runner, 16) {
            let found = violations(schema, &value);
            assert!(
                found.is_empty(),
                "a valid {name} breaks the schema: {value}: {found:?}"
            );
        }
    }
}

#[test]
fn invalid_values_break_exactly_the_one_rule_they_claim() {
    let mut runner = runner();
    for name in request_schemas() {
        let schema = spec::schema(&name);
        let strategy = invalid_for(schema, |_| true).expect("room for a violation");
        for (value, claimed) in sample(&strategy, &mut runner, 64) {
            let found = violations(schema, &value);
            assert_eq!(
                found
                    .iter()
                    .map(|v| (v.kind, v.path.as_str()))
                    .collect::<Vec<_>>(),
                vec![(claimed.kind, claimed.path.as_str())],
                "{name}: {value} claims {claimed} but breaks {found:?}"
            );
        }
    }
}

#[test]
fn every_violation_kind_has_room_in_some_request_schema() {
    let mut seen: Vec<ViolationKind> = request_schemas()
        .iter()
        .flat_map(|name| violation_kinds(spec::schema(name)))
        .collect();
    seen.sort();
    seen.dedup();
    // No request body has a date-time; the query parameters `from`/`to` do.
    let missing: Vec<_> = ViolationKind::ALL
        .iter()
        .filter(|k| !seen.contains(k) && **k != ViolationKind::NotADateTime)
        .collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
}

#[test]
fn there_is_no_room_where_the_pattern_fixes_the_length() {
    // `totp_code` is `^[0-9]{6}$` with minLength = maxLength = 6: a 7-character code breaks
    // two rules at once, so no TooLong/TooShort is offered there.
    let kinds = violation_kinds(&spec::schema("AccountTotpVerify")["properties"]["code"]);
    assert_eq!(
        kinds,
        vec![ViolationKind::WrongType, ViolationKind::PatternMismatch]
    );
}

/// The strategies judge values with the server's own checker (its unit tests are in
/// `botwire_api::contract`).
#[test]
fn the_checker_is_the_servers() {
    let mut runner = runner();
    for name in request_schemas() {
        let schema = spec::schema(&name);
        let strategy = invalid_for(schema, |_| true).expect("room for a violation");
        for (value, _) in sample(&strategy, &mut runner, 4) {
            assert_eq!(
                violations(schema, &value),
                contract::violations_of(&name, &value),
                "{name}: {value}"
            );
        }
    }
}
