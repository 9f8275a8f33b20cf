//! `cargo xtask bench`: the benchmark of issue 4.
//!
//! Builds the server and the baseline in release; measures the baseline (a raw hyper JSON
//! echo, `bench/echo`); then starts the server on SQLite (a temp dir) and on PostgreSQL (a
//! throwaway cluster), sets up a bot with the FAQ data set through the HTTP API, and loads it
//! on loopback: chat send and history read with wrk, time to the first SSE byte with our own
//! probe. Where a target is missed, it profiles a shortened run with `perf`. Writes
//! `target/bench/report.md` and `chart.png` and copies both to `docs/bench/`.

mod http;
mod postgres;
mod probe;
mod report;
mod wrk;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wrk::Load;

/// The data set the bot answers from, as pinned for the answer-quality test.
const FAQ_PACKAGE_DIR: &str = "zaragoza_construction_faq/data";
/// What the bench venv (`target/tools/bench-venv`) holds: the chart's plotting library and the
/// FAQ data set (the same pin as the answer-quality test's).
const PLOTTING: &str = "matplotlib==3.11.2";
/// Sessions the chat scenarios rotate through (as many as connections).
const SESSIONS: usize = 64;
/// Rate limits far above anything the run can reach (requests per minute per credential).
const UNLIMITED_PER_MINUTE: &str = "1000000000";
/// Requests of the first-byte probe with one client.
const SEQUENTIAL_PROBES: usize = 1000;

/// The breakdown's requests (see [`breakdown`]).
pub const BREAKDOWN_HEALTH: &str = "GET /health: no credential, no database";
pub const BREAKDOWN_BOT_JWT: &str = "GET a bot with a JWT: one read";
pub const BREAKDOWN_BOT_KEY: &str = "GET a bot with the API key: key lookup, touch, one read";

/// The issue's targets on this 2-core machine.
const CHAT_SEND_SQLITE_RPS: f64 = 5_000.0;
const CHAT_SEND_POSTGRES_RPS: f64 = 3_000.0;
const CHAT_SEND_P99_MS: f64 = 25.0;
const HISTORY_RPS: f64 = 20_000.0;
const FIRST_BYTE_MS: f64 = 5.0;

pub struct Options {
    /// Seconds per loaded scenario.
    pub seconds: u64,
    /// The backends to measure (both unless `--backend` names one).
    pub backends: Vec<&'static str>,
    /// `--quick`: the scenarios only, no breakdown and no profiles.
    pub quick: bool,
}

impl Options {
    /// Whether this run is the whole benchmark, whose report goes to `docs/bench/`.
    fn complete(&self) -> bool {
        self.backends.len() == 2 && !self.quick
    }
}

impl Options {
    pub fn parse(args: &[&str]) -> Result<Options> {
        let mut options = Options {
            seconds: 10,
            backends: vec!["sqlite", "postgres"],
            quick: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "--seconds" => {
                    options.seconds = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|n| *n > 0)
                        .context("--seconds needs a positive number")?;
                }
                "--backend" => {
                    options.backends = match args.next().copied() {
                        Some("sqlite") => vec!["sqlite"],
                        Some("postgres") => vec!["postgres"],
                        _ => bail!("--backend needs sqlite or postgres"),
                    };
                }
                "--quick" => options.quick = true,
                other => bail!("bench: unknown option {other}"),
            }
        }
        Ok(options)
    }
}

/// One scenario's figures.
pub struct Measurement {
    pub backend: &'static str,
    pub scenario: &'static str,
    /// `wrk` or `probe` (our first-byte client).
    pub tool: &'static str,
    /// /proc/loadavg just before the scenario (1, 5, 15 minutes).
    pub load_before: String,
    pub load: Load,
    /// The server's VmHWM after the scenario (the peak since it started).
    pub peak_rss_kib: u64,
    /// The server process's CPU time per request during the scenario.
    pub server_cpu_us: f64,
    /// PostgreSQL's processes' CPU time per request (PostgreSQL only).
    pub db_cpu_us: Option<f64>,
    /// The statements PostgreSQL ran during the scenario, most frequent first (PostgreSQL
    /// only; from pg_stat_statements).
    pub db_statements: Option<Vec<DbStatement>>,
}

/// One normalised statement of pg_stat_statements over a scenario.
pub struct DbStatement {
    /// Executions per request served.
    pub per_request: f64,
    /// Mean execution time inside PostgreSQL.
    pub mean_ms: f64,
    pub query: String,
}

