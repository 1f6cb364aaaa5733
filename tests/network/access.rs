//! The access rule as an attacker at another facility meets it, on SQLite and
//! PostgreSQL: the cross-facility takeover (assess, then admit, a patient
//! known only elsewhere) is refused with the same audited PERMISSION_DENIED as
//! a patient id that names nobody; the explicit, audited, published link is
//! the way in; another facility's assessment does not replace the placement
//! the first facility relies on; a consent lets its recipient read, never
//! write; and an episode is moved or closed only by its own facility.

use std::time::Duration;

use iop_proto::{
    admissions::v1::{
        DischargePatientRequest, GetPatientRequest, LinkPatientToFacilityRequest,
        RecordConsentRequest, RevokeConsentRequest,
    },
    common::v1::{DischargeReason, LinkReason, Program},
};
use iop_runtime::auth::Role;
use iop_testkit::{
    Backend, TestNetwork, all_records, assess, audit_rows, authed, consent_to, header,
    iop_assessment, php_assessment, read_view, register, registration,
};
use rstest::rstest;
use tonic::Code;

const WITHIN: Duration = Duration::from_secs(10);

/// Every refusal reads the same, whatever the reason.
fn assert_denied(result: Result<impl std::fmt::Debug, tonic::Status>, what: &str) {
    let status = result.expect_err(what);
    assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
    assert_eq!(status.message(), "permission denied", "{what}");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_facility_gets_in_only_through_an_audited_link(#[case] backend: Backend) {
    let net = TestNetwork::start(backend).await;
    let oakland = net.token(&[Role::Intake], &["oakland"]);
    let fresno = net.token(&[Role::Intake, Role::Clinician], &["fresno"]);
    let san_jose = net.token(&[Role::Intake, Role::Clinician], &["san-jose"]);
    let mut admissions = net.admissions().await;
    let mut view = net.view().await;
    let url = net.database_url("admissions").to_owned();

    let (pid, _) = register(
        &mut admissions,
        &oakland,
        registration("Ines", "Varga", "oakland"),
    )
    .await
    .unwrap();
    // In care at Oakland since three days ago (days at Oakland).
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive();
    let ago = |n: u64| Some(iop_runtime::wire::date(today - chrono::Days::new(n)));
    iop_testkit::admit_on(
        &mut admissions,
        &oakland,
        &pid,
        "oakland",
        Program::IopDay,
        ago(3),
    )
    .await
    .unwrap();

    // The takeover: Fresno screens and admits a patient it does not know.
    assert_denied(
        assess(&mut admissions, &fresno, &pid, "fresno", php_assessment()).await,
        "assessment at a facility that does not know the patient",
    );
    let admit_at =
        |facility: &str, program: Program| iop_proto::admissions::v1::AdmitPatientRequest {
            patient_id: pid.clone(),
            facility_id: facility.into(),
            program: program as i32,
            ..Default::default()
        };
    assert_denied(
        admissions
            .admit_patient(authed(admit_at("fresno", Program::Php), &fresno))
            .await,
        "admission at a facility that does not know the patient",
    );
    let get = |id: &str| GetPatientRequest {
        patient_id: id.into(),
    };
    assert_denied(
        admissions.get_patient(authed(get(&pid), &fresno)).await,
        "read",
    );
    assert_denied(
        read_view(&mut view, &fresno, &pid, "", WITHIN).await,
        "view",
    );
    // An episode is closed by its own facility only.
    assert_denied(
        admissions
            .discharge_patient(authed(
                DischargePatientRequest {
                    patient_id: pid.clone(),
                    reason: DischargeReason::Completed as i32,
                    ..Default::default()
                },
                &fresno,
            ))
            .await,
        "discharge of another facility's episode",
    );
    // A patient that does not exist reads exactly the same (no oracle).
    let nobody = uuid::Uuid::now_v7().to_string();
    assert_denied(
        assess(
            &mut admissions,
            &fresno,
            &nobody,
            "fresno",
            php_assessment(),
        )
        .await,
        "assessment of nobody",
    );
    assert_denied(
        admissions.get_patient(authed(get(&nobody), &fresno)).await,
        "read of nobody",
    );
    assert_denied(
        read_view(&mut view, &fresno, &nobody, "", WITHIN).await,
        "view of nobody",
    );
    // Every refusal is in the trail.
    assert_eq!(
        audit_rows(&url, &pid, Some("admissions.RecordAssessment"), "denied").await,
        1
    );
    assert_eq!(
        audit_rows(&url, &pid, Some("admissions.AdmitPatient"), "denied").await,
        1
    );
    assert_eq!(
        audit_rows(&url, &pid, Some("admissions.DischargePatient"), "denied").await,
        1
    );
    assert_eq!(
        audit_rows(&url, &nobody, None, "denied").await,
        2,
        "denials of an id that names nobody are audited too"
    );

    // The way in: the patient presents at Fresno, ID verified, and is linked.
    let link = |reason: LinkReason, note: &str| LinkPatientToFacilityRequest {
        patient_id: pid.clone(),
        facility_id: "fresno".into(),
        reason: reason as i32,
        note: note.into(),
        ..Default::default()
    };
    let err = admissions
        .link_patient_to_facility(authed(link(LinkReason::Unspecified, "x"), &fresno))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("reason"), "{}", err.message());
    let linked = admissions
        .link_patient_to_facility(authed(
            link(
                LinkReason::PresentWithIdVerified,
                "California driver licence checked at the front desk",
            ),
            &fresno,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        audit_rows(
            &url,
            &pid,
            Some("admissions.LinkPatientToFacility"),
            "allowed"
        )
        .await,
        1
    );
    let got = admissions
        .get_patient(authed(get(&pid), &fresno))
        .await
        .unwrap()
        .into_inner()
        .patient
        .unwrap();
    assert_eq!(got.patient_id, pid);
    let seen = read_view(&mut view, &fresno, &pid, &linked.consistency_token, WITHIN)
        .await
        .unwrap();
    assert!(
        seen.timeline
            .iter()
            .any(|t| t.event_type.ends_with("PatientLinkedToFacility") && t.facility_id == "fresno"),
        "{:?}",
        seen.timeline
    );
    let published = all_records(&net, iop_proto::topics::ADMISSIONS).await;
    assert!(published.iter().any(|m| {
        header(m, "ce_type") == Some("iop.admissions.events.v1.PatientLinkedToFacility")
            && header(m, "ce_subject") == Some(pid.as_str())
    }));

    // Linked, Fresno may screen; its assessment does not move Oakland's
    // placement. Oakland discharges (as of two days ago) and screens again
    // for the readmission; Fresno's later PHP screening changes nothing there.
    admissions
        .discharge_patient(authed(
            DischargePatientRequest {
                patient_id: pid.clone(),
                reason: DischargeReason::Completed as i32,
                discharged_on: ago(2),
            },
            &oakland,
        ))
        .await
        .unwrap();
    assess(&mut admissions, &oakland, &pid, "oakland", iop_assessment())
        .await
        .unwrap();
    assess(&mut admissions, &fresno, &pid, "fresno", php_assessment())
        .await
        .unwrap();
    admissions
        .admit_patient(authed(admit_at("oakland", Program::IopDay), &oakland))
        .await
        .expect("Oakland's own IOP placement still admits to IOP");

    // A consent lets San Jose read, never write.
    let consented = admissions
        .record_consent(authed(
            RecordConsentRequest {
                consent: Some(consent_to(&pid, "san-jose")),
            },
            &oakland,
        ))
        .await
        .unwrap()
        .into_inner();
    admissions
        .get_patient(authed(get(&pid), &san_jose))
        .await
        .expect("a consent recipient reads");
    assert_denied(
        admissions
            .record_consent(authed(
                RecordConsentRequest {
                    consent: Some(consent_to(&pid, "san-diego")),
                },
                &san_jose,
            ))
            .await,
        "a consent recipient records consents",
    );
    assert_denied(
        admissions
            .revoke_consent(authed(
                RevokeConsentRequest {
                    consent_id: consented.consent.clone().unwrap().consent_id,
                },
                &san_jose,
            ))
            .await,
        "a consent recipient revokes",
    );
    assert_denied(
        assess(
            &mut admissions,
            &san_jose,
            &pid,
            "san-jose",
            iop_assessment(),
        )
        .await,
        "a consent recipient screens",
    );
    // A consent's state is said only to those who may change it: a consent id
    // that names nothing, or an already revoked consent of someone else's
    // patient, reads like any refusal.
    let consent_id = consented.consent.unwrap().consent_id;
    admissions
        .revoke_consent(authed(
            RevokeConsentRequest {
                consent_id: consent_id.clone(),
            },
            &oakland,
        ))
        .await
        .unwrap();
    assert_denied(
        admissions
            .revoke_consent(authed(RevokeConsentRequest { consent_id }, &san_jose))
            .await,
        "revoking someone else's revoked consent",
    );
    assert_denied(
        admissions
            .revoke_consent(authed(
                RevokeConsentRequest {
                    consent_id: uuid::Uuid::now_v7().to_string(),
                },
                &san_jose,
            ))
            .await,
        "revoking a consent that does not exist",
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_reads_for_a_limited_time_and_is_accounted_for() {
    use iop_proto::admissions::v1::BreakGlassRequest;
    use sea_orm::ConnectionTrait as _;

    let net = TestNetwork::start(Backend::Sqlite).await;
    let oakland = net.token(&[Role::Intake], &["oakland"]);
    let fresno_er = net.token(&[Role::Clinician], &["fresno"]);
    let fresno_desk = net.token(&[Role::Intake], &["fresno"]);
    let auditor = net.token(&[Role::Auditor], &["*"]);
    let mut admissions = net.admissions().await;
    let (pid, _) = register(
        &mut admissions,
        &oakland,
        registration("Tomas", "Reyes", "oakland"),
    )
    .await
    .unwrap();
    let get = || GetPatientRequest {
        patient_id: pid.clone(),
    };
    assert_denied(
        admissions.get_patient(authed(get(), &fresno_er)).await,
        "before the emergency",
    );
    let glass = |reason: &str| BreakGlassRequest {
        patient_id: pid.clone(),
        facility_id: "fresno".into(),
        reason: reason.into(),
    };
    let err = admissions
        .break_glass(authed(glass("overdose"), &fresno_er))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("reason"), "{}", err.message());
    let err = admissions
        .break_glass(authed(
            glass("unresponsive on arrival, suspected opioid overdose"),
            &fresno_desk,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "a clinician's call");
    let granted = admissions
        .break_glass(authed(
            glass("unresponsive on arrival, suspected opioid overdose"),
            &fresno_er,
        ))
        .await
        .unwrap()
        .into_inner();
    let expires = granted.expires_at.unwrap().seconds - chrono::Utc::now().timestamp();
    assert!((14_300..=14_400).contains(&expires), "{expires}");

    // The view honours the grant once it has the event (no token: poll).
    let seen = iop_testkit::until("the view to honour the grant", || {
        let (net, token, pid) = (&net, &fresno_er, &pid);
        async move {
            read_view(&mut net.view().await, token, pid, "", WITHIN)
                .await
                .ok()
        }
    })
    .await;
    assert_eq!(seen.patient_id, pid);
    assert!(
        seen.timeline
            .iter()
            .any(|t| t.event_type.ends_with("BreakGlassAccessGranted") && t.facility_id.is_empty()),
        "the grant is on the timeline, at no facility: {:?}",
        seen.timeline
    );

    // Scheduling honours it too, from the same event: before it arrives the
    // read is refused, after it the clinician learns there is no enrollment.
    let enrollment = |token: &str| {
        let request = authed(
            iop_proto::scheduling::v1::GetEnrollmentRequest {
                patient_id: pid.clone(),
            },
            token,
        );
        let net = &net;
        async move { net.scheduling().await.get_enrollment(request).await }
    };
    let answer = iop_testkit::until("scheduling to honour the grant", || async {
        match enrollment(&fresno_er).await {
            Err(s) if s.code() == Code::PermissionDenied => None,
            other => Some(other),
        }
    })
    .await;
    assert_eq!(answer.unwrap_err().code(), Code::NotFound);
    let scheduling_reads = iop_testkit::audit_rows(
        net.database_url("scheduling"),
        &pid,
        Some("scheduling.GetEnrollment"),
        "allowed",
    )
    .await;
    assert_eq!(scheduling_reads, 1);

    // The clinician reads; writes still need the patient known at Fresno.
    let read = admissions
        .get_patient(authed(get(), &fresno_er))
        .await
        .unwrap()
        .into_inner()
        .patient
        .unwrap();
    assert_eq!(read.patient_id, pid);
    assert_denied(
        assess(
            &mut admissions,
            &fresno_er,
            &pid,
            "fresno",
            iop_assessment(),
        )
        .await,
        "a write under break-glass",
    );
    // The read is in the accounting of disclosures, naming the grant; the
    // privacy officer gets the event.
    let disclosures = iop_testkit::account_disclosures(&net, &auditor, &pid).await;
    let emergency = format!("emergency:{}", granted.grant_id);
    assert!(
        disclosures
            .iter()
            .any(|d| d.action == "admissions.GetPatient" && d.consent_id == emergency),
        "{disclosures:?}"
    );
    assert!(
        disclosures
            .iter()
            .any(|d| d.action == "scheduling.GetEnrollment" && d.consent_id == emergency),
        "{disclosures:?}"
    );
    let published = all_records(&net, iop_proto::topics::ADMISSIONS).await;
    assert!(published.iter().any(|m| {
        header(m, "ce_type") == Some("iop.admissions.events.v1.BreakGlassAccessGranted")
            && header(m, "ce_subject") == Some(pid.as_str())
    }));

    // Once the grant has expired, the read is refused again.
    let db = sea_orm::Database::connect(net.database_url("admissions"))
        .await
        .unwrap();
    db.execute_unprepared(&format!(
        "UPDATE break_glass_grants SET expires_at = '2000-01-01T00:00:00+00:00' WHERE id = '{}'",
        granted.grant_id
    ))
    .await
    .unwrap();
    assert_denied(
        admissions.get_patient(authed(get(), &fresno_er)).await,
        "after the grant expired",
    );
    // The copies in the view and scheduling lapse the same way.
    for service in ["patient-view", "scheduling"] {
        let copy = sea_orm::Database::connect(net.database_url(service))
            .await
            .unwrap();
        copy.execute_unprepared(&format!(
            "UPDATE access_grants SET expires_at = '2000-01-01T00:00:00+00:00' \
             WHERE grant_id = '{}'",
            granted.grant_id
        ))
        .await
        .unwrap();
        copy.close().await.unwrap();
    }
    assert_denied(
        read_view(&mut net.view().await, &fresno_er, &pid, "", WITHIN).await,
        "the view after the grant expired",
    );
    assert_denied(
        enrollment(&fresno_er).await,
        "scheduling after the grant expired",
    );
    db.close().await.unwrap();
    net.stop().await;
}
