//! Mutations of the spec that the diff must report: each one edits a copy of `openapi.yaml`
//! in memory and says where (which fragments of a difference's location) it must show up.
//! Targets are searched for rather than named, so that the test outlives spec edits.

use super::schema::resolve;
use serde_json::{Value, json};

/// Fragments that together locate the difference a mutation must cause, or why the spec has
/// nothing to mutate.
type Expected = Result<Vec<String>, String>;

pub struct Mutation {
    pub name: &'static str,
    pub apply: fn(&mut Value) -> Expected,
}

pub const MUTATIONS: &[Mutation] = &[
    Mutation {
        name: "(a) add an operation",
        apply: add_operation,
    },
    Mutation {
        name: "(b) remove an operation",
        apply: remove_operation,
    },
    Mutation {
        name: "(c) add a required field to a request body",
        apply: add_required_body_field,
    },
    Mutation {
        name: "(d) change a property's type",
        apply: change_property_type,
    },
    Mutation {
        name: "(e) change a success status code",
        apply: change_success_status,
    },
    Mutation {
        name: "(f) change a query parameter's `required`",
        apply: flip_query_parameter_required,
    },
    Mutation {
        name: "(g) drop a documented response header",
        apply: drop_success_header,
    },
];

/// An operation's place in the spec.
struct Site {
    /// `METHOD /path`, as the diff names operations.
    key: String,
    path: String,
    method: String,
}

fn sites(spec: &Value) -> Vec<Site> {
    let mut sites = Vec::new();
    for (path, item) in spec
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for (method, _) in item.as_object().into_iter().flatten() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                let key = format!("{} {path}", method.to_uppercase());
                sites.push(Site {
                    key,
                    path: path.clone(),
                    method: method.clone(),
                });
            }
        }
    }
    sites.sort_by(|a, b| a.key.cmp(&b.key));
    sites
}

fn operation_mut<'a>(spec: &'a mut Value, site: &Site) -> Result<&'a mut Value, String> {
    spec.get_mut("paths")
        .and_then(|paths| paths.get_mut(&site.path))
        .and_then(|item| item.get_mut(&site.method))
        .ok_or_else(|| format!("{} vanished", site.key))
}

fn add_operation(spec: &mut Value) -> Expected {
    let site = sites(spec)
        .into_iter()
        .next()
        .ok_or("the spec has no operations")?;
    let mut operation = operation_mut(spec, &site)?.clone();
    operation["operationId"] = json!("contract_drift_added");
    let paths = spec
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .ok_or("no paths")?;
    paths.insert(
        "/v1/contract-drift".to_string(),
        json!({ "get": operation }),
    );
    Ok(vec!["GET /v1/contract-drift (operation)".to_string()])
}

fn remove_operation(spec: &mut Value) -> Expected {
    let site = sites(spec)
        .into_iter()
        .next()
        .ok_or("the spec has no operations")?;
    let item = spec
        .get_mut("paths")
        .and_then(|paths| paths.get_mut(&site.path))
        .and_then(Value::as_object_mut)
        .ok_or("no path item")?;
    item.remove(&site.method);
    Ok(vec![format!("{} (operation)", site.key)])
}

/// Operations with a JSON request body naming a component schema: (site, schema name).
fn json_bodies(spec: &Value) -> Vec<(Site, String)> {
    let mut bodies = Vec::new();
    for site in sites(spec) {
        let body = spec
            .pointer(&format!(
                "/paths/{}/{}/requestBody",
                escape(&site.path),
                site.method
            ))
            .map(|body| resolve(spec, body));
        let name = body
            .and_then(|body| body.pointer("/content/application~1json/schema/$ref"))
            .and_then(Value::as_str)
            .and_then(|reference| reference.strip_prefix("#/components/schemas/"));
        if let Some(name) = name {
            bodies.push((site, name.to_string()));
        }
    }
    bodies
}

