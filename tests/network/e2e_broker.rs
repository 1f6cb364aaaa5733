//! End to end with a real Kafka-protocol broker (tansu, in memory) and three
//! separate `iop serve` processes, admissions, the patient view and scheduling,
//! as pods would run. Proves: a write at one is read at the other; the view
//! killed with SIGKILL and restarted loses and repeats nothing; writes keep being
//! accepted while the broker is frozen and all arrive once it thaws; a garbage
//! record on the topic is dead-lettered and the events behind it are applied;
//! scheduling enrolled every admitted patient from the events alone.

use std::time::Duration;

use crate::support::{free_port, socket, start_service, start_tansu};
use iop_proto::{
    admissions::v1::admissions_service_client::AdmissionsServiceClient,
    common::v1::Program,
    patientview::v1::{CareStatus, patient_view_service_client::PatientViewServiceClient},
    scheduling::v1::{GetEnrollmentRequest, scheduling_service_client::SchedulingServiceClient},
};
use iop_runtime::auth::Role;
use iop_testkit::{admit, authed, channel, read_view, register, registration, wait_serving};
use rdkafka::{
    ClientConfig, Message,
    consumer::{Consumer, StreamConsumer},
    message::Headers,
    producer::{FutureProducer, FutureRecord},
};
use tonic::transport::Channel;

const FACILITY: &str = "la-downtown";

fn env(common: &[(String, String)], listen: &str, db: &str) -> Vec<(String, String)> {
    let mut e = common.to_vec();
    e.push(("IOP__GRPC__LISTEN".into(), listen.into()));
    e.push(("IOP__DATABASE__URL".into(), db.into()));
    e
}

async fn register_and_admit(
    admissions: &mut AdmissionsServiceClient<Channel>,
    token: &str,
    n: usize,
) -> (String, String) {
    let family = format!("Example{}", "x".repeat(n % 7 + 1));
    let (pid, _) = register(admissions, token, registration("Sam", &family, FACILITY))
        .await
        .expect("registration accepted");
    let consistency = admit(admissions, token, &pid, FACILITY, Program::IopDay)
        .await
        .expect("admission accepted");
    (pid, consistency)
}

