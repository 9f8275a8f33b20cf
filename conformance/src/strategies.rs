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

pub use botwire_api::contract::{ASSERTION_KEYWORDS, Violation, ViolationKind};

/// Violations the server does NOT catch today, so [`invalid`] does not generate them.
///
/// Empty: every operation checks its JSON body and its query parameters against the
/// contract's schema when it parses them (`botwire_api::contract`, run by `JsonBody` and
/// `QueryParams` before the typed parse), so every kind of violation the strategies generate
/// is refused with 422 `validation_failed` naming the field. A kind goes here only if the
/// server cannot refuse it while parsing, with the reason; the `inputs` conformance test
/// `not_enforced_list_is_exact` fails once a listed kind is rejected everywhere its sweep
/// tries it, so the list cannot go stale.
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
        "strategies: the checker does not support {ignored:?}; teach api/src/contract.rs \
         (and conformance/src/strategies.rs) about it: {schema}"
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
        "strategies: {} not supported; teach api/src/contract.rs (the checker) and \
         conformance/src/strategies.rs about it: {schema}",
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

// ---------------------------------------------------------------------------------------------
// Valid values
// ---------------------------------------------------------------------------------------------

/// Strings are kept at most this long unless `minLength` demands more.
const SMALL_STRING: usize = 40;
/// A `maxLength` up to this is sometimes generated exactly.
const EXACT_MAX_LENGTH_UP_TO: usize = 256;
/// Arrays get at most this many items over `minItems`.
const EXTRA_ITEMS: usize = 3;
/// Free-form objects get at most this many keys over `minProperties`.
const EXTRA_KEYS: usize = 4;

fn valid_non_null(schema: &Value) -> BoxedStrategy<Value> {
    if let Some(values) = enum_values(schema) {
        let values: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
        assert!(
            !values.is_empty(),
            "strategies: an enum of only null: {schema}"
        );
        return select(values).boxed();
    }
    let types = non_null_types(schema);
    if types.is_empty() {
        return any_json();
    }
    Union::new(types.into_iter().map(|t| valid_of_type(schema, t))).boxed()
}

fn valid_of_type(schema: &Value, t: &str) -> BoxedStrategy<Value> {
    match t {
        "string" => valid_string(schema).prop_map(Value::String).boxed(),
        "integer" => valid_integer(schema),
        "number" => valid_number(schema),
        "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
        "array" => valid_array(schema, 0, usize::MAX),
        "object" => valid_object(schema, None, None)
            .prop_map(Value::Object)
            .boxed(),
        other => panic!("strategies: unknown type `{other}`"),
    }
}

/// A character of free text: mostly ASCII letters, some punctuation (JSON escapes
/// included) and some multi-byte characters, so that lengths are counted in characters.
fn text_char() -> BoxedStrategy<char> {
    prop_oneof![
        8 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        2 => proptest::char::range('0', '9'),
        2 => select(vec![' ', '-', '_', '.', ',', '!', '?', '\'', '"', '\\', '/', '@', '#']),
        1 => select(vec!['é', 'ß', 'ü', 'ñ', 'ø', '日', '本', 'ж', '€', '🙂', '🚀']),
    ]
    .boxed()
}

fn text_of_len(len: impl Strategy<Value = usize> + 'static) -> BoxedStrategy<String> {
    len.prop_flat_map(|n| proptest::collection::vec(text_char(), n))
        .prop_map(|chars| chars.into_iter().collect())
        .boxed()
}

/// A length in `[min, max]`, mostly small, sometimes exactly a bound.
fn length_within(min: usize, max: Option<usize>) -> BoxedStrategy<usize> {
    let cap = max.unwrap_or(usize::MAX).min(min.max(SMALL_STRING));
    let mut options: Vec<(u32, BoxedStrategy<usize>)> =
        vec![(6, (min..=cap).boxed()), (1, Just(min).boxed())];
    if let Some(max) = max.filter(|&m| m <= EXACT_MAX_LENGTH_UP_TO) {
        options.push((1, Just(max).boxed()));
    }
    Union::new_weighted(options).boxed()
}

