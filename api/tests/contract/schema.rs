//! Schemas: the normal form each document's schemas are brought to, and the comparison of two
//! normal forms, which reports every difference no rule accepts.

use super::diff::Comparison;
use super::rules::{
    ANNOTATION_KEYWORDS, CONSTRAINT_KEYWORDS, NUMERIC_FORMATS, OPTIONAL_IS_NULLABLE,
    SCHEMA_ANNOTATIONS, SCHEMA_CONSTRAINTS, TYPIFY_STRING_FORMATS, UNMAPPED_STRING_FORMATS,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Follows a local reference (`#/components/...`) inside `doc`.
pub fn lookup<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// Follows `$ref`s (of parameters, responses, headers, bodies) until a value without one.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    // A bound instead of a visited set: a reference loop outside schemas is a broken document.
    for _ in 0..16 {
        match current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| lookup(doc, r))
        {
            Some(target) => current = target,
            None => break,
        }
    }
    current
}

/// The normal form of `schema`: every `$ref` inlined (a reference already being expanded
/// becomes `{"$recursive": ref}`), nullability spelled `nullable: true` next to a single
/// `type`, one-schema combinators flattened, `required` and `enum` sorted. Everything else is
/// kept, for [`diff_schema`] to compare or to hand to a rule.
pub fn normal_form(doc: &Value, schema: &Value) -> Value {
    normalise(doc, schema, &mut Vec::new())
}

fn normalise(doc: &Value, schema: &Value, expanding: &mut Vec<String>) -> Value {
    let Some(map) = schema.as_object() else {
        // The schema `true` allows anything, as `{}` does.
        return if schema == &Value::Bool(true) {
            json!({})
        } else {
            schema.clone()
        };
    };
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        return inline_reference(doc, map, reference, expanding);
    }

    let mut out = Map::new();
    let mut nullable = false;
    for (key, value) in map {
        let normalised = match key.as_str() {
            "properties" => match value.as_object() {
                Some(properties) => Value::Object(
                    properties
                        .iter()
                        .map(|(name, property)| (name.clone(), normalise(doc, property, expanding)))
                        .collect(),
                ),
                None => value.clone(),
            },
            "items" | "not" => normalise(doc, value, expanding),
            "additionalProperties" => match value {
                Value::Bool(true) => continue,
                Value::Bool(false) => value.clone(),
                schema => normalise(doc, schema, expanding),
            },
            "allOf" | "anyOf" | "oneOf" => match value.as_array() {
                Some(branches) => Value::Array(
                    branches
                        .iter()
                        .map(|b| normalise(doc, b, expanding))
                        .collect(),
                ),
                None => value.clone(),
            },
            "required" => sorted_set(value.as_array().cloned().unwrap_or_default()),
            "enum" => {
                let mut values = value.as_array().cloned().unwrap_or_default();
                let before = values.len();
                values.retain(|v| !v.is_null());
                nullable |= values.len() != before;
                sorted_set(values)
            }
            "type" => match value {
                Value::Array(types) => {
                    let mut kept: Vec<Value> = types
                        .iter()
                        .filter(|t| t.as_str() != Some("null"))
                        .cloned()
                        .collect();
                    nullable |= kept.len() != types.len();
                    match kept.len() {
                        1 => kept.remove(0),
                        _ => sorted_set(kept),
                    }
                }
                other => other.clone(),
            },
            "nullable" => {
                nullable |= value == &Value::Bool(true);
                continue;
            }
            _ => value.clone(),
        };
        out.insert(key.clone(), normalised);
    }

    // `anyOf: [T, {type: null}]` is how JSON Schema spells an Option.
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = out.get_mut(key) {
            let before = branches.len();
            branches.retain(|branch| !is_null_only(branch));
            nullable |= branches.len() != before;
        }
    }
    // A combinator of one schema is that schema: schemars wraps a `$ref` in a one-element
    // `allOf` to give it a description or `nullable`.
    for key in ["allOf", "anyOf", "oneOf"] {
        let single = matches!(out.get(key), Some(Value::Array(branches)) if branches.len() == 1);
        if single
            && let Some(Value::Array(mut branches)) = out.remove(key)
            && let Some(branch) = branches.pop()
        {
            nullable |= branch.get("nullable") == Some(&Value::Bool(true));
            merge_under(&mut out, branch);
        }
    }
    if nullable {
        out.insert("nullable".to_string(), Value::Bool(true));
    }
    Value::Object(out)
}

