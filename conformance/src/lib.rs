//! The conformance harness: a real Botwire server, in-process on a free loopback port, against
//! a fresh real database (an SQLite file, or a new database in a throwaway PostgreSQL
//! cluster), driven through the generated client.
//!
//! Tests are written once as `async fn name(ctx: &TestContext)` (or, when they set up what
//! they need themselves, `async fn name(backend: Backend)`) and run on both databases by
//! [`on_both_databases!`], the one macro for it.

pub mod postgres;
pub mod receiver;
pub mod smtp;
pub mod spec;
pub mod strategies;

use anyhow::{Context, Result};
use botwire_server::RunningServer;
use botwire_server::config::{Config, DatabaseUrl, RateLimits};

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
    database: DatabaseUrl,
    /// The name of the PostgreSQL database, dropped at teardown.
    postgres_database: Option<String>,
    owner_token: tokio::sync::OnceCell<String>,
    _data_dir: tempfile::TempDir,
}

impl TestContext {
    /// Starts a server on a fresh database of the given backend, with rate limits high enough
    /// that tests do not trip them (rate-limit tests set their own with [`TestContext::with`]).
    pub async fn new(backend: Backend) -> Result<TestContext> {
        TestContext::with(backend, |_| {}).await
    }

    /// Like [`TestContext::new`], with the configuration adjusted first.
    pub async fn with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Result<TestContext> {
        TestContext::with_logger(backend, adjust, botwire_server::logger(Some("error"))?).await
    }

    /// Like [`TestContext::with`], logging to `log` (tests that read the server's log).
    pub async fn with_logger(
        backend: Backend,
        adjust: impl FnOnce(&mut Config),
        log: slog::Logger,
    ) -> Result<TestContext> {
        let data_dir = tempfile::tempdir().context("creating a temp dir")?;
        let (database, postgres_database) = match backend {
            Backend::Sqlite => (
                DatabaseUrl::Sqlite(data_dir.path().join("botwire.sqlite3")),
                None,
            ),
            Backend::Postgres => {
                let (name, url) = postgres::cluster()?.create_database()?;
                (DatabaseUrl::Postgres(url), Some(name))
            }
        };
        let mut config = Config::for_database(database, data_dir.path().join("outbox"));
        config.rate_limits = RateLimits {
            standard: 1_000_000,
            chat: 1_000_000,
            auth: 1_000_000,
        };
        // The scripted and real LLMs of the tests listen on loopback.
        config.llm.allowed_cidrs = loopback();
        adjust(&mut config);
        let database_url = config.database.clone();
        let server = botwire_server::start(config, log).await?;
        let base_url = format!("http://{}", server.local_addr());
        Ok(TestContext {
            backend,
            client: botwire_client::Client::new(&base_url),
            base_url,
            http: reqwest::Client::new(),
            server,
            database: database_url,
            postgres_database,
            owner_token: tokio::sync::OnceCell::new(),
            _data_dir: data_dir,
        })
    }

    /// A second server ("replica") on this context's database, configured the same way.
    pub async fn replica(&self, adjust: impl FnOnce(&mut Config)) -> Result<RunningServer> {
        let mut config = Config::for_database(self.database.clone(), self.outbox_dir());
        config.rate_limits = RateLimits {
            standard: 1_000_000,
            chat: 1_000_000,
            auth: 1_000_000,
        };
        config.llm.allowed_cidrs = loopback();
        adjust(&mut config);
        botwire_server::start(config, botwire_server::logger(Some("error"))?).await
    }

    /// A session token of a user registered on first use (`owner@example.test`): the owner
    /// of whatever the sweeps create.
    pub async fn owner_token(&self) -> &str {
        self.owner_token
            .get_or_init(|| async {
                let body = botwire_client::types::AccountRegister {
                    email: "owner@example.test".parse().expect("an email"),
                    name: "Owner".parse().expect("a name"),
                    password: "correct horse battery staple".parse().expect("a password"),
                };
                let session = self.client.account_register().body(body).send().await;
                session
                    .expect("registering the sweeps' owner")
                    .into_inner()
                    .token
            })
            .await
    }

