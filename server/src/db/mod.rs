//! The database: one code base over SQLite and PostgreSQL.
//!
//! [`Db`] holds a connection pool of either backend. Queries are written once with diesel and
//! expanded for each backend by [`with_conn!`]; only SQL that really differs is split by
//! backend. Migrations live in `migrations/<backend>/` with the same names in both, embedded
//! in the binary and run at start.

use crate::config::DatabaseUrl;
use diesel::ConnectionError;
use diesel::SqliteConnection;
use diesel::migration::MigrationSource;
use diesel::sql_types::BigInt;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::{SpawnBlocking, SyncConnectionWrapper};
use diesel_async::{
    AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures::FutureExt;
use futures::future::BoxFuture;

/// An SQLite connection driven by diesel-async's wrapper, its statements run by [`Inline`].
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection, Inline>;

/// Runs each SQLite statement on the calling thread, where diesel-async's default hands every
/// statement to tokio's blocking pool. That hop (a thread wake-up there and back) cost more than
/// the statements themselves: the benchmark found 35-38 % of the server's time in scheduling,
/// and a write transaction held SQLite's lock across its hops while other writers slept in the
/// busy handler. Inline is safe because:
/// - the store awaits nothing but its own statements inside a transaction (an invariant of
///   `store/`, see ARCHITECTURE.md), so a transaction holds the write lock only for the time
///   its statements take, and the next writer waits for it in [`WriteTurn`], off the thread;
/// - in WAL mode readers never wait for the writer, and statements are short (indexed, with
///   pages bounded by `limit`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Inline;

impl SpawnBlocking for Inline {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> BoxFuture<'a, Result<R, Box<dyn std::error::Error + Send + Sync + 'static>>>
    where
        R: Send + 'static,
    {
        std::future::ready(Ok(task())).boxed()
    }

    fn get_runtime() -> Self {
        Inline
    }
}

mod checkpoint;
pub mod introspect;
pub mod schema;

pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub(crate) const POSTGRES_MIGRATIONS: EmbeddedMigrations =
    embed_migrations!("../migrations/postgres");

/// Per-connection SQLite settings: WAL so readers never wait for the writer, NORMAL sync
/// (durable at checkpoints, safe against corruption), foreign keys enforced, a busy timeout for
/// a writer of another process (this one's queue in [`WriteTurn`]), and reads through mmap.
/// Checkpoints run in the background ([`Db::start_checkpoints`]); the one a commit runs after
/// 8000 pages (rather than 1000, so a hot page is copied back once per checkpoint, not once per
/// commit: chat send +12 % with mmap) is the safety net. The busy timeout comes first: setting
/// the journal mode takes a lock, and without a timeout a new connection failed at once
/// ("database is locked") while another one held it, as servers starting under load showed.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
     PRAGMA mmap_size = 268435456; PRAGMA wal_autocheckpoint = 8000;";

/// An arbitrary, fixed key: replicas starting together take turns at migrating.
const MIGRATION_LOCK_KEY: i64 = 0x0062_6f74_7769_7265;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database connection pool: {0}")]
    Pool(String),
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database connection: {0}")]
    Connect(#[from] ConnectionError),
    #[error("migrations: {0}")]
    Migration(String),
}

#[derive(Clone)]
pub enum Db {
    Sqlite(Pool<SqliteConn>, WriteTurn),
    Postgres(Pool<AsyncPgConnection>),
}

/// SQLite's single writer, as a queue in the process: every write waits here for its turn (see [`with_write_conn!`]) rather than in SQLite's busy handler, which sleeps (1 ms,
/// then more) and, since statements run inline, would hold a runtime thread while it does.
pub type WriteTurn = std::sync::Arc<tokio::sync::Mutex<()>>;

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::Sqlite(..) => "Db::Sqlite",
            Db::Postgres(_) => "Db::Postgres",
        })
    }
}