/// Where the time goes in a shortened run of a scenario that missed its target.
pub struct Profile {
    pub backend: &'static str,
    pub scenario: &'static str,
    pub requests_per_second: f64,
    pub by_program: Vec<String>,
    /// The server's samples by kind of work (see [`category`]), largest first.
    pub server_by_kind: Vec<(&'static str, f64)>,
    pub server_symbols: Vec<String>,
    pub db_symbols: Vec<String>,
    pub error: Option<String>,
}

pub struct Run {
    pub started: String,
    pub machine: Vec<String>,
    pub seconds: u64,
    pub measurements: Vec<Measurement>,
    /// The breakdown experiments of backends that missed a target.
    pub breakdown: Vec<Measurement>,
    pub profiles: Vec<Profile>,
    /// Per backend: how many of the set-up's concurrent first messages to one new session
    /// failed (of [`RACE_REQUESTS`]).
    pub race_failures: Vec<(&'static str, usize)>,
    pub total: Duration,
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let started = Instant::now();
    let started_at = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    if find_on_path("wrk").is_none() {
        bail!("wrk is not installed: `apt-get install wrk` (Debian) and run again");
    }
    println!("==> cargo build --release (botwire-server, botwire-bench-echo)");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "botwire-server",
            "-p",
            "botwire-bench-echo",
        ])
        .status()
        .context("starting cargo build")?;
    if !status.success() {
        bail!("the release build failed ({status})");
    }
    let build_time = started.elapsed();
    let venv = crate::ci::ensure_venv(
        &root.join("target/tools"),
        "bench-venv",
        &[PLOTTING, crate::ci::ANSWER_QUALITY_DATA],
    )?;
    let pairs = faq_pairs(&venv)?;
    println!("{} FAQ pairs loaded", pairs.len());

    let scratch = Scratch::new()?;
    let release = root.join("target/release");
    let bench_started = Instant::now();
    let mut measurements = Vec::new();
    let mut profiles = Vec::new();
    let mut breakdown = Vec::new();
    let mut race_failures = Vec::new();

    // The baseline: the same bodies as a chat send, echoed.
    {
        let echo = Server::start(
            Command::new(release.join("botwire-bench-echo")).arg(free_addr()?.to_string()),
            scratch.path("echo.log"),
            "echo",
        )?;
        echo.wait_ready("/")?;
        let bodies = chat_bodies(&pairs, "00000000-0000-0000-0000-000000000000", "echo");
        let requests: Vec<wrk::Request> = bodies
            .iter()
            .map(|body| wrk::Request {
                method: "POST",
                path: "/echo".into(),
                body: Some(body.clone()),
            })
            .collect();
        let headers = [("Content-Type", "application/json")];
        let script = scratch.write("echo.lua", &wrk::script(&headers, &requests))?;
        let seconds = Duration::from_secs(options.seconds);
        measurements.push(echo.measure("baseline", "chat send", None, || {
            wrk::run(echo.addr, &script, seconds)
        })?);
        let raw: Vec<Vec<u8>> = bodies
            .iter()
            .map(|body| http::request("POST", "/echo", &headers, body.as_bytes()))
            .collect();
        measurements.push(echo.measure("baseline", "first byte, 1 client", None, || {
            probe::sequential(echo.addr, &raw, SEQUENTIAL_PROBES)
        })?);
        measurements.push(
            echo.measure("baseline", "first byte, 64 connections", None, || {
                probe::concurrent(echo.addr, &raw, wrk::CONNECTIONS, seconds)
            })?,
        );
    }

