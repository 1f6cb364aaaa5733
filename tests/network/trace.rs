//! One trace spans command → outbox → Kafka → consumer: the caller's trace
//! context enters through gRPC metadata, rides the outbox row and the Kafka
//! `traceparent` header, and the consumer span that applies the event joins it.
//! Telemetry is process-global: this is the only test of the binary that
//! installs it, and it looks only at spans of its own trace id.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use iop_proto::{
    admissions::v1::RegisterPatientRequest,
    common::v1::{Date, PersonName, Sex},
    patientview::v1::GetPatientViewRequest,
};
use iop_runtime::auth::Role;
use iop_testkit::{Backend, TestNetwork, authed};
use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
};

#[derive(Debug, Clone, Default)]
struct Collected(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Collected {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        self.0.lock().unwrap().extend(batch);
        async { Ok(()) }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_call_and_consumer_share_one_trace() {
    let spans = Collected::default();
    let settings = iop_testkit::settings();
    let _guard = iop_runtime::telemetry::init_with_exporter(
        &settings.telemetry,
        "trace-test",
        spans.clone(),
    )
    .unwrap();

    let net = TestNetwork::start(Backend::Sqlite).await;
    let token = net.token(&[Role::Intake], &["oakland"]);
    let trace_id = format!("{:032x}", rand_u128());
    let mut request = authed(
        RegisterPatientRequest {
            legal_name: Some(PersonName {
                given: "Rosa".into(),
                middle: String::new(),
                family: "Diaz".into(),
            }),
            date_of_birth: Some(Date {
                year: 1979,
                month: 1,
                day: 30,
            }),
            sex: Sex::Female as i32,
            facility_id: "oakland".into(),
            ..Default::default()
        },
        &token,
    );
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01")
            .parse()
            .unwrap(),
    );
    let registered = net
        .admissions()
        .await
        .register_patient(request)
        .await
        .unwrap()
        .into_inner();
    let patient_id = registered.patient.unwrap().patient_id;
    net.view()
        .await
        .get_patient_view(authed(
            GetPatientViewRequest {
                patient_id,
                consistency_token: registered.consistency_token,
            },
            &token,
        ))
        .await
        .unwrap();

    // Spans are exported when they end; the consumer's may end just after the read.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (call, apply) = loop {
        let found = {
            let all = spans.0.lock().unwrap();
            let call = all
                .iter()
                .find(|s| s.name == "/iop.admissions.v1.AdmissionsService/RegisterPatient")
                .map(|s| s.span_context.trace_id().to_string());
            let apply = all
                .iter()
                .find(|s| s.name == "apply iop.admissions.events.v1.PatientRegistered")
                .map(|s| s.span_context.trace_id().to_string());
            (call, apply)
        };
        if let (Some(c), Some(a)) = &found {
            break (c.clone(), a.clone());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "spans not exported: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(call, trace_id, "the gRPC span continues the caller's trace");
    assert_eq!(
        apply, trace_id,
        "the consumer span that applied the event is in the same trace"
    );
    net.stop().await;
}

fn rand_u128() -> u128 {
    // Any non-zero id; uuid's randomness is at hand.
    uuid::Uuid::new_v4().as_u128() | 1
}
