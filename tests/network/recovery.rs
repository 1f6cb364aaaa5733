//! Consumers that never silently stop, with a real Kafka-protocol broker (tansu)
//! and separate `iop serve` processes, as an operator would run them:
//!
//! 1. a patient view that loses its partitions without leaving the group (the
//!    fault hook) is noticed: a WARN naming the consumer and its lag, NOT_SERVING,
//!    then it heals itself (leaves the group, joins again) and serves again, with
//!    the heal counted in `ListConsumers`;
//! 2. the patient view and scheduling, SIGKILLed while writes continue and
//!    restarted after 1 s, 15 s and 60 s, each apply every accepted write within
//!    the stated bound, once: each patient's view shows its two events once, and
//!    scheduling published exactly one `PatientEnrolled` per admitted patient.
//!
//! The consumers run with static membership (`consumer.instance_id`, as the
//! manifests set it from the pod name), the mechanism that lets a member
//! restarted after a crash take its partitions back at once; the stall watch is
//! what heals every other case.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use iop_proto::{
    admissions::v1::admissions_service_client::AdmissionsServiceClient,
    common::v1::Program,
    ops::v1::{
        ConsumerState, ListConsumersRequest, operations_service_client::OperationsServiceClient,
    },
    patientview::v1::patient_view_service_client::PatientViewServiceClient,
    scheduling::v1::{GetEnrollmentRequest, scheduling_service_client::SchedulingServiceClient},
};
use iop_runtime::auth::Role;
use iop_testkit::{
    admit, authed, channel, header, read_topic, read_view, record_count, register, registration,
    until, wait_serving,
};
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::support::{Proc, free_port, socket, start_service, start_tansu};

const FACILITY: &str = "san-diego";
const VIEW: &str = "iop.patientview.v1.PatientViewService";
const SCHEDULING: &str = "iop.scheduling.v1.SchedulingService";
/// The bound this test holds recovery to: the stall watch (15 s here) plus
/// Kafka's session timeout (10 s here, after which a member that stopped
/// heartbeating is expired) plus a heal and a rebalance (under 10 s each with
/// tansu), twice over for a second heal, with margin. With static membership
/// a restart is back in seconds.
const BOUND: Duration = Duration::from_secs(90);

/// One `iop serve` process and how to start it again.
struct Service {
    name: &'static str,
    address: String,
    env: Vec<(String, String)>,
    proc: Option<Proc>,
}

impl Service {
    fn start(&mut self, logs: &std::path::Path, extra: &[(&str, &str)]) {
        let mut env = self.env.clone();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.proc = Some(start_service(self.name, &env, logs));
    }

    fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }
}

async fn status(address: &str, service: &str) -> Option<i32> {
    let mut client = HealthClient::new(channel(socket(address)).await);
    client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .ok()
        .map(|r| r.into_inner().status)
}

/// Admits patient `n`; returns its id and the admission's consistency token.
async fn admitted(
    admissions: &mut AdmissionsServiceClient<Channel>,
    token: &str,
    n: usize,
) -> Option<(String, String)> {
    // Names have no digits: spell the number in letters.
    let family: String = n
        .to_string()
        .bytes()
        .map(|b| char::from(b'a' + (b - b'0')))
        .collect();
    let (pid, _) = register(
        admissions,
        token,
        registration("Kai", &format!("R{family}"), FACILITY),
    )
    .await
    .ok()?;
    let consistency = admit(admissions, token, &pid, FACILITY, Program::IopEvening)
        .await
        .ok()?;
    Some((pid, consistency))
}