    for backend in options.backends.iter().copied() {
        let (cluster, url) = if backend == "postgres" {
            let cluster = postgres::Cluster::start(&scratch.path("postgres"), free_port()?)?;
            let url = cluster.url();
            (Some(cluster), url)
        } else {
            let dir = scratch.path("sqlite");
            (None, format!("sqlite://{}/botwire.sqlite3", dir.display()))
        };
        let addr = free_addr()?;
        let server = Server::start(
            Command::new(release.join("botwire"))
                .arg("serve")
                .env("BOTWIRE_BIND", addr.to_string())
                .env("DATABASE_URL", &url)
                .env("BOTWIRE_DATA_DIR", scratch.path(&format!("{backend}-data")))
                .env("BOTWIRE_LOG", "warn")
                .env("BOTWIRE_RATE_LIMIT_STANDARD", UNLIMITED_PER_MINUTE)
                .env("BOTWIRE_RATE_LIMIT_CHAT", UNLIMITED_PER_MINUTE)
                .env("BOTWIRE_RATE_LIMIT_AUTH", UNLIMITED_PER_MINUTE)
                .env_remove("BOTWIRE_MONTHLY_MESSAGE_QUOTA")
                .env_remove("BOTWIRE_DB_POOL_SIZE"),
            scratch.path(&format!("{backend}-server.log")),
            backend,
        )?;
        server.wait_ready("/ready")?;
        let setup = Setup::run(server.addr, &pairs)?;
        let results = bench_botwire(
            &server,
            &setup,
            &pairs,
            &scratch,
            backend,
            cluster.as_ref(),
            options,
        )?;
        profiles.extend(results.profiles);
        measurements.extend(results.measurements);
        breakdown.extend(results.breakdown);
        race_failures.push((backend, setup.race_failures));
        drop(server);
        drop(cluster);
    }
    let bench_time = bench_started.elapsed();

    let run = Run {
        started: started_at,
        machine: machine_description(),
        seconds: options.seconds,
        measurements,
        breakdown,
        profiles,
        race_failures,
        total: bench_time,
    };
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let markdown = report::markdown(&run, build_time);
    std::fs::write(out.join("report.md"), &markdown)?;
    std::fs::write(out.join("results.json"), report::json(&run).to_string())?;
    let chart_script = scratch.write("chart.py", report::CHART_SCRIPT)?;
    let status = Command::new(venv.join("bin/python"))
        .arg(&chart_script)
        .arg(out.join("results.json"))
        .arg(out.join("chart.png"))
        .status()
        .context("running the chart script")?;
    if !status.success() {
        bail!("the chart script failed ({status})");
    }
    // Only a whole run stands for the project's figures.
    let copied = if options.complete() {
        let docs = root.join("docs/bench");
        std::fs::create_dir_all(&docs)?;
        std::fs::copy(out.join("report.md"), docs.join("report.md"))?;
        std::fs::copy(out.join("chart.png"), docs.join("chart.png"))?;
        " (copied to docs/bench/)"
    } else {
        " (a partial run: docs/bench/ left as it was)"
    };
    println!("\n{markdown}");
    println!(
        "bench: wrote target/bench/report.md and chart.png{copied} in {:.0?} \
         ({:.0?} building, {:.0?} measuring)",
        started.elapsed(),
        build_time,
        bench_time
    );
    Ok(())
}

struct BackendResults {
    measurements: Vec<Measurement>,
    breakdown: Vec<Measurement>,
    profiles: Vec<Profile>,
}

fn bench_botwire(
    server: &Server,
    setup: &Setup,
    pairs: &[Pair],
    scratch: &Scratch,
    backend: &'static str,
    cluster: Option<&postgres::Cluster>,
    options: &Options,
) -> Result<BackendResults> {
    let seconds = Duration::from_secs(options.seconds);
    let headers = [
        ("Content-Type", "application/json"),
        ("X-API-Key", setup.key.as_str()),
    ];
    let db = || cluster;
    let mut measurements = Vec::new();

    let chat: Vec<wrk::Request> = chat_bodies(pairs, &setup.bot, "chat")
        .into_iter()
        .map(|body| wrk::Request {
            method: "POST",
            path: "/v1/chat".into(),
            body: Some(body),
        })
        .collect();
    let chat_script = scratch.write(
        &format!("{backend}-chat.lua"),
        &wrk::script(&headers, &chat),
    )?;
    measurements.push(server.measure(backend, "chat send", db(), || {
        wrk::run(server.addr, &chat_script, seconds)
    })?);

    let history = [wrk::Request {
        method: "GET",
        path: format!(
            "/v1/bots/{}/sessions/{}/messages",
            setup.bot, setup.history_session
        ),
        body: None,
    }];
    let history_script = scratch.write(
        &format!("{backend}-history.lua"),
        &wrk::script(&headers, &history),
    )?;
    measurements.push(server.measure(backend, "history", db(), || {
        wrk::run(server.addr, &history_script, seconds)
    })?);

    let stream: Vec<Vec<u8>> = chat_bodies(pairs, &setup.bot, "stream")
        .iter()
        .map(|body| http::request("POST", "/v1/chat/stream", &headers, body.as_bytes()))
        .collect();
    measurements.push(server.measure(backend, "first byte, 1 client", db(), || {
        probe::sequential(server.addr, &stream, SEQUENTIAL_PROBES)
    })?);
    measurements.push(
        server.measure(backend, "first byte, 64 connections", db(), || {
            probe::concurrent(server.addr, &stream, wrk::CONNECTIONS, seconds)
        })?,
    );

    // Profiles of what missed its target: the chat path (send and stream share it), history.
    let mut profiles = Vec::new();
    let missed = |scenario: &str| {
        report::targets_of(backend, scenario, &measurements)
            .iter()
            .any(|target| !target.met)
    };
    let chat_missed = missed("chat send")
        || missed("first byte, 1 client")
        || missed("first byte, 64 connections");
    let history_missed = missed("history");
    if options.quick {
        return Ok(BackendResults {
            measurements,
            breakdown: Vec::new(),
            profiles,
        });
    }
    let breakdown = if chat_missed || history_missed {
        breakdown(server, setup, backend, db(), scratch, options)?
    } else {
        Vec::new()
    };
    let profile_seconds = Duration::from_secs(options.seconds.clamp(4, 6));
    if chat_missed {
        profiles.push(profile(
            server,
            backend,
            "chat send",
            &chat_script,
            profile_seconds,
            scratch,
        )?);
    }
    if history_missed {
        profiles.push(profile(
            server,
            backend,
            "history",
            &history_script,
            profile_seconds,
            scratch,
        )?);
    }
    Ok(BackendResults {
        measurements,
        breakdown,
        profiles,
    })
}

