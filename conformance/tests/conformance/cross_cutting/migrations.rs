//! Sweeps the migrations of both databases: one logical schema, declared by `schema.rs`.
//!
//! The migrations: SQLite's and PostgreSQL's create the same logical schema, `schema.rs`
//! declares that schema, each `down` reverses its `up`, and a snapshot shows every schema
//! change in review.
//!
//! These open fresh databases themselves (not through `TestContext`, which migrates at start)
//! and compare `botwire_server::db::introspect::LogicalSchema`s.

use botwire_conformance::{Backend, on_both_databases, postgres};
use botwire_server::config::DatabaseUrl;
use botwire_server::db::Db;
use botwire_server::db::introspect::{self, LogicalSchema};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A fresh, empty database (the temp dir holds the SQLite file and goes with it).
struct Fresh {
    db: Db,
    _dir: tempfile::TempDir,
}

async fn fresh_sqlite() -> Fresh {
    let dir = tempfile::tempdir().expect("a temp dir");
    let url = DatabaseUrl::Sqlite(dir.path().join("migrations.sqlite3"));
    let db = Db::connect(&url, 2).await.expect("opening SQLite");
    Fresh { db, _dir: dir }
}

async fn fresh_postgres() -> Fresh {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_, database) = postgres::cluster()
        .and_then(|cluster| cluster.create_database())
        .expect("a fresh PostgreSQL database");
    let db = Db::connect(&DatabaseUrl::Postgres(database), 2)
        .await
        .expect("opening PostgreSQL");
    Fresh { db, _dir: dir }
}

async fn fresh(backend: Backend) -> Fresh {
    match backend {
        Backend::Sqlite => fresh_sqlite().await,
        Backend::Postgres => fresh_postgres().await,
    }
}

async fn schema(db: &Db) -> LogicalSchema {
    introspect::logical_schema(db)
        .await
        .unwrap_or_else(|e| panic!("reading the {} schema: {e}", db.backend()))
}

async fn migrated_schema(fresh: &Fresh) -> LogicalSchema {
    fresh.db.migrate().await.expect("migrating");
    schema(&fresh.db).await
}

/// Every place where two JSON values differ, by path.
fn differences(path: &str, left: &Value, right: &Value, found: &mut Vec<String>) {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let keys: std::collections::BTreeSet<&String> = l.keys().chain(r.keys()).collect();
            for key in keys {
                let path = format!("{path}.{key}");
                match (l.get(key), r.get(key)) {
                    (Some(a), Some(b)) => differences(&path, a, b, found),
                    (Some(a), None) => found.push(format!("{path}: only on the left: {a}")),
                    (None, Some(b)) => found.push(format!("{path}: only on the right: {b}")),
                    (None, None) => unreachable!(),
                }
            }
        }
        _ if left != right => found.push(format!("{path}:\n    left:  {left}\n    right: {right}")),
        _ => {}
    }
}

