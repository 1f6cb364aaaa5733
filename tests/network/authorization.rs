//! The authorization matrix: one table ([`RULES`]) names every RPC of every
//! service (a test checks it against the contracts, so a new RPC cannot go
//! without a row), what it concerns, and which roles may call it; [`expected`]
//! states the access rule over it. The test calls every RPC as every role,
//! acting for Fresno, on a patient in every relation to Fresno (or at Fresno
//! and at another facility, or network-wide), and compares each answer with
//! the rule — and checks that every refusal reads "permission denied" and adds
//! a denied row to the service's audit trail. The table documents the rule:
//!
//! | relation of the patient to the caller's facility | read | write |
//! |---|---|---|
//! | registered there | yes | yes |
//! | linked there (`LinkPatientToFacility`) | yes | yes |
//! | an episode there (here: transferred in) | yes | yes |
//! | a consent naming it, for treatment | intake, clinician, admin | no |
//! | a consent naming it, for payment | billing | no |
//! | none | no | no |
//! | (any, for a disclosure to a court or employer) | no, without a consent for that purpose | – |
//! | a merged-away id whose survivor is known there | yes (the survivor) | FAILED_PRECONDITION (change the survivor); its consents and assessments are the survivor's |
//! | an id that names nobody | no | no |
//!
//! Linking a patient to one's facility and breaking the glass are how a
//! facility reaches a patient it does not know yet: allowed, audited, for any
//! patient that exists. Facility-scoped RPCs (registration, tracks, sessions,
//! attendance, weekly close, a booking) are allowed at the caller's facility
//! and refused at another; network-wide ones (the facility list, the audit
//! trail, the consumer board) depend on the role alone. A role the RPC does
//! not admit is refused before anything is read — audited too, with the
//! patient the request names.
//!
//! An allowed cell is one the access rule let through: the call succeeds, or
//! fails on a rule of the domain it only reaches once authorised (no episode
//! to book, already discharged), never with PERMISSION_DENIED.

use std::{collections::BTreeMap, time::Duration};

use chrono::{Days, Utc};
use iop_proto::{
    admissions::v1::{
        AdmitPatientRequest, BreakGlassRequest, CheckDisclosureRequest, DeclareDistinctRequest,
        Demographics, DischargePatientRequest, FindDuplicatesRequest, GetDemographicHistoryRequest,
        GetPatientRequest, LinkPatientToFacilityRequest, ListConsentsRequest,
        ListFacilitiesRequest, MergePatientsRequest, OverridePlacementRequest, PutFacilityRequest,
        RecordConsentExpiryEventRequest, RecordConsentRequest, RecordCoverageRequest,
        RevokeConsentRequest, TransferPatientRequest, UpdateDemographicsRequest,
        admissions_service_client::AdmissionsServiceClient,
    },
    analytics::v1::{DescribeProjectionRequest, analytics_service_client::AnalyticsServiceClient},
    audit::v1::{
        AccountDisclosuresRequest, ListAuditEntriesRequest, VerifyAuditChainRequest,
        audit_service_client::AuditServiceClient,
    },
    billing::v1::{
        AcknowledgeClaimRequest, ApplyEligibilityRequest, ApplyRemittanceRequest,
        CreateClaimsRequest, GetAccountRequest, ListAuthorizationsRequest, ListClaimsRequest,
        ListEligibilityDueRequest, ListHeldDaysRequest,
        ListWorkQueueRequest as BillingWorkQueueRequest, RecordAuthorizationRequest,
        RecordPatientPaymentRequest, RecordRestrictionRequest, RequestEligibilityRequest,
        ResolveWorkItemRequest as BillingResolveRequest, SubmitClaimsRequest,
        billing_service_client::BillingServiceClient,
    },
    clinical::v1::{
        AddAddendumRequest, CompleteTaskRequest, DecideReviewRequest, Decision,
        GetDocumentationRequest, GetNoteRequest, GetTreatmentPlanRequest, Goal, Instrument,
        Intervention, ItemResponse, ListLateNotesRequest, ListMedicationsRequest, ListNotesRequest,
        ListOverduePlansRequest, ListReviewsRequest, ListScreeningsRequest, ListTasksRequest,
        MedicationClass, Modality, NoteKind, Objective, Problem, RecordMedicationRequest,
        RecordScreeningRequest, SignNoteRequest, SignTreatmentPlanRequest, Signer,
        StopMedicationRequest, UpdateNoteRequest, WriteGroupNoteRequest, WriteNoteRequest,
        WriteTreatmentPlanRequest, clinical_service_client::ClinicalServiceClient,
    },
    common::v1::{
        ConsentInformation, ConsentPurpose, Coverage, Date, DischargeReason, DisclosurePurpose,
        LevelOfCare, LinkReason, Program, SubscriberRelationship,
    },
    lab::v1::{
        Analyte, AnalyteResult, DiscloseResultsRequest, DrawRandomRequest, DrugClass,
        GetDrawRequest, ListResultsRequest, ListWorkQueueRequest, OrderDueTestsRequest,
        OrderReason, PlaceOrderRequest, PlaceStandingOrderRequest, RecipientKind,
        RecordCollectionRequest, RecordHandoffRequest, RecordResultRequest, RecordValidityRequest,
        ResolveWorkItemRequest, ResultKind, ScreenMethod, SpecimenType, SubmitHl7Request,
        testing_lab_service_client::TestingLabServiceClient,
    },
    ops::v1::{ListConsumersRequest, operations_service_client::OperationsServiceClient},
    patientview::v1::GetPatientViewRequest,
    scheduling::v1::{
        AttendanceEntry, AttendanceStatus, BookIndividualRequest, BookSessionRequest,
        CancelBookingRequest, CloseWeekRequest, CreateTrackRequest, EnrollInTrackRequest,
        GenerateSessionsRequest, GetEnrollmentRequest, GetWeeklyHoursRequest, ListAtRiskRequest,
        ListSessionsRequest, LocalTime, RecordAttendanceRequest, Track, Weekday,
    },
};
use iop_runtime::{auth::Role, wire};
use iop_testkit::{
    Backend, TestNetwork, admit, authed, consent_to, iop_assessment, register, registration, until,
};
use prost::Message as _;
use tonic::{Code, Status, transport::Channel};

/// What an RPC concerns, which decides the cells it is called in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Reads one patient's record.
    Read,
    /// Changes one patient's record.
    Write,
    /// Changes a thing of a patient's (a consent, an assessment) named by its
    /// own id: decided on the patient it belongs to now, so a merged-away
    /// record's consent is the survivor's.
    WriteOwned,
    /// Reads a thing of a patient's (a note) named by its own id: decided on
    /// the patient it belongs to now, as a read.
    ReadOwned,
    /// Discloses a patient's records outside the program (to a court, an
    /// employer): refused in every relation here, since no patient of the
    /// world consented to it (the consent that allows it is tested in
    /// testing-lab's own tests).
    Disclosure,
    /// Reaches a patient the facility may not know yet (link, break-glass):
    /// allowed for any patient that exists.
    Reach,
    /// Acts at a facility (or on a booking, session there).
    Facility,
    /// Network-wide: the role alone decides.
    Network,
}

/// One RPC.
struct Rule {
    /// `<service>.<Rpc>`, as the trail names it.
    rpc: &'static str,
    scope: Scope,
    /// The roles its service's role table admits.
    roles: &'static [Role],
}

const READERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Billing, Role::Admin];
const INTAKE: &[Role] = &[Role::Intake, Role::Admin];
const CARE_TEAM: &[Role] = &[Role::Intake, Role::Clinician, Role::Admin];
const COVERAGE: &[Role] = &[Role::Intake, Role::Billing, Role::Admin];
const EMERGENCY: &[Role] = &[Role::Clinician, Role::Admin];
const CLINICIANS: &[Role] = &[Role::Clinician];
const ADMIN: &[Role] = &[Role::Admin];
const CHART: &[Role] = &[Role::Clinician, Role::Intake];
const DOCUMENTED: &[Role] = &[Role::Clinician, Role::Billing];
const AUDITORS: &[Role] = &[Role::Auditor, Role::Admin];
const BILLERS: &[Role] = &[Role::Billing];
const EVERYONE: &[Role] = &Role::ALL;

const fn rule(rpc: &'static str, scope: Scope, roles: &'static [Role]) -> Rule {
    Rule { rpc, scope, roles }
}

