//! The admissions domain through the public gRPC API: merges (and the view
//! following them), Part 2 consent with revocation and expiry, consent-based
//! access with its audit trail, placement before admission (with a clinician's
//! override), program capacity, demographic history, coverage, and the events
//! on `iop.admissions.v1` decoded as an analyst would.

use std::{collections::BTreeSet, time::Duration};

use iop_proto::{
    admissions::{
        events::v1 as events,
        v1::{
            CheckDisclosureRequest, Demographics, Facility, GetDemographicHistoryRequest,
            GetPatientRequest, ListConsentsRequest, MergePatientsRequest, OverridePlacementRequest,
            ProgramOffering, PutFacilityRequest, RecordConsentExpiryEventRequest,
            RecordConsentRequest, RecordCoverageRequest, RevokeConsentRequest,
            UpdateDemographicsRequest, admissions_service_client::AdmissionsServiceClient,
        },
    },
    common::v1::{
        Consent, ConsentExpiry, ConsentInformation, ConsentPurpose, Coverage, Date,
        DisclosurePurpose, HomeEnvironment, LevelOfCare, PersonName, Program,
        SubscriberRelationship, consent_expiry,
    },
    patientview::v1::CareStatus,
};
use iop_runtime::auth::Role;
use iop_testkit::{
    Backend, TestNetwork, admit, assess, audit_rows, authed, consent_to, header, iop_assessment,
    patient, read_topic, read_view, register, registration,
};
use prost::Message as _;
use rdkafka::Message as _;
use rstest::rstest;
use tonic::{Code, transport::Channel};

const WITHIN: Duration = Duration::from_secs(10);

type Client = AdmissionsServiceClient<Channel>;

