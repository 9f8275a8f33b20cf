//! What HTTP answers beyond the contract's operations, registered beside them so that
//! dropshot's router, which runs before any of our code, never answers in its own body:
//!
//! - a method a path of the contract does not have (`PUT /v1/bots`) is 405
//!   `method_not_allowed` in the envelope, with `Allow` listing the path's methods;
//! - `HEAD` on the operational endpoints (`/health`, `/ready`, `/metrics`, `/openapi.yaml`,
//!   `/docs`) answers as their `GET` without the body (hyper leaves a HEAD response's body
//!   out), so load balancers and uptime checks that probe with HEAD work.
//!
//! A path the contract does not have at all still gets dropshot's own 404 body: its router
//! refuses a catch-all route beside literal segments, and it has no hook before routing. The
//! contract says so (its Conventions).
//!
//! These endpoints are unpublished: the OpenAPI document dropshot derives stays the contract.

use super::Ctx;
use super::ServerImpl;
use crate::app::App;
use botwire_api::{BotwireApi, Raw, Reply, types};
use dropshot::{
    ApiDescription, ApiEndpoint, ApiEndpointBodyContentType, ApiEndpointParameter,
    ApiEndpointParameterLocation, ApiEndpointVersions, Path, SharedExtractor,
};
use http::{Method, StatusCode, header};
use serde_json::Value;
use std::collections::BTreeSet;

/// The methods a path may be called with that get an answer of ours.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// Registers the 405 answers of every path of the contract, and HEAD on the operational
/// endpoints.
pub fn register(api: &mut ApiDescription<App>) -> anyhow::Result<()> {
    let paths = botwire_api::contract::DOCUMENT
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow::anyhow!("the contract has no paths"))?;
    for (path, item) in paths {
        let mut methods: BTreeSet<String> = item
            .as_object()
            .into_iter()
            .flat_map(|item| item.keys())
            .filter(|key| METHODS.iter().any(|m| m.as_str().eq_ignore_ascii_case(key)))
            .map(|key| key.to_uppercase())
            .collect();
        if let Some(head) = head_endpoint(path) {
            register_one(api, head)?;
            methods.insert(Method::HEAD.to_string());
        }
        let allow = methods.iter().cloned().collect::<Vec<_>>().join(", ");
        let visitor = visitor_methods(item);
        for method in METHODS {
            if methods.contains(method.as_str()) {
                continue;
            }
            if method == Method::OPTIONS && !visitor.is_empty() {
                register_one(
                    api,
                    preflight_endpoint(path, &visitor, &allow).visible(false),
                )?;
                continue;
            }
            let allow = allow.clone();
            let handler = move |rqctx: Ctx| {
                let allow = allow.clone();
                async move { Ok::<_, types::Error>(method_not_allowed(&rqctx, &allow)) }
            };
            let mut endpoint = ApiEndpoint::new(
                format!("method_not_allowed {method} {path}"),
                handler,
                method,
                "application/json",
                path,
                ApiEndpointVersions::All,
            );
            endpoint.parameters = path_variables(path);
            register_one(api, endpoint.visible(false))?;
        }
    }
    Ok(())
}

fn register_one(api: &mut ApiDescription<App>, endpoint: ApiEndpoint<App>) -> anyhow::Result<()> {
    let id = endpoint.operation_id.clone();
    api.register(endpoint)
        .map_err(|e| anyhow::anyhow!("registering {id}: {e}"))
}

