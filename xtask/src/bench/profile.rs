//! Profiles with `perf` of a shortened run of a scenario that missed its target.

use super::process::{Scratch, Server, find_on_path};
use super::wrk;
use anyhow::Result;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Where the time goes in a shortened run of a scenario that missed its target.
pub(super) struct Profile {
    pub(super) backend: &'static str,
    pub(super) scenario: &'static str,
    pub(super) requests_per_second: f64,
    pub(super) by_program: Vec<String>,
    /// The server's samples by kind of work (see [`category`]), largest first.
    pub(super) server_by_kind: Vec<(&'static str, f64)>,
    pub(super) server_symbols: Vec<String>,
    pub(super) db_symbols: Vec<String>,
    pub(super) error: Option<String>,
}

/// `perf record -a -g` over the middle of a shortened wrk run, summarised three ways: CPU by
/// program, the server's by kind of work, the server's (and PostgreSQL's) top symbols.
pub(super) fn profile(
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
    let pid = server.pid().to_string();
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
