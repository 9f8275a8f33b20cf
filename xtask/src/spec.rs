//! A typed view of the parts of `openapi.yaml` that code generation needs.
//!
//! The contract is read as plain JSON (`serde_json::Value`) and this module pulls out of it
//! only what the generators use, refusing constructs outside the subset the generators
//! understand (see ARCHITECTURE.md, "The contract's subset"), so that an unsupported spec edit
//! fails loudly at `cargo xtask regen` instead of producing a silently wrong interface.

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value};
use std::path::Path;

pub const HTTP_METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Reads `openapi.yaml` into JSON.
pub fn load(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(value)
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub required: bool,
    pub schema: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `application/json` with a `$ref` to a named schema.
    Json(String),
    /// `multipart/form-data` (document uploads).
    Multipart,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuccessBody {
    /// `application/json` with a `$ref` to a named schema.
    Json(String),
    /// No content (204).
    Empty,
    /// A single non-JSON media type (SSE, YAML, HTML, plain text): a raw response.
    Raw(String),
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
    pub description: String,
    pub rate_limit_class: String,
    /// `x-botwire-access`: who, beyond the credential forms, may call it.
    pub access: String,
    pub path_params: Vec<Param>,
    pub query_params: Vec<Param>,
    pub header_params: Vec<Param>,
    pub body: Option<Body>,
    pub success_status: u16,
    pub success: SuccessBody,
    /// The security schemes that admit a caller, in the contract's order (empty: public).
    pub security: Vec<String>,
}

const RATE_LIMIT_CLASSES: [&str; 4] = ["standard", "chat", "auth", "none"];

/// The contract's `x-botwire-access` values (its `info.description` defines them).
const ACCESS_RULES: [&str; 10] = [
    "public",
    "user",
    "account",
    "bot-owner",
    "bot-team-admin",
    "bot-team-agent",
    "bot-visitor",
    "team-member",
    "team-admin",
    "team-owner",
];

/// Follows a local `$ref` (`#/components/...`) to its target.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Result<&'a Value> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .ok_or_else(|| anyhow!("only local references are supported: {reference}"))?;
            let target = doc
                .pointer(pointer)
                .ok_or_else(|| anyhow!("dangling reference {reference}"))?;
            resolve(doc, target)
        }
        None => Ok(value),
    }
}

/// The name of a `#/components/schemas/<Name>` reference.
pub fn schema_ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
}

/// Every operation of the document, sorted by operationId so that output is stable.
pub fn operations(doc: &Value) -> Result<Vec<Operation>> {
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("the document has no paths"))?;
    let mut ops = Vec::new();
    for (path, item) in paths {
        let item = item
            .as_object()
            .ok_or_else(|| anyhow!("path {path} is not an object"))?;
        for (method, op) in item {
            if !HTTP_METHODS.contains(&method.as_str()) {
                bail!("{path}: unsupported key {method} (parameters belong on operations)");
            }
            ops.push(
                operation(doc, path, method, op)
                    .with_context(|| format!("{} {path}", method.to_uppercase()))?,
            );
        }
    }
    ops.sort_by(|a, b| a.id.cmp(&b.id));
    for pair in ops.windows(2) {
        if pair[0].id == pair[1].id {
            bail!("operationId {} is used twice", pair[0].id);
        }
    }
    Ok(ops)
}

fn text(op: &Value, key: &str) -> Result<String> {
    op.get(key)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .ok_or_else(|| anyhow!("missing {key}"))
}