/// Where a request's time goes, by experiment: requests that do less and less of what a
/// history read does (the framework alone; one read with a credential that needs no query;
/// the same with the API key, whose check reads and touches its row), each under the same
/// load as the scenarios, with the server's CPU per request.
fn breakdown(
    server: &Server,
    setup: &Setup,
    backend: &'static str,
    db: Option<&postgres::Cluster>,
    scratch: &Scratch,
    options: &Options,
) -> Result<Vec<Measurement>> {
    let seconds = Duration::from_secs(options.seconds.div_ceil(2).clamp(3, 5));
    let bearer = format!("Bearer {}", setup.token);
    let bot_path = format!("/v1/bots/{}", setup.bot);
    let steps = [
        (BREAKDOWN_HEALTH, "/health", vec![]),
        (
            BREAKDOWN_BOT_JWT,
            bot_path.as_str(),
            vec![("Authorization", bearer.as_str())],
        ),
        (
            BREAKDOWN_BOT_KEY,
            bot_path.as_str(),
            vec![("X-API-Key", setup.key.as_str())],
        ),
    ];
    let mut measurements = Vec::new();
    for (k, (scenario, path, headers)) in steps.into_iter().enumerate() {
        let request = [wrk::Request {
            method: "GET",
            path: path.to_string(),
            body: None,
        }];
        let script = scratch.write(
            &format!("{backend}-breakdown-{k}.lua"),
            &wrk::script(&headers, &request),
        )?;
        measurements.push(server.measure(backend, scenario, db, || {
            wrk::run(server.addr, &script, seconds)
        })?);
    }
    Ok(measurements)
}