/// The table. Order matters only in that reaching a patient (link,
/// break-glass) comes last: it changes what Fresno may do afterwards.
const RULES: &[Rule] = &[
    rule("admissions.GetPatient", Scope::Read, READERS),
    rule("admissions.ListConsents", Scope::Read, READERS),
    rule("admissions.CheckDisclosure", Scope::Read, READERS),
    rule("admissions.GetDemographicHistory", Scope::Read, INTAKE),
    rule("patientview.GetPatientView", Scope::Read, READERS),
    rule("scheduling.GetEnrollment", Scope::Read, READERS),
    rule("scheduling.GetWeeklyHours", Scope::Read, READERS),
    rule("admissions.UpdateDemographics", Scope::Write, INTAKE),
    rule("admissions.RecordConsent", Scope::Write, CARE_TEAM),
    rule("admissions.RevokeConsent", Scope::WriteOwned, CARE_TEAM),
    rule(
        "admissions.RecordConsentExpiryEvent",
        Scope::WriteOwned,
        CARE_TEAM,
    ),
    rule("admissions.RecordCoverage", Scope::Write, COVERAGE),
    rule("admissions.RecordAssessment", Scope::Write, CARE_TEAM),
    rule(
        "admissions.OverridePlacement",
        Scope::WriteOwned,
        CLINICIANS,
    ),
    rule("admissions.AdmitPatient", Scope::Write, INTAKE),
    rule("admissions.TransferPatient", Scope::Write, CARE_TEAM),
    rule("admissions.MergePatients", Scope::Write, INTAKE),
    rule("admissions.FindDuplicates", Scope::Write, INTAKE),
    rule("admissions.DeclareDistinct", Scope::Write, INTAKE),
    rule("scheduling.EnrollInTrack", Scope::Write, CARE_TEAM),
    rule("scheduling.BookSession", Scope::Write, CARE_TEAM),
    rule("scheduling.BookIndividual", Scope::Write, CARE_TEAM),
    rule("admissions.DischargePatient", Scope::Write, CARE_TEAM),
    rule("clinical.ListScreenings", Scope::Read, CHART),
    rule("clinical.GetTreatmentPlan", Scope::Read, CHART),
    rule("clinical.ListNotes", Scope::Read, CHART),
    rule("clinical.ListMedications", Scope::Read, CHART),
    rule("clinical.GetDocumentation", Scope::Read, DOCUMENTED),
    rule("clinical.GetNote", Scope::ReadOwned, CHART),
    rule("billing.GetAccount", Scope::Read, BILLERS),
    rule("billing.ListAuthorizations", Scope::Read, BILLERS),
    rule("billing.RequestEligibility", Scope::Write, BILLERS),
    rule("billing.RecordAuthorization", Scope::Write, BILLERS),
    rule("billing.RecordRestriction", Scope::Write, BILLERS),
    rule("billing.RecordPatientPayment", Scope::Write, BILLERS),
    rule("billing.ApplyEligibility", Scope::Facility, BILLERS),
    rule("billing.ListEligibilityDue", Scope::Facility, BILLERS),
    rule("billing.ListHeldDays", Scope::Facility, BILLERS),
    rule("billing.CreateClaims", Scope::Facility, BILLERS),
    rule("billing.SubmitClaims", Scope::Facility, BILLERS),
    rule("billing.ListClaims", Scope::Facility, BILLERS),
    rule("billing.ApplyRemittance", Scope::Facility, BILLERS),
    rule("billing.ListWorkQueue", Scope::Facility, BILLERS),
    // By their own id, decided on the record's facility: an unknown id is
    // NOT_FOUND for a biller (billing's tests show another facility's too).
    rule("billing.AcknowledgeClaim", Scope::Network, BILLERS),
    rule("billing.ResolveWorkItem", Scope::Network, BILLERS),
    rule("lab.ListResults", Scope::Read, CHART),
    rule("lab.DiscloseResults", Scope::Disclosure, CHART),
    rule("lab.PlaceOrder", Scope::Write, CHART),
    rule("lab.PlaceStandingOrder", Scope::Write, CHART),
    rule("lab.RecordResult", Scope::WriteOwned, CHART),
    rule("lab.ResolveWorkItem", Scope::WriteOwned, CHART),
    rule("lab.RecordCollection", Scope::WriteOwned, CHART),
    rule("lab.RecordHandoff", Scope::WriteOwned, CHART),
    rule("lab.RecordValidity", Scope::WriteOwned, CHART),
    rule("clinical.RecordScreening", Scope::Write, CHART),
    rule("clinical.WriteNote", Scope::Write, CLINICIANS),
    rule("clinical.RecordMedication", Scope::Write, CLINICIANS),
    rule("clinical.WriteTreatmentPlan", Scope::Write, CLINICIANS),
    rule("clinical.SignNote", Scope::WriteOwned, CLINICIANS),
    rule("clinical.UpdateNote", Scope::WriteOwned, CLINICIANS),
    rule("clinical.AddAddendum", Scope::WriteOwned, CLINICIANS),
    rule("clinical.SignTreatmentPlan", Scope::WriteOwned, CLINICIANS),
    rule("clinical.StopMedication", Scope::WriteOwned, CLINICIANS),
    rule("clinical.CompleteTask", Scope::WriteOwned, CHART),
    rule("clinical.DecideReview", Scope::WriteOwned, CLINICIANS),
    rule("admissions.RegisterPatient", Scope::Facility, INTAKE),
    rule("admissions.PutFacility", Scope::Facility, ADMIN),
    rule("scheduling.CreateTrack", Scope::Facility, CARE_TEAM),
    rule("scheduling.GenerateSessions", Scope::Facility, CARE_TEAM),
    rule("scheduling.ListSessions", Scope::Facility, READERS),
    rule("scheduling.CancelBooking", Scope::Facility, CARE_TEAM),
    rule("scheduling.RecordAttendance", Scope::Facility, CARE_TEAM),
    rule("scheduling.ListAtRisk", Scope::Facility, READERS),
    rule("scheduling.CloseWeek", Scope::Facility, CARE_TEAM),
    rule("clinical.WriteGroupNote", Scope::Facility, CLINICIANS),
    rule("lab.DrawRandom", Scope::Facility, CHART),
    rule("lab.OrderDueTests", Scope::Facility, CHART),
    rule("lab.GetDraw", Scope::Facility, CHART),
    rule("clinical.ListOverduePlans", Scope::Facility, CLINICIANS),
    rule("clinical.ListLateNotes", Scope::Facility, CLINICIANS),
    rule("clinical.ListTasks", Scope::Facility, CHART),
    rule("clinical.ListReviews", Scope::Facility, CLINICIANS),
    rule("lab.SubmitHl7", Scope::Network, CHART),
    rule("lab.ListWorkQueue", Scope::Network, CHART),
    rule("admissions.ListFacilities", Scope::Network, EVERYONE),
    rule("audit.ListAuditEntries", Scope::Network, AUDITORS),
    rule("audit.AccountDisclosures", Scope::Network, AUDITORS),
    rule("audit.VerifyAuditChain", Scope::Network, AUDITORS),
    rule("ops.ListConsumers", Scope::Network, ADMIN),
    rule("analytics.DescribeProjection", Scope::Network, AUDITORS),
    rule("admissions.LinkPatientToFacility", Scope::Reach, CARE_TEAM),
    rule("admissions.BreakGlass", Scope::Reach, EMERGENCY),
];

/// Who the patient (or the facility) is to the caller, acting for Fresno.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    Registered,
    Linked,
    Episode,
    ConsentTreatment,
    ConsentPayment,
    None,
    MergedAway,
    Nobody,
    /// Facility-scoped: at Fresno.
    OwnFacility,
    /// Facility-scoped: at Oakland.
    OtherFacility,
    /// Network-wide.
    Network,
}

const PATIENT_CELLS: [Cell; 8] = [
    Cell::Registered,
    Cell::Linked,
    Cell::Episode,
    Cell::ConsentTreatment,
    Cell::ConsentPayment,
    Cell::None,
    Cell::MergedAway,
    Cell::Nobody,
];

fn cells(scope: Scope) -> &'static [Cell] {
    match scope {
        Scope::Read
        | Scope::ReadOwned
        | Scope::Write
        | Scope::WriteOwned
        | Scope::Reach
        | Scope::Disclosure => &PATIENT_CELLS,
        Scope::Facility => &[Cell::OwnFacility, Cell::OtherFacility],
        Scope::Network => &[Cell::Network],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    /// PERMISSION_DENIED, "permission denied", audited.
    Denied,
    /// Authorised, but the record was merged away: change the survivor.
    Merged,
}

/// The purposes a role's calls carry when they state none: treatment for the
/// care team, payment for billing.
fn treats(role: Role) -> bool {
    matches!(role, Role::Intake | Role::Clinician | Role::Admin)
}

