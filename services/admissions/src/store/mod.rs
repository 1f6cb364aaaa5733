//! Admissions' queries and writes, without rules: each function reads or
//! writes rows (writes inside a unit of work). Records whose shape is a
//! contract are decoded here; a stored record that no longer decodes is a
//! broken invariant, reported as such.

pub mod assessments;
pub mod consents;
pub mod coverages;
pub mod episodes;
pub mod facilities;
pub mod patients;

use crate::error::AdmissionsError;

/// A stored protobuf record that does not decode.
fn corrupt(what: impl Into<String>) -> AdmissionsError {
    AdmissionsError::Corrupt { what: what.into() }
}
