//! The de-identified stream as an analyst receives it: patients registered,
//! admitted, transferred, discharged and attending through the network, with
//! known identifiers, and every record of `iop.analytics.v1` then checked
//! field by field: the facts are there (age in years with 90 for 90 or older,
//! sex, facility, level, days and weeks since the episode's start, the year),
//! one stable random pseudonym per patient, and nothing that names or dates
//! anyone: no name, birth date, phone, e-mail, SSN digits, MRN, id of any
//! source record or event, calendar date, or trace; `ce_time` and the Kafka
//! timestamp are 1 January of the year.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate};
use iop_proto::{
    admissions::{
        events::v1::PatientRegistered,
        v1::{DischargePatientRequest, RegisterPatientRequest, TransferPatientRequest},
    },
    analytics::events::v1::{
        self as out, EpisodeEnded, EpisodeStarted, EpisodeTransferred, SessionAttended,
    },
    billing::{events::v1::ChargeCreated, v1::ChargeKind},
    clinical::{
        events::v1::{LevelOfCareDecided, ScreeningScored},
        v1::{Decision, Instrument},
    },
    common::v1::{DischargeReason, LevelOfCare, PersonName, Program, Sex},
    lab::events::v1::{Interpretation, ResultInterpreted},
    scheduling::{
        events::v1::AttendanceRecorded,
        v1::{AttendanceStatus, SessionType},
    },
};
use iop_runtime::{auth::Role, wire::date};
use iop_testkit::{
    Backend, TestNetwork, admit_on, authed, header, publish, read_topic, record_count, register,
    until,
};
use prost::Message as _;
use rdkafka::Message as _;

struct Known {
    id: String,
    given: &'static str,
    family: &'static str,
    birth: NaiveDate,
    phone: &'static str,
    email: &'static str,
    ssn_last4: &'static str,
}

