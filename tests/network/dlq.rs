//! Dead letters as an operator handles them: `iop dlq list` shows why and
//! from where, with the event decoded; `iop dlq redrive` puts it back on its
//! topic, the consumer that set it aside applies it, every other one skips
//! it if it had it, and a second redrive puts nothing back.

use std::{process::Command, time::Duration};

use iop_messaging::cloudevents::{OutboundAttributes, header};
use iop_proto::{
    admissions::events::v1::PatientRegistered,
    common::v1::{Date, PersonName, Sex},
};
use iop_runtime::auth::Role;
use iop_testkit::{Backend, TestNetwork, read_view, until};
use prost::Message as _;
use rdkafka::{
    ClientConfig,
    message::Header,
    producer::{FutureProducer, FutureRecord},
};

/// The deadline of a read without a consistency token.
const READ: Duration = Duration::from_secs(5);

fn iop(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iop"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_listed_and_redriven_once() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let bootstrap = net.bootstrap_servers();
    let token = net.token(&[Role::Intake], &["oakland"]);

    // What the view set aside (say, its database was full for longer than
    // its retries): a registration, as the consumer writes a dead letter.
    let patient_id = uuid::Uuid::now_v7().to_string();
    let event_id = uuid::Uuid::now_v7().to_string();
    let event = PatientRegistered {
        patient_id: patient_id.clone(),
        mrn: "IOP-DLQ-0001".into(),
        legal_name: Some(PersonName {
            given: "Noor".into(),
            middle: String::new(),
            family: "Haddad".into(),
        }),
        date_of_birth: Some(Date {
            year: 1991,
            month: 2,
            day: 14,
        }),
        sex: Sex::Female as i32,
        facility_id: "oakland".into(),
        ..Default::default()
    };
    let reason = "database unavailable after 5 attempts";
    // The CloudEvents headers admissions' relay gives the registration.
    let attributes = || {
        OutboundAttributes {
            id: &event_id,
            source: "/iop/local/admissions",
            event_type: "iop.admissions.events.v1.PatientRegistered",
            time: chrono::Utc::now(),
            subject: &patient_id,
            sequence: 1,
            traceparent: None,
        }
        .headers()
    };
    let headers = attributes()
        .insert(Header {
            key: header::DLQ_REASON,
            value: Some(reason),
        })
        .insert(Header {
            key: header::DLQ_CONSUMER,
            value: Some("iop.patientview"),
        })
        .insert(Header {
            key: header::DLQ_ORIGIN,
            value: Some("iop.admissions.v1/0/41"),
        });
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::to("iop.patientview.dlq")
                .key(&patient_id)
                .payload(&event.encode_to_vec())
                .headers(headers),
            Duration::from_secs(5),
        )
        .await
        .unwrap();

    let dlq = ["--topic", "iop.patientview.dlq", "--bootstrap", &bootstrap];
    let (ok, listed, err) = iop(&[&["dlq", "list"][..], &dlq].concat());
    assert!(ok, "{err}");
    let lines: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{listed}");
    let letter = &lines[0];
    assert_eq!(letter["reason"], reason);
    assert_eq!(letter["consumer"], "iop.patientview");
    assert_eq!(letter["origin"], "iop.admissions.v1/0/41");
    assert_eq!(letter["redriven"], false);
    assert_eq!(letter["id"], event_id.as_str());
    assert_eq!(letter["data"]["legalName"]["family"], "Haddad");

    // Not in the view until redriven.
    let mut view = net.view().await;
    let absent = read_view(&mut view, &token, &patient_id, "", READ)
        .await
        .unwrap_err();
    assert_eq!(absent.code(), tonic::Code::PermissionDenied, "{absent:?}");
    let (ok, said, err) = iop(&[&["dlq", "redrive"][..], &dlq].concat());
    assert!(ok, "{err}");
    assert_eq!(
        said.trim(),
        "1 dead letters of iop.patientview.dlq redriven"
    );
    let shown = until("the redriven registration in the view", || {
        let (mut view, token, patient_id) = (view.clone(), token.clone(), patient_id.clone());
        async move {
            read_view(&mut view, &token, &patient_id, "", READ)
                .await
                .ok()
        }
    })
    .await;
    assert_eq!(shown.timeline.len(), 1, "{:?}", shown.timeline);

    // Listed as redriven; a second redrive puts nothing back.
    let (_, listed, _) = iop(&[&["dlq", "list"][..], &dlq].concat());
    let again: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(again["redriven"], true);
    let (ok, said, err) = iop(&[&["dlq", "redrive"][..], &dlq].concat());
    assert!(ok, "{err}");
    assert_eq!(
        said.trim(),
        "0 dead letters of iop.patientview.dlq redriven"
    );

    // The same event delivered again (a redrive of a copy) changes nothing.
    let copy = attributes();
    producer
        .send(
            FutureRecord::to("iop.admissions.v1")
                .key(&patient_id)
                .payload(&event.encode_to_vec())
                .headers(copy),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    let later = iop_testkit::register(
        &mut net.admissions().await,
        &token,
        iop_testkit::registration("Omar", "Haddad", "oakland"),
    )
    .await
    .unwrap();
    // Once a later write is visible, the copy (before it in no order, but
    // given time) has been seen; the view still has one entry.
    read_view(
        &mut view,
        &token,
        &later.0,
        &later.1,
        Duration::from_secs(15),
    )
    .await
    .unwrap();
    let after = read_view(&mut view, &token, &patient_id, "", READ)
        .await
        .unwrap();
    assert_eq!(after.timeline, shown.timeline);
    net.stop().await;
}
