//! `cargo xtask bench`: the benchmark of issue 4.
//!
//! Builds the server and the baseline in release; measures the baseline (a raw hyper JSON
//! echo, `bench/echo`); then starts the server on SQLite (a temp dir) and on PostgreSQL (a
//! throwaway cluster), sets up a bot with the FAQ data set through the HTTP API, and loads it
//! on loopback: chat send and history read with wrk, time to the first SSE byte with our own
//! probe. Where a target is missed, it profiles a shortened run with `perf`. Writes
//! `target/bench/report.md` and `chart.png` and copies both to `docs/bench/`.

mod counters;
mod dataset;
pub(crate) mod http;
mod inbox;
mod postgres;
mod probe;
pub(crate) mod process;
mod procfs;
mod profile;
mod report;
mod setup;
mod wrk;

use anyhow::{Context, Result, bail};
use dataset::{Pair, chat_bodies, faq_pairs};
use process::{Scratch, Server, botwire_serve, find_on_path, free_addr, free_port};
use profile::{Profile, profile};
use setup::Setup;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use wrk::Load;
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

/// The targets on this 2-core machine.
const CHAT_SEND_SQLITE_RPS: f64 = 5_000.0;
const CHAT_SEND_POSTGRES_RPS: f64 = 3_000.0;
const CHAT_SEND_P99_MS: f64 = 25.0;
const HISTORY_RPS: f64 = 20_000.0;
const FIRST_BYTE_MS: f64 = 5.0;
/// Issue 16: a filtered page of the inbox of a bot with 100,000 conversations (p99, one client).
const INBOX_PAGE_P99_MS: f64 = 10.0;
/// The inbox scenarios' names.
pub const INBOX_FIRST: &str = "inbox, first page, 1 client";
pub const INBOX_DEEP: &str = "inbox, page 51, 1 client";
pub const INBOX_FIRST_LOADED: &str = "inbox, first page, 64 connections";
/// PostgreSQL's first page right after the load, before the VACUUM autovacuum would run.
pub const INBOX_FIRST_UNVACUUMED: &str = "inbox, first page, 1 client, before VACUUM";

pub struct Options {
    /// Seconds per loaded scenario.
    pub seconds: u64,
    /// The backends to measure (both unless `--backend` names one).
    pub backends: Vec<&'static str>,
    /// `--quick`: the scenarios only, no breakdown and no profiles.
    pub quick: bool,
    /// `--runs N`: how many times each scenario runs, each run after a run of the baseline.
    pub runs: usize,
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
            runs: DEFAULT_RUNS,
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
                "--runs" => {
                    options.runs = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|n| *n > 0)
                        .context("--runs needs a positive number")?;
                }
                other => bail!("bench: unknown option {other}"),
            }
        }
        Ok(options)
    }
}

/// Runs of each scenario by default: a figure is called met only when its worst run meets it.
const DEFAULT_RUNS: usize = 3;

/// One scenario's figures.
pub struct Measurement {
    pub backend: &'static str,
    pub scenario: &'static str,
    /// The round it ran in: the baseline's run of the same round is what it is compared with
    /// (rounds are numbered over the whole benchmark; 0 for an experiment outside them).
    pub round: usize,
    /// `wrk` or `probe` (our first-byte client).
    pub tool: &'static str,
    /// /proc/loadavg just before the scenario (1, 5, 15 minutes).
    pub load_before: String,
    pub load: Load,
    /// The server's VmHWM after the scenario (the peak since it started).
    pub peak_rss_kib: u64,
    /// The server's RssAnon after the scenario (its own memory, without mapped files).
    pub anon_rss_kib: u64,
    /// The server process's CPU time per request during the scenario.
    pub server_cpu_us: f64,
    /// PostgreSQL's processes' CPU time per request (PostgreSQL only).
    pub db_cpu_us: Option<f64>,
    /// The statements PostgreSQL ran during the scenario, most frequent first (PostgreSQL
    /// only; from pg_stat_statements).
    pub db_statements: Option<Vec<DbStatement>>,
    /// The server's `perf stat` counts over the scenario (empty without perf).
    pub counters: Vec<counters::Count>,
    /// What autovacuum did during the scenario, as `table: vacuum, analyze` (PostgreSQL only;
    /// its CPU counts in PostgreSQL's).
    pub autovacuum: Vec<String>,
}