fn registration(p: &Known, facility: &str) -> RegisterPatientRequest {
    RegisterPatientRequest {
        legal_name: Some(PersonName {
            given: p.given.into(),
            middle: String::new(),
            family: p.family.into(),
        }),
        date_of_birth: Some(date(p.birth)),
        sex: Sex::Female as i32,
        phone: p.phone.into(),
        email: p.email.into(),
        ssn_last4: p.ssn_last4.into(),
        facility_id: facility.into(),
        confirm_new_patient: true,
        ..Default::default()
    }
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analytics_stream_keeps_the_facts_and_nothing_that_identifies() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let bootstrap = net.bootstrap_servers();
    let token = net.token(&[Role::Intake], &["oakland", "san-jose", "fresno"]);
    let mut admissions = net.admissions().await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive();

    let mut ana = Known {
        id: String::new(),
        given: "Marisol",
        family: "Quintanilla-Ebersole",
        birth: ymd(1979, 1, 30),
        phone: "+15105550147",
        email: "marisol.qe@example.org",
        ssn_last4: "4821",
    };
    let mut ben = Known {
        id: String::new(),
        given: "Bartholomew",
        family: "Okonkwo-Lindqvist",
        birth: ymd(1931, 5, 5),
        phone: "+15595550123",
        email: "bart.ol@example.net",
        ssn_last4: "7306",
    };
    ana.id = register(&mut admissions, &token, registration(&ana, "oakland"))
        .await
        .unwrap()
        .0;
    ben.id = register(&mut admissions, &token, registration(&ben, "fresno"))
        .await
        .unwrap()
        .0;

    // Ana: admitted six days ago at Oakland, moved to San Jose three days
    // ago, attended a group four days ago, discharged today.
    let admitted_on = today - Days::new(6);
    admit_on(
        &mut admissions,
        &token,
        &ana.id,
        "oakland",
        Program::IopDay,
        Some(date(admitted_on)),
    )
    .await
    .unwrap();
    admissions
        .transfer_patient(authed(
            TransferPatientRequest {
                patient_id: ana.id.clone(),
                to_facility_id: "san-jose".into(),
                program: Program::IopDay as i32,
                transferred_on: Some(date(today - Days::new(3))),
            },
            &token,
        ))
        .await
        .unwrap();
    // Ana's attendance comes after her admission was projected (started,
    // transferred); Ben's arrives before his admission (as in a replay, when
    // scheduling's partition runs ahead): it waits for it.
    let partitions = net.settings.kafka.topic_partitions;
    until("Ana's admission projected", || async {
        (record_count(&bootstrap, "iop.analytics.v1", partitions) >= 2).then_some(())
    })
    .await;
    // Attendance as scheduling records it (this test stands in for scheduling).
    let session_ids = [
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    ];
    let attended =
        |p: &Known, session: &str, facility: &str, day: NaiveDate, minutes| AttendanceRecorded {
            patient_id: p.id.clone(),
            session_id: session.to_owned(),
            facility_id: facility.into(),
            session_type: SessionType::GroupTherapy as i32,
            status: AttendanceStatus::Attended as i32,
            minutes,
            clinical: true,
            service_date: Some(date(day)),
            week_start: Some(date(
                day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            )),
            time_zone: "America/Los_Angeles".into(),
            ..Default::default()
        };
    let mut source_event_ids = vec![
        publish(
            &bootstrap,
            "iop.scheduling.v1",
            &ana.id,
            &attended(&ana, &session_ids[0], "oakland", today - Days::new(4), 180),
        )
        .await,
        publish(
            &bootstrap,
            "iop.scheduling.v1",
            &ben.id,
            &attended(&ben, &session_ids[1], "fresno", today, 60),
        )
        .await,
    ];
    let service = net.database_url("analytics").to_owned();
    until("Ben's attendance held for his admission", || async {
        let db = sea_orm::Database::connect(&service).await.unwrap();
        let held = sea_orm::ConnectionTrait::query_one(
            &db,
            sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "SELECT COUNT(*) AS n FROM pending_attendance",
            ),
        )
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
        (held == 1).then_some(())
    })
    .await;
    admit_on(
        &mut admissions,
        &token,
        &ben.id,
        "fresno",
        Program::IopEvening,
        None,
    )
    .await
    .unwrap();
    admissions
        .discharge_patient(authed(
            DischargePatientRequest {
                patient_id: ana.id.clone(),
                reason: DischargeReason::Completed as i32,
                discharged_on: Some(date(today)),
            },
            &token,
        ))
        .await
        .unwrap();

    // The other contexts' facts about Ana (this test stands in for them): a
    // screening at intake, the day before her episode; a review decided, a
    // result, a charge during it. Their ids must not reach analysts.
    let (screening_id, review_id, result_id, charge_id) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let authorization = "AUTH-77881234";
    source_event_ids.push(
        publish(
            &bootstrap,
            "iop.clinical.v1",
            &ana.id,
            &ScreeningScored {
                patient_id: ana.id.clone(),
                screening_id: screening_id.clone(),
                facility_id: "oakland".into(),
                instrument: Instrument::Phq9 as i32,
                total: 12,
                band: "moderate".into(),
                positive: true,
                loinc: "44261-6".into(),
                administered_on: Some(date(admitted_on - Days::new(1))),
                ..Default::default()
            },
        )
        .await,
    );
    source_event_ids.push(
        publish(
            &bootstrap,
            "iop.clinical.v1",
            &ana.id,
            &LevelOfCareDecided {
                patient_id: ana.id.clone(),
                review_id: review_id.clone(),
                facility_id: "san-jose".into(),
                decision: Decision::Continue as i32,
                from_level: LevelOfCare::LevelOfCare21IntensiveOutpatient as i32,
                to_level: LevelOfCare::LevelOfCare21IntensiveOutpatient as i32,
                effective_on: Some(date(today - Days::new(1))),
                ..Default::default()
            },
        )
        .await,
    );
    source_event_ids.push(
        publish(
            &bootstrap,
            "iop.lab.v1",
            &ana.id,
            &ResultInterpreted {
                patient_id: ana.id.clone(),
                result_id: result_id.clone(),
                facility_id: "san-jose".into(),
                collected_on: Some(date(today - Days::new(2))),
                interpretation: Interpretation::UnexpectedPositive as i32,
                classes: vec!["fentanyl".into()],
                definitive: true,
                ..Default::default()
            },
        )
        .await,
    );
    source_event_ids.push(
        publish(
            &bootstrap,
            "iop.billing.v1",
            &ana.id,
            &ChargeCreated {
                patient_id: ana.id.clone(),
                charge_id: charge_id.clone(),
                facility_id: "oakland".into(),
                payer_id: "01112".into(),
                service_date: Some(date(today - Days::new(4))),
                kind: ChargeKind::PerDiem as i32,
                hcpcs: "H0015".into(),
                revenue_code: "0906".into(),
                units: 1,
                amount_cents: 25_000,
                authorization_id: authorization.into(),
                ..Default::default()
            },
        )
        .await,
    );

    // Ana: started, attended, transferred, ended, screened, reviewed,
    // tested, charged; Ben: started, attended.
    until("ten records on the analytics stream", || async {
        (record_count(&bootstrap, "iop.analytics.v1", partitions) >= 10).then_some(())
    })
    .await;
    let records = read_topic(&bootstrap, "iop.analytics.v1", 10).await;
    assert_eq!(record_count(&bootstrap, "iop.analytics.v1", partitions), 10);

    // What the PHI topics said about these two: every id and identifier.
    let sources = read_topic(
        &bootstrap,
        "iop.admissions.v1",
        record_count(&bootstrap, "iop.admissions.v1", partitions),
    )
    .await;
    let mut identifiers: BTreeSet<String> = BTreeSet::new();
    for r in &sources {
        let key = String::from_utf8_lossy(r.key().unwrap_or_default()).into_owned();
        if key != ana.id && key != ben.id {
            continue;
        }
        source_event_ids.push(header(r, "ce_id").unwrap().to_owned());
        if header(r, "ce_type") == Some("iop.admissions.events.v1.PatientRegistered") {
            let reg = PatientRegistered::decode(r.payload().unwrap()).unwrap();
            identifiers.insert(reg.mrn);
        }
        // Episode ids and anything else of the payload that looks like an id.
        for word in String::from_utf8_lossy(r.payload().unwrap_or_default())
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| uuid::Uuid::parse_str(w).is_ok())
        {
            identifiers.insert(word.to_owned());
        }
    }
    assert!(
        identifiers.len() >= 4,
        "MRNs and episode ids found: {identifiers:?}"
    );
    identifiers.extend(source_event_ids);
    identifiers.extend(session_ids.iter().cloned());
    identifiers.extend([
        screening_id,
        review_id,
        result_id,
        charge_id,
        authorization.to_owned(),
    ]);
    for p in [&ana, &ben] {
        identifiers.extend(
            [
                p.id.as_str(),
                p.given,
                p.family,
                p.phone,
                &p.phone[2..],
                p.email,
                p.ssn_last4,
            ]
            .map(String::from),
        );
        for format in ["%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"] {
            identifiers.insert(p.birth.format(format).to_string());
        }
        identifiers.insert(p.birth.year().to_string());
    }
    for day in [
        admitted_on - Days::new(1),
        admitted_on,
        today - Days::new(4),
        today - Days::new(3),
        today - Days::new(2),
        today - Days::new(1),
        today,
    ] {
        for format in ["%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"] {
            identifiers.insert(day.format(format).to_string());
        }
    }

    let year_start = ymd(today.year(), 1, 1)
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let mut by_subject: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut started = BTreeMap::new();
    let (mut attended_seen, mut transferred_seen, mut ended_seen) = (Vec::new(), None, None);
    let mut others = Vec::new();
    for r in &records {
        let key = String::from_utf8_lossy(r.key().unwrap()).into_owned();
        let ce_type = header(r, "ce_type").unwrap().to_owned();
        let payload = r.payload().unwrap();
        // Nothing dated but by the year, and no trace to follow back.
        assert_eq!(
            r.timestamp().to_millis(),
            Some(year_start.timestamp_millis())
        );
        assert!(
            header(r, "ce_time")
                .unwrap()
                .starts_with(&format!("{}-01-01T00:00:00", today.year())),
            "{:?}",
            header(r, "ce_time")
        );
        assert_eq!(header(r, "traceparent"), None);
        let (subject, text) = match ce_type.as_str() {
            "iop.analytics.events.v1.EpisodeStarted" => {
                let e = EpisodeStarted::decode(payload).unwrap();
                started.insert(e.subject.clone(), e.clone());
                (e.subject.clone(), format!("{e:?}"))
            }
            "iop.analytics.events.v1.SessionAttended" => {
                let e = SessionAttended::decode(payload).unwrap();
                attended_seen.push(e.clone());
                (e.subject.clone(), format!("{e:?}"))
            }
            "iop.analytics.events.v1.EpisodeTransferred" => {
                let e = EpisodeTransferred::decode(payload).unwrap();
                transferred_seen = Some(e.clone());
                (e.subject.clone(), format!("{e:?}"))
            }
            "iop.analytics.events.v1.EpisodeEnded" => {
                let e = EpisodeEnded::decode(payload).unwrap();
                ended_seen = Some(e.clone());
                (e.subject.clone(), format!("{e:?}"))
            }
            "iop.analytics.events.v1.ScreeningScored" => {
                let e = out::ScreeningScored::decode(payload).unwrap();
                others.push(format!(
                    "screening {} {} {:?} {}",
                    e.total,
                    e.band,
                    e.episode_day,
                    e.episode.is_empty()
                ));
                (e.subject.clone(), format!("{e:?}"))
            }
            "iop.analytics.events.v1.LevelOfCareDecided" => {
                let e = out::LevelOfCareDecided::decode(payload).unwrap();
                others.push(format!("decided {} {:?}", e.decision, e.episode_day));
                (e.subject.clone(), format!("{e:?}"))
            }
            "iop.analytics.events.v1.DrugTestResulted" => {
                let e = out::DrugTestResulted::decode(payload).unwrap();
                others.push(format!("result {:?} {:?}", e.classes, e.episode_day));
                (e.subject.clone(), format!("{e:?}"))
            }
            "iop.analytics.events.v1.DayCharged" => {
                let e = out::DayCharged::decode(payload).unwrap();
                others.push(format!(
                    "charge {} {} {} {:?}",
                    e.payer_id, e.hcpcs, e.amount_cents, e.episode_day
                ));
                (e.subject.clone(), format!("{e:?}"))
            }
            other => panic!("unexpected type {other}"),
        };
        assert_eq!(key, subject, "keyed by the pseudonym");
        by_subject.entry(subject).or_default().push(ce_type.clone());
        // No field, header or byte names or dates anyone.
        let mut seen = vec![text, String::from_utf8_lossy(payload).into_owned(), key];
        if let Some(h) = rdkafka::message::Headers::iter(r.headers().unwrap())
            .map(|h| {
                format!(
                    "{}={}",
                    h.key,
                    String::from_utf8_lossy(h.value.unwrap_or_default())
                )
            })
            .reduce(|a, b| format!("{a};{b}"))
        {
            seen.push(h);
        }
        for s in &seen {
            for id in &identifiers {
                assert!(!s.contains(id.as_str()), "{id} in {ce_type}: {s}");
            }
        }
    }

    // Two pseudonyms, random (no id of the patient's), stable per patient.
    assert_eq!(by_subject.len(), 2, "{by_subject:?}");
    let ana_subject = started
        .iter()
        .find(|(_, e)| e.facility_id == "oakland")
        .map(|(s, _)| s.clone())
        .unwrap();
    let ben_subject = started
        .iter()
        .find(|(_, e)| e.facility_id == "fresno")
        .map(|(s, _)| s.clone())
        .unwrap();
    assert_ne!(ana_subject, ben_subject);
    assert!(uuid::Uuid::parse_str(&ana_subject).is_ok());
    assert_eq!(by_subject[&ana_subject].len(), 8);
    // The other contexts' facts, on their day of the episode (the intake
    // screening came before it: no episode, no day).
    others.sort();
    assert_eq!(
        others,
        [
            "charge 01112 H0015 25000 Some(2)",
            "decided 1 Some(5)",
            "result [\"fentanyl\"] Some(4)",
            "screening 12 moderate None true",
        ]
    );
    assert_eq!(by_subject[&ben_subject].len(), 2);

    // The facts: ages in years (90 for 95), sex, program, days and weeks.
    let a = &started[&ana_subject];
    assert_eq!(a.age_years, admitted_on.years_since(ana.birth).unwrap());
    assert_eq!(a.sex, Sex::Female as i32);
    assert_eq!(a.program, Program::IopDay as i32);
    assert_eq!(a.year, admitted_on.year());
    assert_eq!(started[&ben_subject].age_years, 90, "95 is told as 90");
    let moved = transferred_seen.unwrap();
    assert_eq!(
        (
            moved.from_facility_id.as_str(),
            moved.to_facility_id.as_str(),
            moved.episode_day
        ),
        ("oakland", "san-jose", 3)
    );
    let ended = ended_seen.unwrap();
    assert_eq!(
        (ended.facility_id.as_str(), ended.episode_day),
        ("san-jose", 6)
    );
    assert_eq!(ended.reason, DischargeReason::Completed as i32);
    assert_eq!(ended.episode, a.episode, "one episode pseudonym throughout");
    let session = attended_seen
        .iter()
        .find(|s| s.subject == ana_subject)
        .unwrap();
    assert_eq!(
        (session.episode_day, session.episode_week, session.minutes),
        (2, 1, 180)
    );
    let evening = attended_seen
        .iter()
        .find(|s| s.subject == ben_subject)
        .unwrap();
    assert_eq!(
        (evening.episode_day, evening.episode_week, evening.minutes),
        (0, 1, 60)
    );
    net.stop().await;
}
