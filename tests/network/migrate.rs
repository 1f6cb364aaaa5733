//! Migrations as a Job: `iop serve` with `database.migrate_at_start = false`
//! under a runtime role that may not change the schema refuses a schema that
//! is behind, naming the command that fixes it; `iop migrate` under the
//! migration role (and nothing else: no keys, no broker) applies the
//! migrations, `--check` lists what is pending read-only; then `iop serve`
//! starts on the migrated schema as the runtime role. Secrets come from
//! files, as a pod mounts them. On PostgreSQL, with the broker a mock
//! cluster of this test process.

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
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().unwrap();
    let database = iop_testkit::database(Backend::Postgres, dir.path(), "admissions").await;
    let owner_url = database.url.expose().clone();
    // Two roles, as a site has them: the migration role (the database's
    // owner) and a runtime role that may read and write rows, not change
    // the schema.
    let runtime_role = format!("iop_runtime_{}", uuid::Uuid::new_v4().simple());
    let owner = sea_orm::Database::connect(&owner_url).await.unwrap();
    owner
        .execute_unprepared(&format!(
            "CREATE ROLE {runtime_role} LOGIN PASSWORD 'runtime'; \
             REVOKE CREATE ON SCHEMA public FROM PUBLIC; \
             ALTER DEFAULT PRIVILEGES IN SCHEMA public \
               GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime_role}; \
             ALTER DEFAULT PRIVILEGES IN SCHEMA public \
               GRANT USAGE, SELECT ON SEQUENCES TO {runtime_role};"
        ))
        .await
        .unwrap();
    let (scheme_user, rest) = owner_url.split_once('@').unwrap();
    let scheme = scheme_user.split_once("://").unwrap().0;
    let runtime_url = format!("{scheme}://{runtime_role}:runtime@{rest}");
    // Secrets as a pod has them: files.
    let file = |name: &str, value: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{value}\n")).unwrap();
        path.display().to_string()
    };
    let owner_file = file("migration-database-url", &owner_url);
    let runtime_file = file("database-url", &runtime_url);

    let broker: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
    for topic in iop_registry::find("admissions").unwrap().topics() {
        broker.create_topic(topic, 1, 1).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let serve_env = [
        ("IOP__DATABASE__URL_FILE", runtime_file),
        ("IOP__DATABASE__MIGRATE_AT_START", "false".to_owned()),
        ("IOP__KAFKA__BOOTSTRAP_SERVERS", broker.bootstrap_servers()),
        ("IOP__KAFKA__CREATE_TOPICS", "false".to_owned()),
        (
            "IOP__AUTH__HS256_SECRET_FILE",
            file("hs256", &iop_runtime::auth::generate_secret()),
        ),
        (
            "IOP__AUDIT__CHAIN_KEY_FILE",
            file("chain", &iop_runtime::auth::generate_secret()),
        ),
        ("IOP__GRPC__LISTEN", format!("127.0.0.1:{port}")),
    ];
    // The migration Job has the migration role's URL and nothing else.
    let migrate_env = [("IOP__DATABASE__URL_FILE", owner_file)];

    // The runtime role cannot migrate, and serve says what to run instead.
    let refused = iop(&["serve", "--service", "admissions"], &serve_env)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "served an unmigrated schema");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("is not migrated"), "{said}");
    assert!(
        said.contains("run `iop migrate --service admissions`"),
        "{said}"
    );

    let check = iop(
        &["migrate", "--service", "admissions", "--check"],
        &serve_env,
    )
    .output()
    .unwrap();
    assert_eq!(
        check.status.code(),
        Some(3),
        "pending migrations exit 3 (listed by the runtime role, read-only): {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let listed = String::from_utf8_lossy(&check.stdout);
    assert!(
        listed.contains("pending") && listed.contains("m2026"),
        "{listed}"
    );

    let applied = iop(&["migrate", "--service", "admissions"], &migrate_env)
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert!(String::from_utf8_lossy(&applied.stdout).contains("applied"));
    let again = iop(
        &["migrate", "--service", "admissions", "--check"],
        &serve_env,
    )
    .output()
    .unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 migration(s) pending"));

    let mut served = iop(&["serve", "--service", "admissions"], &serve_env)
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
    // The runtime role changed no schema: every table is the owner's.
    let foreign = owner
        .query_one(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT count(*)::bigint AS n FROM pg_tables WHERE tableowner = '{runtime_role}'"
            ),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(foreign, 0);
}
