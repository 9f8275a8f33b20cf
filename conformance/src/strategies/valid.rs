//! Valid values: what the contract accepts, schema keyword by schema keyword.

use super::*;

/// Strings are kept at most this long unless `minLength` demands more.
pub(super) const SMALL_STRING: usize = 40;
/// A `maxLength` up to this is sometimes generated exactly.
pub(super) const EXACT_MAX_LENGTH_UP_TO: usize = 256;
/// Arrays get at most this many items over `minItems`.
pub(super) const EXTRA_ITEMS: usize = 3;
/// Free-form objects get at most this many keys over `minProperties`.
pub(super) const EXTRA_KEYS: usize = 4;

pub(super) fn valid_non_null(schema: &Value) -> BoxedStrategy<Value> {
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

pub(super) fn valid_of_type(schema: &Value, t: &str) -> BoxedStrategy<Value> {
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
pub(super) fn text_char() -> BoxedStrategy<char> {
    prop_oneof![
        8 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        2 => proptest::char::range('0', '9'),
        2 => select(vec![' ', '-', '_', '.', ',', '!', '?', '\'', '"', '\\', '/', '@', '#']),
        1 => select(vec!['é', 'ß', 'ü', 'ñ', 'ø', '日', '本', 'ж', '€', '🙂', '🚀']),
    ]
    .boxed()
}

pub(super) fn text_of_len(len: impl Strategy<Value = usize> + 'static) -> BoxedStrategy<String> {
    len.prop_flat_map(|n| proptest::collection::vec(text_char(), n))
        .prop_map(|chars| chars.into_iter().collect())
        .boxed()
}

/// A length in `[min, max]`, mostly small, sometimes exactly a bound.
pub(super) fn length_within(min: usize, max: Option<usize>) -> BoxedStrategy<usize> {
    let cap = max.unwrap_or(usize::MAX).min(min.max(SMALL_STRING));
    let mut options: Vec<(u32, BoxedStrategy<usize>)> =
        vec![(6, (min..=cap).boxed()), (1, Just(min).boxed())];
    if let Some(max) = max.filter(|&m| m <= EXACT_MAX_LENGTH_UP_TO) {
        options.push((1, Just(max).boxed()));
    }
    Union::new_weighted(options).boxed()
}

pub(super) fn valid_string(schema: &Value) -> BoxedStrategy<String> {
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
pub(super) fn pattern_string(pattern: &str) -> BoxedStrategy<String> {
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

pub(super) fn format_string(format: &str) -> BoxedStrategy<String> {
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
pub(super) fn date_time() -> BoxedStrategy<String> {
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
pub(super) fn integer_bounds(schema: &Value) -> (i64, i64) {
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

pub(super) fn valid_integer(schema: &Value) -> BoxedStrategy<Value> {
    let (low, high) = integer_bounds(schema);
    assert!(low <= high, "strategies: an empty integer range: {schema}");
    prop_oneof![1 => Just(low), 1 => Just(high), 4 => low..=high]
        .prop_map(Value::from)
        .boxed()
}

pub(super) fn valid_number(schema: &Value) -> BoxedStrategy<Value> {
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

pub(super) fn items_schema(schema: &Value) -> Value {
    schema
        .get("items")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()))
}

pub(super) fn dedup_values(items: Vec<Value>) -> Vec<Value> {
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
pub(super) fn valid_array(schema: &Value, at_least: usize, at_most: usize) -> BoxedStrategy<Value> {
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
pub(super) fn any_json() -> BoxedStrategy<Value> {
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

pub(super) fn free_key() -> BoxedStrategy<String> {
    proptest::string::string_regex("[a-z][a-z0-9_]{0,11}")
        .expect("a key regex")
        .boxed()
}

/// A valid object. `forced` names a property that must be present; `optional_count` fixes
/// how many optional properties are present (else anything the schema allows).
pub(super) fn valid_object(
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

pub(super) fn free_object(
    additional: &Value,
    min: usize,
    max: usize,
) -> BoxedStrategy<Map<String, Value>> {
    proptest::collection::btree_map(free_key(), valid_for(additional), min..=max)
        .prop_map(|map| map.into_iter().collect())
        .boxed()
}
