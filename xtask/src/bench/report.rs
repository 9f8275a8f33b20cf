//! The benchmark's Markdown report, its JSON results (the chart's input) and the chart script.

use super::{
    CHAT_SEND_P99_MS, CHAT_SEND_POSTGRES_RPS, CHAT_SEND_SQLITE_RPS, FIRST_BYTE_MS, HISTORY_RPS,
    INBOX_DEEP, INBOX_FIRST, INBOX_PAGE_P99_MS, Measurement, Run,
};
use serde_json::{Value, json};
use std::fmt::Write;
use std::time::Duration;

/// Draws `chart.png` from `results.json` (run with the bench venv's Python).
pub const CHART_SCRIPT: &str = include_str!("chart.py");

pub struct Target {
    pub what: String,
    pub measured: String,
    pub met: bool,
}

/// One target checked on one run.
struct Check {
    what: String,
    /// The figure the target is on (req/s, or ms).
    value: f64,
    unit: &'static str,
    /// A floor (req/s) rather than a ceiling (ms).
    floor: bool,
    met: bool,
    errors: u64,
}

/// The issue's targets for one scenario of one backend, judged on every run of it: met only
/// when its worst run meets it; the measured figure is the worst, with the median and range.
pub fn targets_of(backend: &str, scenario: &str, measurements: &[Measurement]) -> Vec<Target> {
    let runs: Vec<Vec<Check>> = measurements
        .iter()
        .filter(|m| m.backend == backend && m.scenario == scenario)
        .map(checks_of)
        .collect();
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    (0..first.len())
        .map(|k| {
            let checks: Vec<&Check> = runs.iter().map(|run| &run[k]).collect();
            let values: Vec<f64> = checks.iter().map(|c| c.value).collect();
            let spread = Spread::of(&values);
            let (floor, unit) = (checks[0].floor, checks[0].unit);
            let worst = if floor { spread.min } else { spread.max };
            let errors: u64 = checks.iter().map(|c| c.errors).sum();
            let digits = if unit == "req/s" { 0 } else { 2 };
            Target {
                what: checks[0].what.clone(),
                measured: format!(
                    "worst {worst:.digits$} {unit} (median {:.digits$}, {} runs: {:.digits$} to {:.digits$}){}",
                    spread.median,
                    values.len(),
                    spread.min,
                    spread.max,
                    if errors > 0 {
                        format!(", {errors} errors")
                    } else {
                        String::new()
                    }
                ),
                met: checks.iter().all(|c| c.met),
            }
        })
        .collect()
}

/// The targets of one run.
fn checks_of(m: &Measurement) -> Vec<Check> {
    let errors = m.load.non_2xx + m.load.socket_errors;
    let rps = m.load.rps();
    let p99_ms = m.load.p99_us / 1000.0;
    let ceiling = |what: String, limit: f64| Check {
        what,
        value: p99_ms,
        unit: "ms",
        floor: false,
        met: p99_ms <= limit && errors == 0,
        errors,
    };
    match (m.backend, m.scenario) {
        ("sqlite" | "postgres", "chat send") => {
            let floor = if m.backend == "sqlite" {
                CHAT_SEND_SQLITE_RPS
            } else {
                CHAT_SEND_POSTGRES_RPS
            };
            vec![
                Check {
                    what: format!("chat send >= {floor:.0} req/s at 64 connections"),
                    value: rps,
                    unit: "req/s",
                    floor: true,
                    met: rps >= floor && errors == 0,
                    errors,
                },
                ceiling(
                    format!("chat send p99 <= {CHAT_SEND_P99_MS:.0} ms at 64 connections"),
                    CHAT_SEND_P99_MS,
                ),
            ]
        }
        ("sqlite" | "postgres", "history") => vec![Check {
            what: format!("history >= {HISTORY_RPS:.0} req/s"),
            value: rps,
            unit: "req/s",
            floor: true,
            met: rps >= HISTORY_RPS && errors == 0,
            errors,
        }],
        ("sqlite" | "postgres", "first byte, 1 client") => vec![ceiling(
            format!("first SSE byte p99 <= {FIRST_BYTE_MS:.0} ms (one client)"),
            FIRST_BYTE_MS,
        )],
        ("sqlite" | "postgres", INBOX_FIRST | INBOX_DEEP) => vec![ceiling(
            format!(
                "{} of 100,000 conversations, filtered, p99 <= {INBOX_PAGE_P99_MS:.0} ms (one client)",
                if m.scenario == INBOX_FIRST {
                    "inbox first page"
                } else {
                    "inbox page 51"
                }
            ),
            INBOX_PAGE_P99_MS,
        )],
        _ => Vec::new(),
    }
}

