//! `cargo xtask fuzz`: schemathesis over every operation of openapi.yaml, against a fresh
//! server on SQLite.
//!
//! The xtask builds the server, starts it on a free loopback port with an empty database,
//! registers an account, an API key, a bot with a document, a conversation and a webhook
//! with a delivery through the API, and runs schemathesis (pinned,
//! from PyPI, into `target/tools/fuzz`) with every check, in its examples, coverage and fuzzing
//! phases, from a fixed seed and a bounded number of cases per operation, so that a run is
//! repeatable and bounded in time. Its configuration is `xtask/fuzz/schemathesis.toml` plus one
//! section, written here, that allows 501 `not_implemented` on the operations pinned as not
//! built yet; `xtask/fuzz/hooks.py` adds a check that a schema-valid request refused with 422
//! names only fields the contract says are refused for reasons no schema can state. Any other
//! finding (a 5xx, an undocumented status, a response off its schema, a schema-valid request
//! refused) fails the run; the JUnit report is in `target/fuzz/`.

use crate::bench::http;
use crate::bench::process::{Scratch, debug_server};
use crate::ci::{ensure_venv, run_step};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

const SCHEMATHESIS: &str = "schemathesis==4.32.5";

pub struct Options {
    /// Cases per operation and phase (schemathesis' `--max-examples`).
    pub max_examples: u32,
    pub seed: u64,
}

impl Options {
    pub fn parse(args: &[&str]) -> Result<Options> {
        let mut options = Options {
            max_examples: 25,
            seed: 19,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .with_context(|| format!("a value must follow {arg}"))
            };
            match *arg {
                "--max-examples" => options.max_examples = value()?.parse()?,
                "--seed" => options.seed = value()?.parse()?,
                other => bail!("unknown fuzz option: {other}"),
            }
        }
        Ok(options)
    }
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let venv = ensure_venv(&root.join("target/tools"), "fuzz", &[SCHEMATHESIS])?;
    let scratch = Scratch::new()?;
    let log = scratch.path("server.log");
    // Rate limits are out of the way (`botwire_serve`): the fuzzer sends thousands of requests
    // with one key, and 429s would test nothing.
    let server = debug_server(root, &scratch)?;
    let fixture = Fixture::create(server.addr)?;

    let unimplemented =
        std::fs::read_to_string(root.join("conformance/unimplemented-operations.txt"))
            .context("reading the pinned unimplemented operations")?;
    let config = scratch.path("schemathesis.toml");
    std::fs::write(
        &config,
        std::fs::read_to_string(root.join("xtask/fuzz/schemathesis.toml"))?
            + &unimplemented_section(&unimplemented),
    )?;
    // schemathesis keeps its cache (`.schemathesis/`) in its working directory: this one.
    let reports = root.join("target/fuzz");
    let _ = std::fs::remove_dir_all(&reports);
    std::fs::create_dir_all(&reports)?;
    let result = run_step(
        "schemathesis",
        Command::new(venv.join("bin/schemathesis"))
            .current_dir(&reports)
            .args(["--config-file"])
            .arg(&config)
            .arg("run")
            .arg(root.join("openapi.yaml"))
            .arg("--url")
            .arg(format!("http://{}", server.addr))
            .args(["--checks", "all", "--phases", "examples,coverage,fuzzing"])
            .args(["--max-examples", &options.max_examples.to_string()])
            .args(["--seed", &options.seed.to_string()])
            .args(["--workers", "2", "--report", "junit", "--report-dir", "."])
            .envs(fixture.env())
            .env("SCHEMATHESIS_HOOKS", root.join("xtask/fuzz/hooks.py"))
            .env("SCHEMATHESIS_TELEMETRY", "false"),
    );
    drop(server);
    let errors: Vec<String> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|line| {
            ["ERRO", "CRIT", "panicked"]
                .iter()
                .any(|mark| line.contains(mark))
        })
        .map(str::to_string)
        .collect();
    if !errors.is_empty() {
        eprintln!("the server logged {} errors:", errors.len());
        for line in errors.iter().take(20) {
            eprintln!("{line}");
        }
    }
    result.context("the fuzz found what the contract does not allow (see above and target/fuzz/)")
}

