//! Traces as a tracing backend receives them: the process exports over
//! OTLP/gRPC (the real exporter, batch processor and all) to an OTLP receiver
//! this test runs, and the spans follow the OpenTelemetry conventions, so
//! Jaeger or Tempo draw the service graph: the gRPC call is a SERVER span
//! (`rpc.*`, with its status code), the relay publishes under a PRODUCER
//! span that is its descendant, and every consumer applies the event in a
//! CONSUMER span whose parent is that PRODUCER span (`messaging.*`). No
//! span, attribute or span event carries the patient's data.
//! Telemetry is process-global: this is the only test of the binary that
//! installs it, and it looks only at spans of its own trace id.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
};

use iop_proto::{
    admissions::v1::RegisterPatientRequest,
    common::v1::{Date, PersonName, Sex},
    patientview::v1::GetPatientViewRequest,
};
use iop_runtime::auth::Role;
use iop_testkit::{Backend, TestNetwork, authed, until};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::{AnyValue, KeyValue, any_value::Value},
    trace::v1::{Span, span::SpanKind},
};

/// An OTLP/gRPC receiver keeping every export request.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Receiver {
    /// Every span received so far of trace `trace_id`.
    fn spans(&self, trace_id: &[u8]) -> Vec<Span> {
        let all = self.0.lock().unwrap();
        all.iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }

    /// The resource attributes of the first export.
    fn resource(&self) -> BTreeMap<String, String> {
        let all = self.0.lock().unwrap();
        all.iter()
            .flat_map(|r| &r.resource_spans)
            .filter_map(|r| r.resource.as_ref())
            .next()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default()
    }

    /// Every text received: span and event names, attribute keys and
    /// values (of spans, events, links and the resource), status messages.
    fn texts(&self) -> Vec<String> {
        let all = self.0.lock().unwrap();
        let mut out = Vec::new();
        let mut add = |list: &[KeyValue]| {
            for kv in list {
                out.push(kv.key.clone());
                out.push(text(kv.value.as_ref()));
            }
        };
        for resource in all.iter().flat_map(|r| &r.resource_spans) {
            if let Some(r) = &resource.resource {
                add(&r.attributes);
            }
            for span in resource.scope_spans.iter().flat_map(|s| &s.spans) {
                add(&span.attributes);
                for event in &span.events {
                    add(&event.attributes);
                }
                for link in &span.links {
                    add(&link.attributes);
                }
            }
        }
        for resource in all.iter().flat_map(|r| &r.resource_spans) {
            for span in resource.scope_spans.iter().flat_map(|s| &s.spans) {
                out.push(span.name.clone());
                out.extend(span.events.iter().map(|e| e.name.clone()));
                out.extend(span.status.iter().map(|s| s.message.clone()));
            }
        }
        out
    }
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attributes(list: &[KeyValue]) -> BTreeMap<String, String> {
    list.iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}

async fn start_receiver() -> (Receiver, std::net::SocketAddr) {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = TraceServiceServer::new(receiver.clone());
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(server)
            .serve_with_incoming(tokio_stream_of(listener))
            .await
            .unwrap();
    });
    (receiver, address)
}

