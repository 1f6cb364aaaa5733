//! The gRPC face of the patient view: the role table and the service struct;
//! the handler lives in [`views`], conversions in [`convert`].

mod convert;
mod views;

use std::{sync::Arc, time::Duration};

use iop_messaging::work::Ledger;
use iop_proto::patientview::v1::{
    GetPatientViewRequest, GetPatientViewResponse, patient_view_service_server::PatientViewService,
};
use iop_runtime::{auth::Role, consistency::TokenKey};
use tokio::sync::Semaphore;

/// Reads of patient records.
const READERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Billing, Role::Admin];

/// `iop.patientview.v1.PatientViewService`.
#[derive(Clone)]
pub struct PatientViewApi {
    ledger: Ledger,
    max_wait: Duration,
    tokens: TokenKey,
    waiters: Arc<Semaphore>,
}

/// Most reads waiting for a write at once; more are RESOURCE_EXHAUSTED, so a
/// flood of waiting reads cannot hold every connection and task.
pub const MAX_WAITERS: usize = 1024;

impl PatientViewApi {
    /// The service over its ledger; `max_wait` caps a consistency-token wait,
    /// and tokens are checked with `tokens`.
    pub fn new(ledger: Ledger, max_wait: Duration, tokens: TokenKey) -> Self {
        Self {
            ledger,
            max_wait,
            tokens,
            waiters: Arc::new(Semaphore::new(MAX_WAITERS)),
        }
    }
}

iop_runtime::grpc_service! {
    PatientViewApi => PatientViewService as "patientview" audited by ledger {
        get_patient_view(GetPatientViewRequest) -> GetPatientViewResponse, READERS => get_patient_view;
    }
}
