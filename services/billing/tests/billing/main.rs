//! Billing through gRPC and Kafka, on SQLite and PostgreSQL. Patients are
//! registered, admitted, consented and covered through admissions; their
//! attendance, signed notes, diagnoses and drug-test codes are published on
//! the other contexts' topics as scheduling, clinical and testing-lab
//! would. Shown: a held day released by the fact it lacked and billed once
//! however often its events come; a week of two days billing nothing;
//! authorization units and warnings, and a level change held until a new
//! authorization; a Part 2 revocation holding later days, not earlier ones;
//! a realistic month claimed as 837I and 837P files that pyx12 accepts; 835
//! remittances applied with balances, denials queued and an unbalanced file
//! refused naming its claim; 270/271 eligibility; the billing role's access
//! rule; and the events on `iop.billing.v1` decoded as an analyst would.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::{collections::HashMap, path::PathBuf, process::Command};

use chrono::{NaiveDate, TimeZone, Utc};
use iop_proto::{
    admissions::{
        events::v1::{ConsentRevoked, PatientTransferred},
        v1::{
            GetPatientRequest, RecordConsentRequest, RecordCoverageRequest,
            admissions_service_client::AdmissionsServiceClient,
        },
    },
    billing::{
        events::v1 as events,
        v1::{
            AcknowledgeClaimRequest, ApplyEligibilityRequest, ApplyRemittanceRequest, ChargeKind,
            ChargeStatus, ClaimStatus, CreateClaimsRequest, DayStatus, GetAccountRequest,
            GetAccountResponse, HoldReason, ListAuthorizationsRequest, ListClaimsRequest,
            ListEligibilityDueRequest, ListHeldDaysRequest, ListWorkQueueRequest,
            RecordAuthorizationRequest, RecordPatientPaymentRequest, RecordRestrictionRequest,
            RequestEligibilityRequest, ResolveWorkItemRequest, SubmitClaimsRequest,
            billing_service_client::BillingServiceClient,
        },
    },
    clinical::{
        events::v1::{NoteSigned, TreatmentPlanChanged},
        v1::{NoteKind, PlanStatus},
    },
    common::v1::{
        Consent, ConsentExpiry, ConsentInformation, ConsentPurpose, ConsentRecipient, Coverage,
        Date, DisclosurePurpose, LevelOfCare, PostalAddress, Program, RecipientClass,
        SubscriberRelationship, consent_expiry, consent_recipient,
    },
    lab::events::v1::DrugTestCodes,
    scheduling::{
        events::v1::AttendanceRecorded,
        v1::{AttendanceStatus, SessionType},
    },
};
use iop_runtime::{auth::Role, wire};
use iop_testkit::{
    Backend, TestNetwork, admit_on, authed, header, publish, publish_as, register, registration,
    until,
};
use rstest::rstest;
use tonic::{Code, transport::Channel};

type Billing = BillingServiceClient<Channel>;
const LA: chrono_tz::Tz = chrono_tz::America::Los_Angeles;
const OAKLAND_NPI: &str = "1543218774";

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn date(day: NaiveDate) -> Option<Date> {
    Some(wire::date(day))
}

fn biller(net: &TestNetwork, facility: &str) -> String {
    net.token(&[Role::Billing], &[facility])
}

async fn billing(net: &TestNetwork) -> Billing {
    BillingServiceClient::new(net.channel().await)
}

/// A consent letting `facility`'s program bill the patient's health plans.
fn payment_consent(patient_id: &str) -> Consent {
    Consent {
        patient_id: patient_id.into(),
        disclosing_party: "IOP Network".into(),
        information: vec![
            ConsentInformation::Billing as i32,
            ConsentInformation::Diagnosis as i32,
        ],
        recipients: vec![ConsentRecipient {
            kind: Some(consent_recipient::Kind::Class(
                RecipientClass::HealthPlans as i32,
            )),
        }],
        purposes: vec![ConsentPurpose {
            purpose: DisclosurePurpose::Payment as i32,
            description: String::new(),
        }],
        right_to_revoke_acknowledged: true,
        expiry: Some(ConsentExpiry {
            kind: Some(consent_expiry::Kind::OnDate(Date {
                year: 2099,
                month: 12,
                day: 31,
            })),
        }),
        signed_by: "the patient".into(),
        signed_on: date(d(2026, 9, 1)),
        ..Default::default()
    }
}