/// The median and range of a figure over its runs.
#[derive(Debug, Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Spread {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return Spread {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Spread {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        }
    }

    /// `median [min-max]`, or the one figure of a single run.
    fn show(&self, digits: usize) -> String {
        if !self.median.is_finite() {
            return "-".into();
        }
        if self.min == self.max {
            return format!("{:.digits$}", self.median);
        }
        format!(
            "{:.digits$} [{:.digits$}-{:.digits$}]",
            self.median, self.min, self.max
        )
    }
}

/// All runs of one scenario of one backend, in the order they ran.
struct Summary<'a> {
    runs: Vec<&'a Measurement>,
}

impl<'a> Summary<'a> {
    /// One summary per (backend, scenario), in the order each first ran.
    fn all(measurements: &'a [Measurement]) -> Vec<Summary<'a>> {
        let mut summaries: Vec<Summary<'a>> = Vec::new();
        for m in measurements {
            match summaries
                .iter_mut()
                .find(|s| s.runs[0].backend == m.backend && s.runs[0].scenario == m.scenario)
            {
                Some(summary) => summary.runs.push(m),
                None => summaries.push(Summary { runs: vec![m] }),
            }
        }
        summaries
    }

    fn first(&self) -> &'a Measurement {
        self.runs[0]
    }

    fn spread(&self, figure: impl Fn(&Measurement) -> Option<f64>) -> Spread {
        let values: Vec<f64> = self.runs.iter().filter_map(|m| figure(m)).collect();
        Spread::of(&values)
    }

    /// The ratio of a figure to the same figure of the baseline run of the same round.
    fn ratio_spread(&self, all: &[Measurement], figure: impl Fn(&Measurement) -> f64) -> Spread {
        self.spread(|m| {
            let base = baseline_of(m, all)?;
            let (value, base) = (figure(m), figure(base));
            (base > 0.0 && value.is_finite()).then(|| value / base)
        })
    }
}

/// The baseline measurement a figure is compared with: the echo under the same tool and load.
fn baseline_of<'a>(m: &Measurement, all: &'a [Measurement]) -> Option<&'a Measurement> {
    let scenario = if m.tool == "wrk" {
        "chat send"
    } else {
        m.scenario
    };
    all.iter()
        .find(|b| b.backend == "baseline" && b.scenario == scenario && b.round == m.round)
}

fn statements_per_request(m: &Measurement) -> String {
    m.db_statements.as_ref().map_or("-".into(), |statements| {
        format!("{:.1}", total_statements(statements))
    })
}

fn total_statements(statements: &[super::DbStatement]) -> f64 {
    statements
        .iter()
        .fold(0.0, |total, s| total + s.per_request)
}

