//! The patient view's error type and its one mapping to gRPC statuses, with
//! stable reason codes (`ErrorInfo`, domain `iop.patientview`) and the field of
//! a bad argument. Messages name fields and ids, never patient data.

use iop_runtime::{ids::FieldError, status};
use tonic::{Code, Status};

const DOMAIN: &str = "iop.patientview";

/// Everything a view query can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// A request field is missing or malformed.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field, as named in the proto.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The view holds no such patient.
    #[error("patient {patient_id} not found in the view")]
    PatientNotFound {
        /// The id asked for.
        patient_id: String,
    },
    /// The caller's facility may not see the patient.
    #[error(
        "caller acts for no facility where patient {patient_id} is known or that a consent covers"
    )]
    PermissionDenied {
        /// The patient asked for.
        patient_id: String,
    },
    /// The view did not apply the write of the consistency token in time.
    #[error(
        "the view has not yet applied {source_context} event {sequence} of patient {patient_id}"
    )]
    NotYetApplied {
        /// The context that wrote it.
        source_context: String,
        /// Its sequence.
        sequence: i64,
        /// The patient.
        patient_id: String,
    },
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl From<FieldError> for ViewError {
    fn from(e: FieldError) -> Self {
        ViewError::InvalidArgument {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl ViewError {
    /// The stable reason code of this error.
    pub fn reason(&self) -> &'static str {
        match self {
            ViewError::InvalidArgument { .. } => "INVALID_ARGUMENT",
            ViewError::PatientNotFound { .. } => "PATIENT_NOT_FOUND",
            ViewError::PermissionDenied { .. } => "ACCESS_DENIED",
            ViewError::NotYetApplied { .. } => "NOT_YET_APPLIED",
            ViewError::Storage(_) => "STORAGE_FAILURE",
        }
    }
}

impl From<ViewError> for Status {
    fn from(e: ViewError) -> Self {
        let code = match &e {
            ViewError::InvalidArgument { field, reason } => {
                return status::invalid_argument(DOMAIN, field, reason);
            }
            ViewError::Storage(db) => return status::storage_failure(DOMAIN, db),
            ViewError::PatientNotFound { .. } => Code::NotFound,
            ViewError::PermissionDenied { .. } => Code::PermissionDenied,
            ViewError::NotYetApplied { .. } => Code::DeadlineExceeded,
        };
        status::with_reason(code, DOMAIN, e.reason(), e.to_string())
    }
}
