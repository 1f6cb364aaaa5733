//! The scheduling error type and its one mapping to gRPC status codes. Messages
//! name fields and ids, never patient data.

use tonic::Status;

/// Everything a scheduling command or query can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SchedulingError {
    /// A request field is missing or malformed.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field, as named in the proto.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Something referred to does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The command conflicts with the schedule or the episode; the message
    /// names the conflicting booking or session.
    #[error("{0}")]
    Precondition(String),
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// Another command changed the patient's schedule at the same time; retry.
    #[error("patient {0}'s schedule was changed concurrently; retry")]
    Conflict(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl SchedulingError {
    /// An invalid field.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        SchedulingError::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }
}

impl From<crate::attendance::AttendanceError> for SchedulingError {
    fn from(e: crate::attendance::AttendanceError) -> Self {
        SchedulingError::invalid(e.field, e.reason)
    }
}

impl From<SchedulingError> for Status {
    fn from(e: SchedulingError) -> Self {
        match &e {
            SchedulingError::InvalidArgument { .. } => Status::invalid_argument(e.to_string()),
            SchedulingError::NotFound { .. } => Status::not_found(e.to_string()),
            SchedulingError::Precondition(_) => Status::failed_precondition(e.to_string()),
            SchedulingError::PermissionDenied(_) => Status::permission_denied(e.to_string()),
            SchedulingError::Conflict(_) => Status::aborted(e.to_string()),
            SchedulingError::Storage(db) => {
                tracing::error!(error = %db, "scheduling storage failure");
                Status::internal("storage failure")
            }
        }
    }
}