/// `perf record -a -g` over the middle of a shortened wrk run, summarised three ways: CPU by
/// program, the server's by kind of work, the server's (and PostgreSQL's) top symbols.
fn profile(
    server: &Server,
    backend: &'static str,
    scenario: &'static str,
    script: &Path,
    duration: Duration,
    scratch: &Scratch,
) -> Result<Profile> {
    println!("==> {backend}: profiling {scenario} with perf ({duration:?})");
    let mut result = Profile {
        backend,
        scenario,
        requests_per_second: 0.0,
        by_program: Vec::new(),
        server_by_kind: Vec::new(),
        server_symbols: Vec::new(),
        db_symbols: Vec::new(),
        error: None,
    };
    if find_on_path("perf").is_none() {
        result.error = Some("perf is not installed (`apt-get install linux-perf`)".into());
        return Ok(result);
    }
    let data = scratch.path(&format!("{backend}-{}.perf", scenario.replace(' ', "-")));
    let addr = server.addr;
    let recorded = std::thread::scope(|scope| {
        let load = scope.spawn(|| wrk::run(addr, script, duration));
        std::thread::sleep(Duration::from_secs(1));
        let record = Command::new("perf")
            .args(["record", "-a", "-g", "-o"])
            .arg(&data)
            .args(["--", "sleep"])
            .arg((duration.as_secs() - 2).to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        let load = load
            .join()
            .map_err(|_| anyhow::anyhow!("wrk thread panicked"));
        (record, load)
    });
    let (record, load) = recorded;
    result.requests_per_second = load??.rps();
    match record {
        Err(error) => {
            result.error = Some(format!("perf record: {error}"));
            return Ok(result);
        }
        Ok(record) if !record.status.success() => {
            result.error = Some(format!(
                "perf record failed: {}",
                String::from_utf8_lossy(&record.stderr).trim()
            ));
            return Ok(result);
        }
        Ok(_) => {}
    }
    let report = |args: &[&str], lines: usize| -> Vec<String> {
        let output = Command::new("perf")
            .args(["report", "--stdio", "--no-children", "-g", "none", "-i"])
            .arg(&data)
            .args(args)
            .stderr(Stdio::null())
            .output();
        let Ok(output) = output else {
            return Vec::new();
        };
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .take(lines)
            .map(|line| {
                // Rust's generic symbols run long; the head names the function.
                match line.char_indices().nth(150) {
                    Some((cut, _)) => format!("{}…", &line[..cut]),
                    None => line.to_string(),
                }
            })
            .collect()
    };
    let pid = server.child.id().to_string();
    let server_only = ["--pid", &pid, "--percentage", "relative"];
    result.by_program = report(&["--sort", "comm", "--percent-limit", "1"], 12);
    let mut kinds: Vec<(&'static str, f64)> = Vec::new();
    for line in report(
        &[&server_only[..], &["--sort", "dso,sym"]].concat(),
        usize::MAX,
    ) {
        let mut fields = line.split_whitespace();
        let (Some(share), Some(dso)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Ok(share) = share.trim_end_matches('%').parse::<f64>() else {
            continue;
        };
        let symbol: String = fields.skip(1).collect::<Vec<_>>().join(" ");
        let kind = category(dso, &symbol);
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, total)) => *total += share,
            None => kinds.push((kind, share)),
        }
    }
    kinds.sort_by(|a, b| b.1.total_cmp(&a.1));
    result.server_by_kind = kinds;
    result.server_symbols = report(
        &[
            &server_only[..],
            &["--sort", "sym", "--percent-limit", "0.7"],
        ]
        .concat(),
        30,
    );
    if backend == "postgres" {
        result.db_symbols = report(
            &[
                "--comm",
                "postgres",
                "--sort",
                "sym",
                "--percent-limit",
                "0.7",
            ],
            15,
        );
    }
    Ok(result)
}

/// The kind of work a sampled symbol of the server does, for the profile's summary.
fn category(dso: &str, symbol: &str) -> &'static str {
    let has = |needles: &[&str]| needles.iter().any(|n| symbol.contains(n));
    if dso.contains("kernel") {
        if has(&[
            "switch",
            "schedule",
            "futex",
            "sched_",
            "wake",
            "_raw_spin",
            "irqentry",
            "idle",
        ]) {
            "kernel: scheduling, thread wake-ups"
        } else {
            "kernel: other (network, syscalls)"
        }
    } else if symbol.starts_with("sqlite3") || has(&["yy_", "pcache", "sqlite3"]) {
        "SQLite (the C library)"
    } else if has(&["tokio_postgres", "postgres_protocol", "postgres_types"]) {
        "PostgreSQL client (tokio-postgres)"
    } else if has(&[
        "malloc",
        "free",
        "_int_",
        "unlink_chunk",
        "realloc",
        "calloc",
    ]) || symbol.starts_with("mi_")
        || symbol.starts_with("_mi_")
    {
        "allocator (mimalloc, malloc)"
    } else if has(&["memmove", "memcpy", "memcmp", "memset", "strlen"]) {
        "memcpy, memcmp"
    } else if has(&[
        "parking_lot",
        "pthread_",
        "__lll",
        "syscall",
        "futex",
        "sched_yield",
    ]) {
        "locks, wake-ups (user side)"
    } else if has(&["tokio::", "tokio["]) {
        "tokio runtime"
    } else if has(&["diesel"]) {
        "diesel"
    } else if has(&["tantivy", "whatlang", "rust_stemmers", "text_splitter"]) {
        "answer engine (tantivy, whatlang)"
    } else if has(&["serde", "json"]) {
        "serde, JSON"
    } else if has(&["dropshot", "hyper", "http::", "slog"]) {
        "dropshot, hyper"
    } else if has(&["chrono"]) {
        "chrono (timestamps)"
    } else if has(&["regress", "contract"]) {
        "contract checks (regress)"
    } else if has(&["sha2", "argon2", "jsonwebtoken", "hmac"]) {
        "hashing, JWT"
    } else if dso.contains("libc") {
        "libc: other"
    } else {
        "other Rust code"
    }
}

