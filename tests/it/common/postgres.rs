//! A private PostgreSQL cluster for one test run: `initdb` into a temporary directory (as the
//! `postgres` user when the tests run as root: `initdb` refuses root), a free port on
//! 127.0.0.1, a database; stopped and removed when dropped. Needs Debian's `postgresql`
//! package (`.ci/run` installs it).

use std::path::PathBuf;
use std::process::Command;

/// A running cluster.
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// `postgres://...` of its database.
    pub url: String,
    as_postgres: bool,
}

fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
        .pop()
        .expect("PostgreSQL's binaries under /usr/lib/postgresql/<version>/bin (apt-get install postgresql)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgCluster {
    /// One of PostgreSQL's programs, as the `postgres` user when the tests run as root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .output()
            .expect("the command runs");
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start a cluster with one database, `tscim`.
    pub fn start() -> PgCluster {
        let bin = bin_dir();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "chown the cluster's directory to postgres");
        }
        let port = super::free_port();
        let cluster = PgCluster {
            bin,
            url: format!("postgres://tscim@127.0.0.1:{port}/tscim"),
            dir,
            as_postgres,
        };
        let data = cluster.dir.path().join("data");
        let data = data.to_string_lossy().to_string();
        let sock = cluster.dir.path().to_string_lossy().to_string();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "tscim",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off -c max_connections=200"
        );
        let log = format!("{sock}/log");
        cluster.run(
            "pg_ctl",
            &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"],
        );
        cluster.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "tscim",
                "tscim",
            ],
        );
        cluster
    }

    /// Another database in the same cluster (a fresh store).
    pub fn database(&self, name: &str) -> String {
        let port = self
            .url
            .split(':')
            .nth(2)
            .and_then(|p| p.split('/').next())
            .unwrap_or("5432")
            .to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "tscim", name],
        );
        format!("postgres://tscim@127.0.0.1:{port}/{name}")
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.halt();
    }
}

impl PgCluster {
    fn halt(&self) {
        let data = self.dir.path().join("data").to_string_lossy().to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}
