//! Sweeps SQLite's write-ahead log: commits reach the database file, and the WAL starts again.
//!
//! SQLite's WAL is copied back into the database file in the background
//! (`server/src/db/checkpoint.rs`), not only when a commit finds it 8000 pages long: what the
//! API writes is in the database file itself soon after, and the WAL then starts again from
//! its beginning instead of growing.
//!
//! What these tests cannot show: that the checkpoint inside the write turn keeps the WAL short
//! under writes that never pause. That is a matter of load, and the benchmark shows it (chat
//! send p99 and the history read's CPU).

use crate::conformance::support::{bearer, register};
use botwire_conformance::{Backend, TestContext};
use botwire_server::config::DatabaseUrl;
use botwire_server::db::Db;
use botwire_server::store::users::user_get_by_email;
use std::path::{Path, PathBuf};
use std::time::Duration;

const OWNER: &str = "wal@example.test";

/// How long a commit may take to reach the database file: many checkpoint periods (100 ms), for
/// a loaded CI machine.
const PATIENCE: Duration = Duration::from_secs(10);

fn sqlite_path(ctx: &TestContext) -> PathBuf {
    match ctx.database_url() {
        DatabaseUrl::Sqlite(path) => path.clone(),
        DatabaseUrl::Postgres(_) => unreachable!("an SQLite context"),
    }
}

/// Whether a copy of the database file alone (no WAL) holds the owner's account. A copy taken
/// while a checkpoint writes may be torn: that reads as "not yet".
async fn database_file_has_owner(path: &Path) -> bool {
    let Ok(copy_dir) = tempfile::tempdir() else {
        return false;
    };
    let copy = copy_dir.path().join("copy.sqlite3");
    if std::fs::copy(path, &copy).is_err() {
        return false;
    }
    let Ok(db) = Db::connect(&DatabaseUrl::Sqlite(copy), 1).await else {
        return false;
    };
    matches!(user_get_by_email(&db, OWNER).await, Ok(Some(_)))
}

/// The WAL header's checkpoint sequence number: SQLite adds one each time a writer starts the
/// WAL again from its beginning.
fn wal_restarts(path: &Path) -> u32 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let bytes = std::fs::read(PathBuf::from(wal)).expect("reading the WAL");
    u32::from_be_bytes(bytes[12..16].try_into().expect("a WAL header"))
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < PATIENCE,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_commits_reach_the_database_file_and_the_wal_starts_again() {
    let ctx = TestContext::new(Backend::Sqlite)
        .await
        .expect("starting the test server");
    let path = sqlite_path(&ctx);
    let session = register(&ctx, OWNER, "Wal Owner").await;
    eventually("the new account in the database file", async || {
        database_file_has_owner(&path).await
    })
    .await;

    // Every commit so far is in the database file, so the next writer starts the WAL again.
    let before = wal_restarts(&path);
    let bot = botwire_client::types::BotCreate::builder().name("Support");
    bearer(&ctx, &session.token)
        .bot_create()
        .body(bot)
        .send()
        .await
        .expect("creating a bot");
    let after = wal_restarts(&path);
    assert!(
        after > before,
        "WAL restarts: {before} before a write, {after} after"
    );
    ctx.teardown().await;
}
