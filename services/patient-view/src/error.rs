//! The patient view's error type and its one mapping to gRPC statuses, with
//! stable reason codes (`ErrorInfo`, domain `iop.patientview`) and the field of
//! a bad argument. Messages name fields and ids, never patient data.

iop_runtime::service_error! {
/// Everything a view query can fail with.
pub enum ViewError in "iop.patientview" {
    /// The view holds no such patient.
    #[error("patient {patient_id} not found in the view")]
    PatientNotFound {
        /// The id asked for.
        patient_id: String,
    } => (NotFound, "PATIENT_NOT_FOUND"),
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
    } => (DeadlineExceeded, "NOT_YET_APPLIED"),
    /// As many reads as the view lets wait for a write are waiting already.
    #[error("too many reads are waiting for writes; retry shortly")]
    TooManyWaiting => (ResourceExhausted, "TOO_MANY_WAITING"),
}
}
