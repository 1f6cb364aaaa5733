//! The gRPC richer error model, built one way for every service: a status
//! carries an `ErrorInfo` whose `reason` is a stable, upper-snake code
//! (`PATIENT_NOT_FOUND`) in the service's domain (`iop.admissions`), and a bad
//! field also carries a `BadRequest` field violation naming it. Clients branch
//! on the code and the field, never on message text; messages name fields and
//! ids, never patient data.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

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