/// What the figures say about the cost per request, computed from them (so it stays true on
/// another run): the framework's share, the cost of one database statement, the pool's checks
/// and the slowest statements, the answer engine's share of the profile.
fn findings(run: &Run) -> Vec<String> {
    let mut found = Vec::new();
    let find = |backend: &str, scenario: &str| {
        run.breakdown
            .iter()
            .chain(&run.measurements)
            .find(|m| m.backend == backend && m.scenario == scenario)
    };
    let cpu = |m: &Measurement| m.server_cpu_us + m.db_cpu_us.unwrap_or(0.0);
    for backend in ["sqlite", "postgres"] {
        let (Some(health), Some(jwt), Some(key)) = (
            find(backend, super::BREAKDOWN_HEALTH),
            find(backend, super::BREAKDOWN_BOT_JWT),
            find(backend, super::BREAKDOWN_BOT_KEY),
        ) else {
            continue;
        };
        let statements = |m: &Measurement| {
            m.db_statements.as_deref().map_or(String::new(), |s| {
                format!(", {:.0} statements", total_statements(s))
            })
        };
        found.push(format!(
            "{backend}: CPU per request{}: the framework alone (GET /health) {:.0} µs; reading \
             one bot with a JWT {:.0} µs ({:.0} µs more{}); with the API key instead {:.0} µs \
             (its check: {:.0} µs more{}).",
            if backend == "postgres" {
                " (server and PostgreSQL)"
            } else {
                ""
            },
            cpu(health),
            cpu(jwt),
            cpu(jwt) - cpu(health),
            statements(jwt),
            cpu(key),
            cpu(key) - cpu(jwt),
            match (&key.db_statements, &jwt.db_statements) {
                (Some(k), Some(j)) => format!(
                    ", {:.0} statements",
                    total_statements(k) - total_statements(j)
                ),
                _ => String::new(),
            },
        ));
        for scenario in ["chat send", "history"] {
            let Some(m) = find(backend, scenario) else {
                continue;
            };
            let Some(statements) = m.db_statements.as_ref().filter(|s| !s.is_empty()) else {
                continue;
            };
            let total = total_statements(statements);
            let pings: f64 = statements
                .iter()
                .filter(|s| s.query.trim() == "SELECT $1")
                .fold(0.0, |sum, s| sum + s.per_request);
            let slowest = statements
                .iter()
                .filter(|s| s.per_request >= 0.5)
                .max_by(|a, b| a.mean_ms.total_cmp(&b.mean_ms));
            found.push(format!(
                "{backend}, {scenario}: {total:.1} statements per request ({:.0} µs of CPU \
                 each, server and PostgreSQL), {pings:.1} of them \
                 `SELECT 1` (a pool's check of the connection it hands out, diesel-async's \
                 default, which both pools now skip: `RecyclingMethod::Fast`){}.",
                cpu(m) / total.max(1.0),
                slowest.map_or(String::new(), |s| format!(
                    "; the slowest, at {:.3} ms each inside PostgreSQL (waits for row locks \
                     included): `{}`",
                    s.mean_ms,
                    s.query.chars().take(90).collect::<String>()
                ))
            ));
        }
    }
    for profile in &run.profiles {
        let share = |kind: &str| {
            profile
                .server_by_kind
                .iter()
                .filter(|(k, _)| k.starts_with(kind))
                .fold(0.0, |sum, (_, share)| sum + share)
        };
        if profile.server_by_kind.is_empty() {
            continue;
        }
        found.push(format!(
            "{}, {} profile: of the server's CPU samples, {:.0}% in the kernel's scheduling and \
             thread wake-ups, {:.0}% in the rest of the kernel (network, syscalls), {:.0}% in \
             malloc, {:.0}% in SQLite, {:.0}% in the answer engine (tantivy, whatlang).",
            profile.backend,
            profile.scenario,
            share("kernel: scheduling"),
            share("kernel: other"),
            share("allocator"),
            share("SQLite"),
            share("answer engine"),
        ));
    }
    found
}

fn label(m: &Measurement) -> String {
    if m.backend == "baseline" {
        match m.scenario {
            "chat send" => "echo (chat send's bodies)".into(),
            other => format!("echo, {other}"),
        }
    } else {
        match m.scenario {
            "first byte, 1 client" => "first SSE byte, 1 client".into(),
            "first byte, 64 connections" => "first SSE byte, 64 connections".into(),
            other => other.to_string(),
        }
    }
}

