//! The docs page (`/docs`), rendered once from the contract into one self-contained HTML page:
//! no script, no stylesheet or font fetched, so it works offline. The contract's Markdown is
//! rendered (pulldown-cmark; raw HTML in it is shown as text), with a table of contents, and
//! for each operation its access rule, credentials, rate-limit class, parameters, request and
//! response schemas, errors and a curl example built from the contract's own examples;
//! operations not built yet say so. The README's quick start is on it too.

use anyhow::{Context, Result};
use pulldown_cmark::{Event, Options, Parser};
use serde_json::Value;
use std::fmt::Write;

/// The README, for its quick start (between the `quickstart` markers the conformance test
/// runs, so the page shows what is tested).
const README: &str = include_str!("../../../../README.md");
/// The operations answering 501 (a conformance test keeps the list exact).
const UNIMPLEMENTED: &str = include_str!("../../../../conformance/unimplemented-operations.txt");

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;line-height:1.5;color:#1d1d1f}\
main{max-width:62rem;margin:0 auto;padding:1rem 1.5rem 4rem}\
nav{position:fixed;top:0;bottom:0;left:0;width:16rem;overflow:auto;background:#f6f7f9;\
padding:1rem;font-size:.85rem;border-right:1px solid #ddd}\
@media(min-width:70rem){main{margin-left:18rem}}@media(max-width:70rem){nav{display:none}}\
nav a{color:#234;text-decoration:none;display:block}nav ul{list-style:none;padding-left:.8rem;margin:.2rem 0}\
code,pre{font-family:ui-monospace,monospace;font-size:.9em}code{background:#f0f1f3;padding:0 .2rem}\
pre{background:#f6f7f9;padding:.7rem;overflow:auto;border-radius:4px}\
.op{border-top:1px solid #ddd;margin-top:1.5rem;padding-top:.5rem}\
.m{font-weight:bold;display:inline-block;min-width:4rem;color:#0a5}\
.pending{background:#fff3cd;border:1px solid #e0c060;padding:0 .4rem;border-radius:3px;font-size:.8rem}\
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}td,th{border:1px solid #ddd;padding:.2rem .5rem;\
text-align:left;vertical-align:top}th{background:#f6f7f9}.meta{font-size:.9rem;color:#444}";

pub fn render(openapi_yaml: &str) -> Result<String> {
    let doc: Value = serde_yaml::from_str(openapi_yaml).context("parsing openapi.yaml")?;
    let page = Page {
        doc: &doc,
        unimplemented: UNIMPLEMENTED
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect(),
    };
    page.render()
}

struct Page<'a> {
    doc: &'a Value,
    unimplemented: Vec<&'a str>,
}

/// An operation of the contract.
struct Operation<'a> {
    method: String,
    path: &'a str,
    op: &'a Value,
}

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown to HTML; raw HTML in the source is shown as text.
fn markdown(source: &str) -> String {
    let events = Parser::new_ext(source, Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// What an `x-botwire-access` value admits (the contract's Conventions say it in full).
fn access_rule(access: &str) -> &'static str {
    match access {
        "public" => "anyone",
        "user" => "a signed-in user, on their own things",
        "account" => "the caller's own account",
        "bot-owner" => "the bot's account only",
        "bot-team-admin" => "the bot's account, and owners and admins of a team it is shared with",
        "bot-team-agent" => "the bot's account, and every member of a team it is shared with",
        "bot-visitor" => {
            "the bot's account, its teams' members, and its widget token on visitors' sessions"
        }
        "team-member" => "a member of the team",
        "team-admin" => "an owner or admin of the team",
        "team-owner" => "an owner of the team",
        _ => "see the contract's Conventions",
    }
}

impl Page<'_> {
    fn operations_of(&self, tag: &str) -> Vec<Operation<'_>> {
        let mut found = Vec::new();
        for (path, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let tagged = op["tags"]
                    .as_array()
                    .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(tag)));
                if tagged {
                    found.push(Operation {
                        method: method.to_uppercase(),
                        path,
                        op,
                    });
                }
            }
        }
        found
    }

    fn tags(&self) -> Vec<(&str, &str)> {
        self.doc["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|tag| (text(tag, "name"), text(tag, "description")))
            .collect()
    }

    fn render(&self) -> Result<String> {
        let info = &self.doc["info"];
        let title = escape(text(info, "title"));
        let mut html = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{title}</title><style>{STYLE}</style></head><body>"
        );
        // The table of contents.
        html.push_str("<nav aria-label=\"Contents\"><b>Contents</b><ul>");
        html.push_str("<li><a href=\"#overview\">Overview</a></li>");
        html.push_str("<li><a href=\"#quick-start\">Quick start</a></li>");
        for (tag, _) in self.tags() {
            let _ = write!(html, "<li><a href=\"#tag-{0}\">{0}</a><ul>", escape(tag));
            for operation in self.operations_of(tag) {
                let id = escape(text(operation.op, "operationId"));
                let _ = write!(html, "<li><a href=\"#{id}\">{id}</a></li>");
            }
            html.push_str("</ul></li>");
        }
        html.push_str("<li><a href=\"#schemas\">Schemas</a></li></ul></nav><main>");
        let _ = write!(
            html,
            "<h1 id=\"overview\">{title} <small>{}</small></h1>\
             <p>The whole contract, which this page is rendered from: \
             <a href=\"/openapi.yaml\">openapi.yaml</a>.</p>{}",
            escape(text(info, "version")),
            markdown(text(info, "description"))
        );
        html.push_str("<h2 id=\"quick-start\">Quick start</h2>");
        html.push_str(&markdown(&quick_start()));
        for (tag, description) in self.tags() {
            let _ = write!(
                html,
                "<h2 id=\"tag-{0}\">{0}</h2>{1}",
                escape(tag),
                markdown(description)
            );
            for operation in self.operations_of(tag) {
                self.operation(&mut html, &operation);
            }
        }
        html.push_str("<h2 id=\"schemas\">Schemas</h2>");
        for (name, schema) in self.doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let _ = write!(html, "<h3 id=\"schema-{0}\">{0}</h3>", escape(name));
            html.push_str(&self.schema(schema));
        }
        html.push_str("</main></body></html>\n");
        Ok(html)
    }

    fn operation(&self, html: &mut String, operation: &Operation<'_>) {
        let op = operation.op;
        let id = text(op, "operationId");
        let pending = if self.unimplemented.contains(&id) {
            " <span class=\"pending\">not built yet: answers 501</span>"
        } else {
            ""
        };
        let _ = write!(
            html,
            "<section class=\"op\" id=\"{id}\"><h3><span class=\"m\">{method}</span><code>{path}</code>{pending}</h3>\
             <p><b>{summary}</b> <code>{id}</code></p>{description}",
            id = escape(id),
            method = operation.method,
            path = escape(operation.path),
            summary = escape(text(op, "summary")),
            description = markdown(text(op, "description")),
        );
        let access = text(op, "x-botwire-access");
        let credentials: Vec<String> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_object()?.keys().next().cloned())
            .collect();
        let _ = write!(
            html,
            "<p class=\"meta\">Access: <code>{}</code> ({}). Credentials: {}. Rate-limit class: <code>{}</code>.</p>",
            escape(access),
            access_rule(access),
            if credentials.is_empty() {
                "none".to_string()
            } else {
                credentials
                    .iter()
                    .map(|c| format!("<code>{}</code>", escape(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            escape(text(op, "x-rate-limit-class")),
        );
        let parameters: Vec<&Value> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| self.resolve(p))
            .collect();
        if !parameters.is_empty() {
            html.push_str(
                "<table><tr><th>Parameter</th><th>In</th><th>Schema</th><th>Description</th></tr>",
            );
            for parameter in parameters {
                let required = if parameter["required"].as_bool() == Some(true) {
                    " (required)"
                } else {
                    ""
                };
                let _ = write!(
                    html,
                    "<tr><td><code>{}</code>{required}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(text(parameter, "name")),
                    escape(text(parameter, "in")),
                    self.type_of(&parameter["schema"]),
                    markdown(text(parameter, "description")),
                );
            }
            html.push_str("</table>");
        }
        if let Some(content) = op["requestBody"]["content"].as_object() {
            for (media, body) in content {
                let _ = write!(
                    html,
                    "<p>Request body (<code>{}</code>): {}</p>",
                    escape(media),
                    self.type_of(&body["schema"])
                );
            }
        }
        html.push_str("<table><tr><th>Status</th><th>Answer</th></tr>");
        for (status, response) in op["responses"].as_object().into_iter().flatten() {
            let response = self.resolve(response);
            let schema = response["content"]
                .as_object()
                .and_then(|c| c.iter().next())
                .map(|(media, body)| {
                    format!(
                        " <code>{}</code> {}",
                        escape(media),
                        self.type_of(&body["schema"])
                    )
                })
                .unwrap_or_default();
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}{schema}</td></tr>",
                escape(status),
                escape(text(response, "description")),
            );
        }
        html.push_str("</table>");
        let _ = write!(
            html,
            "<p>Example:</p><pre>{}</pre>",
            escape(&self.example(operation))
        );
        html.push_str("</section>");
    }

    /// A curl command from the contract's examples, and the success answer's example.
    fn example(&self, operation: &Operation<'_>) -> String {
        let op = operation.op;
        let mut path = operation.path.to_string();
        for parameter in op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| self.resolve(p))
        {
            if parameter["in"] == "path" {
                let name = text(parameter, "name");
                let value = match parameter["schema"]["format"].as_str() {
                    Some("uuid") => "0191b7a2-6c1e-7d3f-9a4b-5c6d7e8f9a0b",
                    _ => "user-1",
                };
                path = path.replace(&format!("{{{name}}}"), value);
            }
        }
        let mut command = format!("curl -X {} \"$BOTWIRE_URL{path}\"", operation.method);
        let schemes: Vec<&str> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_object()?.keys().next().map(String::as_str))
            .collect();
        if schemes.contains(&"apiKeyHeader") {
            command.push_str(" \\\n  -H \"x-api-key: $KEY\"");
        } else if schemes.contains(&"userJwt") {
            command.push_str(" \\\n  -H \"authorization: Bearer $TOKEN\"");
        } else if schemes.contains(&"widgetToken") {
            command.push_str(" \\\n  -H \"x-widget-token: $WIDGET_TOKEN\"");
        }
        if let Some(content) = op["requestBody"]["content"].as_object() {
            if let Some(json) = content.get("application/json") {
                let example = json
                    .get("example")
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Default::default()));
                let body = serde_json::to_string(&example)
                    .unwrap_or_default()
                    .replace('\'', "'\\''");
                let _ = write!(
                    command,
                    " \\\n  -H 'content-type: application/json' -d '{body}'"
                );
            } else if content.contains_key("multipart/form-data") {
                command.push_str(" \\\n  -F file=@faq.csv -F 'metadata={\"title\":\"FAQ\"}'");
            }
        }
        let answer = op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .find(|(status, _)| status.starts_with('2'))
            .and_then(|(status, response)| {
                let response = self.resolve(response);
                let (_, body) = response["content"].as_object()?.iter().next()?;
                let example = body.get("example")?;
                let shown = match example {
                    Value::String(text) => text.clone(),
                    other => serde_json::to_string_pretty(other).ok()?,
                };
                Some(format!("\n\n# {status}\n{shown}"))
            })
            .unwrap_or_default();
        command + &answer
    }

    /// A `$ref`'s target (`#/components/...`), or the value itself.
    fn resolve<'v>(&'v self, value: &'v Value) -> &'v Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference
                .strip_prefix('#')
                .and_then(|pointer| self.doc.pointer(pointer))
                .unwrap_or(value),
            None => value,
        }
    }

    /// A schema's type, in one line: a link to a named schema, or the type with its bounds.
    fn type_of(&self, schema: &Value) -> String {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
        }
        let kind = match &schema["type"] {
            Value::String(kind) => kind.clone(),
            Value::Array(kinds) => kinds
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" or "),
            _ if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() => {
                "one of several".into()
            }
            _ => "any".into(),
        };
        let mut shown = escape(&kind);
        if kind.contains("array") {
            let _ = write!(shown, " of {}", self.type_of(&schema["items"]));
        }
        if let Some(format) = schema["format"].as_str() {
            let _ = write!(shown, " ({})", escape(format));
        }
        if let Some(values) = schema["enum"].as_array() {
            let values: Vec<String> = values
                .iter()
                .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
                .collect();
            let _ = write!(shown, ": {}", values.join(", "));
        }
        for (key, label) in [
            ("minimum", "min"),
            ("maximum", "max"),
            ("minLength", "min length"),
            ("maxLength", "max length"),
            ("maxItems", "max items"),
            ("default", "default"),
        ] {
            if let Some(value) = schema.get(key) {
                let _ = write!(
                    shown,
                    ", {label} <code>{}</code>",
                    escape(&value.to_string())
                );
            }
        }
        shown
    }

    /// A named schema: its description and, for an object, its properties.
    fn schema(&self, schema: &Value) -> String {
        let mut html = markdown(text(schema, "description"));
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match schema["properties"].as_object() {
            Some(properties) => {
                html.push_str("<table><tr><th>Field</th><th>Schema</th><th>Description</th></tr>");
                for (name, property) in properties {
                    let flag = if required.contains(&name.as_str()) {
                        " (required)"
                    } else {
                        ""
                    };
                    let _ = write!(
                        html,
                        "<tr><td><code>{}</code>{flag}</td><td>{}</td><td>{}</td></tr>",
                        escape(name),
                        self.type_of(property),
                        markdown(text(property, "description")),
                    );
                }
                html.push_str("</table>");
            }
            None => {
                let _ = write!(html, "<p>{}</p>", self.type_of(schema));
            }
        }
        html
    }
}

/// The README's quick start (its intro and the block the conformance test runs).
fn quick_start() -> String {
    let start = README.find("<!-- quickstart").unwrap_or(0);
    let end = README.find("<!-- /quickstart -->").unwrap_or(README.len());
    let block = README[start..end]
        .split_once("-->")
        .map_or("", |(_, block)| block);
    format!(
        "With the server running (`BOTWIRE_WEBHOOK_ALLOWED_CIDRS=127.0.0.1/32 cargo run --release \
         -p botwire-server -- serve`) and the README's webhook receiver on port 9000 \
         (`python3 docs/quickstart/receiver.py 9000`), this registers an account, creates an API \
         key, a bot, an FAQ and a webhook, and chats; each run is a new account:\n{block}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_raw_html_is_shown_as_text() {
        let html = markdown("## Title\n\nSome `code` and <script>alert(1)</script>.");
        assert!(
            html.contains("<h2>Title</h2>") && html.contains("<code>code</code>"),
            "{html}"
        );
        assert!(
            !html.contains("<script>") && html.contains("&lt;script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn the_quick_start_is_the_readmes() {
        let quick = quick_start();
        assert!(
            quick.contains("/v1/auth/register") && quick.contains("```sh"),
            "{quick}"
        );
    }
}