/// Runs `$body` with `$conn` bound to a pooled connection of whichever backend `$db` is.
#[macro_export]
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(pool, _) => {
                #[allow(unused_mut)]
                let mut $conn = pool
                    .get()
                    .await
                    .map_err(|e| $crate::db::DbError::Pool(e.to_string()))?;
                $body
            }
            $crate::db::Db::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $conn = pool
                    .get()
                    .await
                    .map_err(|e| $crate::db::DbError::Pool(e.to_string()))?;
                $body
            }
        }
    };
}

/// Like [`with_conn!`], for a body that writes: on SQLite it first waits, without blocking a
/// thread, for the process's write turn ([`WriteTurn`]). A body must not wait for another turn
/// (the queue is not reentrant), which holds as the store never nests connections.
#[macro_export]
macro_rules! with_write_conn {
    ($db:expr, |$conn:ident| $body:expr) => {{
        let db: &$crate::db::Db = $db;
        let _turn = db.write_turn().await;
        $crate::with_conn!(db, |$conn| $body)
    }};
}

fn sqlite_setup(url: &str) -> BoxFuture<'_, diesel::ConnectionResult<SqliteConn>> {
    async move {
        let mut conn = SqliteConn::establish(url).await?;
        conn.batch_execute(SQLITE_PRAGMAS)
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        Ok(conn)
    }
    .boxed()
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl Db {
    /// Opens a pool (creating an SQLite file and its directory when missing).
    pub async fn connect(url: &DatabaseUrl, pool_size: usize) -> Result<Db, DbError> {
        match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| DbError::Pool(format!("creating {}: {e}", dir.display())))?;
                }
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(sqlite_setup);
                // A local file does not go away under a pooled connection: no `SELECT 1` on
                // every checkout (the default), which the benchmark found doubled the statements.
                config.recycling_method = RecyclingMethod::Fast;
                let manager = AsyncDieselConnectionManager::<SqliteConn>::new_with_config(
                    path.to_string_lossy(),
                    config,
                );
                let pool = Pool::builder(manager)
                    .max_size(pool_size)
                    .build()
                    .map_err(|e| DbError::Pool(e.to_string()))?;
                Ok(Db::Sqlite(pool, WriteTurn::default()))
            }
            DatabaseUrl::Postgres(url) => {
                // `Fast`: a connection is checked when a query on it fails (the pool then drops
                // it), not with a `SELECT 1` on every checkout, which the benchmark found to be
                // half of all statements.
                let mut config = ManagerConfig::default();
                config.recycling_method = RecyclingMethod::Fast;
                let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
                    url.as_str(),
                    config,
                );
                let pool = Pool::builder(manager)
                    .max_size(pool_size)
                    .build()
                    .map_err(|e| DbError::Pool(e.to_string()))?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    /// On SQLite, starts checkpointing the WAL in the background (see [`checkpoint`]) for as
    /// long as this pool lives; nothing on PostgreSQL.
    pub fn start_checkpoints(&self, path: &DatabaseUrl, log: slog::Logger) -> Result<(), DbError> {
        match (self, path) {
            (Db::Sqlite(_, turn), DatabaseUrl::Sqlite(path)) => {
                Ok(checkpoint::spawn(path, turn, log)?)
            }
            _ => Ok(()),
        }
    }

    /// The process's write turn on SQLite (held until dropped); nothing on PostgreSQL, where
    /// writers wait for row locks in the database.
    pub async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self {
            Db::Sqlite(_, turn) => Some(turn.lock().await),
            Db::Postgres(_) => None,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Applies pending migrations; returns how many were applied now.
    pub async fn migrate(&self) -> Result<usize, DbError> {
        Ok(self.run_migrations(MigrationStep::AllPending).await?.len())
    }

    /// Runs one step of diesel's migration harness on this database's embedded migrations;
    /// returns the names of the migrations applied or reverted, in the order it did them.
    /// PostgreSQL replicas starting together take turns under an advisory lock.
    pub(crate) async fn run_migrations(&self, step: MigrationStep) -> Result<Vec<String>, DbError> {
        // The harness is synchronous (it drives the async connection with block_on), so it
        // runs on a blocking thread with a connection of its own.
        match self {
            Db::Sqlite(pool, _) => {
                let conn = pool.get().await.map_err(|e| DbError::Pool(e.to_string()))?;
                let conn = Object::take(conn);
                run_harness(conn, SQLITE_MIGRATIONS, step)
                    .await
                    .map(|(_, names)| names)
            }
            Db::Postgres(pool) => {
                let mut conn = pool.get().await.map_err(|e| DbError::Pool(e.to_string()))?;
                conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                    .await?;
                let conn = Object::take(conn);
                let (mut conn, names) = run_harness(conn, POSTGRES_MIGRATIONS, step).await?;
                conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                    .await?;
                Ok(names)
            }
        }
    }

    /// Answers when the database does.
    pub async fn ping(&self) -> Result<(), DbError> {
        with_conn!(self, |conn| conn.batch_execute("SELECT 1").await?);
        Ok(())
    }

    /// How many migrations the database has applied.
    pub async fn migrations_applied(&self) -> Result<u64, DbError> {
        let query = diesel::sql_query("SELECT COUNT(*) AS n FROM __diesel_schema_migrations");
        let count: Count = with_conn!(self, |conn| query.get_result(&mut conn).await?);
        Ok(u64::try_from(count.n).unwrap_or(0))
    }
}

