//! The gRPC richer error model, built one way for every service: a status
//! carries an `ErrorInfo` whose `reason` is a stable, upper-snake code
//! (`PATIENT_NOT_FOUND`) in the service's domain (`iop.admissions`), and a bad
//! field also carries a `BadRequest` field violation naming it. Clients branch
//! on the code and the field, never on message text; messages name fields and
//! ids, never patient data.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::ids::FieldError;

/// What a service's error enum tells the one status mapping ([`to_status`]):
/// its domain, each variant's stable reason code and gRPC code, and which
/// variant is a bad field or a storage failure.
pub trait ServiceError: std::fmt::Display {
    /// The `ErrorInfo` domain, e.g. `iop.admissions`.
    const DOMAIN: &'static str;

    /// The stable reason code of this error (`PATIENT_NOT_FOUND`).
    fn reason(&self) -> &'static str;

    /// The gRPC code of this error.
    fn code(&self) -> Code;

    /// The bad field, if this is one.
    fn field(&self) -> Option<&FieldError>;

    /// The storage failure, if this is one (logged, never shown).
    fn storage(&self) -> Option<&sea_orm::DbErr>;

    /// When to try again, for an error that says (sent as `RetryInfo`).
    fn retry_after(&self) -> Option<std::time::Duration>;

    /// Whether this is a refusal no audit row records yet.
    fn unaudited_denial(&self) -> bool;
}

/// Metadata a status carries, between a handler and `grpc_service!`, when it
/// is a refusal the handler did not audit; removed before the caller sees it.
pub const UNAUDITED: &str = "x-iop-unaudited-denial";

