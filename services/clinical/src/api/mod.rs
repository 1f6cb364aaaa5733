//! The gRPC face of clinical: the role table, the service struct, and what
//! the handlers share (the access rule at the door, look-ups of a record by
//! its own id decided on the patient it belongs to, the conversions to the
//! contract). One file per resource: screenings, plans, notes, and the
//! clinician's work (medications, tasks, reviews).

mod convert;
mod notes;
mod plans;
mod screenings;
mod work;

pub(crate) use convert::plan_problems;

use iop_consent::gate::{self, Allowed, Intent};
use iop_messaging::work::Ledger;
use iop_proto::clinical::v1::{self as api, clinical_service_server::ClinicalService};
use iop_runtime::{auth::Role, grpc::Call, ids::PatientId};

use crate::{error::ClinicalError, settings::ClinicalSettings};

/// Who administers screening instruments.
const SCREENERS: &[Role] = &[Role::Clinician, Role::Intake];
/// Who reads a patient's chart (never counseling notes of another author).
const READERS: &[Role] = &[Role::Clinician, Role::Intake];
/// Who writes and signs clinical records and decides reviews.
const CLINICIANS: &[Role] = &[Role::Clinician];
/// Who works a facility's task list.
const TASKS: &[Role] = &[Role::Clinician, Role::Intake];
/// Who asks whether a day is documented (billing: never the text).
const DOCUMENTATION: &[Role] = &[Role::Clinician, Role::Billing];

type Result<T> = std::result::Result<T, ClinicalError>;

/// `iop.clinical.v1.ClinicalService`.
#[derive(Clone)]
pub struct ClinicalApi {
    ledger: Ledger,
    settings: ClinicalSettings,
}

impl ClinicalApi {
    /// The service over its ledger.
    pub fn new(ledger: Ledger, settings: ClinicalSettings) -> Self {
        Self { ledger, settings }
    }
}

iop_runtime::grpc_service! {
    ClinicalApi => ClinicalService as "clinical" audited by ledger {
        record_screening(api::RecordScreeningRequest) -> api::RecordScreeningResponse, SCREENERS => record_screening;
        list_screenings(api::ListScreeningsRequest) -> api::ListScreeningsResponse, READERS => list_screenings;
        write_treatment_plan(api::WriteTreatmentPlanRequest) -> api::WriteTreatmentPlanResponse, CLINICIANS => write_treatment_plan;
        sign_treatment_plan(api::SignTreatmentPlanRequest) -> api::SignTreatmentPlanResponse, CLINICIANS => sign_treatment_plan;
        get_treatment_plan(api::GetTreatmentPlanRequest) -> api::GetTreatmentPlanResponse, READERS => get_treatment_plan;
        list_overdue_plans(api::ListOverduePlansRequest) -> api::ListOverduePlansResponse, CLINICIANS => list_overdue_plans;
        write_note(api::WriteNoteRequest) -> api::WriteNoteResponse, CLINICIANS => write_note;
        update_note(api::UpdateNoteRequest) -> api::UpdateNoteResponse, CLINICIANS => update_note;
        write_group_note(api::WriteGroupNoteRequest) -> api::WriteGroupNoteResponse, CLINICIANS => write_group_note;
        sign_note(api::SignNoteRequest) -> api::SignNoteResponse, CLINICIANS => sign_note;
        add_addendum(api::AddAddendumRequest) -> api::AddAddendumResponse, CLINICIANS => add_addendum;
        get_note(api::GetNoteRequest) -> api::GetNoteResponse, READERS => get_note;
        list_notes(api::ListNotesRequest) -> api::ListNotesResponse, READERS => list_notes;
        list_late_notes(api::ListLateNotesRequest) -> api::ListLateNotesResponse, CLINICIANS => list_late_notes;
        get_documentation(api::GetDocumentationRequest) -> api::GetDocumentationResponse, DOCUMENTATION => get_documentation;
        record_medication(api::RecordMedicationRequest) -> api::RecordMedicationResponse, CLINICIANS => record_medication;
        stop_medication(api::StopMedicationRequest) -> api::StopMedicationResponse, CLINICIANS => stop_medication;
        list_medications(api::ListMedicationsRequest) -> api::ListMedicationsResponse, READERS => list_medications;
        list_tasks(api::ListTasksRequest) -> api::ListTasksResponse, TASKS => list_tasks;
        complete_task(api::CompleteTaskRequest) -> api::CompleteTaskResponse, TASKS => complete_task;
        list_reviews(api::ListReviewsRequest) -> api::ListReviewsResponse, CLINICIANS => list_reviews;
        decide_review(api::DecideReviewRequest) -> api::DecideReviewResponse, CLINICIANS => decide_review;
    }
}

impl ClinicalApi {
    /// The access rule for `call` doing `action` on `patient_id`
    /// ([`iop_consent::gate`]).
    async fn authorize(
        &self,
        call: &Call,
        action: &'static str,
        patient_id: &PatientId,
        intent: Intent<'_>,
    ) -> Result<Allowed> {
        gate::authorize(&self.ledger, call, action, patient_id, intent)
            .await
            .map_err(|refused| {
                refused.into_error(|patient_id| ClinicalError::Merged { patient_id })
            })
    }

    /// The rule for a record named by its own id, belonging to `patient_id`
    /// (the survivor's after a merge): read, or write at `facility`.
    async fn authorize_owned(
        &self,
        call: &Call,
        action: &'static str,
        patient_id: &str,
        write_at: Option<&str>,
    ) -> Result<Allowed> {
        let pid = PatientId::from_stored(patient_id);
        let intent = write_at.map_or(Intent::Read, |facility| Intent::Write { facility });
        self.authorize(call, action, &pid, intent).await
    }
}

/// A required, trimmed text of at most `max` characters.
fn text(field: &'static str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ClinicalError::invalid(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(ClinicalError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Longest free text of a note part, addendum or justification (the
/// request bound, 4096 bytes, is the ceiling in bytes).
const MAX_TEXT: usize = 4000;
/// Longest short text (a name, a frequency, a description).
const MAX_SHORT: usize = 300;