/// The methods of a path's operations that a widget token may call (`security` lists
/// `widgetToken`), comma-separated; empty when none.
fn visitor_methods(item: &Value) -> String {
    let admits_widget = |operation: &Value| {
        operation
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|schemes| schemes.iter().any(|s| s.get("widgetToken").is_some()))
    };
    item.as_object()
        .into_iter()
        .flatten()
        .filter(|(method, operation)| {
            METHODS
                .iter()
                .any(|m| m.as_str().eq_ignore_ascii_case(method))
                && admits_widget(operation)
        })
        .map(|(method, _)| method.to_uppercase())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `OPTIONS` on a path with visitor operations: a CORS preflight (an `Origin` and an
/// `Access-Control-Request-Method`) is answered by `cors::preflight`; anything else is the 405
/// every other missing method gets.
fn preflight_endpoint(path: &str, visitor: &str, allow: &str) -> ApiEndpoint<App> {
    let (visitor, allow) = (visitor.to_string(), allow.to_string());
    let handler = move |rqctx: Ctx| {
        let (visitor, allow) = (visitor.clone(), allow.clone());
        async move {
            let headers = rqctx.request.headers();
            let origin = headers
                .get(header::ORIGIN)
                .filter(|_| headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD));
            let Some(origin) = origin.cloned() else {
                return Ok::<_, types::Error>(method_not_allowed(&rqctx, &allow));
            };
            match super::cors::preflight(origin, &visitor) {
                Ok(response) => {
                    rqctx
                        .context()
                        .metrics
                        .record("cors_preflight", StatusCode::NO_CONTENT.as_u16());
                    Ok(Reply::ok(Raw(response)))
                }
                Err(error) => Err(crate::error::Error::Internal(format!(
                    "building a preflight answer: {error}"
                ))
                .to_envelope()
                .with_request_id(&rqctx.request_id)),
            }
        }
    };
    let mut endpoint = ApiEndpoint::new(
        format!("cors_preflight {path}"),
        handler,
        Method::OPTIONS,
        "application/json",
        path,
        ApiEndpointVersions::All,
    );
    endpoint.parameters = path_variables(path);
    endpoint
}

/// The envelope of a method the path does not have.
fn method_not_allowed(rqctx: &Ctx, allow: &str) -> Reply<Raw> {
    let envelope = types::Error::new(
        StatusCode::METHOD_NOT_ALLOWED,
        types::ErrorCode::MethodNotAllowed,
        format!(
            "{} is not a method of {}; its methods are {allow}",
            rqctx.request.method(),
            rqctx.request.uri().path()
        ),
    )
    .with_request_id(&rqctx.request_id);
    rqctx.context().metrics.record(
        "method_not_allowed",
        StatusCode::METHOD_NOT_ALLOWED.as_u16(),
    );
    let mut reply = Reply::error(envelope);
    if let Ok(value) = allow.parse() {
        reply.headers_mut().insert(header::ALLOW, value);
    }
    reply
}

/// The HEAD endpoint of an operational path, answered by its GET handler.
fn head_endpoint(path: &str) -> Option<ApiEndpoint<App>> {
    // dropshot exports no name for a handler's trait, so each endpoint is spelled out.
    macro_rules! head {
        ($id:literal, $get:ident) => {
            ApiEndpoint::new(
                $id.to_string(),
                |rqctx: Ctx| <ServerImpl as BotwireApi>::$get(rqctx),
                Method::HEAD,
                "application/json",
                path,
                ApiEndpointVersions::All,
            )
            .visible(false)
        };
    }
    let endpoint = match path {
        "/health" => head!("health_head", health_get),
        "/ready" => head!("readiness_head", readiness_get),
        "/metrics" => head!("metrics_head", metrics_get),
        "/openapi.yaml" => head!("openapi_head", openapi_get),
        "/docs" => head!("docs_head", docs_get),
        _ => return None,
    };
    Some(endpoint)
}

/// The path parameters of `path` (`/v1/bots/{bot_id}` -> `bot_id`), as dropshot wants them
/// declared by an endpoint on that path. The handler does not read them; dropshot only checks
/// that each variable is declared. dropshot exports no way to describe a parameter's schema,
/// so each declaration borrows the schema of `bot_get`'s path parameter (a string).
fn path_variables(path: &str) -> Vec<ApiEndpointParameter> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .filter_map(|name| {
            let template = Path::<types::BotGetPath>::metadata(ApiEndpointBodyContentType::Json)
                .parameters
                .pop()?;
            Some(ApiEndpointParameter::new_named(
                &ApiEndpointParameterLocation::Path,
                name.to_string(),
                None,
                true,
                template.schema,
                Vec::new(),
            ))
        })
        .collect()
}