/// A data set's question-answer pair.
pub struct Pair {
    pub question: String,
    pub answer: String,
}

/// Both languages of the data set (Swedish first, as the answer-quality test loads them).
fn faq_pairs(venv: &Path) -> Result<Vec<Pair>> {
    let lib = venv.join("lib");
    let data = std::fs::read_dir(&lib)
        .with_context(|| format!("reading {}", lib.display()))?
        .filter_map(Result::ok)
        .map(|python| python.path().join("site-packages").join(FAQ_PACKAGE_DIR))
        .find(|data| data.join("faq.jsonl").is_file())
        .with_context(|| format!("no {FAQ_PACKAGE_DIR}/faq.jsonl under {}", lib.display()))?;
    let mut pairs = Vec::new();
    for file in ["faq.jsonl", "faq-en.jsonl"] {
        let path = data.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let row: Value = serde_json::from_str(line)
                .with_context(|| format!("{}: {line}", path.display()))?;
            let field = |name: &str| {
                row[name]
                    .as_str()
                    .map(str::to_string)
                    .with_context(|| format!("{}: no `{name}` in {line}", path.display()))
            };
            pairs.push(Pair {
                question: field("q")?,
                answer: field("a")?,
            });
        }
    }
    Ok(pairs)
}

/// One chat body per question of the data set, the sessions `<prefix>-0..SESSIONS` in turn.
fn chat_bodies(pairs: &[Pair], bot: &str, prefix: &str) -> Vec<String> {
    pairs
        .iter()
        .enumerate()
        .map(|(k, pair)| {
            json!({
                "bot_id": bot,
                "session_id": format!("{prefix}-{}", k % SESSIONS),
                "message": pair.question,
            })
            .to_string()
        })
        .collect()
}

/// What the set-up through the API created.
struct Setup {
    /// A session token (JWT) of the account's user.
    token: String,
    key: String,
    bot: String,
    history_session: String,
    /// Of [`RACE_REQUESTS`] concurrent first messages to one new session, how many got a 5xx.
    race_failures: usize,
}

/// Concurrent first messages sent to one new session by the set-up's check.
const RACE_REQUESTS: usize = 16;