/// Asserts equality, naming each difference (the whole schemas drown it otherwise).
fn assert_same<T: serde::Serialize + PartialEq>(
    left_name: &str,
    left: &T,
    right_name: &str,
    right: &T,
) {
    if left == right {
        return;
    }
    let (l, r) = (json!(left), json!(right));
    let mut found = Vec::new();
    differences("", &l, &r, &mut found);
    panic!(
        "{left_name} (left) and {right_name} (right) differ:\n{}",
        found.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrate_to_the_same_schema() {
    let (sqlite, postgres) = (fresh_sqlite().await, fresh_postgres().await);
    let (sqlite, postgres) = tokio::join!(migrated_schema(&sqlite), migrated_schema(&postgres));
    assert!(!sqlite.tables.is_empty());
    assert_same("SQLite", &sqlite, "PostgreSQL", &postgres);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_is_pinned_by_a_snapshot() {
    let schema = migrated_schema(&fresh_sqlite().await).await;
    // Review a change here with the migration that made it.
    insta::assert_json_snapshot!("logical_schema", schema);
}

// ---- schema.rs -------------------------------------------------------------------------------

/// Per table, what `schema.rs` can say: the primary key, and each column's type as diesel
/// writes it (`Nullable<Text>`).
type Declared = BTreeMap<String, DeclaredTable>;

#[derive(Debug, Default, PartialEq, serde::Serialize)]
struct DeclaredTable {
    primary_key: Vec<String>,
    columns: BTreeMap<String, String>,
}

/// Reads `schema.rs`'s `diesel::table!` blocks as text: the tables and columns diesel knows
/// about, all of them, whether or not a test names them. Refuses lines it does not understand
/// rather than skipping them.
fn declared_by_schema_rs() -> Declared {
    const SCHEMA_RS: &str = include_str!("../../../../server/src/db/schema.rs");
    let mut declared = Declared::new();
    let mut in_table_macro = false;
    let mut table: Option<String> = None;
    for (number, line) in SCHEMA_RS.lines().enumerate() {
        let line = line.trim();
        let unknown = || -> ! { panic!("schema.rs:{}: not understood here: {line}", number + 1) };
        if let Some(name) = &table {
            if line == "}" {
                table = None;
            } else if let Some((column, sql_type)) = line.split_once("->") {
                let sql_type = sql_type.trim().trim_end_matches(',').trim();
                let (column, sql_type) = (column.trim().to_string(), sql_type.to_string());
                if !is_ident(&column) {
                    unknown();
                }
                declared
                    .get_mut(name)
                    .unwrap()
                    .columns
                    .insert(column, sql_type);
            } else {
                unknown();
            }
        } else if in_table_macro {
            // `name (key, ...) {`
            let Some((name, rest)) = line.split_once('(') else {
                unknown()
            };
            let Some((key, "{")) = rest.split_once(')').map(|(k, r)| (k, r.trim())) else {
                unknown()
            };
            let name = name.trim().to_string();
            if !is_ident(&name) {
                unknown();
            }
            let primary_key = key.split(',').map(|c| c.trim().to_string()).collect();
            let columns = BTreeMap::new();
            let entry = DeclaredTable {
                primary_key,
                columns,
            };
            declared.insert(name.clone(), entry);
            table = Some(name);
            in_table_macro = false;
        } else if line.starts_with("diesel::table!") || line.starts_with("table!") {
            if line != "diesel::table! {" && line != "table! {" {
                unknown();
            }
            in_table_macro = true;
        }
    }
    assert!(!declared.is_empty(), "no diesel::table! found in schema.rs");
    declared
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The same view of a database's logical schema.
fn as_declared(schema: &LogicalSchema) -> Declared {
    schema
        .tables
        .iter()
        .map(|(name, table)| {
            let columns = table
                .columns
                .iter()
                .map(|(column, c)| {
                    let sql_type = if c.nullable {
                        format!("Nullable<{}>", c.sql_type)
                    } else {
                        c.sql_type.to_string()
                    };
                    (column.clone(), sql_type)
                })
                .collect();
            let primary_key = table.primary_key.clone();
            (
                name.clone(),
                DeclaredTable {
                    primary_key,
                    columns,
                },
            )
        })
        .collect()
}

async fn schema_rs_declares_the_migrated_schema(backend: Backend) {
    let fresh = fresh(backend).await;
    let migrated = as_declared(&migrated_schema(&fresh).await);
    let declared = declared_by_schema_rs();
    let backend = format!("the {} migrations", fresh.db.backend());
    assert_same(&backend, &migrated, "schema.rs", &declared);
}

on_both_databases!(backend: schema_rs_declares_the_migrated_schema);

#[test]
fn the_schema_rs_reader_sees_every_column() {
    // A column added to a migration but not to schema.rs must fail the test above: that
    // needs the reader to see schema.rs's columns, nullability and keys as written.
    let declared = declared_by_schema_rs();
    let usage = &declared["usage_counters"];
    assert_eq!(usage.primary_key, ["account_id", "month"]);
    assert_eq!(usage.columns["warned_at"], "Nullable<Timestamp>");
    assert_eq!(usage.columns["messages"], "BigInt");
    let users = &declared["users"];
    assert_eq!(users.primary_key, ["id"]);
    assert_eq!(users.columns.len(), 11);
}

// ---- down reverses up ------------------------------------------------------------------------

/// For each migration in order: apply it, revert it, the schema is as before; apply it again.
async fn each_down_reverses_its_up(backend: Backend) {
    let fresh = fresh(backend).await;
    let db = &fresh.db;
    let backend = db.backend();
    let names = introspect::migrations(db)
        .await
        .expect("the embedded migrations");
    assert!(!names.is_empty());
    assert_same(
        backend,
        &schema(db).await,
        "an empty schema",
        &LogicalSchema::default(),
    );
    for name in &names {
        let before = schema(db).await;
        let applied = introspect::apply_next_migration(db)
            .await
            .unwrap_or_else(|e| panic!("{backend}: applying {name}: {e}"));
        assert_eq!(&applied, name, "{backend}: migrations apply in order");
        let after_up = schema(db).await;
        let reverted = introspect::revert_last_migration(db)
            .await
            .unwrap_or_else(|e| panic!("{backend}: reverting {name}: {e}"));
        assert_eq!(
            &reverted, name,
            "{backend}: the last applied migration is reverted"
        );
        assert_same(
            &format!("{backend} after {name}'s down"),
            &schema(db).await,
            &format!("{backend} before {name}'s up"),
            &before,
        );
        // Again, from the clean state: its up must still apply, and to the same schema.
        introspect::apply_next_migration(db)
            .await
            .unwrap_or_else(|e| panic!("{backend}: re-applying {name}: {e}"));
        assert_same(
            &format!("{backend} after {name}'s up again"),
            &schema(db).await,
            &format!("{backend} after {name}'s up"),
            &after_up,
        );
    }
    assert_eq!(db.migrations_applied().await.unwrap(), names.len() as u64);
    assert_eq!(
        db.migrate().await.unwrap(),
        0,
        "{backend}: nothing left pending"
    );
}

on_both_databases!(backend: each_down_reverses_its_up);
