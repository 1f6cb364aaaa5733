//! The billing error type and its one mapping to gRPC statuses (domain
//! `iop.billing`). Messages name fields, ids and X12 positions, never
//! patient data.

use iop_messaging::consumer::ApplyError;
use iop_runtime::ids::FieldError;

iop_runtime::service_error! {
/// Everything a billing command or query can fail with.
pub enum BillingError in "iop.billing" {
    /// Billing has not heard of the facility (no `FacilityRecorded` yet).
    #[error("facility {facility_id} is not known to billing yet (no FacilityRecorded event)")]
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
    /// The payer is not configured.
    #[error("payer {payer_id} is not configured in [billing.payers]")]
    UnknownPayer {
        /// The payer.
        payer_id: String,
    } => (FailedPrecondition, "PAYER_NOT_CONFIGURED"),
    /// The facility bills under no provider.
    #[error("facility {facility_id} has no billing provider in [billing.providers]")]
    NoProvider {
        /// The facility.
        facility_id: String,
    } => (FailedPrecondition, "NO_BILLING_PROVIDER"),
    /// No Part 2 consent lets billing disclose to the payer.
    #[error("no Part 2 consent in force covers disclosure to payer {payer_id} for payment")]
    NoPaymentConsent {
        /// The payer.
        payer_id: String,
    } => (FailedPrecondition, "NO_PAYMENT_CONSENT"),
    /// The patient has no coverage to ask about.
    #[error("the patient has no coverage with a payer in effect")]
    NoCoverage => (FailedPrecondition, "NO_COVERAGE"),
    /// An X12 file could not be read or applied; names where.
    #[error("x12: {problem}")]
    X12 {
        /// What and where.
        problem: String,
    } => (InvalidArgument, "X12_INVALID"),
    /// A claim in a state that does not allow the step.
    #[error("claim {claim_id} is {status}: {why}")]
    ClaimState {
        /// The claim.
        claim_id: String,
        /// Its status.
        status: String,
        /// What was refused.
        why: String,
    } => (FailedPrecondition, "CLAIM_STATE"),
    /// Nothing with that id.
    #[error("{what} {id} not found")]
    NotFound {
        /// What.
        what: &'static str,
        /// The id.
        id: String,
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

impl BillingError {
    /// An invalid field.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError::new(field, reason).into()
    }
}

/// Storage follows the database's own rule; anything else will not change
/// on a retry.
impl From<BillingError> for ApplyError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::Storage(db) => db.into(),
            other => ApplyError::Permanent(other.to_string()),
        }
    }
}