/// One normalised statement of pg_stat_statements over a scenario.
pub struct DbStatement {
    /// Executions per request served.
    pub per_request: f64,
    /// Mean execution time inside PostgreSQL.
    pub mean_ms: f64,
    pub query: String,
}
struct Run {
    pub started: String,
    pub machine: Vec<String>,
    pub seconds: u64,
    /// Runs of each scenario.
    pub runs: usize,
    pub measurements: Vec<Measurement>,
    /// The breakdown experiments of backends that missed a target.
    pub breakdown: Vec<Measurement>,
    pub profiles: Vec<Profile>,
    /// Per backend: how many of the set-up's concurrent first messages to one new session
    /// failed (of [`setup::RACE_REQUESTS`]).
    pub race_failures: Vec<(&'static str, usize)>,
    pub total: Duration,
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let started = Instant::now();
    let started_at = process::command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
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

    // The baseline: the same bodies as a chat send, echoed; it runs again before each round of
    // a backend's scenarios, so every figure has a baseline measured just before it.
    let baseline = Baseline::start(&release, &scratch, &pairs, options)?;
    let mut round = 0;
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
            &mut botwire_serve(
                &release.join("botwire"),
                addr,
                &url,
                scratch.path(&format!("{backend}-data")),
            ),
            scratch.path(&format!("{backend}-server.log")),
            backend,
        )?;
        server.wait_ready("/ready")?;
        let setup = Setup::run(server.addr, &pairs)?;
        let shared = Shared {
            pairs: &pairs,
            scratch: &scratch,
            options,
            baseline: &baseline,
        };
        let results = bench_botwire(
            &server,
            &setup,
            backend,
            cluster.as_ref(),
            &shared,
            &mut round,
        )?;
        profiles.extend(results.profiles);
        measurements.extend(results.measurements);
        breakdown.extend(results.breakdown);
        race_failures.push((backend, setup.race_failures));
        drop(server);
        drop(cluster);
    }
    drop(baseline);
    let bench_time = bench_started.elapsed();

    let run = Run {
        started: started_at,
        machine: procfs::machine_description(),
        seconds: options.seconds,
        runs: options.runs,
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

/// The echo server and what it is measured with: the same requests as the chat scenarios.
struct Baseline {
    echo: Server,
    script: std::path::PathBuf,
    raw: Vec<Vec<u8>>,
    seconds: Duration,
}

impl Baseline {
    fn start(
        release: &Path,
        scratch: &Scratch,
        pairs: &[Pair],
        options: &Options,
    ) -> Result<Baseline> {
        let echo = Server::start(
            Command::new(release.join("botwire-bench-echo")).arg(free_addr()?.to_string()),
            scratch.path("echo.log"),
            "echo",
        )?;
        echo.wait_ready("/")?;
        let bodies = chat_bodies(pairs, "00000000-0000-0000-0000-000000000000", "echo");
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
        let raw = bodies
            .iter()
            .map(|body| http::request("POST", "/echo", &headers, body.as_bytes()))
            .collect();
        Ok(Baseline {
            echo,
            script,
            raw,
            seconds: Duration::from_secs(options.seconds),
        })
    }

    /// One run of the baseline's three scenarios.
    fn measure(&self) -> Result<Vec<Measurement>> {
        let echo = &self.echo;
        Ok(vec![
            echo.measure("baseline", "chat send", None, || {
                wrk::run(echo.addr, &self.script, self.seconds)
            })?,
            echo.measure("baseline", "first byte, 1 client", None, || {
                probe::sequential(echo.addr, &self.raw, SEQUENTIAL_PROBES)
            })?,
            echo.measure("baseline", "first byte, 64 connections", None, || {
                probe::concurrent(echo.addr, &self.raw, wrk::CONNECTIONS, self.seconds)
            })?,
        ])
    }
}

/// What every backend's scenarios use.
#[derive(Clone, Copy)]
struct Shared<'a> {
    pairs: &'a [Pair],
    scratch: &'a Scratch,
    options: &'a Options,
    baseline: &'a Baseline,
}