impl Setup {
    /// An account, an account-wide API key, a bot with the data set as one FAQ JSON document,
    /// a check that it answers, a session of 10 exchanges (20 messages) for history reads, and
    /// one message in each session the chat scenarios use, so that they measure sessions that
    /// exist (concurrent first messages to one session are checked apart, see `race`).
    fn run(addr: SocketAddr, pairs: &[Pair]) -> Result<Setup> {
        let json_type = ("Content-Type", "application/json");
        let session = http::call(
            addr,
            "POST",
            "/v1/auth/register",
            &[json_type],
            json!({"email": "bench@example.com", "name": "Bench", "password": "a long bench passphrase"})
                .to_string()
                .as_bytes(),
        )
        .context("registering")?;
        let token = session["token"].as_str().context("no token")?;
        let bearer = format!("Bearer {token}");
        let created = http::call(
            addr,
            "POST",
            "/v1/api-keys",
            &[json_type, ("Authorization", &bearer)],
            br#"{"name":"bench"}"#,
        )
        .context("creating an API key")?;
        let key = created["key"].as_str().context("no key")?.to_string();
        let auth = ("X-API-Key", key.as_str());
        let bot = http::call(
            addr,
            "POST",
            "/v1/bots",
            &[json_type, auth],
            br#"{"name":"Construction FAQ"}"#,
        )
        .context("creating a bot")?;
        let bot = bot["id"].as_str().context("no bot id")?.to_string();
        let faq: Vec<Value> = pairs
            .iter()
            .map(|pair| json!({"question": pair.question, "answer": pair.answer}))
            .collect();
        let (content_type, body) = http::multipart(
            "construction-faq.json",
            "application/json",
            Value::from(faq).to_string().as_bytes(),
            &[("metadata", r#"{"title":"Swedish construction FAQ"}"#)],
        );
        let document = http::call(
            addr,
            "POST",
            &format!("/v1/bots/{bot}/documents"),
            &[("Content-Type", &content_type), auth],
            &body,
        )
        .context("uploading the FAQ")?;
        println!(
            "set-up: bot {bot}, document of {} FAQ pairs",
            document["faq_count"]
        );
        let history_session = "history".to_string();
        let english = &pairs[pairs.len() / 2..];
        let mut answered = 0;
        for pair in english.iter().take(10) {
            let reply = http::call(
                addr,
                "POST",
                "/v1/chat",
                &[json_type, auth],
                json!({"bot_id": bot, "session_id": history_session, "message": pair.question})
                    .to_string()
                    .as_bytes(),
            )
            .context("a chat message of the set-up")?;
            if reply["reply"].is_null() || reply["engine"] != "offline" {
                bail!("no reply from the offline engine: {reply}");
            }
            answered += usize::from(reply["reply"].as_str() == Some(pair.answer.as_str()));
        }
        println!("set-up: {answered} of 10 questions answered with their own FAQ answer");
        for prefix in ["chat", "stream"] {
            for body in chat_bodies(pairs, &bot, prefix).iter().take(SESSIONS) {
                http::call(
                    addr,
                    "POST",
                    "/v1/chat",
                    &[json_type, auth],
                    body.as_bytes(),
                )
                .context("a first message of a session")?;
            }
        }
        let race_failures = race(addr, &key, &bot)?;
        println!(
            "set-up: {race_failures} of {RACE_REQUESTS} concurrent first messages to one new \
             session failed with a 5xx"
        );
        Ok(Setup {
            token: token.to_string(),
            key,
            bot,
            history_session,
            race_failures,
        })
    }
}

/// Sends [`RACE_REQUESTS`] first messages to one new session at once (as 64 connections
/// rotating through new sessions do); returns how many were answered with a 5xx.
fn race(addr: SocketAddr, key: &str, bot: &str) -> Result<usize> {
    let request = http::request(
        "POST",
        "/v1/chat",
        &[("Content-Type", "application/json"), ("X-API-Key", key)],
        json!({"bot_id": bot, "session_id": "race", "message": "How do I get a building permit?"})
            .to_string()
            .as_bytes(),
    );
    let barrier = std::sync::Barrier::new(RACE_REQUESTS);
    let statuses: Vec<Result<u16>> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..RACE_REQUESTS)
            .map(|_| {
                scope.spawn(|| {
                    let connection = http::Connection::open(addr);
                    barrier.wait();
                    Ok(connection?.send(&request)?.status)
                })
            })
            .collect();
        senders
            .into_iter()
            .map(|sender| {
                sender
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a sender panicked")))
            })
            .collect()
    });
    let mut failures = 0;
    for status in statuses {
        failures += usize::from(status? >= 500);
    }
    Ok(failures)
}

/// A server process of the benchmark, killed on drop (or by a watchdog if the xtask dies).
struct Server {
    child: Child,
    addr: SocketAddr,
    name: &'static str,
    log: PathBuf,
}