/// A JSON pointer token for `text`.
fn escape(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

fn schema_mut<'a>(spec: &'a mut Value, name: &str) -> Result<&'a mut Value, String> {
    spec.pointer_mut(&format!("/components/schemas/{}", escape(name)))
        .ok_or_else(|| format!("no schema {name}"))
}

fn add_required_body_field(spec: &mut Value) -> Expected {
    let (site, name) = json_bodies(spec)
        .into_iter()
        .next()
        .ok_or("no JSON request body")?;
    let schema = schema_mut(spec, &name)?;
    schema["properties"]["contract_drift_field"] = json!({ "type": "string" });
    match schema.get_mut("required").and_then(Value::as_array_mut) {
        Some(required) => required.push(json!("contract_drift_field")),
        None => schema["required"] = json!(["contract_drift_field"]),
    }
    Ok(vec![
        site.key,
        "request body".to_string(),
        "$.contract_drift_field".to_string(),
    ])
}

fn change_property_type(spec: &mut Value) -> Expected {
    for (site, name) in json_bodies(spec) {
        let schema = schema_mut(spec, &name)?;
        let properties = schema.get_mut("properties").and_then(Value::as_object_mut);
        let string_property = properties
            .into_iter()
            .flatten()
            .find(|(_, p)| p.get("type") == Some(&json!("string")));
        if let Some((property, definition)) = string_property {
            definition["type"] = json!("integer");
            return Ok(vec![site.key, format!("$.{property} > type")]);
        }
    }
    Err("no request body schema has a string property".to_string())
}

fn change_success_status(spec: &mut Value) -> Expected {
    for site in sites(spec) {
        let responses = operation_mut(spec, &site)?
            .get_mut("responses")
            .and_then(Value::as_object_mut);
        let Some(responses) = responses else { continue };
        // A JSON response, whose status dropshot documents exactly (a raw one is `default`).
        let json_ok = responses
            .get("200")
            .and_then(|ok| ok.pointer("/content/application~1json"));
        if json_ok.is_some()
            && let Some(ok) = responses.remove("200")
        {
            responses.insert("203".to_string(), ok);
            return Ok(vec![site.key, "success status".to_string()]);
        }
    }
    Err("no operation answers 200 with JSON".to_string())
}

fn flip_query_parameter_required(spec: &mut Value) -> Expected {
    for site in sites(spec) {
        let parameters = operation_mut(spec, &site)?
            .get("parameters")
            .and_then(Value::as_array)
            .cloned();
        for (index, parameter) in parameters.into_iter().flatten().enumerate() {
            // A copy of the (maybe shared) parameter, so that only this operation changes.
            let mut parameter = resolve(spec, &parameter).clone();
            let in_query = parameter.get("in") == Some(&json!("query"));
            if in_query && parameter.get("required") != Some(&json!(true)) {
                parameter["required"] = json!(true);
                let name = parameter
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                operation_mut(spec, &site)?["parameters"][index] = parameter;
                return Ok(vec![site.key, format!("parameter query {name} > required")]);
            }
        }
    }
    Err("no operation has an optional query parameter".to_string())
}

fn drop_success_header(spec: &mut Value) -> Expected {
    for site in sites(spec) {
        let responses = operation_mut(spec, &site)?
            .get("responses")
            .and_then(Value::as_object)
            .cloned();
        for (code, response) in responses.into_iter().flatten() {
            if !code.starts_with('2') {
                continue;
            }
            // A copy of the (maybe shared) response, so that only this operation changes.
            let mut response = resolve(spec, &response).clone();
            let Some(headers) = response.get_mut("headers").and_then(Value::as_object_mut) else {
                continue;
            };
            let Some(header) = headers.keys().next().cloned() else {
                continue;
            };
            headers.remove(&header);
            operation_mut(spec, &site)?["responses"][&code] = response;
            let header = header.to_ascii_lowercase();
            return Ok(vec![
                site.key,
                format!("success response > header {header}"),
            ]);
        }
    }
    Err("no success response documents a header".to_string())
}
