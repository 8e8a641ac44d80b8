//! A private PostgreSQL cluster for one test run: `initdb` into a temporary directory (as the
//! `postgres` user when the tests run as root: `initdb` refuses root), a free port on
//! 127.0.0.1, a database; stopped and removed when dropped. Needs Debian's `postgresql`
//! package (`.ci/run` installs it). [`PgCluster::start_tls`] takes TLS connections only.

use std::path::PathBuf;
use std::process::Command;

/// A running cluster.
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// `postgres://...` of its database.
    pub url: String,
    as_postgres: bool,
    /// With TLS: the CA's PEM file, and what every URL of the cluster asks for.
    tls: Option<(PathBuf, String)>,
}

/// Certificates for a cluster: a CA the test makes, and the server's, signed by it, naming
/// `localhost` only (so `127.0.0.1` is a name `verify-full` refuses).
pub fn make_certificates(dir: &std::path::Path) -> PathBuf {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("the CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("a server key");
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .expect("server parameters")
        .signed_by(&server_key, &issuer)
        .expect("the server certificate");
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).expect("ca.pem");
    std::fs::write(dir.join("server.crt"), server.pem()).expect("server.crt");
    let key = dir.join("server.key");
    std::fs::write(&key, server_key.serialize_pem()).expect("server.key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    ca_path
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
        PgCluster::start_as(false)
    }

    /// Start a cluster that takes TLS connections only (`ssl = on`, `hostssl` lines and no
    /// `host` ones in `pg_hba.conf`), its certificate signed by a CA the test makes; its URLs
    /// ask for `sslmode=verify-full` against that CA, on `localhost`.
    pub fn start_tls() -> PgCluster {
        PgCluster::start_as(true)
    }

    /// The CA a TLS cluster's certificate is signed by.
    pub fn ca(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().map(|(ca, _)| ca.as_path())
    }

    /// The cluster's port.
    pub fn port(&self) -> String {
        self.url
            .split(':')
            .nth(2)
            .and_then(|p| p.split('/').next())
            .unwrap_or("5432")
            .to_string()
    }

    fn start_as(tls: bool) -> PgCluster {
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
        let mut cluster = PgCluster {
            bin,
            url: format!("postgres://tscim@127.0.0.1:{port}/tscim"),
            dir,
            as_postgres,
            tls: None,
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
        let mut opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off -c max_connections=200"
        );
        if tls {
            let ca = make_certificates(cluster.dir.path());
            std::fs::write(
                cluster.dir.path().join("data/pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
            )
            .expect("pg_hba.conf");
            if as_postgres {
                let ok = Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(cluster.dir.path())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false);
                assert!(ok, "chown the certificates to postgres");
            }
            opts.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={sock}/server.crt -c ssl_key_file={sock}/server.key"
            ));
            let query = format!("sslmode=verify-full&sslrootcert={}", ca.display());
            cluster.url = format!("postgres://tscim@localhost:{port}/tscim?{query}");
            cluster.tls = Some((ca, query));
        }
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
        let port = self.port();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "tscim", name],
        );
        match &self.tls {
            Some((_, query)) => format!("postgres://tscim@localhost:{port}/{name}?{query}"),
            None => format!("postgres://tscim@127.0.0.1:{port}/{name}"),
        }
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

/// A connection to `url` as the store makes them (its `sslmode` and `sslrootcert` honoured),
/// for tests that read or change the database behind the bridge's back.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (url, tls) = tableau_scim::store::postgres::tls::split_url(url).expect("a store URL");
    let mut config: tokio_postgres::Config = url.parse().expect("a PostgreSQL URL");
    config.ssl_mode(tls.pg_mode());
    let (client, conn) = config
        .connect(tls.connector().expect("the TLS connector"))
        .await
        .expect("the test connects to the database");
    tokio::spawn(conn);
    client
}
