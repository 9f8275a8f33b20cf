//! Sweeps the README's quick start: its marked block, run as written with bash against a fresh
//! server and the webhook receiver it tells the user to start, twice in a row (as a user who
//! pastes it again would), so that the README cannot drift from the server.

use crate::conformance::support::debug_log_to;
use botwire_conformance::{Backend, TestContext, on_both_databases};
use botwire_server::config::WebhookConfig;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BLOCK_START: &str = "<!-- quickstart";
const BLOCK_END: &str = "<!-- /quickstart -->";
/// One run's bound: the script waits at most 30 s for its webhook delivery.
const RUN_WITHIN: Duration = Duration::from_secs(120);

fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    std::fs::read_to_string(path).expect("reading README.md")
}

/// The shell block between the README's quick-start markers.
fn quickstart_block(readme: &str) -> String {
    let after_marker = readme
        .split_once(BLOCK_START)
        .expect("the README marks its quick start")
        .1;
    let (marked, _) = after_marker
        .split_once(BLOCK_END)
        .expect("the quick start's marker is closed");
    let body = marked
        .split_once("```sh\n")
        .expect("a sh block after the marker")
        .1;
    let (script, rest) = body.split_once("```").expect("the sh block is closed");
    assert!(
        rest.trim().is_empty(),
        "one block between the markers: {rest}"
    );
    script.to_string()
}

/// The quick start's receiver (`docs/quickstart/receiver.py`) on a free port, and the lines it
/// prints.
struct QuickstartReceiver {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl QuickstartReceiver {
    async fn start() -> QuickstartReceiver {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/quickstart/receiver.py"
        );
        let mut child = Command::new("python3")
            .args([script, "0"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting python3 docs/quickstart/receiver.py");
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
            .await
            .expect("the receiver starts within 20 s")
            .unwrap()
            .expect("the receiver says where it listens");
        let port = first
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("a port in {first:?}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&lines);
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                seen.lock().unwrap().push(line);
            }
        });
        QuickstartReceiver { child, port, lines }
    }

    fn deliveries_of(&self, event: &str) -> usize {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter(|l| l.starts_with("delivery ") && l.contains(&format!(" {event} ")))
            .count()
    }
}

/// Runs the block as the user would (bash, in a directory of their own) with the two URLs the
/// block lets the user override; its exit status, stdout and stderr.
async fn run_block(block: &str, server: &str, hook_url: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let run = Command::new("bash")
        .args(["-c", block])
        .current_dir(dir.path())
        .env("BOTWIRE_URL", server)
        .env("BOTWIRE_HOOK_URL", hook_url)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN_WITHIN, run)
        .await
        .expect("the quick start finishes within its bound")
        .expect("running bash");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn the_readme_quick_start_runs_as_written_twice(ctx: &TestContext) {
    let readme = readme();
    // What the block relies on that it cannot do itself: the server started allowing the
    // receiver's address, and the receiver on the port the block's default URL names.
    assert!(
        readme.contains(
            "BOTWIRE_WEBHOOK_ALLOWED_CIDRS=127.0.0.1/32 cargo run --release -p botwire-server -- serve"
        ),
        "the README starts the server allowing the local receiver"
    );
    assert!(readme.contains("python3 docs/quickstart/receiver.py 9000"));
    let block = quickstart_block(&readme);
    assert!(block.contains("http://127.0.0.1:9000/botwire-events"));
    assert!(block.contains("http://127.0.0.1:8080"));

    let mut receiver = QuickstartReceiver::start().await;
    let hook_url = format!("http://127.0.0.1:{}/botwire-events", receiver.port);
    for run in 1..=2 {
        let (success, stdout, stderr) = run_block(&block, &ctx.base_url, &hook_url).await;
        let shown = format!("run {run}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        assert!(success, "the quick start fails: {shown}");
        assert!(!stderr.contains("Traceback"), "{shown}");
        assert!(
            stdout.contains("reply: We are open 9 to 5, Monday to Friday."),
            "the bot answers from the document: {shown}"
        );
        assert!(stdout.contains("event: done"), "the stream ends: {shown}");
        assert!(stdout.contains(" delivered"), "{shown}");
        assert!(stdout.contains("export B="), "{shown}");
        // Two messages a run (sent, then streamed), each delivered once; the block waits for
        // the first delivery only.
        let expected = 2 * run;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while receiver.deliveries_of("message.received") < expected
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            receiver.deliveries_of("message.received"),
            expected,
            "each run's messages reached the receiver once each: {shown}\n--- receiver\n{}",
            receiver.lines.lock().unwrap().join("\n")
        );
    }
    receiver.child.kill().await.unwrap();
}

/// dropshot logs "listening" with the address; the server's own start-up line says something
/// else (it said "listening" a second time).
async fn the_start_up_log_says_listening_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.log");
    let ctx = TestContext::with_logger(backend, |_| {}, debug_log_to(&path))
        .await
        .unwrap();
    let log = std::fs::read_to_string(&path).unwrap();
    let messages: Vec<String> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|entry| entry["msg"].as_str().map(str::to_string))
        .collect();
    let listening = messages.iter().filter(|m| *m == "listening").count();
    assert_eq!(listening, 1, "{messages:?}");
    assert!(
        messages.iter().any(|m| m == "botwire started"),
        "{messages:?}"
    );
    ctx.teardown().await;
}

on_both_databases!(
    config = |config| {
        // As the README's start command sets BOTWIRE_WEBHOOK_ALLOWED_CIDRS.
        config.webhooks.allowed_cidrs = WebhookConfig::parse_cidrs("127.0.0.1/32").unwrap();
    },
    the_readme_quick_start_runs_as_written_twice,
);
on_both_databases!(backend: the_start_up_log_says_listening_once);