fn inline_reference(
    doc: &Value,
    map: &Map<String, Value>,
    reference: &str,
    expanding: &mut Vec<String>,
) -> Value {
    if expanding.iter().any(|r| r == reference) {
        return json!({ "$recursive": reference });
    }
    let Some(target) = lookup(doc, reference) else {
        return json!({ "$dangling": reference });
    };
    expanding.push(reference.to_string());
    let mut resolved = normalise(doc, target, expanding);
    // OpenAPI 3.1 allows keywords next to a `$ref` (a description, say); they apply too.
    let siblings: Map<String, Value> = map
        .iter()
        .filter(|(key, _)| *key != "$ref")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !siblings.is_empty()
        && let Value::Object(mut wrapper) = normalise(doc, &Value::Object(siblings), expanding)
    {
        merge_under(&mut wrapper, resolved);
        resolved = Value::Object(wrapper);
    }
    expanding.pop();
    resolved
}

/// Adds `inner`'s keywords to `wrapper`, whose own keywords win (they are the more specific).
fn merge_under(wrapper: &mut Map<String, Value>, inner: Value) {
    if let Value::Object(inner) = inner {
        for (key, value) in inner {
            wrapper.entry(key).or_insert(value);
        }
    }
}

fn is_null_only(schema: &Value) -> bool {
    match schema.as_object() {
        Some(map) => {
            map.len() == 1
                && (map.get("type") == Some(&json!("null"))
                    || map.get("nullable") == Some(&Value::Bool(true)))
        }
        None => false,
    }
}

fn sorted_set(mut values: Vec<Value>) -> Value {
    values.sort_by_key(Value::to_string);
    values.dedup();
    Value::Array(values)
}

/// Compares two normal forms at `at` (a location ending in a schema path such as
/// `$.settings.engine`). `optional` says the schema is an optional property or parameter on
/// both sides, which [`OPTIONAL_IS_NULLABLE`] needs to know.
pub fn diff_schema(cmp: &mut Comparison, at: &str, spec: &Value, emitted: &Value, optional: bool) {
    if spec == emitted {
        return;
    }
    let (Some(spec_map), Some(emitted_map)) = (spec.as_object(), emitted.as_object()) else {
        cmp.differ(at, Some(spec), Some(emitted));
        return;
    };
    let keys: BTreeSet<&String> = spec_map.keys().chain(emitted_map.keys()).collect();
    for key in keys {
        let (spec_value, emitted_value) = (spec_map.get(key), emitted_map.get(key));
        if spec_value == emitted_value {
            continue;
        }
        let here = format!("{at} > {key}");
        match key.as_str() {
            "properties" => diff_properties(cmp, at, spec_map, emitted_map),
            "items" | "not" | "additionalProperties" => {
                let child = match key.as_str() {
                    "items" => format!("{at}[]"),
                    "not" => format!("{at}(not)"),
                    _ => format!("{at}{{*}}"),
                };
                match (spec_value, emitted_value) {
                    (Some(s), Some(e)) if s.is_object() && e.is_object() => {
                        diff_schema(cmp, &child, s, e, false);
                    }
                    _ => cmp.differ(here, spec_value, emitted_value),
                }
            }
            "allOf" | "anyOf" | "oneOf" => match (spec_value, emitted_value) {
                (Some(Value::Array(s)), Some(Value::Array(e))) if s.len() == e.len() => {
                    for (index, (s, e)) in s.iter().zip(e).enumerate() {
                        diff_schema(cmp, &format!("{at}({key}[{index}])"), s, e, false);
                    }
                }
                _ => cmp.differ(here, spec_value, emitted_value),
            },
            "required" | "enum" => diff_set(cmp, &here, spec_value, emitted_value),
            "nullable" if optional && spec_value.is_none() => {
                cmp.accept(&OPTIONAL_IS_NULLABLE, here, spec_value, emitted_value)
            }
            "format" => diff_format(cmp, &here, spec_map, emitted_map),
            k if ANNOTATION_KEYWORDS.contains(&k) => {
                cmp.accept(&SCHEMA_ANNOTATIONS, here, spec_value, emitted_value)
            }
            k if CONSTRAINT_KEYWORDS.contains(&k) => {
                cmp.accept(&SCHEMA_CONSTRAINTS, here, spec_value, emitted_value)
            }
            _ => cmp.differ(here, spec_value, emitted_value),
        }
    }
}

