//! Clinical through gRPC and Kafka, on SQLite and PostgreSQL: instruments
//! scored with a same-day suicide-risk follow-up and a step-up review when a
//! score worsens; a group note for eight attendees filed in each chart
//! without naming the others, locked by signing, corrected by addenda, late
//! after three business days; a plan overdue on day 31 and due for review
//! after a level change; two below-band weeks (published as scheduling
//! would) opening a step-up review, and the clinician's step-down decision
//! discharging the episode in admissions and the patient view. Events on
//! `iop.clinical.v1` are decoded as an analyst would.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::time::Duration;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use iop_proto::{
    admissions::v1::TransferPatientRequest,
    clinical::{
        events::v1 as events,
        v1::{
            AddAddendumRequest, AttendeePart, CompleteTaskRequest, DecideReviewRequest, Decision,
            GetDocumentationRequest, GetNoteRequest, GetTreatmentPlanRequest, Goal, Instrument,
            Intervention, ItemResponse, ListLateNotesRequest, ListNotesRequest,
            ListOverduePlansRequest, ListReviewsRequest, ListScreeningsRequest, ListTasksRequest,
            Modality, NoteKind, Objective, PlanStatus, Problem, RecordScreeningRequest,
            ReviewDirection, ReviewTrigger, SignNoteRequest, SignTreatmentPlanRequest, Signer,
            TaskKind, UpdateNoteRequest, WriteGroupNoteRequest, WriteNoteRequest,
            WriteTreatmentPlanRequest, clinical_service_client::ClinicalServiceClient,
        },
    },
    common::v1::{Date, LevelOfCare, Program},
    patientview::v1::CareStatus,
    scheduling::{
        events::v1::WeeklyHoursEvaluated,
        v1::{AttendanceEntry, AttendanceStatus, Compliance, RecordAttendanceRequest},
    },
};
use iop_runtime::{auth::Role, wire};
use iop_testkit::{
    Backend, TestNetwork, admit_on, all_records, assess, authed, header, php_assessment, register,
    registration, until,
};
use rstest::rstest;
use tonic::{Code, transport::Channel};

type Clinical = ClinicalServiceClient<Channel>;
const LA: chrono_tz::Tz = chrono_tz::America::Los_Angeles;

fn today() -> NaiveDate {
    Utc::now().with_timezone(&LA).date_naive()
}

fn date(d: NaiveDate) -> Option<Date> {
    Some(wire::date(d))
}

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

async fn clinical(net: &TestNetwork) -> Clinical {
    ClinicalServiceClient::new(net.channel().await)
}

