//! Operations: the two documents compared per (METHOD, path).
//!
//! Every key of an operation, parameter, body, media type, response and header is looked at:
//! the ones this module knows are compared (or handed to a named rule), and any other key
//! counts as a difference when the two sides disagree on it, so that a construct this test
//! does not understand fails loudly instead of passing unseen.

use super::diff::{Comparison, shown};
use super::rules::{
    ERROR_RESPONSES, MEDIA_EXAMPLES, MESSAGE_DESCRIPTIONS, MULTIPART_BODY, RAW_SUCCESS_HEADERS,
    RAW_SUCCESS_MEDIA_TYPE, SECURITY_AND_RATE_LIMIT_CLASS,
};
use super::schema::{diff_schema, normal_form, resolve};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The schema every error response of the contract uses.
const ERROR_ENVELOPE: &str = "#/components/schemas/Error";

/// The two documents, for resolving each side's references.
#[derive(Clone, Copy)]
struct Docs<'a> {
    spec: &'a Value,
    emitted: &'a Value,
}

/// Compares `spec` (openapi.yaml as JSON) with `emitted` (dropshot's document).
pub fn compare(spec: &Value, emitted: &Value) -> Comparison {
    let docs = Docs { spec, emitted };
    let mut cmp = Comparison::default();
    let (spec_ops, emitted_ops) = (operations(spec), operations(emitted));
    let keys: BTreeSet<&String> = spec_ops.keys().chain(emitted_ops.keys()).collect();
    for key in keys {
        match (spec_ops.get(key), emitted_ops.get(key)) {
            (Some(s), Some(e)) => compare_operation(&mut cmp, docs, key, s, e),
            (s, e) => cmp.differ_text(format!("{key} (operation)"), presence(s), presence(e)),
        }
    }
    compare_path_item_extras(&mut cmp, docs);
    let at = format!("Error envelope ({ERROR_ENVELOPE}) > $");
    let reference = json!({ "$ref": ERROR_ENVELOPE });
    let (spec_envelope, emitted_envelope) = (
        normal_form(spec, &reference),
        normal_form(emitted, &reference),
    );
    diff_schema(&mut cmp, &at, &spec_envelope, &emitted_envelope, false);
    cmp
}

/// Every operation of `doc`, keyed `METHOD /path`.
pub fn operations(doc: &Value) -> BTreeMap<String, &Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for (method, op) in item.as_object().into_iter().flatten() {
            if HTTP_METHODS.contains(&method.as_str()) {
                ops.insert(format!("{} {path}", method.to_uppercase()), op);
            }
        }
    }
    ops
}

fn presence(op: Option<&&Value>) -> String {
    match op {
        Some(op) => format!("operation {}", shown(op.get("operationId"))),
        None => "(absent)".to_string(),
    }
}

/// Path-item keys that are not operations (path-level `parameters`, `summary`, ...).
fn compare_path_item_extras(cmp: &mut Comparison, docs: Docs<'_>) {
    let extras = |doc: &Value| -> BTreeMap<String, Value> {
        let mut extras = BTreeMap::new();
        for (path, item) in doc
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for (key, value) in item.as_object().into_iter().flatten() {
                if !HTTP_METHODS.contains(&key.as_str()) {
                    extras.insert(format!("{path} > {key}"), value.clone());
                }
            }
        }
        extras
    };
    let (spec, emitted) = (extras(docs.spec), extras(docs.emitted));
    let keys: BTreeSet<&String> = spec.keys().chain(emitted.keys()).collect();
    for key in keys {
        if spec.get(key) != emitted.get(key) {
            cmp.differ(key.as_str(), spec.get(key), emitted.get(key));
        }
    }
}

