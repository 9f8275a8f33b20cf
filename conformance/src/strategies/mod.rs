//! Proptest strategies derived from the contract's schemas (read from [`spec::DOCUMENT`]), not
//! written per type.
//!
//! - [`valid`] / [`valid_for`]: values the contract accepts.
//! - [`invalid`] / [`invalid_for`]: a valid value with exactly one contract violation, and a
//!   [`Violation`] saying what was broken (`settings.theme.primary_color: does not match
//!   pattern ...`).
//! - [`violations`]: the server's own checker (`botwire_api::contract`, which `JsonBody` and
//!   `QueryParams` run on every input), here strict: a schema keyword it does not know is a
//!   panic. The strategies use it to keep only values that break exactly the one rule they
//!   claim to break (so a "too long" string for a field with a pattern that caps its length is
//!   simply not offered: the schema has no room for it), and the tests use it to check the
//!   strategies.
//!
//! Every schema keyword that constrains a value is either handled or refused with a panic
//! (see [`ASSERTION_KEYWORDS`]): a strategy never silently ignores a constraint.
//!
//! Values are kept small: strings are at most about 40 characters unless `minLength` demands
//! more (plus, sometimes, exactly `maxLength` when that is at most 256, to probe the bound in
//! characters rather than bytes), arrays at most 3 items over `minItems`, free-form objects at
//! most 4 keys.

mod invalid;
mod valid;

#[cfg(test)]
mod tests;

use crate::spec;
use botwire_api::contract::{
    self, Pattern, additional_schema, allows_null, enum_values, f64_keyword, properties, required,
    type_matches, types_of, usize_keyword,
};
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use proptest::strategy::Union;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Number, Value};
use std::fmt;

use invalid::*;
use valid::*;

pub use botwire_api::contract::{ASSERTION_KEYWORDS, Violation, ViolationKind};

/// Violations the server does NOT catch today, so [`invalid`] does not generate them.
///
/// Empty: every operation checks its JSON body and its query parameters against the
/// contract's schema when it parses them (`botwire_api::contract`, run by `JsonBody` and
/// `QueryParams` before the typed parse), so every kind of violation the strategies generate
/// is refused with 422 `validation_failed` naming the field. A kind goes here only if the
/// server cannot refuse it while parsing, with the reason; the conformance test
/// `cross_cutting::inputs::not_enforced_list_is_exact` fails once a listed kind is rejected
/// everywhere its sweep tries it, so the list cannot go stale.
pub const NOT_ENFORCED_BY_PARSING: &[ViolationKind] = &[];

/// Whether the server is expected to reject a violation of this kind today.
pub fn is_enforced(kind: ViolationKind) -> bool {
    !NOT_ENFORCED_BY_PARSING.contains(&kind)
}

/// Every way `value` breaks `schema` (the subset of JSON Schema 2020-12 the contract uses),
/// as the server checks it (`botwire_api::contract`). A value of the wrong type is reported
/// once, without looking inside it. Strict: panics on a keyword the checker does not know.
pub fn violations(schema: &Value, value: &Value) -> Vec<Violation> {
    checker(schema).violations(value)
}

/// `schema` compiled by the server's checker; panics on what the checker would ignore.
fn checker(schema: &Value) -> contract::Schema {
    let compiled = contract::Schema::new(schema);
    let ignored: Vec<&String> = compiled
        .unsupported()
        .iter()
        .chain(contract::unsupported())
        .collect();
    assert!(
        ignored.is_empty(),
        "strategies: the checker does not support {ignored:?}; teach api/src/contract/ \
         (and conformance/src/strategies/) about it: {schema}"
    );
    compiled
}

// ---------------------------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------------------------

/// A value of the named schema of `components/schemas` that the contract accepts.
pub fn valid(schema_name: &str) -> BoxedStrategy<Value> {
    valid_for(spec::schema(schema_name))
}

/// A value of the named schema with exactly one violation the server is expected to catch
/// today (every kind except [`NOT_ENFORCED_BY_PARSING`]), and what was broken.
///
/// Panics if the schema has no room for such a violation.
pub fn invalid(schema_name: &str) -> BoxedStrategy<(Value, String)> {
    invalid_for(spec::schema(schema_name), is_enforced)
        .unwrap_or_else(|| panic!("schema {schema_name} has no room for an enforced violation"))
        .prop_map(|(value, violation)| (value, violation.to_string()))
        .boxed()
}