fn tokio_stream_of(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

/// The consumer groups that apply admissions' events.
const ADMISSIONS_CONSUMERS: [&str; 5] = [
    "iop.patientview",
    "iop.scheduling",
    "iop.clinical",
    "iop.lab",
    "iop.billing",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_follow_the_conventions_from_call_through_relay_to_each_consumer() {
    let (receiver, address) = start_receiver().await;
    let mut settings = iop_testkit::settings();
    settings.telemetry.otlp_endpoint = format!("http://{address}");
    // Spans are exported at INFO whatever the log filter; the console stays quiet.
    settings.telemetry.log_filter = "warn".into();
    // Telemetry is process-wide: other tests' calls start traces of their
    // own. Sampling none of those (parent-based: this test's traceparent is
    // sampled) keeps them out of the export queue, where they could crowd
    // out this trace's spans, and costs the other tests nothing.
    settings.telemetry.sample_ratio = 0.0;
    let guard = iop_runtime::telemetry::init(&settings.telemetry, "iop-trace-test").unwrap();

    let net = TestNetwork::start(Backend::Sqlite).await;
    let token = net.token(&[Role::Intake], &["oakland"]);
    let trace_id = uuid::Uuid::new_v4().as_u128() | 1;
    let traced = |message: RegisterPatientRequest| {
        let mut request = authed(message, &token);
        request.metadata_mut().insert(
            "traceparent",
            format!("00-{trace_id:032x}-00f067aa0ba902b7-01")
                .parse()
                .unwrap(),
        );
        request
    };
    let registration = RegisterPatientRequest {
        legal_name: Some(PersonName {
            given: "Rosalind".into(),
            middle: "Quintana".into(),
            family: "Oyelaran".into(),
        }),
        date_of_birth: Some(Date {
            year: 1979,
            month: 1,
            day: 30,
        }),
        sex: Sex::Female as i32,
        phone: "+15105550147".into(),
        email: "rosalind.oyelaran@example.org".into(),
        ssn_last4: "4821".into(),
        facility_id: "oakland".into(),
        ..Default::default()
    };
    let registered = net
        .admissions()
        .await
        .register_patient(traced(registration.clone()))
        .await
        .unwrap()
        .into_inner();
    let patient_id = registered.patient.unwrap().patient_id;
    // A refused call: its SERVER span carries the code.
    let refused = net
        .admissions()
        .await
        .register_patient(traced(RegisterPatientRequest {
            date_of_birth: None,
            ..registration.clone()
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    net.view()
        .await
        .get_patient_view(authed(
            GetPatientViewRequest {
                patient_id: patient_id.clone(),
                consistency_token: registered.consistency_token,
            },
            &token,
        ))
        .await
        .unwrap();

    // Exported in batches: wait for a consumer span of every group.
    let trace = trace_id.to_be_bytes().to_vec();
    let consumers_seen = |spans: &[Span]| -> BTreeSet<String> {
        spans
            .iter()
            .filter(|s| s.kind == SpanKind::Consumer as i32)
            .filter_map(|s| attributes(&s.attributes).remove("messaging.consumer.group.name"))
            .collect()
    };
    until("a CONSUMER span from every group", || {
        let seen = consumers_seen(&receiver.spans(&trace));
        async move {
            ADMISSIONS_CONSUMERS
                .iter()
                .all(|g| seen.contains(*g))
                .then_some(())
        }
    })
    .await;
    net.stop().await;
    drop(guard);
    let spans = receiver.spans(&trace);

    // The SERVER spans: named service/method, attributed, with their codes.
    let servers: Vec<&Span> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server as i32)
        .filter(|s| s.name == "iop.admissions.v1.AdmissionsService/RegisterPatient")
        .collect();
    assert_eq!(servers.len(), 2, "{spans:#?}");
    let codes: BTreeSet<String> = servers
        .iter()
        .map(|s| {
            let a = attributes(&s.attributes);
            assert_eq!(a["rpc.system"], "grpc");
            assert_eq!(a["rpc.service"], "iop.admissions.v1.AdmissionsService");
            assert_eq!(a["rpc.method"], "RegisterPatient");
            a["rpc.grpc.status_code"].clone()
        })
        .collect();
    assert_eq!(codes, BTreeSet::from(["0".to_owned(), "3".to_owned()]));

    // The PRODUCER span of the registration's event descends from the
    // successful call's SERVER span.
    let by_id: BTreeMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let descends_from = |span: &Span, ancestor: &Span| {
        let mut at = span;
        loop {
            if at.parent_span_id == ancestor.span_id {
                return true;
            }
            match by_id.get(at.parent_span_id.as_slice()) {
                Some(parent) => at = parent,
                None => return false,
            }
        }
    };
    let producers: Vec<&Span> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Producer as i32)
        .filter(|s| {
            attributes(&s.attributes)
                .get("event.type")
                .is_some_and(|t| t.ends_with("PatientRegistered"))
        })
        .collect();
    assert_eq!(
        producers.len(),
        1,
        "one PRODUCER span per event: {spans:#?}"
    );
    let producer = producers[0];
    let ok_call = servers
        .iter()
        .find(|s| attributes(&s.attributes)["rpc.grpc.status_code"] == "0")
        .unwrap();
    assert!(
        descends_from(producer, ok_call),
        "PRODUCER not under the call"
    );
    assert_eq!(producer.name, "iop.admissions.v1 publish");
    let p = attributes(&producer.attributes);
    assert_eq!(p["messaging.system"], "kafka");
    assert_eq!(p["messaging.operation"], "publish");
    assert_eq!(p["messaging.destination.name"], "iop.admissions.v1");
    assert!(p.contains_key("messaging.kafka.offset"), "{p:?}");

    // One CONSUMER span per group applying it, each a child of the PRODUCER.
    for group in ADMISSIONS_CONSUMERS {
        let applied: Vec<&Span> = spans
            .iter()
            .filter(|s| s.kind == SpanKind::Consumer as i32)
            .filter(|s| {
                let a = attributes(&s.attributes);
                a.get("messaging.consumer.group.name").map(String::as_str) == Some(group)
                    && a.get("event.type")
                        .is_some_and(|t| t.ends_with("PatientRegistered"))
            })
            .collect();
        assert_eq!(applied.len(), 1, "{group}: {applied:#?}");
        let consumer = applied[0];
        assert_eq!(consumer.parent_span_id, producer.span_id, "{group}");
        assert_eq!(consumer.name, "iop.admissions.v1 process");
        let c = attributes(&consumer.attributes);
        assert_eq!(c["messaging.system"], "kafka", "{group}");
        assert_eq!(c["messaging.operation"], "process", "{group}");
        assert_eq!(c["messaging.destination.name"], "iop.admissions.v1");
        assert_eq!(c["messaging.kafka.offset"], p["messaging.kafka.offset"]);
        assert_eq!(
            c["messaging.destination.partition.id"],
            p["messaging.destination.partition.id"]
        );
    }

    let resource = receiver.resource();
    assert_eq!(resource["service.name"], "iop-trace-test");
    assert!(
        uuid::Uuid::parse_str(&resource["service.instance.id"]).is_ok(),
        "{resource:?}"
    );

    // Nothing the patient gave reaches the backend, in any form.
    let exported = receiver.texts();
    assert!(exported.len() > 100, "{exported:?}");
    for phi in [
        "Rosalind",
        "Quintana",
        "Oyelaran",
        "1979-01-30",
        "19790130",
        "5105550147",
        "example.org",
        "4821",
    ] {
        let found: Vec<&String> = exported.iter().filter(|t| t.contains(phi)).collect();
        assert!(found.is_empty(), "{phi} was exported: {found:?}");
    }
}
