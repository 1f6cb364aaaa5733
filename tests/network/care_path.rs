//! The care path through the public gRPC API, as a facility system drives it,
//! against the in-process network on the mock broker: once on SQLite, once on
//! PostgreSQL. Covers authentication, validation naming the field, access by
//! facility with its audit trail, idempotent retries, the episode rule, and
//! read-your-writes through consistency tokens.

use std::time::Duration;

use iop_proto::{
    admissions::v1::{AdmitPatientRequest, GetPatientRequest, PatientStatus},
    common::v1::{Date, Program},
    patientview::v1::{CareStatus, GetPatientViewRequest},
};
use iop_runtime::auth::Role;
use iop_testkit::{
    Backend, TestNetwork, admit, assess, audit_rows, authed, iop_assessment, read_view, register,
    registration,
};
use rstest::rstest;
use tonic::Code;

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn care_path(#[case] backend: Backend) {
    let net = TestNetwork::start(backend).await;
    let intake = net.token(&[Role::Intake], &["oakland"]);
    let mut admissions = net.admissions().await;
    let mut view = net.view().await;

    // No token, a forged token: UNAUTHENTICATED, and nothing registered.
    let err = admissions
        .register_patient(registration("Luis", "Ortega", "oakland"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = admissions
        .register_patient(authed(
            registration("Luis", "Ortega", "oakland"),
            "not.a.jwt",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // Malformed input names the field.
    let mut bad = registration("Luis", "", "oakland");
    let err = admissions
        .register_patient(authed(bad.clone(), &intake))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("legal_name.family"),
        "{}",
        err.message()
    );
    bad = registration("Luis", "Ortega", "oakland");
    bad.date_of_birth = Some(Date {
        year: 1988,
        month: 2,
        day: 31,
    });
    let err = admissions
        .register_patient(authed(bad, &intake))
        .await
        .unwrap_err();
    assert!(
        err.message().starts_with("date_of_birth"),
        "{}",
        err.message()
    );

    // A facility the caller does not act for.
    let err = admissions
        .register_patient(authed(registration("Luis", "Ortega", "fresno"), &intake))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Register, retrying with the same request id: one patient.
    let mut req = registration("Luis", "Ortega", "oakland");
    req.request_id = "desk-7-0001".into();
    let first = admissions
        .register_patient(authed(req.clone(), &intake))
        .await
        .unwrap()
        .into_inner();
    let again = admissions
        .register_patient(authed(req, &intake))
        .await
        .unwrap()
        .into_inner();
    let patient = first.patient.unwrap();
    assert_eq!(again.patient.unwrap().patient_id, patient.patient_id);
    assert_eq!(patient.status, PatientStatus::Registered as i32);
    assert!(
        patient.mrn.starts_with("IOP") && patient.mrn.len() == 13,
        "{}",
        patient.mrn
    );
    let pid = patient.patient_id.clone();

    // Read-your-writes: the registration token.
    let seen = view
        .get_patient_view(authed(
            GetPatientViewRequest {
                patient_id: pid.clone(),
                consistency_token: first.consistency_token,
            },
            &intake,
        ))
        .await
        .unwrap()
        .into_inner()
        .view
        .unwrap();
    assert_eq!(seen.status, CareStatus::Registered as i32);
    assert_eq!(seen.legal_name.unwrap().family, "Ortega");

    // Admission: bad program named; then admitted; a second admission refused.
    let admit = |program: Program| AdmitPatientRequest {
        patient_id: pid.clone(),
        facility_id: "oakland".into(),
        program: program as i32,
        ..Default::default()
    };
    let err = admissions
        .admit_patient(authed(admit(Program::Unspecified), &intake))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("program"), "{}", err.message());
    assess(&mut admissions, &intake, &pid, "oakland", iop_assessment())
        .await
        .unwrap();
    let admitted = admissions
        .admit_patient(authed(admit(Program::IopEvening), &intake))
        .await
        .unwrap()
        .into_inner();
    let err = admissions
        .admit_patient(authed(admit(Program::IopDay), &intake))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = admissions
        .admit_patient(authed(
            AdmitPatientRequest {
                patient_id: uuid::Uuid::new_v4().to_string(),
                ..admit(Program::IopDay)
            },
            &intake,
        ))
        .await
        .unwrap_err();
    // An id that names nobody reads like any refusal (no existence oracle).
    assert_eq!(err.code(), Code::PermissionDenied);

    let seen = view
        .get_patient_view(authed(
            GetPatientViewRequest {
                patient_id: pid.clone(),
                consistency_token: admitted.consistency_token.clone(),
            },
            &intake,
        ))
        .await
        .unwrap()
        .into_inner()
        .view
        .unwrap();
    assert_eq!(seen.status, CareStatus::Admitted as i32);
    let episode = seen.current_episode.unwrap();
    assert_eq!(episode.episode_id, admitted.episode.unwrap().episode_id);
    assert_eq!(episode.program, Program::IopEvening as i32);
    let types: Vec<_> = seen
        .timeline
        .iter()
        .map(|t| t.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "iop.admissions.events.v1.PatientRegistered",
            "iop.admissions.events.v1.PatientAdmitted"
        ],
        "each event applied exactly once, in order"
    );

    // GetPatient at admissions shows the active episode.
    let got = admissions
        .get_patient(authed(
            GetPatientRequest {
                patient_id: pid.clone(),
            },
            &intake,
        ))
        .await
        .unwrap()
        .into_inner()
        .patient
        .unwrap();
    assert_eq!(got.status, PatientStatus::Admitted as i32);
    assert_eq!(got.active_episode.unwrap().facility_id, "oakland");

    // A clinician from another facility: denied at both services, and audited.
    let outsider = net.token(&[Role::Clinician], &["fresno"]);
    let err = admissions
        .get_patient(authed(
            GetPatientRequest {
                patient_id: pid.clone(),
            },
            &outsider,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = view
        .get_patient_view(authed(
            GetPatientViewRequest {
                patient_id: pid.clone(),
                ..Default::default()
            },
            &outsider,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // A role that may not read patients at all.
    let auditor = net.token(&[Role::Auditor], &["oakland"]);
    let err = admissions
        .get_patient(authed(
            GetPatientRequest {
                patient_id: pid.clone(),
            },
            &auditor,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Audit: register, its idempotent repeat (a read of the stored result), the
    // screening, admit and get allowed at admissions, two denials (the other
    // facility's, the auditor's role); two allowed view reads, one denial.
    assert_eq!(
        audit_rows(net.database_url("admissions"), &pid, None, "allowed").await,
        5
    );
    assert_eq!(
        audit_rows(net.database_url("admissions"), &pid, None, "denied").await,
        2
    );
    assert_eq!(
        audit_rows(
            net.database_url("admissions"),
            &pid,
            Some("admissions.GetPatient"),
            "denied"
        )
        .await,
        2
    );
    assert_eq!(
        audit_rows(net.database_url("patient-view"), &pid, None, "allowed").await,
        2
    );
    assert_eq!(
        audit_rows(net.database_url("patient-view"), &pid, None, "denied").await,
        1
    );

    // Tokens: malformed, for another patient, or from the future.
    let req = |token: &str| GetPatientViewRequest {
        patient_id: pid.clone(),
        consistency_token: token.into(),
    };
    let err = view
        .get_patient_view(authed(req("garbage!"), &intake))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("consistency_token"),
        "{}",
        err.message()
    );
    let key = iop_runtime::consistency::TokenKey::from_settings(&net.settings.auth);
    let other = iop_runtime::consistency::ConsistencyToken {
        source: "admissions".into(),
        aggregate_id: uuid::Uuid::new_v4().to_string(),
        sequence: 1,
    };
    let err = view
        .get_patient_view(authed(req(&other.encode(&key)), &intake))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let future = iop_runtime::consistency::ConsistencyToken {
        source: "admissions".into(),
        aggregate_id: pid.clone(),
        sequence: 99,
    };
    let mut call = authed(req(&future.encode(&key)), &intake);
    call.set_timeout(Duration::from_millis(800));
    let started = std::time::Instant::now();
    let err = view.get_patient_view(call).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // A token not signed by this network (here: under another key) is refused
    // at once, without waiting: nobody can make the view wait to probe.
    let elsewhere =
        iop_runtime::consistency::TokenKey::from_settings(&iop_runtime::settings::AuthSettings {
            hs256_secret: iop_runtime::auth::generate_secret().into(),
            ..net.settings.auth.clone()
        });
    let started = std::time::Instant::now();
    let err = view
        .get_patient_view(authed(req(&future.encode(&elsewhere)), &intake))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(started.elapsed() < Duration::from_millis(800));

    net.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations(#[case] backend: Backend) {
    let net = TestNetwork::start(backend).await;
    let token = net.token(&[Role::Intake], &["*"]);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let mut client = net.admissions().await;
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let family = format!("Concurrent{}", "x".repeat(i % 5 + 1));
            let (pid, _) =
                register(&mut client, &token, registration("Pat", &family, "oakland")).await?;
            let admitted = admit(&mut client, &token, &pid, "oakland", Program::IopDay).await?;
            Ok::<_, tonic::Status>((pid, admitted))
        }));
    }
    let mut view = net.view().await;
    for t in tasks {
        let (pid, admitted) = t
            .await
            .unwrap()
            .expect("no command fails under concurrency");
        let v = read_view(&mut view, &token, &pid, &admitted, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(v.timeline.len(), 2);
        assert_eq!(v.status, CareStatus::Admitted as i32);
    }
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection() {
    use tonic_reflection::pb::{v1, v1alpha};
    let net = TestNetwork::start(Backend::Sqlite).await;
    for service in [
        "",
        "iop.admissions.v1.AdmissionsService",
        "iop.patientview.v1.PatientViewService",
    ] {
        let mut health = tonic_health::pb::health_client::HealthClient::new(net.channel().await);
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service:?}"
        );
    }

    let mut client = v1::server_reflection_client::ServerReflectionClient::new(net.channel().await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.message().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("no service list");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "iop.admissions.v1.AdmissionsService",
        "iop.patientview.v1.PatientViewService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }

    // grpcurl 1.8 speaks only v1alpha.
    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(net.channel().await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    assert!(stream.message().await.unwrap().is_some());
    net.stop().await;
}
