//! Readings of /proc: a process's CPU time and peak resident set, the load average, and the
//! machine's description for the report.

use super::process::command_line;
use anyhow::{Context, Result};

/// /proc/loadavg's first three fields: the load average over 1, 5 and 15 minutes.
pub(super) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The status file's VmHWM: the process's peak resident set.
pub(super) fn peak_rss_kib(pid: u32) -> Result<u64> {
    status_kib(pid, "VmHWM")
}

/// The status file's RssAnon: the process's own memory now (heap, stacks), without the file
/// pages it maps (SQLite's memory-mapped database file counts in VmHWM, not here).
pub(super) fn anon_rss_kib(pid: u32) -> Result<u64> {
    status_kib(pid, "RssAnon")
}

/// A `<field>: <n> kB` line of /proc/<pid>/status.
fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/<pid>/status"))
}

/// User and system CPU ticks of a process; with `children`, also those of its live children
/// (PostgreSQL's backends) and of its reaped ones.
pub(super) fn cpu_ticks(pid: u32, children: bool) -> u64 {
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

pub(super) fn clock_ticks_per_second() -> f64 {
    command_line("getconf", &["CLK_TCK"])
        .parse()
        .unwrap_or(100.0)
}

pub(super) fn machine_description() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    // The first CPU's `<field>\t: <value>` line.
    let cpu_field = |field: &str| {
        cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .map(|value| value.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_default()
    };
    let (cpu, mhz) = (cpu_field("model name"), cpu_field("cpu MHz"));
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| info.lines().next().map(str::to_string))
        .unwrap_or_default();
    // lscpu's "L1d cache: 96 KiB (2 instances)" lines.
    let caches: Vec<String> = command_line("lscpu", &[])
        .lines()
        .filter(|line| line.starts_with('L') && line.contains("cache:"))
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    vec![
        format!(
            "{} CPUs ({cpu}, {mhz} MHz); {}",
            command_line("nproc", &[]),
            memory.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
        format!("caches: {}", caches.join(", ")),
        format!(
            "clock source {}",
            std::fs::read_to_string(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource"
            )
            .unwrap_or_default()
            .trim()
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
