//! A throwaway PostgreSQL cluster for the test process.
//!
//! The first test that needs PostgreSQL starts one cluster (initdb + pg_ctl, in a temp dir,
//! on a free loopback port); every test then gets a fresh database in it. A watchdog process
//! stops the cluster and removes its directory when the test process exits, however it exits.
//! Missing binaries fail the test, naming the package to install: this leg never skips.

use anyhow::{Context, Result, bail};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, pg_ctl, createdb, dropdb) were not found \
     on PATH or under /usr/lib/postgresql/*/bin: install them, e.g. `apt-get install postgresql-15`";

pub struct Cluster {
    bin: PathBuf,
    port: u16,
    /// Whether commands must run as the `postgres` user (PostgreSQL refuses to run as root).
    as_postgres_user: bool,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The process's cluster, started on first use.
pub fn cluster() -> Result<&'static Cluster> {
    CLUSTER
        .get_or_init(|| Cluster::start().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn find_bin_dir() -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut candidates: Vec<PathBuf> = on_path;
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates
        .into_iter()
        .find(|dir| {
            ["initdb", "pg_ctl", "createdb", "dropdb"]
                .iter()
                .all(|b| dir.join(b).is_file())
        })
        .context(INSTALL_HINT)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Cluster {
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

    fn start() -> Result<Cluster> {
        let bin = find_bin_dir()?;
        let as_postgres_user = is_root();
        let dir = std::env::temp_dir().join(format!(
            "botwire-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        if as_postgres_user {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir))?;
        }
        let data = dir.join("data");
        let port = free_port()?;
        let cluster = Cluster {
            bin,
            port,
            as_postgres_user,
        };
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
        // Durability is pointless for a throwaway cluster; speed is not. Every CREATE
        // DATABASE writes the template's 7 MB to the WAL: a small max_wal_size recycles it
        // instead of letting a run keep a gigabyte of it on the disk.
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
             -c max_wal_size=128MB -c min_wal_size=32MB",
            dir.display()
        );
        run(cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(data.join("server.log"))
            .args(["-w", "start"]))
        .context("pg_ctl start")?;
        cluster.spawn_watchdog(&dir, &data)?;
        Ok(cluster)
    }

    /// Stops the cluster and removes its directory once this process is gone.
    fn spawn_watchdog(&self, dir: &Path, data: &Path) -> Result<()> {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = if self.as_postgres_user {
            format!(
                "runuser -u postgres -- {} -D {} -m immediate stop",
                pg_ctl.display(),
                data.display()
            )
        } else {
            format!(
                "{} -D {} -m immediate stop",
                pg_ctl.display(),
                data.display()
            )
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            dir = dir.display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the cluster's watchdog")?;
        Ok(())
    }

    /// A new, empty database; returns its name and URL.
    pub fn create_database(&self) -> Result<(String, String)> {
        let name = format!("botwire_{}", uuid::Uuid::new_v4().simple());
        run(self
            .command("createdb")
            .args(self.connection_args())
            .arg(&name))
        .context("createdb")?;
        let url = format!("postgres://postgres@127.0.0.1:{}/{name}", self.port);
        Ok((name, url))
    }

    /// Drops a database of [`Cluster::create_database`], closing what is still connected to
    /// it, so that a run's hundreds of databases do not pile up on the disk until it ends.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        run(self
            .command("dropdb")
            .args(self.connection_args())
            .args(["--force", name]))
        .context("dropdb")
    }

    fn connection_args(&self) -> [String; 6] {
        [
            "-h".into(),
            "127.0.0.1".into(),
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            "postgres".into(),
        ]
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
