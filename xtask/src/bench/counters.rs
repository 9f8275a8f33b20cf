//! `perf stat` counters of the server over a scenario (issue 20: why CPU per request differs
//! between machines of one kind). Hardware counters (instructions, cycles, cache misses) need
//! the machine's PMU, which a VM often hides: `perf` then says `<not supported>` and the
//! report says so rather than guess; the software ones (context switches, migrations, page
//! faults) are always there.

use super::process::find_on_path;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The events counted, as `perf stat -e` names them.
pub const EVENTS: [&str; 7] = [
    "instructions",
    "cycles",
    "cache-misses",
    "context-switches",
    "cpu-migrations",
    "page-faults",
    "task-clock",
];

/// A `perf stat` attached to a process until [`Counting::stop`].
pub struct Counting {
    child: Child,
    output: PathBuf,
}

/// One event's count over the scenario; `None` when the machine cannot count it.
#[derive(Debug, Clone)]
pub struct Count {
    pub event: &'static str,
    pub value: Option<f64>,
}

impl Counting {
    /// Starts counting `pid`'s events; `None` without `perf` (the report then has no counters).
    pub fn start(pid: u32) -> Option<Counting> {
        find_on_path("perf")?;
        let output = std::env::temp_dir().join(format!(
            "botwire-bench-counters-{pid}-{}.csv",
            std::process::id()
        ));
        let child = Command::new("perf")
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                &EVENTS.join(","),
                "-p",
                &pid.to_string(),
            ])
            .arg("-o")
            .arg(&output)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // perf attaches within milliseconds; the scenario's first moments are its warm-up.
        std::thread::sleep(std::time::Duration::from_millis(100));
        Some(Counting { child, output })
    }

    /// Stops counting (perf writes its figures on SIGINT) and reads them.
    pub fn stop(mut self) -> Vec<Count> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        let _ = std::fs::remove_file(&self.output);
        parse(&text)
    }
}

/// `perf stat -x,` lines: `value,unit,event,...`, the value `<not supported>` or
/// `<not counted>` when the machine has no such counter.
fn parse(text: &str) -> Vec<Count> {
    EVENTS
        .iter()
        .map(|event| {
            let value = text
                .lines()
                .map(|line| line.split(',').collect::<Vec<_>>())
                .find(|fields| {
                    fields
                        .get(2)
                        .is_some_and(|name| name.split(':').next() == Some(event))
                })
                .and_then(|fields| fields.first()?.parse::<f64>().ok());
            Count { event, value }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_counters_are_none_and_the_others_read() {
        let text = "# started on Fri Dec  4 01:53:15 2026\n\n\
            <not supported>,,instructions,0,100.00,,\n\
            <not supported>,,cycles,0,100.00,,\n\
            <not counted>,,cache-misses,0,0.00,,\n\
            1534,,context-switches,894545,100.00,,\n\
            2,,cpu-migrations,894545,100.00,,\n\
            88,,page-faults:u,894545,100.00,,\n\
            9.81,msec,task-clock,9810000,100.00,0.98,CPUs utilized\n";
        let counts = parse(text);
        let value = |event: &str| {
            counts
                .iter()
                .find(|c| c.event == event)
                .and_then(|c| c.value)
        };
        assert_eq!(value("instructions"), None);
        assert_eq!(value("cache-misses"), None);
        assert_eq!(value("context-switches"), Some(1534.0));
        assert_eq!(value("page-faults"), Some(88.0));
        assert_eq!(value("task-clock"), Some(9.81));
    }
}