/// Reads the view with the token, waiting up to `within`; asserts exactly two
/// events were applied (registered, admitted), once each.
async fn assert_view(
    view: &mut PatientViewServiceClient<Channel>,
    token: &str,
    pid: &str,
    consistency: &str,
    within: Duration,
) {
    let v = read_view(view, token, pid, consistency, within)
        .await
        .unwrap_or_else(|e| panic!("view of {pid}: {e:?}"));
    assert_eq!(v.status, CareStatus::Admitted as i32, "{pid}");
    let ids: std::collections::HashSet<_> = v.timeline.iter().map(|t| t.event_id.clone()).collect();
    assert_eq!(v.timeline.len(), 2, "{pid}: {:?}", v.timeline);
    assert_eq!(ids.len(), 2, "{pid}: an event applied twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_processes_and_a_real_broker() {
    let dir = crate::support::Workdir::new();
    let logs = dir.path();
    let (broker, bootstrap) = start_tansu(logs);
    let common = crate::support::common_env(
        &bootstrap,
        &[
            ("IOP__TELEMETRY__LOG_FILTER", "info"),
            ("IOP__PATIENT_VIEW__READ_YOUR_WRITES_TIMEOUT_MS", "120000"),
            ("IOP__GRPC__REQUEST_TIMEOUT_MS", "120000"),
        ],
    );
    let secret = crate::support::env_value(&common, "IOP__AUTH__HS256_SECRET").to_owned();
    let admissions_addr = format!("127.0.0.1:{}", free_port());
    let view_addr = format!("127.0.0.1:{}", free_port());
    let adm_env = env(
        &common,
        &admissions_addr,
        &format!("sqlite://{}/admissions.db", dir.path().display()),
    );
    let view_env = env(
        &common,
        &view_addr,
        &format!("sqlite://{}/view.db", dir.path().display()),
    );
    let sched_addr = format!("127.0.0.1:{}", free_port());
    let sched_env = env(
        &common,
        &sched_addr,
        &format!("sqlite://{}/scheduling.db", dir.path().display()),
    );
    let _admissions_proc = start_service("admissions", &adm_env, logs);
    let _scheduling_proc = start_service("scheduling", &sched_env, logs);
    let mut view_proc = start_service("patient-view", &view_env, logs);
    wait_serving(
        socket(&admissions_addr),
        "iop.admissions.v1.AdmissionsService",
        Duration::from_secs(60),
    )
    .await;
    wait_serving(
        socket(&view_addr),
        "iop.patientview.v1.PatientViewService",
        Duration::from_secs(60),
    )
    .await;
    wait_serving(
        socket(&sched_addr),
        "iop.scheduling.v1.SchedulingService",
        Duration::from_secs(60),
    )
    .await;

    let mut settings = iop_testkit::settings();
    settings.auth.hs256_secret = secret.clone().into();
    let token = iop_testkit::token(&settings, &[Role::Intake], &[FACILITY]);
    let mut admissions = AdmissionsServiceClient::new(channel(socket(&admissions_addr)).await);
    let view_channel =
        || async { PatientViewServiceClient::new(channel(socket(&view_addr)).await) };
    let mut view = view_channel().await;
    let admin = iop_testkit::token(&settings, &[Role::Admin], &["*"]);
    iop_testkit::seed(channel(socket(&admissions_addr)).await, &admin).await;

    // 1. A write at admissions is read at the view.
    let first = register_and_admit(&mut admissions, &token, 0).await;
    assert_view(
        &mut view,
        &token,
        &first.0,
        &first.1,
        Duration::from_secs(20),
    )
    .await;

    // 2. SIGKILL the view right after it applied (offsets likely not yet
    //    committed, so the broker redelivers), keep writing, restart it.
    view_proc.kill();
    let mut while_down = Vec::new();
    for n in 1..=10 {
        while_down.push(register_and_admit(&mut admissions, &token, n).await);
    }
    let _view_proc = start_service("patient-view", &view_env, logs);
    wait_serving(
        socket(&view_addr),
        "iop.patientview.v1.PatientViewService",
        Duration::from_secs(60),
    )
    .await;
    let mut view = view_channel().await;
    // The first patient was applied before the kill: still there, once.
    assert_view(
        &mut view,
        &token,
        &first.0,
        &first.1,
        Duration::from_secs(30),
    )
    .await;
    // tansu 0.6 evicts a member that died without leaving only once its session
    // timeout (45 s, Kafka's default) has passed and another member's request
    // triggers the check. Until then the restarted view gets no partitions, so
    // the first read waits for that.
    let (pid, consistency) = &while_down[0];
    assert_view(
        &mut view,
        &token,
        pid,
        consistency,
        Duration::from_secs(110),
    )
    .await;
    for (pid, consistency) in &while_down {
        assert_view(&mut view, &token, pid, consistency, Duration::from_secs(30)).await;
    }

    // 3. Freeze the broker; every write is still accepted; all arrive after.
    broker.signal("STOP");
    let mut while_frozen = Vec::new();
    for n in 11..=20 {
        while_frozen.push(register_and_admit(&mut admissions, &token, n).await);
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    broker.signal("CONT");
    for (pid, consistency) in &while_frozen {
        assert_view(&mut view, &token, pid, consistency, Duration::from_secs(60)).await;
    }

    // 4. Garbage on the topic, keyed like a patient: dead-lettered; later events applied.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let garbage_key = while_frozen[0].0.clone();
    producer
        .send(
            FutureRecord::to("iop.admissions.v1")
                .key(&garbage_key)
                .payload(b"\x08\x96\x01garbage"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let mut behind = Vec::new();
    for n in 21..=25 {
        behind.push(register_and_admit(&mut admissions, &token, n).await);
    }
    for (pid, consistency) in &behind {
        assert_view(&mut view, &token, pid, consistency, Duration::from_secs(30)).await;
    }
    let dlq: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "e2e-dlq-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    dlq.subscribe(&["iop.patientview.dlq"]).unwrap();
    let dead = tokio::time::timeout(Duration::from_secs(30), dlq.recv())
        .await
        .expect("a dead letter")
        .unwrap()
        .detach();
    assert_eq!(dead.payload(), Some(&b"\x08\x96\x01garbage"[..]));
    assert_eq!(dead.key(), Some(garbage_key.as_bytes()));
    let reason = dead
        .headers()
        .unwrap()
        .iter()
        .find(|h| h.key == "iop_dlq_reason")
        .and_then(|h| h.value)
        .unwrap();
    assert!(String::from_utf8_lossy(reason).contains("malformed event"));

    // 5. Scheduling enrolled every admitted patient from the events alone.
    let mut scheduling = SchedulingServiceClient::new(channel(socket(&sched_addr)).await);
    let admitted_ids = std::iter::once(&first)
        .chain(&while_down)
        .chain(&while_frozen)
        .chain(&behind)
        .map(|(pid, _)| pid.clone());
    for pid in admitted_ids {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let request = authed(
                GetEnrollmentRequest {
                    patient_id: pid.clone(),
                },
                &token,
            );
            match scheduling.get_enrollment(request).await {
                Ok(r) => {
                    let e = r.into_inner().enrollment.unwrap();
                    assert!(e.active && e.facility_id == FACILITY, "{pid}: {e:?}");
                    break;
                }
                Err(s) if s.code() == tonic::Code::NotFound => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "{pid} never enrolled"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(s) => panic!("{pid}: {s:?}"),
            }
        }
    }
    // The reader leaves its group while the broker is still there: librdkafka's
    // consumer close waits for the coordinator, and would wait forever after it.
    drop(dead);
    drop(dlq);
    drop(broker);
}