fn valid_string(schema: &Value) -> BoxedStrategy<String> {
    let min = usize_keyword(schema, "minLength").unwrap_or(0);
    let max = usize_keyword(schema, "maxLength");
    let pattern = schema
        .get("pattern")
        .and_then(Value::as_str)
        .map(|source| Pattern::new(source).unwrap_or_else(|e| panic!("strategies: {e}")));
    let base = match (schema.get("format").and_then(Value::as_str), &pattern) {
        (Some(format), _) => format_string(format),
        (None, Some(pattern)) => pattern_string(pattern.source()),
        (None, None) => text_of_len(length_within(min, max)),
    };
    base.prop_filter("within the schema's length and pattern", move |s| {
        let n = s.chars().count();
        n >= min && max.is_none_or(|m| n <= m) && pattern.as_ref().is_none_or(|p| p.matches(s))
    })
    .boxed()
}

/// Strings matching `pattern`, generated from the pattern itself: the anchors are taken off
/// for the generator and, where the pattern is not anchored, free text is added around it.
fn pattern_string(pattern: &str) -> BoxedStrategy<String> {
    let (body, start_anchored) = match pattern.strip_prefix('^') {
        Some(rest) => (rest, true),
        None => (pattern, false),
    };
    let trailing_backslashes = body
        .strip_suffix('$')
        .map(|rest| rest.chars().rev().take_while(|&c| c == '\\').count());
    let (body, end_anchored) = match trailing_backslashes {
        Some(n) if n % 2 == 0 => (&body[..body.len() - 1], true),
        _ => (body, false),
    };
    let core = proptest::string::string_regex(body)
        .unwrap_or_else(|e| panic!("strategies: cannot generate from pattern {pattern:?}: {e}"))
        .boxed();
    let free = |anchored: bool| {
        if anchored {
            Just(String::new()).boxed()
        } else {
            text_of_len(0..=8usize)
        }
    };
    (free(start_anchored), core, free(end_anchored))
        .prop_map(|(head, core, tail)| format!("{head}{core}{tail}"))
        .boxed()
}

fn format_string(format: &str) -> BoxedStrategy<String> {
    let regex = |re: &str| {
        proptest::string::string_regex(re)
            .expect("a generator regex")
            .boxed()
    };
    match format {
        "uuid" => any::<[u8; 16]>()
            .prop_map(|bytes| {
                uuid::Builder::from_random_bytes(bytes)
                    .into_uuid()
                    .to_string()
            })
            .boxed(),
        "email" => regex(
            r"[a-z0-9]{1,12}(\.[a-z0-9]{1,8})?(\+[a-z]{1,5})?@[a-z0-9]{1,12}(\.[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?)?\.(com|org|net|example)",
        ),
        "uri" => regex(
            r"https?://[a-z0-9]{1,12}(\.[a-z]{2,6}){0,2}(:[1-9][0-9]{1,3})?(/[A-Za-z0-9._~-]{1,10}){0,3}(\?[a-z]{1,5}=[a-z0-9]{1,5})?",
        ),
        "date-time" => date_time(),
        other => panic!("strategies: format `{other}` is not supported"),
    }
}

/// An RFC 3339 date-time (`2026-04-28T08:15:02.123+02:00`).
fn date_time() -> BoxedStrategy<String> {
    let date = (1970u32..=2099, 1u32..=12, 1u32..=28);
    let time = (0u32..=23, 0u32..=59, 0u32..=59);
    let fraction = proptest::option::of(proptest::string::string_regex(r"\.[0-9]{1,9}").unwrap());
    let offset = prop_oneof![
        3 => Just("Z".to_string()),
        1 => (select(vec!['+', '-']), 0u32..=14, select(vec![0u32, 30, 45]))
            .prop_map(|(sign, h, m)| format!("{sign}{h:02}:{m:02}")),
    ];
    (date, time, fraction, offset)
        .prop_map(|((y, mo, d), (h, mi, s), fraction, offset)| {
            let fraction = fraction.unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{offset}")
        })
        .boxed()
}

