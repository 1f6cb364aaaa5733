//! The admissions error type and its one mapping to gRPC statuses: struct
//! variants, each with a stable reason code (`ErrorInfo`, domain
//! `iop.admissions`), a bad argument also with its field. Messages name fields
//! and ids, never patient data.

use iop_runtime::ids::FieldError;

iop_runtime::service_error! {
/// Everything an admissions command or query can fail with.
pub enum AdmissionsError in "iop.admissions" {
    /// No such patient.
    #[error("patient {patient_id} not found")]
    PatientNotFound {
        /// The id asked for.
        patient_id: String,
    } => (NotFound, "PATIENT_NOT_FOUND"),
    /// Something referred to does not exist (a facility, an assessment, a consent).
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    } => (NotFound, "NOT_FOUND"),
    /// The patient already has an active episode (which one, and where, is
    /// for the facilities that may read the record: `GetPatient`).
    #[error("patient {patient_id} already has an active episode")]
    AlreadyAdmitted {
        /// The patient.
        patient_id: String,
    } => (FailedPrecondition, "ALREADY_ADMITTED"),
    /// The patient has no active episode.
    #[error("patient {patient_id} has no active episode")]
    NotAdmitted {
        /// The patient.
        patient_id: String,
    } => (FailedPrecondition, "NOT_ADMITTED"),
    /// The record was merged into another; change the survivor instead
    /// (`GetPatient` on this id answers with the survivor, to callers who may
    /// read it).
    #[error("patient {patient_id} was merged into another record; change that one")]
    Merged {
        /// The merged-away record.
        patient_id: String,
    } => (FailedPrecondition, "PATIENT_MERGED"),
    /// The admission would share days with an earlier episode.
    #[error("admitted_on {admitted_on} falls within an earlier episode of the patient, which ended on {last_day}; admit from the day after")]
    EpisodeOverlap {
        /// The day asked for.
        admitted_on: chrono::NaiveDate,
        /// The earlier episode's last day.
        last_day: chrono::NaiveDate,
    } => (FailedPrecondition, "EPISODE_OVERLAP"),
    /// The patient's placement does not support the level asked for.
    #[error("{why}")]
    NotPlaced {
        /// What the placement is, and what would help.
        why: String,
    } => (FailedPrecondition, "PLACEMENT_REQUIRED"),
    /// The program is not offered or has no free place.
    #[error("{why}")]
    NoPlace {
        /// Which program, and why not.
        why: String,
    } => (FailedPrecondition, "PROGRAM_UNAVAILABLE"),
    /// Both records of a merge have an active episode.
    #[error(
        "both records have an active episode ({survivor_episode} and {merged_episode}); discharge one before merging"
    )]
    BothAdmitted {
        /// The survivor's episode.
        survivor_episode: String,
        /// The merged-away record's episode.
        merged_episode: String,
    } => (FailedPrecondition, "BOTH_ADMITTED"),
    /// The consent or assessment is not in a state the command applies to.
    #[error("{why}")]
    WrongState {
        /// Which record, and its state.
        why: String,
    } => (FailedPrecondition, "WRONG_STATE"),
    /// The override lowers a level set by withdrawal or biomedical risk and
    /// the caller does not hold the medical director role.
    #[error("{why}")]
    MedicalDirectorRequired {
        /// Which levels.
        why: String,
    } => (PermissionDenied, "MEDICAL_DIRECTOR_REQUIRED"),
    /// Too many registrations produced candidates for this caller lately.
    #[error("too many duplicate checks with candidates; retry in {retry_after_s} s")]
    RateLimited {
        /// Seconds until the oldest counted search leaves the window.
        retry_after_s: u32,
    } => (ResourceExhausted, "RATE_LIMITED", retry_after = retry_after_s),
    /// No free medical record number could be drawn; retry.
    #[error("no free medical record number; retry")]
    MrnExhausted => (Aborted, "MRN_EXHAUSTED"),
    /// Stored data breaks an invariant (a value the contract does not know).
    #[error("stored {what} is not valid")]
    Corrupt {
        /// What.
        what: String,
    } => (Internal, "CORRUPT_RECORD"),
}
}

impl From<iop_consent::ConsentError> for AdmissionsError {
    fn from(e: iop_consent::ConsentError) -> Self {
        FieldError::new(e.element, e.reason).into()
    }
}

impl From<crate::placement::PlacementError> for AdmissionsError {
    fn from(e: crate::placement::PlacementError) -> Self {
        use crate::placement::PlacementError;
        match e {
            PlacementError::InvalidField { field, reason } => FieldError { field, reason }.into(),
            PlacementError::NeedsMedicalDirector { .. } => {
                AdmissionsError::MedicalDirectorRequired { why: e.to_string() }
            }
        }
    }
}

impl AdmissionsError {
    /// A request field that is malformed.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError::new(field, reason).into()
    }
}