impl Server {
    /// Starts `command`, which must bind the address given in its arguments or environment.
    fn start(command: &mut Command, log: PathBuf, name: &'static str) -> Result<Server> {
        let addr = command
            .get_args()
            .chain(command.get_envs().filter_map(|(_, value)| value))
            .find_map(|arg| arg.to_str()?.parse::<SocketAddr>().ok())
            .context("the server's command names no address")?;
        let file = std::fs::File::create(&log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {:?}", command.get_program()))?;
        spawn_watchdog(
            &format!("kill -0 {} 2>/dev/null", child.id()),
            &format!("kill {} 2>/dev/null", child.id()),
        )
        .context("starting the server's watchdog")?;
        println!("==> {name}: started on {addr} (pid {})", child.id());
        Ok(Server {
            child,
            addr,
            name,
            log,
        })
    }

    /// Waits until `path` answers 200.
    fn wait_ready(&self, path: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = http::Connection::open(self.addr)
                .and_then(|mut c| c.send(&http::request("GET", path, &[], b"")))
                .is_ok_and(|response| response.status == 200);
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not answer {path} within 60 s; its log:\n{}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs one scenario and gathers the server's figures around it.
    fn measure(
        &self,
        backend: &'static str,
        scenario: &'static str,
        db: Option<&postgres::Cluster>,
        load: impl FnOnce() -> Result<Load>,
    ) -> Result<Measurement> {
        let load_before = std::fs::read_to_string("/proc/loadavg")
            .map(|text| {
                text.split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        println!("==> {backend}: {scenario} (load average {load_before})");
        let pid = self.child.id();
        let cpu_before = cpu_ticks(pid, false);
        let db_pid = db.and_then(postgres::Cluster::postmaster_pid);
        let db_before = db_pid.map(|pid| cpu_ticks(pid, true));
        if let Some(db) = db {
            db.statements_reset();
        }
        let tool = if scenario.starts_with("first byte") {
            "probe"
        } else {
            "wrk"
        };
        let load = load()?;
        let per_request = |ticks: u64| {
            ticks as f64 * 1e6 / clock_ticks_per_second() / load.requests.max(1) as f64
        };
        let server_cpu_us = per_request(cpu_ticks(pid, false).saturating_sub(cpu_before));
        let db_cpu_us = db_pid
            .zip(db_before)
            .map(|(pid, before)| per_request(cpu_ticks(pid, true).saturating_sub(before)));
        let peak_rss_kib = peak_rss_kib(pid)?;
        let db_statements = db.map(|db| {
            db.statements()
                .into_iter()
                .map(|(calls, ms, query)| DbStatement {
                    per_request: calls / load.requests.max(1) as f64,
                    mean_ms: ms / calls.max(1.0),
                    query,
                })
                .collect()
        });
        println!(
            "    {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} non-2xx, {} socket errors, \
             peak RSS {} MiB",
            load.rps(),
            load.p50_us / 1000.0,
            load.p99_us / 1000.0,
            load.non_2xx,
            load.socket_errors,
            peak_rss_kib / 1024
        );
        Ok(Measurement {
            backend,
            scenario,
            tool,
            load_before,
            load,
            peak_rss_kib,
            server_cpu_us,
            db_cpu_us,
            db_statements,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A detached shell that runs `action` once this process has ended (however it ends), unless
/// `still_needed` fails first.
fn spawn_watchdog(still_needed: &str, action: &str) -> Result<()> {
    let script = format!(
        "while kill -0 {xtask} 2>/dev/null && {still_needed}; do sleep 0.5; done; {action}",
        xtask = std::process::id(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(())
}

/// The status file's VmHWM: the process's peak resident set.
fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/<pid>/status")
}

/// User and system CPU ticks of a process; with `children`, also those of its live children
/// (PostgreSQL's backends) and of its reaped ones.
fn cpu_ticks(pid: u32, children: bool) -> u64 {
    // Fields after the command name: state ppid ... utime(14) stime(15) cutime(16) cstime(17).
    let stat = |pid: &str| -> Option<(u32, [u64; 4])> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
        let number = |k: usize| fields.get(k - 3)?.parse::<u64>().ok();
        Some((
            u32::try_from(number(4)?).ok()?,
            [number(14)?, number(15)?, number(16)?, number(17)?],
        ))
    };
    let Some((_, [user, system, child_user, child_system])) = stat(&pid.to_string()) else {
        return 0;
    };
    if !children {
        return user + system;
    }
    let mut total = user + system + child_user + child_system;
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if let Some((parent, [user, system, ..])) = stat(name)
                && parent == pid
            {
                total += user + system;
            }
        }
    }
    total
}

fn clock_ticks_per_second() -> f64 {
    command_line("getconf", &["CLK_TCK"])
        .parse()
        .unwrap_or(100.0)
}

/// A directory for the run (the database, logs, scripts), removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("botwire-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, contents: &str) -> Result<PathBuf> {
        let path = self.path(name);
        std::fs::write(&path, contents)?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn free_addr() -> Result<SocketAddr> {
    Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

fn is_root() -> bool {
    command_line("id", &["-u"]) == "0"
}

/// A command's standard output, trimmed (empty if it fails).
fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine_description() -> Vec<String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|name| name.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| info.lines().next().map(str::to_string))
        .unwrap_or_default();
    vec![
        format!(
            "{} CPUs ({cpu}); {}",
            command_line("nproc", &[]),
            memory.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
        format!("kernel {}", command_line("uname", &["-r"])),
        command_line("rustc", &["--version"]),
        command_line("wrk", &["-v"])
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    ]
}