fn compare_operation(
    cmp: &mut Comparison,
    docs: Docs<'_>,
    at: &str,
    spec: &Value,
    emitted: &Value,
) {
    for key in union_of_keys(spec, emitted) {
        let (s, e) = (spec.get(&key), emitted.get(&key));
        let here = format!("{at} > {key}");
        match key.as_str() {
            "tags" => {
                let (s_tags, e_tags) = (sorted_strings(s), sorted_strings(e));
                if s_tags != e_tags {
                    cmp.differ_text(here, format!("{s_tags:?}"), format!("{e_tags:?}"));
                }
            }
            "summary" | "description" => compare_prose(cmp, &here, s, e),
            "parameters" => compare_parameters(cmp, docs, at, s, e),
            "requestBody" => compare_request_body(cmp, docs, &format!("{at} > request body"), s, e),
            "responses" => compare_responses(cmp, docs, at, s, e),
            "security" | "x-rate-limit-class" | "x-botwire-access" => {
                if s != e {
                    cmp.accept(&SECURITY_AND_RATE_LIMIT_CLASS, here, s, e);
                }
            }
            // operationId and anything this test has no special knowledge of: equal or not.
            _ => {
                if s != e {
                    cmp.differ(here, s, e);
                }
            }
        }
    }
}

fn compare_parameters(
    cmp: &mut Comparison,
    docs: Docs<'_>,
    at: &str,
    spec: Option<&Value>,
    emitted: Option<&Value>,
) {
    let (spec_params, emitted_params) = (
        parameters(docs.spec, spec),
        parameters(docs.emitted, emitted),
    );
    let keys: BTreeSet<&String> = spec_params.keys().chain(emitted_params.keys()).collect();
    for key in keys {
        let here = format!("{at} > parameter {key}");
        match (spec_params.get(key), emitted_params.get(key)) {
            (Some(s), Some(e)) => compare_parameter(cmp, docs, &here, s, e),
            (s, e) => cmp.differ(here, s.copied(), e.copied()),
        }
    }
}

/// An operation's parameters keyed `<in> <name>`; header names are case-insensitive.
fn parameters<'a>(doc: &'a Value, list: Option<&'a Value>) -> BTreeMap<String, &'a Value> {
    let mut params = BTreeMap::new();
    for param in list.and_then(Value::as_array).into_iter().flatten() {
        let param = resolve(doc, param);
        let location = param.get("in").and_then(Value::as_str).unwrap_or("?");
        let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
        let name = if location == "header" {
            name.to_ascii_lowercase()
        } else {
            name.to_string()
        };
        params.insert(format!("{location} {name}"), param);
    }
    params
}

fn compare_parameter(
    cmp: &mut Comparison,
    docs: Docs<'_>,
    at: &str,
    spec: &Value,
    emitted: &Value,
) {
    let default_style = match spec.get("in").and_then(Value::as_str) {
        Some("query") => "form",
        _ => "simple",
    };
    let (spec, emitted) = (
        without_defaults(
            spec,
            &[("required", json!(false)), ("style", json!(default_style))],
        ),
        without_defaults(
            emitted,
            &[("required", json!(false)), ("style", json!(default_style))],
        ),
    );
    for key in union_of_keys(&spec, &emitted) {
        let (s, e) = (spec.get(&key), emitted.get(&key));
        match key.as_str() {
            // Part of the key (a header name's case is not significant).
            "name" | "in" => {}
            "description" => compare_prose(cmp, &format!("{at} > description"), s, e),
            "schema" => {
                let optional = !is_true(spec.get("required")) && !is_true(emitted.get("required"));
                compare_schema(cmp, docs, &format!("{at} > $"), s, e, optional);
            }
            _ => {
                if s != e {
                    cmp.differ(format!("{at} > {key}"), s, e);
                }
            }
        }
    }
}

fn compare_request_body(
    cmp: &mut Comparison,
    docs: Docs<'_>,
    at: &str,
    spec: Option<&Value>,
    emitted: Option<&Value>,
) {
    let (spec, emitted) = match (spec, emitted) {
        (Some(s), Some(e)) => (resolve(docs.spec, s), resolve(docs.emitted, e)),
        (s, e) => return cmp.differ(at, s, e),
    };
    let (spec, emitted) = (
        without_defaults(spec, &[("required", json!(false))]),
        without_defaults(emitted, &[("required", json!(false))]),
    );
    for key in union_of_keys(&spec, &emitted) {
        let (s, e) = (spec.get(&key), emitted.get(&key));
        match key.as_str() {
            "description" => {
                if s != e {
                    cmp.accept(&MESSAGE_DESCRIPTIONS, format!("{at} > description"), s, e);
                }
            }
            "content" => compare_content(cmp, docs, at, s, e),
            _ => {
                if s != e {
                    cmp.differ(format!("{at} > {key}"), s, e);
                }
            }
        }
    }
}