/// Oakland's open tasks (of `assignee` and unassigned ones, when not empty).
async fn open_tasks(
    c: &Clinical,
    token: &str,
    assignee: &str,
) -> Vec<iop_proto::clinical::v1::Task> {
    c.clone()
        .list_tasks(authed(
            ListTasksRequest {
                facility_id: "oakland".into(),
                assignee: assignee.into(),
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .tasks
}

/// Registers `given family` (look-alikes allowed), screens and admits at
/// `facility` on `since`, in IOP.
async fn admitted(
    net: &TestNetwork,
    token: &str,
    (given, family): (&str, &str),
    facility: &str,
    since: NaiveDate,
) -> String {
    let mut admissions = net.admissions().await;
    let (pid, _) = register(
        &mut admissions,
        token,
        registration(given, family, facility),
    )
    .await
    .unwrap();
    admit_on(
        &mut admissions,
        token,
        &pid,
        facility,
        Program::IopEvening,
        date(since),
    )
    .await
    .unwrap();
    pid
}

fn items(values: &[u32]) -> Vec<ItemResponse> {
    (1..)
        .zip(values)
        .map(|(item, value)| ItemResponse {
            item,
            value: *value,
        })
        .collect()
}

fn screening(pid: &str, instrument: Instrument, values: &[u32]) -> RecordScreeningRequest {
    RecordScreeningRequest {
        patient_id: pid.into(),
        facility_id: "oakland".into(),
        instrument: instrument as i32,
        responses: items(values),
        administered_at: None,
    }
}

/// The clinical events of `pid` of type `kind`, decoded.
fn decoded<M: prost::Message + Default>(
    records: &[rdkafka::message::OwnedMessage],
    pid: &str,
    kind: &str,
) -> Vec<M> {
    use rdkafka::Message as _;
    records
        .iter()
        .filter(|r| header(r, "ce_subject") == Some(pid))
        .filter(|r| header(r, "ce_type") == Some(kind))
        .map(|r| M::decode(r.payload().unwrap()).unwrap())
        .collect()
}

/// Waits until `iop.clinical.v1` holds at least `n` events of `kind` about `pid`.
async fn clinical_events<M: prost::Message + Default>(
    net: &TestNetwork,
    pid: &str,
    kind: &str,
    n: usize,
) -> Vec<M> {
    until(kind, || async {
        let records = all_records(net, "iop.clinical.v1").await;
        let found: Vec<M> = decoded(&records, pid, kind);
        (found.len() >= n).then_some(found)
    })
    .await
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screening_scores_opens_a_same_day_follow_up_and_a_review_when_worse(
    #[case] backend: Backend,
) {
    let net = TestNetwork::start(backend).await;
    let staff = net.token(&[Role::Clinician, Role::Intake], &["oakland"]);
    let c = clinical(&net).await;
    let pid = admitted(
        &net,
        &staff,
        ("Rowan", "Pike"),
        "oakland",
        today() - Days::new(10),
    )
    .await;

    // An incomplete form is refused naming the item, before anything is read.
    let err = c
        .clone()
        .record_screening(authed(
            screening(&pid, Instrument::Phq9, &[1, 1, 1, 0, 0, 0, 0, 0]),
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("PHQ-9 item 9 is missing"),
        "{}",
        err.message()
    );

    // PHQ-9 total 4 (minimal) with item 9 = 1: a follow-up due today.
    let recorded = until("clinical to know the patient", || {
        let mut c = c.clone();
        let request = authed(
            screening(&pid, Instrument::Phq9, &[1, 1, 1, 0, 0, 0, 0, 0, 1]),
            &staff,
        );
        async move { c.record_screening(request).await.ok() }
    })
    .await
    .into_inner();
    let score = recorded.score.unwrap();
    assert_eq!((score.total, score.max_total), (4, 27));
    assert_eq!(score.band, "minimal");
    assert!(score.suicide_risk && !score.positive);
    assert_eq!(score.loinc, "44261-6");
    assert_eq!(score.administered_on, date(today()));
    assert_eq!(score.rescreen_due_on, date(today() + Days::new(30)));
    assert!(score.change.is_none(), "the first score has no change");
    assert!(!recorded.follow_up_task_id.is_empty());
    let tasks = open_tasks(&c, &staff, "").await;
    let follow_up = tasks
        .iter()
        .find(|t| t.task_id == recorded.follow_up_task_id)
        .unwrap();
    assert_eq!(follow_up.kind, TaskKind::SuicideRiskFollowUp as i32);
    assert_eq!(follow_up.assignee, "test-user", "the screener follows up");
    let someone_elses = open_tasks(&c, &staff, "dr-other").await;
    assert!(someone_elses.iter().all(|t| t.task_id != follow_up.task_id));
    assert_eq!(follow_up.patient_id, pid);
    assert_eq!(follow_up.due_on, date(today()), "same day, facility time");
    let due = wire::instant(follow_up.due_at.as_ref()).unwrap();
    assert_eq!(due.with_timezone(&LA).date_naive(), today());
    assert!(due <= Utc::now() + chrono::Duration::hours(4));

    // Worse by 8 points: a step-up review opens with the score as its reason.
    let worse = c
        .clone()
        .record_screening(authed(
            screening(&pid, Instrument::Phq9, &[2, 2, 2, 2, 2, 2, 0, 0, 0]),
            &staff,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(worse.follow_up_task_id.is_empty());
    let change = worse.score.unwrap().change.unwrap();
    assert_eq!((change.baseline_total, change.since_previous), (4, 8));
    assert!(change.worsened && !change.response);
    let reviews = c
        .clone()
        .list_reviews(authed(
            ListReviewsRequest {
                facility_id: "oakland".into(),
                include_decided: false,
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .reviews;
    let review = reviews.iter().find(|r| r.patient_id == pid).unwrap();
    assert_eq!(review.direction, ReviewDirection::StepUp as i32);
    assert_eq!(review.reasons.len(), 1);
    assert_eq!(
        review.reasons[0].trigger,
        ReviewTrigger::ScoreWorsened as i32
    );
    assert_eq!(review.reasons[0].detail, "PHQ-9 12 after 4");

    // AUDIT-C: the registration says sex unknown, so women's cut-off (3).
    let audit_c = c
        .clone()
        .record_screening(authed(
            screening(&pid, Instrument::AuditC, &[2, 1, 0]),
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .score
        .unwrap();
    assert_eq!((audit_c.total, audit_c.band.as_str()), (3, "positive"));
    assert_eq!(audit_c.loinc, "75626-2");

    // The incomplete form stored nothing; the history shows three.
    let listed = c
        .clone()
        .list_screenings(authed(
            ListScreeningsRequest {
                patient_id: pid.clone(),
                instrument: Instrument::Unspecified as i32,
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .scores;
    assert_eq!(
        listed.iter().map(|s| s.total).collect::<Vec<_>>(),
        [4, 12, 3]
    );

    // Another facility, and billing, may not read the screenings.
    for token in [
        net.token(&[Role::Clinician], &["fresno"]),
        net.token(&[Role::Billing], &["oakland"]),
    ] {
        let err = c
            .clone()
            .list_screenings(authed(
                ListScreeningsRequest {
                    patient_id: pid.clone(),
                    instrument: 0,
                },
                &token,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }

    // As an analyst reads them: scores without answers, the follow-up.
    let scored: Vec<events::ScreeningScored> =
        clinical_events(&net, &pid, "iop.clinical.events.v1.ScreeningScored", 3).await;
    assert_eq!(scored[0].band, "minimal");
    assert!(scored[0].suicide_risk);
    assert_eq!(scored[0].instrument, Instrument::Phq9 as i32);
    let opened: Vec<events::TaskOpened> =
        clinical_events(&net, &pid, "iop.clinical.events.v1.TaskOpened", 2).await;
    assert!(
        opened
            .iter()
            .any(|t| t.task_id == recorded.follow_up_task_id
                && t.kind == TaskKind::SuicideRiskFollowUp as i32
                && t.due_on == date(today()))
    );
    let reviewed: Vec<events::LevelOfCareReviewOpened> = clinical_events(
        &net,
        &pid,
        "iop.clinical.events.v1.LevelOfCareReviewOpened",
        1,
    )
    .await;
    assert_eq!(reviewed[0].review_id, review.review_id);

    // The patient view shows the latest scores, the open flag and review —
    // and no answers; completing the follow-up clears the flag.
    let view = net.view().await;
    let read = |view: &iop_proto::patientview::v1::patient_view_service_client::PatientViewServiceClient<Channel>| {
        let (mut view, staff, pid) = (view.clone(), staff.clone(), pid.clone());
        async move {
            iop_testkit::read_view(&mut view, &staff, &pid, "", Duration::from_secs(5))
                .await
                .ok()
                .and_then(|v| v.clinical)
        }
    };
    let shown = until("the scores in the view", || async {
        read(&view)
            .await
            .filter(|c| c.scores.len() == 2 && !c.open_reviews.is_empty())
    })
    .await;
    let phq9 = shown
        .scores
        .iter()
        .find(|s| s.instrument == Instrument::Phq9 as i32)
        .unwrap();
    assert_eq!((phq9.total, phq9.band.as_str()), (12, "moderate"));
    assert_eq!(shown.risk_flags.len(), 1);
    assert_eq!(shown.risk_flags[0].task_id, recorded.follow_up_task_id);
    assert_eq!(shown.open_reviews[0].review_id, review.review_id);
    c.clone()
        .complete_task(authed(
            CompleteTaskRequest {
                task_id: recorded.follow_up_task_id.clone(),
                outcome: "Safety plan reviewed; no plan or intent; family contacted.".into(),
            },
            &staff,
        ))
        .await
        .unwrap();
    until("the flag to clear", || async {
        read(&view).await.filter(|c| c.risk_flags.is_empty())
    })
    .await;
    net.stop().await;
}

const NAMES: [(&str, &str); 8] = [
    ("Avery", "Quinlan"),
    ("Bexley", "Ostrowski"),
    ("Cosima", "Nakagawa"),
    ("Dario", "Mbatha"),
    ("Eilidh", "Lindgren"),
    ("Faustino", "Kealoha"),
    ("Giedre", "Jablonski"),
    ("Hollis", "Iwu"),
];

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_note_files_one_note_per_attendee_naming_no_other(#[case] backend: Backend) {
    let net = TestNetwork::start(backend).await;
    let staff = net.token(&[Role::Clinician, Role::Intake], &["oakland"]);
    let c = clinical(&net).await;
    let s = net.scheduling().await;
    let since = today() - Days::new(7);
    let mut pids = Vec::new();
    for name in NAMES {
        pids.push(admitted(&net, &staff, name, "oakland", since).await);
    }

    // Yesterday's group session, everyone booked and present.
    let yesterday = today() - Days::new(1);
    let session = iop_testkit::group_session(
        &s,
        &staff,
        ("oakland", Program::IopEvening),
        yesterday,
        &pids,
    )
    .await;
    s.clone()
        .record_attendance(authed(
            RecordAttendanceRequest {
                session_id: session.clone(),
                entries: pids
                    .iter()
                    .map(|p| AttendanceEntry {
                        patient_id: p.clone(),
                        status: AttendanceStatus::Attended as i32,
                        ..Default::default()
                    })
                    .collect(),
            },
            &staff,
        ))
        .await
        .unwrap();

    let part = |i: usize, text: String| AttendeePart {
        patient_id: pids[i].clone(),
        text,
    };
    let own_parts: Vec<AttendeePart> = (0..8)
        .map(|i| {
            part(
                i,
                format!(
                    "{} practised urge surfing and set a goal for the weekend.",
                    NAMES[i].0
                ),
            )
        })
        .collect();
    let request = |summary: &str, parts: Vec<AttendeePart>| WriteGroupNoteRequest {
        session_id: session.clone(),
        facility_id: "oakland".into(),
        shared_summary: summary.into(),
        parts,
    };
    // Once clinical holds the attendance: a part naming another attendee
    // (here Bexley, in Avery's part) is refused, naming the part.
    let mut naming = own_parts.clone();
    naming[0].text = "Avery supported bexley during the check-in.".into();
    let err = until("clinical to hold the attendance", || {
        let mut c = c.clone();
        let r = authed(
            request("Relapse prevention: triggers.", naming.clone()),
            &staff,
        );
        async move {
            let e = c.write_group_note(r).await.unwrap_err();
            e.message().contains("names or identifies").then_some(e)
        }
    })
    .await;
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("part 1"), "{}", err.message());
    // A summary naming anyone, a missing attendee, a stranger: refused too.
    let by_id = request(&format!("Discussed with {}", pids[3]), own_parts.clone());
    let by_family = request("Ostrowski led the role play.", own_parts.clone());
    let missing = request("Relapse prevention.", own_parts[..7].to_vec());
    for bad in [by_id, by_family, missing] {
        let err = c
            .clone()
            .write_group_note(authed(bad, &staff))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{}", err.message());
    }

    let summary = "Relapse prevention: identifying triggers and planning coping responses.";
    let notes = c
        .clone()
        .write_group_note(authed(request(summary, own_parts.clone()), &staff))
        .await
        .unwrap()
        .into_inner()
        .notes;
    assert_eq!(notes.len(), 8);
    // A second note for the same session is refused.
    let again = c
        .clone()
        .write_group_note(authed(request(summary, own_parts.clone()), &staff))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);

    // Each attendee's chart holds exactly their note; none names another.
    for (i, pid) in pids.iter().enumerate() {
        let chart = c
            .clone()
            .list_notes(authed(
                ListNotesRequest {
                    patient_id: pid.clone(),
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner()
            .notes;
        assert_eq!(chart.len(), 1, "{pid}");
        let n = &chart[0];
        assert_eq!(n.kind, NoteKind::Group as i32);
        assert_eq!(n.shared_summary, summary);
        assert_eq!(n.text, own_parts[i].text);
        assert_eq!(n.service_date, date(yesterday));
        let shown = format!("{n:?}").to_lowercase();
        for (j, other) in pids.iter().enumerate().filter(|(j, _)| *j != i) {
            for word in [NAMES[j].0, NAMES[j].1, other.as_str()] {
                assert!(
                    !shown.contains(&word.to_lowercase()),
                    "the note of attendee {i} shows {word}"
                );
            }
        }
    }

    // Due three business days after the service (weekends skipped).
    let due_day = iop_care::calendar::business_days_after(yesterday, 3, &[]);
    let due = iop_care::calendar::end_of_day(due_day, LA);
    assert_eq!(wire::instant(notes[0].due_at.as_ref()), Some(due));

    // Signing locks; an edit is refused; an addendum is kept and shown.
    let first = notes.iter().find(|n| n.patient_id == pids[0]).unwrap();
    let signed = c
        .clone()
        .sign_note(authed(
            SignNoteRequest {
                note_id: first.note_id.clone(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .note
        .unwrap();
    assert!(signed.signed);
    let locked = c
        .clone()
        .update_note(authed(
            UpdateNoteRequest {
                note_id: first.note_id.clone(),
                text: "Rewritten".into(),
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(locked.code(), Code::FailedPrecondition);
    assert!(locked.message().contains("locked"), "{}", locked.message());
    c.clone()
        .add_addendum(authed(
            AddAddendumRequest {
                note_id: first.note_id.clone(),
                text: "Correction: the goal is for Sunday.".into(),
            },
            &staff,
        ))
        .await
        .unwrap();
    let read = c
        .clone()
        .get_note(authed(
            GetNoteRequest {
                note_id: first.note_id.clone(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .note
        .unwrap();
    assert_eq!(read.text, own_parts[0].text, "the signed text is unchanged");
    assert_eq!(read.addenda.len(), 1);
    assert_eq!(read.addenda[0].text, "Correction: the goal is for Sunday.");
    // An unsigned note can be edited, and an addendum waits for a signature.
    let second = notes.iter().find(|n| n.patient_id == pids[1]).unwrap();
    let edited = c
        .clone()
        .update_note(authed(
            UpdateNoteRequest {
                note_id: second.note_id.clone(),
                text: "Bexley named two triggers.".into(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .note
        .unwrap();
    assert_eq!(edited.text, "Bexley named two triggers.");
    let early = c
        .clone()
        .add_addendum(authed(
            AddAddendumRequest {
                note_id: second.note_id.clone(),
                text: "More".into(),
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);

    // Late: the seven unsigned notes, once their deadline has passed.
    let late_at = |at: DateTime<Utc>| {
        let mut c = c.clone();
        let staff = staff.clone();
        async move {
            c.list_late_notes(authed(
                ListLateNotesRequest {
                    facility_id: "oakland".into(),
                    as_of: Some(wire::timestamp(at)),
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner()
            .notes
        }
    };
    assert!(late_at(due - chrono::Duration::seconds(1)).await.is_empty());
    let late = late_at(due + chrono::Duration::seconds(1)).await;
    assert_eq!(late.len(), 7);
    assert!(late.iter().all(|n| n.note_id != first.note_id));

    // Billing learns whether a day is documented, not what it says.
    let billing = net.token(&[Role::Billing], &["oakland"]);
    let documented = |pid: String| {
        let mut c = c.clone();
        let billing = billing.clone();
        async move {
            c.get_documentation(authed(
                GetDocumentationRequest {
                    patient_id: pid,
                    service_date: date(yesterday),
                },
                &billing,
            ))
            .await
            .unwrap()
            .into_inner()
        }
    };
    assert!(documented(pids[0].clone()).await.signed_note);
    let pending = documented(pids[1].clone()).await;
    assert!(!pending.signed_note);
    assert_eq!(pending.unsigned_notes, 1);
    let read_by_billing = c
        .clone()
        .get_note(authed(
            GetNoteRequest {
                note_id: first.note_id.clone(),
            },
            &billing,
        ))
        .await
        .unwrap_err();
    assert_eq!(read_by_billing.code(), Code::PermissionDenied);

    // A counseling note is its author's alone.
    let counseling = c
        .clone()
        .write_note(authed(
            WriteNoteRequest {
                patient_id: pids[2].clone(),
                facility_id: "oakland".into(),
                kind: NoteKind::Counseling as i32,
                service_date: date(yesterday),
                text: "Process notes.".into(),
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .note
        .unwrap();
    let colleague = iop_testkit::token_of(
        &net.settings,
        "dr-colleague",
        &[Role::Clinician],
        &["oakland"],
    );
    let refused = c
        .clone()
        .get_note(authed(
            GetNoteRequest {
                note_id: counseling.note_id.clone(),
            },
            &colleague,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let their_chart = c
        .clone()
        .list_notes(authed(
            ListNotesRequest {
                patient_id: pids[2].clone(),
            },
            &colleague,
        ))
        .await
        .unwrap()
        .into_inner()
        .notes;
    assert_eq!(
        their_chart.len(),
        1,
        "the group note, not the counseling note"
    );

    // An individual note of ten days ago, unsigned: its author's late-note task.
    let old = c
        .clone()
        .write_note(authed(
            WriteNoteRequest {
                patient_id: pids[3].clone(),
                facility_id: "oakland".into(),
                kind: NoteKind::Individual as i32,
                service_date: date(today() - Days::new(10)),
                text: "Individual session: relapse plan reviewed.".into(),
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .note
        .unwrap();
    let mine = open_tasks(&c, &staff, "test-user").await;
    let late_task = mine.iter().find(|t| t.source_id == old.note_id).unwrap();
    assert_eq!(late_task.kind, TaskKind::NoteLate as i32);
    assert!(
        late_task.task_id.is_empty(),
        "derived: cleared by signing the note"
    );

    // The signature is published without the text.
    let published: Vec<events::NoteSigned> =
        clinical_events(&net, &pids[0], "iop.clinical.events.v1.NoteSigned", 1).await;
    assert_eq!(published[0].note_id, first.note_id);
    assert_eq!(published[0].service_date, date(yesterday));
    assert_eq!(published[0].session_id, session);
    assert!(!published[0].late);
    net.stop().await;
}

fn plan_problems(target: NaiveDate) -> Vec<Problem> {
    vec![Problem {
        description: "Opioid use disorder, early remission not yet reached".into(),
        icd10: "F11.20".into(),
        goals: vec![Goal {
            description: "Sustained abstinence".into(),
            objectives: vec![Objective {
                description: "Attends 9 clinical hours weekly for 4 weeks".into(),
                target_date: date(target),
                met: false,
            }],
        }],
        interventions: vec![
            Intervention {
                modality: Modality::GroupTherapy as i32,
                frequency: "3x weekly".into(),
                responsible_clinician: "dr-ng".into(),
            },
            Intervention {
                modality: Modality::MedicationManagement as i32,
                frequency: "weekly".into(),
                responsible_clinician: "dr-ortiz".into(),
            },
        ],
    }]
}

/// Publishes `event` on `topic` about `pid`, as its context's relay would.
async fn publish<M: prost::Name>(net: &TestNetwork, topic: &str, pid: &str, event: &M) {
    iop_testkit::publish(&net.bootstrap_servers(), topic, pid, event).await;
}

/// Publishes `WeeklyHoursEvaluated` below the band, as scheduling would.
async fn publish_week(net: &TestNetwork, pid: &str, week_start: NaiveDate, minutes: u32) {
    let event = WeeklyHoursEvaluated {
        patient_id: pid.into(),
        facility_id: "oakland".into(),
        week_start: date(week_start),
        attended_minutes: minutes,
        band_min_hours: 9,
        band_below_hours: 20,
        compliance: Compliance::BelowBand as i32,
        level_of_care: LevelOfCare::LevelOfCare21IntensiveOutpatient as i32,
        required_minutes: 540,
        episode_days: 7,
        ..Default::default()
    };
    publish(net, "iop.scheduling.v1", pid, &event).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drug_tests_open_a_step_up_review_and_a_diversion_task() {
    use iop_proto::lab::events::v1::{Interpretation, ResultInterpreted};
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Clinician, Role::Intake], &["oakland"]);
    let c = clinical(&net).await;
    let pid = admitted(
        &net,
        &staff,
        ("Noor", "Vance"),
        "oakland",
        today() - Days::new(40),
    )
    .await;
    let result = |days_ago: u64, interpretation: Interpretation, class: &str| ResultInterpreted {
        patient_id: pid.clone(),
        result_id: uuid::Uuid::now_v7().to_string(),
        facility_id: "oakland".into(),
        collected_on: date(today() - Days::new(days_ago)),
        interpretation: interpretation as i32,
        classes: vec![class.into()],
        definitive: true,
        occurred_at: Some(wire::timestamp(Utc::now())),
    };
    // Clinical knows the episode (overdue plan: admitted 40 days ago).
    until("clinical to know the episode", || {
        let mut c = c.clone();
        let r = authed(
            ListOverduePlansRequest {
                facility_id: "oakland".into(),
                as_of: None,
            },
            &staff,
        );
        let pid = pid.clone();
        async move {
            let plans = c.list_overdue_plans(r).await.ok()?.into_inner().plans;
            plans.iter().any(|p| p.patient_id == pid).then_some(())
        }
    })
    .await;
    // A negative for prescribed buprenorphine: a result review task.
    publish(
        &net,
        "iop.lab.v1",
        &pid,
        &result(1, Interpretation::UnexpectedNegative, "buprenorphine"),
    )
    .await;
    let task = until("the diversion task", || {
        let mut c = c.clone();
        let r = authed(
            ListTasksRequest {
                facility_id: "oakland".into(),
                assignee: String::new(),
            },
            &staff,
        );
        let pid = pid.clone();
        async move {
            c.list_tasks(r)
                .await
                .ok()?
                .into_inner()
                .tasks
                .into_iter()
                .find(|t| t.patient_id == pid && t.kind == TaskKind::ResultReview as i32)
        }
    })
    .await;
    assert!(task.reason.contains("buprenorphine"), "{}", task.reason);
    // Two unexpected positives 35 days apart open nothing; a third within 30
    // days of the second opens a step-up review naming both.
    publish(
        &net,
        "iop.lab.v1",
        &pid,
        &result(39, Interpretation::UnexpectedPositive, "fentanyl"),
    )
    .await;
    publish(
        &net,
        "iop.lab.v1",
        &pid,
        &result(4, Interpretation::UnexpectedPositive, "fentanyl"),
    )
    .await;
    // Events of one patient are applied in order (one partition per key): a
    // negative for methadone behind them is the barrier, seen by its task.
    publish(
        &net,
        "iop.lab.v1",
        &pid,
        &result(3, Interpretation::UnexpectedNegative, "methadone"),
    )
    .await;
    until("the barrier's task", || {
        let mut c = c.clone();
        let r = authed(
            ListTasksRequest {
                facility_id: "oakland".into(),
                assignee: String::new(),
            },
            &staff,
        );
        async move {
            let tasks = c.list_tasks(r).await.ok()?.into_inner().tasks;
            tasks
                .iter()
                .any(|t| t.reason.contains("methadone"))
                .then_some(())
        }
    })
    .await;
    assert!(
        iop_testkit::open_review(net.channel().await, &staff, "oakland", &pid)
            .await
            .is_none(),
        "35 days apart is no pair"
    );
    publish(
        &net,
        "iop.lab.v1",
        &pid,
        &result(2, Interpretation::UnexpectedPositive, "cocaine"),
    )
    .await;
    let review = until("the step-up review", || async {
        iop_testkit::open_review(net.channel().await, &staff, "oakland", &pid).await
    })
    .await;
    assert_eq!(review.direction, ReviewDirection::StepUp as i32);
    assert_eq!(
        review
            .reasons
            .iter()
            .map(|r| (r.trigger, r.on))
            .collect::<Vec<_>>(),
        [
            (
                ReviewTrigger::UnexpectedPositive as i32,
                date(today() - Days::new(4))
            ),
            (
                ReviewTrigger::UnexpectedPositive as i32,
                date(today() - Days::new(2))
            ),
        ]
    );
    net.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_fall_due_reviews_open_and_a_step_down_discharges(#[case] backend: Backend) {
    let net = TestNetwork::start(backend).await;
    let staff = net.token(&[Role::Clinician, Role::Intake], &["oakland"]);
    let c = clinical(&net).await;
    let admitted_on = today() - Days::new(31);
    let pid = admitted(&net, &staff, ("Marisol", "Quade"), "oakland", admitted_on).await;
    let overdue = |as_of: NaiveDate| {
        let mut c = c.clone();
        let staff = staff.clone();
        async move {
            c.list_overdue_plans(authed(
                ListOverduePlansRequest {
                    facility_id: "oakland".into(),
                    as_of: date(as_of),
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner()
            .plans
        }
    };
    // Day 31 after admission without a plan: overdue; on day 30, not yet.
    let listed = until("clinical to know the episode", || async {
        let plans = overdue(today()).await;
        plans.into_iter().find(|p| p.patient_id == pid)
    })
    .await;
    assert_eq!(listed.due_on, date(admitted_on + Days::new(30)));
    assert_eq!(
        listed.reason,
        "no active treatment plan 30 days after admission"
    );
    assert!(
        overdue(admitted_on + Days::new(30))
            .await
            .iter()
            .all(|p| p.patient_id != pid)
    );
    // The facility's task list carries it too, until a plan is active.
    let plan_due = |c: Clinical, staff: String, pid: String| async move {
        open_tasks(&c, &staff, "")
            .await
            .into_iter()
            .any(|t| t.patient_id == pid && t.kind == TaskKind::PlanDue as i32)
    };
    assert!(plan_due(c.clone(), staff.clone(), pid.clone()).await);

    // A plan whose objective has no target date is refused, naming it.
    let mut incomplete = plan_problems(today() + Days::new(28));
    incomplete[0].goals[0].objectives[0].target_date = None;
    let err = c
        .clone()
        .write_treatment_plan(authed(
            WriteTreatmentPlanRequest {
                patient_id: pid.clone(),
                problems: incomplete,
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("target_date"), "{}", err.message());

    let plan = c
        .clone()
        .write_treatment_plan(authed(
            WriteTreatmentPlanRequest {
                patient_id: pid.clone(),
                problems: plan_problems(today() + Days::new(28)),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!((plan.version, plan.status), (1, PlanStatus::Draft as i32));
    let sign = |signer: Signer| {
        let mut c = c.clone();
        let staff = staff.clone();
        let id = plan.plan_id.clone();
        async move {
            c.sign_treatment_plan(authed(
                SignTreatmentPlanRequest {
                    plan_id: id,
                    signer: signer as i32,
                },
                &staff,
            ))
            .await
        }
    };
    let half = sign(Signer::Practitioner)
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(half.status, PlanStatus::Draft as i32);
    let active = sign(Signer::Patient)
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(active.status, PlanStatus::Active as i32);
    assert_eq!(active.review_due_on, date(today() + Days::new(90)));
    assert_eq!(
        sign(Signer::Practitioner).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert!(overdue(today()).await.iter().all(|p| p.patient_id != pid));
    assert!(!plan_due(c.clone(), staff.clone(), pid.clone()).await);

    // A change of level (to PHP, placed by a new assessment) makes the plan
    // due for review at once, with a task.
    let mut admissions = net.admissions().await;
    assess(&mut admissions, &staff, &pid, "oakland", php_assessment())
        .await
        .unwrap();
    admissions
        .transfer_patient(authed(
            TransferPatientRequest {
                patient_id: pid.clone(),
                to_facility_id: "oakland".into(),
                program: Program::Php as i32,
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap();
    let due = until("the level change to reach the plan", || {
        let mut c = c.clone();
        let r = authed(
            GetTreatmentPlanRequest {
                patient_id: pid.clone(),
            },
            &staff,
        );
        async move {
            let p = c.get_treatment_plan(r).await.ok()?.into_inner().plan?;
            (p.status == PlanStatus::ReviewDue as i32).then_some(p)
        }
    })
    .await;
    assert_eq!(
        due.review_reason,
        format!("level of care changed on {}", today())
    );
    let listed = overdue(today()).await;
    let entry = listed.iter().find(|p| p.patient_id == pid).unwrap();
    assert_eq!(entry.due_on, date(today()));
    let tasks = open_tasks(&c, &staff, "").await;
    assert!(
        tasks
            .iter()
            .any(|t| t.patient_id == pid && t.kind == TaskKind::PlanReview as i32)
    );

    // Two consecutive weeks below the band, as scheduling publishes them:
    // one step-up review naming both weeks.
    let (first, second) = (
        monday_of(today()) - Days::new(14),
        monday_of(today()) - Days::new(7),
    );
    publish_week(&net, &pid, first, 300).await;
    publish_week(&net, &pid, second, 240).await;
    let review = until("the step-up review", || {
        let mut c = c.clone();
        let r = authed(
            ListReviewsRequest {
                facility_id: "oakland".into(),
                include_decided: false,
            },
            &staff,
        );
        let pid = pid.clone();
        async move {
            c.list_reviews(r)
                .await
                .ok()?
                .into_inner()
                .reviews
                .into_iter()
                .find(|r| r.patient_id == pid)
        }
    })
    .await;
    assert_eq!(review.direction, ReviewDirection::StepUp as i32);
    assert_eq!(
        review
            .reasons
            .iter()
            .map(|r| (r.trigger, r.on))
            .collect::<Vec<_>>(),
        [
            (ReviewTrigger::WeekBelowBand as i32, date(first)),
            (ReviewTrigger::WeekBelowBand as i32, date(second)),
        ]
    );
    assert_eq!(
        review.from_level,
        LevelOfCare::LevelOfCare25PartialHospitalization as i32
    );
    let tasks = open_tasks(&c, &staff, "").await;
    assert!(
        tasks.iter().any(
            |t| t.source_id == review.review_id && t.kind == TaskKind::LevelOfCareReview as i32
        )
    );

    // A step "down" to a higher level is refused, naming the field.
    let decide = |decision: Decision, to: LevelOfCare| {
        let mut c = c.clone();
        let staff = staff.clone();
        let id = review.review_id.clone();
        async move {
            c.decide_review(authed(
                DecideReviewRequest {
                    review_id: id,
                    decision: decision as i32,
                    to_level: to as i32,
                    justification: "Attendance improved after transport was arranged; \
                                    objectives on track for outpatient care."
                        .into(),
                },
                &staff,
            ))
            .await
        }
    };
    let err = decide(Decision::StepDown, LevelOfCare::LevelOfCare35Residential)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let decided = decide(Decision::StepDown, LevelOfCare::LevelOfCare1Outpatient)
        .await
        .unwrap()
        .into_inner()
        .review
        .unwrap();
    assert!(!decided.open);
    assert_eq!(
        decide(Decision::Continue, LevelOfCare::Unspecified)
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );

    // Admissions acts on the decision: the episode ends, stepped down, and
    // the patient view shows the transition.
    let view = net.view().await;
    let shown = until("the discharge in the view", || {
        let (mut view, staff, pid) = (view.clone(), staff.clone(), pid.clone());
        async move {
            let v = iop_testkit::read_view(&mut view, &staff, &pid, "", Duration::from_secs(5))
                .await
                .ok()?;
            let decided = v
                .timeline
                .iter()
                .any(|t| t.event_type == "iop.clinical.events.v1.LevelOfCareDecided");
            (v.status == CareStatus::Discharged as i32 && decided).then_some(v)
        }
    })
    .await;
    assert!(shown.current_episode.is_none());
    let clinical = shown.clinical.clone().unwrap_or_default();
    assert!(
        clinical.open_reviews.is_empty(),
        "the decided review is closed"
    );
    assert_eq!(
        clinical.plan.map(|p| p.status),
        Some(PlanStatus::ReviewDue as i32)
    );
    assert!(
        shown
            .timeline
            .iter()
            .any(|t| t.event_type == "iop.clinical.events.v1.LevelOfCareDecided")
    );
    assert!(
        shown
            .timeline
            .iter()
            .any(|t| t.event_type == "iop.admissions.events.v1.PatientDischarged")
    );
    let admissions_records = all_records(&net, "iop.admissions.v1").await;
    let discharged: Vec<iop_proto::admissions::events::v1::PatientDischarged> = decoded(
        &admissions_records,
        &pid,
        "iop.admissions.events.v1.PatientDischarged",
    );
    assert_eq!(discharged.len(), 1);
    assert_eq!(
        discharged[0].reason,
        iop_proto::common::v1::DischargeReason::StepDownOutpatient as i32
    );
    assert_eq!(discharged[0].discharged_on, date(today()));
    let decisions: Vec<events::LevelOfCareDecided> =
        clinical_events(&net, &pid, "iop.clinical.events.v1.LevelOfCareDecided", 1).await;
    assert_eq!(decisions[0].decision, Decision::StepDown as i32);
    assert_eq!(
        decisions[0].to_level,
        LevelOfCare::LevelOfCare1Outpatient as i32
    );
    net.stop().await;
}