pub fn markdown(run: &Run, build: Duration) -> String {
    let mut out = String::new();
    let all = &run.measurements;
    let _ = writeln!(out, "# Botwire benchmark\n");
    let _ = writeln!(
        out,
        "Written by `cargo xtask bench` on {} ({} s per loaded scenario; measuring took {:.0?}, \
         the release build before it {:.0?}). The chart is [chart.png](chart.png).\n",
        run.started, run.seconds, run.total, build
    );
    let _ = writeln!(out, "Machine: {}.\n", run.machine.join("; "));
    let _ = writeln!(
        out,
        "**Method.** Everything on loopback, on the same cores as the server. Throughput and \
         whole-response latency: wrk, {threads} threads, {conns} connections, keep-alive, {secs} s \
         per scenario, requests from a generated Lua script. Time to the first SSE byte: our own \
         client (from the request's first byte written to the response body's first byte read), \
         {probes} requests one after another on one connection, then {conns} connections for \
         {secs} s. The server (`target/release/botwire serve`) runs with rate limits of {rl} per \
         minute (so none is refused), no message quota, `BOTWIRE_LOG=warn`, the default pool of \
         database connections (twice the CPUs, at least 4); on SQLite, a file in a temp dir (WAL); on PostgreSQL, a throwaway \
         local cluster (`synchronous_commit=off`, otherwise defaults). Set-up through the API: an \
         account, an account-wide API key (every request sends `X-API-Key`), a bot, and the data \
         set PyPI `zaragoza-construction-faq` (503 pairs in Swedish and 503 in English) uploaded as \
         one FAQ JSON document. Chat requests rotate through the 1006 questions (language \
         detected by the engine), in {sessions} sessions per scenario; history reads a session of \
         20 messages (10 exchanges). The inbox (issue 16): after those scenarios the bot gets \
         {inbox} more conversations through the API (one exchange each, from 16 connections), one in \
         {every} escalated to humans (`pending`), and its inbox list is read filtered by \
         `status=pending`, {page} a page: the first page and the page {deep_plus} pages in (by \
         the cursors, keyset), {probes} requests one after another, then the first page under wrk. \
         On PostgreSQL the first page is also read right after the load, before `VACUUM (ANALYZE) \
         conversations` (what autovacuum does by itself within about a minute of a bulk load: \
         until then the visibility map is unset and the count behind `total` visits every \
         matching row in the heap); the targets are read after it. \
         The baseline is `bench/echo` (raw hyper, HTTP/1.1) echoing \
         the chat send bodies under the same wrk settings and the same probe. Peak RSS is the \
         server's VmHWM (PostgreSQL's processes not included), cumulative over the server's \
         life; it includes the pages of SQLite's memory-mapped database file (`mmap_size` 256 \
         MiB), which the kernel may drop at will. Anonymous RSS is the server's RssAnon at the \
         end of the scenario: its own memory (heap, stacks), without mapped files. CPU per request is the process's user+system time over the scenario divided by \
         the requests served.\n",
        threads = super::wrk::THREADS,
        conns = super::wrk::CONNECTIONS,
        secs = run.seconds,
        probes = super::SEQUENTIAL_PROBES,
        rl = super::UNLIMITED_PER_MINUTE,
        sessions = super::SESSIONS,
        inbox = super::inbox::CONVERSATIONS,
        every = super::inbox::HANDOFF_EVERY,
        page = super::inbox::PAGE,
        deep_plus = super::inbox::DEEP_PAGE,
    );

    let _ = writeln!(
        out,
        "## Targets (issues 4 and 16, on this 2-core machine)\n\nA target is met only when \
         every run of its scenario meets it; the figure shown is the worst run's.\n"
    );
    let _ = writeln!(
        out,
        "| backend | target | measured | met |\n| --- | --- | --- | --- |"
    );
    for backend in ["sqlite", "postgres"] {
        for scenario in [
            "chat send",
            "history",
            "first byte, 1 client",
            INBOX_FIRST,
            INBOX_DEEP,
        ] {
            for target in targets_of(backend, scenario, all) {
                let _ = writeln!(
                    out,
                    "| {backend} | {} | {} | {} |",
                    target.what,
                    target.measured,
                    if target.met { "met" } else { "**not met**" }
                );
            }
        }
    }

    let _ = writeln!(out, "\n## Figures\n");
    let _ = writeln!(
        out,
        "Each figure is the median of its runs, with their range in brackets when they differ \
         ({runs} runs of each scenario but the one before PostgreSQL\'s VACUUM; each round of a \
         backend\'s scenarios after a run of the baseline). Ratios are to the baseline run of the \
         same round, measured the same way (wrk rows to the echo under wrk, probe rows to the echo \
         under the same probe). Errors are summed over the runs; RSS is the largest.\n",
        runs = run.runs,
    );
    let _ = writeln!(
        out,
        "| backend | scenario | runs | req/s | × baseline req/s | p50 ms | p99 ms | × baseline \
         p99 | errors | server CPU µs/req | PostgreSQL CPU µs/req | PostgreSQL statements/req | \
         peak RSS MiB | anonymous RSS MiB |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: \
         | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for summary in Summary::all(all) {
        let m = summary.first();
        let errors: u64 = summary
            .runs
            .iter()
            .map(|r| r.load.non_2xx + r.load.socket_errors)
            .sum();
        let largest = |figure: fn(&Measurement) -> u64| {
            summary.runs.iter().map(|r| figure(r)).max().unwrap_or(0) as f64 / 1024.0
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
            m.backend,
            label(m),
            summary.runs.len(),
            summary.spread(|r| Some(r.load.rps())).show(0),
            summary.ratio_spread(all, |r| r.load.rps()).show(3),
            summary.spread(|r| Some(r.load.p50_us / 1000.0)).show(2),
            summary.spread(|r| Some(r.load.p99_us / 1000.0)).show(2),
            summary.ratio_spread(all, |r| r.load.p99_us).show(3),
            errors,
            summary.spread(|r| Some(r.server_cpu_us)).show(0),
            summary.spread(|r| r.db_cpu_us).show(0),
            statements_per_request(m),
            largest(|r| r.peak_rss_kib),
            largest(|r| r.anon_rss_kib),
        );
    }
    let _ = writeln!(
        out,
        "\n### Every run\n\nAutovacuum: the tables PostgreSQL's autovacuum vacuumed or analyzed \
         during the run (its CPU counts in PostgreSQL's).\n\n| round | backend | scenario | req/s | \
         p99 ms | server CPU µs/req | PostgreSQL CPU µs/req | autovacuum | load avg before |\n| \
         ---: | --- | --- | ---: | ---: | ---: | ---: | --- | --- |"
    );
    for m in all {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} | {:.0} | {} | {} | {} |",
            m.round,
            m.backend,
            label(m),
            m.load.rps(),
            m.load.p99_us / 1000.0,
            m.server_cpu_us,
            m.db_cpu_us.map_or("-".into(), |us| format!("{us:.0}")),
            if m.autovacuum.is_empty() {
                "-".to_string()
            } else {
                m.autovacuum.join("; ")
            },
            m.load_before,
        );
    }

    counters_section(&mut out, all);

    let _ = writeln!(out, "\n## Errors\n");
    for (backend, failures) in &run.race_failures {
        let _ = writeln!(
            out,
            "- {backend}: {failures} of {} concurrent first messages to one new session were \
             answered with a 5xx{}.",
            super::setup::RACE_REQUESTS,
            if *failures > 0 {
                " (two requests create the session's conversation at once; the second's insert \
                 breaks the unique (bot, session) constraint, see the server's log)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "\nThe chat scenarios measure sessions that exist: the set-up sends one message to each \
         of them first, so that this race, checked above, does not count as their errors.\n"
    );

    let _ = writeln!(out, "## Where the time goes\n");
    for backend in ["sqlite", "postgres"] {
        for summary in Summary::all(all)
            .into_iter()
            .filter(|s| s.first().backend == backend && s.first().tool == "wrk")
        {
            let total = summary
                .spread(|m| Some(m.server_cpu_us + m.db_cpu_us.unwrap_or(0.0)))
                .median;
            let server = summary.spread(|m| Some(m.server_cpu_us)).median;
            let db = summary.spread(|m| m.db_cpu_us);
            let _ = writeln!(
                out,
                "- {backend}, {}: {:.0} µs of CPU per request ({:.0} in the server{}): two \
                 cores could serve at most {:.0} req/s of it if nothing else ran (measured {:.0}; \
                 medians of the runs).",
                summary.first().scenario,
                total,
                server,
                if db.median.is_finite() {
                    format!(", {:.0} in PostgreSQL", db.median)
                } else {
                    String::new()
                },
                2e6 / total.max(1.0),
                summary.spread(|m| Some(m.load.rps())).median,
            );
        }
    }
    let _ = writeln!(
        out,
        "\nwrk and the probe run on the same two cores, so a ceiling above is never reached: the \
         load generator takes its share (see the CPU by program of each profile).\n"
    );
    for finding in findings(run) {
        let _ = writeln!(out, "- {finding}");
    }
    if !run.breakdown.is_empty() {
        let _ = writeln!(
            out,
            "\n### Breakdown: requests that do less\n\nThe same load (wrk, {} connections) on \
             requests that do part of what a history read does; the difference in CPU per \
             request between two rows is the cost of what one does more.\n",
            super::wrk::CONNECTIONS
        );
        let _ = writeln!(
            out,
            "| backend | request | req/s | p50 ms | p99 ms | errors | server CPU µs/req | \
             PostgreSQL CPU µs/req | PostgreSQL statements/req |\n| --- | --- | ---: | ---: | \
             ---: | ---: | ---: | ---: | ---: |"
        );
        let rows = ["sqlite", "postgres"].into_iter().flat_map(|backend| {
            run.breakdown.iter().chain(all).filter(move |m| {
                m.backend == backend && (m.tool == "wrk" && m.scenario != "chat send")
            })
        });
        for m in rows {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {} | {} |",
                m.backend,
                if m.scenario == "history" {
                    "GET a session's history with the API key (for comparison)"
                } else {
                    m.scenario
                },
                m.load.rps(),
                m.load.p50_us / 1000.0,
                m.load.p99_us / 1000.0,
                m.load.non_2xx + m.load.socket_errors,
                m.server_cpu_us,
                m.db_cpu_us.map_or("-".into(), |us| format!("{us:.0}")),
                statements_per_request(m),
            );
        }
    }
    // The first run's: the statements are the same in every run.
    for m in Summary::all(all).iter().map(Summary::first).filter(|m| {
        m.backend == "postgres" && (m.scenario == "chat send" || m.scenario == "history")
    }) {
        let Some(statements) = m.db_statements.as_ref().filter(|s| !s.is_empty()) else {
            continue;
        };
        let _ = writeln!(
            out,
            "\n### PostgreSQL statements of one {} (pg_stat_statements over the scenario)\n\n\
             | per request | mean ms in PostgreSQL | statement |\n| ---: | ---: | --- |",
            m.scenario
        );
        for statement in statements.iter().filter(|s| s.per_request >= 0.05).take(30) {
            let _ = writeln!(
                out,
                "| {:.2} | {:.3} | `{}` |",
                statement.per_request,
                statement.mean_ms,
                statement.query.replace('|', "\\|").replace('`', "'")
            );
        }
    }
    let missed = run
        .measurements
        .iter()
        .filter_map(|m| (m.backend != "baseline").then_some((m.backend, m.scenario)))
        .any(|(backend, scenario)| {
            targets_of(backend, scenario, &run.measurements)
                .iter()
                .any(|target| !target.met)
        });
    if run.profiles.is_empty() {
        let why = if missed {
            "a quick run (`--quick`): no breakdown and no profile were taken."
        } else {
            "every target was met: no profile was taken."
        };
        let _ = writeln!(out, "\n{why}");
    }
    for profile in &run.profiles {
        let _ = writeln!(
            out,
            "\n### Profile: {}, {} (`perf record -a -g` over a shortened run, {:.0} req/s)\n",
            profile.backend, profile.scenario, profile.requests_per_second
        );
        if let Some(error) = &profile.error {
            let _ = writeln!(out, "No profile: {error}.");
            continue;
        }
        let section = |out: &mut String, title: &str, lines: &[String]| {
            if !lines.is_empty() {
                let _ = writeln!(out, "{title}:\n\n```\n{}\n```\n", lines.join("\n"));
            }
        };
        section(
            &mut out,
            "CPU samples by program (all CPUs)",
            &profile.by_program,
        );
        if !profile.server_by_kind.is_empty() {
            let _ = writeln!(
                out,
                "The server's samples by kind of work (symbols grouped by name):\n\n\
                 | kind | share of the server's samples |\n| --- | ---: |"
            );
            for (kind, share) in &profile.server_by_kind {
                let _ = writeln!(out, "| {kind} | {share:.1}% |");
            }
            let _ = writeln!(out);
        }
        section(
            &mut out,
            "The server's top symbols (self time, share of the server's)",
            &profile.server_symbols,
        );
        section(&mut out, "PostgreSQL's top symbols", &profile.db_symbols);
    }
    let _ = writeln!(out, "![requests per second and latency](chart.png)");
    out
}