fn day(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

/// Records `consent` and returns it as admissions stored it.
async fn record_consent(admissions: &mut Client, token: &str, consent: Consent) -> Consent {
    admissions
        .record_consent(authed(
            RecordConsentRequest {
                consent: Some(consent),
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .consent
        .unwrap()
}

async fn get(
    client: &mut Client,
    token: &str,
    patient_id: &str,
) -> Result<iop_proto::admissions::v1::Patient, tonic::Status> {
    Ok(client
        .get_patient(authed(
            GetPatientRequest {
                patient_id: patient_id.into(),
            },
            token,
        ))
        .await?
        .into_inner()
        .patient
        .unwrap())
}

async fn disclosure(
    client: &mut Client,
    token: &str,
    patient_id: &str,
    recipient: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> (bool, String) {
    let r = client
        .check_disclosure(authed(
            CheckDisclosureRequest {
                patient_id: patient_id.into(),
                recipient_id: recipient.into(),
                purpose: Some(ConsentPurpose {
                    purpose: DisclosurePurpose::Treatment as i32,
                    description: String::new(),
                }),
                information: ConsentInformation::Attendance as i32,
                at: Some(iop_runtime::wire::timestamp(at)),
                ..Default::default()
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner();
    (r.permitted, r.consent_id)
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_resolves_the_duplicate_to_the_survivor_everywhere(#[case] backend: Backend) {
    let net = TestNetwork::start(backend).await;
    let both = net.token(&[Role::Intake], &["oakland", "fresno"]);
    let mut admissions = net.admissions().await;
    let survivor = patient(&mut admissions, &both, "Ana", "Reyes", "oakland").await;
    let duplicate = patient(&mut admissions, &both, "Anna", "Reyes", "fresno").await;
    let admitted = admit(
        &mut admissions,
        &both,
        &duplicate,
        "fresno",
        Program::IopEvening,
    )
    .await
    .unwrap();
    // The duplicate's events are in the view before the merge (they travel on
    // another partition than the survivor's, so could otherwise land after it).
    let mut view = net.view().await;
    read_view(&mut view, &both, &duplicate, &admitted, WITHIN)
        .await
        .unwrap();

    let merged = admissions
        .merge_patients(authed(
            MergePatientsRequest {
                survivor_id: survivor.clone(),
                merged_away_id: duplicate.clone(),
                reason: "same person registered at two sites".into(),
            },
            &both,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        merged.survivor.unwrap().merged_patient_ids,
        vec![duplicate.clone()]
    );

    // Admissions: the merged-away id reads as the survivor, with its episode.
    let p = get(&mut admissions, &both, &duplicate).await.unwrap();
    assert_eq!(p.patient_id, survivor);
    assert_eq!(p.active_episode.unwrap().facility_id, "fresno");
    // It takes no more changes, and cannot be merged twice.
    let again = admissions
        .merge_patients(authed(
            MergePatientsRequest {
                survivor_id: survivor.clone(),
                merged_away_id: duplicate.clone(),
                reason: "again".into(),
            },
            &both,
        ))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    let err = assess(
        &mut admissions,
        &both,
        &duplicate,
        "fresno",
        iop_assessment(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    // Which record survived is for GetPatient to say, to callers who may read it.
    assert!(
        err.message().contains("merged into another record") && !err.message().contains(&survivor),
        "{}",
        err.message()
    );

    // The view shows one patient: the survivor, holding the moved episode and
    // both records' events; the merged-away id reads as the survivor.
    let v = read_view(
        &mut view,
        &both,
        &survivor,
        &merged.consistency_token,
        WITHIN,
    )
    .await
    .unwrap();
    assert_eq!(v.merged_patient_ids, vec![duplicate.clone()]);
    assert_eq!(v.status, CareStatus::Admitted as i32);
    assert_eq!(v.current_episode.unwrap().facility_id, "fresno");
    let types: Vec<_> = v.timeline.iter().map(|t| t.event_type.as_str()).collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| t.ends_with("PatientRegistered"))
            .count(),
        2,
        "{types:?}"
    );
    assert!(
        types.iter().any(|t| t.ends_with("PatientsMerged")),
        "{types:?}"
    );
    let via_duplicate = read_view(&mut view, &both, &duplicate, "", WITHIN)
        .await
        .unwrap();
    assert_eq!(via_duplicate.patient_id, survivor);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_names_every_element_and_revocation_and_expiry_are_honoured() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let oakland = net.token(&[Role::Intake], &["oakland"]);
    let mut admissions = net.admissions().await;
    let pid = patient(&mut admissions, &oakland, "Lee", "Tran", "oakland").await;

    // Each required element, removed in turn, is named in the rejection.
    type Strip = fn(&mut Consent);
    let strips: [(&str, Strip); 8] = [
        ("disclosing_party", |c| c.disclosing_party.clear()),
        ("information", |c| c.information.clear()),
        ("recipients", |c| c.recipients.clear()),
        ("purposes", |c| c.purposes.clear()),
        ("right_to_revoke", |c| {
            c.right_to_revoke_acknowledged = false
        }),
        ("expiry", |c| c.expiry = None),
        ("signed_by", |c| c.signed_by.clear()),
        ("signed_on", |c| c.signed_on = None),
    ];
    for (element, strip) in strips {
        let mut c = consent_to(&pid, "fresno");
        strip(&mut c);
        let err = admissions
            .record_consent(authed(RecordConsentRequest { consent: Some(c) }, &oakland))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{element}");
        assert!(
            err.message().starts_with(element),
            "{element}: {}",
            err.message()
        );
    }
    let none = admissions
        .list_consents(authed(
            ListConsentsRequest {
                patient_id: pid.clone(),
            },
            &oakland,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(none.consents.is_empty(), "rejected consents change nothing");

    // A valid consent permits; revocation stops later answers, not earlier ones.
    let recorded = record_consent(&mut admissions, &oakland, consent_to(&pid, "fresno")).await;
    let before = chrono::Utc::now();
    assert_eq!(
        disclosure(&mut admissions, &oakland, &pid, "fresno", before).await,
        (true, recorded.consent_id.clone())
    );
    let other = disclosure(&mut admissions, &oakland, &pid, "sacramento", before).await;
    assert_eq!(other, (false, String::new()));
    tokio::time::sleep(Duration::from_millis(20)).await;
    admissions
        .revoke_consent(authed(
            RevokeConsentRequest {
                consent_id: recorded.consent_id.clone(),
            },
            &oakland,
        ))
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let after = disclosure(&mut admissions, &oakland, &pid, "fresno", now).await;
    assert_eq!(after, (false, String::new()));
    assert_eq!(
        disclosure(&mut admissions, &oakland, &pid, "fresno", before).await,
        (true, recorded.consent_id.clone()),
        "a disclosure made before the revocation stays covered"
    );

    // Expiry by date: covered through the date, not after it.
    let mut dated = consent_to(&pid, "san-jose");
    dated.expiry = Some(ConsentExpiry {
        kind: Some(consent_expiry::Kind::OnDate(Date {
            year: 2026,
            month: 12,
            day: 31,
        })),
    });
    admissions
        .record_consent(authed(
            RecordConsentRequest {
                consent: Some(dated),
            },
            &oakland,
        ))
        .await
        .unwrap();
    let at = |y, m, d| {
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
    };
    assert!(
        disclosure(
            &mut admissions,
            &oakland,
            &pid,
            "san-jose",
            at(2026, 12, 31)
        )
        .await
        .0
    );
    assert!(
        !disclosure(&mut admissions, &oakland, &pid, "san-jose", at(2027, 1, 1))
            .await
            .0
    );

    // Expiry on an event: covered until the event is recorded.
    let mut on_event = consent_to(&pid, "la-downtown");
    on_event.expiry = Some(ConsentExpiry {
        kind: Some(consent_expiry::Kind::OnEvent(
            "discharge from the program".into(),
        )),
    });
    let on_event = record_consent(&mut admissions, &oakland, on_event).await;
    assert!(
        disclosure(
            &mut admissions,
            &oakland,
            &pid,
            "la-downtown",
            chrono::Utc::now()
        )
        .await
        .0
    );
    admissions
        .record_consent_expiry_event(authed(
            RecordConsentExpiryEventRequest {
                consent_id: on_event.consent_id.clone(),
                occurred_at: None,
            },
            &oakland,
        ))
        .await
        .unwrap();
    assert!(
        !disclosure(
            &mut admissions,
            &oakland,
            &pid,
            "la-downtown",
            chrono::Utc::now()
        )
        .await
        .0
    );
    // A date-bound consent has no expiry event.
    let err = admissions
        .record_consent_expiry_event(authed(
            RecordConsentExpiryEventRequest {
                consent_id: recorded.consent_id.clone(),
                occurred_at: None,
            },
            &oakland,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    net.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facility_sees_a_patient_only_with_an_episode_there_or_a_consent(
    #[case] backend: Backend,
) {
    let net = TestNetwork::start(backend).await;
    let oakland = net.token(&[Role::Intake], &["oakland"]);
    let fresno = net.token(&[Role::Clinician], &["fresno"]);
    let mut admissions = net.admissions().await;
    let mut view = net.view().await;
    let (pid, registered) = register(
        &mut admissions,
        &oakland,
        registration("Kai", "Moss", "oakland"),
    )
    .await
    .unwrap();
    read_view(&mut view, &oakland, &pid, &registered, WITHIN)
        .await
        .unwrap();

    let denied = get(&mut admissions, &fresno, &pid).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = read_view(&mut view, &fresno, &pid, "", WITHIN)
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let consented = admissions
        .record_consent(authed(
            RecordConsentRequest {
                consent: Some(consent_to(&pid, "fresno")),
            },
            &oakland,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        get(&mut admissions, &fresno, &pid)
            .await
            .unwrap()
            .patient_id,
        pid
    );
    let v = read_view(
        &mut view,
        &fresno,
        &pid,
        &consented.consistency_token,
        WITHIN,
    )
    .await
    .unwrap();
    assert_eq!(v.patient_id, pid);

    let revoked = admissions
        .revoke_consent(authed(
            RevokeConsentRequest {
                consent_id: consented.consent.unwrap().consent_id,
            },
            &oakland,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        get(&mut admissions, &fresno, &pid)
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    // The view learns of the revocation from the event.
    read_view(
        &mut view,
        &oakland,
        &pid,
        &revoked.consistency_token,
        WITHIN,
    )
    .await
    .unwrap();
    let denied = read_view(&mut view, &fresno, &pid, "", WITHIN)
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Every read left an audit row: two denied and one allowed GetPatient.
    let url = net.database_url("admissions");
    assert_eq!(
        audit_rows(url, &pid, Some("admissions.GetPatient"), "denied").await,
        2
    );
    assert_eq!(
        audit_rows(url, &pid, Some("admissions.GetPatient"), "allowed").await,
        1
    );
    assert_eq!(
        audit_rows(net.database_url("patient-view"), &pid, None, "denied").await,
        2
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_needs_a_placement_at_the_level_and_a_free_place() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let intake = net.token(&[Role::Intake], &["oakland"]);
    let clinician = net.token(&[Role::Clinician], &["oakland"]);
    let admin = net.token(&[Role::Admin], &["*"]);
    let mut admissions = net.admissions().await;
    let pid = patient(&mut admissions, &intake, "Noa", "Price", "oakland").await;
    let admit_day = |pid: String| iop_proto::admissions::v1::AdmitPatientRequest {
        patient_id: pid,
        facility_id: "oakland".into(),
        program: Program::IopDay as i32,
        ..Default::default()
    };

    // No screening yet.
    let err = admissions
        .admit_patient(authed(admit_day(pid.clone()), &intake))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("no screening assessment"),
        "{}",
        err.message()
    );

    // A home that triggers use places at residential: not IOP.
    let mut unsafe_home = iop_assessment();
    unsafe_home.suitability.as_mut().unwrap().home = HomeEnvironment::UnsafeOrTriggersUse as i32;
    let assessment = admissions
        .record_assessment(authed(
            iop_proto::admissions::v1::RecordAssessmentRequest {
                patient_id: pid.clone(),
                facility_id: "oakland".into(),
                input: Some(unsafe_home),
            },
            &intake,
        ))
        .await
        .unwrap()
        .into_inner()
        .assessment
        .unwrap();
    let recommendation = assessment.recommendation.unwrap();
    assert_eq!(
        recommendation.level,
        LevelOfCare::LevelOfCare35Residential as i32
    );
    assert!(
        recommendation
            .reasons
            .iter()
            .any(|r| r.input == "suitability.home")
    );
    let err = admissions
        .admit_patient(authed(admit_day(pid.clone()), &intake))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("LEVEL_OF_CARE_3_5_RESIDENTIAL"),
        "{}",
        err.message()
    );

    // Only a clinician overrides, and only with a justification.
    let override_to = |justification: &str| OverridePlacementRequest {
        assessment_id: assessment.assessment_id.clone(),
        chosen: LevelOfCare::LevelOfCare21IntensiveOutpatient as i32,
        justification: justification.into(),
        reason: iop_proto::common::v1::OverrideReason::PatientPreference as i32,
    };
    let err = admissions
        .override_placement(authed(
            override_to("moving to sober living on Monday"),
            &intake,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = admissions
        .override_placement(authed(override_to("ok"), &clinician))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("justification"),
        "{}",
        err.message()
    );
    // A 2 MB field never reaches storage or an event: refused by name, before
    // the handler runs (the ceiling every request has, crates/runtime/src/bounds.rs).
    let err = admissions
        .override_placement(authed(override_to(&"x".repeat(2 << 20)), &clinician))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.message(), "justification: must be at most 4096 bytes");
    let mut huge = consent_to(&pid, "fresno");
    huge.disclosing_party = "y".repeat(2 << 20);
    let err = admissions
        .record_consent(authed(
            RecordConsentRequest {
                consent: Some(huge),
            },
            &intake,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("consent.disclosing_party:"),
        "{}",
        err.message()
    );
    // The reason code is required, named when missing.
    let err = admissions
        .override_placement(authed(
            OverridePlacementRequest {
                reason: 0,
                ..override_to("moving to sober living on Monday; daily check-ins agreed")
            },
            &clinician,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("reason"), "{}", err.message());
    let overridden = admissions
        .override_placement(authed(
            override_to("moving to sober living on Monday; daily check-ins agreed"),
            &clinician,
        ))
        .await
        .unwrap()
        .into_inner()
        .assessment
        .unwrap();
    let chosen = overridden.r#override.unwrap();
    assert_eq!(
        (chosen.chosen, chosen.reason),
        (
            LevelOfCare::LevelOfCare21IntensiveOutpatient as i32,
            iop_proto::common::v1::OverrideReason::PatientPreference as i32
        )
    );
    admissions
        .admit_patient(authed(admit_day(pid.clone()), &intake))
        .await
        .unwrap();

    // Capacity: a program with one place takes one patient.
    admissions
        .put_facility(authed(
            PutFacilityRequest {
                facility: Some(Facility {
                    facility_id: "eureka".into(),
                    name: "IOP Network Eureka".into(),
                    city: "Eureka".into(),
                    time_zone: "America/Los_Angeles".into(),
                    programs: vec![ProgramOffering {
                        program: Program::IopEvening as i32,
                        capacity: 1,
                        census: 0,
                    }],
                }),
            },
            &admin,
        ))
        .await
        .unwrap();
    let eureka = net.token(&[Role::Intake], &["eureka"]);
    let first = patient(&mut admissions, &eureka, "Ola", "First", "eureka").await;
    let second = patient(&mut admissions, &eureka, "Ida", "Second", "eureka").await;
    admit(
        &mut admissions,
        &eureka,
        &first,
        "eureka",
        Program::IopEvening,
    )
    .await
    .unwrap();
    let full = admit(
        &mut admissions,
        &eureka,
        &second,
        "eureka",
        Program::IopEvening,
    )
    .await
    .unwrap_err();
    assert_eq!(full.code(), Code::FailedPrecondition);
    assert!(full.message().contains("full"), "{}", full.message());
    let not_offered = admit(&mut admissions, &eureka, &second, "eureka", Program::IopDay)
        .await
        .unwrap_err();
    assert_eq!(not_offered.code(), Code::FailedPrecondition);
    assert!(
        not_offered.message().contains("does not offer"),
        "{}",
        not_offered.message()
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demographics_keep_their_history_and_coverage_is_recorded() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let intake = net.token(&[Role::Intake], &["oakland"]);
    let mut admissions = net.admissions().await;
    let pid = patient(&mut admissions, &intake, "Rae", "Stone", "oakland").await;
    let updated = admissions
        .update_demographics(authed(
            UpdateDemographicsRequest {
                patient_id: pid.clone(),
                demographics: Some(Demographics {
                    legal_name: Some(PersonName {
                        given: "Rae".into(),
                        middle: String::new(),
                        family: "Stone-Ortiz".into(),
                    }),
                    date_of_birth: day(1988, 7, 3),
                    sex: iop_proto::common::v1::Sex::Unknown as i32,
                    address: Some(iop_proto::common::v1::PostalAddress {
                        line1: "12 Harbor Way".into(),
                        city: "Oakland".into(),
                        state: "ca".into(),
                        postal_code: "94607".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                reason: "legal name change".into(),
            },
            &intake,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.patient.unwrap().address.unwrap().state, "CA");
    let history = admissions
        .get_demographic_history(authed(
            GetDemographicHistoryRequest {
                patient_id: pid.clone(),
            },
            &intake,
        ))
        .await
        .unwrap()
        .into_inner()
        .versions;
    let families: Vec<_> = history
        .iter()
        .map(|v| {
            v.demographics
                .as_ref()
                .unwrap()
                .legal_name
                .as_ref()
                .unwrap()
                .family
                .clone()
        })
        .collect();
    assert_eq!(families, ["Stone", "Stone-Ortiz"]);
    assert_eq!(history[1].reason, "legal name change");
    let v = read_view(
        &mut net.view().await,
        &intake,
        &pid,
        &updated.consistency_token,
        WITHIN,
    )
    .await
    .unwrap();
    assert_eq!(v.legal_name.unwrap().family, "Stone-Ortiz");

    // Coverage: self-pay carries no payer; an insured coverage names payer and member.
    let muddled = admissions
        .record_coverage(authed(
            RecordCoverageRequest {
                coverage: Some(Coverage {
                    patient_id: pid.clone(),
                    self_pay: true,
                    payer_id: "60054".into(),
                    effective_from: day(2026, 11, 1),
                    ..Default::default()
                }),
            },
            &intake,
        ))
        .await
        .unwrap_err();
    assert_eq!(muddled.code(), Code::InvalidArgument);
    assert!(muddled.message().starts_with("coverage.self_pay"));
    admissions
        .record_coverage(authed(
            RecordCoverageRequest {
                coverage: Some(Coverage {
                    patient_id: pid.clone(),
                    payer_id: "60054".into(),
                    payer_name: "Aetna".into(),
                    member_id: "W123456".into(),
                    subscriber_relationship: SubscriberRelationship::Self_ as i32,
                    effective_from: day(2026, 11, 1),
                    ..Default::default()
                }),
            },
            &intake,
        ))
        .await
        .unwrap();
    let p = get(&mut admissions, &intake, &pid).await.unwrap();
    assert_eq!(p.coverages.len(), 1);
    assert_eq!(p.coverages[0].member_id, "W123456");
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_decodes_every_admissions_event_type() {
    let net = TestNetwork::start_with(Backend::Sqlite, |s| s.kafka.topic_partitions = 1).await;
    let clinician = net.token(&[Role::Clinician, Role::Intake], &["oakland", "fresno"]);
    let mut admissions = net.admissions().await;
    let a = patient(&mut admissions, &clinician, "Jo", "Lund", "oakland").await;
    let b = patient(&mut admissions, &clinician, "Joe", "Lund", "fresno").await;
    admit(&mut admissions, &clinician, &a, "oakland", Program::IopDay)
        .await
        .unwrap();
    let c = record_consent(&mut admissions, &clinician, consent_to(&a, "fresno")).await;
    admissions
        .revoke_consent(authed(
            RevokeConsentRequest {
                consent_id: c.consent_id,
            },
            &clinician,
        ))
        .await
        .unwrap();
    admissions
        .merge_patients(authed(
            MergePatientsRequest {
                survivor_id: a.clone(),
                merged_away_id: b.clone(),
                reason: "duplicate".into(),
            },
            &clinician,
        ))
        .await
        .unwrap();

    // 7 facilities, 2 registrations, assessment, admission, consent, revocation, merge.
    let records = read_topic(&net.bootstrap_servers(), "iop.admissions.v1", 14).await;
    let mut seen = BTreeSet::new();
    for r in &records {
        let kind = header(r, "ce_type").unwrap().to_owned();
        let payload = r.payload().unwrap();
        let key = std::str::from_utf8(r.key().unwrap()).unwrap();
        match kind.as_str() {
            "iop.admissions.events.v1.FacilityRecorded" => {
                let e = events::FacilityRecorded::decode(payload).unwrap();
                assert_eq!(e.facility_id, key);
                assert_eq!(e.time_zone, "America/Los_Angeles");
            }
            "iop.admissions.events.v1.PatientRegistered" => {
                assert_eq!(
                    events::PatientRegistered::decode(payload)
                        .unwrap()
                        .patient_id,
                    key
                );
            }
            "iop.admissions.events.v1.PlacementRecommended" => {
                let e = events::PlacementRecommended::decode(payload).unwrap();
                assert_eq!(e.patient_id, key);
                let rec = e.recommendation.unwrap();
                assert_eq!(
                    rec.level,
                    LevelOfCare::LevelOfCare21IntensiveOutpatient as i32
                );
                assert_eq!(rec.rules_version, "asam3-iop-v2");
                assert_eq!(
                    rec.withdrawal_management,
                    iop_proto::common::v1::WithdrawalManagement::None as i32
                );
                assert_eq!(rec.thresholds.unwrap().cows_moderate, 13);
                assert!(!rec.reasons.is_empty());
            }
            "iop.admissions.events.v1.PatientAdmitted" => {
                let e = events::PatientAdmitted::decode(payload).unwrap();
                assert_eq!(
                    (e.patient_id.as_str(), e.facility_id.as_str()),
                    (key, "oakland")
                );
                assert_eq!(e.age_group, iop_proto::common::v1::AgeGroup::Adult as i32);
                assert!(!e.assessment_id.is_empty() && !e.placement_overridden);
            }
            "iop.admissions.events.v1.ConsentRecorded" => {
                let e = events::ConsentRecorded::decode(payload)
                    .unwrap()
                    .consent
                    .unwrap();
                assert_eq!(e.patient_id, key);
                assert!(e.right_to_revoke_acknowledged);
            }
            "iop.admissions.events.v1.ConsentRevoked" => {
                let e = events::ConsentRevoked::decode(payload).unwrap();
                assert!(e.revoked_at.is_some());
            }
            "iop.admissions.events.v1.PatientsMerged" => {
                let e = events::PatientsMerged::decode(payload).unwrap();
                assert_eq!(
                    (e.survivor_id.as_str(), e.merged_away_id.as_str()),
                    (a.as_str(), b.as_str())
                );
                assert_eq!(key, a, "keyed by the survivor");
                assert_eq!(e.active_episode.unwrap().facility_id, "oakland");
            }
            other => panic!("unexpected event type {other}"),
        }
        seen.insert(kind);
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_is_managed_beside_the_level_and_only_the_medical_director_lowers_it() {
    use iop_proto::{
        admissions::v1::RecordAssessmentRequest,
        common::v1::{OverrideReason, WithdrawalManagement},
    };
    let net = TestNetwork::start(Backend::Sqlite).await;
    let intake = net.token(&[Role::Intake], &["oakland"]);
    let clinician = net.token(&[Role::Clinician], &["oakland"]);
    let director = net.token(&[Role::Clinician, Role::MedicalDirector], &["oakland"]);
    let mut admissions = net.admissions().await;
    let assess_with = |pid: &str, change: fn(&mut iop_proto::common::v1::AssessmentInput)| {
        let mut input = iop_assessment();
        change(&mut input);
        RecordAssessmentRequest {
            patient_id: pid.into(),
            facility_id: "oakland".into(),
            input: Some(input),
        }
    };

    // Moderate opioid withdrawal: IOP with ambulatory WM (outpatient
    // buprenorphine induction), not residential; the patient is admitted.
    let opioids = patient(&mut admissions, &intake, "Lalo", "Vega", "oakland").await;
    let placed = admissions
        .record_assessment(authed(
            assess_with(&opioids, |i| {
                i.withdrawal = Some(iop_proto::common::v1::WithdrawalScores {
                    cows: Some(16),
                    ciwa_ar: None,
                })
            }),
            &clinician,
        ))
        .await
        .unwrap()
        .into_inner()
        .assessment
        .unwrap()
        .recommendation
        .unwrap();
    assert_eq!(
        (placed.level, placed.withdrawal_management),
        (
            LevelOfCare::LevelOfCare21IntensiveOutpatient as i32,
            WithdrawalManagement::WithdrawalManagement2Wm as i32
        )
    );
    let cows = placed.reasons.iter().find(|r| r.input == "withdrawal.cows");
    assert!(cows.unwrap().explanation.contains("buprenorphine"));
    admit(
        &mut admissions,
        &intake,
        &opioids,
        "oakland",
        Program::IopDay,
    )
    .await
    .unwrap();

    // Withdrawal rated 3 sets 3.7 (and 3.7-WM): a clinician may not lower it.
    let alcohol = patient(&mut admissions, &intake, "Memo", "Ruiz", "oakland").await;
    let assessment = admissions
        .record_assessment(authed(
            assess_with(&alcohol, |i| {
                i.dimensions.as_mut().unwrap().d1_withdrawal = 3;
            }),
            &clinician,
        ))
        .await
        .unwrap()
        .into_inner()
        .assessment
        .unwrap();
    let recommendation = assessment.recommendation.clone().unwrap();
    assert_eq!(
        (recommendation.level, recommendation.withdrawal_management),
        (
            LevelOfCare::LevelOfCare37Residential as i32,
            WithdrawalManagement::WithdrawalManagement37Wm as i32
        )
    );
    let lower = OverridePlacementRequest {
        assessment_id: assessment.assessment_id.clone(),
        chosen: LevelOfCare::LevelOfCare21IntensiveOutpatient as i32,
        justification: "declines residential; daily nurse visits at home arranged".into(),
        reason: OverrideReason::PatientPreference as i32,
    };
    let err = admissions
        .override_placement(authed(lower.clone(), &clinician))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("medical director"),
        "{}",
        err.message()
    );
    let url = net.database_url("admissions");
    let action = Some("admissions.OverridePlacement");
    assert_eq!(audit_rows(url, &alcohol, action, "denied").await, 1);
    let chosen = admissions
        .override_placement(authed(lower, &director))
        .await
        .unwrap()
        .into_inner()
        .assessment
        .unwrap()
        .r#override
        .unwrap();
    assert_eq!(
        chosen.chosen,
        LevelOfCare::LevelOfCare21IntensiveOutpatient as i32
    );
    admit(
        &mut admissions,
        &intake,
        &alcohol,
        "oakland",
        Program::IopDay,
    )
    .await
    .unwrap();
    net.stop().await;
}
