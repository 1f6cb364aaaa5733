//! Migrations as a Job: `iop serve` with `database.migrate_at_start = false`
//! refuses a schema that is behind, naming the command that fixes it; `iop
//! migrate` applies the migrations (and `--check` lists what is pending);
//! then `iop serve` starts on the migrated schema. On PostgreSQL, with the
//! broker a mock cluster of this test process.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use iop_testkit::Backend;
use rdkafka::{mocking::MockCluster, producer::DefaultProducerContext};

/// `iop <args>` with only `env` (plus PATH) set.
fn iop(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_iop"));
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iop_migrate_then_serve_with_migrations_at_start_off() {
    let dir = tempfile::tempdir().unwrap();
    let database = iop_testkit::database(Backend::Postgres, dir.path(), "admissions").await;
    let broker: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
    for topic in iop_registry::find("admissions").unwrap().topics() {
        broker.create_topic(topic, 1, 1).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = [
        ("IOP__DATABASE__URL", database.url.expose().clone()),
        ("IOP__DATABASE__MIGRATE_AT_START", "false".to_owned()),
        ("IOP__KAFKA__BOOTSTRAP_SERVERS", broker.bootstrap_servers()),
        ("IOP__KAFKA__CREATE_TOPICS", "false".to_owned()),
        (
            "IOP__AUTH__HS256_SECRET",
            iop_runtime::auth::generate_secret(),
        ),
        (
            "IOP__AUDIT__CHAIN_KEY",
            iop_runtime::auth::generate_secret(),
        ),
        ("IOP__GRPC__LISTEN", format!("127.0.0.1:{port}")),
    ];

    let refused = iop(&["serve", "--service", "admissions"], &env)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "served an unmigrated schema");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("is not migrated"), "{said}");
    assert!(
        said.contains("run `iop migrate --service admissions`"),
        "{said}"
    );

    let check = iop(&["migrate", "--service", "admissions", "--check"], &env)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(3), "pending migrations exit 3");
    let listed = String::from_utf8_lossy(&check.stdout);
    assert!(
        listed.contains("pending") && listed.contains("m2026"),
        "{listed}"
    );

    let applied = iop(&["migrate", "--service", "admissions"], &env)
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert!(String::from_utf8_lossy(&applied.stdout).contains("applied"));
    let again = iop(&["migrate", "--service", "admissions", "--check"], &env)
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 migration(s) pending"));

    let mut served = iop(&["serve", "--service", "admissions"], &env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let address = format!("127.0.0.1:{port}").parse().unwrap();
    iop_testkit::wait_serving(
        address,
        "iop.admissions.v1.AdmissionsService",
        Duration::from_secs(60),
    )
    .await;
    served.kill().unwrap();
    served.wait().unwrap();
}
