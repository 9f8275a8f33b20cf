//! Invalid values: a valid value with exactly one contract violation, and the violation.

use super::*;

/// Where a value sits, which decides what `null` means there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Position {
    /// The value as a whole, an array item, or a required property: `null` is a wrong type.
    Top,
    /// An optional property: `null` is [`ViolationKind::NullForOptionalProperty`], checked
    /// by the object that holds it.
    OptionalProperty,
}

/// One place and way to break a schema.
pub(super) struct Site {
    pub(super) kind: ViolationKind,
    pub(super) strategy: BoxedStrategy<(Value, Violation)>,
}

/// Every way to break `schema` with one violation of an allowed kind, in it or anywhere
/// inside it.
pub(super) fn sites(
    schema: &Value,
    position: Position,
    allow: &dyn Fn(ViolationKind) -> bool,
) -> Vec<Site> {
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
pub(super) fn leaf_site(
    schema: &Value,
    kind: ViolationKind,
    strategy: BoxedStrategy<Value>,
) -> Option<Site> {
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
pub(super) fn has_room<T: fmt::Debug>(strategy: &BoxedStrategy<T>) -> bool {
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
pub(super) fn wrong_type(schema: &Value, position: Position) -> Option<BoxedStrategy<Value>> {
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

pub(super) fn not_in_enum(values: &[Value]) -> Option<BoxedStrategy<Value>> {
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
pub(super) const HOSTILE_CHARS: &[char] = &[
    ' ', '!', '*', '~', '%', '€', 'Z', 'z', '0', '#', '+', '.', '/', 'é', '<',
];

pub(super) fn string_leaves(
    schema: &Value,
    leaf: &mut dyn FnMut(ViolationKind, BoxedStrategy<Value>),
) {
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

pub(super) fn integer_leaves(
    schema: &Value,
    leaf: &mut dyn FnMut(ViolationKind, BoxedStrategy<Value>),
) {
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

pub(super) fn number_leaves(
    schema: &Value,
    leaf: &mut dyn FnMut(ViolationKind, BoxedStrategy<Value>),
) {
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

pub(super) fn array_leaves(
    schema: &Value,
    leaf: &mut dyn FnMut(ViolationKind, BoxedStrategy<Value>),
) {
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
pub(super) fn item_sites(schema: &Value, allow: &dyn Fn(ViolationKind) -> bool) -> Vec<Site> {
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

pub(super) fn object_leaves(
    schema: &Value,
    leaf: &mut dyn FnMut(ViolationKind, BoxedStrategy<Value>),
) {
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
pub(super) fn property_sites(schema: &Value, allow: &dyn Fn(ViolationKind) -> bool) -> Vec<Site> {
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