/// Declares a service's error enum with its table of stable codes: each
/// variant with the gRPC code and reason code it maps to, and the three
/// variants every service shares, added here once —
/// `InvalidArgument { violation: FieldError }` (INVALID_ARGUMENT),
/// `Denied { denial: Denied }` (PERMISSION_DENIED, `ACCESS_DENIED`) and
/// `Storage(DbErr)` (INTERNAL, `STORAGE_FAILURE`). Implements
/// [`ServiceError`] and the one conversion to a status ([`to_status`]).
#[macro_export]
macro_rules! service_error {
    (@retry $seconds:ident) => {
        Some(std::time::Duration::from_secs(u64::from(*$seconds)))
    };
    (@retry) => {
        None
    };
    (
        $(#[$emeta:meta])*
        pub enum $error:ident in $domain:literal {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $({ $($(#[$fmeta:meta])* $field:ident : $fty:ty),* $(,)? })?
                    => ($code:ident, $reason:literal $(, retry_after = $retry:ident)?),
            )*
        }
    ) => {
        $(#[$emeta])*
        #[derive(Debug, thiserror::Error)]
        pub enum $error {
            /// A request field is missing or malformed.
            #[error("{violation}")]
            InvalidArgument {
                /// Which field (as the proto names it), and why.
                #[from]
                violation: $crate::ids::FieldError,
            },
            /// The caller may not: one text for every reason (see `Denied`).
            #[error("{denial}")]
            Denied {
                /// Why, for the log only.
                #[from]
                denial: $crate::auth::Denied,
            },
            /// Storage failed (logged; the caller sees only that it did).
            #[error("storage: {0}")]
            Storage(#[from] $crate::grpc::__private::sea_orm::DbErr),
            $(
                $(#[$vmeta])*
                $variant $({ $($(#[$fmeta])* $field: $fty),* })?,
            )*
        }

        impl $crate::status::ServiceError for $error {
            const DOMAIN: &'static str = $domain;

            fn reason(&self) -> &'static str {
                match self {
                    $error::InvalidArgument { .. } => "INVALID_ARGUMENT",
                    $error::Denied { .. } => "ACCESS_DENIED",
                    $error::Storage(_) => "STORAGE_FAILURE",
                    $($error::$variant { .. } => $reason,)*
                }
            }

            fn code(&self) -> $crate::grpc::__private::tonic::Code {
                use $crate::grpc::__private::tonic::Code;
                match self {
                    $error::InvalidArgument { .. } => Code::InvalidArgument,
                    $error::Denied { .. } => Code::PermissionDenied,
                    $error::Storage(_) => Code::Internal,
                    $($error::$variant { .. } => Code::$code,)*
                }
            }

            fn field(&self) -> Option<&$crate::ids::FieldError> {
                match self {
                    $error::InvalidArgument { violation } => Some(violation),
                    _ => None,
                }
            }

            fn storage(&self) -> Option<&$crate::grpc::__private::sea_orm::DbErr> {
                match self {
                    $error::Storage(e) => Some(e),
                    _ => None,
                }
            }

            fn unaudited_denial(&self) -> bool {
                matches!(self, $error::Denied { denial } if !denial.audited)
            }

            fn retry_after(&self) -> Option<std::time::Duration> {
                match self {
                    $($error::$variant { $($retry,)? .. } => $crate::service_error!(@retry $($retry)?),)*
                    _ => None,
                }
            }
        }

        impl From<$error> for $crate::grpc::__private::tonic::Status {
            fn from(e: $error) -> Self {
                $crate::status::to_status(&e)
            }
        }
    };
}

/// The status of a service error: a bad field names itself in a `BadRequest`,
/// a storage failure is logged and shown as INTERNAL, anything else carries its
/// reason code and message (and `RetryInfo` when the variant declares
/// `retry_after = <seconds field>`).
pub fn to_status<E: ServiceError>(e: &E) -> Status {
    if let Some(f) = e.field() {
        return invalid_argument(E::DOMAIN, f.field, &f.reason);
    }
    if let Some(db) = e.storage() {
        return storage_failure(E::DOMAIN, db);
    }
    let mut details = ErrorDetails::new();
    details.set_error_info(e.reason(), E::DOMAIN, HashMap::new());
    if let Some(after) = e.retry_after() {
        details.set_retry_info(Some(after));
    }
    let mut status = Status::with_error_details(e.code(), e.to_string(), details);
    if e.unaudited_denial() {
        status
            .metadata_mut()
            .insert(UNAUDITED, tonic::metadata::MetadataValue::from_static("1"));
    }
    status
}

/// A status with `ErrorInfo { reason, domain }`.
pub fn with_reason(code: Code, domain: &str, reason: &str, message: impl Into<String>) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, domain, HashMap::new());
    Status::with_error_details(code, message, details)
}

/// INVALID_ARGUMENT naming `field` as a `BadRequest` field violation, with the
/// reason `INVALID_ARGUMENT`; the message is `field: description`.
pub fn invalid_argument(domain: &str, field: &str, description: &str) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info("INVALID_ARGUMENT", domain, HashMap::new());
    details.add_bad_request_violation(field, description);
    Status::with_error_details(
        Code::InvalidArgument,
        format!("{field}: {description}"),
        details,
    )
}

/// INTERNAL for a storage failure: logged here with its cause, which never
/// reaches the caller (it may quote a statement).
pub fn storage_failure(domain: &str, error: &dyn std::fmt::Display) -> Status {
    tracing::error!(domain, error = %error, "storage failure");
    with_reason(Code::Internal, domain, "STORAGE_FAILURE", "storage failure")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_carry_the_field_and_the_code() {
        let s = invalid_argument("iop.test", "legal_name.family", "is required");
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(s.message(), "legal_name.family: is required");
        let details = s.get_error_details();
        let fields: Vec<&str> = details
            .bad_request()
            .map(|b| {
                b.field_violations
                    .iter()
                    .map(|v| v.field.as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(fields, ["legal_name.family"]);
        assert_eq!(
            details.error_info().map(|i| i.reason.as_str()),
            Some("INVALID_ARGUMENT")
        );
        let s = with_reason(Code::NotFound, "iop.test", "PATIENT_NOT_FOUND", "gone");
        assert_eq!(
            s.get_error_details()
                .error_info()
                .map(|i| (i.reason.as_str(), i.domain.as_str())),
            Some(("PATIENT_NOT_FOUND", "iop.test"))
        );
    }
}