/// The tables autovacuum vacuumed or analyzed between two readings of its counts.
fn autovacuum_during(before: &[(String, i64, i64)], after: &[(String, i64, i64)]) -> Vec<String> {
    after
        .iter()
        .filter_map(|(table, vacuums, analyzes)| {
            let (v0, a0) = before
                .iter()
                .find(|(t, _, _)| t == table)
                .map_or((0, 0), |(_, v, a)| (*v, *a));
            let what: Vec<&str> = [(vacuums - v0, "vacuum"), (analyzes - a0, "analyze")]
                .into_iter()
                .filter(|(n, _)| *n > 0)
                .map(|(_, what)| what)
                .collect();
            (!what.is_empty()).then(|| format!("{table}: {}", what.join(", ")))
        })
        .collect()
}

/// Marks measurements as made in `round`.
fn in_round(mut measurements: Vec<Measurement>, round: usize) -> Vec<Measurement> {
    for m in &mut measurements {
        m.round = round;
    }
    measurements
}

struct BackendResults {
    measurements: Vec<Measurement>,
    breakdown: Vec<Measurement>,
    profiles: Vec<Profile>,
}

fn bench_botwire(
    server: &Server,
    setup: &Setup,
    backend: &'static str,
    cluster: Option<&postgres::Cluster>,
    shared: &Shared<'_>,
    round: &mut usize,
) -> Result<BackendResults> {
    let Shared {
        pairs,
        scratch,
        options,
        baseline,
    } = *shared;
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
    let stream: Vec<Vec<u8>> = chat_bodies(pairs, &setup.bot, "stream")
        .iter()
        .map(|body| http::request("POST", "/v1/chat/stream", &headers, body.as_bytes()))
        .collect();
    // Each round: the baseline, then the scenarios, so that a drift of the machine shows in
    // both and the ratios of one round compare like with like.
    let mut rounds = Vec::new();
    for _ in 0..options.runs {
        *round += 1;
        rounds.push(*round);
        let mut ran = baseline.measure()?;
        ran.push(server.measure(backend, "chat send", db(), || {
            wrk::run(server.addr, &chat_script, seconds)
        })?);
        ran.push(server.measure(backend, "history", db(), || {
            wrk::run(server.addr, &history_script, seconds)
        })?);
        ran.push(server.measure(backend, "first byte, 1 client", db(), || {
            probe::sequential(server.addr, &stream, SEQUENTIAL_PROBES)
        })?);
        ran.push(
            server.measure(backend, "first byte, 64 connections", db(), || {
                probe::concurrent(server.addr, &stream, wrk::CONNECTIONS, seconds)
            })?,
        );
        measurements.extend(in_round(ran, *round));
    }

    // The inbox at size: its conversations made through the API, then filtered pages read.
    let question = &pairs[pairs.len() / 2].question;
    let took = inbox::populate(server.addr, &setup.bot, &setup.key, question)?;
    println!(
        "{backend}: {} conversations made ({} handed off) in {took:.0?}",
        inbox::CONVERSATIONS,
        inbox::CONVERSATIONS / inbox::HANDOFF_EVERY
    );
    let key_header = [("X-API-Key", setup.key.as_str())];
    let (first_page, pending) = inbox::pending_page(server.addr, &setup.bot, &setup.key, 0)?;
    let (deep_page, _) =
        inbox::pending_page(server.addr, &setup.bot, &setup.key, inbox::DEEP_PAGE)?;
    if pending != (inbox::CONVERSATIONS / inbox::HANDOFF_EVERY) as u64 {
        bail!("{backend}: the inbox counts {pending} pending conversations");
    }
    if let Some(cluster) = cluster {
        // Right after a bulk load the table's visibility map is not set yet, so the count
        // behind `total` reads every matching row from the heap; autovacuum sets it within a
        // minute or so on its own (inserts trigger it). Measured both ways: as loaded, then
        // after the VACUUM autovacuum would make, in which state a live database spends its time.
        let request = [http::request("GET", &first_page, &key_header, b"")];
        let before_vacuum = server.measure(backend, INBOX_FIRST_UNVACUUMED, db(), || {
            probe::sequential(server.addr, &request, SEQUENTIAL_PROBES)
        })?;
        measurements.extend(in_round(vec![before_vacuum], rounds[0]));
        cluster
            .sql("VACUUM (ANALYZE) conversations")
            .context("vacuuming the conversations after the load")?;
    }
    let inbox_script = scratch.write(
        &format!("{backend}-inbox.lua"),
        &wrk::script(
            &key_header,
            &[wrk::Request {
                method: "GET",
                path: first_page.clone(),
                body: None,
            }],
        ),
    )?;
    // The inbox's rounds (it has no baseline of its own: numbered as the chat rounds).
    for inbox_round in &rounds {
        let mut ran = Vec::new();
        for (scenario, path) in [(INBOX_FIRST, &first_page), (INBOX_DEEP, &deep_page)] {
            let request = [http::request("GET", path, &key_header, b"")];
            ran.push(server.measure(backend, scenario, db(), || {
                probe::sequential(server.addr, &request, SEQUENTIAL_PROBES)
            })?);
        }
        ran.push(server.measure(backend, INBOX_FIRST_LOADED, db(), || {
            wrk::run(server.addr, &inbox_script, seconds)
        })?);
        measurements.extend(in_round(ran, *inbox_round));
    }

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

impl Server {
    /// Runs one scenario and gathers the server's figures around it.
    fn measure(
        &self,
        backend: &'static str,
        scenario: &'static str,
        db: Option<&postgres::Cluster>,
        load: impl FnOnce() -> Result<Load>,
    ) -> Result<Measurement> {
        let load_before = procfs::load_average();
        println!("==> {backend}: {scenario} (load average {load_before})");
        let pid = self.pid();
        let cpu_before = procfs::cpu_ticks(pid, false);
        let db_pid = db.and_then(postgres::Cluster::postmaster_pid);
        let db_before = db_pid.map(|pid| procfs::cpu_ticks(pid, true));
        if let Some(db) = db {
            db.statements_reset();
        }
        let vacuums_before = db.map(postgres::Cluster::autovacuum_counts);
        let tool = if scenario.starts_with("first byte") || scenario.contains("1 client") {
            "probe"
        } else {
            "wrk"
        };
        let counting = counters::Counting::start(pid);
        let load = load()?;
        let counters = counting.map(counters::Counting::stop).unwrap_or_default();
        let per_request = |ticks: u64| {
            ticks as f64 * 1e6 / procfs::clock_ticks_per_second() / load.requests.max(1) as f64
        };
        let server_cpu_us = per_request(procfs::cpu_ticks(pid, false).saturating_sub(cpu_before));
        let db_cpu_us = db_pid
            .zip(db_before)
            .map(|(pid, before)| per_request(procfs::cpu_ticks(pid, true).saturating_sub(before)));
        let autovacuum = db
            .zip(vacuums_before)
            .map(|(db, before)| autovacuum_during(&before, &db.autovacuum_counts()))
            .unwrap_or_default();
        let peak_rss_kib = procfs::peak_rss_kib(pid)?;
        let anon_rss_kib = procfs::anon_rss_kib(pid)?;
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
             peak RSS {} MiB, anonymous RSS {} MiB",
            load.rps(),
            load.p50_us / 1000.0,
            load.p99_us / 1000.0,
            load.non_2xx,
            load.socket_errors,
            peak_rss_kib / 1024,
            anon_rss_kib / 1024
        );
        Ok(Measurement {
            backend,
            scenario,
            tool,
            round: 0,
            load_before,
            load,
            peak_rss_kib,
            anon_rss_kib,
            server_cpu_us,
            db_cpu_us,
            db_statements,
            counters,
            autovacuum,
        })
    }
}
