//! The logical schema of a migrated database, in terms both backends share, so that a test can
//! check that the SQLite and PostgreSQL migrations create the same thing, that
//! [`schema.rs`](super::schema) declares it, and that every `down` reverses its `up`.
//!
//! What is compared, and what is left out on purpose:
//! - every table but diesel's `__diesel_schema_migrations` (and SQLite's internal `sqlite_*`);
//! - columns: [`LogicalType`], nullability as declared (SQLite, unlike PostgreSQL, lets a
//!   non-`INTEGER` primary-key column hold NULL unless it says `NOT NULL`, so a missing
//!   `NOT NULL` there shows up as a difference, as it should), primary-key membership;
//! - the primary key's columns in key order, and UNIQUE constraints by their columns;
//! - indexes made with `CREATE [UNIQUE] INDEX`, by name. The indexes a backend makes by itself
//!   for a PRIMARY KEY or UNIQUE constraint are left out: their names are the backend's own
//!   (`sqlite_autoindex_<table>_<n>` against `<table>_pkey` / `<table>_<column>_key`), and the
//!   constraints themselves are already compared above;
//! - foreign keys, by what they link (`columns -> table(columns)`), with their `ON DELETE` /
//!   `ON UPDATE` actions (constraint names are left out: SQLite has none).
//!
//! Left out: defaults, CHECK constraints, collations and index sort orders, which the two
//! backends spell too differently to compare by text.

use crate::db::{Db, DbError, MigrationStep, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use diesel::backend::Backend;
use diesel::migration::MigrationSource;
use diesel::sql_types::{Integer, Nullable, Text};
use diesel_async::RunQueryDsl;
use diesel_migrations::EmbeddedMigrations;
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A database's schema as both backends can state it; ordered maps, so that it compares,
/// prints and snapshots deterministically.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogicalSchema {
    pub tables: BTreeMap<String, Table>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    pub columns: BTreeMap<String, Column>,
    /// The primary key's columns, in key order (empty without a primary key).
    pub primary_key: Vec<String>,
    /// UNIQUE constraints (not unique indexes), by their columns in order.
    pub unique_constraints: BTreeSet<Vec<String>>,
    /// Indexes made with `CREATE [UNIQUE] INDEX`, by name.
    pub indexes: BTreeMap<String, Index>,
    /// By what they link: `account_id -> accounts(id)`, `a, b -> t(x, y)`.
    pub foreign_keys: BTreeMap<String, ForeignKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    #[serde(rename = "type")]
    pub sql_type: LogicalType,
    pub nullable: bool,
    pub primary_key: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Index {
    /// In index order; an expression is `<expression>`.
    pub columns: Vec<String>,
    pub unique: bool,
    /// Has a `WHERE` clause.
    pub partial: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKey {
    /// `NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL` or `SET DEFAULT`.
    pub on_delete: String,
    pub on_update: String,
}

/// A column type, named as diesel's `sql_types` (the vocabulary of `schema.rs`), whichever way
/// the backend spells it. A spelling not recognised is kept verbatim, so that it cannot
/// compare equal to the other backend's by accident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogicalType {
    Text,
    Timestamp,
    BigInt,
    Integer,
    Bool,
    Double,
    Binary,
    Other(String),
}

impl LogicalType {
    /// From a declared SQLite type (`pragma_table_info.type`), as diesel reads it.
    pub fn from_sqlite(declared: &str) -> LogicalType {
        let spelled = declared
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        match spelled.as_str() {
            "TEXT" => LogicalType::Text,
            "TIMESTAMP" | "DATETIME" => LogicalType::Timestamp,
            "BIGINT" | "INT8" => LogicalType::BigInt,
            "INTEGER" | "INT" => LogicalType::Integer,
            "BOOLEAN" | "BOOL" => LogicalType::Bool,
            // SQLite stores every floating-point value in 8 bytes.
            "DOUBLE" | "DOUBLE PRECISION" | "REAL" | "FLOAT" => LogicalType::Double,
            "BLOB" => LogicalType::Binary,
            _ => LogicalType::Other(declared.to_string()),
        }
    }

    /// From PostgreSQL's `format_type()`. `real` is 4 bytes there, so it stays unrecognised
    /// rather than pass for the 8-byte `Double`.
    pub fn from_postgres(formatted: &str) -> LogicalType {
        match formatted {
            "text" => LogicalType::Text,
            "timestamp without time zone" => LogicalType::Timestamp,
            "bigint" => LogicalType::BigInt,
            "integer" => LogicalType::Integer,
            "boolean" => LogicalType::Bool,
            "double precision" => LogicalType::Double,
            "bytea" => LogicalType::Binary,
            _ => LogicalType::Other(formatted.to_string()),
        }
    }
}

impl fmt::Display for LogicalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogicalType::Text => "Text",
            LogicalType::Timestamp => "Timestamp",
            LogicalType::BigInt => "BigInt",
            LogicalType::Integer => "Integer",
            LogicalType::Bool => "Bool",
            LogicalType::Double => "Double",
            LogicalType::Binary => "Binary",
            LogicalType::Other(spelled) => spelled,
        })
    }
}