/// What [`Db::run_migrations`] asks of diesel's migration harness: the server applies every
/// pending migration; the migrations test steps through them one at a time, up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MigrationStep {
    AllPending,
    /// The next pending migration.
    Next,
    /// Reverts the last applied migration.
    RevertLast,
}

async fn run_harness<C>(
    conn: C,
    migrations: EmbeddedMigrations,
    step: MigrationStep,
) -> Result<(C, Vec<String>), DbError>
where
    C: AsyncConnection + 'static,
    AsyncMigrationHarness<C>: MigrationHarness<C::Backend>,
{
    tokio::task::spawn_blocking(move || {
        // The harness answers with versions; name them as their folders are named.
        let embedded: Vec<(String, String)> =
            MigrationSource::<C::Backend>::migrations(&migrations)
                .map_err(|e| DbError::Migration(e.to_string()))?
                .iter()
                .map(|m| (m.name().version().to_string(), m.name().to_string()))
                .collect();
        let name = |version: &String| {
            embedded
                .iter()
                .find(|(v, _)| v == version)
                .map_or_else(|| version.clone(), |(_, name)| name.clone())
        };
        let mut harness = AsyncMigrationHarness::new(conn);
        let versions: Vec<String> = match step {
            MigrationStep::AllPending => harness
                .run_pending_migrations(migrations)
                .map(|done| done.iter().map(ToString::to_string).collect()),
            MigrationStep::Next => harness
                .run_next_migration(migrations)
                .map(|done| vec![done.to_string()]),
            MigrationStep::RevertLast => harness
                .revert_last_migration(migrations)
                .map(|done| vec![done.to_string()]),
        }
        .map_err(|e| DbError::Migration(e.to_string()))?;
        let names = versions.iter().map(name).collect();
        Ok((harness.into_inner(), names))
    })
    .await
    .map_err(|e| DbError::Migration(format!("migration task: {e}")))?
}

#[cfg(test)]
mod tests {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    #[derive(diesel::QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }

    /// The bundled SQLite is built with the options `.cargo/config.toml` gives it (a build
    /// outside this workspace's config would lose them silently, and with them the
    /// benchmark's SQLite figures).
    #[test]
    fn bundled_sqlite_has_qpsg_and_no_memstatus_mutex() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<CompileOption>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        assert!(options.iter().any(|o| o == "ENABLE_QPSG"), "{options:?}");
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }
}