fn operation(doc: &Value, path: &str, method: &str, op: &Value) -> Result<Operation> {
    let id = text(op, "operationId")?;
    let valid_id = id.contains('_')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_id {
        bail!("operationId {id} is not of the form <resource>_<verb>");
    }
    let tags = op
        .get("tags")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("{id}: no tags"))?;
    let [tag] = tags.as_slice() else {
        bail!("{id}: exactly one tag expected")
    };
    let tag = tag
        .as_str()
        .ok_or_else(|| anyhow!("{id}: tag is not a string"))?
        .to_string();
    let rate_limit_class = text(op, "x-rate-limit-class").with_context(|| id.clone())?;
    if !RATE_LIMIT_CLASSES.contains(&rate_limit_class.as_str()) {
        bail!("{id}: unknown x-rate-limit-class {rate_limit_class}");
    }
    let access = text(op, "x-botwire-access").with_context(|| id.clone())?;
    if !ACCESS_RULES.contains(&access.as_str()) {
        bail!("{id}: unknown x-botwire-access {access}");
    }
    let security = security_schemes(doc, &id, op)?;
    if (access == "public") != security.is_empty() {
        bail!("{id}: x-botwire-access public goes with an empty security, and only it");
    }

    let mut path_params = Vec::new();
    let mut query_params = Vec::new();
    let mut header_params = Vec::new();
    for param in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let param = resolve(doc, param)?;
        let name = text(param, "name")?;
        let location = text(param, "in")?;
        let mut schema = param
            .get("schema")
            .cloned()
            .ok_or_else(|| anyhow!("{name}: no schema"))?;
        if let (Some(description), Some(obj)) = (param.get("description"), schema.as_object_mut()) {
            obj.entry("description")
                .or_insert_with(|| description.clone());
        }
        let required = param
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let p = Param {
            name,
            required,
            schema,
        };
        match location.as_str() {
            "path" => path_params.push(p),
            "query" => query_params.push(p),
            "header" => header_params.push(p),
            other => bail!("{id}: parameters in {other} are not supported"),
        }
    }
    for p in &path_params {
        if !path.contains(&format!("{{{}}}", p.name)) || !p.required {
            bail!(
                "{id}: path parameter {} must appear in the path and be required",
                p.name
            );
        }
    }

    let body = match op.get("requestBody") {
        None => None,
        Some(body) => {
            let body = resolve(doc, body)?;
            let content = body
                .get("content")
                .and_then(Value::as_object)
                .ok_or_else(|| anyhow!("{id}: request body without content"))?;
            if content.len() != 1 {
                bail!("{id}: a request body has exactly one media type");
            }
            let (media, media_obj) = content.iter().next().expect("one entry");
            match media.as_str() {
                "application/json" => {
                    let schema = media_obj.get("schema").unwrap_or(&Value::Null);
                    let name = schema_ref_name(schema).ok_or_else(|| {
                        anyhow!("{id}: a JSON request body must be a $ref to a named schema")
                    })?;
                    Some(Body::Json(name.to_string()))
                }
                "multipart/form-data" => Some(Body::Multipart),
                other => bail!("{id}: request media type {other} is not supported"),
            }
        }
    };

    let responses = op
        .get("responses")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("{id}: no responses"))?;
    if responses.contains_key("default") {
        bail!("{id}: `default` responses are not allowed; name the status codes");
    }
    let successes: Vec<(&String, &Value)> = responses
        .iter()
        .filter(|(code, _)| code.starts_with('2'))
        .collect();
    let [(code, response)] = successes.as_slice() else {
        bail!("{id}: exactly one success response expected")
    };
    let success_status: u16 = code
        .parse()
        .map_err(|_| anyhow!("{id}: success status {code} must be exact"))?;
    let response = resolve(doc, response)?;
    let success = match response.get("content").and_then(Value::as_object) {
        None => SuccessBody::Empty,
        Some(content) if content.len() == 1 => {
            let (media, media_obj) = content.iter().next().expect("one entry");
            if media == "application/json" {
                let schema = media_obj.get("schema").unwrap_or(&Value::Null);
                let name = schema_ref_name(schema).ok_or_else(|| {
                    anyhow!("{id}: a JSON response must be a $ref to a named schema")
                })?;
                SuccessBody::Json(name.to_string())
            } else {
                SuccessBody::Raw(media.clone())
            }
        }
        Some(_) => bail!("{id}: a success response has exactly one media type"),
    };
    match (success_status, &success) {
        (204, SuccessBody::Empty) | (200..=202, SuccessBody::Json(_)) => {}
        (200, SuccessBody::Raw(_)) => {}
        (status, _) => bail!("{id}: status {status} with this body is not supported"),
    }

    Ok(Operation {
        id,
        method: method.to_string(),
        path: path.to_string(),
        tag,
        summary: text(op, "summary")?,
        description: text(op, "description")?,
        rate_limit_class,
        access,
        path_params,
        query_params,
        header_params,
        body,
        success_status,
        success,
        security,
    })
}

/// The schemes of an operation's `security` alternatives; each alternative names one scheme.
fn security_schemes(doc: &Value, id: &str, op: &Value) -> Result<Vec<String>> {
    let requirements = op
        .get("security")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("{id}: every operation states its security requirement"))?;
    let known = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    let mut schemes = Vec::new();
    for requirement in requirements {
        let names: Vec<&String> = requirement
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        let [name] = names.as_slice() else {
            bail!("{id}: a security alternative names exactly one scheme");
        };
        if !known.is_some_and(|k| k.contains_key(name.as_str())) {
            bail!("{id}: unknown security scheme {name}");
        }
        schemes.push((*name).clone());
    }
    Ok(schemes)
}

/// `bot_create` -> `BotCreate`.
pub fn pascal_case(snake: &str) -> String {
    snake
        .split(['_', '-', '.'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().expect("non-empty").to_ascii_uppercase();
            std::iter::once(first).chain(chars).collect::<String>()
        })
        .collect()
}

/// The object schema that holds an operation's parameters of one location, for typify.
pub fn params_schema(params: &[Param]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in params {
        properties.insert(p.name.clone(), p.schema.clone());
        if p.required {
            required.push(Value::String(p.name.clone()));
        }
    }
    serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
    })
}
