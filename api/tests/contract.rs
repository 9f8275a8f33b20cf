//! The contract test: the OpenAPI document dropshot emits for the generated `BotwireApi` trait
//! must say what `openapi.yaml` says, operation by operation, after a normalising semantic
//! diff (see `contract/operations.rs` for what is compared and `contract/schema.rs` for the
//! schema normal form). Differences that dropshot, schemars or typify cannot avoid are
//! accepted only by the named, documented rules of `contract/rules.rs`; anything else fails,
//! listing every difference with the spec's and the emitted side.
//!
//! `CONTRACT_SHOW_ACCEPTED=1 cargo test -p botwire-api --test contract -- --nocapture` also
//! prints every difference a rule accepted, to audit the rules.

// An inline module, so that its files live in `tests/contract/` (a test crate's root looks
// for modules beside itself).
mod contract {
    pub mod diff;
    pub mod drift;
    pub mod operations;
    pub mod rules;
    pub mod schema;
}

use contract::schema::normal_form;
use contract::{drift, operations, rules};

use serde_json::{Value, json};
use std::path::Path;

/// `openapi.yaml` (OpenAPI 3.1) as JSON.
fn spec_document() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The OpenAPI 3.0.3 document dropshot emits for the generated API trait.
fn emitted_document() -> Value {
    let api = botwire_api::botwire_api_mod::stub_api_description()
        .unwrap_or_else(|e| panic!("the generated API does not build: {e}"));
    api.openapi("Botwire API", dropshot::semver::Version::new(0, 1, 0))
        .json()
        .unwrap_or_else(|e| panic!("dropshot's document is not JSON: {e}"))
}

#[test]
fn emitted_document_matches_the_contract() {
    let comparison = operations::compare(&spec_document(), &emitted_document());
    if std::env::var_os("CONTRACT_SHOW_ACCEPTED").is_some() {
        println!("{}", comparison.accepted_report());
    }
    assert!(comparison.differences.is_empty(), "{}", comparison.report());
}

#[test]
fn the_diff_reports_every_kind_of_drift() {
    let (spec, emitted) = (spec_document(), emitted_document());
    let baseline = operations::compare(&spec, &emitted).differences;
    let mut failures = Vec::new();
    for mutation in drift::MUTATIONS {
        let mut mutated = spec.clone();
        let expected = match (mutation.apply)(&mut mutated) {
            Ok(expected) => expected,
            Err(why) => {
                failures.push(format!("{}: cannot be applied: {why}", mutation.name));
                continue;
            }
        };
        let differences = operations::compare(&mutated, &emitted).differences;
        let new: Vec<_> = differences
            .iter()
            .filter(|d| !baseline.contains(d))
            .collect();
        let reported = new.iter().find(|d| {
            expected
                .iter()
                .all(|fragment| d.at.contains(fragment.as_str()))
        });
        if let Some(difference) = reported {
            println!("{} is reported as:\n  {difference}", mutation.name);
        } else {
            let new: Vec<String> = new.iter().map(|d| format!("    {d}")).collect();
            failures.push(format!(
                "{}: no new difference at a location containing {expected:?}; new differences:\n{}",
                mutation.name,
                if new.is_empty() {
                    "    (none)".to_string()
                } else {
                    new.join("\n")
                },
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "drift went unreported:\n{}",
        failures.join("\n")
    );
}

/// Every rule must accept at least one real difference, so that stale rules do not linger.
#[test]
fn every_normalisation_rule_is_needed() {
    let comparison = operations::compare(&spec_document(), &emitted_document());
    let applied = comparison.rules_applied();
    let unused: Vec<&str> = rules::RULES
        .iter()
        .filter(|rule| !applied.contains_key(rule.name))
        .map(|rule| rule.name)
        .collect();
    assert!(
        unused.is_empty(),
        "rules that accept no difference (remove them): {unused:?}"
    );
    let unlisted: Vec<&&str> = applied
        .keys()
        .filter(|name| !rules::RULES.iter().any(|rule| rule.name == **name))
        .collect();
    assert!(
        unlisted.is_empty(),
        "rules applied but missing from RULES: {unlisted:?}"
    );
}

/// Every spelling of "T or null" (3.1 type lists and null branches, 3.0 `nullable`, schemars'
/// `allOf` wrapper around a `$ref`) has the same normal form.
#[test]
fn nullability_spellings_share_one_normal_form() {
    let doc = json!({ "components": { "schemas": {
        "Kind": { "type": "string", "enum": ["b", "a"] }
    } } });
    let kind = json!({ "$ref": "#/components/schemas/Kind" });
    let spellings = [
        json!({ "type": ["string", "null"], "enum": ["a", "b", null] }),
        json!({ "type": "string", "enum": ["a", "b"], "nullable": true }),
        json!({ "anyOf": [kind, { "type": "null" }] }),
        json!({ "oneOf": [{ "type": "null" }, kind] }),
        json!({ "allOf": [kind], "nullable": true }),
    ];
    let expected = json!({ "type": "string", "enum": ["a", "b"], "nullable": true });
    for spelling in spellings {
        assert_eq!(
            normal_form(&doc, &spelling),
            expected,
            "normal form of {spelling}"
        );
    }
}

/// A schema that refers to itself is inlined once, then marked, instead of recursing forever.
#[test]
fn recursive_schemas_have_a_finite_normal_form() {
    let doc = json!({ "components": { "schemas": { "Node": {
        "type": "object",
        "properties": { "children": { "type": "array", "items": { "$ref": "#/components/schemas/Node" } } }
    } } } });
    let form = normal_form(&doc, &json!({ "$ref": "#/components/schemas/Node" }));
    assert_eq!(
        form.pointer("/properties/children/items"),
        Some(&json!({ "$recursive": "#/components/schemas/Node" })),
    );
}
