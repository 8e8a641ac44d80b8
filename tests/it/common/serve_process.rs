//! `tableau-scim serve` as an operator runs it: the binary on a configuration file, its log in
//! a file beside it, signals sent with `kill`. For what only a process shows: signals
//! (`SIGHUP`, `SIGTERM`), a global tracing subscriber, the file read again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;

use super::Idp;

/// A running `serve`.
pub struct ServeProcess {
    child: Child,
    /// Its standard error (the log), as written so far.
    pub log: PathBuf,
}

impl ServeProcess {
    /// Start `serve --config config` listening at `origin`, with `env` (its secrets) and
    /// `RUST_LOG=info`; wait (up to 20 s) until `/readyz` says ready.
    pub async fn start(config: &Path, origin: &str, env: &[(&str, &str)]) -> ServeProcess {
        let log = config.with_extension("log");
        let child = Command::new(env!("CARGO_BIN_EXE_tableau-scim"))
            .args(["serve", "--config"])
            .arg(config)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("the log file"))
            .spawn()
            .expect("tableau-scim serve starts");
        let p = ServeProcess { child, log };
        let probe = Idp::new(origin, "");
        for _ in 0..400 {
            let r = probe
                .try_raw(Method::GET, &format!("{origin}/readyz"), None, None, None)
                .await;
            if r.is_ok_and(|r| r.status.is_success()) {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve did not become ready:\n{}", p.log_text());
    }

    /// Send `signal` (`HUP`, `TERM`) as `kill` does.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal}");
    }

    /// `SIGTERM`, as an orchestrator stops it, and wait for it to exit.
    pub fn terminate(&mut self) {
        self.signal("TERM");
        let _ = self.child.wait();
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait (up to 10 s) until the log has said `needle` `n` times.
    pub async fn wait_log(&self, needle: &str, n: usize) {
        for _ in 0..200 {
            if self.log_text().matches(needle).count() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the log never said '{needle}' {n} times:\n{}",
            self.log_text()
        );
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
