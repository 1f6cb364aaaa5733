//! Testing-lab through gRPC and Kafka: HL7 `ORU^R01` samples matched to
//! their orders by accession or kept in the work queue, acknowledged AA, AE
//! or AR naming segment and field; results interpreted against the
//! medications clinical published (buprenorphine without norbuprenorphine is
//! a possible adulteration); the day's codes published; and two unexpected
//! positives making clinical open a review (across services, through Kafka).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use chrono::{Days, NaiveDate, Utc};
use iop_proto::{
    clinical::v1::{
        MedicationClass, RecordMedicationRequest, ReviewTrigger,
        clinical_service_client::ClinicalServiceClient,
    },
    common::v1::{Date, Program},
    lab::{
        events::v1 as events,
        v1::{
            Analyte, AnalyteResult, DiscloseResultsRequest, DrawRandomRequest, DrugClass, Finding,
            GetDrawRequest, ListResultsRequest, ListWorkQueueRequest, OrderDueTestsRequest,
            OrderReason, PlaceOrderRequest, PlaceStandingOrderRequest, RecipientKind,
            RecordCollectionRequest, RecordHandoffRequest, RecordResultRequest,
            RecordValidityRequest, ResolveWorkItemRequest, ResultKind, ScreenMethod,
            SpecimenStatus, SpecimenType, SubmitHl7Request,
            testing_lab_service_client::TestingLabServiceClient,
        },
    },
    ops::v1::{ListConsumersRequest, operations_service_client::OperationsServiceClient},
};
use iop_runtime::{auth::Role, wire};
use iop_testkit::{
    Backend, TestNetwork, admit_on, all_records, authed, header, register, registration, until,
};
use rstest::rstest;
use tonic::transport::Channel;

type Lab = TestingLabServiceClient<Channel>;
const LA: chrono_tz::Tz = chrono_tz::America::Los_Angeles;

fn today() -> NaiveDate {
    Utc::now().with_timezone(&LA).date_naive()
}

fn date(d: NaiveDate) -> Option<Date> {
    Some(wire::date(d))
}

async fn admitted(net: &TestNetwork, token: &str, given: &str) -> String {
    let mut admissions = net.admissions().await;
    let (pid, _) = register(
        &mut admissions,
        token,
        registration(given, "Okafor", "oakland"),
    )
    .await
    .unwrap();
    admit_on(
        &mut admissions,
        token,
        &pid,
        "oakland",
        Program::IopDay,
        date(today() - Days::new(20)),
    )
    .await
    .unwrap();
    pid
}

/// Places an order once testing-lab knows the patient; returns its accession.
async fn order(lab: &Lab, token: &str, pid: &str, panel: &[DrugClass]) -> String {
    until("testing-lab to know the patient", || {
        let mut lab = lab.clone();
        let r = authed(
            PlaceOrderRequest {
                patient_id: pid.into(),
                facility_id: "oakland".into(),
                specimen: SpecimenType::Urine as i32,
                panel: panel.iter().map(|c| *c as i32).collect(),
                observed: true,
                reason: OrderReason::Random as i32,
            },
            token,
        );
        async move { lab.place_order(r).await.ok()?.into_inner().order }
    })
    .await
    .accession
}

/// Waits until testing-lab's consumer has applied everything on its topics.
async fn lab_caught_up(net: &TestNetwork) {
    let admin = net.token(&[Role::Admin], &["*"]);
    let ops = OperationsServiceClient::new(net.channel().await);
    until("testing-lab's consumer to catch up", || {
        let mut ops = ops.clone();
        let r = authed(ListConsumersRequest {}, &admin);
        async move {
            let all = ops.list_consumers(r).await.ok()?.into_inner().consumers;
            let lab = all.into_iter().find(|c| c.group == "iop.lab")?;
            (lab.total_lag == 0 && !lab.partitions.is_empty()).then_some(())
        }
    })
    .await;
}

