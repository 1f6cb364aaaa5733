//! Delivery guarantees at the consumer, on the in-process network: a record that
//! is not an IOP event, or whose payload does not decode, goes to the dead-letter
//! topic with its reason while the events behind it are applied; a redelivered
//! event is applied once. The admissions topic is also read here as an analyst
//! would: CloudEvents headers and a protobuf payload.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::time::Duration;

use iop_proto::{
    admissions::events::v1::PatientRegistered, common::v1::Program, patientview::v1::CareStatus,
};
use iop_runtime::auth::Role;
use iop_testkit::{
    Backend, TestNetwork, admit, authed, header, patient, read_topic, read_view, record_count,
    registration,
};
use prost::Message as _;
use rdkafka::{
    ClientConfig, Message,
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};

const FACILITY: &str = "sacramento";
const WITHIN: Duration = Duration::from_secs(10);

fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap()
}

/// Facilities the test network registers before any test runs.
const FACILITIES: usize = 7;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_records_are_dead_lettered_and_the_partition_moves_on() {
    let net = TestNetwork::start_with(Backend::Sqlite, |s| s.kafka.topic_partitions = 1).await;
    let bootstrap = net.bootstrap_servers();
    let token = net.token(&[Role::Intake], &[FACILITY]);
    let producer = producer(&bootstrap);

    // 1: no CloudEvents headers at all.
    producer
        .send(
            FutureRecord::to("iop.admissions.v1")
                .key("x")
                .payload(b"\x00not an event"),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    // 2: proper headers, payload that is not a PatientRegistered.
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "ce_specversion",
            value: Some("1.0"),
        })
        .insert(Header {
            key: "ce_id",
            value: Some("bad-payload-1"),
        })
        .insert(Header {
            key: "ce_source",
            value: Some("/iop/test/admissions"),
        })
        .insert(Header {
            key: "ce_type",
            value: Some("iop.admissions.events.v1.PatientRegistered"),
        })
        .insert(Header {
            key: "ce_time",
            value: Some("2026-11-28T10:00:00Z"),
        });
    producer
        .send(
            FutureRecord::to("iop.admissions.v1")
                .key("y")
                .payload(b"\xff\xff\xff\xff")
                .headers(headers),
            Duration::from_secs(5),
        )
        .await
        .unwrap();

    // Events behind the garbage, in the same (single) partition, are applied.
    let mut admissions = net.admissions().await;
    let pid = patient(&mut admissions, &token, "Kim", "Behind", FACILITY).await;
    let admitted = admit(&mut admissions, &token, &pid, FACILITY, Program::IopDay)
        .await
        .unwrap();
    let v = read_view(&mut net.view().await, &token, &pid, &admitted, WITHIN)
        .await
        .unwrap();
    assert_eq!(v.status, CareStatus::Admitted as i32);

    let dead = read_topic(&bootstrap, "iop.patientview.dlq", 2).await;
    assert_eq!(dead[0].payload(), Some(&b"\x00not an event"[..]));
    assert!(
        header(&dead[0], "iop_dlq_reason")
            .unwrap()
            .contains("missing header ce_specversion")
    );
    // Topic, partition and offset of the original (behind the facility registry's events).
    let origin = header(&dead[0], "iop_dlq_origin").unwrap();
    assert!(origin.starts_with("iop.admissions.v1/0/"), "{origin}");
    assert_eq!(
        header(&dead[1], "ce_id"),
        Some("bad-payload-1"),
        "original headers kept"
    );
    assert!(
        header(&dead[1], "iop_dlq_reason")
            .unwrap()
            .contains("undecodable payload")
    );
    assert_eq!(
        header(&dead[1], "iop_dlq_consumer"),
        Some("iop.patientview")
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyst_decodes_events_and_a_redelivered_event_is_applied_once() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let bootstrap = net.bootstrap_servers();
    let token = net.token(&[Role::Intake], &[FACILITY]);
    let mut admissions = net.admissions().await;
    let r = admissions
        .register_patient(authed(registration("Kim", "Twice", FACILITY), &token))
        .await
        .unwrap()
        .into_inner();
    let patient = r.patient.unwrap();

    // As an analyst: key, CloudEvents binary-mode headers, protobuf value. The
    // facility registry's events (keyed by facility) come first.
    let records = read_topic(&bootstrap, "iop.admissions.v1", FACILITIES + 1).await;
    let record = records
        .iter()
        .find(|r| header(r, "ce_subject") == Some(patient.patient_id.as_str()))
        .unwrap();
    assert_eq!(
        record.key(),
        Some(patient.patient_id.as_bytes()),
        "keyed by patient id"
    );
    assert_eq!(header(record, "ce_specversion"), Some("1.0"));
    assert_eq!(
        header(record, "ce_type"),
        Some("iop.admissions.events.v1.PatientRegistered")
    );
    assert_eq!(header(record, "ce_source"), Some("/iop/local/admissions"));
    assert_eq!(
        header(record, "ce_subject"),
        Some(patient.patient_id.as_str())
    );
    assert_eq!(header(record, "ce_sequence"), Some("1"));
    assert_eq!(header(record, "content-type"), Some("application/protobuf"));
    assert!(chrono::DateTime::parse_from_rfc3339(header(record, "ce_time").unwrap()).is_ok());
    assert!(uuid::Uuid::parse_str(header(record, "ce_id").unwrap()).is_ok());
    let event = PatientRegistered::decode(record.payload().unwrap()).unwrap();
    assert_eq!(event.patient_id, patient.patient_id);
    assert_eq!(event.mrn, patient.mrn);
    assert_eq!(event.facility_id, "sacramento");

    // Deliver the very same record twice more.
    let producer = producer(&bootstrap);
    for _ in 0..2 {
        let mut copy = FutureRecord::to("iop.admissions.v1")
            .key(record.key().unwrap())
            .payload(record.payload().unwrap());
        copy = copy.headers(record.headers().unwrap().clone());
        producer.send(copy, Duration::from_secs(5)).await.unwrap();
    }
    // A later event of the same patient (same partition, after the copies).
    let admitted = admit(
        &mut admissions,
        &token,
        &patient.patient_id,
        FACILITY,
        Program::IopCombined,
    )
    .await
    .unwrap();
    let v = read_view(
        &mut net.view().await,
        &token,
        &patient.patient_id,
        &admitted,
        WITHIN,
    )
    .await
    .unwrap();
    let types: Vec<_> = v.timeline.iter().map(|t| t.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "iop.admissions.events.v1.PatientRegistered",
            "iop.admissions.events.v1.PatientAdmitted"
        ]
    );
    // The copies were skipped by the inbox, not failed and dead-lettered.
    let partitions = net.settings.kafka.topic_partitions;
    assert_eq!(
        record_count(&bootstrap, "iop.patientview.dlq", partitions),
        0
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_the_view_does_not_fold_still_satisfy_consistency_tokens() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let token = net.token(&[Role::Intake], &[FACILITY]);
    let (pid, registered) = iop_testkit::register(
        &mut net.admissions().await,
        &token,
        registration("Kim", "Newer", FACILITY),
    )
    .await
    .unwrap();
    // The registration is in the view before the next event is injected: the
    // relay publishes it asynchronously, and a record injected first would
    // overtake it in the partition.
    read_view(&mut net.view().await, &token, &pid, &registered, WITHIN)
        .await
        .unwrap();

    // A newer admissions version publishes a type this view does not know, as
    // the patient's second event.
    let headers = iop_messaging::cloudevents::OutboundAttributes {
        id: "future-type-1",
        source: "/iop/local/admissions",
        event_type: "iop.admissions.events.v1.SomethingNew",
        time: chrono::Utc::now(),
        subject: &pid,
        sequence: 2,
        traceparent: None,
    }
    .headers();
    producer(&net.bootstrap_servers())
        .send(
            FutureRecord::to("iop.admissions.v1")
                .key(&pid)
                .payload(b"\x0a\x01x")
                .headers(headers),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    let future_token = iop_runtime::consistency::ConsistencyToken {
        source: "admissions".into(),
        aggregate_id: pid.clone(),
        sequence: 2,
    };
    let v = read_view(
        &mut net.view().await,
        &token,
        &pid,
        &future_token.encode(&iop_runtime::consistency::TokenKey::from_settings(
            &net.settings.auth,
        )),
        WITHIN,
    )
    .await
    .unwrap();
    assert_eq!(
        v.status,
        CareStatus::Registered as i32,
        "unknown type changes nothing"
    );
    assert_eq!(v.timeline.len(), 1);
    net.stop().await;
}

/// An event as the consumer reads it from `topic`.
fn inbound<M: prost::Name>(
    topic: &str,
    patient_id: &str,
    sequence: i64,
    m: &M,
) -> iop_messaging::cloudevents::InboundEvent {
    iop_messaging::cloudevents::InboundEvent {
        id: uuid::Uuid::now_v7().to_string(),
        event_type: M::full_name(),
        source: "/iop/test".into(),
        time: chrono::Utc::now(),
        subject: Some(patient_id.into()),
        sequence: Some(sequence),
        traceparent: None,
        payload: m.encode_to_vec(),
        topic: topic.into(),
        partition: 0,
        offset: sequence,
    }
}

/// On PostgreSQL, two replicas apply one patient's transfer (admissions topic)
/// and attendance (scheduling topic) at the same moment, many times over: the
/// view always ends at the facility of the last transfer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attendance_applied_beside_a_transfer_never_undoes_it() {
    use iop_messaging::{consumer::EventHandler, work::Ledger};
    use iop_proto::{
        admissions::events::v1::{PatientAdmitted, PatientTransferred},
        common::v1::Date,
        scheduling::events::v1::AttendanceRecorded,
    };
    use sea_orm::ConnectionTrait as _;

    let dir = tempfile::tempdir().unwrap();
    let settings = iop_testkit::database(Backend::Postgres, dir.path(), "patient-view").await;
    let db = iop_runtime::db::Database::connect(&settings).await.unwrap();
    db.migrate::<iop_patient_view::migration::Migrator>()
        .await
        .unwrap();
    let key = iop_runtime::auth::generate_secret().into();
    let ledger = Ledger::new(
        db.clone(),
        iop_runtime::audit::AuditChain::new(&key).unwrap(),
    );
    let handler = std::sync::Arc::new(iop_patient_view::ViewHandler::new());
    let pid = uuid::Uuid::now_v7().to_string();
    let admitted = PatientAdmitted {
        patient_id: pid.clone(),
        episode_id: "e-1".into(),
        facility_id: "oakland".into(),
        program: Program::IopDay as i32,
        ..Default::default()
    };
    let mut work = ledger.system().await.unwrap();
    handler
        .apply(&mut work, &inbound("iop.admissions.v1", &pid, 1, &admitted))
        .await
        .unwrap();
    work.commit().await.unwrap();

    let facilities = ["fresno", "oakland"];
    for round in 0..20_i64 {
        let to = facilities[(round % 2) as usize];
        let transfer = PatientTransferred {
            patient_id: pid.clone(),
            episode_id: "e-1".into(),
            to_facility_id: to.into(),
            program: Program::IopDay as i32,
            ..Default::default()
        };
        let attended = AttendanceRecorded {
            patient_id: pid.clone(),
            session_id: format!("s-{round}"),
            facility_id: "oakland".into(),
            minutes: 60,
            clinical: true,
            week_start: Some(Date {
                year: 2026,
                month: 11,
                day: 23,
            }),
            ..Default::default()
        };
        let moves = inbound("iop.admissions.v1", &pid, round + 2, &transfer);
        let shows = inbound("iop.scheduling.v1", &pid, round + 1, &attended);
        let apply = |event: iop_messaging::cloudevents::InboundEvent| {
            let (ledger, handler) = (ledger.clone(), handler.clone());
            tokio::spawn(async move {
                let mut work = ledger.system().await.unwrap();
                handler.apply(&mut work, &event).await.unwrap();
                work.commit().await.unwrap();
            })
        };
        let (a, b) = (apply(moves), apply(shows));
        a.await.unwrap();
        b.await.unwrap();
        let row = db
            .conn()
            .query_one(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT facility_id FROM patient_views WHERE patient_id = $1",
                [pid.clone().into()],
            ))
            .await
            .unwrap()
            .unwrap();
        let at: Option<String> = row.try_get("", "facility_id").unwrap();
        assert_eq!(
            at.as_deref(),
            Some(to),
            "round {round}: the transfer was undone"
        );
    }
}