/// A patient of `facility` admitted to IOP on `admitted_on`, with a payment
/// consent and coverage by `payer` from 1 September; returns the patient id
/// and the consent id.
async fn insured(
    net: &TestNetwork,
    facility: &str,
    (given, family): (&str, &str),
    admitted_on: NaiveDate,
    payer: &str,
) -> (String, String) {
    let token = net.token(&[Role::Intake, Role::Clinician], &[facility]);
    let mut a: AdmissionsServiceClient<Channel> = net.admissions().await;
    let mut form = registration(given, family, facility);
    form.address = Some(PostalAddress {
        line1: "200 Pine Ave Apt 4".into(),
        line2: String::new(),
        city: "Oakland".into(),
        state: "CA".into(),
        postal_code: "94612".into(),
    });
    let (pid, _) = register(&mut a, &token, form).await.unwrap();
    admit_on(
        &mut a,
        &token,
        &pid,
        facility,
        Program::IopDay,
        date(admitted_on),
    )
    .await
    .unwrap();
    let consent = a
        .record_consent(authed(
            RecordConsentRequest {
                consent: Some(payment_consent(&pid)),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .consent
        .unwrap()
        .consent_id;
    a.record_coverage(authed(
        RecordCoverageRequest {
            coverage: Some(Coverage {
                patient_id: pid.clone(),
                payer_id: payer.into(),
                payer_name: "the payer".into(),
                member_id: format!("M{}", &pid[24..]),
                subscriber_relationship: SubscriberRelationship::Self_ as i32,
                effective_from: date(d(2026, 9, 1)),
                ..Default::default()
            }),
        },
        &token,
    ))
    .await
    .unwrap();
    // Billing has heard of the patient and the coverage.
    let b = billing(net).await;
    let ours = biller(net, facility);
    until("billing to know the patient", || async {
        let known = b
            .clone()
            .request_eligibility(authed(
                RequestEligibilityRequest {
                    patient_id: pid.clone(),
                    facility_id: facility.into(),
                },
                &ours,
            ))
            .await;
        match known {
            Ok(_) => Some(()),
            Err(e) if e.code() == Code::PermissionDenied => None,
            Err(e) if e.message().contains("coverage") || e.message().contains("consent") => None,
            Err(e) => panic!("{e}"),
        }
    })
    .await;
    (pid, consent)
}

/// What scheduling, clinical and testing-lab publish about a patient.
struct Facts<'a> {
    net: &'a TestNetwork,
    pid: &'a str,
    facility: &'a str,
}

impl Facts<'_> {
    fn bootstrap(&self) -> String {
        self.net.bootstrap_servers()
    }

    fn attendance(&self, day: NaiveDate, minutes: u32) -> AttendanceRecorded {
        AttendanceRecorded {
            patient_id: self.pid.into(),
            session_id: format!("s-{}-{day}", self.facility),
            facility_id: self.facility.into(),
            session_type: SessionType::GroupTherapy as i32,
            status: AttendanceStatus::Attended as i32,
            minutes,
            clinical: true,
            service_date: date(day),
            week_start: date(billing_week(day)),
            time_zone: "America/Los_Angeles".into(),
            occurred_at: Some(wire::timestamp(Utc::now())),
        }
    }

    /// The day attended for `minutes`; returns the event id.
    async fn attended(&self, day: NaiveDate, minutes: u32) -> String {
        publish(
            &self.bootstrap(),
            "iop.scheduling.v1",
            self.pid,
            &self.attendance(day, minutes),
        )
        .await
    }

    async fn signed(&self, day: NaiveDate) {
        let note = NoteSigned {
            patient_id: self.pid.into(),
            note_id: uuid::Uuid::now_v7().to_string(),
            facility_id: self.facility.into(),
            kind: NoteKind::Group as i32,
            service_date: date(day),
            session_id: format!("s-{}-{day}", self.facility),
            signed_at: Some(wire::timestamp(Utc::now())),
            late: false,
        };
        publish(&self.bootstrap(), "iop.clinical.v1", self.pid, &note).await;
    }

    /// Attended for three hours with the day's note signed.
    async fn documented(&self, days: &[NaiveDate]) {
        for day in days {
            self.attended(*day, 180).await;
            self.signed(*day).await;
        }
    }

    async fn diagnosed(&self) {
        let plan = TreatmentPlanChanged {
            patient_id: self.pid.into(),
            plan_id: uuid::Uuid::now_v7().to_string(),
            episode_id: String::new(),
            facility_id: self.facility.into(),
            version: 1,
            status: PlanStatus::Active as i32,
            review_due_on: None,
            occurred_at: Some(wire::timestamp(Utc::now())),
            diagnoses: vec!["F329".into(), "F1120".into()],
        };
        publish(&self.bootstrap(), "iop.clinical.v1", self.pid, &plan).await;
    }
}

fn billing_week(day: NaiveDate) -> NaiveDate {
    iop_billing::rules::week_start(day)
}

async fn account(b: &Billing, token: &str, pid: &str) -> GetAccountResponse {
    b.clone()
        .get_account(authed(
            GetAccountRequest {
                patient_id: pid.into(),
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
}

/// The account once `ready` holds for it; fails after 60 s showing the days.
async fn account_when(
    b: &Billing,
    token: &str,
    pid: &str,
    what: &str,
    ready: impl Fn(&GetAccountResponse) -> bool,
) -> GetAccountResponse {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let a = account(b, token, pid).await;
        if ready(&a) {
            return a;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}: {:#?}", a.days);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn day_of(a: &GetAccountResponse, day: NaiveDate) -> Option<&iop_proto::billing::v1::ServiceDay> {
    a.days.iter().find(|x| x.service_date == date(day))
}

fn reasons(a: &GetAccountResponse, day: NaiveDate) -> Vec<HoldReason> {
    day_of(a, day)
        .map(|x| {
            x.holds
                .iter()
                .map(|h| HoldReason::try_from(h.reason).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

fn live_per_diem(a: &GetAccountResponse, day: NaiveDate) -> usize {
    a.charges
        .iter()
        .filter(|c| {
            c.service_date == date(day)
                && c.kind == ChargeKind::PerDiem as i32
                && c.status != ChargeStatus::Void as i32
        })
        .count()
}

fn billed(a: &GetAccountResponse, day: NaiveDate) -> bool {
    day_of(a, day).is_some_and(|x| x.status == DayStatus::Billed as i32)
}

async fn authorize(
    b: &Billing,
    token: &str,
    (pid, facility, payer): (&str, &str, &str),
    level: LevelOfCare,
    units: u32,
    (from, to): (NaiveDate, NaiveDate),
) -> iop_proto::billing::v1::Authorization {
    b.clone()
        .record_authorization(authed(
            RecordAuthorizationRequest {
                patient_id: pid.into(),
                facility_id: facility.into(),
                payer_id: payer.into(),
                number: format!("AUTH-{}", &pid[30..]),
                level_of_care: level as i32,
                units_approved: units,
                from_date: date(from),
                to_date: date(to),
                next_review_on: date(to),
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .authorization
        .unwrap()
}

/// Billing's events about `pid` of type `M`, decoded from the topic as an analyst would.
async fn billing_events<M: prost::Name + Default>(net: &TestNetwork, pid: &str) -> Vec<M> {
    let bootstrap = net.bootstrap_servers();
    let total = iop_testkit::record_count(&bootstrap, "iop.billing.v1", 3);
    let records = iop_testkit::read_topic(&bootstrap, "iop.billing.v1", total).await;
    records
        .iter()
        .filter(|m| header(m, "ce_type") == Some(M::full_name().as_str()))
        .filter(|m| rdkafka::Message::key(*m) == Some(pid.as_bytes()))
        .map(|m| M::decode(rdkafka::Message::payload(m).unwrap_or_default()).unwrap())
        .collect()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_day_is_released_once_and_a_short_week_bills_nothing(#[case] backend: Backend) {
    let net = TestNetwork::start(backend).await;
    let b = billing(&net).await;
    let token = biller(&net, "oakland");
    // Medi-Cal: 3 hours a day, 3 days a week, authorization required (837P).
    let (pid, _) = insured(&net, "oakland", ("Rosa", "Medina"), d(2026, 10, 5), "MCDMC").await;
    let facts = Facts {
        net: &net,
        pid: &pid,
        facility: "oakland",
    };
    authorize(
        &b,
        &token,
        (&pid, "oakland", "MCDMC"),
        LevelOfCare::LevelOfCare21IntensiveOutpatient,
        5,
        (d(2026, 10, 5), d(2026, 12, 31)),
    )
    .await;
    facts.diagnosed().await;
    let (mon, tue, wed, thu) = (
        d(2026, 10, 5),
        d(2026, 10, 6),
        d(2026, 10, 7),
        d(2026, 10, 8),
    );
    facts.documented(&[mon, tue]).await;
    let wednesday = facts.attended(wed, 180).await;
    facts.attended(thu, 120).await;
    let a = account_when(&b, &token, &pid, "Monday and Tuesday billed", |a| {
        billed(a, mon) && billed(a, tue) && day_of(a, thu).is_some()
    })
    .await;
    assert_eq!(
        reasons(&a, wed),
        vec![HoldReason::NoSignedNote],
        "Wednesday lacks only its note"
    );
    assert_eq!(
        reasons(&a, thu),
        vec![HoldReason::MinutesBelowMinimum, HoldReason::NoSignedNote]
    );
    let short = &day_of(&a, thu).unwrap().holds[0];
    assert_eq!(short.detail, "120 of 180 clinical minutes");
    let monday = a
        .charges
        .iter()
        .find(|c| c.service_date == date(mon))
        .unwrap();
    assert_eq!(
        (
            monday.hcpcs.as_str(),
            monday.revenue_code.as_str(),
            monday.amount_cents,
            monday.units
        ),
        ("H0015", "0906", 18_000, 1)
    );

    // The note signed later releases Wednesday: billed once.
    facts.signed(wed).await;
    let a = account_when(&b, &token, &pid, "Wednesday released", |a| billed(a, wed)).await;
    assert_eq!(live_per_diem(&a, wed), 1);
    // Redelivered (same event id) and replayed (a new id, the same fact): still one.
    let again = facts.attendance(wed, 180);
    publish_as(
        &net.bootstrap_servers(),
        "iop.scheduling.v1",
        &pid,
        &again,
        &wednesday,
    )
    .await;
    publish(&net.bootstrap_servers(), "iop.scheduling.v1", &pid, &again).await;
    facts.signed(wed).await;
    // A later fact is applied after them (one partition per patient).
    let fri = d(2026, 10, 9);
    facts.attended(fri, 60).await;
    let a = account_when(&b, &token, &pid, "Friday seen", |a| {
        day_of(a, fri).is_some()
    })
    .await;
    assert_eq!(
        live_per_diem(&a, wed),
        1,
        "never two charges for one day and payer"
    );
    assert_eq!(
        a.charges
            .iter()
            .filter(|c| c.status != ChargeStatus::Void as i32)
            .count(),
        3
    );

    // Authorization: 5 days, 3 used, and a warning once 2 are left.
    let auths = b
        .clone()
        .list_authorizations(authed(
            ListAuthorizationsRequest {
                patient_id: pid.clone(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .authorizations;
    assert_eq!((auths[0].units_used, auths[0].units_left), (3, 2));
    assert!(
        auths[0].warnings.contains(&"2 units left".to_owned()),
        "{:?}",
        auths[0].warnings
    );

    // A week with two billable days bills neither.
    let (mon2, tue2) = (d(2026, 10, 12), d(2026, 10, 13));
    facts.documented(&[mon2, tue2]).await;
    let a = account_when(&b, &token, &pid, "the short week decided", |a| {
        day_of(a, tue2).is_some()
    })
    .await;
    for day in [mon2, tue2] {
        assert_eq!(
            reasons(&a, day),
            vec![HoldReason::WeekBelowMinimum],
            "{day}"
        );
        assert_eq!(live_per_diem(&a, day), 0);
    }
    assert_eq!(
        day_of(&a, tue2).unwrap().holds[0].detail,
        "2 of 3 billable days (week ended)"
    );

    // The units run out: the sixth day is held for it.
    let week3 = [d(2026, 10, 19), d(2026, 10, 20), d(2026, 10, 21)];
    facts.documented(&week3).await;
    let a = account_when(&b, &token, &pid, "the third week decided", |a| {
        week3.iter().all(|x| {
            day_of(a, *x)
                .is_some_and(|d| d.status == DayStatus::Billed as i32 || !d.holds.is_empty())
        })
    })
    .await;
    assert!(billed(&a, week3[0]) && billed(&a, week3[1]));
    assert_eq!(
        reasons(&a, week3[2]),
        vec![HoldReason::AuthorizationExhausted]
    );

    // Held days of the facility, for a biller.
    let held = b
        .clone()
        .list_held_days(authed(
            ListHeldDaysRequest {
                facility_id: "oakland".into(),
                from_date: date(d(2026, 10, 1)),
                to_date: date(d(2026, 10, 31)),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .days;
    let mine: Vec<_> = held
        .iter()
        .filter(|x| x.patient_id == pid)
        .map(|x| x.service_date)
        .collect();
    assert_eq!(mine, [thu, fri, mon2, tue2, week3[2]].map(date).to_vec());

    // As an analyst reads them: one ChargeCreated per billed day, DayHeld with reasons.
    let created: Vec<events::ChargeCreated> = billing_events(&net, &pid).await;
    let mut days: Vec<_> = created.iter().map(|c| c.service_date).collect();
    days.sort_by_key(|x| x.map(|x| (x.year, x.month, x.day)));
    assert_eq!(days, [mon, tue, wed, week3[0], week3[1]].map(date).to_vec());
    let held: Vec<events::DayHeld> = billing_events(&net, &pid).await;
    assert!(held.iter().any(|h| {
        h.service_date == date(wed)
            && h.holds
                .iter()
                .any(|x| x.reason == HoldReason::NoSignedNote as i32)
    }));
    let warned: Vec<events::AuthorizationRunningOut> = billing_events(&net, &pid).await;
    assert!(warned.iter().any(|w| w.units_left == 2));
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_level_change_needs_a_new_authorization_and_a_revocation_holds_later_days() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let b = billing(&net).await;
    let token = biller(&net, "oakland");
    let (pid, consent) = insured(&net, "oakland", ("Lena", "Ortiz"), d(2026, 10, 5), "99PHP").await;
    let facts = Facts {
        net: &net,
        pid: &pid,
        facility: "oakland",
    };
    facts.diagnosed().await;
    authorize(
        &b,
        &token,
        (&pid, "oakland", "99PHP"),
        LevelOfCare::LevelOfCare21IntensiveOutpatient,
        20,
        (d(2026, 10, 1), d(2026, 10, 31)),
    )
    .await;
    let week = [d(2026, 10, 5), d(2026, 10, 6), d(2026, 10, 7)];
    facts.documented(&week).await;
    account_when(&b, &token, &pid, "the IOP week billed", |a| {
        week.iter().all(|x| billed(a, *x))
    })
    .await;

    // Stepped up to partial hospitalization on 12 October, the authorization still for IOP.
    let staff = net.token(&[Role::Intake], &["oakland"]);
    let episode = net
        .admissions()
        .await
        .get_patient(authed(
            GetPatientRequest {
                patient_id: pid.clone(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .patient
        .unwrap()
        .active_episode
        .unwrap()
        .episode_id;
    let moved = PatientTransferred {
        patient_id: pid.clone(),
        episode_id: episode,
        from_facility_id: "oakland".into(),
        to_facility_id: "oakland".into(),
        program: Program::Php as i32,
        level_of_care: LevelOfCare::LevelOfCare25PartialHospitalization as i32,
        transferred_on: date(d(2026, 10, 12)),
        occurred_at: Some(wire::timestamp(Utc::now())),
    };
    publish(&net.bootstrap_servers(), "iop.admissions.v1", &pid, &moved).await;
    let php = [d(2026, 10, 12), d(2026, 10, 13), d(2026, 10, 14)];
    facts.documented(&php).await;
    let a = account_when(&b, &token, &pid, "the PHP week held", |a| {
        php.iter().all(|x| day_of(a, *x).is_some())
    })
    .await;
    for day in php {
        assert_eq!(reasons(&a, day), vec![HoldReason::NoAuthorization], "{day}");
    }
    let why = &day_of(&a, php[0]).unwrap().holds[0].detail;
    assert!(why.contains("another level"), "{why}");
    // The new authorization releases them, at the PHP rate.
    authorize(
        &b,
        &token,
        (&pid, "oakland", "99PHP"),
        LevelOfCare::LevelOfCare25PartialHospitalization,
        10,
        (d(2026, 10, 12), d(2026, 11, 30)),
    )
    .await;
    let a = account_when(&b, &token, &pid, "the PHP week released", |a| {
        php.iter().all(|x| billed(a, *x))
    })
    .await;
    let c = a
        .charges
        .iter()
        .find(|c| c.service_date == date(php[0]))
        .unwrap();
    assert_eq!(
        (c.hcpcs.as_str(), c.revenue_code.as_str(), c.amount_cents),
        ("H0035", "0913", 45_000)
    );

    // Revoked at noon on 20 October (as admissions publishes it): the day of
    // the 19th stays billable (reliance); the 20th on are held, their open
    // charges voided.
    let later = [d(2026, 10, 19), d(2026, 10, 20), d(2026, 10, 21)];
    facts.documented(&later).await;
    account_when(&b, &token, &pid, "the fourth week billed", |a| {
        later.iter().all(|x| billed(a, *x))
    })
    .await;
    let revoked = ConsentRevoked {
        patient_id: pid.clone(),
        consent_id: consent.clone(),
        revoked_at: Some(wire::timestamp(
            LA.with_ymd_and_hms(2026, 10, 20, 12, 0, 0)
                .unwrap()
                .with_timezone(&Utc),
        )),
    };
    publish(
        &net.bootstrap_servers(),
        "iop.admissions.v1",
        &pid,
        &revoked,
    )
    .await;
    let a = account_when(&b, &token, &pid, "later days held", |a| {
        !billed(a, later[1])
    })
    .await;
    assert!(billed(&a, later[0]), "the 19th predates the revocation");
    assert!(billed(&a, week[0]), "so does the first week");
    for day in &later[1..] {
        assert_eq!(
            reasons(&a, *day),
            vec![HoldReason::NoPaymentConsent],
            "{day}"
        );
        assert_eq!(live_per_diem(&a, *day), 0);
    }
    let voided: Vec<events::ChargeVoided> = billing_events(&net, &pid).await;
    assert_eq!(voided.len(), 2, "the 20th's and 21st's open charges");

    // A restriction (self-paid) holds the days it covers, whoever consented.
    b.clone()
        .record_restriction(authed(
            RecordRestrictionRequest {
                patient_id: pid.clone(),
                facility_id: "oakland".into(),
                from_date: date(d(2026, 10, 5)),
                to_date: date(d(2026, 10, 5)),
            },
            &token,
        ))
        .await
        .unwrap();
    let a = account(&b, &token, &pid).await;
    assert_eq!(reasons(&a, week[0]), vec![HoldReason::Restricted]);
    assert_eq!(live_per_diem(&a, week[0]), 0, "its open charge is voided");
    assert!(billed(&a, week[1]), "the restriction covers one day");
    net.stop().await;
}

/// The repository's root (the tests run in the crate's directory).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `scripts/check-x12.py` (pyx12) over `files`; panics with its findings.
fn pyx12(files: &[PathBuf]) {
    let out = Command::new("python3")
        .arg(root().join("scripts/check-x12.py"))
        .args(files)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pyx12 refused the files:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Mondays to Wednesdays of October 2026, the weeks that ended in October.
fn october() -> Vec<NaiveDate> {
    [5, 6, 7, 12, 13, 14, 19, 20, 21, 26, 27, 28]
        .map(|x| d(2026, 10, x))
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_is_claimed_as_837i_and_837p_that_pyx12_accepts() {
    let net = TestNetwork::start(Backend::Postgres).await;
    let b = billing(&net).await;
    let token = net.token(&[Role::Billing], &["oakland", "san-jose"]);
    // Medicare (837I, condition code 92, no authorization needed).
    let (medicare, _) = insured(&net, "oakland", ("Ana", "Lopez"), d(2026, 10, 1), "01112").await;
    // Medi-Cal (837P, authorization on the claim).
    let (medi_cal, _) = insured(&net, "oakland", ("Ben", "Okafor"), d(2026, 10, 1), "MCDMC").await;
    authorize(
        &b,
        &token,
        (&medi_cal, "oakland", "MCDMC"),
        LevelOfCare::LevelOfCare21IntensiveOutpatient,
        30,
        (d(2026, 10, 1), d(2026, 12, 31)),
    )
    .await;
    // Medicare, transferred to San Jose on 19 October: two claims.
    let (moved, _) = insured(&net, "oakland", ("Cy", "Tran"), d(2026, 10, 1), "01112").await;
    for (pid, facility) in [
        (&medicare, "oakland"),
        (&medi_cal, "oakland"),
        (&moved, "oakland"),
    ] {
        let facts = Facts {
            net: &net,
            pid,
            facility,
        };
        facts.diagnosed().await;
        let days: Vec<NaiveDate> = if *pid == moved {
            october()[..6].to_vec()
        } else {
            october()
        };
        facts.documented(&days).await;
    }
    let lab = DrugTestCodes {
        patient_id: medicare.clone(),
        facility_id: "oakland".into(),
        service_date: date(d(2026, 10, 6)),
        presumptive_code: "80305".into(),
        definitive_code: String::new(),
        occurred_at: Some(wire::timestamp(Utc::now())),
    };
    publish(&net.bootstrap_servers(), "iop.lab.v1", &medicare, &lab).await;
    let staff = net.token(&[Role::Intake], &["oakland", "san-jose"]);
    let episode = net
        .admissions()
        .await
        .get_patient(authed(
            GetPatientRequest {
                patient_id: moved.clone(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .patient
        .unwrap()
        .active_episode
        .unwrap()
        .episode_id;
    let transfer = PatientTransferred {
        patient_id: moved.clone(),
        episode_id: episode,
        from_facility_id: "oakland".into(),
        to_facility_id: "san-jose".into(),
        program: Program::IopDay as i32,
        level_of_care: LevelOfCare::LevelOfCare21IntensiveOutpatient as i32,
        transferred_on: date(d(2026, 10, 19)),
        occurred_at: Some(wire::timestamp(Utc::now())),
    };
    publish(
        &net.bootstrap_servers(),
        "iop.admissions.v1",
        &moved,
        &transfer,
    )
    .await;
    let in_san_jose = Facts {
        net: &net,
        pid: &moved,
        facility: "san-jose",
    };
    in_san_jose.documented(&october()[6..]).await;
    for pid in [&medicare, &medi_cal, &moved] {
        account_when(&b, &token, pid, "October billed", |a| {
            october().iter().all(|x| billed(a, *x))
        })
        .await;
    }
    let a = account(&b, &token, &medicare).await;
    assert!(a.charges.iter().any(|c| c.hcpcs == "80305"
        && c.kind == ChargeKind::Lab as i32
        && c.amount_cents == 1_250));

    let created = b
        .clone()
        .create_claims(authed(
            CreateClaimsRequest {
                facility_id: "oakland".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let mine: Vec<_> = created
        .claims
        .iter()
        .filter(|c| [&medicare, &medi_cal, &moved].contains(&&c.patient_id))
        .collect();
    assert_eq!(
        mine.len(),
        3,
        "one claim per patient and payer for October at Oakland"
    );
    let medicare_claim = mine.iter().find(|c| c.patient_id == medicare).unwrap();
    assert_eq!(
        (
            medicare_claim.claim_type.as_str(),
            medicare_claim.lines,
            medicare_claim.charge_cents
        ),
        ("837I", 13, 12 * 25_000 + 1_250)
    );
    assert_eq!(
        medicare_claim.diagnoses,
        vec!["F1120".to_owned(), "F329".to_owned()],
        "principal first"
    );
    let split = mine.iter().find(|c| c.patient_id == moved).unwrap();
    assert_eq!(
        (split.from_date, split.to_date, split.lines),
        (date(d(2026, 10, 5)), date(d(2026, 10, 14)), 6)
    );
    let san_jose = b
        .clone()
        .create_claims(authed(
            CreateClaimsRequest {
                facility_id: "san-jose".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .claims;
    let other = san_jose
        .iter()
        .find(|c| c.patient_id == moved)
        .expect("the transfer splits the claim");
    assert_eq!(
        (other.from_date, other.to_date, other.lines),
        (date(d(2026, 10, 19)), date(d(2026, 10, 28)), 6)
    );
    // Claims are made once.
    let again = b
        .clone()
        .create_claims(authed(
            CreateClaimsRequest {
                facility_id: "oakland".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        again
            .claims
            .iter()
            .all(|c| ![&medicare, &medi_cal, &moved].contains(&&c.patient_id))
    );

    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (payer, facility, name) in [
        ("01112", "oakland", "837i.x12"),
        ("MCDMC", "oakland", "837p.x12"),
        ("01112", "san-jose", "837i-san-jose.x12"),
    ] {
        let submitted = b
            .clone()
            .submit_claims(authed(
                SubmitClaimsRequest {
                    facility_id: facility.into(),
                    payer_id: payer.into(),
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(!submitted.x12.is_empty(), "{payer} at {facility}");
        let path = dir.path().join(name);
        std::fs::write(&path, &submitted.x12).unwrap();
        files.push(path);
    }
    pyx12(&files);
    let institutional = std::fs::read_to_string(&files[0]).unwrap();
    for needle in [
        "ST*837*0001*005010X223A2~",
        &format!("NM1*85*2*IOP NETWORK OAKLAND*****XX*{OAKLAND_NPI}~"),
        "HI*ABK:F1120~",
        "HI*ABF:F329~",
        "HI*BG:92~",
        "SV2*0906*HC:H0015*250*UN*1~",
        "SV2*0300*HC:80305*12.5*UN*1~",
        "DTP*434*RD8*20261005-20261028~",
        "N3*200 PINE AVE APT 4~",
    ] {
        assert!(
            institutional.contains(needle),
            "837I lacks {needle}:\n{institutional}"
        );
    }
    let professional = std::fs::read_to_string(&files[1]).unwrap();
    for needle in [
        "ST*837*0001*005010X222A1~",
        "CLM*",
        "*57:B:1*Y*A*Y*Y~",
        "HI*ABK:F1120*ABF:F329~",
        "SV1*HC:H0015*180*UN*1***1:2~",
        "REF*G1*AUTH-",
    ] {
        assert!(
            professional.contains(needle),
            "837P lacks {needle}:\n{professional}"
        );
    }
    assert_eq!(
        professional.matches("LX*").count(),
        12,
        "one line per date of service"
    );
    let san_jose_file = std::fs::read_to_string(&files[2]).unwrap();
    assert!(san_jose_file.contains("NM1*85*2*IOP NETWORK SAN JOSE*****XX*1543218782~"));
    // Submitted; the payer's acknowledgement moves them on.
    let listed = b
        .clone()
        .list_claims(authed(
            ListClaimsRequest {
                facility_id: "oakland".into(),
                status: ClaimStatus::Submitted as i32,
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .claims;
    assert!(listed.iter().any(|c| c.claim_id == medicare_claim.claim_id));
    let accepted = b
        .clone()
        .acknowledge_claim(authed(
            AcknowledgeClaimRequest {
                claim_id: medicare_claim.claim_id.clone(),
                accepted: true,
                reason: String::new(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert_eq!(accepted.status, ClaimStatus::Accepted as i32);
    let twice = b
        .clone()
        .acknowledge_claim(authed(
            AcknowledgeClaimRequest {
                claim_id: medicare_claim.claim_id.clone(),
                accepted: true,
                reason: String::new(),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let made: Vec<events::ClaimCreated> = billing_events(&net, &moved).await;
    assert_eq!(made.len(), 2);
    assert!(made.iter().all(|c| c.claim_type == "837I" && c.lines == 6));
    net.stop().await;
}

/// A sample 835 of `services/billing/samples/x12/` for this network: the
/// claim placeholders (`CLAIM-A`…) replaced by the claims' numbers, the
/// sample payee's NPI by Oakland's.
fn sample_835(name: &str, numbers: &HashMap<&str, String>) -> String {
    let mut text =
        std::fs::read_to_string(root().join("services/billing/samples/x12").join(name)).unwrap();
    for (placeholder, number) in numbers {
        text = text.replace(placeholder, number);
    }
    text.replace("1234567893", OAKLAND_NPI)
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remittances_apply_with_balances_and_an_unbalanced_one_is_refused(
    #[case] backend: Backend,
) {
    // This plan pays a single day a week (so a claim can be one day long).
    let net = TestNetwork::start_with(backend, |s| {
        s.set("billing.demo_payers.99PHP.min_days_per_week", 1)
            .unwrap();
    })
    .await;
    let b = billing(&net).await;
    let token = biller(&net, "oakland");
    let plan = [("A", 3), ("B", 2), ("C", 1), ("D", 1), ("E", 1), ("F", 1)];
    let mut patients: HashMap<&str, String> = HashMap::new();
    for (letter, days) in plan {
        let (pid, _) = insured(
            &net,
            "oakland",
            ("Remi", &format!("Payer{letter}")),
            d(2026, 10, 5),
            "99PHP",
        )
        .await;
        authorize(
            &b,
            &token,
            (&pid, "oakland", "99PHP"),
            LevelOfCare::LevelOfCare21IntensiveOutpatient,
            10,
            (d(2026, 10, 1), d(2026, 10, 31)),
        )
        .await;
        let facts = Facts {
            net: &net,
            pid: &pid,
            facility: "oakland",
        };
        facts.diagnosed().await;
        let dates: Vec<NaiveDate> = (0..days).map(|i| d(2026, 10, 5 + i)).collect();
        facts.documented(&dates).await;
        account_when(&b, &token, &pid, "billed", |a| {
            dates.iter().all(|x| billed(a, *x))
        })
        .await;
        patients.insert(letter, pid);
    }
    let claims = b
        .clone()
        .create_claims(authed(
            CreateClaimsRequest {
                facility_id: "oakland".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .claims;
    let mut numbers: HashMap<&str, String> = HashMap::new();
    let mut ids: HashMap<&str, String> = HashMap::new();
    for (letter, _) in plan {
        let c = claims
            .iter()
            .find(|c| c.patient_id == patients[letter])
            .unwrap();
        numbers.insert(
            [
                "CLAIM-A", "CLAIM-B", "CLAIM-C", "CLAIM-D", "CLAIM-E", "CLAIM-F",
            ]["ABCDEF".find(letter).unwrap()],
            c.claim_number.clone(),
        );
        ids.insert(letter, c.claim_id.clone());
    }
    let submitted = b
        .clone()
        .submit_claims(authed(
            SubmitClaimsRequest {
                facility_id: "oakland".into(),
                payer_id: "99PHP".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(submitted.claim_ids.len(), 6);
    let apply = |name: &str| {
        let request = ApplyRemittanceRequest {
            facility_id: "oakland".into(),
            x12: sample_835(name, &numbers),
        };
        let b = b.clone();
        let token = token.clone();
        async move { b.clone().apply_remittance(authed(request, &token)).await }
    };
    let claim = |letter: &'static str| {
        let b = b.clone();
        let token = token.clone();
        let pid = patients[letter].clone();
        let id = ids[letter].clone();
        async move {
            account(&b, &token, &pid)
                .await
                .claims
                .into_iter()
                .find(|c| c.claim_id == id)
                .unwrap()
        }
    };

    // Paid in full.
    let paid = apply("835-paid.x12").await.unwrap().into_inner();
    assert_eq!((paid.paid_cents, paid.work_items), (75_000, 0));
    let a = claim("A").await;
    assert_eq!(
        (a.status, a.paid_cents, a.payer_claim_number.as_str()),
        (ClaimStatus::Paid as i32, 75_000, "PHP2026000001")
    );
    // The same payment again changes nothing.
    assert!(
        apply("835-paid.x12")
            .await
            .unwrap()
            .into_inner()
            .already_applied
    );
    assert_eq!(claim("A").await.paid_cents, 75_000);

    // Partial: PR-2 coinsurance is the patient's.
    apply("835-coinsurance.x12").await.unwrap();
    let bc = claim("B").await;
    assert_eq!(
        (bc.status, bc.paid_cents, bc.patient_responsibility_cents),
        (ClaimStatus::Paid as i32, 40_000, 10_000)
    );
    let owed = account(&b, &token, &patients["B"]).await.balance_cents;
    assert_eq!(owed, 10_000);
    let after = b
        .clone()
        .record_patient_payment(authed(
            RecordPatientPaymentRequest {
                patient_id: patients["B"].clone(),
                facility_id: "oakland".into(),
                amount_cents: 4_000,
                reference: "RCPT-0042".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.balance_cents, 6_000);

    // Denied for no authorization: queued with the reason.
    let denied = apply("835-denied.x12").await.unwrap().into_inner();
    assert_eq!(denied.work_items, 1);
    assert_eq!(claim("C").await.status, ClaimStatus::Denied as i32);

    // A reversal of A takes its payment back.
    apply("835-reversal.x12").await.unwrap();
    let a = claim("A").await;
    assert_eq!((a.status, a.paid_cents), (ClaimStatus::Reversed as i32, 0));

    // Paid with provider-level adjustments (PLB): a recovery and interest.
    let plb = apply("835-plb.x12").await.unwrap().into_inner();
    assert_eq!(plb.paid_cents, 20_500);
    let adjusted: Vec<(String, i64)> = plb
        .provider_adjustments
        .iter()
        .map(|p| (p.reason.clone(), p.amount_cents))
        .collect();
    assert_eq!(
        adjusted,
        vec![("WO".to_owned(), 5_000), ("L6".to_owned(), -500)]
    );
    assert_eq!(claim("D").await.paid_cents, 25_000);

    // Unbalanced: refused, naming the claim, and nothing of it applied.
    let refused = apply("835-unbalanced.x12").await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains(&numbers["CLAIM-E"]),
        "{}",
        refused.message()
    );
    assert_eq!(claim("E").await.status, ClaimStatus::Submitted as i32);

    // Timely filing: denied CO-29, queued.
    apply("835-timely.x12").await.unwrap();
    let queue = b
        .clone()
        .list_work_queue(authed(
            ListWorkQueueRequest {
                facility_id: "oakland".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .items;
    let codes: Vec<(&str, &str)> = queue
        .iter()
        .map(|w| (w.code.as_str(), w.claim_id.as_str()))
        .collect();
    assert!(codes.contains(&("CO-197", ids["C"].as_str())), "{codes:?}");
    assert!(codes.contains(&("CO-29", ids["F"].as_str())), "{codes:?}");
    let item = queue.iter().find(|w| w.code == "CO-197").unwrap();
    assert!(item.reason.contains("authorization"), "{}", item.reason);
    b.clone()
        .resolve_work_item(authed(
            ResolveWorkItemRequest {
                work_item_id: item.work_item_id.clone(),
                resolution: "retro authorization requested".into(),
            },
            &token,
        ))
        .await
        .unwrap();
    let left = b
        .clone()
        .list_work_queue(authed(
            ListWorkQueueRequest {
                facility_id: "oakland".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(left.len(), queue.len() - 1);

    // Every sample is X12 pyx12 accepts, as written.
    let samples: Vec<PathBuf> = [
        "835-paid",
        "835-coinsurance",
        "835-denied",
        "835-reversal",
        "835-plb",
        "835-unbalanced",
        "835-timely",
        "837i",
        "837p",
    ]
    .iter()
    .map(|n| {
        root()
            .join("services/billing/samples/x12")
            .join(format!("{n}.x12"))
    })
    .collect();
    pyx12(&samples);
    let statuses: Vec<events::ClaimStatusChanged> = billing_events(&net, &patients["C"]).await;
    let last = statuses.last().unwrap();
    assert_eq!(
        (last.status, last.adjustments.clone()),
        (ClaimStatus::Denied as i32, vec!["CO-197".to_owned()])
    );
    let balance: Vec<events::PatientBalanceChanged> = billing_events(&net, &patients["B"]).await;
    assert_eq!(
        balance.iter().map(|x| x.balance_cents).collect::<Vec<_>>(),
        vec![10_000, 6_000]
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eligibility_is_asked_in_a_270_and_a_271_answer_holds_inactive_days() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let b = billing(&net).await;
    let token = biller(&net, "oakland");
    let (pid, _) = insured(&net, "oakland", ("Eli", "Gomez"), d(2026, 10, 5), "01112").await;
    let due = until("the coverage due a check", || async {
        let due = b
            .clone()
            .list_eligibility_due(authed(
                ListEligibilityDueRequest {
                    facility_id: "oakland".into(),
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner()
            .due;
        due.into_iter().find(|x| x.patient_id == pid)
    })
    .await;
    assert_eq!(due.why, "never checked");
    let asked = b
        .clone()
        .request_eligibility(authed(
            RequestEligibilityRequest {
                patient_id: pid.clone(),
                facility_id: "oakland".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    for needle in [
        "ST*270*0001*005010X279A1~",
        "NM1*IL*1*GOMEZ*ELI****MI*",
        "EQ*AI~",
        &format!("TRN*1*{}*1943000002~", asked.trace_number),
        &format!("NM1*1P*2*IOP NETWORK OAKLAND*****XX*{OAKLAND_NPI}~"),
    ] {
        assert!(
            asked.x12.contains(needle),
            "270 lacks {needle}:\n{}",
            asked.x12
        );
    }
    let parsed = iop_billing::x12::parse(&asked.x12).unwrap();
    assert!(
        parsed
            .segments
            .iter()
            .any(|s| s[0] == "DMG" && s[2] == "19880703")
    );
    // The payer answers: active this year.
    let answer = std::fs::read_to_string(root().join("services/billing/samples/x12/271.x12"))
        .unwrap()
        .replace("ELIG0001", &asked.trace_number);
    let applied = b
        .clone()
        .apply_eligibility(authed(
            ApplyEligibilityRequest {
                facility_id: "oakland".into(),
                x12: answer,
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (applied.results.len(), applied.results[0].active),
        (1, true)
    );
    assert_eq!(applied.results[0].coverage_id, asked.coverage_id);
    let due = b
        .clone()
        .list_eligibility_due(authed(
            ListEligibilityDueRequest {
                facility_id: "oakland".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .due;
    assert!(
        due.iter().all(|x| x.patient_id != pid),
        "checked this month"
    );
    // An unknown trace is refused whole.
    let stray =
        std::fs::read_to_string(root().join("services/billing/samples/x12/271.x12")).unwrap();
    let e = b
        .clone()
        .apply_eligibility(authed(
            ApplyEligibilityRequest {
                facility_id: "oakland".into(),
                x12: stray,
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert!(e.message().contains("ELIG0001"), "{}", e.message());

    // A second inquiry answered inactive: the days it covers are held.
    let facts = Facts {
        net: &net,
        pid: &pid,
        facility: "oakland",
    };
    facts.diagnosed().await;
    let week = [d(2026, 10, 5), d(2026, 10, 6), d(2026, 10, 7)];
    facts.documented(&week).await;
    account_when(&b, &token, &pid, "the week billed", |a| {
        week.iter().all(|x| billed(a, *x))
    })
    .await;
    let asked = b
        .clone()
        .request_eligibility(authed(
            RequestEligibilityRequest {
                patient_id: pid.clone(),
                facility_id: "oakland".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let inactive =
        std::fs::read_to_string(root().join("services/billing/samples/x12/271-inactive.x12"))
            .unwrap();
    let trace = iop_billing::x12::parse(&inactive)
        .unwrap()
        .segments
        .iter()
        .find(|s| s[0] == "TRN")
        .unwrap()[2]
        .clone();
    let applied = b
        .clone()
        .apply_eligibility(authed(
            ApplyEligibilityRequest {
                facility_id: "oakland".into(),
                x12: inactive.replace(&trace, &asked.trace_number),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!applied.results[0].active);
    let a = account(&b, &token, &pid).await;
    for day in week {
        assert_eq!(
            reasons(&a, day),
            vec![HoldReason::CoverageInactive],
            "{day}"
        );
    }
    let checked: Vec<events::EligibilityChecked> = billing_events(&net, &pid).await;
    assert_eq!(
        checked.iter().map(|c| c.active).collect::<Vec<_>>(),
        vec![true, false]
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_is_the_billing_roles_for_its_facilities_and_audited() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let b = billing(&net).await;
    let (pid, _) = insured(&net, "oakland", ("Ida", "Berg"), d(2026, 10, 5), "01112").await;
    let ours = biller(&net, "oakland");
    until("billing knows the patient", || async {
        b.clone()
            .get_account(authed(
                GetAccountRequest {
                    patient_id: pid.clone(),
                },
                &ours,
            ))
            .await
            .ok()
    })
    .await;
    // Another facility's biller, a clinician, and bad input.
    let theirs = biller(&net, "fresno");
    let e = b
        .clone()
        .get_account(authed(
            GetAccountRequest {
                patient_id: pid.clone(),
            },
            &theirs,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let clinician = net.token(&[Role::Clinician], &["oakland"]);
    let e = b
        .clone()
        .get_account(authed(
            GetAccountRequest {
                patient_id: pid.clone(),
            },
            &clinician,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = b
        .clone()
        .list_claims(authed(
            ListClaimsRequest {
                facility_id: "oakland".into(),
                status: 0,
            },
            &theirs,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = b
        .clone()
        .record_authorization(authed(
            RecordAuthorizationRequest {
                patient_id: pid.clone(),
                facility_id: "oakland".into(),
                payer_id: "01112".into(),
                number: "A-1".into(),
                level_of_care: 2,
                units_approved: 0,
                ..Default::default()
            },
            &ours,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("units_approved"), "{}", e.message());
    let e = b
        .clone()
        .record_authorization(authed(
            RecordAuthorizationRequest {
                patient_id: pid.clone(),
                facility_id: "oakland".into(),
                payer_id: "NOPE".into(),
                number: "A-1".into(),
                level_of_care: 2,
                units_approved: 3,
                from_date: date(d(2026, 10, 1)),
                to_date: date(d(2026, 10, 31)),
                next_review_on: None,
            },
            &ours,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = b
        .clone()
        .apply_remittance(authed(
            ApplyRemittanceRequest {
                facility_id: "oakland".into(),
                x12: "not x12".into(),
            },
            &ours,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        b.clone()
            .list_authorizations(authed(
                ListAuthorizationsRequest {
                    patient_id: pid.clone()
                },
                &ours
            ))
            .await
            .unwrap()
            .into_inner()
            .authorizations
            .is_empty(),
        "a refused command changed nothing"
    );
    let url = net.database_url("billing");
    assert!(iop_testkit::audit_rows(url, &pid, Some("billing.GetAccount"), "allowed").await >= 1);
    assert!(iop_testkit::audit_rows(url, &pid, Some("billing.GetAccount"), "denied").await >= 2);
    net.stop().await;
}