/// The inclusive integer range a schema allows (kept within a thousand of a given bound).
fn integer_bounds(schema: &Value) -> (i64, i64) {
    let mut low = f64_keyword(schema, "minimum").map(|m| m.ceil() as i64);
    if let Some(m) = f64_keyword(schema, "exclusiveMinimum") {
        let m = m.floor() as i64 + 1;
        low = Some(low.map_or(m, |l| l.max(m)));
    }
    let mut high = f64_keyword(schema, "maximum").map(|m| m.floor() as i64);
    if let Some(m) = f64_keyword(schema, "exclusiveMaximum") {
        let m = m.ceil() as i64 - 1;
        high = Some(high.map_or(m, |h| h.min(m)));
    }
    match (low, high) {
        (Some(l), Some(h)) => (l, h),
        (Some(l), None) => (l, l + 1000),
        (None, Some(h)) => (h - 1000, h),
        (None, None) => (-1000, 1000),
    }
}

fn valid_integer(schema: &Value) -> BoxedStrategy<Value> {
    let (low, high) = integer_bounds(schema);
    assert!(low <= high, "strategies: an empty integer range: {schema}");
    prop_oneof![1 => Just(low), 1 => Just(high), 4 => low..=high]
        .prop_map(Value::from)
        .boxed()
}

fn valid_number(schema: &Value) -> BoxedStrategy<Value> {
    let minimum = f64_keyword(schema, "minimum");
    let maximum = f64_keyword(schema, "maximum");
    let exclusive_minimum = f64_keyword(schema, "exclusiveMinimum");
    let exclusive_maximum = f64_keyword(schema, "exclusiveMaximum");
    let low = minimum.or(exclusive_minimum);
    let high = maximum.or(exclusive_maximum);
    let (low, high) = match (low, high) {
        (Some(l), Some(h)) => (l, h),
        (Some(l), None) => (l, l + 1000.0),
        (None, Some(h)) => (h - 1000.0, h),
        (None, None) => (-1000.0, 1000.0),
    };
    let mut options: Vec<(u32, BoxedStrategy<f64>)> = vec![(4, (low..=high).boxed())];
    if let Some(m) = minimum {
        options.push((1, Just(m).boxed()));
    }
    if let Some(m) = maximum {
        options.push((1, Just(m).boxed()));
    }
    Union::new_weighted(options)
        .prop_filter("within the exclusive bounds", move |x| {
            exclusive_minimum.is_none_or(|m| *x > m) && exclusive_maximum.is_none_or(|m| *x < m)
        })
        .prop_map(json_f64)
        .boxed()
}

fn items_schema(schema: &Value) -> Value {
    schema
        .get("items")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()))
}

fn dedup_values(items: Vec<Value>) -> Vec<Value> {
    let mut unique: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    unique
}

/// A valid array with at least `at_least` items and at most `at_most` (within the schema's
/// own bounds).
fn valid_array(schema: &Value, at_least: usize, at_most: usize) -> BoxedStrategy<Value> {
    let min = usize_keyword(schema, "minItems").unwrap_or(0).max(at_least);
    let max = usize_keyword(schema, "maxItems")
        .unwrap_or(usize::MAX)
        .min(at_most)
        .min(min + EXTRA_ITEMS);
    let unique = schema.get("uniqueItems") == Some(&Value::Bool(true));
    proptest::collection::vec(valid_for(&items_schema(schema)), min..=max.max(min))
        .prop_map(move |items| if unique { dedup_values(items) } else { items })
        .prop_filter("enough distinct items", move |items| {
            items.len() >= min && items.len() <= max
        })
        .prop_map(Value::Array)
        .boxed()
}

/// A small JSON value of any type.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(Value::from),
        text_of_len(0..=12usize).prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..=3).prop_map(Value::Array),
            proptest::collection::btree_map(free_key(), inner, 0..=3)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
    .boxed()
}

fn free_key() -> BoxedStrategy<String> {
    proptest::string::string_regex("[a-z][a-z0-9_]{0,11}")
        .expect("a key regex")
        .boxed()
}

