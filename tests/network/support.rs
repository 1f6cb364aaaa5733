//! Helpers for the tests that run real processes: the `iop` binary, the tansu
//! broker, free ports, signals. Each child is killed when its handle drops.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers; not every test uses each"
)]

use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A free loopback port (racy in theory, fine for tests on one machine).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed on drop.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.name);
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait (at most `within`) for a clean exit.
    pub fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        self.signal("TERM");
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} did not exit on SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.pid().to_string())
            .stderr(Stdio::null())
            .status();
        self.kill();
    }
}

/// The tansu binary: `IOP_TANSU_BIN`, else `tansu` on PATH (scripts/test.sh installs it).
pub fn tansu_bin() -> String {
    std::env::var("IOP_TANSU_BIN").unwrap_or_else(|_| "tansu".to_owned())
}

/// Starts an in-memory tansu broker on a free port; returns it and its address.
pub fn start_tansu(log_dir: &Path) -> (Proc, String) {
    let port = free_port();
    let url = format!("tcp://127.0.0.1:{port}");
    let log = std::fs::File::create(log_dir.join("tansu.log")).unwrap();
    let child = Command::new(tansu_bin())
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        // Group membership changes (members expired, rebalances) are what a
        // failing consumer test needs to read.
        .env("RUST_LOG", "warn,tansu_broker::coordinator=info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start tansu ({}): {e}; run scripts/test.sh, which installs it",
                tansu_bin()
            )
        });
    let address = format!("127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&address).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "tansu did not listen on {address}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (
        Proc {
            child,
            name: "tansu".into(),
        },
        address,
    )
}

/// Starts `iop serve --service <service>` with `env` (IOP__… settings).
/// The settings every `iop serve` process of a test shares: the broker at
/// `bootstrap`, fresh keys (one network, one token key), quick timings, then
/// `extra`.
pub fn common_env(bootstrap: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let secret = iop_runtime::auth::generate_secret();
    let chain_key = iop_runtime::auth::generate_secret();
    [
        ("IOP__KAFKA__BOOTSTRAP_SERVERS", bootstrap),
        ("IOP__KAFKA__TOPIC_PARTITIONS", "3"),
        ("IOP__AUTH__HS256_SECRET", secret.as_str()),
        ("IOP__AUDIT__CHAIN_KEY", chain_key.as_str()),
        ("IOP__GRPC__DRAIN_MS", "0"),
        ("IOP__OUTBOX__POLL_INTERVAL_MS", "50"),
        ("NO_COLOR", "1"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// The value of `key` in `env`.
pub fn env_value<'a>(env: &'a [(String, String)], key: &str) -> &'a str {
    env.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

pub fn start_service(service: &str, env: &[(String, String)], log_dir: &Path) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_dir.join(format!("{service}.log")))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_iop"))
        .args(["serve", "--service", service])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    Proc {
        child,
        name: service.to_owned(),
    }
}

/// `addr` as a socket address.
pub fn socket(addr: &str) -> SocketAddr {
    addr.parse().unwrap()
}

/// A temporary directory for databases and process logs; if the test fails,
/// its logs are printed so CI shows why.
pub struct Workdir(pub tempfile::TempDir);

impl Workdir {
    pub fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(self.0.path()) else {
            return;
        };
        // Whole logs and databases outlive the test, for reading after a failure.
        let kept = std::env::temp_dir().join(format!(
            "iop-failed-{}",
            self.0
                .path()
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
        ));
        let _ = std::fs::create_dir_all(&kept);
        eprintln!("===== full logs kept in {} =====", kept.display());
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = std::fs::copy(&path, kept.join(entry.file_name()));
            if path.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(400).collect();
                eprintln!("===== {} (last {} lines) =====", path.display(), tail.len());
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// Installs the Python packages (pip names) whose modules `modules` cannot
/// be imported yet: what a test of a Python example needs, installed by the
/// harness itself (scripts/test.sh installs them first, so this is a no-op there).
pub fn python_packages(modules: &[&str], packages: &[&str]) {
    let imports = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    let present = Command::new("python3")
        .args(["-c", &imports])
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        let installed = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages)
            .status()
            .unwrap();
        assert!(installed.success(), "pip install {packages:?}");
    }
}