/// The access rule.
fn expected(rule: &Rule, role: Role, cell: Cell) -> Outcome {
    if !rule.roles.contains(&role) {
        return Outcome::Denied;
    }
    let known = matches!(
        cell,
        Cell::Registered | Cell::Linked | Cell::Episode | Cell::MergedAway
    );
    match (rule.scope, cell) {
        (Scope::Disclosure, _) => Outcome::Denied,
        (Scope::Network, _) | (Scope::Facility, Cell::OwnFacility) => Outcome::Allowed,
        (Scope::Facility, _) => Outcome::Denied,
        (Scope::Write | Scope::Reach, Cell::MergedAway) => Outcome::Merged,
        (Scope::WriteOwned | Scope::ReadOwned, Cell::MergedAway) => Outcome::Allowed,
        (Scope::Reach, Cell::Nobody) => Outcome::Denied,
        (Scope::Reach, _) => Outcome::Allowed,
        (_, _) if known => Outcome::Allowed,
        (Scope::Read | Scope::ReadOwned, Cell::ConsentTreatment) if treats(role) => {
            Outcome::Allowed
        }
        (Scope::Read | Scope::ReadOwned, Cell::ConsentPayment) if role == Role::Billing => {
            Outcome::Allowed
        }
        _ => Outcome::Denied,
    }
}

/// A patient in one relation to Fresno, with the things of theirs some RPCs
/// name instead of the patient.
#[derive(Debug, Clone, Default)]
struct Subject {
    patient_id: String,
    /// The consistency token of the last write about them (for the view).
    token: String,
    /// The record that token names, when not theirs (a merge names the survivor).
    token_names: Option<String>,
    /// A consent of theirs to San Diego (revocable without changing Fresno's access).
    consent_id: String,
    /// An assessment of theirs.
    assessment_id: String,
    /// Clinical records of theirs (the survivor's, for a merged-away id).
    chart: Chart,
}

/// One of each clinical record a patient can have, by id.
#[derive(Debug, Clone, Default)]
struct Chart {
    note_id: String,
    plan_id: String,
    medication_id: String,
    task_id: String,
    review_id: String,
    /// The accession of a drug-test order of theirs.
    accession: String,
    /// A queued HL7 result, to be matched to that order.
    work_item_id: String,
}

/// What facility-scoped RPCs act on, at Fresno and at Oakland.
#[derive(Debug, Clone, Default)]
struct Place {
    facility: &'static str,
    track_id: String,
    session_id: String,
    booking_id: String,
    /// The patient booked there.
    patient_id: String,
}

struct World {
    subjects: BTreeMap<Cell, Subject>,
    own: Place,
    other: Place,
}

fn day(d: chrono::NaiveDate) -> Option<Date> {
    Some(wire::date(d))
}

/// A registration no duplicate check matches with another: each call takes
/// the next number, which picks a surname and a birth date of its own.
fn distinct(given: &str, facility: &str) -> iop_proto::admissions::v1::RegisterPatientRequest {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FAMILIES: [&str; 12] = [
        "Abernathy",
        "Kowalczyk",
        "Nakamura",
        "Oyelaran",
        "Vasquez",
        "Lindqvist",
        "Mbeki",
        "Castellano",
        "Duchamp",
        "Ferreira",
        "Halvorsen",
        "Quintero",
    ];
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut r = registration(given, FAMILIES[(n % 12) as usize], facility);
    r.date_of_birth = Some(Date {
        year: 1940 + (n % 60) as i32,
        month: 1 + ((n / 12) % 12) as i32,
        day: 1 + ((n / 7) % 28) as i32,
    });
    r
}

/// Registers [`distinct`] `given` at `facility`: id and token.
async fn enrol(net: &TestNetwork, token: &str, given: &str, facility: &str) -> (String, String) {
    register(
        &mut net.admissions().await,
        token,
        distinct(given, facility),
    )
    .await
    .unwrap_or_else(|e| panic!("registering {given}: {e}"))
}

async fn consent(
    a: &mut AdmissionsServiceClient<Channel>,
    token: &str,
    pid: &str,
    to: &str,
    purpose: DisclosurePurpose,
) -> (String, String) {
    let mut c = consent_to(pid, to);
    c.purposes = vec![ConsentPurpose {
        purpose: purpose as i32,
        description: String::new(),
    }];
    let r = a
        .record_consent(authed(RecordConsentRequest { consent: Some(c) }, token))
        .await
        .unwrap_or_else(|e| panic!("consent of {pid} to {to}: {e}"))
        .into_inner();
    (
        r.consent.map(|c| c.consent_id).unwrap_or_default(),
        r.consistency_token,
    )
}

async fn assessment(
    a: &mut AdmissionsServiceClient<Channel>,
    token: &str,
    pid: &str,
    at: &str,
) -> String {
    iop_testkit::assess(a, token, pid, at, iop_assessment())
        .await
        .unwrap_or_else(|e| panic!("assessment of {pid} at {at}: {e}"))
}

