//! The master patient index through the public API: registering someone who
//! resembles a patient of another facility returns the candidates (ids, score,
//! what matched; not the other record's demographics) and registers nobody,
//! until a person confirms a new patient.

use iop_proto::admissions::v1::{
    GetPatientRequest, LinkPatientToFacilityRequest, MatchBand, RegisterPatientRequest,
    RegistrationOutcome,
};
use iop_proto::common::v1::Date;
use iop_proto::common::v1::LinkReason;
use iop_runtime::auth::Role;
use iop_testkit::{Backend, TestNetwork, authed, patient, registration};

fn person(
    given: &str,
    family: &str,
    (year, month, day): (i32, i32, i32),
    phone: &str,
    facility: &str,
) -> RegisterPatientRequest {
    RegisterPatientRequest {
        date_of_birth: Some(Date { year, month, day }),
        phone: phone.into(),
        confirm_new_patient: false,
        ..registration(given, family, facility)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alikes_across_facilities_are_proposed_before_anyone_is_registered() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let oakland = net.token(&[Role::Intake], &["oakland"]);
    let fresno = net.token(&[Role::Intake], &["fresno"]);
    let mut admissions = net.admissions().await;

    let first = admissions
        .register_patient(authed(
            person(
                "Robert",
                "Hernandez",
                (1984, 3, 7),
                "(415) 555-0100",
                "oakland",
            ),
            &oakland,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.outcome, RegistrationOutcome::Registered as i32);
    let known = first.patient.unwrap();

    let cases = [
        (
            person("Robert", "Hernandes", (1984, 3, 7), "", "fresno"),
            "family_name_typo",
        ),
        (
            person("Bob", "Hernandez", (1984, 3, 7), "", "fresno"),
            "given_name_nickname",
        ),
        (
            person("Robert", "Hernandez", (1984, 7, 3), "", "fresno"),
            "date_of_birth_day_month_swapped",
        ),
        (
            person(
                "Robert",
                "Hernandez",
                (1985, 3, 7),
                "+1 415 555 0100",
                "fresno",
            ),
            "phone",
        ),
    ];
    for (request, expected) in cases.clone() {
        // At Fresno, which does not know the patient: an opaque reference and
        // a band, nothing that identifies the person or says what matched.
        let r = admissions
            .register_patient(authed(request.clone(), &fresno))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            r.outcome,
            RegistrationOutcome::DuplicatesFound as i32,
            "{expected}"
        );
        assert!(
            r.patient.is_none(),
            "nobody registered while candidates are open"
        );
        let candidate = &r.candidates[0];
        assert_eq!(
            (
                candidate.patient_id.as_str(),
                candidate.mrn.as_str(),
                candidate.registered_facility_id.as_str(),
                candidate.score
            ),
            ("", "", "", 0),
            "{expected}"
        );
        assert!(candidate.matched_fields.is_empty());
        assert_eq!(candidate.reference.len(), 32);
        assert_ne!(candidate.band, MatchBand::Unspecified as i32);

        // At Oakland, which knows the patient: who, and what matched.
        let here = RegisterPatientRequest {
            facility_id: "oakland".into(),
            ..request
        };
        let r = admissions
            .register_patient(authed(here, &oakland))
            .await
            .unwrap()
            .into_inner();
        let candidate = &r.candidates[0];
        assert_eq!(candidate.patient_id, known.patient_id);
        assert_eq!(candidate.mrn, known.mrn);
        assert_eq!(candidate.registered_facility_id, "oakland");
        assert!(candidate.reference.is_empty());
        assert!(
            candidate.matched_fields.iter().any(|f| f == expected),
            "{expected}: {:?}",
            candidate.matched_fields
        );
        assert!(candidate.score >= 50);
    }

    // After review, a person confirms a new patient: registered, a new id.
    let confirmed = admissions
        .register_patient(authed(
            RegisterPatientRequest {
                confirm_new_patient: true,
                ..cases[1].0.clone()
            },
            &fresno,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(confirmed.outcome, RegistrationOutcome::Registered as i32);
    assert_ne!(confirmed.patient.unwrap().patient_id, known.patient_id);

    // Same common name, different birth date, no shared contact: not proposed.
    let a = person("Maria", "Garcia", (1990, 5, 14), "5105550111", "oakland");
    let b = person("Maria", "Garcia", (1972, 11, 2), "5105550199", "oakland");
    for request in [a, b] {
        let r = admissions
            .register_patient(authed(request, &oakland))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.outcome, RegistrationOutcome::Registered as i32);
        assert!(r.candidates.is_empty());
    }

    // A malformed SSN-4 is named.
    let mut bad = person("Ana", "Reyes", (1990, 4, 12), "", "oakland");
    bad.ssn_last4 = "12a4".into();
    let err = admissions
        .register_patient(authed(bad, &oakland))
        .await
        .unwrap_err();
    assert!(err.message().starts_with("ssn_last4"), "{}", err.message());
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_episode_is_admitted_transferred_discharged_and_a_readmission_is_a_new_episode() {
    use std::time::Duration;

    use iop_proto::{
        admissions::v1::{DischargePatientRequest, TransferPatientRequest},
        common::v1::{DischargeReason, Program},
        patientview::v1::CareStatus,
    };
    use iop_testkit::{admit, admit_on, read_view};
    use tonic::Code;

    const WITHIN: Duration = Duration::from_secs(10);
    // Days at Oakland (Los Angeles), `back` days ago.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive();
    let ago = |back: u64| Some(iop_runtime::wire::date(today - chrono::Days::new(back)));
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Intake, Role::Clinician], &["oakland", "fresno"]);
    let fresno_only = net.token(&[Role::Clinician], &["fresno"]);
    let mut admissions = net.admissions().await;
    let mut view = net.view().await;
    let pid = patient(&mut admissions, &staff, "Noor", "Haddad", "oakland").await;

    // Discharging or transferring someone not admitted is a precondition failure.
    let discharge = |reason: DischargeReason, back: u64| DischargePatientRequest {
        patient_id: pid.clone(),
        reason: reason as i32,
        discharged_on: ago(back),
    };
    let err = admissions
        .discharge_patient(authed(discharge(DischargeReason::Completed, 0), &staff))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // The first episode began 20 days ago; each later one after the last ended.
    let admitted = admit_on(
        &mut admissions,
        &staff,
        &pid,
        "oakland",
        Program::IopDay,
        ago(20),
    )
    .await
    .unwrap();
    let err = admit(
        &mut admissions,
        &staff,
        &pid,
        "oakland",
        Program::IopEvening,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "one active episode per patient"
    );
    let first_episode = read_view(&mut view, &staff, &pid, &admitted, WITHIN)
        .await
        .unwrap()
        .current_episode
        .unwrap();

    // Only the facility holding the episode may move it.
    let transfer = TransferPatientRequest {
        patient_id: pid.clone(),
        to_facility_id: "fresno".into(),
        program: Program::IopEvening as i32,
        transferred_on: ago(19),
    };
    let err = admissions
        .transfer_patient(authed(transfer.clone(), &fresno_only))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let moved = admissions
        .transfer_patient(authed(transfer, &staff))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        moved.episode.as_ref().unwrap().episode_id,
        first_episode.episode_id,
        "same episode, new place"
    );
    let v = read_view(&mut view, &staff, &pid, &moved.consistency_token, WITHIN)
        .await
        .unwrap();
    let episode = v.current_episode.unwrap();
    assert_eq!(
        (episode.facility_id.as_str(), episode.program),
        ("fresno", Program::IopEvening as i32)
    );
    assert_eq!(episode.admitted_on, first_episode.admitted_on);

    let err = admissions
        .discharge_patient(authed(discharge(DischargeReason::Unspecified, 0), &staff))
        .await
        .unwrap_err();
    assert!(err.message().starts_with("reason"), "{}", err.message());

    // Discharge with every reason, readmitting in between: each admission is a
    // new episode, beginning after the last one ended (days 18, 16, … ago).
    let mut episodes = vec![first_episode.episode_id];
    let mut ended = 18;
    for reason in [
        DischargeReason::Completed,
        DischargeReason::StepDownOutpatient,
        DischargeReason::StepUpResidential,
        DischargeReason::StepUpInpatient,
        DischargeReason::LeftAgainstAdvice,
        DischargeReason::Administrative,
        DischargeReason::TransferredOut,
    ] {
        let closed = admissions
            .discharge_patient(authed(discharge(reason, ended), &staff))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(&closed.episode_id, episodes.last().unwrap());
        let v = read_view(&mut view, &staff, &pid, &closed.consistency_token, WITHIN)
            .await
            .unwrap();
        assert_eq!(v.status, CareStatus::Discharged as i32, "{reason:?}");
        assert!(v.current_episode.is_none());

        // Not on the day it ended, nor before: episodes never share a day.
        for back in [ended, ended + 3] {
            let err = admit_on(
                &mut admissions,
                &staff,
                &pid,
                "oakland",
                Program::IopDay,
                ago(back),
            )
            .await
            .unwrap_err();
            assert_eq!(err.code(), Code::FailedPrecondition);
            assert!(
                err.message().contains("earlier episode"),
                "{}",
                err.message()
            );
        }
        let again = admit_on(
            &mut admissions,
            &staff,
            &pid,
            "oakland",
            Program::IopDay,
            ago(ended - 1),
        )
        .await
        .unwrap();
        ended -= 2;
        let v = read_view(&mut view, &staff, &pid, &again, WITHIN)
            .await
            .unwrap();
        let readmitted = v.current_episode.unwrap().episode_id;
        assert!(
            !episodes.contains(&readmitted),
            "a readmission opens a new episode"
        );
        episodes.push(readmitted);
    }

    // A readmission relies on an assessment made after the last discharge:
    // the one from before it (a step-up's reason) does not carry it.
    admissions
        .discharge_patient(authed(
            discharge(DischargeReason::StepUpResidential, 4),
            &staff,
        ))
        .await
        .unwrap();
    let stale = admissions
        .admit_patient(authed(
            iop_proto::admissions::v1::AdmitPatientRequest {
                patient_id: pid.clone(),
                facility_id: "oakland".into(),
                program: Program::IopDay as i32,
                admitted_on: ago(3),
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    assert!(
        stale.message().contains("before the last discharge"),
        "{}",
        stale.message()
    );
    admit_on(
        &mut admissions,
        &staff,
        &pid,
        "oakland",
        Program::IopDay,
        ago(3),
    )
    .await
    .expect("a new assessment carries it");
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_duplicate_check_confirms_no_ssn_and_is_limited_per_caller() {
    use tonic::Code;

    let net = TestNetwork::start(Backend::Sqlite).await;
    let oakland = net.token(&[Role::Intake], &["oakland"]);
    let fresno = net.token(&[Role::Intake], &["fresno"]);
    let mut admissions = net.admissions().await;
    let with_ssn = |ssn: &str, facility: &str| RegisterPatientRequest {
        ssn_last4: ssn.into(),
        ..person("Dana", "Whitfield", (1979, 11, 2), "", facility)
    };
    let known = admissions
        .register_patient(authed(with_ssn("4821", "oakland"), &oakland))
        .await
        .unwrap()
        .into_inner()
        .patient
        .unwrap();

    // Right and wrong SSN-4 give answers Fresno cannot tell apart.
    let mut answers = Vec::new();
    for ssn in ["4821", "0000"] {
        let mut r = admissions
            .register_patient(authed(with_ssn(ssn, "fresno"), &fresno))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.outcome, RegistrationOutcome::DuplicatesFound as i32);
        for c in &mut r.candidates {
            assert_eq!(c.reference.len(), 32);
            c.reference.clear();
        }
        answers.push(r);
    }
    assert_eq!(answers[0], answers[1]);

    // The reference links the patient to Fresno, which can then read them.
    let r = admissions
        .register_patient(authed(with_ssn("4821", "fresno"), &fresno))
        .await
        .unwrap()
        .into_inner();
    admissions
        .link_patient_to_facility(authed(
            LinkPatientToFacilityRequest {
                facility_id: "fresno".into(),
                candidate_reference: r.candidates[0].reference.clone(),
                reason: LinkReason::PresentWithIdVerified as i32,
                note: "state ID checked; same person as the candidate".into(),
                ..Default::default()
            },
            &fresno,
        ))
        .await
        .unwrap();
    let read = admissions
        .get_patient(authed(
            GetPatientRequest {
                patient_id: known.patient_id.clone(),
            },
            &fresno,
        ))
        .await
        .unwrap()
        .into_inner()
        .patient
        .unwrap();
    assert_eq!(read.mrn, known.mrn);
    // A reference is for the facility it was issued to.
    let elsewhere = admissions
        .link_patient_to_facility(authed(
            LinkPatientToFacilityRequest {
                facility_id: "oakland".into(),
                candidate_reference: r.candidates[0].reference.clone(),
                reason: LinkReason::Referral as i32,
                note: "referral".into(),
                ..Default::default()
            },
            &oakland,
        ))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::PermissionDenied);

    // 20 candidate-producing checks a minute per caller (3 made above): the
    // 21st is RESOURCE_EXHAUSTED; checks that find nobody do not count.
    let other = net.token(&[Role::Intake], &["san-jose"]);
    let mut produced = 0;
    loop {
        let r = admissions
            .register_patient(authed(with_ssn("1111", "san-jose"), &other))
            .await;
        match r {
            Ok(r) => {
                assert_eq!(
                    r.into_inner().outcome,
                    RegistrationOutcome::DuplicatesFound as i32
                );
                produced += 1;
            }
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
                assert!(e.message().contains("retry in"), "{}", e.message());
                let retry = tonic_types::StatusExt::get_error_details(&e)
                    .retry_info()
                    .and_then(|r| r.retry_delay)
                    .expect("RetryInfo with a delay");
                assert!((1..=60).contains(&retry.as_secs()), "retry in {retry:?}");
                break;
            }
        }
        assert!(produced <= 20, "the limit did not hold");
    }
    // The same test-user subject made 3 candidate-producing checks before.
    assert_eq!(produced + 3, 20);
    net.stop().await;
}

/// Matching v2 through the API: the variations v1 missed are proposed, a twin
/// is not, a demographic update is checked again, and a "not the same person"
/// decision is kept for the whole network and published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alikes_are_found_twins_are_not_and_a_distinct_decision_holds_everywhere() {
    use iop_proto::{
        admissions::{
            events::v1 as events,
            v1::{
                DeclareDistinctRequest, Demographics, FindDuplicatesRequest,
                UpdateDemographicsRequest,
            },
        },
        common::v1::Sex,
    };
    use prost::Message as _;
    use rdkafka::Message as _;

    let net = TestNetwork::start(Backend::Sqlite).await;
    let oakland = net.token(&[Role::Intake], &["oakland"]);
    let mut admissions = net.admissions().await;
    let with_sex = |r: RegisterPatientRequest, sex: Sex| RegisterPatientRequest {
        sex: sex as i32,
        ..r
    };
    // Someone presenting at Oakland with nothing but a name, a birth date and a sex.
    let at_oakland = |given: &str, family: &str, born: (i32, i32, i32), sex: Sex| {
        with_sex(person(given, family, born, "", "oakland"), sex)
    };
    let submit = |request: RegisterPatientRequest| {
        let (mut a, token) = (admissions.clone(), oakland.clone());
        async move {
            a.register_patient(authed(request, &token))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let jesus = submit(at_oakland(
        "Jesús",
        "García López",
        (1984, 3, 17),
        Sex::Male,
    ))
    .await
    .patient
    .unwrap();

    // Nickname, one surname of two, one digit off in the birth date, and no
    // phone or SSN-4 at all: proposed, saying why.
    let r = submit(at_oakland("Chuy", "García", (1984, 3, 11), Sex::Male)).await;
    assert_eq!(r.outcome, RegistrationOutcome::DuplicatesFound as i32);
    assert!(r.patient.is_none());
    let c = &r.candidates[0];
    assert_eq!(c.patient_id, jesus.patient_id);
    assert_eq!(c.rules_version, "match-v2");
    for field in [
        "given_name_nickname",
        "family_name_part",
        "date_of_birth_one_digit",
        "sex",
    ] {
        assert!(
            c.matched_fields.iter().any(|f| f == field),
            "{field}: {c:?}"
        );
    }
    // Family name first: found as swapped.
    let r = submit(at_oakland(
        "García López",
        "Jesús",
        (1984, 3, 17),
        Sex::Male,
    ))
    .await;
    assert_eq!(r.candidates[0].patient_id, jesus.patient_id);
    assert!(
        r.candidates[0]
            .matched_fields
            .iter()
            .any(|f| f == "names_swapped")
    );

    // His twin sister: same family name and birth date; another given name
    // and sex. Registered at once, nobody proposed.
    let twin = submit(at_oakland(
        "Itzel",
        "García López",
        (1984, 3, 17),
        Sex::Female,
    ))
    .await;
    assert_eq!(twin.outcome, RegistrationOutcome::Registered as i32);
    let itzel = twin.patient.unwrap();

    // A brother registered with another birth date; a corrected birth date
    // makes him resemble Jesús, and the update says so.
    let brother = submit(at_oakland("Jesus", "Garcia", (1990, 8, 2), Sex::Male))
        .await
        .patient
        .unwrap();
    let corrected = RegisterPatientRequest {
        date_of_birth: Some(Date {
            year: 1984,
            month: 3,
            day: 17,
        }),
        ..with_sex(registration("Jesus", "Garcia", "oakland"), Sex::Male)
    };
    let updated = admissions
        .update_demographics(authed(
            UpdateDemographicsRequest {
                patient_id: brother.patient_id.clone(),
                demographics: Some(Demographics {
                    legal_name: corrected.legal_name,
                    date_of_birth: corrected.date_of_birth,
                    sex: corrected.sex,
                    ..Default::default()
                }),
                reason: "birth date corrected from ID".into(),
            },
            &oakland,
        ))
        .await
        .unwrap()
        .into_inner();
    let proposed: Vec<_> = updated.candidates.iter().map(|c| &c.patient_id).collect();
    assert_eq!(
        proposed,
        [&jesus.patient_id],
        "never itself, nor the twin sister"
    );
    let find = |id: &str| FindDuplicatesRequest {
        patient_id: id.to_owned(),
    };
    let worklist = admissions
        .find_duplicates(authed(find(&jesus.patient_id), &oakland))
        .await
        .unwrap()
        .into_inner()
        .candidates;
    assert!(worklist.iter().any(|c| c.patient_id == brother.patient_id));
    assert!(worklist.iter().all(|c| c.patient_id != itzel.patient_id));

    // Staff check IDs: two brothers. Recorded once, honoured both ways.
    let declared = DeclareDistinctRequest {
        patient_id: brother.patient_id.clone(),
        other_patient_id: jesus.patient_id.clone(),
        reason: "brothers: different state IDs seen at the desk".into(),
        ..Default::default()
    };
    admissions
        .declare_distinct(authed(declared.clone(), &oakland))
        .await
        .unwrap();
    admissions
        .declare_distinct(authed(declared, &oakland))
        .await
        .expect("declaring again changes nothing");
    for (id, other) in [
        (&jesus.patient_id, &brother.patient_id),
        (&brother.patient_id, &jesus.patient_id),
    ] {
        let left = admissions
            .find_duplicates(authed(find(id), &oakland))
            .await
            .unwrap()
            .into_inner()
            .candidates;
        assert!(left.iter().all(|c| &c.patient_id != other), "{left:?}");
    }
    let same_record = admissions
        .declare_distinct(authed(
            DeclareDistinctRequest {
                patient_id: jesus.patient_id.clone(),
                other_patient_id: jesus.patient_id.clone(),
                reason: "oops".into(),
                ..Default::default()
            },
            &oakland,
        ))
        .await
        .unwrap_err();
    assert_eq!(same_record.code(), tonic::Code::InvalidArgument);
    assert!(same_record.message().starts_with("other_patient_id"));

    // Published once, with the two ids and no demographics: 7 facilities,
    // 3 registrations, the update and the decision.
    let mut seen = 0;
    for r in &iop_testkit::read_topic(&net.bootstrap_servers(), "iop.admissions.v1", 12).await {
        let kind = iop_testkit::header(r, "ce_type").unwrap_or_default();
        if kind == "iop.admissions.events.v1.PatientsDeclaredDistinct" {
            let e = events::PatientsDeclaredDistinct::decode(r.payload().unwrap()).unwrap();
            assert_eq!(
                (e.patient_id.as_str(), e.other_patient_id.as_str()),
                (brother.patient_id.as_str(), jesus.patient_id.as_str())
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 1);
    net.stop().await;
}