/// As a plain string, for readable snapshots and diffs.
impl Serialize for LogicalType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

// One row shape per kind of fact, read by each backend's own catalog query below; booleans are
// integers (0/1) so that one row type reads both backends.

#[derive(diesel::QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    column_type: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    /// 1-based position in the primary key; 0 outside it.
    #[diesel(sql_type = Integer)]
    pk_position: i32,
}

#[derive(diesel::QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Integer)]
    is_unique: i32,
    #[diesel(sql_type = Integer)]
    is_partial: i32,
    /// SQLite's spelling: `c` (CREATE INDEX), `u` (UNIQUE constraint), `pk` (PRIMARY KEY).
    #[diesel(sql_type = Text)]
    origin: String,
    /// NULL for an expression.
    #[diesel(sql_type = Nullable<Text>)]
    column_name: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct ForeignKeyRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    /// Identifies the constraint within its table.
    #[diesel(sql_type = Text)]
    fk_id: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    ref_table: String,
    /// NULL (SQLite) when the constraint names no column: the referenced primary key.
    #[diesel(sql_type = Nullable<Text>)]
    ref_column: Option<String>,
    #[diesel(sql_type = Text)]
    on_delete: String,
    #[diesel(sql_type = Text)]
    on_update: String,
}

/// Catalog queries for one backend; rows come ordered by table, object, then position.
struct CatalogQueries {
    columns: &'static str,
    indexes: &'static str,
    foreign_keys: &'static str,
    normalise: fn(&str) -> LogicalType,
}

/// SQLite: `sqlite_master` joined with the table-valued pragma functions. A table's only
/// primary-key column declared `INTEGER` is its rowid, 64 bits wide: a `BigInt` (the one way
/// to an auto-assigned key, as `BIGSERIAL` is on PostgreSQL).
const SQLITE: CatalogQueries = CatalogQueries {
    columns: r#"
        SELECT m.name AS table_name, p.name AS column_name,
               CASE WHEN upper(p.type) = 'INTEGER' AND p.pk = 1
                         AND (SELECT count(*) FROM pragma_table_info(m.name) AS k
                              WHERE k.pk > 0) = 1
                    THEN 'BIGINT' ELSE p.type END AS column_type,
               p."notnull" AS not_null, p.pk AS pk_position
        FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
          AND m.name <> '__diesel_schema_migrations'
        ORDER BY m.name, p.cid"#,
    indexes: r#"
        SELECT m.name AS table_name, il.name AS index_name, il."unique" AS is_unique,
               il.partial AS is_partial, il.origin AS origin, ii.name AS column_name
        FROM sqlite_master AS m
        JOIN pragma_index_list(m.name) AS il
        JOIN pragma_index_info(il.name) AS ii
        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
          AND m.name <> '__diesel_schema_migrations'
        ORDER BY m.name, il.name, ii.seqno"#,
    foreign_keys: r#"
        SELECT m.name AS table_name, CAST(f.id AS TEXT) AS fk_id, f."from" AS column_name,
               f."table" AS ref_table, f."to" AS ref_column,
               f.on_delete AS on_delete, f.on_update AS on_update
        FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS f
        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
          AND m.name <> '__diesel_schema_migrations'
        ORDER BY m.name, f.id, f.seq"#,
    normalise: LogicalType::from_sqlite,
};

