//! The testing-lab error type and its one mapping to gRPC statuses (domain
//! `iop.lab`). Messages name fields and ids, never patient data.

use iop_messaging::consumer::ApplyError;
use iop_runtime::ids::FieldError;

iop_runtime::service_error! {
/// Everything a testing-lab command or query can fail with.
pub enum LabError in "iop.lab" {
    /// Testing-lab has not heard of the facility (no `FacilityRecorded` yet).
    #[error("facility {facility_id} is not known to testing-lab yet (no FacilityRecorded event)")]
    UnknownFacility {
        /// The facility.
        facility_id: String,
    } => (FailedPrecondition, "FACILITY_UNKNOWN"),
    /// The record was merged into another.
    #[error("patient {patient_id} was merged into another record; use the surviving record")]
    Merged {
        /// The merged-away id.
        patient_id: String,
    } => (FailedPrecondition, "PATIENT_MERGED"),
    /// The order's specimen was collected already.
    #[error("the specimen of order {accession} is collected already")]
    AlreadyCollected {
        /// The order's accession.
        accession: String,
    } => (FailedPrecondition, "ALREADY_COLLECTED"),
    /// The order's specimen is not collected yet.
    #[error("the specimen of order {accession} is not collected yet")]
    NotCollected {
        /// The order's accession.
        accession: String,
    } => (FailedPrecondition, "NOT_COLLECTED"),
    /// The specimen was rejected or is being recollected.
    #[error("the specimen of order {accession} is closed: {reason}")]
    SpecimenClosed {
        /// The order's accession.
        accession: String,
        /// Why.
        reason: String,
    } => (FailedPrecondition, "SPECIMEN_CLOSED"),
    /// A draw for a later day (no advance notice).
    #[error("the draw for {day} is made on {day}, not before (no advance notice)")]
    NoAdvanceNotice {
        /// The day asked for.
        day: chrono::NaiveDate,
    } => (FailedPrecondition, "NO_ADVANCE_NOTICE"),
    /// No draw was made that day.
    #[error("no draw was made on {day}")]
    NoDraw {
        /// The day asked for.
        day: chrono::NaiveDate,
    } => (NotFound, "NOT_FOUND"),
    /// The work-queue item was resolved already.
    #[error("work item {work_item_id} is resolved already")]
    Resolved {
        /// The item.
        work_item_id: String,
    } => (FailedPrecondition, "RESOLVED"),
    /// Stored data breaks an invariant.
    #[error("stored {what} is not valid")]
    Corrupt {
        /// What.
        what: String,
    } => (Internal, "CORRUPT_RECORD"),
}
}

impl LabError {
    /// An invalid field.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError::new(field, reason).into()
    }
}

/// Storage follows the database's own rule; anything else will not change
/// on a retry.
impl From<LabError> for ApplyError {
    fn from(e: LabError) -> Self {
        match e {
            LabError::Storage(db) => db.into(),
            other => ApplyError::Permanent(other.to_string()),
        }
    }
}
