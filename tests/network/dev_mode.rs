//! `iop dev` as a newcomer runs it: one process, every service, the embedded
//! broker, SQLite under a data directory. It prints an address and a token that
//! work; restarted on the same directory (the embedded broker starts empty) every
//! view is still complete, nothing is applied twice, and new writes flow.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use crate::support::{Proc, Workdir};
use iop_proto::{
    admissions::v1::admissions_service_client::AdmissionsServiceClient,
    common::v1::Program,
    patientview::v1::{CareStatus, patient_view_service_client::PatientViewServiceClient},
};
use iop_testkit::{admit, channel, patient, read_view, register, registration, wait_serving};

const WITHIN: Duration = Duration::from_secs(10);

/// Starts `iop dev` and reads the gRPC address, broker address and token it prints.
fn start_dev(data: &std::path::Path, logs: &std::path::Path) -> (Proc, String, String, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join("dev.log"))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_iop"))
        .args([
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--kafka-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let proc = Proc {
        child,
        name: "iop dev".into(),
    };
    let mut address = None;
    let mut kafka = None;
    let mut token = None;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("grpc: ") {
            address = Some(a.to_owned());
        }
        if let Some(k) = line.strip_prefix("kafka: ") {
            kafka = Some(k.to_owned());
        }
        if let Some(t) = line.strip_prefix("token: ") {
            token = Some(t.to_owned());
            break;
        }
    }
    (
        proc,
        address.expect("address printed"),
        kafka.expect("broker address printed"),
        token.expect("token printed"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_survives_a_restart_with_complete_views() {
    let dir = Workdir::new();
    let data = dir.path().join("data");
    let (mut dev, address, kafka, token) = start_dev(&data, dir.path());
    wait_serving(
        crate::support::socket(&address),
        "",
        Duration::from_secs(30),
    )
    .await;

    let mut admissions =
        AdmissionsServiceClient::new(channel(crate::support::socket(&address)).await);
    let pid = patient(&mut admissions, &token, "Dee", "Mendoza", "san-jose").await;
    let admitted = admit(&mut admissions, &token, &pid, "san-jose", Program::IopDay)
        .await
        .unwrap();
    let mut view = PatientViewServiceClient::new(channel(crate::support::socket(&address)).await);
    let before = read_view(&mut view, &token, &pid, &admitted, WITHIN)
        .await
        .unwrap();
    assert_eq!(before.timeline.len(), 2);
    // A Kafka client outside the process reads the topics from the address
    // `iop dev` printed (`--kafka-listen`: a fixed port forwarded to the
    // embedded broker).
    let records = iop_testkit::read_topic(&kafka, "iop.admissions.v1", 1).await;
    let event_type = iop_testkit::header(&records[0], "ce_type").unwrap_or_default();
    assert!(
        event_type.starts_with("iop.admissions."),
        "a CloudEvents record of admissions: {event_type:?}"
    );

    assert!(
        dev.terminate(Duration::from_secs(20)).success(),
        "clean exit on SIGTERM"
    );

    // Same data directory: same signing key, same databases, a new empty broker.
    let (_dev, address, kafka_again, token_again) = start_dev(&data, dir.path());
    wait_serving(
        crate::support::socket(&address),
        "",
        Duration::from_secs(30),
    )
    .await;
    let mut view = PatientViewServiceClient::new(channel(crate::support::socket(&address)).await);
    let mut admissions =
        AdmissionsServiceClient::new(channel(crate::support::socket(&address)).await);
    // The old token still works: the key persisted in the data directory.
    let after = read_view(&mut view, &token, &pid, &admitted, WITHIN)
        .await
        .unwrap();
    assert_eq!(after.status, CareStatus::Admitted as i32);
    assert_eq!(
        after.timeline, before.timeline,
        "the replayed outbox applied nothing twice"
    );

    // And new writes reach the view through the new broker.
    let (other, registered) = register(
        &mut admissions,
        &token_again,
        registration("Eli", "Park", "san-jose"),
    )
    .await
    .unwrap();
    let v = read_view(&mut view, &token_again, &other, &registered, WITHIN)
        .await
        .unwrap();
    assert_eq!(v.status, CareStatus::Registered as i32);

    // The analytics stream was replayed into the new broker with the rest.
    analysts_example(&kafka_again, &pid, dir.path()).await;
}

/// The analysts' worked example (examples/analytics/weekly_hours.py), run as
/// its README says against `iop dev`: confluent-kafka and message classes
/// made from `iop schema export`'s descriptor set, reading the de-identified
/// stream. `pid` attended three hours of group today (this test stands in for
/// scheduling's record of it).
async fn analysts_example(kafka: &str, pid: &str, dir: &std::path::Path) {
    use chrono::Datelike;
    use iop_proto::scheduling::{
        events::v1::AttendanceRecorded,
        v1::{AttendanceStatus, SessionType},
    };
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive();
    let monday = today - chrono::Days::new(u64::from(today.weekday().num_days_from_monday()));
    iop_testkit::publish(
        kafka,
        "iop.scheduling.v1",
        pid,
        &AttendanceRecorded {
            patient_id: pid.to_owned(),
            session_id: uuid::Uuid::new_v4().to_string(),
            facility_id: "san-jose".into(),
            session_type: SessionType::GroupTherapy as i32,
            status: AttendanceStatus::Attended as i32,
            minutes: 180,
            clinical: true,
            service_date: Some(iop_runtime::wire::date(today)),
            week_start: Some(iop_runtime::wire::date(monday)),
            time_zone: "America/Los_Angeles".into(),
            ..Default::default()
        },
    )
    .await;
    let partitions = iop_testkit::defaults().kafka.topic_partitions;
    iop_testkit::until("the attendance on the analytics stream", || async {
        (iop_testkit::record_count(kafka, "iop.analytics.v1", partitions) >= 2).then_some(())
    })
    .await;

    let descriptors = dir.join("iop.binpb");
    let exported = Command::new(env!("CARGO_BIN_EXE_iop"))
        .args(["schema", "export", "--out"])
        .arg(&descriptors)
        .output()
        .unwrap();
    assert!(exported.status.success());
    crate::support::python_packages(
        &["confluent_kafka", "google.protobuf"],
        &["confluent-kafka", "protobuf"],
    );
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/analytics/weekly_hours.py"
    );
    let out = Command::new("python3")
        .arg(example)
        .args(["--bootstrap", kafka, "--idle", "2", "--descriptors"])
        .arg(&descriptors)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        printed,
        format!(
            "year\tfacility\tlevel_of_care\tepisode_week\thours\tpatients\n\
             {}\tsan-jose\tLEVEL_OF_CARE_2_1_INTENSIVE_OUTPATIENT\t1\t3.00\t1\n",
            today.year()
        )
    );
}
