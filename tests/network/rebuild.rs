//! `iop rebuild --service patient-view`: the view made again from the topics
//! into a new database equals the live one, table by table and field by
//! field (all but the bookkeeping of when rows were written).

use std::process::Command;

use iop_proto::common::v1::{DischargeReason, Program};
use iop_runtime::auth::Role;
use iop_testkit::{Backend, TestNetwork, admit, authed, read_view, register, registration};
use sea_orm::{ConnectionTrait, Statement};

/// Bookkeeping, not the view: when rows were written, and by which run.
const NOT_COMPARED: &[&str] = &[
    "inbox",
    "audit_log",
    "outbox",
    "event_streams",
    "seaql_migrations",
    "audit_chain",
];

/// Every row of every view table of the SQLite database at `url`, each
/// rendered with `quote()` and sorted.
async fn tables(url: &str) -> Vec<(String, Vec<String>)> {
    let db = sea_orm::Database::connect(url).await.unwrap();
    let text = |sql: String| Statement::from_string(sea_orm::DbBackend::Sqlite, sql);
    let names: Vec<String> = db
        .query_all(text(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name".into(),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .filter(|n| !NOT_COMPARED.contains(&n.as_str()) && !n.starts_with("sqlite_"))
        .collect();
    let mut out = Vec::new();
    for table in names {
        let columns: Vec<String> = db
            .query_all(text(format!("PRAGMA table_info({table})")))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", "name").unwrap())
            .collect();
        let row = columns
            .iter()
            // When and in which order the row was written (partitions are
            // applied side by side), not what it says.
            .filter(|c| !["updated_at", "position"].contains(&c.as_str()))
            .map(|c| format!("'{c}=' || quote({c})"))
            .collect::<Vec<_>>()
            .join(" || ', ' || ");
        let mut rows: Vec<String> = db
            .query_all(text(format!("SELECT {row} AS r FROM {table}")))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index::<String>(0).unwrap())
            .collect();
        rows.sort();
        out.push((table, rows));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuilt_view_equals_the_live_one_field_by_field() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let token = net.token(&[Role::Intake, Role::Clinician], &["oakland", "fresno"]);
    let mut admissions = net.admissions().await;
    let mut view = net.view().await;
    let mut last = (String::new(), String::new());
    for (i, family) in ["Aguilar", "Bautista", "Cortez", "Duarte"]
        .iter()
        .enumerate()
    {
        let facility = if i % 2 == 0 { "oakland" } else { "fresno" };
        let (pid, _) = register(
            &mut admissions,
            &token,
            registration("Rebuilt", family, facility),
        )
        .await
        .unwrap();
        let mut consistency = String::new();
        if i < 3 {
            consistency = admit(&mut admissions, &token, &pid, facility, Program::IopDay)
                .await
                .unwrap();
        }
        if i == 0 {
            consistency = admissions
                .discharge_patient(authed(
                    iop_proto::admissions::v1::DischargePatientRequest {
                        patient_id: pid.clone(),
                        reason: DischargeReason::Completed as i32,
                        discharged_on: None,
                    },
                    &token,
                ))
                .await
                .unwrap()
                .into_inner()
                .consistency_token;
        }
        if !consistency.is_empty() {
            read_view(
                &mut view,
                &token,
                &pid,
                &consistency,
                std::time::Duration::from_secs(15),
            )
            .await
            .unwrap();
        }
        last = (pid, consistency);
    }
    assert!(!last.0.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let into = format!("sqlite://{}/rebuilt.db", dir.path().display());
    let out = Command::new(env!("CARGO_BIN_EXE_iop"))
        .args(["rebuild", "--service", "patient-view", "--bootstrap"])
        .arg(net.bootstrap_servers())
        .args(["--into", &into])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("patient-view rebuilt:"), "{said}");

    let live = tables(net.database_url("patient-view")).await;
    let rebuilt = tables(&into).await;
    assert!(
        live.iter()
            .any(|(t, rows)| t == "patient_views" && rows.len() == 4),
        "{live:?}"
    );
    for ((table, a), (other, b)) in live.iter().zip(&rebuilt) {
        assert_eq!(table, other);
        assert_eq!(a, b, "table {table} differs");
    }
    assert_eq!(live.len(), rebuilt.len());

    // A database that already holds a view is refused.
    let again = Command::new(env!("CARGO_BIN_EXE_iop"))
        .args(["rebuild", "--service", "patient-view", "--bootstrap"])
        .arg(net.bootstrap_servers())
        .args(["--into", &into])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--into"));
    net.stop().await;
}