/// A valid object. `forced` names a property that must be present; `optional_count` fixes
/// how many optional properties are present (else anything the schema allows).
fn valid_object(
    schema: &Value,
    forced: Option<&str>,
    optional_count: Option<usize>,
) -> BoxedStrategy<Map<String, Value>> {
    let props = properties(schema);
    let min_properties = usize_keyword(schema, "minProperties").unwrap_or(0);
    let max_properties = usize_keyword(schema, "maxProperties").unwrap_or(usize::MAX);
    if props.is_empty() {
        let Some(additional) = additional_schema(schema) else {
            return Just(Map::new()).boxed();
        };
        let min = optional_count.unwrap_or(min_properties);
        let max = optional_count.unwrap_or(max_properties.min(min + EXTRA_KEYS));
        return free_object(&additional, min, max);
    }
    let required = required(schema);
    let mut must: Vec<String> = required.clone();
    if let Some(forced) = forced.filter(|f| !must.iter().any(|m| m == f)) {
        must.push(forced.to_string());
    }
    let optional: Vec<String> = props
        .keys()
        .filter(|k| !must.contains(k))
        .cloned()
        .collect();
    let (low, high) = match optional_count {
        Some(n) => (n, n),
        None => (
            min_properties
                .saturating_sub(must.len())
                .min(optional.len()),
            max_properties
                .saturating_sub(must.len())
                .min(optional.len()),
        ),
    };
    assert!(
        low <= high && high <= optional.len(),
        "strategies: no valid object for {schema}"
    );
    let must_values: Vec<BoxedStrategy<Value>> =
        must.iter().map(|k| valid_for(&props[k.as_str()])).collect();
    let optional_values: Vec<BoxedStrategy<Value>> = optional
        .iter()
        .map(|k| valid_for(&props[k.as_str()]))
        .collect();
    let chosen = subsequence((0..optional.len()).collect::<Vec<_>>(), low..=high);
    (must_values, optional_values, chosen)
        .prop_map(move |(must_values, optional_values, chosen)| {
            let mut object = Map::new();
            for (key, value) in must.iter().zip(must_values) {
                object.insert(key.clone(), value);
            }
            for i in chosen {
                object.insert(optional[i].clone(), optional_values[i].clone());
            }
            object
        })
        .boxed()
}

fn free_object(additional: &Value, min: usize, max: usize) -> BoxedStrategy<Map<String, Value>> {
    proptest::collection::btree_map(free_key(), valid_for(additional), min..=max)
        .prop_map(|map| map.into_iter().collect())
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Invalid values
// ---------------------------------------------------------------------------------------------

/// Where a value sits, which decides what `null` means there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// The value as a whole, an array item, or a required property: `null` is a wrong type.
    Top,
    /// An optional property: `null` is [`ViolationKind::NullForOptionalProperty`], checked
    /// by the object that holds it.
    OptionalProperty,
}

/// One place and way to break a schema.
struct Site {
    kind: ViolationKind,
    strategy: BoxedStrategy<(Value, Violation)>,
}

/// Every way to break `schema` with one violation of an allowed kind, in it or anywhere
/// inside it.
fn sites(schema: &Value, position: Position, allow: &dyn Fn(ViolationKind) -> bool) -> Vec<Site> {
    let schema = spec::resolve(schema);
    check_supported(schema);
    let types = non_null_types(schema);
    let mut leaves: Vec<(ViolationKind, BoxedStrategy<Value>)> = Vec::new();
    let mut leaf = |kind: ViolationKind, strategy: BoxedStrategy<Value>| {
        if allow(kind) {
            leaves.push((kind, strategy));
        }
    };
    if let Some(strategy) = wrong_type(schema, position) {
        leaf(ViolationKind::WrongType, strategy);
    }
    let enumerated = enum_values(schema);
    if let Some(values) = &enumerated {
        // An enum fixes the value: the type's own constraints cannot be broken apart from it.
        if let Some(strategy) = not_in_enum(values) {
            leaf(ViolationKind::NotInEnum, strategy);
        }
    } else {
        if types.contains(&"string") {
            string_leaves(schema, &mut leaf);
        }
        if types.contains(&"integer") {
            integer_leaves(schema, &mut leaf);
        } else if types.contains(&"number") {
            number_leaves(schema, &mut leaf);
        }
        if types.contains(&"array") {
            array_leaves(schema, &mut leaf);
        }
        if types.contains(&"object") {
            object_leaves(schema, &mut leaf);
        }
    }
    let mut out: Vec<Site> = leaves
        .into_iter()
        .filter_map(|(kind, strategy)| leaf_site(schema, kind, strategy))
        .collect();
    if enumerated.is_none() {
        if types.contains(&"array") {
            out.extend(item_sites(schema, allow));
        }
        if types.contains(&"object") {
            out.extend(property_sites(schema, allow));
        }
    }
    out
}