/// PostgreSQL: `pg_catalog`, schema `public`. An index backing a constraint is told apart by
/// `pg_constraint.conindid` (restricted to the index's own table: a foreign key's `conindid`
/// is the referenced table's index).
const POSTGRES: CatalogQueries = CatalogQueries {
    columns: r#"
        SELECT c.relname::text AS table_name, a.attname::text AS column_name,
               format_type(a.atttypid, a.atttypmod) AS column_type,
               a.attnotnull::int AS not_null,
               COALESCE(array_position(pk.conkey, a.attnum), 0) AS pk_position
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_constraint AS pk ON pk.conrelid = c.oid AND pk.contype = 'p'
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          AND c.relname <> '__diesel_schema_migrations'
        ORDER BY c.relname, a.attnum"#,
    indexes: r#"
        SELECT t.relname::text AS table_name, i.relname::text AS index_name,
               ix.indisunique::int AS is_unique, (ix.indpred IS NOT NULL)::int AS is_partial,
               CASE con.contype WHEN 'p' THEN 'pk' WHEN 'u' THEN 'u' ELSE 'c' END AS origin,
               a.attname::text AS column_name
        FROM pg_index AS ix
        JOIN pg_class AS i ON i.oid = ix.indexrelid
        JOIN pg_class AS t ON t.oid = ix.indrelid
        JOIN pg_namespace AS n ON n.oid = t.relnamespace
        LEFT JOIN pg_constraint AS con ON con.conindid = ix.indexrelid
             AND con.conrelid = ix.indrelid AND con.contype IN ('p', 'u')
        CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
        LEFT JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = k.attnum
             AND k.attnum <> 0
        WHERE n.nspname = 'public' AND t.relname <> '__diesel_schema_migrations'
          AND k.ord <= ix.indnkeyatts
        ORDER BY t.relname, i.relname, k.ord"#,
    foreign_keys: r#"
        SELECT t.relname::text AS table_name, con.conname::text AS fk_id,
               a.attname::text AS column_name, r.relname::text AS ref_table,
               ra.attname::text AS ref_column,
               CASE con.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'
                    WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
                    ELSE con.confdeltype::text END AS on_delete,
               CASE con.confupdtype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'
                    WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
                    ELSE con.confupdtype::text END AS on_update
        FROM pg_constraint AS con
        JOIN pg_class AS t ON t.oid = con.conrelid
        JOIN pg_namespace AS n ON n.oid = t.relnamespace
        JOIN pg_class AS r ON r.oid = con.confrelid
        CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, ref_attnum, ord)
        JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
        JOIN pg_attribute AS ra ON ra.attrelid = con.confrelid AND ra.attnum = k.ref_attnum
        WHERE con.contype = 'f' AND n.nspname = 'public'
          AND t.relname <> '__diesel_schema_migrations'
        ORDER BY t.relname, con.conname, k.ord"#,
    normalise: LogicalType::from_postgres,
};

/// Reads the logical schema of the database as it is now.
pub async fn logical_schema(db: &Db) -> Result<LogicalSchema, DbError> {
    let queries = match db {
        Db::Sqlite(..) => &SQLITE,
        Db::Postgres(_) => &POSTGRES,
    };
    let (columns, indexes, foreign_keys) = crate::with_conn!(db, |conn| {
        let columns: Vec<ColumnRow> = diesel::sql_query(queries.columns).load(&mut conn).await?;
        let indexes: Vec<IndexRow> = diesel::sql_query(queries.indexes).load(&mut conn).await?;
        let foreign_keys: Vec<ForeignKeyRow> = diesel::sql_query(queries.foreign_keys)
            .load(&mut conn)
            .await?;
        (columns, indexes, foreign_keys)
    });
    Ok(assemble(queries.normalise, columns, indexes, foreign_keys))
}