/// Compares `content` maps (media type -> media object) of a body or response.
fn compare_content(
    cmp: &mut Comparison,
    docs: Docs<'_>,
    at: &str,
    spec: Option<&Value>,
    emitted: Option<&Value>,
) {
    let empty = Map::new();
    let spec = spec.and_then(Value::as_object).unwrap_or(&empty);
    let emitted = emitted.and_then(Value::as_object).unwrap_or(&empty);
    let (spec_types, emitted_types): (BTreeSet<&String>, BTreeSet<&String>) =
        (spec.keys().collect(), emitted.keys().collect());
    if spec_types != emitted_types {
        cmp.differ_text(
            format!("{at} > media types"),
            format!("{spec_types:?}"),
            format!("{emitted_types:?}"),
        );
    }
    for media_type in spec_types.intersection(&emitted_types) {
        let (s, e) = (&spec[*media_type], &emitted[*media_type]);
        if media_type.as_str() == "multipart/form-data" {
            if s != e {
                cmp.accept(
                    &MULTIPART_BODY,
                    format!("{at} > {media_type}"),
                    Some(s),
                    Some(e),
                );
            }
            continue;
        }
        let here = format!("{at} > {media_type}");
        for key in union_of_keys(s, e) {
            let (s_value, e_value) = (s.get(&key), e.get(&key));
            match key.as_str() {
                "schema" => {
                    compare_schema(cmp, docs, &format!("{here} > $"), s_value, e_value, false)
                }
                "example" | "examples" => {
                    if s_value != e_value {
                        cmp.accept(&MEDIA_EXAMPLES, format!("{here} > {key}"), s_value, e_value);
                    }
                }
                _ => {
                    if s_value != e_value {
                        cmp.differ(format!("{here} > {key}"), s_value, e_value);
                    }
                }
            }
        }
    }
}

fn compare_schema(
    cmp: &mut Comparison,
    docs: Docs<'_>,
    at: &str,
    spec: Option<&Value>,
    emitted: Option<&Value>,
    optional: bool,
) {
    // A media type or parameter without a schema allows anything.
    let any = json!({});
    let spec = normal_form(docs.spec, spec.unwrap_or(&any));
    let emitted = normal_form(docs.emitted, emitted.unwrap_or(&any));
    diff_schema(cmp, at, &spec, &emitted, optional);
}

fn compare_responses(
    cmp: &mut Comparison,
    docs: Docs<'_>,
    at: &str,
    spec: Option<&Value>,
    emitted: Option<&Value>,
) {
    let (spec_success, spec_errors) = split_responses(spec);
    let (emitted_success, emitted_errors) = split_responses(emitted);
    let (spec_codes, emitted_codes): (Vec<&String>, Vec<&String>) = (
        spec_success.keys().collect(),
        emitted_success.keys().collect(),
    );
    if spec_codes != emitted_codes {
        cmp.differ_text(
            format!("{at} > success status"),
            format!("{spec_codes:?}"),
            format!("{emitted_codes:?}"),
        );
    }
    // Compared even when the status differs, so that one change does not hide another.
    if let ([s], [e]) = (
        spec_success.values().collect::<Vec<_>>().as_slice(),
        emitted_success.values().collect::<Vec<_>>().as_slice(),
    ) {
        compare_success_response(cmp, docs, &format!("{at} > success response"), s, e);
    }
    compare_error_responses(cmp, docs, at, &spec_errors, &emitted_errors);
}

