//! The `operations` operations: health, readiness, metrics, the contract and its docs page.

use botwire_conformance::{Backend, TestContext, on_both_databases, read_text, spec};

async fn health_get_answers_ok(ctx: &TestContext) {
    let response = ctx.client.health_get().send().await.expect("health_get");
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    insta::assert_json_snapshot!("health", response.into_inner(), { ".version" => "[version]" });
}

async fn readiness_get_reports_the_database_and_its_migrations(ctx: &TestContext) {
    let ready = ctx
        .client
        .readiness_get()
        .send()
        .await
        .expect("readiness_get")
        .into_inner();
    let expected = match ctx.backend {
        Backend::Sqlite => botwire_client::types::ReadinessDatabase::Sqlite,
        Backend::Postgres => botwire_client::types::ReadinessDatabase::Postgres,
    };
    assert_eq!(ready.database, expected);
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/sqlite"))
        .expect("the migrations folder")
        .count();
    assert_eq!(
        ready.migrations, shipped as u64,
        "every shipped migration is applied at start"
    );
    insta::assert_json_snapshot!("readiness", ready, {
        ".database" => "[backend]",
        ".migrations" => "[count]",
    });
}

async fn openapi_get_serves_the_contract_as_it_is_in_the_repository(ctx: &TestContext) {
    let response = ctx.client.openapi_get().send().await.expect("openapi_get");
    assert_eq!(response.headers()["content-type"], "text/yaml");
    assert_eq!(read_text(response).await.expect("body"), spec::OPENAPI_YAML);
}

async fn docs_get_lists_every_operation(ctx: &TestContext) {
    let response = ctx.client.docs_get().send().await.expect("docs_get");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = read_text(response).await.expect("body");
    let unimplemented = spec::unimplemented();
    for op in spec::operations() {
        // Its section, its entry in the table of contents, and an example.
        assert!(
            html.contains(&format!("id=\"{}\"", op.id)),
            "the docs page misses {}",
            op.id
        );
        assert!(
            html.contains(&format!("href=\"#{}\"", op.id)),
            "the contents miss {}",
            op.id
        );
        let section = html
            .split(&format!("id=\"{}\"", op.id))
            .nth(1)
            .unwrap_or_default();
        let section = section.split("</section>").next().unwrap_or_default();
        assert!(
            section.contains("Access: <code>") && section.contains("curl -X "),
            "{}",
            op.id
        );
        assert_eq!(
            section.contains("class=\"pending\""),
            unimplemented.contains(&op.id),
            "{}: marked as not built exactly when it is not",
            op.id
        );
    }
    // Every named schema has its entry; the Markdown is rendered, not shown raw.
    for name in spec::DOCUMENT["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            html.contains(&format!("id=\"schema-{name}\"")),
            "the docs page misses {name}"
        );
    }
    assert!(html.contains("<h2>Conventions</h2>") && !html.contains("## Conventions"));
    assert!(html.contains("<nav") && html.contains("id=\"quick-start\""));
    // Self-contained: nothing fetched from elsewhere, no script.
    assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("<link"));
}

async fn metrics_get_counts_responses_by_operation_and_status(ctx: &TestContext) {
    ctx.client.health_get().send().await.expect("health_get");
    ctx.client.health_get().send().await.expect("health_get");
    let response = ctx.client.metrics_get().send().await.expect("metrics_get");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = read_text(response).await.expect("body");
    assert!(
        text.contains("botwire_http_responses_total{operation_id=\"health_get\",status=\"200\"} 2"),
        "{text}"
    );
    let backend = match ctx.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert!(text.contains(&format!("database=\"{backend}\"")), "{text}");
}

on_both_databases!(
    health_get_answers_ok,
    readiness_get_reports_the_database_and_its_migrations,
    openapi_get_serves_the_contract_as_it_is_in_the_repository,
    docs_get_lists_every_operation,
    metrics_get_counts_responses_by_operation_and_status,
);