    /// A plain request carrying the owner's session token.
    pub async fn authed(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let token = self.owner_token().await;
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    /// The database the server runs on (to open a second pool on it, as a replica would).
    pub fn database_url(&self) -> &DatabaseUrl {
        &self.database
    }

    /// Where the server writes email when no SMTP relay is configured.
    pub fn outbox_dir(&self) -> std::path::PathBuf {
        self._data_dir.path().join("outbox")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the server and deletes its database: the SQLite file goes with the temp dir, a
    /// PostgreSQL database is dropped. (A test that panics skips this; its database goes with
    /// the cluster when the test process ends.)
    pub async fn teardown(self) {
        if let Err(error) = self.server.close().await {
            eprintln!("stopping the test server: {error:#}");
        }
        if let Some(name) = &self.postgres_database {
            let dropped = tokio::task::spawn_blocking({
                let name = name.clone();
                move || postgres::cluster()?.drop_database(&name)
            })
            .await
            .map_err(anyhow::Error::from)
            .and_then(|dropped| dropped);
            if let Err(error) = dropped {
                eprintln!("dropping the test database {name}: {error:#}");
            }
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

/// IPv4 and IPv6 loopback.
fn loopback() -> Vec<ipnet::IpNet> {
    vec![
        ipnet::IpNet::from(std::net::IpAddr::from([127, 0, 0, 1])),
        ipnet::IpNet::from(std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
    ]
}

/// Like [`run_on`], on a server configured by `adjust`.
pub async fn run_with<F>(backend: Backend, adjust: impl FnOnce(&mut Config), test: F)
where
    F: AsyncFnOnce(&TestContext),
{
    let ctx = TestContext::with(backend, adjust)
        .await
        .expect("starting the test server");
    test(&ctx).await;
    ctx.teardown().await;
}

/// Declares, for each test named, a module `name` with the tests `name::sqlite` and
/// `name::postgres`, each on a fresh server (or database) of its own. The one way a test runs
/// on both databases; its forms:
///
/// ```text
/// // `async fn name(ctx: &TestContext)`, on a server with the harness's configuration.
/// on_both_databases!(test_a, test_b);
/// // The same, on a server whose `Config` is adjusted first: a `fn(&mut Config)` or a
/// // closure (it may name items of the invoking module).
/// on_both_databases!(config = |config| config.monthly_message_quota = Some(2), test_c);
/// // `async fn name(backend: Backend)`: the test sets up what it needs itself (its own
/// // server, a child process, a bare database).
/// on_both_databases!(backend: test_d);
/// // Attributes first apply to every test generated, in any of the forms above.
/// on_both_databases!(#[ignore = "needs a real LLM"] test_e, test_f);
/// ```
#[macro_export]
macro_rules! on_both_databases {
    ($(#[$attr:meta])* backend: $($test:ident),+ $(,)?) => {
        $crate::on_both_databases!(@each [$(#[$attr])*] [backend] $($test),+);
    };
    ($(#[$attr:meta])* config = $config:expr, $($test:ident),+ $(,)?) => {
        $crate::on_both_databases!(@each [$(#[$attr])*] [config $config] $($test),+);
    };
    (@each [$($attr:tt)*] [$($how:tt)*] $test:ident $(, $rest:ident)*) => {
        #[allow(unused_imports)]
        mod $test {
            // What the invoking module names (a `config` closure may use it).
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $($attr)*
            async fn sqlite() {
                $crate::on_both_databases!(@run [$($how)*] $test $crate::Backend::Sqlite);
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $($attr)*
            async fn postgres() {
                $crate::on_both_databases!(@run [$($how)*] $test $crate::Backend::Postgres);
            }
        }
        $crate::on_both_databases!(@each [$($attr)*] [$($how)*] $($rest),*);
    };
    (@each [$($attr:tt)*] [$($how:tt)*]) => {};
    (@run [] $test:ident $backend:expr) => {
        $crate::run_on($backend, super::$test).await
    };
    (@run [config $config:expr] $test:ident $backend:expr) => {
        $crate::run_with($backend, $config, super::$test).await
    };
    (@run [backend] $test:ident $backend:expr) => {
        super::$test($backend).await
    };
    ($(#[$attr:meta])* $($test:ident),+ $(,)?) => {
        $crate::on_both_databases!(@each [$(#[$attr])*] [] $($test),+);
    };
}