/// A value of `schema` (a schema object, `$ref`s allowed) that the contract accepts.
pub fn valid_for(schema: &Value) -> BoxedStrategy<Value> {
    let schema = spec::resolve(schema);
    check_supported(schema);
    let non_null = valid_non_null(schema);
    if allows_null(schema) {
        prop_oneof![1 => Just(Value::Null), 3 => non_null].boxed()
    } else {
        non_null
    }
}

/// A value of `schema` with exactly one violation of a kind `allow`ed, or `None` if the
/// schema has no room for any such violation.
pub fn invalid_for(
    schema: &Value,
    allow: impl Fn(ViolationKind) -> bool,
) -> Option<BoxedStrategy<(Value, Violation)>> {
    let sites = sites(schema, Position::Top, &allow);
    (!sites.is_empty()).then(|| Union::new(sites.into_iter().map(|site| site.strategy)).boxed())
}

/// The kinds of violation `schema` has room for (anywhere inside it).
pub fn violation_kinds(schema: &Value) -> Vec<ViolationKind> {
    let mut kinds: Vec<ViolationKind> = sites(schema, Position::Top, &|_| true)
        .into_iter()
        .map(|site| site.kind)
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// The text of a valid value of a query (or header) `parameter` (a parameter object of the
/// contract, `$ref`s resolved).
pub fn valid_parameter_value(parameter: &Value) -> BoxedStrategy<String> {
    valid_for(&parameter["schema"])
        .prop_filter_map("a parameter value is a scalar", |value| query_text(&value))
        .boxed()
}

/// The text of a value of a query (or header) `parameter` with exactly one violation of a
/// kind `allow`ed (its path is the parameter's name), or `None` if there is no room for one.
/// A parameter value is text, so a "wrong type" is offered only for non-string parameters
/// (`limit=abc`, `handed_off=7`), and never `null`.
pub fn invalid_parameter_value(
    parameter: &Value,
    allow: impl Fn(ViolationKind) -> bool,
) -> Option<BoxedStrategy<(String, Violation)>> {
    let name = parameter["name"]
        .as_str()
        .expect("a parameter has a name")
        .to_string();
    let schema = &parameter["schema"];
    let textual = types_of(spec::resolve(schema)).contains(&"string");
    let allow = |kind| allow(kind) && !(textual && kind == ViolationKind::WrongType);
    let sites: Vec<_> = sites(schema, Position::OptionalProperty, &allow)
        .into_iter()
        .map(|site| {
            let name = name.clone();
            site.strategy
                .prop_filter_map(
                    "a parameter value is a scalar",
                    move |(value, violation)| {
                        query_text(&value).map(|text| (text, violation.under_key(&name)))
                    },
                )
                .boxed()
        })
        .collect();
    (!sites.is_empty()).then(|| Union::new(sites).boxed())
}

fn query_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading schemas (as the server's checker reads them: `botwire_api::contract`)
// ---------------------------------------------------------------------------------------------

fn check_supported(schema: &Value) {
    let problems = contract::unsupported_keywords(schema);
    assert!(
        problems.is_empty(),
        "strategies: {} not supported; teach api/src/contract/ (the checker) and \
         conformance/src/strategies/ about it: {schema}",
        problems.join(", ")
    );
}

/// The types a non-null value may have; inferred from the keywords when there is no `type`.
fn non_null_types(schema: &Value) -> Vec<&str> {
    let declared: Vec<&str> = types_of(schema)
        .into_iter()
        .filter(|t| *t != "null")
        .collect();
    if !declared.is_empty() || schema.get("type").is_some() {
        return declared;
    }
    if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() {
        vec!["object"]
    } else if schema.get("items").is_some() {
        vec!["array"]
    } else {
        Vec::new()
    }
}

fn json_f64(value: f64) -> Value {
    Value::Number(Number::from_f64(value).expect("a finite number"))
}
