//! Reading raw schema objects (keywords, types, `enum`, `pattern`): shared by the compiler and
//! the conformance strategies, so both read a schema alike.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};

/// Keywords that constrain a value; each one is handled by the checker.
pub const ASSERTION_KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "enum",
    "const",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "properties",
    "required",
    "additionalProperties",
    "minProperties",
    "maxProperties",
];

/// Keywords that do not constrain a value.
pub const ANNOTATION_KEYWORDS: &[&str] = &[
    "description",
    "title",
    "default",
    "example",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "externalDocs",
];

/// The string formats the checker knows.
pub const FORMATS: &[&str] = &["uuid", "date-time", "email", "uri"];

/// The JSON types a `type` may name.
pub const TYPES: &[&str] = &[
    "null", "boolean", "string", "number", "integer", "array", "object",
];

/// What in one schema object (not the schemas inside it) the checker does not know: unknown
/// keywords, formats and types. Empty when it knows everything.
pub fn unsupported_keywords(schema: &Value) -> Vec<String> {
    let Some(object) = schema.as_object() else {
        return vec![format!("a schema must be an object, not {schema}")];
    };
    let mut out: Vec<String> = object
        .keys()
        .filter(|key| {
            !(ASSERTION_KEYWORDS.contains(&key.as_str())
                || ANNOTATION_KEYWORDS.contains(&key.as_str())
                || key.starts_with("x-"))
        })
        .map(|key| format!("keyword `{key}`"))
        .collect();
    if let Some(format) = schema.get("format").and_then(Value::as_str)
        && !FORMATS.contains(&format)
    {
        out.push(format!("format `{format}`"));
    }
    for t in types_of(schema) {
        if !TYPES.contains(&t) {
            out.push(format!("type `{t}`"));
        }
    }
    out
}

/// The schema's `type`s (empty when it has none).
pub fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The values `enum` (or `const`) allows, if it restricts them.
pub fn enum_values(schema: &Value) -> Option<Vec<Value>> {
    if let Some(value) = schema.get("const") {
        return Some(vec![value.clone()]);
    }
    schema.get("enum").and_then(Value::as_array).cloned()
}

/// Whether `null` is a value of the schema (an optional property whose schema does not allow
/// it refuses `null`: the contract spells nullability as `type: [T, 'null']`).
pub fn allows_null(schema: &Value) -> bool {
    if let Some(values) = enum_values(schema) {
        return values.contains(&Value::Null);
    }
    let types = types_of(schema);
    types.is_empty() && schema.get("type").is_none() || types.contains(&"null")
}

/// Whether `value` is of JSON Schema type `t` (an unknown type matches anything: it is
/// reported by [`unsupported_keywords`], not enforced).
pub fn type_matches(t: &str, value: &Value) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => is_integer(value),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

/// JSON Schema's integer: any number with no fractional part.
pub fn is_integer(value: &Value) -> bool {
    value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// A non-negative integer keyword (`maxLength`, `minItems`...).
pub fn usize_keyword(schema: &Value, key: &str) -> Option<usize> {
    schema
        .get(key)
        .and_then(Value::as_u64)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A numeric keyword (`minimum`, `exclusiveMaximum`...).
pub fn f64_keyword(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

/// `properties` (empty when absent).
pub fn properties(schema: &Value) -> Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `required` (empty when absent).
pub fn required(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// `additionalProperties`: `None` when extra keys are refused, else their schema (`true` or
/// absent: anything).
pub fn additional_schema(schema: &Value) -> Option<Value> {
    match schema.get("additionalProperties") {
        Some(Value::Bool(false)) => None,
        None | Some(Value::Bool(true)) => Some(Value::Object(Map::new())),
        Some(other) => Some(other.clone()),
    }
}

/// A compiled `pattern`, with the semantics of the generated types (`regress`, ECMA-262,
/// unanchored search: `^`/`$` in the pattern are what anchor it).
#[derive(Clone)]
pub struct Pattern {
    source: String,
    regex: Arc<regress::Regex>,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.source)
    }
}

impl Pattern {
    /// Compiles `source` (once per distinct pattern: compiled patterns are shared).
    pub fn new(source: &str) -> Result<Pattern, String> {
        static CACHE: LazyLock<Mutex<HashMap<String, Arc<regress::Regex>>>> =
            LazyLock::new(Default::default);
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let regex = match cache.get(source) {
            Some(regex) => regex.clone(),
            None => {
                let regex = Arc::new(
                    regress::Regex::new(source)
                        .map_err(|e| format!("pattern {source:?} does not compile: {e}"))?,
                );
                cache.insert(source.to_string(), regex.clone());
                regex
            }
        };
        Ok(Pattern {
            source: source.to_string(),
            regex,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, text: &str) -> bool {
        self.regex.find(text).is_some()
    }
}
