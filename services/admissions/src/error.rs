//! The admissions error type and its one mapping to gRPC status codes. Messages
//! name fields and ids, never patient data.

use tonic::Status;

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
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// Another command changed the patient at the same time; retry.
    #[error("patient {patient_id} was changed concurrently; retry")]
    Conflict {
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
    /// Something referred to does not exist (a facility, an assessment, a consent).
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The system is not in the state the command needs (no placement at the
    /// program's level, a full program, an already revoked consent).
    #[error("{0}")]
    Precondition(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl From<iop_consent::ConsentError> for AdmissionsError {
    fn from(e: iop_consent::ConsentError) -> Self {
        AdmissionsError::InvalidArgument {
            field: e.element,
            reason: e.reason.to_owned(),
        }
    }
}

impl From<AdmissionsError> for Status {
    fn from(e: AdmissionsError) -> Self {
        match &e {
            AdmissionsError::InvalidArgument { .. } => Status::invalid_argument(e.to_string()),
            AdmissionsError::PatientNotFound { .. } | AdmissionsError::NotFound { .. } => {
                Status::not_found(e.to_string())
            }
            AdmissionsError::AlreadyAdmitted { .. }
            | AdmissionsError::NotAdmitted { .. }
            | AdmissionsError::Merged { .. }
            | AdmissionsError::Precondition(_) => Status::failed_precondition(e.to_string()),
            AdmissionsError::PermissionDenied(_) => Status::permission_denied(e.to_string()),
            AdmissionsError::Conflict { .. } => Status::aborted(e.to_string()),
            AdmissionsError::Storage(db) => {
                tracing::error!(error = %db, "admissions storage failure");
                Status::internal("storage failure")
            }
        }
    }
}
