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

/// The issue's targets for one scenario of one backend, judged on its measurement.
pub fn targets_of(backend: &str, scenario: &str, measurements: &[Measurement]) -> Vec<Target> {
    let Some(m) = measurements
        .iter()
        .find(|m| m.backend == backend && m.scenario == scenario)
    else {
        return Vec::new();
    };
    let errors = m.load.non_2xx + m.load.socket_errors;
    let clean = if errors == 0 {
        String::new()
    } else {
        format!(" ({errors} errors)")
    };
    let rps = m.load.rps();
    let p99_ms = m.load.p99_us / 1000.0;
    match (backend, scenario) {
        ("sqlite" | "postgres", "chat send") => {
            let floor = if backend == "sqlite" {
                CHAT_SEND_SQLITE_RPS
            } else {
                CHAT_SEND_POSTGRES_RPS
            };
            vec![
                Target {
                    what: format!("chat send >= {floor:.0} req/s at 64 connections"),
                    measured: format!("{rps:.0} req/s{clean}"),
                    met: rps >= floor && errors == 0,
                },
                Target {
                    what: format!("chat send p99 <= {CHAT_SEND_P99_MS:.0} ms at 64 connections"),
                    measured: format!("{p99_ms:.1} ms"),
                    met: p99_ms <= CHAT_SEND_P99_MS,
                },
            ]
        }
        ("sqlite" | "postgres", "history") => vec![Target {
            what: format!("history >= {HISTORY_RPS:.0} req/s"),
            measured: format!("{rps:.0} req/s{clean}"),
            met: rps >= HISTORY_RPS && errors == 0,
        }],
        ("sqlite" | "postgres", "first byte, 1 client") => vec![Target {
            what: format!("first SSE byte <= {FIRST_BYTE_MS:.0} ms (p99, one client)"),
            measured: format!(
                "p50 {:.2} ms, p99 {p99_ms:.2} ms{clean}",
                m.load.p50_us / 1000.0
            ),
            met: p99_ms <= FIRST_BYTE_MS && errors == 0,
        }],
        ("sqlite" | "postgres", INBOX_FIRST | INBOX_DEEP) => vec![Target {
            what: format!(
                "{} of 100,000 conversations, filtered, p99 <= {INBOX_PAGE_P99_MS:.0} ms (one client)",
                if scenario == INBOX_FIRST {
                    "inbox first page"
                } else {
                    "inbox page 51"
                }
            ),
            measured: format!(
                "p50 {:.2} ms, p99 {p99_ms:.2} ms{clean}",
                m.load.p50_us / 1000.0
            ),
            met: p99_ms <= INBOX_PAGE_P99_MS && errors == 0,
        }],
        _ => Vec::new(),
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
        .find(|b| b.backend == "baseline" && b.scenario == scenario)
}

fn ratio(value: f64, base: f64) -> String {
    if base > 0.0 && value.is_finite() {
        format!("{:.3}", value / base)
    } else {
        "-".into()
    }
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
         The baseline is `bench/echo` (raw hyper, HTTP/1.1) echoing \
         the chat send bodies under the same wrk settings and the same probe. Peak RSS is the \
         server's VmHWM (PostgreSQL's processes not included), cumulative over the server's \
         life. CPU per request is the process's user+system time over the scenario divided by \
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
        "## Targets (issues 4 and 16, on this 2-core machine)\n"
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
        "Ratios are to the baseline measured the same way (wrk rows to the echo under wrk, probe \
         rows to the echo under the same probe).\n"
    );
    let _ = writeln!(
        out,
        "| backend | scenario | req/s | × baseline req/s | p50 ms | p99 ms | × baseline p99 | \
         non-2xx | socket errors | server CPU µs/req | PostgreSQL CPU µs/req | PostgreSQL \
         statements/req | peak RSS MiB | load avg before |\n| --- | --- | ---: | ---: | ---: | \
         ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for m in all {
        let base = baseline_of(m, all);
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} | {:.2} | {:.2} | {} | {} | {} | {:.0} | {} | {} | {:.1} | {} |",
            m.backend,
            label(m),
            m.load.rps(),
            base.map_or("-".into(), |b| ratio(m.load.rps(), b.load.rps())),
            m.load.p50_us / 1000.0,
            m.load.p99_us / 1000.0,
            base.map_or("-".into(), |b| ratio(m.load.p99_us, b.load.p99_us)),
            m.load.non_2xx,
            m.load.socket_errors,
            m.server_cpu_us,
            m.db_cpu_us.map_or("-".into(), |us| format!("{us:.0}")),
            statements_per_request(m),
            m.peak_rss_kib as f64 / 1024.0,
            m.load_before,
        );
    }

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
        for m in all
            .iter()
            .filter(|m| m.backend == backend && m.tool == "wrk")
        {
            let total = m.server_cpu_us + m.db_cpu_us.unwrap_or(0.0);
            let _ = writeln!(
                out,
                "- {backend}, {}: {:.0} µs of CPU per request ({:.0} in the server{}): two \
                 cores could serve at most {:.0} req/s of it if nothing else ran (measured {:.0}).",
                m.scenario,
                total,
                m.server_cpu_us,
                m.db_cpu_us
                    .map_or(String::new(), |db| format!(", {db:.0} in PostgreSQL")),
                2e6 / total.max(1.0),
                m.load.rps(),
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
    for m in all.iter().filter(|m| {
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
                "tool": m.tool,
                "label": label(m),
                "rps": m.load.rps(),
                "p50_ms": m.load.p50_us / 1000.0,
                "p99_ms": m.load.p99_us / 1000.0,
                "errors": m.load.non_2xx + m.load.socket_errors,
                "peak_rss_mib": m.peak_rss_kib as f64 / 1024.0,
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
    })
}
