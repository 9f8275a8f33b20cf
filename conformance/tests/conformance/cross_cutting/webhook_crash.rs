//! Sweeps a crash: pending webhook deliveries survive a SIGKILLed server.
//!
//! A server in a child process is killed with SIGKILL while deliveries are pending; a new one
//! started on the same database delivers every one of them, under the same `webhook-id`, and
//! the independent verifier accepts them.
//!
//! The child is this test binary itself, run as `<exe> --ignored --exact <this
//! module>::child_server` with `BOTWIRE_CHILD_SERVER=1` and its configuration in the
//! environment (the in-process harness cannot be SIGKILLed on its own).

use crate::conformance::support::chat::ask;
use crate::conformance::support::webhooks::{create_webhook, finished};
use crate::conformance::support::{PASSWORD, client_with, create_bot};
use botwire_client::types::{self, WebhookEventType};
use botwire_conformance::receiver::{Receiver, Reply};
use botwire_conformance::{Backend, on_both_databases, postgres};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "BOTWIRE_CHILD_SERVER";
const LISTENING: &str = "BOTWIRE_CHILD_LISTENING ";

/// The child server: runs only when the crash test starts this binary with
/// `BOTWIRE_CHILD_SERVER=1`; serves until killed, or until its parent goes (its stdin closes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the crash test's child server: started by that test, never on its own"]
async fn child_server() {
    if std::env::var(CHILD_ENV).as_deref() != Ok("1") {
        return;
    }
    std::thread::spawn(|| {
        let _ = std::io::stdin().read(&mut [0u8; 1]);
        std::process::exit(0);
    });
    let config = botwire_server::config::Config::from_env().expect("the child's configuration");
    let log = botwire_server::logger(Some("error")).expect("a logger");
    let server = botwire_server::start(config, log)
        .await
        .expect("the child server");
    println!("{LISTENING}{}", server.local_addr());
    server.wait().await.expect("the child server stopped");
}

/// A server in a child process; killed (SIGKILL) when dropped.
struct Child {
    process: std::process::Child,
    base_url: String,
}

impl Child {
    fn start(database_url: &str, data_dir: &Path) -> Child {
        let exe = std::env::current_exe().expect("the test binary");
        // The test's path: this module's, but for the crate's name.
        let (_, module) = module_path!().split_once("::").expect("a module path");
        let child_server = format!("{module}::child_server");
        let mut process = Command::new(exe)
            .args([
                "--ignored",
                "--exact",
                child_server.as_str(),
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .env("DATABASE_URL", database_url)
            .env("BOTWIRE_BIND", "127.0.0.1:0")
            .env("BOTWIRE_DATA_DIR", data_dir)
            .env("BOTWIRE_WEBHOOK_ALLOWED_CIDRS", "127.0.0.0/8")
            .env("BOTWIRE_WEBHOOK_POLL_MS", "20")
            .env("BOTWIRE_WEBHOOK_RETRY_SCALE", "0.001")
            .env("BOTWIRE_WEBHOOK_TIMEOUT_MS", "2000")
            .env("BOTWIRE_RATE_LIMIT_STANDARD", "100000")
            .env("BOTWIRE_RATE_LIMIT_CHAT", "100000")
            .env("BOTWIRE_RATE_LIMIT_AUTH", "100000")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the child server");
        let stdout = process.stdout.take().expect("the child's stdout");
        let (found, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest may have written the test's name on the same line.
                if let Some((_, address)) = line.split_once(LISTENING) {
                    let _ = found.send(address.trim().to_string());
                }
            }
        });
        let address = address
            .recv_timeout(Duration::from_secs(60))
            .expect("the child server said where it listens");
        Child {
            process,
            base_url: format!("http://{address}"),
        }
    }

    /// `kill -9`.
    fn kill(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn pending_deliveries_survive_a_kill(backend: Backend) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("botwire.sqlite3").display()),
        Backend::Postgres => {
            postgres::cluster()
                .and_then(|cluster| cluster.create_database())
                .expect("a PostgreSQL database")
                .1
        }
    };
    // The receiver is down (503) until the server has been killed.
    let receiver = Receiver::start(|_, _| Reply::status(503)).await;
    let mut first = Child::start(&database_url, dir.path());
    let session = {
        let client = botwire_client::Client::new(&first.base_url);
        client
            .account_register()
            .body(
                types::AccountRegister::builder()
                    .email("crash@example.test")
                    .name("Crash")
                    .password(PASSWORD),
            )
            .send()
            .await
            .expect("registering")
            .into_inner()
    };
    let owner = |base_url: &str| {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = format!("Bearer {}", session.token)
            .parse()
            .expect("a header value");
        headers.insert(reqwest::header::AUTHORIZATION, value);
        client_with(base_url, headers)
    };
    let before = owner(&first.base_url);
    let bot = create_bot(&before, "Crashy").await;
    let hook = create_webhook(
        &before,
        bot.id,
        &receiver.url("/crash"),
        vec![WebhookEventType::MessageReceived],
    )
    .await;
    for n in 0..5 {
        ask(&before, bot.id, &format!("crash-{n}"), "Are you there?").await;
    }
    // Every delivery was attempted (and refused) at least once: they are pending, mid-schedule.
    let deadline = Instant::now() + Duration::from_secs(60);
    let ids_before: BTreeSet<String> = loop {
        let ids: BTreeSet<String> = receiver.received().iter().map(|r| r.webhook_id()).collect();
        if ids.len() == 5 {
            break ids;
        }
        assert!(Instant::now() < deadline, "attempted so far: {ids:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    first.kill();
    // A request the dead server had sent is recorded before the receiver recovers.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused_before = receiver.received().len();

    // The receiver is back; a new server on the same database delivers all five.
    receiver.set_script(|_, _| Reply::status(200));
    let second = Child::start(&database_url, dir.path());
    let after = owner(&second.base_url);
    let log = after
        .delivery_list()
        .webhook_id(hook.id)
        .send()
        .await
        .expect("delivery_list")
        .into_inner();
    assert_eq!(log.pagination.total, 5, "no delivery lost");
    for delivery in &log.data {
        assert!(ids_before.contains(&delivery.id.to_string()));
        let delivery = finished(&after, hook.id, delivery.id).await;
        assert_eq!(delivery.status, types::WebhookDeliveryStatus::Succeeded);
        // The refused attempts before the kill are logged, but for one the dead server was
        // making when killed: it is made again once its lease runs out.
        assert!(delivery.attempt_count >= 1, "{delivery:?}");
        assert_eq!(
            delivery.attempts.last().and_then(|a| a.status_code),
            Some(200)
        );
    }
    let received = receiver.received();
    let delivered: Vec<_> = received[refused_before..].iter().collect();
    let ids_after: BTreeSet<String> = delivered.iter().map(|r| r.webhook_id()).collect();
    assert_eq!(
        ids_after, ids_before,
        "the same webhook-ids after the restart"
    );
    assert_eq!(delivered.len(), 5, "each delivered once after the restart");
    for request in delivered {
        standardwebhooks::Webhook::new(&hook.secret)
            .expect("a secret")
            .verify(&request.body, &request.headers)
            .expect("signed");
    }
    drop(second);
}

on_both_databases!(backend: pending_deliveries_survive_a_kill);