/// 501 `not_implemented` is what the operations pinned as not built yet answer (the
/// `cross_cutting::unimplemented` sweep holds them to it); every other check still applies.
fn unimplemented_section(pinned: &str) -> String {
    let ids: Vec<String> = pinned
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|id| format!("\"{id}\""))
        .collect();
    format!(
        "\n# Written by xtask/src/fuzz.rs from conformance/unimplemented-operations.txt.\n\
         [[operations]]\n\
         include-operation-id = [{}]\n\
         checks.not_a_server_error.expected-statuses = [\"2xx\", \"3xx\", \"4xx\", \"501\"]\n",
        ids.join(", ")
    )
}

/// What the fuzzer authenticates with and the resources it works on, created through the
/// API: without them, an operation on a resource would meet 404 for every id it makes up.
struct Fixture {
    token: String,
    key: String,
    bot: String,
    document: String,
    session: String,
    conversation: String,
    webhook: String,
    delivery: String,
}

impl Fixture {
    fn create(addr: std::net::SocketAddr) -> Result<Fixture> {
        let json = ("Content-Type", "application/json");
        let call = |method: &str, path: &str, headers: &[(&str, &str)], body: &[u8], want: &str| {
            let answer = http::call(addr, method, path, headers, body)?;
            let value = answer[want].as_str().map(str::to_string);
            value.with_context(|| format!("{method} {path}: no {want} in {answer}"))
        };
        let token = call(
            "POST",
            "/v1/auth/register",
            &[json],
            br#"{"email":"fuzz@example.com","name":"Fuzz","password":"a long fuzz passphrase"}"#,
            "token",
        )?;
        let bearer = format!("Bearer {token}");
        let key = call(
            "POST",
            "/v1/api-keys",
            &[json, ("Authorization", &bearer)],
            br#"{"name":"fuzz"}"#,
            "key",
        )?;
        let auth = ("X-API-Key", key.as_str());
        let bot = call(
            "POST",
            "/v1/bots",
            &[json, auth],
            br#"{"name":"Fuzz"}"#,
            "id",
        )?;
        let (form_type, form) = http::multipart(
            "faq.csv",
            "text/csv",
            b"question,answer\nHow long does a refund take?,Five working days.\n",
            &[],
        );
        let documents = format!("/v1/bots/{bot}/documents");
        let document = call(
            "POST",
            &documents,
            &[("Content-Type", &form_type), auth],
            &form,
            "id",
        )?;
        let session = "fuzz-session".to_string();
        let message = format!(
            r#"{{"bot_id":"{bot}","session_id":"{session}","message":"How long does a refund take?"}}"#
        );
        let conversation = call(
            "POST",
            "/v1/chat",
            &[json, auth],
            message.as_bytes(),
            "conversation_id",
        )?;
        // A receiver that never answers: its deliveries fail and are retried, as they may be.
        let hook = br#"{"url":"http://127.0.0.1:9/fuzz","events":["message.received"]}"#;
        let webhooks = format!("/v1/bots/{bot}/webhooks");
        let webhook = call("POST", &webhooks, &[json, auth], hook, "id")?;
        let test = format!("/v1/webhooks/{webhook}/test");
        let delivery = call("POST", &test, &[auth], b"", "id")?;
        Ok(Fixture {
            token,
            key,
            bot,
            document,
            session,
            conversation,
            webhook,
            delivery,
        })
    }

    /// The environment `schemathesis.toml` reads them from.
    fn env(&self) -> [(&'static str, &str); 8] {
        [
            ("BOTWIRE_FUZZ_TOKEN", &self.token),
            ("BOTWIRE_FUZZ_KEY", &self.key),
            ("BOTWIRE_FUZZ_BOT", &self.bot),
            ("BOTWIRE_FUZZ_DOCUMENT", &self.document),
            ("BOTWIRE_FUZZ_SESSION", &self.session),
            ("BOTWIRE_FUZZ_CONVERSATION", &self.conversation),
            ("BOTWIRE_FUZZ_WEBHOOK", &self.webhook),
            ("BOTWIRE_FUZZ_DELIVERY", &self.delivery),
        ]
    }
}