/// Splits responses into the success ones (2XX; `default` when there is none, which is how
/// dropshot documents a response of any status) and the rest.
fn split_responses(
    responses: Option<&Value>,
) -> (BTreeMap<String, &Value>, BTreeMap<String, &Value>) {
    let (mut success, mut errors) = (BTreeMap::new(), BTreeMap::new());
    for (code, response) in responses.and_then(Value::as_object).into_iter().flatten() {
        let code = code.to_uppercase();
        if code.starts_with('2') {
            success.insert(code, response);
        } else {
            errors.insert(code, response);
        }
    }
    if success.is_empty()
        && let Some(response) = errors.remove("DEFAULT")
    {
        success.insert("default".to_string(), response);
    }
    (success, errors)
}

fn compare_success_response(
    cmp: &mut Comparison,
    docs: Docs<'_>,
    at: &str,
    spec: &Value,
    emitted: &Value,
) {
    let (spec, emitted) = (resolve(docs.spec, spec), resolve(docs.emitted, emitted));
    let media_types = |response: &Value| -> Vec<String> {
        response
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect()
    };
    let (spec_types, emitted_types) = (media_types(spec), media_types(emitted));
    let emitted_raw = emitted_types == ["*/*"];
    let spec_raw = matches!(spec_types.as_slice(), [only] if !is_json(only));
    for key in union_of_keys(spec, emitted) {
        let (s, e) = (spec.get(&key), emitted.get(&key));
        match key.as_str() {
            "description" => {
                if s != e {
                    cmp.accept(&MESSAGE_DESCRIPTIONS, format!("{at} > description"), s, e);
                }
            }
            "content" if spec_raw && emitted_raw => {
                // What the any-schema says is all dropshot can say; the spec's is not comparable.
                cmp.accept(&RAW_SUCCESS_MEDIA_TYPE, format!("{at} > content"), s, e);
            }
            "content" => compare_content(cmp, docs, at, s, e),
            "headers" if emitted_raw && e.is_none() => {
                cmp.accept(&RAW_SUCCESS_HEADERS, format!("{at} > headers"), s, e);
            }
            "headers" => compare_headers(cmp, docs, at, s, e),
            _ => {
                if s != e {
                    cmp.differ(format!("{at} > {key}"), s, e);
                }
            }
        }
    }
}

fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

fn compare_headers(
    cmp: &mut Comparison,
    docs: Docs<'_>,
    at: &str,
    spec: Option<&Value>,
    emitted: Option<&Value>,
) {
    let headers = |doc: &'_ Value, map: Option<&'_ Value>| -> BTreeMap<String, Value> {
        map.and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, header)| (name.to_ascii_lowercase(), resolve(doc, header).clone()))
            .collect()
    };
    let (spec, emitted) = (headers(docs.spec, spec), headers(docs.emitted, emitted));
    let names: BTreeSet<&String> = spec.keys().chain(emitted.keys()).collect();
    for name in names {
        let here = format!("{at} > header {name}");
        let (s, e) = match (spec.get(name), emitted.get(name)) {
            (Some(s), Some(e)) => (s, e),
            (s, e) => {
                cmp.differ(here, s, e);
                continue;
            }
        };
        let defaults = [("required", json!(false)), ("style", json!("simple"))];
        let (s, e) = (
            without_defaults(s, &defaults),
            without_defaults(e, &defaults),
        );
        for key in union_of_keys(&s, &e) {
            let (s_value, e_value) = (s.get(&key), e.get(&key));
            match key.as_str() {
                "description" => {
                    compare_prose(cmp, &format!("{here} > description"), s_value, e_value)
                }
                "schema" => {
                    let optional = !is_true(s.get("required")) && !is_true(e.get("required"));
                    compare_schema(
                        cmp,
                        docs,
                        &format!("{here} > $"),
                        s_value,
                        e_value,
                        optional,
                    );
                }
                _ => {
                    if s_value != e_value {
                        cmp.differ(format!("{here} > {key}"), s_value, e_value);
                    }
                }
            }
        }
    }
}