/// Waits until the view shows `pid`'s admission, within `within`.
async fn visible(address: &str, token: &str, pid: &str, consistency: &str, within: Duration) {
    let mut view = PatientViewServiceClient::new(channel(socket(address)).await);
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let attempt = read_view(
            &mut view,
            token,
            pid,
            consistency,
            left.min(Duration::from_secs(10)),
        );
        match attempt.await {
            Ok(v) => {
                let ids: std::collections::BTreeSet<_> =
                    v.timeline.iter().map(|t| t.event_id.clone()).collect();
                assert_eq!(v.timeline.len(), 2, "{pid}: {:?}", v.timeline);
                assert_eq!(ids.len(), 2, "{pid}: an event applied twice");
                return;
            }
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "{pid} not visible within {within:?}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Waits until scheduling has enrolled `pid`, within `within`.
async fn enrolled(address: &str, token: &str, pid: &str, within: Duration) {
    let mut scheduling = SchedulingServiceClient::new(channel(socket(address)).await);
    let deadline = Instant::now() + within;
    loop {
        let request = authed(
            GetEnrollmentRequest {
                patient_id: pid.into(),
            },
            token,
        );
        match scheduling.get_enrollment(request).await {
            Ok(r) => {
                assert!(r.into_inner().enrollment.is_some_and(|e| e.active), "{pid}");
                return;
            }
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "{pid} not enrolled within {within:?}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_notice_stalls_heal_and_recover_whatever_the_restart_delay() {
    let dir = crate::support::Workdir::new();
    let logs = dir.path();
    let (broker, bootstrap) = start_tansu(logs);
    let common = crate::support::common_env(
        &bootstrap,
        &[
            ("IOP__KAFKA__SESSION_TIMEOUT_MS", "10000"),
            ("IOP__CONSUMER__STALL_AFTER_MS", "15000"),
            ("IOP__CONSUMER__WATCH_INTERVAL_MS", "1000"),
            (
                "IOP__TELEMETRY__LOG_FILTER",
                "info,iop_messaging::consumer=debug",
            ),
        ],
    );
    let secret = crate::support::env_value(&common, "IOP__AUTH__HS256_SECRET").to_owned();
    let service = |name: &'static str, instance: &str| {
        let address = format!("127.0.0.1:{}", free_port());
        let mut env = common.clone();
        env.push(("IOP__GRPC__LISTEN".into(), address.clone()));
        env.push((
            "IOP__DATABASE__URL".into(),
            format!("sqlite://{}/{name}.db", logs.display()),
        ));
        if !instance.is_empty() {
            env.push(("IOP__CONSUMER__INSTANCE_ID".into(), instance.into()));
        }
        Service {
            name,
            address,
            env,
            proc: None,
        }
    };
    let mut admissions_svc = service("admissions", "");
    let mut view = service("patient-view", "patient-view-0");
    let mut scheduling = service("scheduling", "scheduling-0");
    admissions_svc.start(logs, &[]);
    // The fault hook: 4 s after joining, the view gives up its partitions
    // without leaving the group, as a member the broker stopped assigning.
    view.start(logs, &[("IOP__CONSUMER__DROP_ASSIGNMENT_AFTER_MS", "4000")]);
    scheduling.start(logs, &[]);
    for (address, name) in [
        (
            &admissions_svc.address,
            "iop.admissions.v1.AdmissionsService",
        ),
        (&view.address, VIEW),
        (&scheduling.address, SCHEDULING),
    ] {
        wait_serving(socket(address), name, Duration::from_secs(60)).await;
    }
    let mut settings = iop_testkit::settings();
    settings.auth.hs256_secret = secret.clone().into();
    let token = iop_testkit::token(&settings, &[Role::Intake], &[FACILITY]);
    let admin = iop_testkit::token(&settings, &[Role::Admin], &["*"]);
    iop_testkit::seed(channel(socket(&admissions_svc.address)).await, &admin).await;
    let mut admissions =
        AdmissionsServiceClient::new(channel(socket(&admissions_svc.address)).await);

    // 1. The stalled view: WARN, NOT_SERVING, healed, SERVING, counted.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let first = admitted(&mut admissions, &token, 0).await.unwrap();
    until("the stalled view to report NOT_SERVING", || async {
        (status(&view.address, VIEW).await == Some(2)).then_some(())
    })
    .await;
    let log = std::fs::read_to_string(logs.join("patient-view.log")).unwrap();
    let warned = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("consumer stalled"))
        .expect("a WARN for the stall");
    assert!(
        warned.contains("consumer=iop.patientview") && warned.contains("lag="),
        "{warned}"
    );
    visible(&view.address, &token, &first.0, &first.1, BOUND).await;
    until("the healed view to report SERVING", || async {
        (status(&view.address, VIEW).await == Some(1)).then_some(())
    })
    .await;
    let mut ops = OperationsServiceClient::new(channel(socket(&view.address)).await);
    let board = ops
        .list_consumers(authed(ListConsumersRequest {}, &admin))
        .await
        .unwrap()
        .into_inner();
    let consumer = &board.consumers[0];
    assert_eq!(consumer.group, "iop.patientview");
    assert!(consumer.heals >= 1, "{consumer:?}");
    assert_eq!(
        consumer.state,
        ConsumerState::Consuming as i32,
        "{consumer:?}"
    );
    assert_eq!(consumer.services, [VIEW]);
    let denied = ops
        .list_consumers(authed(ListConsumersRequest {}, &token))
        .await;
    assert_eq!(denied.unwrap_err().code(), tonic::Code::PermissionDenied);

    // 2. SIGKILL both consumers while writes continue; restart after 1, 15, 60 s.
    let accepted = Arc::new(Mutex::new(vec![first.clone()]));
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (accepted, writing, token) = (accepted.clone(), writing.clone(), token.clone());
        let mut client = admissions.clone();
        tokio::spawn(async move {
            let mut n = 1;
            while writing.load(std::sync::atomic::Ordering::SeqCst) {
                if let Some(done) = admitted(&mut client, &token, n).await {
                    accepted.lock().unwrap().push(done);
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        })
    };
    for delay in [1, 15, 60] {
        view.kill();
        scheduling.kill();
        tokio::time::sleep(Duration::from_secs(delay)).await;
        view.start(logs, &[]);
        scheduling.start(logs, &[]);
        let restarted = Instant::now();
        let probe = admitted(&mut admissions, &token, 10_000 + delay as usize)
            .await
            .unwrap();
        accepted.lock().unwrap().push(probe.clone());
        visible(&view.address, &token, &probe.0, &probe.1, BOUND).await;
        enrolled(&scheduling.address, &token, &probe.0, BOUND).await;
        eprintln!(
            "restart after {delay} s: a write made at restart was visible and enrolled after {:?}",
            restarted.elapsed()
        );
    }
    writing.store(false, std::sync::atomic::Ordering::SeqCst);
    writer.await.unwrap();

    // Every accepted write: in the view once (two events, two ids), enrolled once.
    let accepted = accepted.lock().unwrap().clone();
    assert!(
        accepted.len() > 20,
        "the writer kept writing: {}",
        accepted.len()
    );
    for (pid, consistency) in &accepted {
        visible(&view.address, &token, pid, consistency, BOUND).await;
        enrolled(&scheduling.address, &token, pid, BOUND).await;
    }
    // Scheduling's relay publishes each enrolment shortly after it commits:
    // read the topic until every accepted patient's enrolment is on it. A
    // relay retry may publish an event twice; consumers drop the repeat by its
    // id, so exactly once means one event id per patient.
    let deadline = Instant::now() + BOUND;
    let enrolments = loop {
        let total = record_count(&bootstrap, "iop.scheduling.v1", 3);
        let records = read_topic(&bootstrap, "iop.scheduling.v1", total).await;
        let mut ids =
            std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
        for r in &records {
            if header(r, "ce_type") == Some("iop.scheduling.events.v1.PatientEnrolled")
                && let (Some(pid), Some(id)) = (header(r, "ce_subject"), header(r, "ce_id"))
            {
                ids.entry(pid.to_owned()).or_default().insert(id.to_owned());
            }
        }
        let missing: Vec<_> = accepted
            .iter()
            .filter(|(pid, _)| !ids.contains_key(pid))
            .map(|(pid, _)| pid)
            .collect();
        if missing.is_empty() {
            break ids;
        }
        assert!(
            Instant::now() < deadline,
            "enrolments of {missing:?} never published within {BOUND:?} ({} records read)",
            records.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for (pid, _) in &accepted {
        let published = enrolments[pid].len();
        assert_eq!(
            published, 1,
            "{pid}: PatientEnrolled published {published} times"
        );
    }
    view.kill();
    scheduling.kill();
    admissions_svc.kill();
    drop(broker);
}
