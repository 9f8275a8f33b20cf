//! A throwaway PostgreSQL cluster for the benchmark: initdb and pg_ctl in a temp dir, on a free
//! loopback port, stopped (and its directory removed) on drop, or by a watchdog if this process
//! dies first. The same steps as `conformance/src/postgres.rs`, kept here so that the xtask
//! depends on no crate of the workspace.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// PostgreSQL refuses to run as root: then every command runs as the `postgres` user.
    as_postgres_user: bool,
}

fn find_bin_dir() -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates
        .into_iter()
        .find(|dir| {
            ["initdb", "pg_ctl", "createdb"]
                .iter()
                .all(|b| dir.join(b).is_file())
        })
        .context(
            "PostgreSQL server binaries (initdb, pg_ctl, createdb) were not found on PATH or \
             under /usr/lib/postgresql/*/bin: install them, e.g. `apt-get install postgresql-15`",
        )
}

impl Cluster {
    /// Starts a cluster in `dir` (created; must not exist).
    pub fn start(dir: &Path, port: u16) -> Result<Cluster> {
        let bin = find_bin_dir()?;
        let as_postgres_user = super::process::is_root();
        std::fs::create_dir_all(dir)?;
        if as_postgres_user {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir))?;
        }
        let cluster = Cluster {
            bin,
            dir: dir.to_path_buf(),
            port,
            as_postgres_user,
        };
        cluster.spawn_watchdog()?;
        let data = cluster.data();
        run(cluster.command("initdb").arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ]))
        .context("initdb")?;
        // Commits are not flushed one by one (synchronous_commit=off, like SQLite's WAL with
        // synchronous=NORMAL: a crash may lose the last moments, never consistency); fsync and
        // everything else stay at PostgreSQL's defaults.
        // pg_stat_statements counts the statements each scenario costs.
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c synchronous_commit=off \
             -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all",
            dir.display()
        );
        run(cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.join("server.log"))
            .args(["-w", "start"]))
        .context("pg_ctl start")?;
        run(cluster.command("createdb").args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "botwire",
        ]))
        .context("createdb")?;
        cluster
            .sql("CREATE EXTENSION pg_stat_statements")
            .context("creating the pg_stat_statements extension")?;
        Ok(cluster)
    }

    /// Runs `query` in the benchmark's database with psql; its unaligned output.
    pub fn sql(&self, query: &str) -> Result<String> {
        let output = self
            .command("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U", "postgres", "-d", "botwire", "-X", "-A", "-t", "-q", "-F", "\t",
            ])
            .args(["-c", query])
            .output()
            .context("running psql")?;
        if !output.status.success() {
            bail!("psql: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Forgets the statements counted so far.
    pub fn statements_reset(&self) {
        let _ = self.sql("SELECT pg_stat_statements_reset()");
    }

    /// The statements run in the benchmark's database since the last reset, most frequent
    /// first: (calls, total execution ms, query with whitespace collapsed, cut at 160 chars).
    pub fn statements(&self) -> Vec<(f64, f64, String)> {
        let query = "SELECT calls, total_exec_time, \
             left(regexp_replace(query, '\\s+', ' ', 'g'), 160) \
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
             WHERE d.datname = 'botwire' AND query NOT LIKE '%pg_stat_statements%' \
             ORDER BY calls DESC, total_exec_time DESC";
        let Ok(text) = self.sql(query) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| {
                let mut fields = line.splitn(3, '\t');
                let calls = fields.next()?.parse().ok()?;
                let ms = fields.next()?.parse().ok()?;
                Some((calls, ms, fields.next()?.to_string()))
            })
            .collect()
    }

    /// How many times autovacuum has vacuumed and analyzed each table so far, as (table,
    /// vacuums, analyzes): the difference over a scenario says what ran beside it.
    pub fn autovacuum_counts(&self) -> Vec<(String, i64, i64)> {
        let query = "SELECT relname, autovacuum_count, autoanalyze_count FROM pg_stat_user_tables";
        let Ok(text) = self.sql(query) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let table = fields.next()?.to_string();
                Some((
                    table,
                    fields.next()?.parse().ok()?,
                    fields.next()?.parse().ok()?,
                ))
            })
            .collect()
    }

    /// The postmaster's pid (its backends are its children).
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/botwire", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn stop_command(&self) -> String {
        let stop = format!(
            "{} -D {} -m fast stop",
            self.bin.join("pg_ctl").display(),
            self.data().display()
        );
        if self.as_postgres_user {
            format!("runuser -u postgres -- {stop}")
        } else {
            stop
        }
    }

    /// Stops the cluster and removes its directory once this process is gone, however it ends.
    fn spawn_watchdog(&self) -> Result<()> {
        super::process::spawn_watchdog(
            "true",
            &format!(
                "if [ -d {data} ]; then {stop} >/dev/null 2>&1; rm -rf {dir}; fi",
                data = self.data().display(),
                stop = self.stop_command(),
                dir = self.dir.display(),
            ),
        )
        .context("starting the cluster's watchdog")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args(["-c", &self.stop_command()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(command: &mut Command) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