/// See [`ERROR_RESPONSES`]: each spec error response must be the `Error` envelope, and the
/// emitted operation must have exactly `4XX` and `5XX`, both the `Error` envelope.
fn compare_error_responses(
    cmp: &mut Comparison,
    docs: Docs<'_>,
    at: &str,
    spec: &BTreeMap<String, &Value>,
    emitted: &BTreeMap<String, &Value>,
) {
    let envelope = format!("the `Error` envelope ({ERROR_ENVELOPE})");
    for (code, response) in spec {
        let response = resolve(docs.spec, response);
        if !is_error_envelope(response) {
            cmp.differ_text(
                format!("{at} > response {code}"),
                shown(response.get("content")),
                &envelope,
            );
        }
    }
    for range in ["4XX", "5XX"] {
        let response = emitted.get(range).map(|r| resolve(docs.emitted, r));
        if !response.is_some_and(is_error_envelope) {
            cmp.differ_text(
                format!("{at} > response {range}"),
                &envelope,
                shown(response.and_then(|r| r.get("content")).or(response)),
            );
        }
    }
    for (code, response) in emitted {
        if code != "4XX" && code != "5XX" {
            cmp.differ(format!("{at} > response {code}"), None, Some(response));
        }
    }
    let resolved = |doc: &Value, responses: &BTreeMap<String, &Value>| -> BTreeMap<String, Value> {
        responses
            .iter()
            .map(|(code, r)| (code.clone(), resolve(doc, r).clone()))
            .collect()
    };
    if resolved(docs.spec, spec) != resolved(docs.emitted, emitted) {
        let codes =
            |responses: &BTreeMap<String, &Value>| json!(responses.keys().collect::<Vec<_>>());
        let (spec_codes, emitted_codes) = (codes(spec), codes(emitted));
        cmp.accept(
            &ERROR_RESPONSES,
            format!("{at} > error responses"),
            Some(&spec_codes),
            Some(&emitted_codes),
        );
    }
}

fn is_error_envelope(response: &Value) -> bool {
    let content = response.get("content").and_then(Value::as_object);
    let json_schema = content
        .filter(|content| content.len() == 1)
        .and_then(|content| content.get("application/json"))
        .and_then(|media| media.get("schema"));
    json_schema
        .and_then(|schema| schema.get("$ref"))
        .and_then(Value::as_str)
        == Some(ERROR_ENVELOPE)
}

/// Prose compared with whitespace runs (line wrapping, paragraph breaks) collapsed.
fn compare_prose(cmp: &mut Comparison, at: &str, spec: Option<&Value>, emitted: Option<&Value>) {
    let collapse = |value: Option<&Value>| -> Option<String> {
        value
            .and_then(Value::as_str)
            .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    let (spec_text, emitted_text) = (collapse(spec), collapse(emitted));
    if spec_text != emitted_text {
        let show = |text: Option<String>| {
            text.map_or_else(|| "(absent)".to_string(), |t| format!("{t:?}"))
        };
        cmp.differ_text(at, show(spec_text), show(emitted_text));
    }
}

fn union_of_keys(a: &Value, b: &Value) -> BTreeSet<String> {
    let keys = |v: &Value| {
        v.as_object()
            .into_iter()
            .flat_map(|m| m.keys().cloned())
            .collect::<Vec<_>>()
    };
    keys(a).into_iter().chain(keys(b)).collect()
}

/// `value` without the keys whose value is the OpenAPI default (absent means the same).
fn without_defaults(value: &Value, defaults: &[(&str, Value)]) -> Value {
    let mut value = value.clone();
    if let Some(map) = value.as_object_mut() {
        for (key, default) in defaults {
            if map.get(*key) == Some(default) {
                map.remove(*key);
            }
        }
    }
    value
}

fn is_true(value: Option<&Value>) -> bool {
    value == Some(&Value::Bool(true))
}

fn sorted_strings(value: Option<&Value>) -> Vec<String> {
    let mut strings: Vec<String> = value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|tag| tag.as_str().map_or_else(|| tag.to_string(), str::to_string))
        .collect();
    strings.sort();
    strings
}