/// The figures the chart draws.
pub fn json(run: &Run) -> Value {
    let rows: Vec<Value> = run
        .measurements
        .iter()
        .map(|m| {
            json!({
                "backend": m.backend,
                "scenario": m.scenario,
                "round": m.round,
                "tool": m.tool,
                "label": label(m),
                "rps": m.load.rps(),
                "p50_ms": m.load.p50_us / 1000.0,
                "p99_ms": m.load.p99_us / 1000.0,
                "errors": m.load.non_2xx + m.load.socket_errors,
                "peak_rss_mib": m.peak_rss_kib as f64 / 1024.0,
                "anon_rss_mib": m.anon_rss_kib as f64 / 1024.0,
            })
        })
        .collect();
    json!({
        "started": run.started,
        "targets": {
            "chat_send_sqlite_rps": CHAT_SEND_SQLITE_RPS,
            "chat_send_postgres_rps": CHAT_SEND_POSTGRES_RPS,
            "chat_send_p99_ms": CHAT_SEND_P99_MS,
            "history_rps": HISTORY_RPS,
            "first_byte_ms": FIRST_BYTE_MS,
        },
        "measurements": rows,
        "summaries": Summary::all(&run.measurements)
            .iter()
            .map(|summary| {
                let m = summary.first();
                json!({
                    "backend": m.backend,
                    "scenario": m.scenario,
                    "runs": summary.runs.len(),
                    "rps": summary.spread(|r| Some(r.load.rps())).median,
                    "p50_ms": summary.spread(|r| Some(r.load.p50_us / 1000.0)).median,
                    "p99_ms": summary.spread(|r| Some(r.load.p99_us / 1000.0)).median,
                    "rps_min": summary.spread(|r| Some(r.load.rps())).min,
                    "rps_max": summary.spread(|r| Some(r.load.rps())).max,
                })
            })
            .collect::<Vec<Value>>(),
    })
}

