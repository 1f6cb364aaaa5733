//! The admissions error type and its one mapping to gRPC statuses: struct
//! variants, each with a stable reason code (`ErrorInfo`, domain
//! `iop.admissions`), a bad argument also with its field. Messages name fields
//! and ids, never patient data.

use iop_runtime::{ids::FieldError, status};
use tonic::{Code, Status};

const DOMAIN: &str = "iop.admissions";

/// Everything an admissions command or query can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionsError {
    /// A request field is missing or malformed.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field, as named in the proto (`legal_name.given`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No such patient.
    #[error("patient {patient_id} not found")]
    PatientNotFound {
        /// The id asked for.
        patient_id: String,
    },
    /// Something referred to does not exist (a facility, an assessment, a consent).
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The patient already has an active episode.
    #[error("patient {patient_id} already has an active episode {episode_id}")]
    AlreadyAdmitted {
        /// The patient.
        patient_id: String,
        /// The active episode.
        episode_id: String,
    },
    /// The patient has no active episode.
    #[error("patient {patient_id} has no active episode")]
    NotAdmitted {
        /// The patient.
        patient_id: String,
    },
    /// The record was merged into another; change the survivor instead.
    #[error("patient {patient_id} was merged into {survivor_id}")]
    Merged {
        /// The merged-away record.
        patient_id: String,
        /// Where it lives on.
        survivor_id: String,
    },
    /// The patient's placement does not support the level asked for.
    #[error("{0}")]
    NotPlaced(String),
    /// The program is not offered or has no free place.
    #[error("{0}")]
    NoPlace(String),
    /// Both records of a merge have an active episode.
    #[error(
        "both records have an active episode ({survivor_episode} and {merged_episode}); discharge one before merging"
    )]
    BothAdmitted {
        /// The survivor's episode.
        survivor_episode: String,
        /// The merged-away record's episode.
        merged_episode: String,
    },
    /// The consent or assessment is not in a state the command applies to.
    #[error("{0}")]
    WrongState(String),
    /// The caller does not act for the facility named.
    #[error("caller does not act for facility {facility_id}")]
    NotYourFacility {
        /// The facility.
        facility_id: String,
    },
    /// The caller's facility may not see the patient.
    #[error(
        "caller acts for no facility where patient {patient_id} is known or that a consent covers"
    )]
    PatientNotVisible {
        /// The patient.
        patient_id: String,
    },
    /// No free medical record number could be drawn; retry.
    #[error("no free medical record number; retry")]
    MrnExhausted,
    /// Stored data breaks an invariant (a value the contract does not know).
    #[error("stored {what} is not valid")]
    Corrupt {
        /// What.
        what: String,
    },
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl From<FieldError> for AdmissionsError {
    fn from(e: FieldError) -> Self {
        AdmissionsError::InvalidArgument {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl From<iop_consent::ConsentError> for AdmissionsError {
    fn from(e: iop_consent::ConsentError) -> Self {
        AdmissionsError::InvalidArgument {
            field: e.element,
            reason: e.reason.to_owned(),
        }
    }
}

impl From<crate::placement::PlacementError> for AdmissionsError {
    fn from(e: crate::placement::PlacementError) -> Self {
        FieldError::from(e).into()
    }
}

impl AdmissionsError {
    /// A request field that is malformed.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError::new(field, reason).into()
    }

    /// The stable reason code of this error.
    pub fn reason(&self) -> &'static str {
        match self {
            AdmissionsError::InvalidArgument { .. } => "INVALID_ARGUMENT",
            AdmissionsError::PatientNotFound { .. } => "PATIENT_NOT_FOUND",
            AdmissionsError::NotFound { .. } => "NOT_FOUND",
            AdmissionsError::AlreadyAdmitted { .. } => "ALREADY_ADMITTED",
            AdmissionsError::NotAdmitted { .. } => "NOT_ADMITTED",
            AdmissionsError::Merged { .. } => "PATIENT_MERGED",
            AdmissionsError::NotPlaced(_) => "PLACEMENT_REQUIRED",
            AdmissionsError::NoPlace(_) => "PROGRAM_UNAVAILABLE",
            AdmissionsError::BothAdmitted { .. } => "BOTH_ADMITTED",
            AdmissionsError::WrongState(_) => "WRONG_STATE",
            AdmissionsError::NotYourFacility { .. } | AdmissionsError::PatientNotVisible { .. } => {
                "ACCESS_DENIED"
            }
            AdmissionsError::MrnExhausted => "MRN_EXHAUSTED",
            AdmissionsError::Corrupt { .. } => "CORRUPT_RECORD",
            AdmissionsError::Storage(_) => "STORAGE_FAILURE",
        }
    }

    fn code(&self) -> Code {
        match self {
            AdmissionsError::InvalidArgument { .. } => Code::InvalidArgument,
            AdmissionsError::PatientNotFound { .. } | AdmissionsError::NotFound { .. } => {
                Code::NotFound
            }
            AdmissionsError::AlreadyAdmitted { .. }
            | AdmissionsError::NotAdmitted { .. }
            | AdmissionsError::Merged { .. }
            | AdmissionsError::NotPlaced(_)
            | AdmissionsError::NoPlace(_)
            | AdmissionsError::BothAdmitted { .. }
            | AdmissionsError::WrongState(_) => Code::FailedPrecondition,
            AdmissionsError::NotYourFacility { .. } | AdmissionsError::PatientNotVisible { .. } => {
                Code::PermissionDenied
            }
            AdmissionsError::MrnExhausted => Code::Aborted,
            AdmissionsError::Corrupt { .. } | AdmissionsError::Storage(_) => Code::Internal,
        }
    }
}

impl From<AdmissionsError> for Status {
    fn from(e: AdmissionsError) -> Self {
        match &e {
            AdmissionsError::InvalidArgument { field, reason } => {
                status::invalid_argument(DOMAIN, field, reason)
            }
            AdmissionsError::Storage(db) => status::storage_failure(DOMAIN, db),
            _ => status::with_reason(e.code(), DOMAIN, e.reason(), e.to_string()),
        }
    }
}