fn sample(name: &str) -> String {
    let path = format!("{}/samples/oru/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn events_of<M: prost::Message + Default>(
    records: &[rdkafka::message::OwnedMessage],
    pid: &str,
    kind: &str,
) -> Vec<M> {
    use rdkafka::Message as _;
    records
        .iter()
        .filter(|r| header(r, "ce_subject") == Some(pid) && header(r, "ce_type") == Some(kind))
        .map(|r| M::decode(r.payload().unwrap()).unwrap())
        .collect()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hl7_results_are_matched_queued_interpreted_and_acknowledged(#[case] backend: Backend) {
    let net = TestNetwork::start(backend).await;
    let staff = net.token(&[Role::Clinician, Role::Intake], &["oakland"]);
    let lab = TestingLabServiceClient::new(net.channel().await);
    let clinical = ClinicalServiceClient::new(net.channel().await);
    let pid = admitted(&net, &staff, "Ifeoma").await;

    // Buprenorphine is prescribed (clinical), and testing-lab has heard.
    until("clinical to know the patient", || {
        let mut c = clinical.clone();
        let r = authed(
            RecordMedicationRequest {
                patient_id: pid.clone(),
                facility_id: "oakland".into(),
                name: "buprenorphine/naloxone 8/2 mg SL daily".into(),
                class: MedicationClass::Buprenorphine as i32,
                prescriber: "dr-ortiz".into(),
                started_on: date(today() - Days::new(15)),
            },
            &staff,
        );
        async move { c.record_medication(r).await.ok() }
    })
    .await;
    until("MedicationStarted on the topic", || async {
        let records = all_records(&net, "iop.clinical.v1").await;
        let seen: Vec<iop_proto::clinical::events::v1::MedicationStarted> =
            events_of(&records, &pid, "iop.clinical.events.v1.MedicationStarted");
        (!seen.is_empty()).then_some(())
    })
    .await;
    let panel = [
        DrugClass::Buprenorphine,
        DrugClass::Opiate,
        DrugClass::Cocaine,
        DrugClass::Thc,
        DrugClass::Fentanyl,
    ];
    let accession = order(&lab, &staff, &pid, &panel).await;
    assert!(accession.starts_with("ACC-"), "{accession}");
    lab_caught_up(&net).await;

    // The cup: the screen is positive for prescribed buprenorphine only.
    let cup = sample("presumptive_cup.hl7")
        .replace("ACC-1001", &accession)
        .replace("0193a1b2-0000-7000-8000-000000000001", &pid);
    let answer = lab
        .clone()
        .submit_hl7(authed(SubmitHl7Request { message: cup }, &staff))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.ack_code, "AA");
    assert!(answer.ack.contains("MSA|AA|POC0001|"), "{}", answer.ack);
    assert!(!answer.result_id.is_empty() && answer.work_item_id.is_empty());

    // The laboratory's confirmation: buprenorphine with its metabolite, and
    // fentanyl, which nobody prescribed.
    let confirmation = sample("definitive_fentanyl.hl7")
        .replace("ACC-1001", &accession)
        .replace("0193a1b2-0000-7000-8000-000000000001", &pid);
    let answer = lab
        .clone()
        .submit_hl7(authed(
            SubmitHl7Request {
                message: confirmation,
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.ack_code, "AA", "{}", answer.ack);

    let listed = lab
        .clone()
        .list_results(authed(
            ListResultsRequest {
                patient_id: pid.clone(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner();
    // The positive screen ordered its confirmation: buprenorphine, and
    // fentanyl, which the cup does not measure.
    assert_eq!(listed.orders.len(), 2);
    let first = listed
        .orders
        .iter()
        .find(|o| o.accession == accession)
        .unwrap();
    assert_eq!(first.results, 2);
    let confirmation = listed
        .orders
        .iter()
        .find(|o| o.reason == OrderReason::Confirmation as i32)
        .unwrap();
    assert_eq!(
        confirmation.panel,
        [DrugClass::Buprenorphine as i32, DrugClass::Fentanyl as i32]
    );
    let by_kind = |k: ResultKind| listed.results.iter().find(|r| r.kind == k as i32).unwrap();
    let screen = by_kind(ResultKind::Presumptive);
    assert_eq!(
        screen.overall,
        Finding::ExpectedPositive as i32,
        "{screen:?}"
    );
    assert_eq!(screen.prescribed, [DrugClass::Buprenorphine as i32]);
    assert_eq!(screen.confirmation_accession, confirmation.accession);
    // The laboratory's result has no confirmation of its own.
    assert!(
        listed
            .results
            .iter()
            .filter(|r| r.kind == ResultKind::Definitive as i32)
            .all(|r| r.confirmation_accession.is_empty())
    );
    let confirmed = by_kind(ResultKind::Definitive);
    assert_eq!(confirmed.overall, Finding::UnexpectedPositive as i32);
    let reading = |class: DrugClass| {
        confirmed
            .readings
            .iter()
            .find(|r| r.class == class as i32)
            .map(|r| r.finding)
    };
    assert_eq!(
        reading(DrugClass::Buprenorphine),
        Some(Finding::ExpectedPositive as i32)
    );
    assert_eq!(
        reading(DrugClass::Fentanyl),
        Some(Finding::UnexpectedPositive as i32)
    );

    // Methadone (without EDDP) for a patient on buprenorphine: not prescribed,
    // so unexpected, whatever its metabolite.
    let methadone = sample("definitive_methadone.hl7")
        .replace("ACC-1002", &accession)
        .replace("0193a1b2-0000-7000-8000-000000000002", &pid);
    lab.clone()
        .submit_hl7(authed(SubmitHl7Request { message: methadone }, &staff))
        .await
        .unwrap();

    // An unknown accession waits in the work queue; AA, never dropped.
    let unknown = lab
        .clone()
        .submit_hl7(authed(
            SubmitHl7Request {
                message: sample("unknown_accession.hl7"),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unknown.ack_code, "AA");
    assert!(!unknown.work_item_id.is_empty());
    // A result naming another patient than its order's is queued too.
    let wrong_patient = sample("presumptive_cup.hl7").replace("ACC-1001", &accession);
    let queued = lab
        .clone()
        .submit_hl7(authed(
            SubmitHl7Request {
                message: wrong_patient,
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!queued.work_item_id.is_empty());
    // Malformed: AE (kept) or AR (not a result), naming segment and field.
    let no_pid3 = sample("presumptive_cup.hl7").replace(
        "PID|1||0193a1b2-0000-7000-8000-000000000001^^^IOP^PI|",
        "PID|1|||",
    );
    let ae = lab
        .clone()
        .submit_hl7(authed(SubmitHl7Request { message: no_pid3 }, &staff))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ae.ack_code, "AE");
    assert!(ae.ack.contains("ERR||PID^1^3|101^"), "{}", ae.ack);
    let adt = sample("presumptive_cup.hl7").replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01");
    let ar = lab
        .clone()
        .submit_hl7(authed(SubmitHl7Request { message: adt }, &staff))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ar.ack_code, "AR");
    assert!(ar.work_item_id.is_empty());
    let queue = lab
        .clone()
        .list_work_queue(authed(ListWorkQueueRequest {}, &staff))
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(queue.len(), 3, "unknown accession, wrong patient, AE");
    assert!(queue[0].reason.contains("ACC-9999"), "{}", queue[0].reason);

    // Published: interpretations without values, and the day's codes.
    let records = until("the lab's events", || async {
        let records = all_records(&net, "iop.lab.v1").await;
        let n = events_of::<events::ResultInterpreted>(
            &records,
            &pid,
            "iop.lab.events.v1.ResultInterpreted",
        )
        .len();
        (n == 3).then_some(records)
    })
    .await;
    let interpreted: Vec<events::ResultInterpreted> =
        events_of(&records, &pid, "iop.lab.events.v1.ResultInterpreted");
    assert_eq!(
        interpreted
            .iter()
            .map(|e| e.interpretation)
            .collect::<Vec<_>>(),
        [
            events::Interpretation::ExpectedPositive as i32,
            events::Interpretation::UnexpectedPositive as i32,
            events::Interpretation::UnexpectedPositive as i32,
        ]
    );
    assert_eq!(interpreted[1].classes, ["fentanyl"]);
    let codes: Vec<events::DrugTestCodes> =
        events_of(&records, &pid, "iop.lab.events.v1.DrugTestCodes");
    let last_of_day = codes
        .iter()
        .rev()
        .find(|c| c.service_date == date(NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()))
        .unwrap();
    assert_eq!(last_of_day.presumptive_code, "80306");
    assert_eq!(last_of_day.definitive_code, "G0480");

    // A person matches the queued result to the order it belongs to.
    let resolved = lab
        .clone()
        .resolve_work_item(authed(
            ResolveWorkItemRequest {
                work_item_id: unknown.work_item_id.clone(),
                accession: accession.clone(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(resolved.patient_id, pid);
    assert_eq!(
        resolved.overall,
        Finding::UnexpectedPositive as i32,
        "6-AM: heroin"
    );
    let left = lab
        .clone()
        .list_work_queue(authed(ListWorkQueueRequest {}, &staff))
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(left.len(), 2);
    let again = lab
        .clone()
        .resolve_work_item(authed(
            ResolveWorkItemRequest {
                work_item_id: unknown.work_item_id.clone(),
                accession,
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_unexpected_positives_make_clinical_open_a_review() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Clinician, Role::Intake], &["oakland"]);
    let lab = TestingLabServiceClient::new(net.channel().await);
    let pid = admitted(&net, &staff, "Chidi").await;
    let accession = order(
        &lab,
        &staff,
        &pid,
        &[DrugClass::Fentanyl, DrugClass::Cocaine],
    )
    .await;
    // Two screens, days apart, and one confirmation of nine classes.
    let screen = |days_ago: u64, method: ScreenMethod| RecordResultRequest {
        accession: accession.clone(),
        kind: ResultKind::Presumptive as i32,
        method: method as i32,
        collected_on: date(today() - Days::new(days_ago)),
        analytes: vec![AnalyteResult {
            analyte: Analyte::Fentanyl as i32,
            detected: true,
            ..Default::default()
        }],
    };
    for (days_ago, method) in [(5, ScreenMethod::Direct), (2, ScreenMethod::Direct)] {
        let r = lab
            .clone()
            .record_result(authed(screen(days_ago, method), &staff))
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap();
        assert_eq!(r.overall, Finding::UnexpectedPositive as i32);
    }
    // A second screen the same day (analyzer) and nine classes confirmed.
    lab.clone()
        .record_result(authed(screen(2, ScreenMethod::Analyzer), &staff))
        .await
        .unwrap();
    let nine = [
        DrugClass::Amphetamine,
        DrugClass::Methamphetamine,
        DrugClass::Benzodiazepine,
        DrugClass::Cocaine,
        DrugClass::Thc,
        DrugClass::Opiate,
        DrugClass::Oxycodone,
        DrugClass::Mdma,
        DrugClass::Barbiturate,
    ];
    lab.clone()
        .record_result(authed(
            RecordResultRequest {
                accession: accession.clone(),
                kind: ResultKind::Definitive as i32,
                method: 0,
                collected_on: date(today() - Days::new(2)),
                analytes: nine
                    .iter()
                    .map(|c| AnalyteResult {
                        analyte: Analyte::Other as i32,
                        class: *c as i32,
                        detected: false,
                        concentration: 0.0,
                        cutoff: 50.0,
                    })
                    .collect(),
            },
            &staff,
        ))
        .await
        .unwrap();

    // Clinical, from the events alone: a step-up review naming both days.
    let review = until("clinical's review", || async {
        iop_testkit::open_review(net.channel().await, &staff, "oakland", &pid).await
    })
    .await;
    assert_eq!(
        review
            .reasons
            .iter()
            .map(|r| (r.trigger, r.on))
            .collect::<Vec<_>>(),
        [
            (
                ReviewTrigger::UnexpectedPositive as i32,
                date(today() - Days::new(5))
            ),
            (
                ReviewTrigger::UnexpectedPositive as i32,
                date(today() - Days::new(2))
            ),
        ]
    );
    // The day's codes: one presumptive (the analyzer's), G0481 for nine classes.
    let codes = until("the day's codes", || async {
        let records = all_records(&net, "iop.lab.v1").await;
        let codes: Vec<events::DrugTestCodes> =
            events_of(&records, &pid, "iop.lab.events.v1.DrugTestCodes");
        codes.into_iter().rev().find(|c| {
            c.service_date == date(today() - Days::new(2)) && !c.definitive_code.is_empty()
        })
    })
    .await;
    assert_eq!(codes.presumptive_code, "80307");
    assert_eq!(codes.definitive_code, "G0481");
    net.stop().await;
}

fn collection(accession: &str, temperature_c: f64, seal_intact: bool) -> RecordCollectionRequest {
    let at = Utc::now() - chrono::Duration::minutes(30);
    RecordCollectionRequest {
        accession: accession.into(),
        collector: "tech-ana".into(),
        collected_at: Some(wire::timestamp(at)),
        observed: true,
        observer: "tech-ana".into(),
        seal_id: "SEAL-77".into(),
        seal_intact,
        temperature_c,
        temperature_read_at: Some(wire::timestamp(at + chrono::Duration::minutes(2))),
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_custody_and_validity_decide_whether_a_result_is_read(#[case] backend: Backend) {
    let net = TestNetwork::start(backend).await;
    let staff = net.token(&[Role::Clinician, Role::Intake], &["oakland"]);
    let lab = TestingLabServiceClient::new(net.channel().await);
    let pid = admitted(&net, &staff, "Kwame").await;
    let panel = [DrugClass::Fentanyl];
    let collect = |r: RecordCollectionRequest| {
        let mut lab = lab.clone();
        let staff = staff.clone();
        async move { lab.record_collection(authed(r, &staff)).await }
    };

    // Observed without an observer is refused, naming the field.
    let hot = order(&lab, &staff, &pid, &panel).await;
    let mut unattested = collection(&hot, 36.0, true);
    unattested.observer = String::new();
    let err = collect(unattested).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("observer"), "{}", err.message());

    // 39.5 °C: an observed recollection is ordered at once.
    let answer = collect(collection(&hot, 39.5, true))
        .await
        .unwrap()
        .into_inner();
    let specimen = answer.specimen.unwrap();
    assert_eq!(specimen.status, SpecimenStatus::Recollect as i32);
    assert!(specimen.reason.contains("39.5"), "{}", specimen.reason);
    let again = answer.recollection.unwrap();
    assert!(again.observed);
    assert_eq!(again.reason, OrderReason::Recollection as i32);
    assert_eq!(specimen.recollection_accession, again.accession);

    // A broken seal at collection: rejected.
    let sealed = order(&lab, &staff, &pid, &panel).await;
    let rejected = collect(collection(&sealed, 36.0, false))
        .await
        .unwrap()
        .into_inner()
        .specimen
        .unwrap();
    assert_eq!(rejected.status, SpecimenStatus::Rejected as i32);

    // A gap in custody: the courier never held it, yet hands it over.
    let gap = order(&lab, &staff, &pid, &panel).await;
    collect(collection(&gap, 35.5, true)).await.unwrap();
    let hand = |from: &str, to: &str| RecordHandoffRequest {
        accession: gap.clone(),
        from: from.into(),
        to: to.into(),
        at: Some(wire::timestamp(Utc::now() - chrono::Duration::minutes(5))),
        seal_intact: true,
    };
    let ok = lab
        .clone()
        .record_handoff(authed(hand("tech-ana", "courier-7"), &staff))
        .await
        .unwrap()
        .into_inner()
        .specimen
        .unwrap();
    assert_eq!(ok.status, SpecimenStatus::Collected as i32);
    let broken = lab
        .clone()
        .record_handoff(authed(hand("tech-ana", "lab-intake"), &staff))
        .await
        .unwrap()
        .into_inner()
        .specimen
        .unwrap();
    assert_eq!(broken.status, SpecimenStatus::Rejected as i32);
    assert!(broken.reason.contains("custody gap"), "{}", broken.reason);
    // Its result is kept, never read.
    let fentanyl = |accession: &str| RecordResultRequest {
        accession: accession.into(),
        kind: ResultKind::Presumptive as i32,
        method: ScreenMethod::Direct as i32,
        collected_on: date(today()),
        analytes: vec![AnalyteResult {
            analyte: Analyte::Fentanyl as i32,
            detected: true,
            ..Default::default()
        }],
    };
    let unread = lab
        .clone()
        .record_result(authed(fentanyl(&gap), &staff))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(unread.overall, Finding::NotInterpreted as i32);
    assert!(unread.readings.is_empty());

    // Validity: adulterated (pH 3) is recollected; valid is read.
    let validity = |accession: &str, ph: f64| RecordValidityRequest {
        accession: accession.into(),
        creatinine_mg_dl: 80.0,
        specific_gravity: 1.015,
        ph,
        nitrite_ug_ml: 0.0,
        oxidant: false,
    };
    let spiked = order(&lab, &staff, &pid, &panel).await;
    collect(collection(&spiked, 36.5, true)).await.unwrap();
    let failed = lab
        .clone()
        .record_validity(authed(validity(&spiked, 3.0), &staff))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        failed.specimen.unwrap().status,
        SpecimenStatus::Recollect as i32
    );
    assert!(failed.recollection.is_some());
    let clean = order(&lab, &staff, &pid, &panel).await;
    collect(collection(&clean, 36.5, true)).await.unwrap();
    let valid = lab
        .clone()
        .record_validity(authed(validity(&clean, 6.0), &staff))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(valid.specimen.unwrap().status, SpecimenStatus::Valid as i32);
    assert!(valid.recollection.is_none());
    let read = lab
        .clone()
        .record_result(authed(fentanyl(&clean), &staff))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(read.overall, Finding::UnexpectedPositive as i32);

    // Published: three rejections (temperature, seal, gap) and one failed
    // validity, each with its recollection; the unread result as such.
    let records = until("the lab's events", || async {
        let records = all_records(&net, "iop.lab.v1").await;
        let rejected = events_of::<events::SpecimenRejected>(
            &records,
            &pid,
            "iop.lab.events.v1.SpecimenRejected",
        )
        .len();
        let read = events_of::<events::ResultInterpreted>(
            &records,
            &pid,
            "iop.lab.events.v1.ResultInterpreted",
        )
        .len();
        (rejected == 4 && read == 2).then_some(records)
    })
    .await;
    let interpreted: Vec<events::ResultInterpreted> =
        events_of(&records, &pid, "iop.lab.events.v1.ResultInterpreted");
    assert_eq!(
        interpreted
            .iter()
            .map(|e| e.interpretation)
            .collect::<Vec<_>>(),
        [
            events::Interpretation::NotInterpreted as i32,
            events::Interpretation::UnexpectedPositive as i32,
        ]
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_draw_selects_only_todays_patients_once_and_replays() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Clinician, Role::Intake], &["oakland"]);
    let lab = TestingLabServiceClient::new(net.channel().await);
    let s = net.scheduling().await;
    let booked = [
        admitted(&net, &staff, "Ada").await,
        admitted(&net, &staff, "Bo").await,
    ];
    let absent = admitted(&net, &staff, "Cy").await;
    iop_testkit::group_session(&s, &staff, ("oakland", Program::IopDay), today(), &booked).await;
    until("both bookings on the topic", || async {
        let records = all_records(&net, "iop.scheduling.v1").await;
        let n: usize = booked
            .iter()
            .map(|p| {
                events_of::<iop_proto::scheduling::events::v1::SessionBooked>(
                    &records,
                    p,
                    "iop.scheduling.events.v1.SessionBooked",
                )
                .len()
            })
            .sum();
        (n == 2).then_some(())
    })
    .await;
    lab_caught_up(&net).await;

    // Standing orders: two a week for a booked patient (today is their first
    // session day this week), three for one with no session: only the first
    // is due, once.
    for (pid, per_week) in [(&booked[0], 2), (&absent, 3)] {
        lab.clone()
            .place_standing_order(authed(
                PlaceStandingOrderRequest {
                    patient_id: pid.clone(),
                    facility_id: "oakland".into(),
                    per_week,
                    panel: vec![DrugClass::Fentanyl as i32, DrugClass::Cocaine as i32],
                    observed: false,
                },
                &staff,
            ))
            .await
            .unwrap();
    }
    let due = |day: NaiveDate| {
        let mut lab = lab.clone();
        let staff = staff.clone();
        async move {
            lab.order_due_tests(authed(
                OrderDueTestsRequest {
                    facility_id: "oakland".into(),
                    day: date(day),
                },
                &staff,
            ))
            .await
        }
    };
    let placed = due(today()).await.unwrap().into_inner().orders;
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0].patient_id, booked[0]);
    assert_eq!(placed[0].reason, OrderReason::Standing as i32);
    assert!(
        due(today()).await.unwrap().into_inner().orders.is_empty(),
        "once a day"
    );
    assert_eq!(
        due(today() + Days::new(1)).await.unwrap_err().code(),
        tonic::Code::FailedPrecondition
    );

    let draw = |day: NaiveDate| {
        let mut lab = lab.clone();
        let staff = staff.clone();
        async move {
            lab.draw_random(authed(
                DrawRandomRequest {
                    facility_id: "oakland".into(),
                    day: date(day),
                    rate_ppm: 1_000_000,
                    panel: vec![DrugClass::Fentanyl as i32],
                    observed: true,
                },
                &staff,
            ))
            .await
        }
    };
    // Never a later day's: no advance notice.
    let early = draw(today() + Days::new(1)).await.unwrap_err();
    assert_eq!(early.code(), tonic::Code::FailedPrecondition);
    assert!(
        early.message().contains("no advance notice"),
        "{}",
        early.message()
    );

    let made = draw(today()).await.unwrap().into_inner().draw.unwrap();
    let mut want = booked.to_vec();
    want.sort();
    assert_eq!(made.eligible, want, "only patients with a session today");
    assert_eq!(made.selected, want, "everyone, at a rate of 100 %");
    assert!(!made.eligible.contains(&absent));
    assert_eq!(made.accessions.len(), 2);
    // Made once: asking again returns the same draw.
    let again = draw(today()).await.unwrap().into_inner().draw.unwrap();
    assert_eq!(
        (again.seed, &again.accessions),
        (made.seed, &made.accessions)
    );
    // Replayed from its seed and inputs.
    let stored = lab
        .clone()
        .get_draw(authed(
            GetDrawRequest {
                facility_id: "oakland".into(),
                day: date(today()),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .draw
        .unwrap();
    assert!(stored.reproduced);
    assert_eq!(stored.seed, made.seed);
    // The selected have their random order.
    let orders = lab
        .clone()
        .list_results(authed(
            ListResultsRequest {
                patient_id: want[0].clone(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .orders;
    assert!(
        orders
            .iter()
            .any(|o| o.reason == OrderReason::Random as i32
                && made.accessions.contains(&o.accession))
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_go_to_a_court_only_under_a_consent_for_it() {
    use iop_proto::{
        admissions::v1::RecordConsentRequest,
        common::v1::{ConsentInformation, ConsentPurpose, DisclosurePurpose},
    };
    let net = TestNetwork::start(Backend::Sqlite).await;
    let staff = net.token(&[Role::Clinician, Role::Intake], &["oakland"]);
    let lab = TestingLabServiceClient::new(net.channel().await);
    let pid = admitted(&net, &staff, "Dara").await;
    let accession = order(&lab, &staff, &pid, &[DrugClass::Cocaine]).await;
    lab.clone()
        .record_result(authed(
            RecordResultRequest {
                accession,
                kind: ResultKind::Presumptive as i32,
                method: ScreenMethod::Direct as i32,
                collected_on: date(today()),
                analytes: vec![AnalyteResult {
                    analyte: Analyte::Other as i32,
                    class: DrugClass::Cocaine as i32,
                    ..Default::default()
                }],
            },
            &staff,
        ))
        .await
        .unwrap();
    let disclose = |kind: RecipientKind| {
        let mut lab = lab.clone();
        let (staff, pid) = (staff.clone(), pid.clone());
        async move {
            lab.disclose_results(authed(
                DiscloseResultsRequest {
                    patient_id: pid,
                    recipient_id: "alameda-drug-court".into(),
                    recipient_kind: kind as i32,
                },
                &staff,
            ))
            .await
        }
    };
    // No consent for it: refused like any refusal.
    let refused = disclose(RecipientKind::Court).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    assert_eq!(refused.message(), "permission denied");

    // The patient consents to reporting results to the drug court.
    let mut consent = iop_testkit::consent_to(&pid, "alameda-drug-court");
    consent.information = vec![ConsentInformation::DrugTestResults as i32];
    consent.purposes = vec![ConsentPurpose {
        purpose: DisclosurePurpose::Other as i32,
        description: "Reporting to the Alameda County drug court".into(),
    }];
    net.admissions()
        .await
        .record_consent(authed(
            RecordConsentRequest {
                consent: Some(consent),
            },
            &staff,
        ))
        .await
        .unwrap();
    let disclosed = until("testing-lab to hold the consent", || async {
        disclose(RecipientKind::Court).await.ok()
    })
    .await
    .into_inner();
    assert_eq!(disclosed.results.len(), 1);
    assert!(!disclosed.consent_id.is_empty());
    assert!(
        disclosed.notice.contains("42 CFR part 2"),
        "{}",
        disclosed.notice
    );
    // The same recipient as an employer is not what the patient agreed to.
    let employer = disclose(RecipientKind::Employer).await.unwrap_err();
    assert_eq!(employer.code(), tonic::Code::PermissionDenied);
    net.stop().await;
}