/// Builds the schema from catalog rows (the same for both backends from here on).
fn assemble(
    normalise: fn(&str) -> LogicalType,
    columns: Vec<ColumnRow>,
    indexes: Vec<IndexRow>,
    foreign_keys: Vec<ForeignKeyRow>,
) -> LogicalSchema {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut key_parts: Vec<(String, i32, String)> = Vec::new();
    for row in columns {
        if row.pk_position > 0 {
            key_parts.push((
                row.table_name.clone(),
                row.pk_position,
                row.column_name.clone(),
            ));
        }
        tables.entry(row.table_name).or_default().columns.insert(
            row.column_name,
            Column {
                sql_type: normalise(&row.column_type),
                nullable: row.not_null == 0,
                primary_key: row.pk_position > 0,
            },
        );
    }
    key_parts.sort();
    for (table, _, column) in key_parts {
        tables.entry(table).or_default().primary_key.push(column);
    }

    // Rows come one per indexed column, in index order.
    let mut grouped: BTreeMap<(String, String), Vec<IndexRow>> = BTreeMap::new();
    for row in indexes {
        let key = (row.table_name.clone(), row.index_name.clone());
        grouped.entry(key).or_default().push(row);
    }
    for ((table, name), rows) in grouped {
        let (unique, partial, origin) = (rows[0].is_unique, rows[0].is_partial, &rows[0].origin);
        let table = tables.entry(table).or_default();
        let columns: Vec<String> = rows
            .iter()
            .map(|r| {
                r.column_name
                    .as_deref()
                    .unwrap_or("<expression>")
                    .to_string()
            })
            .collect();
        match origin.as_str() {
            "pk" => {}
            "u" => {
                table.unique_constraints.insert(columns);
            }
            _ => {
                let index = Index {
                    columns,
                    unique: unique != 0,
                    partial: partial != 0,
                };
                table.indexes.insert(name, index);
            }
        }
    }

    // Rows come one per pair of columns, in key order.
    let mut grouped: BTreeMap<(String, String), Vec<ForeignKeyRow>> = BTreeMap::new();
    for row in foreign_keys {
        let key = (row.table_name.clone(), row.fk_id.clone());
        grouped.entry(key).or_default().push(row);
    }
    for ((table, _), rows) in grouped {
        let first = &rows[0];
        let columns: Vec<&str> = rows.iter().map(|r| r.column_name.as_str()).collect();
        let named: Option<Vec<String>> = rows.iter().map(|r| r.ref_column.clone()).collect();
        // `REFERENCES t` without columns (SQLite): t's primary key.
        let references_columns = named.unwrap_or_else(|| {
            tables
                .get(&first.ref_table)
                .map(|t| t.primary_key.clone())
                .unwrap_or_default()
        });
        let link = format!(
            "{} -> {}({})",
            columns.join(", "),
            first.ref_table,
            references_columns.join(", ")
        );
        let foreign_key = ForeignKey {
            on_delete: first.on_delete.to_ascii_uppercase(),
            on_update: first.on_update.to_ascii_uppercase(),
        };
        tables
            .entry(table)
            .or_default()
            .foreign_keys
            .insert(link, foreign_key);
    }
    LogicalSchema { tables }
}

/// The names of the migrations embedded for this database's backend, in the order they apply.
pub async fn migrations(db: &Db) -> Result<Vec<String>, DbError> {
    match db {
        Db::Sqlite(..) => names::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS),
        Db::Postgres(_) => names::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS),
    }
}

fn names<DB: Backend>(migrations: &EmbeddedMigrations) -> Result<Vec<String>, DbError>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    let mut embedded = MigrationSource::<DB>::migrations(migrations)
        .map_err(|e| DbError::Migration(e.to_string()))?;
    embedded.sort_by(|a, b| a.name().version().cmp(&b.name().version()));
    Ok(embedded.iter().map(|m| m.name().to_string()).collect())
}

/// Applies the next pending migration (its `up.sql`); returns its name. For stepping through
/// the migrations in tests: the server applies them all at start ([`Db::migrate`]).
pub async fn apply_next_migration(db: &Db) -> Result<String, DbError> {
    one(db.run_migrations(MigrationStep::Next).await?)
}

/// Reverts the last applied migration (its `down.sql`); returns its name.
pub async fn revert_last_migration(db: &Db) -> Result<String, DbError> {
    one(db.run_migrations(MigrationStep::RevertLast).await?)
}

fn one(names: Vec<String>) -> Result<String, DbError> {
    match <[String; 1]>::try_from(names) {
        Ok([name]) => Ok(name),
        Err(names) => Err(DbError::Migration(format!(
            "expected one migration step, got {names:?}"
        ))),
    }
}