/// A track at `facility` with sessions from yesterday to a week ahead, once
/// scheduling knows the facility.
async fn place(net: &TestNetwork, token: &str, facility: &'static str) -> Place {
    let s = net.scheduling().await;
    let track = Track {
        facility_id: facility.into(),
        name: "Matrix evening group".into(),
        program: Program::IopDay as i32,
        weekdays: [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ]
        .iter()
        .map(|d| *d as i32)
        .collect(),
        starts_at: Some(LocalTime { hour: 9, minute: 0 }),
        ends_at: Some(LocalTime {
            hour: 12,
            minute: 0,
        }),
        capacity: 12,
        facilitator_id: format!("dr-{facility}"),
        room: "matrix-room".into(),
        ..Default::default()
    };
    let created = iop_testkit::create_track(&s, token, track).await;
    let today = Utc::now().date_naive();
    let sessions = s
        .clone()
        .generate_sessions(authed(
            GenerateSessionsRequest {
                track_id: created.track_id.clone(),
                from: day(today + Days::new(2)),
                to: day(today + Days::new(9)),
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .sessions;
    Place {
        facility,
        track_id: created.track_id,
        session_id: sessions[0].session_id.clone(),
        ..Default::default()
    }
}

/// Books `pid` (admitted at the place's facility) into the place's session,
/// once scheduling has opened their enrollment.
async fn book(net: &TestNetwork, token: &str, place: &mut Place, pid: &str) {
    let s = net.scheduling().await;
    let booking = until("the enrollment to reach scheduling", || {
        let mut c = s.clone();
        let request = authed(
            BookSessionRequest {
                patient_id: pid.into(),
                session_id: place.session_id.clone(),
            },
            token,
        );
        async move { c.book_session(request).await.ok() }
    })
    .await
    .into_inner()
    .booking
    .unwrap();
    place.booking_id = booking.booking_id;
    place.patient_id = pid.to_owned();
}

/// Sets up a patient in every relation to Fresno, and a track, session and
/// booking at Fresno and at Oakland.
async fn world(net: &TestNetwork) -> World {
    let oakland = net.token(&[Role::Intake, Role::Clinician], &["oakland"]);
    let fresno = net.token(&[Role::Intake, Role::Clinician], &["fresno"]);
    let admin = net.token(&[Role::Admin], &["*"]);
    let mut a = net.admissions().await;
    let mut subjects = BTreeMap::new();

    let (pid, token) = enrol(net, &fresno, "Regina", "fresno").await;
    subjects.insert(
        Cell::Registered,
        Subject {
            patient_id: pid,
            token,
            ..Default::default()
        },
    );

    let (pid, _) = enrol(net, &oakland, "Lina", "oakland").await;
    let token = a
        .link_patient_to_facility(authed(
            LinkPatientToFacilityRequest {
                patient_id: pid.clone(),
                facility_id: "fresno".into(),
                reason: LinkReason::Referral as i32,
                note: "referred by the Oakland team".into(),
                ..Default::default()
            },
            &fresno,
        ))
        .await
        .unwrap()
        .into_inner()
        .consistency_token;
    subjects.insert(
        Cell::Linked,
        Subject {
            patient_id: pid,
            token,
            ..Default::default()
        },
    );

    let (pid, _) = enrol(net, &oakland, "Eve", "oakland").await;
    admit(&mut a, &oakland, &pid, "oakland", Program::IopDay)
        .await
        .unwrap();
    let token = a
        .transfer_patient(authed(
            TransferPatientRequest {
                patient_id: pid.clone(),
                to_facility_id: "fresno".into(),
                ..Default::default()
            },
            &oakland,
        ))
        .await
        .unwrap()
        .into_inner()
        .consistency_token;
    subjects.insert(
        Cell::Episode,
        Subject {
            patient_id: pid,
            token,
            ..Default::default()
        },
    );

    for (cell, given, purpose) in [
        (
            Cell::ConsentTreatment,
            "Tessa",
            DisclosurePurpose::Treatment,
        ),
        (Cell::ConsentPayment, "Paz", DisclosurePurpose::Payment),
    ] {
        let (pid, _) = enrol(net, &oakland, given, "oakland").await;
        let (_, token) = consent(&mut a, &oakland, &pid, "fresno", purpose).await;
        subjects.insert(
            cell,
            Subject {
                patient_id: pid,
                token,
                ..Default::default()
            },
        );
    }

    let (pid, token) = enrol(net, &oakland, "Nora", "oakland").await;
    subjects.insert(
        Cell::None,
        Subject {
            patient_id: pid,
            token,
            ..Default::default()
        },
    );

    // Each gets a consent to San Diego and an assessment where they are known.
    for (cell, s) in subjects.iter_mut() {
        let at = match cell {
            Cell::Registered | Cell::Linked | Cell::Episode => "fresno",
            _ => "oakland",
        };
        (s.consent_id, _) = consent(
            &mut a,
            &admin,
            &s.patient_id,
            "san-diego",
            DisclosurePurpose::Treatment,
        )
        .await;
        s.assessment_id = assessment(&mut a, &admin, &s.patient_id, at).await;
    }

    // The merged-away record had its consent and assessment before the merge.
    let (survivor, _) = enrol(net, &fresno, "Sam", "fresno").await;
    let (duplicate, _) = enrol(net, &fresno, "Samuel", "fresno").await;
    let (consent_id, _) = consent(
        &mut a,
        &admin,
        &duplicate,
        "san-diego",
        DisclosurePurpose::Treatment,
    )
    .await;
    let assessment_id = assessment(&mut a, &admin, &duplicate, "fresno").await;
    let token = a
        .merge_patients(authed(
            MergePatientsRequest {
                survivor_id: survivor.clone(),
                merged_away_id: duplicate.clone(),
                reason: "same person registered twice".into(),
            },
            &fresno,
        ))
        .await
        .unwrap()
        .into_inner()
        .consistency_token;
    // The merge's token names the survivor: what the view is synced on.
    subjects.insert(
        Cell::MergedAway,
        Subject {
            patient_id: duplicate,
            token,
            token_names: Some(survivor),
            consent_id,
            assessment_id,
            chart: Chart::default(),
        },
    );
    let nobody = || uuid::Uuid::now_v7().to_string();
    subjects.insert(
        Cell::Nobody,
        Subject {
            patient_id: nobody(),
            consent_id: nobody(),
            assessment_id: nobody(),
            chart: Chart {
                note_id: nobody(),
                plan_id: nobody(),
                medication_id: nobody(),
                task_id: nobody(),
                review_id: nobody(),
                accession: format!("ACC-{}", &nobody()[24..]),
                work_item_id: nobody(),
            },
            ..Default::default()
        },
    );

    // A booking at each facility: the transferred patient at Fresno, an
    // Oakland patient at Oakland.
    let mut own = place(net, &admin, "fresno").await;
    let mut other = place(net, &admin, "oakland").await;
    book(net, &admin, &mut own, &subjects[&Cell::Episode].patient_id).await;
    let (there, _) = enrol(net, &oakland, "Otto", "oakland").await;
    admit(&mut a, &oakland, &there, "oakland", Program::IopDay)
        .await
        .unwrap();
    book(net, &admin, &mut other, &there).await;

    let mut world = World {
        subjects,
        own,
        other,
    };
    settle(net, &world).await;
    charts(net, &mut world).await;
    billing_learns(net, &world).await;
    world
}

/// Billing learns each relation to Fresno and the merge from the events.
async fn billing_learns(net: &TestNetwork, world: &World) {
    let b = BillingServiceClient::new(net.channel().await);
    let token = net.token(&[Role::Billing], &["fresno"]);
    for cell in [
        Cell::Registered,
        Cell::Linked,
        Cell::Episode,
        Cell::ConsentPayment,
    ] {
        let pid = world.subjects[&cell].patient_id.clone();
        until(&format!("billing to learn the {cell:?} relation"), || {
            let mut b = b.clone();
            let r = authed(
                GetAccountRequest {
                    patient_id: pid.clone(),
                },
                &token,
            );
            async move { b.get_account(r).await.ok().map(drop) }
        })
        .await;
    }
    let merged = world.subjects[&Cell::MergedAway].patient_id.clone();
    until("billing to learn the merge", || {
        let mut b = b.clone();
        let r = authed(restriction(&merged), &token);
        async move {
            match b.record_restriction(r).await {
                Err(s) if s.message().contains("merged") => Some(()),
                _ => None,
            }
        }
    })
    .await;
}

fn restriction(pid: &str) -> RecordRestrictionRequest {
    RecordRestrictionRequest {
        patient_id: pid.into(),
        facility_id: "fresno".into(),
        from_date: day(Utc::now().date_naive()),
        to_date: None,
    }
}

/// A sample X12 file of billing's, for `facility`'s billing provider.
fn x12_sample(name: &str, npi: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("services/billing/samples/x12")
        .join(name);
    std::fs::read_to_string(path)
        .expect("sample")
        .replace("1234567893", npi)
}

/// Where each patient cell's records are written: where the patient is known.
fn home(cell: Cell) -> &'static str {
    match cell {
        Cell::Registered | Cell::Linked | Cell::Episode | Cell::MergedAway => "fresno",
        _ => "oakland",
    }
}

/// Gives every patient cell an episode (where it is known, so the relation
/// to Fresno stays the one the cell is named for) and one clinical record of
/// each kind, and waits until clinical has learnt every relation and the
/// merge.
async fn charts(net: &TestNetwork, world: &mut World) {
    let everyone = net.token(&[Role::Clinician, Role::Intake], &["*"]);
    let admin = net.token(&[Role::Admin], &["*"]);
    let mut a = net.admissions().await;
    let c = ClinicalServiceClient::new(net.channel().await);
    let today = Utc::now().date_naive();
    for (cell, s) in world.subjects.iter_mut() {
        if *cell == Cell::Nobody {
            continue;
        }
        let owner = s
            .token_names
            .clone()
            .unwrap_or_else(|| s.patient_id.clone());
        let at = home(*cell);
        if *cell != Cell::Episode {
            admit(&mut a, &admin, &owner, at, Program::IopDay)
                .await
                .unwrap_or_else(|e| panic!("{cell:?}: {e}"));
        }
        let phq9 = |values: [u32; 9]| RecordScreeningRequest {
            patient_id: owner.clone(),
            facility_id: at.into(),
            instrument: Instrument::Phq9 as i32,
            responses: (1..)
                .zip(values)
                .map(|(item, value)| ItemResponse { item, value })
                .collect(),
            administered_at: None,
        };
        // The first write waits for clinical to learn the patient and the episode.
        s.chart.task_id = until(&format!("clinical to learn the {cell:?} patient"), || {
            let mut c = c.clone();
            let r = authed(phq9([0, 0, 0, 0, 0, 0, 0, 0, 1]), &everyone);
            async move {
                Some(
                    c.record_screening(r)
                        .await
                        .ok()?
                        .into_inner()
                        .follow_up_task_id,
                )
            }
        })
        .await;
        s.chart.plan_id = until(&format!("the {cell:?} episode in clinical"), || {
            let mut c = c.clone();
            let r = authed(
                WriteTreatmentPlanRequest {
                    patient_id: owner.clone(),
                    problems: vec![problem(today)],
                },
                &everyone,
            );
            async move {
                Some(
                    c.write_treatment_plan(r)
                        .await
                        .ok()?
                        .into_inner()
                        .plan?
                        .plan_id,
                )
            }
        })
        .await;
        c.clone()
            .record_screening(authed(phq9([2, 2, 2, 2, 2, 2, 0, 0, 0]), &everyone))
            .await
            .unwrap();
        s.chart.review_id = c
            .clone()
            .list_reviews(authed(
                ListReviewsRequest {
                    facility_id: at.into(),
                    include_decided: false,
                },
                &everyone,
            ))
            .await
            .unwrap()
            .into_inner()
            .reviews
            .into_iter()
            .find(|r| r.patient_id == owner)
            .map(|r| r.review_id)
            .unwrap_or_else(|| panic!("{cell:?}: no review opened"));
        s.chart.note_id = c
            .clone()
            .write_note(authed(
                WriteNoteRequest {
                    patient_id: owner.clone(),
                    facility_id: at.into(),
                    kind: NoteKind::Individual as i32,
                    service_date: day(today - Days::new(1)),
                    text: "Reviewed coping plan.".into(),
                    ..Default::default()
                },
                &everyone,
            ))
            .await
            .unwrap()
            .into_inner()
            .note
            .unwrap()
            .note_id;
        s.chart.medication_id = c
            .clone()
            .record_medication(authed(medication(&owner, at, today), &everyone))
            .await
            .unwrap()
            .into_inner()
            .medication
            .unwrap()
            .medication_id;
    }
    // Testing-lab: an order for each, once it has learnt the patient.
    let lab = TestingLabServiceClient::new(net.channel().await);
    for (cell, s) in world.subjects.iter_mut() {
        if *cell == Cell::Nobody {
            continue;
        }
        let owner = s
            .token_names
            .clone()
            .unwrap_or_else(|| s.patient_id.clone());
        let at = home(*cell);
        s.chart.accession = until(
            &format!("testing-lab to learn the {cell:?} patient"),
            || {
                let mut lab = lab.clone();
                let r = authed(drug_test(&owner, at), &everyone);
                async move { Some(lab.place_order(r).await.ok()?.into_inner().order?.accession) }
            },
        )
        .await;
        s.chart.work_item_id = lab
            .clone()
            .submit_hl7(authed(
                SubmitHl7Request {
                    message: UNMATCHED_ORU.into(),
                },
                &everyone,
            ))
            .await
            .unwrap()
            .into_inner()
            .work_item_id;
        assert!(!s.chart.work_item_id.is_empty(), "{cell:?}: not queued");
    }
    // Clinical learns each relation to Fresno and the merge from the events.
    for (cell, role) in [
        (Cell::Registered, Role::Clinician),
        (Cell::Linked, Role::Clinician),
        (Cell::Episode, Role::Clinician),
        (Cell::ConsentTreatment, Role::Clinician),
        (Cell::ConsentPayment, Role::Billing),
    ] {
        let token = net.token(&[role], &["fresno"]);
        let pid = world.subjects[&cell].patient_id.clone();
        until(&format!("clinical to learn the {cell:?} relation"), || {
            let mut c = c.clone();
            let r = authed(
                GetDocumentationRequest {
                    patient_id: pid.clone(),
                    service_date: day(today),
                },
                &token,
            );
            async move { c.get_documentation(r).await.ok().map(drop) }
        })
        .await;
    }
    for (cell, role) in [
        (Cell::Registered, Role::Clinician),
        (Cell::Linked, Role::Clinician),
        (Cell::Episode, Role::Clinician),
        (Cell::ConsentTreatment, Role::Clinician),
    ] {
        let token = net.token(&[role], &["fresno"]);
        let pid = world.subjects[&cell].patient_id.clone();
        until(
            &format!("testing-lab to learn the {cell:?} relation"),
            || {
                let mut lab = lab.clone();
                let r = authed(
                    ListResultsRequest {
                        patient_id: pid.clone(),
                    },
                    &token,
                );
                async move { lab.list_results(r).await.ok().map(drop) }
            },
        )
        .await;
    }
    let merged = world.subjects[&Cell::MergedAway].patient_id.clone();
    until("testing-lab to learn the merge", || {
        let mut lab = lab.clone();
        let r = authed(drug_test(&merged, "fresno"), &everyone);
        async move {
            match lab.place_order(r).await {
                Err(s) if s.message().contains("merged") => Some(()),
                _ => None,
            }
        }
    })
    .await;
    until("clinical to learn the merge", || {
        let mut c = c.clone();
        let r = authed(medication(&merged, "fresno", today), &everyone);
        async move {
            match c.record_medication(r).await {
                Err(s) if s.message().contains("merged") => Some(()),
                _ => None,
            }
        }
    })
    .await;
}

fn drug_test(pid: &str, at: &str) -> PlaceOrderRequest {
    PlaceOrderRequest {
        patient_id: pid.into(),
        facility_id: at.into(),
        specimen: SpecimenType::Urine as i32,
        panel: vec![DrugClass::Fentanyl as i32],
        observed: false,
        reason: OrderReason::Standing as i32,
    }
}

/// An `ORU^R01` whose accession no order carries: it waits in the work queue.
const UNMATCHED_ORU: &str = "MSH|^~\\&|LAB|REF|IOP|IOP|20261128120000||ORU^R01^ORU_R01|M1|P|2.5.1\r\
    PID|1||someone\rOBR|1|ACC-NOBODY||G0480|||20261127\rOBX|1|NM|FENTC^Fentanyl||3|ng/mL|1|A|||F\r";

fn problem(today: chrono::NaiveDate) -> Problem {
    Problem {
        description: "Alcohol use disorder".into(),
        icd10: "F10.20".into(),
        goals: vec![Goal {
            description: "Abstinence".into(),
            objectives: vec![Objective {
                description: "Attends 9 hours a week".into(),
                target_date: day(today + Days::new(30)),
                met: false,
            }],
        }],
        interventions: vec![Intervention {
            modality: Modality::Cbt as i32,
            frequency: "weekly".into(),
            responsible_clinician: "dr-fresno".into(),
        }],
    }
}

fn medication(pid: &str, at: &str, today: chrono::NaiveDate) -> RecordMedicationRequest {
    RecordMedicationRequest {
        patient_id: pid.into(),
        facility_id: at.into(),
        name: "naltrexone 50 mg daily".into(),
        class: MedicationClass::Naltrexone as i32,
        prescriber: "dr-fresno".into(),
        started_on: day(today),
    }
}

/// Waits until the view and scheduling have applied every setup write, so
/// each cell meets the relation it is named for.
async fn settle(net: &TestNetwork, world: &World) {
    let everyone = net.token(&[Role::Admin], &["*"]);
    for (cell, s) in &world.subjects {
        if !s.token.is_empty() {
            iop_testkit::read_view(
                &mut net.view().await,
                &everyone,
                s.token_names.as_ref().unwrap_or(&s.patient_id),
                &s.token,
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|e| panic!("{cell:?}: {e:?}"));
        }
    }
    // Scheduling learns from the same events, without tokens: poll each
    // relation until Fresno meets it there.
    let sched = net.scheduling().await;
    for (cell, role) in [
        (Cell::Registered, Role::Clinician),
        (Cell::Linked, Role::Clinician),
        (Cell::Episode, Role::Clinician),
        (Cell::ConsentTreatment, Role::Clinician),
        (Cell::ConsentPayment, Role::Billing),
    ] {
        let token = net.token(&[role], &["fresno"]);
        let pid = world.subjects[&cell].patient_id.clone();
        until(&format!("scheduling to learn the {cell:?} patient"), || {
            let mut c = sched.clone();
            let request = authed(
                GetEnrollmentRequest {
                    patient_id: pid.clone(),
                },
                &token,
            );
            async move {
                match c.get_enrollment(request).await {
                    Err(s) if s.code() == Code::PermissionDenied => None,
                    _ => Some(()),
                }
            }
        })
        .await;
    }
    let merged = world.subjects[&Cell::MergedAway].patient_id.clone();
    let session = world.own.session_id.clone();
    until("scheduling to learn the merge", || {
        let mut c = sched.clone();
        let request = authed(
            BookSessionRequest {
                patient_id: merged.clone(),
                session_id: session.clone(),
            },
            &everyone,
        );
        async move {
            match c.book_session(request).await {
                Err(s) if s.message().contains("merged") => Some(()),
                _ => None,
            }
        }
    })
    .await;
}

/// Calls `rpc` in `cell` with `token`.
async fn call(
    net: &TestNetwork,
    world: &World,
    rpc: &str,
    token: &str,
    cell: Cell,
) -> Result<(), Status> {
    let channel = net.channel().await;
    let mut a = AdmissionsServiceClient::new(channel.clone());
    let mut s = net.scheduling().await;
    let mut k = ClinicalServiceClient::new(channel.clone());
    let mut b = BillingServiceClient::new(channel.clone());
    let subject = world.subjects.get(&cell).cloned().unwrap_or_default();
    let chart = subject.chart.clone();
    let place = match cell {
        Cell::OtherFacility => world.other.clone(),
        _ => world.own.clone(),
    };
    let pid = || subject.patient_id.clone();
    let facility = || place.facility.to_owned();
    let today = Utc::now().date_naive();
    let ok = |r: Result<(), Status>| r;
    macro_rules! go {
        ($client:expr, $method:ident, $request:expr) => {
            ok($client.$method(authed($request, token)).await.map(drop))
        };
    }
    match rpc {
        "admissions.GetPatient" => go!(a, get_patient, GetPatientRequest { patient_id: pid() }),
        "admissions.ListConsents" => {
            go!(a, list_consents, ListConsentsRequest { patient_id: pid() })
        }
        "admissions.CheckDisclosure" => go!(
            a,
            check_disclosure,
            CheckDisclosureRequest {
                patient_id: pid(),
                recipient_id: "san-diego".into(),
                purpose: Some(ConsentPurpose {
                    purpose: DisclosurePurpose::Treatment as i32,
                    description: String::new(),
                }),
                information: ConsentInformation::Attendance as i32,
                at: Some(wire::timestamp(Utc::now())),
                ..Default::default()
            }
        ),
        "admissions.GetDemographicHistory" => go!(
            a,
            get_demographic_history,
            GetDemographicHistoryRequest { patient_id: pid() }
        ),
        "patientview.GetPatientView" => go!(
            net.view().await,
            get_patient_view,
            GetPatientViewRequest {
                patient_id: pid(),
                consistency_token: String::new()
            }
        ),
        "scheduling.GetEnrollment" => go!(
            s,
            get_enrollment,
            GetEnrollmentRequest { patient_id: pid() }
        ),
        "scheduling.GetWeeklyHours" => go!(
            s,
            get_weekly_hours,
            GetWeeklyHoursRequest {
                patient_id: pid(),
                week_of: day(today)
            }
        ),
        "admissions.UpdateDemographics" => {
            let r = registration("Matrix", "Person", "fresno");
            go!(
                a,
                update_demographics,
                UpdateDemographicsRequest {
                    patient_id: pid(),
                    demographics: Some(Demographics {
                        legal_name: r.legal_name,
                        date_of_birth: r.date_of_birth,
                        sex: r.sex,
                        ..Default::default()
                    }),
                    reason: "typo at registration".into(),
                }
            )
        }
        "admissions.RecordConsent" => go!(
            a,
            record_consent,
            RecordConsentRequest {
                consent: Some(consent_to(&pid(), "san-diego"))
            }
        ),
        "admissions.RevokeConsent" => go!(
            a,
            revoke_consent,
            RevokeConsentRequest {
                consent_id: subject.consent_id.clone()
            }
        ),
        "admissions.RecordConsentExpiryEvent" => go!(
            a,
            record_consent_expiry_event,
            RecordConsentExpiryEventRequest {
                consent_id: subject.consent_id.clone(),
                occurred_at: Some(wire::timestamp(Utc::now())),
            }
        ),
        "admissions.RecordCoverage" => go!(
            a,
            record_coverage,
            RecordCoverageRequest {
                coverage: Some(Coverage {
                    patient_id: pid(),
                    payer_id: "60054".into(),
                    payer_name: "Aetna".into(),
                    member_id: "W123456".into(),
                    subscriber_relationship: SubscriberRelationship::Self_ as i32,
                    effective_from: day(today),
                    ..Default::default()
                }),
            }
        ),
        "admissions.RecordAssessment" => {
            iop_testkit::assess(&mut a, token, &pid(), "fresno", iop_assessment())
                .await
                .map(drop)
        }
        "admissions.OverridePlacement" => go!(
            a,
            override_placement,
            OverridePlacementRequest {
                assessment_id: subject.assessment_id.clone(),
                chosen: LevelOfCare::LevelOfCare25PartialHospitalization as i32,
                justification: "daily structure needed after a relapse last week".into(),
                reason: iop_proto::common::v1::OverrideReason::ClinicalJudgement as i32,
            }
        ),
        "admissions.AdmitPatient" => go!(
            a,
            admit_patient,
            AdmitPatientRequest {
                patient_id: pid(),
                facility_id: "fresno".into(),
                program: Program::IopDay as i32,
                ..Default::default()
            }
        ),
        "admissions.TransferPatient" => {
            // Within Fresno, to the other program than the episode's now, so
            // an allowed transfer is a real one each time.
            let admin = net.token(&[Role::Admin], &["*"]);
            let now = a
                .get_patient(authed(GetPatientRequest { patient_id: pid() }, &admin))
                .await
                .ok()
                .and_then(|r| r.into_inner().patient)
                .and_then(|p| p.active_episode)
                .map(|e| e.program);
            let program = if now == Some(Program::IopEvening as i32) {
                Program::IopDay
            } else {
                Program::IopEvening
            };
            go!(
                a,
                transfer_patient,
                TransferPatientRequest {
                    patient_id: pid(),
                    to_facility_id: "fresno".into(),
                    program: program as i32,
                    ..Default::default()
                }
            )
        }
        "admissions.DischargePatient" => go!(
            a,
            discharge_patient,
            DischargePatientRequest {
                patient_id: pid(),
                reason: DischargeReason::Completed as i32,
                ..Default::default()
            }
        ),
        "admissions.MergePatients" => {
            // A fresh Fresno duplicate each time, merged into the patient.
            let fresno = net.token(&[Role::Intake], &["fresno"]);
            let (duplicate, _) = register(&mut a, &fresno, distinct("Dup", "fresno")).await?;
            go!(
                a,
                merge_patients,
                MergePatientsRequest {
                    survivor_id: pid(),
                    merged_away_id: duplicate,
                    reason: "same person registered twice".into(),
                }
            )
        }
        "admissions.FindDuplicates" => go!(
            a,
            find_duplicates,
            FindDuplicatesRequest { patient_id: pid() }
        ),
        "admissions.DeclareDistinct" => {
            // A fresh Fresno record each time, declared another person.
            let fresno = net.token(&[Role::Intake], &["fresno"]);
            let (other, _) = register(&mut a, &fresno, distinct("Other", "fresno")).await?;
            go!(
                a,
                declare_distinct,
                DeclareDistinctRequest {
                    patient_id: pid(),
                    other_patient_id: other,
                    reason: "sister, confirmed by ID".into(),
                    ..Default::default()
                }
            )
        }
        "scheduling.EnrollInTrack" => go!(
            s,
            enroll_in_track,
            EnrollInTrackRequest {
                patient_id: pid(),
                track_id: world.own.track_id.clone()
            }
        ),
        "scheduling.BookSession" => go!(
            s,
            book_session,
            BookSessionRequest {
                patient_id: pid(),
                session_id: world.own.session_id.clone()
            }
        ),
        "scheduling.BookIndividual" => go!(
            s,
            book_individual,
            BookIndividualRequest {
                patient_id: pid(),
                facility_id: "fresno".into(),
                clinician_id: "dr-matrix".into(),
                room: "office-3".into(),
                starts_at: Some(wire::timestamp(Utc::now() + chrono::Duration::days(3))),
                duration_minutes: 50,
                ..Default::default()
            }
        ),
        "admissions.RegisterPatient" => {
            go!(a, register_patient, distinct("Nell", &facility()))
        }
        "admissions.PutFacility" => {
            let current = a
                .list_facilities(authed(ListFacilitiesRequest {}, token))
                .await?
                .into_inner()
                .facilities
                .into_iter()
                .find(|f| f.facility_id == facility());
            go!(a, put_facility, PutFacilityRequest { facility: current })
        }
        "scheduling.CreateTrack" => {
            let mut t = Track {
                facility_id: facility(),
                name: "Matrix morning group".into(),
                program: Program::IopDay as i32,
                weekdays: vec![Weekday::Monday as i32],
                starts_at: Some(LocalTime { hour: 6, minute: 0 }),
                ends_at: Some(LocalTime { hour: 7, minute: 0 }),
                capacity: 8,
                room: "matrix-annex".into(),
                ..Default::default()
            };
            t.facilitator_id = format!("dr-{}", uuid::Uuid::now_v7());
            go!(s, create_track, CreateTrackRequest { track: Some(t) })
        }
        "scheduling.GenerateSessions" => go!(
            s,
            generate_sessions,
            GenerateSessionsRequest {
                track_id: place.track_id.clone(),
                from: day(today + Days::new(2)),
                to: day(today + Days::new(9)),
            }
        ),
        "scheduling.ListSessions" => go!(
            s,
            list_sessions,
            ListSessionsRequest {
                facility_id: facility(),
                from: day(today),
                to: day(today + Days::new(7)),
            }
        ),
        "scheduling.CancelBooking" => go!(
            s,
            cancel_booking,
            CancelBookingRequest {
                booking_id: place.booking_id.clone(),
                reason: "patient asked to move".into()
            }
        ),
        "scheduling.RecordAttendance" => go!(
            s,
            record_attendance,
            RecordAttendanceRequest {
                session_id: place.session_id.clone(),
                entries: vec![AttendanceEntry {
                    patient_id: place.patient_id.clone(),
                    status: AttendanceStatus::Attended as i32,
                    ..Default::default()
                }],
            }
        ),
        "scheduling.ListAtRisk" => go!(
            s,
            list_at_risk,
            ListAtRiskRequest {
                facility_id: facility(),
                week_of: day(today)
            }
        ),
        "scheduling.CloseWeek" => go!(
            s,
            close_week,
            CloseWeekRequest {
                facility_id: facility(),
                week_of: day(today - Days::new(7))
            }
        ),
        "clinical.ListScreenings" => go!(
            k,
            list_screenings,
            ListScreeningsRequest {
                patient_id: pid(),
                instrument: 0
            }
        ),
        "clinical.GetTreatmentPlan" => go!(
            k,
            get_treatment_plan,
            GetTreatmentPlanRequest { patient_id: pid() }
        ),
        "clinical.ListNotes" => go!(k, list_notes, ListNotesRequest { patient_id: pid() }),
        "clinical.ListMedications" => go!(
            k,
            list_medications,
            ListMedicationsRequest { patient_id: pid() }
        ),
        "clinical.GetDocumentation" => go!(
            k,
            get_documentation,
            GetDocumentationRequest {
                patient_id: pid(),
                service_date: day(today)
            }
        ),
        "clinical.GetNote" => go!(
            k,
            get_note,
            GetNoteRequest {
                note_id: chart.note_id.clone()
            }
        ),
        "clinical.RecordScreening" => go!(
            k,
            record_screening,
            RecordScreeningRequest {
                patient_id: pid(),
                facility_id: "fresno".into(),
                instrument: Instrument::AuditC as i32,
                responses: (1..=3)
                    .map(|item| ItemResponse { item, value: 1 })
                    .collect(),
                administered_at: None,
            }
        ),
        "clinical.WriteNote" => go!(
            k,
            write_note,
            WriteNoteRequest {
                patient_id: pid(),
                facility_id: "fresno".into(),
                kind: NoteKind::Individual as i32,
                service_date: day(today - Days::new(1)),
                text: "Matrix note.".into(),
                ..Default::default()
            }
        ),
        "clinical.RecordMedication" => go!(
            k,
            record_medication,
            medication(&pid(), "fresno", today - Days::new(1))
        ),
        "clinical.WriteTreatmentPlan" => go!(
            k,
            write_treatment_plan,
            WriteTreatmentPlanRequest {
                patient_id: pid(),
                problems: vec![problem(today)],
            }
        ),
        "clinical.SignNote" => go!(
            k,
            sign_note,
            SignNoteRequest {
                note_id: chart.note_id.clone()
            }
        ),
        "clinical.UpdateNote" => go!(
            k,
            update_note,
            UpdateNoteRequest {
                note_id: chart.note_id.clone(),
                text: "Edited.".into()
            }
        ),
        "clinical.AddAddendum" => go!(
            k,
            add_addendum,
            AddAddendumRequest {
                note_id: chart.note_id.clone(),
                text: "Addendum.".into()
            }
        ),
        "clinical.SignTreatmentPlan" => go!(
            k,
            sign_treatment_plan,
            SignTreatmentPlanRequest {
                plan_id: chart.plan_id.clone(),
                signer: Signer::Practitioner as i32
            }
        ),
        "clinical.StopMedication" => go!(
            k,
            stop_medication,
            StopMedicationRequest {
                medication_id: chart.medication_id.clone(),
                stopped_on: day(today)
            }
        ),
        "clinical.CompleteTask" => go!(
            k,
            complete_task,
            CompleteTaskRequest {
                task_id: chart.task_id.clone(),
                outcome: "called; safe".into()
            }
        ),
        "clinical.DecideReview" => go!(
            k,
            decide_review,
            DecideReviewRequest {
                review_id: chart.review_id.clone(),
                decision: Decision::Continue as i32,
                to_level: 0,
                justification: "scores improving".into()
            }
        ),
        "clinical.WriteGroupNote" => go!(
            k,
            write_group_note,
            WriteGroupNoteRequest {
                session_id: place.session_id.clone(),
                facility_id: facility(),
                shared_summary: "Matrix group.".into(),
                parts: vec![iop_proto::clinical::v1::AttendeePart {
                    patient_id: place.patient_id.clone(),
                    text: "Present.".into()
                }],
            }
        ),
        "clinical.ListOverduePlans" => go!(
            k,
            list_overdue_plans,
            ListOverduePlansRequest {
                facility_id: facility(),
                as_of: None
            }
        ),
        "clinical.ListLateNotes" => go!(
            k,
            list_late_notes,
            ListLateNotesRequest {
                facility_id: facility(),
                as_of: None
            }
        ),
        "clinical.ListTasks" => go!(
            k,
            list_tasks,
            ListTasksRequest {
                facility_id: facility(),
                assignee: String::new()
            }
        ),
        "clinical.ListReviews" => go!(
            k,
            list_reviews,
            ListReviewsRequest {
                facility_id: facility(),
                include_decided: false
            }
        ),
        "lab.ListResults" => go!(
            TestingLabServiceClient::new(channel.clone()),
            list_results,
            ListResultsRequest { patient_id: pid() }
        ),
        "lab.PlaceOrder" => go!(
            TestingLabServiceClient::new(channel.clone()),
            place_order,
            drug_test(&pid(), "fresno")
        ),
        "lab.RecordResult" => go!(
            TestingLabServiceClient::new(channel.clone()),
            record_result,
            RecordResultRequest {
                accession: chart.accession.clone(),
                kind: ResultKind::Presumptive as i32,
                method: ScreenMethod::Direct as i32,
                collected_on: day(today - Days::new(1)),
                analytes: vec![AnalyteResult {
                    analyte: Analyte::Fentanyl as i32,
                    ..Default::default()
                }],
            }
        ),
        "lab.RecordCollection" => go!(
            TestingLabServiceClient::new(channel.clone()),
            record_collection,
            RecordCollectionRequest {
                accession: chart.accession.clone(),
                collector: "tech-1".into(),
                collected_at: Some(wire::timestamp(Utc::now() - chrono::Duration::minutes(10))),
                observed: false,
                observer: String::new(),
                seal_id: "SEAL-1".into(),
                seal_intact: true,
                temperature_c: 36.0,
                temperature_read_at: Some(wire::timestamp(
                    Utc::now() - chrono::Duration::minutes(8)
                )),
            }
        ),
        "lab.RecordHandoff" => go!(
            TestingLabServiceClient::new(channel.clone()),
            record_handoff,
            RecordHandoffRequest {
                accession: chart.accession.clone(),
                from: "tech-1".into(),
                to: "courier-1".into(),
                at: Some(wire::timestamp(Utc::now() - chrono::Duration::minutes(5))),
                seal_intact: true,
            }
        ),
        "lab.RecordValidity" => go!(
            TestingLabServiceClient::new(channel.clone()),
            record_validity,
            RecordValidityRequest {
                accession: chart.accession.clone(),
                creatinine_mg_dl: 80.0,
                specific_gravity: 1.015,
                ph: 6.0,
                nitrite_ug_ml: 0.0,
                oxidant: false,
            }
        ),
        "lab.ResolveWorkItem" => go!(
            TestingLabServiceClient::new(channel.clone()),
            resolve_work_item,
            ResolveWorkItemRequest {
                work_item_id: chart.work_item_id.clone(),
                accession: chart.accession.clone(),
            }
        ),
        "lab.DiscloseResults" => go!(
            TestingLabServiceClient::new(channel.clone()),
            disclose_results,
            DiscloseResultsRequest {
                patient_id: pid(),
                recipient_id: "alameda-drug-court".into(),
                recipient_kind: RecipientKind::Court as i32,
            }
        ),
        "lab.PlaceStandingOrder" => go!(
            TestingLabServiceClient::new(channel.clone()),
            place_standing_order,
            PlaceStandingOrderRequest {
                patient_id: pid(),
                facility_id: "fresno".into(),
                per_week: 2,
                panel: vec![DrugClass::Fentanyl as i32],
                observed: false,
            }
        ),
        "lab.OrderDueTests" => go!(
            TestingLabServiceClient::new(channel.clone()),
            order_due_tests,
            OrderDueTestsRequest {
                facility_id: facility(),
                day: day(Utc::now()
                    .with_timezone(&chrono_tz::America::Los_Angeles)
                    .date_naive()),
            }
        ),
        "lab.DrawRandom" => go!(
            TestingLabServiceClient::new(channel.clone()),
            draw_random,
            DrawRandomRequest {
                facility_id: facility(),
                day: day(Utc::now()
                    .with_timezone(&chrono_tz::America::Los_Angeles)
                    .date_naive()),
                rate_ppm: 250_000,
                panel: vec![DrugClass::Fentanyl as i32],
                observed: false,
            }
        ),
        "lab.GetDraw" => go!(
            TestingLabServiceClient::new(channel.clone()),
            get_draw,
            GetDrawRequest {
                facility_id: facility(),
                day: day(today)
            }
        ),
        "lab.SubmitHl7" => go!(
            TestingLabServiceClient::new(channel.clone()),
            submit_hl7,
            SubmitHl7Request {
                message: UNMATCHED_ORU.into()
            }
        ),
        "lab.ListWorkQueue" => go!(
            TestingLabServiceClient::new(channel.clone()),
            list_work_queue,
            ListWorkQueueRequest {}
        ),
        "admissions.ListFacilities" => go!(a, list_facilities, ListFacilitiesRequest {}),
        "audit.ListAuditEntries" => go!(
            AuditServiceClient::new(channel.clone()),
            list_audit_entries,
            ListAuditEntriesRequest {
                page_size: 5,
                ..Default::default()
            }
        ),
        "audit.AccountDisclosures" => go!(
            AuditServiceClient::new(channel.clone()),
            account_disclosures,
            AccountDisclosuresRequest {
                patient_id: world.subjects[&Cell::Registered].patient_id.clone(),
                ..Default::default()
            }
        ),
        "audit.VerifyAuditChain" => go!(
            AuditServiceClient::new(channel.clone()),
            verify_audit_chain,
            VerifyAuditChainRequest {}
        ),
        "analytics.DescribeProjection" => go!(
            AnalyticsServiceClient::new(channel.clone()),
            describe_projection,
            DescribeProjectionRequest {}
        ),
        "ops.ListConsumers" => go!(
            OperationsServiceClient::new(channel.clone()),
            list_consumers,
            ListConsumersRequest {}
        ),
        "admissions.LinkPatientToFacility" => go!(
            a,
            link_patient_to_facility,
            LinkPatientToFacilityRequest {
                patient_id: pid(),
                facility_id: "fresno".into(),
                reason: LinkReason::PresentWithIdVerified as i32,
                note: "presented at the front desk with ID".into(),
                ..Default::default()
            }
        ),
        "admissions.BreakGlass" => go!(
            a,
            break_glass,
            BreakGlassRequest {
                patient_id: pid(),
                facility_id: "fresno".into(),
                reason: "unresponsive in the lobby, possible overdose".into(),
            }
        ),
        "billing.GetAccount" => go!(b, get_account, GetAccountRequest { patient_id: pid() }),
        "billing.ListAuthorizations" => go!(
            b,
            list_authorizations,
            ListAuthorizationsRequest { patient_id: pid() }
        ),
        "billing.RequestEligibility" => go!(
            b,
            request_eligibility,
            RequestEligibilityRequest {
                patient_id: pid(),
                facility_id: "fresno".into()
            }
        ),
        "billing.RecordAuthorization" => go!(
            b,
            record_authorization,
            RecordAuthorizationRequest {
                patient_id: pid(),
                facility_id: "fresno".into(),
                payer_id: "01112".into(),
                number: "AUTH-1".into(),
                level_of_care: LevelOfCare::LevelOfCare21IntensiveOutpatient as i32,
                units_approved: 10,
                from_date: day(today),
                to_date: day(today + Days::new(30)),
                next_review_on: None,
            }
        ),
        "billing.RecordRestriction" => go!(b, record_restriction, restriction(&pid())),
        "billing.RecordPatientPayment" => go!(
            b,
            record_patient_payment,
            RecordPatientPaymentRequest {
                patient_id: pid(),
                facility_id: "fresno".into(),
                amount_cents: 2_500,
                reference: "RCPT-1".into(),
            }
        ),
        "billing.ApplyEligibility" => go!(
            b,
            apply_eligibility,
            ApplyEligibilityRequest {
                facility_id: facility(),
                x12: x12_sample("271.x12", "1543218808"),
            }
        ),
        "billing.ListEligibilityDue" => go!(
            b,
            list_eligibility_due,
            ListEligibilityDueRequest {
                facility_id: facility()
            }
        ),
        "billing.ListHeldDays" => go!(
            b,
            list_held_days,
            ListHeldDaysRequest {
                facility_id: facility(),
                from_date: day(today - Days::new(30)),
                to_date: day(today),
            }
        ),
        "billing.CreateClaims" => go!(
            b,
            create_claims,
            CreateClaimsRequest {
                facility_id: facility()
            }
        ),
        "billing.SubmitClaims" => go!(
            b,
            submit_claims,
            SubmitClaimsRequest {
                facility_id: facility(),
                payer_id: "01112".into(),
            }
        ),
        "billing.ListClaims" => go!(
            b,
            list_claims,
            ListClaimsRequest {
                facility_id: facility(),
                status: 0,
            }
        ),
        "billing.ApplyRemittance" => go!(
            b,
            apply_remittance,
            ApplyRemittanceRequest {
                facility_id: facility(),
                x12: x12_sample("835-paid.x12", "1543218808"),
            }
        ),
        "billing.ListWorkQueue" => go!(
            b,
            list_work_queue,
            BillingWorkQueueRequest {
                facility_id: facility()
            }
        ),
        "billing.AcknowledgeClaim" => go!(
            b,
            acknowledge_claim,
            AcknowledgeClaimRequest {
                claim_id: uuid::Uuid::now_v7().to_string(),
                accepted: true,
                reason: String::new(),
            }
        ),
        "billing.ResolveWorkItem" => go!(
            b,
            resolve_work_item,
            BillingResolveRequest {
                work_item_id: uuid::Uuid::now_v7().to_string(),
                resolution: "done".into(),
            }
        ),
        other => panic!("no call for {other}"),
    }
}

/// Every RPC the contracts define, as `<service>.<Rpc>`.
fn contract_rpcs() -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(iop_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptors");
    let mut rpcs = Vec::new();
    for file in set.file {
        // `iop.<service>.v1`
        let Some(service) = file.package().split('.').nth(1).map(str::to_owned) else {
            continue;
        };
        for s in &file.service {
            rpcs.extend(s.method.iter().map(|m| format!("{service}.{}", m.name())));
        }
    }
    rpcs.sort();
    rpcs
}

#[test]
fn the_table_names_every_rpc_of_every_service_once() {
    let mut table: Vec<String> = RULES.iter().map(|r| r.rpc.to_owned()).collect();
    table.sort();
    assert_eq!(table, contract_rpcs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_every_role_every_relation_follows_the_rule() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let world = world(&net).await;

    let mut wrong = Vec::new();
    let mut checked = 0;
    for rule in RULES {
        let service = match rule.rpc.split('.').next() {
            Some("patientview") => "patient-view",
            Some("scheduling") => "scheduling",
            Some("clinical") => "clinical",
            Some("lab") => "testing-lab",
            Some("billing") => "billing",
            Some("analytics") => "analytics",
            _ => "admissions",
        };
        let url = net.database_url(service).to_owned();
        for role in Role::ALL {
            let token = net.token(&[role], &["fresno"]);
            for &cell in cells(rule.scope) {
                let want = expected(rule, role, cell);
                let before = iop_testkit::audit_count(&url, None, Some(rule.rpc), "denied").await;
                let got = call(&net, &world, rule.rpc, &token, cell).await;
                let at = || format!("{} as {role:?} in {cell:?}", rule.rpc);
                let seen = match &got {
                    Ok(()) => Outcome::Allowed,
                    Err(s) if s.code() == Code::PermissionDenied => {
                        if s.message() != "permission denied" {
                            wrong.push(format!("{}: refusal says {:?}", at(), s.message()));
                        }
                        if iop_testkit::audit_count(&url, None, Some(rule.rpc), "denied").await
                            != before + 1
                        {
                            wrong.push(format!("{}: refused but not audited", at()));
                        }
                        Outcome::Denied
                    }
                    Err(s)
                        if s.code() == Code::FailedPrecondition
                            && s.message().contains("merged") =>
                    {
                        Outcome::Merged
                    }
                    // Reached the domain's own rules: the access rule let it through.
                    Err(s)
                        if matches!(
                            s.code(),
                            Code::FailedPrecondition | Code::AlreadyExists | Code::NotFound
                        ) =>
                    {
                        Outcome::Allowed
                    }
                    Err(s) => {
                        wrong.push(format!("{}: {:?} {}", at(), s.code(), s.message()));
                        continue;
                    }
                };
                checked += 1;
                if seen != want {
                    let detail = got
                        .err()
                        .map(|s| format!(" ({:?} {})", s.code(), s.message()))
                        .unwrap_or_default();
                    wrong.push(format!("{}: expected {want:?}, got {seen:?}{detail}", at()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells off the rule:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let cells: usize = RULES.iter().map(|r| cells(r.scope).len()).sum();
    assert_eq!(checked, cells * Role::ALL.len());
    net.stop().await;
}
