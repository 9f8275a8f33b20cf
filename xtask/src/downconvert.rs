//! OpenAPI 3.1 -> 3.0.3, for progenitor (which reads 3.0 only).
//!
//! The contract keeps to a subset that converts without loss of meaning:
//! - `type: [T, "null"]` becomes `type: T` with `nullable: true`;
//! - `const: x` becomes `enum: [x]`;
//! - a schema's `examples: [a, ...]` becomes `example: a`;
//! - numeric `exclusiveMinimum`/`exclusiveMaximum` become `minimum`/`maximum` plus the
//!   boolean form;
//! - `info.summary`, `info.license.identifier` and the top-level `webhooks` (3.1 only) are
//!   dropped: they document, and the client has no use for them;
//! - operations with a `multipart/form-data` body are dropped: progenitor cannot generate
//!   them, and the client crate has a hand-written upload beside the generated code.

use anyhow::{Result, bail};
use serde_json::{Map, Value};

pub fn to_openapi_30(doc: &Value) -> Result<Value> {
    let mut doc = doc.clone();
    let root = doc.as_object_mut().expect("a document is an object");
    root.insert("openapi".into(), Value::String("3.0.3".into()));
    root.remove("webhooks");
    if let Some(info) = root.get_mut("info").and_then(Value::as_object_mut) {
        info.remove("summary");
        if let Some(license) = info.get_mut("license").and_then(Value::as_object_mut) {
            license.remove("identifier");
        }
    }
    if let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            if let Some(item) = item.as_object_mut() {
                item.retain(|_, op| !is_multipart(op));
            }
        }
        paths.retain(|_, item| item.as_object().is_some_and(|ops| !ops.is_empty()));
    }
    convert(&mut doc)?;
    Ok(doc)
}

fn is_multipart(op: &Value) -> bool {
    op.pointer("/requestBody/content/multipart~1form-data")
        .is_some()
}

fn convert(value: &mut Value) -> Result<()> {
    match value {
        Value::Object(map) => {
            convert_schema_keywords(map)?;
            for (key, child) in map.iter_mut() {
                // Example values are data, not schemas: leave them as they are.
                if key == "example" || key == "examples" {
                    continue;
                }
                convert(child)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                convert(item)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn convert_schema_keywords(map: &mut Map<String, Value>) -> Result<()> {
    if let Some(Value::Array(types)) = map.get("type") {
        let non_null: Vec<&Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .collect();
        let nullable = non_null.len() < types.len();
        let [single] = non_null.as_slice() else {
            bail!("multi-type union {types:?} is outside the contract's subset");
        };
        let single = (*single).clone();
        map.insert("type".into(), single);
        if nullable {
            map.insert("nullable".into(), Value::Bool(true));
        }
    }
    if let Some(constant) = map.remove("const") {
        map.insert("enum".into(), Value::Array(vec![constant]));
    }
    if let Some(Value::Array(examples)) = map.get("examples") {
        let first = examples.first().cloned();
        map.remove("examples");
        if let Some(first) = first {
            map.entry("example").or_insert(first);
        }
    }
    for (exclusive, inclusive) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(bound) = map.get(exclusive).filter(|v| v.is_number()).cloned() {
            map.insert(inclusive.into(), bound);
            map.insert(exclusive.into(), Value::Bool(true));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_the_subset() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1", "summary": "s",
                     "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}},
            "webhooks": {"x": {}},
            "paths": {"/up": {"post": {"requestBody": {"content": {"multipart/form-data": {}}}}}},
            "components": {"schemas": {"A": {
                "type": "object",
                "properties": {
                    "n": {"type": ["string", "null"], "examples": ["a", "b"]},
                    "k": {"const": "x"},
                    "m": {"type": "number", "exclusiveMinimum": 0},
                    "e": {"type": "object", "example": {"type": ["kept", "null"]}}
                }
            }}}
        });
        let out = to_openapi_30(&doc).unwrap();
        assert_eq!(
            out,
            json!({
                "openapi": "3.0.3",
                "info": {"title": "t", "version": "1", "license": {"name": "Apache-2.0"}},
                "paths": {},
                "components": {"schemas": {"A": {
                    "type": "object",
                    "properties": {
                        "n": {"type": "string", "nullable": true, "example": "a"},
                        "k": {"enum": ["x"]},
                        "m": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
                        "e": {"type": "object", "example": {"type": ["kept", "null"]}}
                    }
                }}}
            })
        );
    }

    #[test]
    fn refuses_multi_type_unions() {
        let doc = json!({"openapi": "3.1.0", "info": {},
            "components": {"schemas": {"A": {"type": ["string", "integer"]}}}});
        assert!(to_openapi_30(&doc).is_err());
    }
}