fn diff_properties(
    cmp: &mut Comparison,
    at: &str,
    spec: &Map<String, Value>,
    emitted: &Map<String, Value>,
) {
    let spec_properties = spec.get("properties").and_then(Value::as_object);
    let emitted_properties = emitted.get("properties").and_then(Value::as_object);
    let names: BTreeSet<&String> = spec_properties
        .into_iter()
        .chain(emitted_properties)
        .flat_map(Map::keys)
        .collect();
    for name in names {
        let here = format!("{at}.{name}");
        let spec_property = spec_properties.and_then(|properties| properties.get(name));
        let emitted_property = emitted_properties.and_then(|properties| properties.get(name));
        match (spec_property, emitted_property) {
            (Some(s), Some(e)) => {
                let optional = !is_required(spec, name) && !is_required(emitted, name);
                diff_schema(cmp, &here, s, e, optional);
            }
            (s, e) => cmp.differ(format!("{here} (property)"), s, e),
        }
    }
}

fn is_required(schema: &Map<String, Value>, name: &str) -> bool {
    schema
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|required| required.iter().any(|r| r.as_str() == Some(name)))
}

/// Reports the elements only one side has.
fn diff_set(cmp: &mut Comparison, at: &str, spec: Option<&Value>, emitted: Option<&Value>) {
    let elements = |value: Option<&Value>| -> BTreeSet<String> {
        value
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(Value::to_string)
            .collect()
    };
    let (spec_set, emitted_set) = (elements(spec), elements(emitted));
    let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| -> String {
        let only: Vec<&str> = a.difference(b).map(String::as_str).collect();
        format!("[{}] (only here)", only.join(", "))
    };
    cmp.differ_text(
        at,
        only(&spec_set, &emitted_set),
        only(&emitted_set, &spec_set),
    );
}

fn diff_format(
    cmp: &mut Comparison,
    at: &str,
    spec: &Map<String, Value>,
    emitted: &Map<String, Value>,
) {
    let type_of =
        |map: &Map<String, Value>| map.get("type").and_then(Value::as_str).map(str::to_string);
    let numeric =
        |map: &Map<String, Value>| matches!(type_of(map).as_deref(), Some("integer" | "number"));
    let spec_format = spec.get("format").and_then(Value::as_str);
    let emitted_format = emitted.get("format");
    if numeric(spec) && numeric(emitted) {
        cmp.accept(&NUMERIC_FORMATS, at, spec.get("format"), emitted_format);
        return;
    }
    if let (Some(format), None) = (spec_format, emitted_format) {
        let plain_string = type_of(spec).as_deref() == Some("string")
            && type_of(emitted).as_deref() == Some("string");
        if plain_string && !TYPIFY_STRING_FORMATS.contains(&format) {
            cmp.accept(
                &UNMAPPED_STRING_FORMATS,
                at,
                spec.get("format"),
                emitted_format,
            );
            return;
        }
    }
    cmp.differ(at, spec.get("format"), emitted_format);
}
