//! The conformance harness: a real Botwire server, in-process on a free loopback port, against
//! a fresh real database (an SQLite file, or a new database in a throwaway PostgreSQL
//! cluster), driven through the generated client.
//!
//! Tests are written once as `async fn name(ctx: &TestContext)` and run on both databases by
//! [`on_both_databases!`].

pub mod postgres;
pub mod spec;
pub mod strategies;

use anyhow::{Context, Result};
use botwire_server::RunningServer;
use botwire_server::config::{Config, DatabaseUrl};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestContext {
    pub backend: Backend,
    /// The generated client, pointed at the server.
    pub client: botwire_client::Client,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// A plain HTTP client, for what a typed client cannot send (malformed bodies, oversize
    /// bodies, unknown routes) and for sweeps over every operation of the contract.
    pub http: reqwest::Client,
    server: RunningServer,
    _data_dir: tempfile::TempDir,
}

impl TestContext {
    /// Starts a server on a fresh database of the given backend.
    pub async fn new(backend: Backend) -> Result<TestContext> {
        let data_dir = tempfile::tempdir().context("creating a temp dir")?;
        let database = match backend {
            Backend::Sqlite => DatabaseUrl::Sqlite(data_dir.path().join("botwire.sqlite3")),
            Backend::Postgres => DatabaseUrl::Postgres(postgres::cluster()?.create_database()?),
        };
        let log = botwire_server::logger(Some("error"))?;
        let config = Config::for_database(database, data_dir.path().join("outbox"));
        let server = botwire_server::start(config, log).await?;
        let base_url = format!("http://{}", server.local_addr());
        Ok(TestContext {
            backend,
            client: botwire_client::Client::new(&base_url),
            base_url,
            http: reqwest::Client::new(),
            server,
            _data_dir: data_dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the server (the database goes with the temp dir or the cluster).
    pub async fn teardown(self) {
        if let Err(error) = self.server.close().await {
            eprintln!("stopping the test server: {error:#}");
        }
    }
}

/// Reads a raw (non-JSON) response of the generated client to the end, as text.
pub async fn read_text(
    response: botwire_client::ResponseValue<botwire_client::ByteStream>,
) -> Result<String> {
    use futures::TryStreamExt;
    let bytes: Vec<u8> = response
        .into_inner()
        .into_inner()
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .context("reading the response body")?;
    String::from_utf8(bytes).context("the response body is not UTF-8")
}

/// Runs one test body against a fresh server on `backend`, then stops the server.
pub async fn run_on<F>(backend: Backend, test: F)
where
    F: AsyncFnOnce(&TestContext),
{
    let ctx = TestContext::new(backend)
        .await
        .expect("starting the test server");
    test(&ctx).await;
    ctx.teardown().await;
}

/// Declares, for each `async fn name(ctx: &TestContext)` in scope, a module `name` with the
/// tests `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($test:ident),* $(,)?) => {
        $(
            mod $test {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $crate::run_on($crate::Backend::Sqlite, super::$test).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::run_on($crate::Backend::Postgres, super::$test).await;
                }
            }
        )*
    };
}