/// A violation at `schema` itself, kept only if `strategy` really yields values with
/// exactly that one violation (and can yield one at all: "room" is decided by trying).
fn leaf_site(schema: &Value, kind: ViolationKind, strategy: BoxedStrategy<Value>) -> Option<Site> {
    let checked = checker(schema);
    let strategy = strategy
        .prop_filter_map(
            "exactly the one intended violation",
            move |value| match checked.violations(&value).as_slice() {
                [only] if only.kind == kind => {
                    let violation = only.clone();
                    Some((value, violation))
                }
                _ => None,
            },
        )
        .boxed();
    has_room(&strategy).then_some(Site { kind, strategy })
}

/// Whether `strategy` yields a value within a few hundred tries.
fn has_room<T: fmt::Debug>(strategy: &BoxedStrategy<T>) -> bool {
    let config = Config {
        max_local_rejects: 256,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    strategy.new_tree(&mut runner).is_ok()
}

/// A value of a JSON type the schema's `type` does not allow (`None` without a `type`, or
/// when it allows every type).
fn wrong_type(schema: &Value, position: Position) -> Option<BoxedStrategy<Value>> {
    let mut candidates = vec![
        Value::from("text"),
        Value::from(7),
        json_f64(2.5),
        Value::Bool(true),
        Value::Array(Vec::new()),
        Value::Object(Map::new()),
    ];
    if position == Position::Top {
        candidates.push(Value::Null);
    }
    let types = types_of(schema);
    let candidates: Vec<Value> = candidates
        .into_iter()
        .filter(|c| !types.iter().any(|t| type_matches(t, c)))
        .collect();
    (!types.is_empty() && !candidates.is_empty()).then(|| select(candidates).boxed())
}

fn not_in_enum(values: &[Value]) -> Option<BoxedStrategy<Value>> {
    let strings: Vec<String> = values
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if strings.is_empty() {
        // Only string enums are in the contract; other enums get no NotInEnum violation.
        return None;
    }
    let strategy = prop_oneof![
        select(strings.clone()).prop_map(|s| format!("{s}_x")),
        select(strings.clone()).prop_map(|s| s.to_uppercase()),
        select(strings).prop_map(|s| format!(" {s}")),
        proptest::string::string_regex("[a-z]{3,10}").unwrap(),
    ];
    Some(strategy.prop_map(Value::String).boxed())
}

/// Characters that break the character classes of the contract's patterns.
const HOSTILE_CHARS: &[char] = &[
    ' ', '!', '*', '~', '%', '€', 'Z', 'z', '0', '#', '+', '.', '/', 'é', '<',
];

fn string_leaves(schema: &Value, leaf: &mut dyn FnMut(ViolationKind, BoxedStrategy<Value>)) {
    let min = usize_keyword(schema, "minLength").unwrap_or(0);
    if let Some(max) = usize_keyword(schema, "maxLength") {
        // Stretch a valid string by repeating one of its characters in place (which keeps
        // character-class patterns and formats satisfied where they can be).
        let strategy = (valid_string(schema), any::<Index>(), 1..=3usize)
            .prop_map(move |(s, at, extra)| {
                let mut chars: Vec<char> = s.chars().collect();
                if chars.is_empty() {
                    chars.push('a');
                }
                let i = at.index(chars.len());
                let repeated = chars[i];
                let needed = (max + extra).saturating_sub(chars.len());
                chars.splice(i..i, std::iter::repeat_n(repeated, needed));
                Value::String(chars.into_iter().collect())
            })
            .boxed();
        leaf(ViolationKind::TooLong, strategy);
    }
    if min > 0 {
        // Keep a window of a valid string shorter than minLength.
        let strategy = (valid_string(schema), 0..min, any::<Index>())
            .prop_map(|(s, len, at)| {
                let chars: Vec<char> = s.chars().collect();
                let len = len.min(chars.len());
                let start = at.index(chars.len() - len + 1);
                Value::String(chars[start..start + len].iter().collect())
            })
            .boxed();
        leaf(ViolationKind::TooShort, strategy);
    }
    if schema.get("pattern").is_some() {
        let strategy = (valid_string(schema), any::<Index>(), select(HOSTILE_CHARS))
            .prop_map(|(s, at, hostile)| {
                let mut chars: Vec<char> = s.chars().collect();
                if chars.is_empty() {
                    chars.push(hostile);
                } else {
                    let i = at.index(chars.len());
                    chars[i] = hostile;
                }
                Value::String(chars.into_iter().collect())
            })
            .boxed();
        leaf(ViolationKind::PatternMismatch, strategy);
    }
    let regex = |re: &str| {
        proptest::string::string_regex(re)
            .expect("a generator regex")
            .prop_map(Value::String)
            .boxed()
    };
    match schema.get("format").and_then(Value::as_str) {
        Some("uuid") => {
            let strategy = (
                format_string("uuid"),
                any::<Index>(),
                0..3u8,
                select(vec!['g', 'z', 'X', '!', '-']),
            )
                .prop_map(|(s, at, how, c)| {
                    let mut chars: Vec<char> = s.chars().collect();
                    let i = at.index(chars.len());
                    match how {
                        0 => chars[i] = c,
                        1 => {
                            chars.remove(i);
                        }
                        _ => chars.insert(i, 'a'),
                    }
                    Value::String(chars.into_iter().collect())
                })
                .boxed();
            leaf(ViolationKind::NotAUuid, strategy);
        }
        Some("date-time") => {
            let strategy = (
                date_time(),
                0..6u8,
                select(vec!["yesterday", "2024-01-01", "1714000000"]),
            )
                .prop_map(|(s, how, word)| {
                    let broken = match how {
                        0 => format!("{}13{}", &s[..5], &s[7..]),
                        1 => format!("{}32{}", &s[..8], &s[10..]),
                        2 => format!("{}25{}", &s[..11], &s[13..]),
                        3 => format!("{}_{}", &s[..10], &s[11..]),
                        4 => s[..19].to_string(),
                        _ => word.to_string(),
                    };
                    Value::String(broken)
                })
                .boxed();
            leaf(ViolationKind::NotADateTime, strategy);
        }
        Some("email") => leaf(
            ViolationKind::NotAnEmail,
            prop_oneof![
                regex(r"[a-z]{3,12}\.[a-z]{2,5}"),
                regex(r"[a-z]{2,8}@"),
                regex(r"@[a-z]{2,8}\.com"),
                regex(r"[a-z]{1,5} [a-z]{1,5}@[a-z]{2,6}\.com"),
                regex(r"[a-z]{1,5}@[a-z]{1,5}@[a-z]{2,6}\.com"),
            ]
            .boxed(),
        ),
        Some("uri") => leaf(
            ViolationKind::NotAUri,
            prop_oneof![
                regex(r"[a-z]{3,12}\.[a-z]{2,5}/[a-z]{0,5}"),
                regex(r"https://[a-z]{1,6} [a-z]{1,6}\.com"),
                regex(r"https://[a-z]{1,6}\.com/[a-z]{1,4}<>[a-z]{0,3}"),
                regex(r"http://[a-z]{1,6}\.com/%zz"),
            ]
            .boxed(),
        ),
        _ => {}
    }
}

fn integer_leaves(schema: &Value, leaf: &mut dyn FnMut(ViolationKind, BoxedStrategy<Value>)) {
    if let Some(low) = f64_keyword(schema, "minimum")
        .map(|m| m.ceil() as i64)
        .or_else(|| f64_keyword(schema, "exclusiveMinimum").map(|m| m.floor() as i64 + 1))
    {
        leaf(
            ViolationKind::IntegerBelowMinimum,
            (1i64..=3).prop_map(move |d| Value::from(low - d)).boxed(),
        );
    }
    if let Some(high) = f64_keyword(schema, "maximum")
        .map(|m| m.floor() as i64)
        .or_else(|| f64_keyword(schema, "exclusiveMaximum").map(|m| m.ceil() as i64 - 1))
    {
        leaf(
            ViolationKind::IntegerAboveMaximum,
            (1i64..=3).prop_map(move |d| Value::from(high + d)).boxed(),
        );
    }
}

fn number_leaves(schema: &Value, leaf: &mut dyn FnMut(ViolationKind, BoxedStrategy<Value>)) {
    let step = |k: u32| f64::from(k) / 100.0;
    if let Some(m) = f64_keyword(schema, "minimum") {
        leaf(
            ViolationKind::NumberBelowMinimum,
            (1u32..=1000)
                .prop_map(move |k| json_f64(m - step(k)))
                .boxed(),
        );
    } else if let Some(m) = f64_keyword(schema, "exclusiveMinimum") {
        leaf(
            ViolationKind::NumberBelowMinimum,
            (0u32..=1000)
                .prop_map(move |k| json_f64(m - step(k)))
                .boxed(),
        );
    }
    if let Some(m) = f64_keyword(schema, "maximum") {
        leaf(
            ViolationKind::NumberAboveMaximum,
            (1u32..=1000)
                .prop_map(move |k| json_f64(m + step(k)))
                .boxed(),
        );
    } else if let Some(m) = f64_keyword(schema, "exclusiveMaximum") {
        leaf(
            ViolationKind::NumberAboveMaximum,
            (0u32..=1000)
                .prop_map(move |k| json_f64(m + step(k)))
                .boxed(),
        );
    }
}

fn array_leaves(schema: &Value, leaf: &mut dyn FnMut(ViolationKind, BoxedStrategy<Value>)) {
    let items = items_schema(schema);
    let unique = schema.get("uniqueItems") == Some(&Value::Bool(true));
    let items_of_len = move |len: std::ops::RangeInclusive<usize>| {
        proptest::collection::vec(valid_for(&items), len)
            .prop_map(move |items| if unique { dedup_values(items) } else { items })
            .prop_map(Value::Array)
            .boxed()
    };
    if let Some(max) = usize_keyword(schema, "maxItems") {
        leaf(ViolationKind::TooManyItems, items_of_len(max + 1..=max + 2));
    }
    if let Some(min) = usize_keyword(schema, "minItems").filter(|&m| m > 0) {
        leaf(ViolationKind::TooFewItems, items_of_len(0..=min - 1));
    }
    if unique {
        let max = usize_keyword(schema, "maxItems").unwrap_or(usize::MAX);
        if max >= 2 {
            let strategy = (valid_array(schema, 1, max - 1), any::<Index>())
                .prop_map(|(array, at)| {
                    let mut items = match array {
                        Value::Array(items) => items,
                        _ => unreachable!("an array"),
                    };
                    let copy = items[at.index(items.len())].clone();
                    items.push(copy);
                    Value::Array(items)
                })
                .boxed();
            leaf(ViolationKind::DuplicateItems, strategy);
        }
    }
}

/// Violations inside one item of an otherwise valid array.
fn item_sites(schema: &Value, allow: &dyn Fn(ViolationKind) -> bool) -> Vec<Site> {
    let max = usize_keyword(schema, "maxItems").unwrap_or(usize::MAX);
    if max == 0 {
        return Vec::new();
    }
    let array_schema = schema.clone();
    sites(&items_schema(schema), Position::Top, allow)
        .into_iter()
        .map(|site| {
            let strategy = (
                valid_array(&array_schema, 1, max),
                any::<Index>(),
                site.strategy,
            )
                .prop_map(|(array, at, (bad, violation))| {
                    let mut items = match array {
                        Value::Array(items) => items,
                        _ => unreachable!("an array"),
                    };
                    let i = at.index(items.len());
                    items[i] = bad;
                    (Value::Array(items), violation.under_index(i))
                })
                .boxed();
            Site {
                kind: site.kind,
                strategy,
            }
        })
        .collect()
}

fn object_leaves(schema: &Value, leaf: &mut dyn FnMut(ViolationKind, BoxedStrategy<Value>)) {
    let props = properties(schema);
    let required = required(schema);
    for name in &required {
        let name = name.clone();
        let strategy = valid_object(schema, None, None)
            .prop_map(move |mut object| {
                object.remove(&name);
                Value::Object(object)
            })
            .boxed();
        leaf(ViolationKind::MissingRequired, strategy);
    }
    for (name, property) in &props {
        if required.contains(name) || allows_null(spec::resolve(property)) {
            continue;
        }
        let key = name.clone();
        let strategy = valid_object(schema, Some(name), None)
            .prop_map(move |mut object| {
                object.insert(key.clone(), Value::Null);
                Value::Object(object)
            })
            .boxed();
        leaf(ViolationKind::NullForOptionalProperty, strategy);
    }
    let additional = additional_schema(schema);
    if additional.is_none() {
        let known: Vec<String> = props.keys().cloned().collect();
        let strategy = (
            valid_object(schema, None, None),
            proptest::string::string_regex("unexpected_[a-z]{1,8}").unwrap(),
            select(vec![Value::from("x"), Value::from(1), Value::Bool(true)]),
        )
            .prop_filter("a key the schema does not know", move |(_, key, _)| {
                !known.contains(key)
            })
            .prop_map(|(mut object, key, value)| {
                object.insert(key, value);
                Value::Object(object)
            })
            .boxed();
        leaf(ViolationKind::UnknownProperty, strategy);
    }
    if let Some(max) = usize_keyword(schema, "maxProperties") {
        let strategy = match &additional {
            Some(extra) => (
                valid_object(schema, None, None),
                proptest::collection::btree_map(free_key(), valid_for(extra), max + 1..=max + 2),
            )
                .prop_map(|(mut object, extras)| {
                    object.extend(extras);
                    Value::Object(object)
                })
                .boxed(),
            None => {
                let optional = props.len().saturating_sub(required.len());
                valid_object(schema, None, Some(optional))
                    .prop_map(Value::Object)
                    .boxed()
            }
        };
        leaf(ViolationKind::TooManyProperties, strategy);
    }
    if let Some(min) = usize_keyword(schema, "minProperties").filter(|&m| m > 0) {
        // One property short of minProperties: all the required ones and some optional ones
        // (or, for a free-form object, that many free keys).
        let optional = props.len().saturating_sub(required.len());
        let count = if props.is_empty() {
            Some(min - 1)
        } else {
            (min - 1)
                .checked_sub(required.len())
                .filter(|&n| n <= optional)
        };
        if let Some(count) = count {
            let strategy = valid_object(schema, None, Some(count))
                .prop_map(Value::Object)
                .boxed();
            leaf(ViolationKind::TooFewProperties, strategy);
        }
    }
}

/// Violations inside one property of an otherwise valid object.
fn property_sites(schema: &Value, allow: &dyn Fn(ViolationKind) -> bool) -> Vec<Site> {
    let required = required(schema);
    let mut out = Vec::new();
    for (name, property) in properties(schema) {
        let position = if required.contains(&name) {
            Position::Top
        } else {
            Position::OptionalProperty
        };
        for site in sites(&property, position, allow) {
            let key = name.clone();
            let strategy = (valid_object(schema, Some(&name), None), site.strategy)
                .prop_map(move |(mut object, (bad, violation))| {
                    object.insert(key.clone(), bad);
                    (Value::Object(object), violation.under_key(&key))
                })
                .boxed();
            out.push(Site {
                kind: site.kind,
                strategy,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;

    fn runner() -> TestRunner {
        TestRunner::new_with_rng(
            Config::default(),
            TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        )
    }

    fn sample<T: fmt::Debug>(
        strategy: &BoxedStrategy<T>,
        runner: &mut TestRunner,
        n: usize,
    ) -> Vec<T> {
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
}
