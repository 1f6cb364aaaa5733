//! Scheduling through gRPC and Kafka: enrollment opened by admissions' events
//! alone, transfer and discharge followed (once, even when an event is
//! delivered twice), every kind of booking conflict, evening sessions that keep
//! their local time across daylight-saving changes, attendance (a whole group in
//! one call) and weekly hours against the band, with the week's evaluation
//! published and the patient view showing this week's hours.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::time::Duration;

use chrono::{Datelike, Days, NaiveDate, TimeZone, Timelike, Utc};
use iop_proto::{
    admissions::v1::{AdmitPatientRequest, DischargePatientRequest, TransferPatientRequest},
    common::v1::{Date, DischargeReason, LevelOfCare, Program},
    scheduling::{
        events::v1 as events,
        v1::{
            AttendanceEntry, AttendanceStatus, BookIndividualRequest, BookSessionRequest,
            CloseWeekRequest, Compliance, CreateTrackRequest, EnrollInTrackRequest,
            GenerateSessionsRequest, GetEnrollmentRequest, GetEnrollmentResponse,
            GetWeeklyHoursRequest, ListAtRiskRequest, LocalTime, RecordAttendanceRequest, Session,
            Track, Weekday, scheduling_service_client::SchedulingServiceClient,
        },
    },
};
use iop_runtime::{auth::Role, wire};
use iop_testkit::{
    Backend, TestNetwork, admit, all_records, assess, authed, header, iop_assessment, register,
    registration, until,
};
use prost::Message as _;
use rdkafka::{
    ClientConfig, Message as _,
    producer::{FutureProducer, FutureRecord},
};
use rstest::rstest;
use tonic::{Code, transport::Channel};

type Scheduling = SchedulingServiceClient<Channel>;
const LA: chrono_tz::Tz = chrono_tz::America::Los_Angeles;

async fn enrollment(s: &Scheduling, token: &str, pid: &str) -> Option<GetEnrollmentResponse> {
    s.clone()
        .get_enrollment(authed(
            GetEnrollmentRequest {
                patient_id: pid.into(),
            },
            token,
        ))
        .await
        .ok()
        .map(tonic::Response::into_inner)
}

fn date(d: NaiveDate) -> Option<Date> {
    Some(wire::date(d))
}

fn today() -> NaiveDate {
    Utc::now().with_timezone(&LA).date_naive()
}

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

fn track(facility: &str, days: &[Weekday], (from, to): (i32, i32), capacity: u32) -> Track {
    Track {
        facility_id: facility.into(),
        name: "IOP track".into(),
        program: Program::IopEvening as i32,
        weekdays: days.iter().map(|d| *d as i32).collect(),
        starts_at: Some(LocalTime {
            hour: from,
            minute: 0,
        }),
        ends_at: Some(LocalTime {
            hour: to,
            minute: 0,
        }),
        capacity,
        facilitator_id: format!("dr-{facility}"),
        room: "group-room-1".into(),
        ..Default::default()
    }
}

