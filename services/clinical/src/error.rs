//! The clinical error type and its one mapping to gRPC statuses: struct
//! variants, each with a stable reason code (`ErrorInfo`, domain
//! `iop.clinical`), a bad argument also with its field. Messages name fields
//! and ids, never patient data or note text.

use iop_messaging::consumer::ApplyError;
use iop_runtime::{ids::FieldError, status::ServiceError};

iop_runtime::service_error! {
/// Everything a clinical command or query can fail with.
pub enum ClinicalError in "iop.clinical" {
    /// Something referred to does not exist (or is not the caller's to see).
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    } => (NotFound, "NOT_FOUND"),
    /// Clinical has not heard of the facility (no `FacilityRecorded` yet).
    #[error("facility {facility_id} is not known to clinical yet (no FacilityRecorded event)")]
    UnknownFacility {
        /// The facility.
        facility_id: String,
    } => (FailedPrecondition, "FACILITY_UNKNOWN"),
    /// The record was merged into another: its chart lives on the survivor.
    #[error("patient {patient_id} was merged into another record; use the surviving record")]
    Merged {
        /// The merged-away id.
        patient_id: String,
    } => (FailedPrecondition, "PATIENT_MERGED"),
    /// The patient has no active episode (a plan belongs to one).
    #[error("patient {patient_id} has no active episode")]
    NoActiveEpisode {
        /// The patient.
        patient_id: String,
    } => (FailedPrecondition, "NO_ACTIVE_EPISODE"),
    /// A signed note is locked.
    #[error("note {note_id} is signed and locked; add an addendum instead")]
    NoteLocked {
        /// The note.
        note_id: String,
    } => (FailedPrecondition, "NOTE_LOCKED"),
    /// A note is signed by its author.
    #[error("note {note_id} is signed by its author")]
    NotAuthor {
        /// The note.
        note_id: String,
    } => (FailedPrecondition, "NOT_THE_AUTHOR"),
    /// An addendum corrects a signed note only.
    #[error("note {note_id} is not signed yet; an addendum corrects a signed note")]
    NoteNotSigned {
        /// The note.
        note_id: String,
    } => (FailedPrecondition, "NOTE_NOT_SIGNED"),
    /// A group note needs recorded attendance for the session.
    #[error("no attendance is recorded for session {session_id} at the facility yet")]
    NoAttendance {
        /// The session.
        session_id: String,
    } => (FailedPrecondition, "NO_ATTENDANCE"),
    /// The session already has its group note.
    #[error("session {session_id} already has its group note")]
    GroupNoteExists {
        /// The session.
        session_id: String,
    } => (FailedPrecondition, "GROUP_NOTE_EXISTS"),
    /// The plan version was superseded or is already signed by that signer.
    #[error("plan {plan_id}: {why}")]
    PlanNotSignable {
        /// The plan version.
        plan_id: String,
        /// Why.
        why: &'static str,
    } => (FailedPrecondition, "PLAN_NOT_SIGNABLE"),
    /// The review was already decided.
    #[error("review {review_id} is already decided")]
    ReviewDecided {
        /// The review.
        review_id: String,
    } => (FailedPrecondition, "REVIEW_DECIDED"),
    /// The task was already done.
    #[error("task {task_id} is already done")]
    TaskDone {
        /// The task.
        task_id: String,
    } => (FailedPrecondition, "TASK_DONE"),
    /// The medication was already stopped.
    #[error("medication {medication_id} is already stopped")]
    MedicationStopped {
        /// The medication.
        medication_id: String,
    } => (FailedPrecondition, "MEDICATION_STOPPED"),
    /// Stored data breaks an invariant (a value the contract does not know).
    #[error("stored {what} is not valid")]
    Corrupt {
        /// What.
        what: String,
    } => (Internal, "CORRUPT_RECORD"),
}
}

impl ClinicalError {
    /// An invalid field.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError::new(field, reason).into()
    }

    /// Whether the status is a refusal of the caller's input or of the
    /// record's state (not a failure).
    pub fn is_refusal(&self) -> bool {
        self.code() != tonic::Code::Internal
    }
}

/// How the consumer treats a failure applying an event: storage follows the
/// database's own rule, anything else is in the event and will not change on
/// a retry.
impl From<ClinicalError> for ApplyError {
    fn from(e: ClinicalError) -> Self {
        match e {
            ClinicalError::Storage(db) => db.into(),
            other => ApplyError::Permanent(other.to_string()),
        }
    }
}