/// The server's `perf stat` counts per request, medians of the runs.
fn counters_section(out: &mut String, all: &[Measurement]) {
    let summaries: Vec<Summary<'_>> = Summary::all(all)
        .into_iter()
        .filter(|s| !s.first().counters.is_empty())
        .collect();
    if summaries.is_empty() {
        return;
    }
    let per_request = |m: &Measurement, event: &str| {
        let value = m.counters.iter().find(|c| c.event == event)?.value?;
        Some(value / m.load.requests.max(1) as f64)
    };
    let hardware = summaries.iter().any(|s| {
        s.runs
            .iter()
            .any(|m| per_request(m, "instructions").is_some())
    });
    let _ = writeln!(
        out,
        "\n### Counters per request (`perf stat` on the server process)\n\n{}\n",
        if hardware {
            "Instructions and cycles per request tell a machine that runs more code from one \
             that runs the same code slower (IPC: instructions per cycle)."
        } else {
            "This machine exposes no hardware counters (`perf stat` answers `<not supported>` \
             for instructions, cycles and cache misses: a VM without access to the CPU's PMU), \
             so instructions per request cannot be compared here; the software counters are \
             below, and the clock source is in the machine's description."
        }
    );
    let _ = writeln!(
        out,
        "| backend | scenario | context switches/req | CPU migrations/req | page faults/req | \
         instructions/req | cycles/req | IPC | cache misses/req |\n| --- | --- | ---: | ---: | \
         ---: | ---: | ---: | ---: | ---: |"
    );
    for summary in &summaries {
        let m = summary.first();
        let count = |event: &'static str, digits: usize| {
            let spread = summary.spread(|r| per_request(r, event));
            if spread.median.is_finite() {
                spread.show(digits)
            } else {
                "n/s".into()
            }
        };
        let ipc =
            summary.spread(|r| Some(per_request(r, "instructions")? / per_request(r, "cycles")?));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            m.backend,
            label(m),
            count("context-switches", 2),
            count("cpu-migrations", 3),
            count("page-faults", 2),
            count("instructions", 0),
            count("cycles", 0),
            if ipc.median.is_finite() {
                ipc.show(2)
            } else {
                "n/s".into()
            },
            count("cache-misses", 1),
        );
    }
    let _ = writeln!(out, "\nn/s: not supported by this machine.");
}