/// Creates a track once scheduling knows the facility (from FacilityRecorded)
/// and generates its sessions from `from` to `to`.
async fn track_with_sessions(
    s: &Scheduling,
    token: &str,
    t: Track,
    from: NaiveDate,
    to: NaiveDate,
) -> (String, Vec<Session>) {
    let created = iop_testkit::create_track(s, token, t).await;
    let sessions = s
        .clone()
        .generate_sessions(authed(
            GenerateSessionsRequest {
                track_id: created.track_id.clone(),
                from: date(from),
                to: date(to),
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .sessions;
    (created.track_id, sessions)
}

/// Registers, screens and admits at `facility`, `admitted_on` (today if none).
async fn admitted(
    net: &TestNetwork,
    token: &str,
    name: (&str, &str),
    facility: &str,
    admitted_on: Option<NaiveDate>,
) -> String {
    let mut admissions = net.admissions().await;
    let (pid, _) = register(
        &mut admissions,
        token,
        registration(name.0, name.1, facility),
    )
    .await
    .unwrap();
    assess(&mut admissions, token, &pid, facility, iop_assessment())
        .await
        .unwrap();
    admissions
        .admit_patient(authed(
            AdmitPatientRequest {
                patient_id: pid.clone(),
                facility_id: facility.into(),
                program: Program::IopEvening as i32,
                admitted_on: admitted_on.and_then(date),
                ..Default::default()
            },
            token,
        ))
        .await
        .unwrap();
    pid
}

/// Records that `patient` attended `session` in full.
async fn attend(s: &Scheduling, token: &str, session: &str, patient: &str) {
    s.clone()
        .record_attendance(authed(
            RecordAttendanceRequest {
                session_id: session.into(),
                entries: vec![AttendanceEntry {
                    patient_id: patient.into(),
                    status: AttendanceStatus::Attended as i32,
                    ..Default::default()
                }],
            },
            token,
        ))
        .await
        .unwrap();
}

fn scheduling_events(records: &[rdkafka::message::OwnedMessage], pid: &str, kind: &str) -> usize {
    records
        .iter()
        .filter(|r| header(r, "ce_subject") == Some(pid))
        .filter(|r| header(r, "ce_type") == Some(kind))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_follows_admission_transfer_and_discharge_once() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Intake, Role::Clinician], &["oakland", "fresno"]);
    let s = net.scheduling().await;
    // Admitted three days ago, so that the discharge (yesterday) and the
    // readmission (today) below never share a day with it.
    let since = Some(today() - Days::new(3));
    let pid = admitted(&net, &staff, ("Ray", "Cole"), "oakland", since).await;

    // Only the event: admissions never calls scheduling.
    let e = until("the enrollment", || enrollment(&s, &staff, &pid)).await;
    let e = e.enrollment.unwrap();
    assert!(e.active);
    assert_eq!(e.facility_id, "oakland");
    assert_eq!(
        e.level_of_care,
        LevelOfCare::LevelOfCare21IntensiveOutpatient as i32
    );

    // Evening tracks at both facilities, the next two weeks.
    let days = [Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday];
    let (from, to) = (today() + Days::new(1), today() + Days::new(14));
    let (oakland, sessions) =
        track_with_sessions(&s, &staff, track("oakland", &days, (18, 21), 12), from, to).await;
    track_with_sessions(&s, &staff, track("fresno", &days, (18, 21), 12), from, to).await;
    let booked = s
        .clone()
        .enroll_in_track(authed(
            EnrollInTrackRequest {
                patient_id: pid.clone(),
                track_id: oakland.clone(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .bookings;
    assert_eq!(booked.len(), sessions.len());
    assert!(booked.len() >= 5, "{} sessions in two weeks", booked.len());

    // Transfer: every future booking moves to the same day at fresno.
    let mut admissions = net.admissions().await;
    admissions
        .transfer_patient(authed(
            TransferPatientRequest {
                patient_id: pid.clone(),
                to_facility_id: "fresno".into(),
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap();
    let moved = until("the transfer", || {
        let s = s.clone();
        let (staff, pid) = (staff.clone(), pid.clone());
        async move {
            let e = enrollment(&s, &staff, &pid).await?;
            (e.enrollment.as_ref()?.facility_id == "fresno").then_some(e)
        }
    })
    .await;
    assert_eq!(moved.bookings.len(), booked.len());
    assert!(moved.bookings.iter().all(|b| b.facility_id == "fresno"));

    // Discharge (as of yesterday) cancels every booking after it.
    admissions
        .discharge_patient(authed(
            DischargePatientRequest {
                patient_id: pid.clone(),
                reason: DischargeReason::StepDownOutpatient as i32,
                discharged_on: date(today() - Days::new(1)),
            },
            &staff,
        ))
        .await
        .unwrap();
    let closed = until("the discharge", || {
        let s = s.clone();
        let (staff, pid) = (staff.clone(), pid.clone());
        async move {
            let e = enrollment(&s, &staff, &pid).await?;
            (!e.enrollment.as_ref()?.active).then_some(e)
        }
    })
    .await;
    assert!(closed.bookings.is_empty());
    let fresno_session = moved.bookings[0].session_id.clone();
    let err = s
        .clone()
        .book_session(authed(
            BookSessionRequest {
                patient_id: pid.clone(),
                session_id: fresno_session,
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("no active episode"),
        "{}",
        err.message()
    );

    // The discharge delivered again (same record, same event id), then a
    // readmission on the same key as a barrier: the copy changed nothing.
    let admissions_records = all_records(&net, "iop.admissions.v1").await;
    let discharge = admissions_records
        .iter()
        .find(|r| {
            header(r, "ce_subject") == Some(pid.as_str())
                && header(r, "ce_type") == Some("iop.admissions.events.v1.PatientDischarged")
        })
        .unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", net.bootstrap_servers())
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::to("iop.admissions.v1")
                .key(discharge.key().unwrap())
                .payload(discharge.payload().unwrap())
                .headers(discharge.headers().unwrap().clone()),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    admit(
        &mut admissions,
        &staff,
        &pid,
        "oakland",
        Program::IopEvening,
    )
    .await
    .unwrap();
    until("the readmission", || {
        let s = s.clone();
        let (staff, pid) = (staff.clone(), pid.clone());
        async move {
            let e = enrollment(&s, &staff, &pid).await?;
            (e.enrollment.as_ref()?.active).then_some(())
        }
    })
    .await;
    // The relay publishes in outbox order: once the readmission's enrollment is on
    // the topic, every earlier event of the patient is too.
    let records = until("the readmission's PatientEnrolled on the topic", || {
        let (net, pid) = (&net, pid.clone());
        async move {
            let records = all_records(net, "iop.scheduling.v1").await;
            let enrolled =
                scheduling_events(&records, &pid, "iop.scheduling.events.v1.PatientEnrolled");
            (enrolled == 2).then_some(records)
        }
    })
    .await;
    let cancelled = scheduling_events(&records, &pid, "iop.scheduling.events.v1.BookingCancelled");
    // Each booking cancelled once at the transfer and each moved one once at the discharge.
    assert_eq!(cancelled, booked.len() * 2, "no cancellation applied twice");
    net.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_double_booking_and_over_capacity_is_refused_by_name(
    #[case] backend: Backend,
) {
    let net = TestNetwork::start(backend).await;
    let staff = net.token(&[Role::Intake, Role::Clinician], &["oakland"]);
    let s = net.scheduling().await;
    let a = admitted(&net, &staff, ("Ada", "One"), "oakland", None).await;
    let b = admitted(&net, &staff, ("Bea", "Two"), "oakland", None).await;
    let c = admitted(&net, &staff, ("Cy", "Three"), "oakland", None).await;
    for p in [&a, &b, &c] {
        until("the enrollment", || enrollment(&s, &staff, p)).await;
    }
    let next_monday = monday_of(today()) + Days::new(7);
    let days = [Weekday::Monday, Weekday::Wednesday];
    let (track_id, sessions) = track_with_sessions(
        &s,
        &staff,
        track("oakland", &days, (9, 12), 2),
        next_monday,
        next_monday + Days::new(6),
    )
    .await;
    let enroll = |p: &str| EnrollInTrackRequest {
        patient_id: p.into(),
        track_id: track_id.clone(),
    };
    let first = s
        .clone()
        .enroll_in_track(authed(enroll(&a), &staff))
        .await
        .unwrap()
        .into_inner();
    s.clone()
        .enroll_in_track(authed(enroll(&b), &staff))
        .await
        .unwrap();
    let full = s
        .clone()
        .enroll_in_track(authed(enroll(&c), &staff))
        .await
        .unwrap_err();
    assert_eq!(full.code(), Code::FailedPrecondition);
    assert!(
        full.message()
            .contains(&format!("session {} is full", sessions[0].session_id)),
        "{}",
        full.message()
    );

    let monday_group = &sessions[0];
    let start =
        wire::instant(monday_group.starts_at.as_ref()).unwrap() + chrono::Duration::minutes(30);
    let individual = |patient: &str, clinician: &str, room: &str| BookIndividualRequest {
        patient_id: patient.into(),
        facility_id: "oakland".into(),
        clinician_id: clinician.into(),
        room: room.into(),
        starts_at: Some(wire::timestamp(start)),
        duration_minutes: 50,
        ..Default::default()
    };
    // The patient is in the group then.
    let err = s
        .clone()
        .book_individual(authed(individual(&a, "dr-kim", "office-3"), &staff))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains(&first.bookings[0].booking_id),
        "{}",
        err.message()
    );
    // The clinician facilitates the group then.
    let err = s
        .clone()
        .book_individual(authed(individual(&c, "dr-oakland", "office-3"), &staff))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains(&monday_group.session_id) && err.message().contains("clinician"),
        "{}",
        err.message()
    );
    // The room holds the group then.
    let err = s
        .clone()
        .book_individual(authed(individual(&c, "dr-kim", "group-room-1"), &staff))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains(&monday_group.session_id) && err.message().contains("room"),
        "{}",
        err.message()
    );
    // Free clinician, free room, free patient: booked; the same again clashes with it.
    let ok = s
        .clone()
        .book_individual(authed(individual(&c, "dr-kim", "office-3"), &staff))
        .await
        .unwrap()
        .into_inner();
    let again = s
        .clone()
        .book_individual(authed(individual(&c, "dr-lee", "office-4"), &staff))
        .await
        .unwrap_err();
    assert!(
        again.message().contains(&ok.booking.unwrap().booking_id),
        "{}",
        again.message()
    );
    // A second track clashing with the group's facilitator, then with its room.
    for (facilitator, room, what) in [
        ("dr-oakland", "group-room-2", "clinician"),
        ("dr-ng", "group-room-1", "room"),
    ] {
        let clashing = Track {
            facilitator_id: facilitator.into(),
            room: room.into(),
            ..track("oakland", &[Weekday::Monday], (11, 13), 12)
        };
        let t = s
            .clone()
            .create_track(authed(
                CreateTrackRequest {
                    track: Some(clashing),
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner()
            .track
            .unwrap();
        let err = s
            .clone()
            .generate_sessions(authed(
                GenerateSessionsRequest {
                    track_id: t.track_id,
                    from: date(next_monday),
                    to: date(next_monday + Days::new(6)),
                },
                &staff,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(
            err.message().contains(what) && err.message().contains(&monday_group.session_id),
            "{}",
            err.message()
        );
    }
    // Already booked for that session.
    let twice = s
        .clone()
        .book_session(authed(
            BookSessionRequest {
                patient_id: a.clone(),
                session_id: monday_group.session_id.clone(),
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert!(
        twice.message().contains("already booked"),
        "{}",
        twice.message()
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evening_session_keeps_six_pm_across_daylight_saving_changes() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Clinician], &["oakland"]);
    let s = net.scheduling().await;
    let spring = (
        NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
        NaiveDate::from_ymd_opt(2027, 3, 31).unwrap(),
    );
    let (track_id, march) = track_with_sessions(
        &s,
        &staff,
        track("oakland", &[Weekday::Tuesday], (18, 21), 12),
        spring.0,
        spring.1,
    )
    .await;
    let november = s
        .clone()
        .generate_sessions(authed(
            GenerateSessionsRequest {
                track_id,
                from: date(NaiveDate::from_ymd_opt(2027, 10, 25).unwrap()),
                to: date(NaiveDate::from_ymd_opt(2027, 11, 16).unwrap()),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .sessions;
    let mut utc_hours = Vec::new();
    for session in march.iter().chain(&november) {
        let start = wire::instant(session.starts_at.as_ref()).unwrap();
        let local = start.with_timezone(&LA);
        assert_eq!((local.hour(), local.minute()), (18, 0), "{start}");
        assert_eq!(local.weekday(), chrono::Weekday::Tue);
        assert_eq!(
            session.local_start,
            Some(LocalTime {
                hour: 18,
                minute: 0
            })
        );
        let end = wire::instant(session.ends_at.as_ref()).unwrap();
        assert_eq!((end - start).num_minutes(), 180);
        utc_hours.push(start.hour());
    }
    // March: 2 and 9 in PST (02:00 UTC), 16, 23 and 30 in PDT (01:00 UTC);
    // 26 October and 2 November in PDT, 9 and 16 November in PST.
    assert_eq!(utc_hours, [2, 2, 1, 1, 1, 1, 1, 2, 2]);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weekly_hours_are_judged_against_the_band_and_published() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Intake, Role::Clinician], &["sacramento"]);
    let s = net.scheduling().await;
    let last_monday = monday_of(today()) - Days::new(7);
    let since = Some(last_monday - Days::new(7));
    let mut adults = Vec::new();
    for n in 0..12 {
        adults.push(
            admitted(
                &net,
                &staff,
                ("Pat", &format!("Group{}", (b'A' + n) as char)),
                "sacramento",
                since,
            )
            .await,
        );
    }
    // An adolescent: 16 years old.
    let mut admissions = net.admissions().await;
    let mut teen = registration("Tia", "Young", "sacramento");
    teen.date_of_birth = date(NaiveDate::from_ymd_opt(today().year() - 16, 1, 15).unwrap());
    let (teen, _) = register(&mut admissions, &staff, teen).await.unwrap();
    assess(
        &mut admissions,
        &staff,
        &teen,
        "sacramento",
        iop_assessment(),
    )
    .await
    .unwrap();
    admissions
        .admit_patient(authed(
            AdmitPatientRequest {
                patient_id: teen.clone(),
                facility_id: "sacramento".into(),
                program: Program::IopEvening as i32,
                admitted_on: since.and_then(date),
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap();
    for p in adults.iter().chain([&teen]) {
        until("the enrollment", || enrollment(&s, &staff, p)).await;
    }
    let days = [Weekday::Monday, Weekday::Wednesday, Weekday::Friday];
    let (_, week) = track_with_sessions(
        &s,
        &staff,
        track("sacramento", &days, (9, 12), 12),
        last_monday,
        last_monday + Days::new(6),
    )
    .await;
    assert_eq!(week.len(), 3);
    let book = |p: &str, session: &Session| {
        let mut c = s.clone();
        let request = authed(
            BookSessionRequest {
                patient_id: p.into(),
                session_id: session.session_id.clone(),
            },
            &staff,
        );
        async move { c.book_session(request).await.unwrap() }
    };
    let attended = |p: &str| AttendanceEntry {
        patient_id: p.into(),
        status: AttendanceStatus::Attended as i32,
        ..Default::default()
    };
    // Monday: the whole group of twelve in one call.
    for p in &adults {
        book(p, &week[0]).await;
    }
    let mut entries: Vec<_> = adults[..10].iter().map(|p| attended(p)).collect();
    entries.push(AttendanceEntry {
        patient_id: adults[10].clone(),
        status: AttendanceStatus::Partial as i32,
        minutes: 90,
        ..Default::default()
    });
    entries.push(AttendanceEntry {
        patient_id: adults[11].clone(),
        status: AttendanceStatus::NoShow as i32,
        ..Default::default()
    });
    let monday = s
        .clone()
        .record_attendance(authed(
            RecordAttendanceRequest {
                session_id: week[0].session_id.clone(),
                entries,
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(monday.len(), 12);
    assert_eq!(monday.iter().map(|r| r.minutes).sum::<u32>(), 10 * 180 + 90);
    // Wednesday and Friday.
    let plan: [(&[&String], usize); 2] = [
        (&[&adults[0], &adults[1], &adults[10], &teen], 1),
        (&[&adults[0], &teen], 2),
    ];
    for (who, day) in plan {
        for p in who {
            book(p, &week[day]).await;
        }
        let entries = who.iter().map(|p| attended(p)).collect();
        s.clone()
            .record_attendance(authed(
                RecordAttendanceRequest {
                    session_id: week[day].session_id.clone(),
                    entries,
                },
                &staff,
            ))
            .await
            .unwrap();
    }
    // Nine hours on Monday alone (two more Monday groups, afternoon and
    // evening): in the band, but not intensive outpatient care as H0015
    // counts it (3 hours on at least 3 days).
    for (hours, room) in [((13, 16), "group-room-2"), ((17, 20), "group-room-3")] {
        let (_, monday_only) = track_with_sessions(
            &s,
            &staff,
            Track {
                room: room.into(),
                ..track("sacramento", &[Weekday::Monday], hours, 12)
            },
            last_monday,
            last_monday,
        )
        .await;
        book(&adults[2], &monday_only[0]).await;
        s.clone()
            .record_attendance(authed(
                RecordAttendanceRequest {
                    session_id: monday_only[0].session_id.clone(),
                    entries: vec![attended(&adults[2])],
                },
                &staff,
            ))
            .await
            .unwrap();
    }
    let hours = |p: &str| {
        let mut c = s.clone();
        let request = authed(
            GetWeeklyHoursRequest {
                patient_id: p.into(),
                week_of: date(last_monday + Days::new(2)),
            },
            &staff,
        );
        async move {
            c.get_weekly_hours(request)
                .await
                .unwrap()
                .into_inner()
                .hours
                .unwrap()
        }
    };
    let full = hours(&adults[0]).await;
    assert_eq!(
        (full.attended_minutes, full.compliance),
        (540, Compliance::Compliant as i32)
    );
    assert_eq!(
        (full.full_days, full.min_days, full.min_minutes_per_day),
        (3, 3, 180)
    );
    // Admitted on Friday: a partial week (Friday to Sunday), its band prorated
    // to 3/7 of 9 hours and its 3 days to 2, and said so.
    let friday = last_monday + Days::new(4);
    let late = admitted(&net, &staff, ("Fri", "Day"), "sacramento", Some(friday)).await;
    until("the enrollment", || enrollment(&s, &staff, &late)).await;
    book(&late, &week[2]).await;
    s.clone()
        .record_attendance(authed(
            RecordAttendanceRequest {
                session_id: week[2].session_id.clone(),
                entries: vec![attended(&late)],
            },
            &staff,
        ))
        .await
        .unwrap();
    let partial_week = hours(&late).await;
    assert_eq!(
        (
            partial_week.episode_days,
            partial_week.required_minutes,
            partial_week.min_days
        ),
        (3, 231, 2)
    );
    assert_eq!(partial_week.compliance, Compliance::BelowBand as i32);
    let whole = hours(&adults[0]).await;
    assert_eq!((whole.episode_days, whole.required_minutes), (7, 540));
    // Held but never marked (Wednesday passed without its attendance): pending,
    // not lost, until someone records it.
    book(&adults[3], &week[1]).await;
    let unmarked = hours(&adults[3]).await;
    assert_eq!(
        (unmarked.attended_minutes, unmarked.booked_minutes),
        (180, 180)
    );
    let one_day = hours(&adults[2]).await;
    assert_eq!(
        (
            one_day.attended_minutes,
            one_day.full_days,
            one_day.compliance
        ),
        (540, 1, Compliance::TooFewDays as i32)
    );
    let short = hours(&adults[1]).await;
    assert_eq!(
        (short.attended_minutes, short.compliance),
        (360, Compliance::BelowBand as i32)
    );
    assert_eq!(short.band_min_hours, 9);
    let partial = hours(&adults[10]).await;
    assert_eq!(
        partial.attended_minutes,
        90 + 180,
        "partial attendance counts its minutes"
    );
    let young = hours(&teen).await;
    assert_eq!((young.attended_minutes, young.band_min_hours), (360, 6));
    assert_eq!(young.compliance, Compliance::Compliant as i32);

    // Closing the week publishes one evaluation per patient, once.
    let close = CloseWeekRequest {
        facility_id: "sacramento".into(),
        week_of: date(last_monday),
    };
    let evaluated = s
        .clone()
        .close_week(authed(close.clone(), &staff))
        .await
        .unwrap()
        .into_inner()
        .evaluated;
    assert_eq!(evaluated.len(), 14);
    s.clone().close_week(authed(close, &staff)).await.unwrap();
    let records = until("the evaluations on the topic", || {
        let net = &net;
        async move {
            let records = all_records(net, "iop.scheduling.v1").await;
            let n = records
                .iter()
                .filter(|r| {
                    header(r, "ce_type") == Some("iop.scheduling.events.v1.WeeklyHoursEvaluated")
                })
                .count();
            (n >= 14).then_some(records)
        }
    })
    .await;
    let evaluations: Vec<_> = records
        .iter()
        .filter(|r| header(r, "ce_type") == Some("iop.scheduling.events.v1.WeeklyHoursEvaluated"))
        .map(|r| events::WeeklyHoursEvaluated::decode(r.payload().unwrap()).unwrap())
        .collect();
    assert_eq!(evaluations.len(), 14, "closing twice publishes nothing new");
    let below = evaluations
        .iter()
        .find(|e| e.patient_id == adults[1])
        .unwrap();
    assert_eq!(below.compliance, Compliance::BelowBand as i32);
    assert_eq!(
        (
            below.attended_minutes,
            below.band_min_hours,
            below.band_below_hours
        ),
        (360, 9, 20)
    );
    assert_eq!(below.week_start, date(last_monday));
    let stated = evaluations.iter().find(|e| e.patient_id == late).unwrap();
    assert_eq!((stated.episode_days, stated.required_minutes), (3, 231));
    let one_day = evaluations
        .iter()
        .find(|e| e.patient_id == adults[2])
        .unwrap();
    assert_eq!(
        (one_day.compliance, one_day.full_days, one_day.min_days),
        (Compliance::TooFewDays as i32, 1, 3)
    );

    // This week nobody has anything booked yet: everyone is at risk.
    let at_risk = s
        .clone()
        .list_at_risk(authed(
            ListAtRiskRequest {
                facility_id: "sacramento".into(),
                week_of: None,
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .at_risk;
    assert!(
        at_risk
            .iter()
            .any(|h| h.patient_id == adults[0] && h.booked_minutes == 0)
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patient_view_shows_this_weeks_attended_hours() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Intake, Role::Clinician], &["oakland"]);
    let s = net.scheduling().await;
    let since = Some(monday_of(today()) - Days::new(7));
    let pid = admitted(&net, &staff, ("Val", "Now"), "oakland", since).await;
    until("the enrollment", || enrollment(&s, &staff, &pid)).await;
    // An individual session that has started, inside this week (facility time).
    let week_start = LA
        .from_local_datetime(&monday_of(today()).and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc);
    let start = (Utc::now() - chrono::Duration::minutes(30)).max(week_start);
    let booked = until("the facility to reach scheduling", || {
        let mut c = s.clone();
        let request = authed(
            BookIndividualRequest {
                patient_id: pid.clone(),
                facility_id: "oakland".into(),
                clinician_id: "dr-ng".into(),
                room: "office-1".into(),
                starts_at: Some(wire::timestamp(start)),
                duration_minutes: 15,
                ..Default::default()
            },
            &staff,
        );
        async move { c.book_individual(request).await.ok() }
    })
    .await
    .into_inner();
    attend(&s, &staff, &booked.session.unwrap().session_id, &pid).await;
    let view = net.view().await;
    let seen = until("the view to count the attendance", || {
        let mut v = view.clone();
        let request = authed(
            iop_proto::patientview::v1::GetPatientViewRequest {
                patient_id: pid.clone(),
                ..Default::default()
            },
            &staff,
        );
        async move {
            let view = v.get_patient_view(request).await.ok()?.into_inner().view?;
            (view.attended_minutes_this_week > 0).then_some(view)
        }
    })
    .await;
    assert_eq!(seen.attended_minutes_this_week, 15);
    assert_eq!(seen.week_start, date(monday_of(today())));
    net.stop().await;
}

/// On PostgreSQL, where commands run side by side: 20 clients enrolling at once
/// into a track whose sessions hold 12 fill each session to exactly 12, and 20
/// clients placing one clinician at the same hour get exactly one booking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_never_overfill_a_session_or_double_book_a_clinician() {
    let net = TestNetwork::start(Backend::Postgres).await;
    let staff = net.token(&[Role::Intake, Role::Clinician], &["oakland"]);
    let s = net.scheduling().await;
    let mut patients = Vec::new();
    const NAMES: [&str; 20] = [
        "Ada", "Bea", "Cy", "Dov", "Eli", "Fay", "Gus", "Hal", "Ida", "Jo", "Kai", "Lev", "Mo",
        "Ned", "Oda", "Pia", "Quin", "Rui", "Sol", "Tam",
    ];
    for given in NAMES {
        patients.push(admitted(&net, &staff, (given, "Parallel"), "oakland", None).await);
    }
    for p in &patients {
        until("the enrollment", || enrollment(&s, &staff, p)).await;
    }
    let next_monday = monday_of(today()) + Days::new(7);
    let (track_id, sessions) = track_with_sessions(
        &s,
        &staff,
        track("oakland", &[Weekday::Tuesday], (9, 12), 12),
        next_monday,
        next_monday + Days::new(6),
    )
    .await;
    let enrolled = futures::future::join_all(patients.iter().map(|p| {
        let mut client = s.clone();
        let request = authed(
            EnrollInTrackRequest {
                patient_id: p.clone(),
                track_id: track_id.clone(),
            },
            &staff,
        );
        async move { client.enroll_in_track(request).await }
    }))
    .await;
    let (ok, refused): (Vec<_>, Vec<_>) = enrolled.into_iter().partition(Result::is_ok);
    assert_eq!(ok.len(), 12, "{refused:?}");
    for r in refused {
        assert_eq!(r.unwrap_err().code(), Code::FailedPrecondition);
    }
    use sea_orm::ConnectionTrait as _;
    let db = sea_orm::Database::connect(net.database_url("scheduling"))
        .await
        .unwrap();
    let taken = db
        .query_one(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM bookings WHERE session_id = $1 AND status = $2",
            [sessions[0].session_id.clone().into(), "booked".into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(taken, 12, "a 12-place session holds 12 bookings");

    // One clinician, one hour, twenty rooms and patients: one booking.
    let start = wire::instant(sessions[0].starts_at.as_ref()).unwrap() + chrono::Duration::days(1);
    let booked = futures::future::join_all(patients.iter().enumerate().map(|(i, p)| {
        let mut client = s.clone();
        let request = authed(
            BookIndividualRequest {
                patient_id: p.clone(),
                facility_id: "oakland".into(),
                clinician_id: "dr-okafor".into(),
                room: format!("room-{i}"),
                starts_at: Some(wire::timestamp(start)),
                duration_minutes: 50,
                ..Default::default()
            },
            &staff,
        );
        async move { client.book_individual(request).await }
    }))
    .await;
    let (ok, refused): (Vec<_>, Vec<_>) = booked.into_iter().partition(Result::is_ok);
    assert_eq!(ok.len(), 1, "{refused:?}");
    for r in refused {
        let e = r.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    }
    db.close().await.unwrap();
    net.stop().await;
}

/// A zone where today is not the UTC day right now: ahead of UTC (Kiritimati,
/// +14) from 10:00 UTC on, behind it (Pago Pago, -11) before. Days are the
/// facility's, so an admission there today must be dated with its day.
fn zone_off_the_utc_day() -> chrono_tz::Tz {
    if Utc::now().hour() >= 10 {
        chrono_tz::Pacific::Kiritimati
    } else {
        chrono_tz::Pacific::Pago_Pago
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_are_the_facility_s_days_and_groups_and_episodes_are_bounded() {
    use iop_proto::admissions::v1::{Facility, ProgramOffering, PutFacilityRequest};
    let net = TestNetwork::start(Backend::Sqlite).await;
    let zone = zone_off_the_utc_day();
    let admin = net.token(&[Role::Admin], &["*"]);
    let staff = net.token(&[Role::Intake, Role::Clinician], &["atoll"]);
    net.admissions()
        .await
        .put_facility(authed(
            PutFacilityRequest {
                facility: Some(Facility {
                    facility_id: "atoll".into(),
                    name: "IOP Network Atoll".into(),
                    city: "Atoll".into(),
                    time_zone: zone.name().into(),
                    programs: vec![ProgramOffering {
                        program: Program::IopEvening as i32,
                        capacity: 20,
                        census: 0,
                    }],
                }),
            },
            &admin,
        ))
        .await
        .unwrap();
    let local_today = Utc::now().with_timezone(&zone).date_naive();
    assert_ne!(
        local_today,
        Utc::now().date_naive(),
        "the test needs a day apart"
    );

    // Tonight's group: 23:00-23:45 local, still ahead whatever the hour there.
    let days = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    let mut tonight = track("atoll", &days, (23, 23), 12);
    tonight.ends_at = Some(LocalTime {
        hour: 23,
        minute: 45,
    });
    let s = net.scheduling().await;
    let (_, sessions) =
        track_with_sessions(&s, &staff, tonight.clone(), local_today, local_today).await;
    assert_eq!(sessions.len(), 1);

    // Admitted "today" is today there, so tonight's session can be booked.
    let pid = admitted(&net, &staff, ("Evening", "Admit"), "atoll", None).await;
    let e = until("the enrollment", || enrollment(&s, &staff, &pid))
        .await
        .enrollment
        .unwrap();
    assert_eq!(e.admitted_on, date(local_today));
    s.clone()
        .book_session(authed(
            BookSessionRequest {
                patient_id: pid.clone(),
                session_id: sessions[0].session_id.clone(),
            },
            &staff,
        ))
        .await
        .expect("tonight's session, booked on the day of the admission");

    // A group holds 2 to 12 (DMC-ODS).
    for capacity in [13, 1] {
        let err = s
            .clone()
            .create_track(authed(
                CreateTrackRequest {
                    track: Some(track("atoll", &days, (9, 12), capacity)),
                },
                &staff,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "capacity {capacity}");
        assert!(
            err.message().starts_with("track.capacity"),
            "{}",
            err.message()
        );
    }

    // Attendance after a backdated discharge is refused: admitted four days
    // ago, booked into the session two days ago, then discharged as of three
    // days ago.
    let four_ago = local_today - Days::new(4);
    let past = track("atoll", &days, (9, 12), 12);
    let (_, week) = track_with_sessions(
        &s,
        &staff,
        Track {
            room: "group-room-2".into(),
            facilitator_id: "dr-past".into(),
            ..past
        },
        four_ago,
        local_today - Days::new(1),
    )
    .await;
    let late = admitted(&net, &staff, ("Back", "Dated"), "atoll", Some(four_ago)).await;
    until("the enrollment", || enrollment(&s, &staff, &late)).await;
    let two_ago = week
        .iter()
        .find(|x| x.local_date == date(local_today - Days::new(2)))
        .unwrap();
    s.clone()
        .book_session(authed(
            BookSessionRequest {
                patient_id: late.clone(),
                session_id: two_ago.session_id.clone(),
            },
            &staff,
        ))
        .await
        .unwrap();
    net.admissions()
        .await
        .discharge_patient(authed(
            DischargePatientRequest {
                patient_id: late.clone(),
                reason: DischargeReason::LeftAgainstAdvice as i32,
                discharged_on: date(local_today - Days::new(3)),
            },
            &staff,
        ))
        .await
        .unwrap();
    until("the discharge to reach scheduling", || async {
        enrollment(&s, &staff, &late)
            .await
            .filter(|e| !e.enrollment.as_ref().is_some_and(|e| e.active))
    })
    .await;
    // The discharge acted from its day: the past booking after it is gone.
    let listed = s
        .clone()
        .list_sessions(authed(
            iop_proto::scheduling::v1::ListSessionsRequest {
                facility_id: "atoll".into(),
                from: two_ago.local_date,
                to: two_ago.local_date,
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .sessions;
    let booked = listed
        .iter()
        .find(|x| x.session_id == two_ago.session_id)
        .map(|x| x.booked);
    assert_eq!(booked, Some(0));
    let err = s
        .clone()
        .record_attendance(authed(
            RecordAttendanceRequest {
                session_id: two_ago.session_id.clone(),
                entries: vec![AttendanceEntry {
                    patient_id: late.clone(),
                    status: AttendanceStatus::Attended as i32,
                    ..Default::default()
                }],
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("after patient"), "{}", err.message());
    assert!(err.message().contains("episode ended"), "{}", err.message());
    net.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_sums_both_records_weeks_in_scheduling_and_in_the_view(#[case] backend: Backend) {
    use iop_proto::admissions::v1::MergePatientsRequest;
    let net = TestNetwork::start(backend).await;
    let staff = net.token(&[Role::Intake, Role::Clinician], &["sacramento"]);
    let s = net.scheduling().await;
    let last_monday = monday_of(today()) - Days::new(7);
    let since = Some(last_monday - Days::new(3));
    // One person registered twice, both records in care since before last week.
    let first = admitted(&net, &staff, ("Dana", "Twice"), "sacramento", since).await;
    let second = admitted(&net, &staff, ("Dana", "Twyce"), "sacramento", since).await;
    for p in [&first, &second] {
        until("the enrollment", || enrollment(&s, &staff, p)).await;
    }
    let days = [Weekday::Monday, Weekday::Wednesday, Weekday::Friday];
    let (_, week) = track_with_sessions(
        &s,
        &staff,
        track("sacramento", &days, (9, 12), 12),
        last_monday,
        last_monday + Days::new(6),
    )
    .await;
    // Last week: the first record attended Monday, the second Wednesday and Friday.
    for (p, day) in [(&first, 0), (&second, 1), (&second, 2)] {
        s.clone()
            .book_session(authed(
                BookSessionRequest {
                    patient_id: p.to_string(),
                    session_id: week[day].session_id.clone(),
                },
                &staff,
            ))
            .await
            .unwrap();
        attend(&s, &staff, &week[day].session_id, p).await;
    }
    let closed = s
        .clone()
        .close_week(authed(
            CloseWeekRequest {
                facility_id: "sacramento".into(),
                week_of: date(last_monday),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .evaluated;
    let minutes_of = |p: &str| {
        closed
            .iter()
            .find(|w| w.patient_id == p)
            .map(|w| w.attended_minutes)
    };
    assert_eq!(
        (minutes_of(&first), minutes_of(&second)),
        (Some(180), Some(360))
    );

    // This week: one individual session each, already begun (never before
    // this Monday, even just after midnight).
    let this_monday = LA
        .from_local_datetime(&monday_of(today()).and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc);
    let start = (Utc::now() - chrono::Duration::minutes(20)).max(this_monday);
    for (p, clinician) in [(&first, "dr-ames"), (&second, "dr-brook")] {
        let booked = s
            .clone()
            .book_individual(authed(
                BookIndividualRequest {
                    patient_id: p.to_string(),
                    facility_id: "sacramento".into(),
                    clinician_id: clinician.into(),
                    room: format!("office-{clinician}"),
                    starts_at: Some(wire::timestamp(start)),
                    duration_minutes: 15,
                    ..Default::default()
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner();
        attend(&s, &staff, &booked.session.unwrap().session_id, p).await;
    }

    // The first record's episode ends today; the second is merged into it.
    let mut admissions = net.admissions().await;
    admissions
        .discharge_patient(authed(
            DischargePatientRequest {
                patient_id: first.clone(),
                reason: DischargeReason::Administrative as i32,
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap();
    let merged = admissions
        .merge_patients(authed(
            MergePatientsRequest {
                survivor_id: first.clone(),
                merged_away_id: second.clone(),
                reason: "same person registered twice".into(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner();

    // Scheduling: last week evaluated again on both records' attendance, and
    // published (3 hours on Monday, Wednesday and Friday: compliant).
    let evaluation = until("the week evaluated again", || {
        let (net, first) = (&net, &first);
        async move {
            all_records(net, "iop.scheduling.v1")
                .await
                .iter()
                .filter(|r| header(r, "ce_subject") == Some(first.as_str()))
                .filter(|r| {
                    header(r, "ce_type") == Some("iop.scheduling.events.v1.WeeklyHoursEvaluated")
                })
                .map(|r| events::WeeklyHoursEvaluated::decode(r.payload().unwrap()).unwrap())
                .find(|e| e.attended_minutes == 540)
        }
    })
    .await;
    assert_eq!(evaluation.compliance, Compliance::Compliant as i32);
    assert_eq!(evaluation.full_days, 3);
    let hours = s
        .clone()
        .get_weekly_hours(authed(
            GetWeeklyHoursRequest {
                patient_id: first.clone(),
                week_of: date(last_monday),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .hours
        .unwrap();
    assert_eq!(hours.attended_minutes, 540);

    // The view: this week's minutes of both records, on the survivor (the
    // merge and each attendance arrive on their own topics, in any order).
    iop_testkit::read_view(
        &mut net.view().await,
        &staff,
        &first,
        &merged.consistency_token,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let minutes = until("both records' minutes on the survivor's view", || {
        let (net, staff, first) = (&net, &staff, &first);
        async move {
            let v = iop_testkit::read_view(
                &mut net.view().await,
                staff,
                first,
                "",
                Duration::from_secs(5),
            )
            .await
            .ok()?;
            (v.attended_minutes_this_week == 30).then_some(v.attended_minutes_this_week)
        }
    })
    .await;
    assert_eq!(minutes, 30);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_change_keeps_the_bookings_it_still_fits_and_moves_the_rest() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Intake, Role::Clinician], &["fresno"]);
    let s = net.scheduling().await;
    let next_monday = monday_of(today()) + Days::new(7);
    let weekdays = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
    ];
    let (day_track, _) = track_with_sessions(
        &s,
        &staff,
        Track {
            program: Program::IopDay as i32,
            room: "day-room".into(),
            ..track("fresno", &weekdays, (9, 12), 12)
        },
        next_monday,
        next_monday + Days::new(3),
    )
    .await;
    let (_, evening) = track_with_sessions(
        &s,
        &staff,
        track("fresno", &weekdays, (18, 21), 12),
        next_monday,
        next_monday + Days::new(3),
    )
    .await;
    let mut admissions = net.admissions().await;
    let (pid, _) = register(
        &mut admissions,
        &staff,
        registration("Cam", "Bined", "fresno"),
    )
    .await
    .unwrap();
    admit(&mut admissions, &staff, &pid, "fresno", Program::IopDay)
        .await
        .unwrap();
    until("the enrollment", || enrollment(&s, &staff, &pid)).await;
    let joined = s
        .clone()
        .enroll_in_track(authed(
            EnrollInTrackRequest {
                patient_id: pid.clone(),
                track_id: day_track.clone(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .bookings;
    assert_eq!(joined.len(), 4);
    let booked_sessions = |e: &GetEnrollmentResponse| {
        let mut ids: Vec<String> = e.bookings.iter().map(|b| b.session_id.clone()).collect();
        ids.sort();
        ids
    };
    let mut day_sessions: Vec<String> = joined.iter().map(|b| b.session_id.clone()).collect();
    day_sessions.sort();
    let change = |program: Program| {
        let mut a = admissions.clone();
        let request = authed(
            TransferPatientRequest {
                patient_id: pid.clone(),
                to_facility_id: "fresno".into(),
                program: program as i32,
                ..Default::default()
            },
            &staff,
        );
        async move { a.transfer_patient(request).await.unwrap() }
    };
    let in_program = |program: Program| {
        let (s, staff, pid) = (s.clone(), staff.clone(), pid.clone());
        async move {
            let e = enrollment(&s, &staff, &pid).await?;
            (e.enrollment.as_ref()?.program == program as i32).then_some(e)
        }
    };

    // Day to combined: a combined program attends day groups, nothing moves.
    change(Program::IopCombined).await;
    let combined = until("the combined program", || in_program(Program::IopCombined)).await;
    assert_eq!(booked_sessions(&combined), day_sessions);

    // Combined to evening: each day booking moves to that day's evening group.
    change(Program::IopEvening).await;
    let evening_now = until("the evening program", || in_program(Program::IopEvening)).await;
    let mut evening_ids: Vec<String> = evening.iter().map(|x| x.session_id.clone()).collect();
    evening_ids.sort();
    assert_eq!(booked_sessions(&evening_now), evening_ids);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_down_mid_week_is_judged_by_the_level_of_each_day() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Intake, Role::Clinician], &["fresno"]);
    let s = net.scheduling().await;
    let mut admissions = net.admissions().await;
    let (pid, _) = register(
        &mut admissions,
        &staff,
        registration("Step", "Down", "fresno"),
    )
    .await
    .unwrap();
    // Admitted to partial hospitalization last Monday; stepped down to IOP
    // from last Thursday (a backdated program change, with a new placement).
    let last_monday = monday_of(today()) - Days::new(7);
    iop_testkit::admit_on(
        &mut admissions,
        &staff,
        &pid,
        "fresno",
        Program::Php,
        date(last_monday),
    )
    .await
    .unwrap();
    assess(&mut admissions, &staff, &pid, "fresno", iop_assessment())
        .await
        .unwrap();
    admissions
        .transfer_patient(authed(
            TransferPatientRequest {
                patient_id: pid.clone(),
                to_facility_id: "fresno".into(),
                program: Program::IopDay as i32,
                transferred_on: date(last_monday + Days::new(3)),
            },
            &staff,
        ))
        .await
        .unwrap();
    until("the step-down", || {
        let (s, staff, pid) = (s.clone(), staff.clone(), pid.clone());
        async move {
            let e = enrollment(&s, &staff, &pid).await?;
            (e.enrollment?.program == Program::IopDay as i32).then_some(())
        }
    })
    .await;
    let week = |week_of: NaiveDate| {
        let mut c = s.clone();
        let request = authed(
            GetWeeklyHoursRequest {
                patient_id: pid.clone(),
                week_of: date(week_of),
            },
            &staff,
        );
        async move {
            c.get_weekly_hours(request)
                .await
                .unwrap()
                .into_inner()
                .hours
                .unwrap()
        }
    };
    let last = week(last_monday).await;
    let levels: Vec<(i32, u32)> = last
        .levels
        .iter()
        .map(|l| (l.level_of_care, l.days))
        .collect();
    assert_eq!(
        levels,
        [
            (LevelOfCare::LevelOfCare25PartialHospitalization as i32, 3),
            (LevelOfCare::LevelOfCare21IntensiveOutpatient as i32, 4)
        ]
    );
    // (3 x 20 h + 4 x 9 h) / 7 = 822 minutes; the band shown is IOP's, in
    // force at the week's end.
    assert_eq!(last.required_minutes, 822);
    assert_eq!((last.band_min_hours, last.band_below_hours), (9, 20));
    assert_eq!(last.compliance, Compliance::BelowBand as i32);
    // This week is all IOP.
    let this = week(today()).await;
    assert_eq!(this.levels.len(), 1);
    assert_eq!(this.required_minutes, 540);
    net.stop().await;
}
