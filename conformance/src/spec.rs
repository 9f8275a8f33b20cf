//! The contract as the tests read it: its operations, the pinned list of operations that are
//! not implemented yet, and the pinned list of operations no conformance test calls through
//! the generated client.

use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::LazyLock;

pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");
pub const UNIMPLEMENTED_LIST: &str = include_str!("../unimplemented-operations.txt");
pub const UNCOVERED_LIST: &str = include_str!("../uncovered-operations.txt");

pub static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml parses"));

#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub method: reqwest::Method,
    /// The path template, e.g. `/v1/bots/{bot_id}`.
    pub path: String,
    pub value: Value,
}

impl Operation {
    /// The path with every parameter filled with a well-formed value (a fresh UUID for ids).
    pub fn example_path(&self) -> String {
        self.path_with(&[])
    }

    /// The path with the parameters named in `known` filled with their values, and every
    /// other one as in [`Operation::example_path`].
    pub fn path_with(&self, known: &[(&str, String)]) -> String {
        let mut path = self.path.clone();
        for (name, value) in known {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        for param in self.parameters().filter(|p| p["in"] == "path") {
            let name = param["name"].as_str().expect("a parameter has a name");
            let value = match param["schema"]["format"].as_str() {
                Some("uuid") => uuid::Uuid::new_v4().to_string(),
                _ => "session-1".to_string(),
            };
            path = path.replace(&format!("{{{name}}}"), &value);
        }
        path
    }

    /// The operation's parameters, `$ref`s resolved.
    pub fn parameters(&self) -> impl Iterator<Item = &Value> {
        self.value["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(resolve)
    }

    /// The named schema of a JSON request body, if the operation takes one.
    pub fn json_body_schema(&self) -> Option<&str> {
        self.value
            .pointer("/requestBody/content/application~1json/schema/$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
    }

    pub fn is_multipart(&self) -> bool {
        self.value
            .pointer("/requestBody/content/multipart~1form-data")
            .is_some()
    }

    pub fn rate_limit_class(&self) -> &str {
        self.value["x-rate-limit-class"].as_str().unwrap_or("")
    }
}

/// Follows a local `$ref`.
pub fn resolve(value: &Value) -> &Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => resolve(
            DOCUMENT
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling reference {reference}")),
        ),
        None => value,
    }
}

/// A named schema of `components/schemas`.
pub fn schema(name: &str) -> &'static Value {
    DOCUMENT
        .pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("no schema {name}"))
}

/// Every operation, sorted by operationId.
pub fn operations() -> Vec<Operation> {
    let mut ops = Vec::new();
    for (path, item) in DOCUMENT["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            ops.push(Operation {
                id: op["operationId"].as_str().expect("operationId").to_string(),
                method: method.to_uppercase().parse().expect("an HTTP method"),
                path: path.clone(),
                value: op.clone(),
            });
        }
    }
    ops.sort_by(|a, b| a.id.cmp(&b.id));
    ops
}

/// The operationIds a pinned list names, in its order: one a line, `#` comments and blank
/// lines skipped.
pub fn pinned(list: &str) -> Vec<&str> {
    list.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// The operationIds pinned as not implemented.
pub fn unimplemented() -> BTreeSet<String> {
    pinned(UNIMPLEMENTED_LIST)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// The operationIds pinned as called by no conformance test through the generated client.
pub fn uncovered() -> BTreeSet<String> {
    pinned(UNCOVERED_LIST)
        .into_iter()
        .map(str::to_string)
        .collect()
}
