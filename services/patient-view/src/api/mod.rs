//! The gRPC face of the patient view: the role table and the service struct;
//! the handler lives in [`views`], conversions in [`convert`].

mod convert;
mod views;

use std::time::Duration;

use iop_messaging::work::Ledger;
use iop_proto::patientview::v1::{
    GetPatientViewRequest, GetPatientViewResponse, patient_view_service_server::PatientViewService,
};
use iop_runtime::auth::Role;

/// Reads of patient records.
const READERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Billing, Role::Admin];

/// `iop.patientview.v1.PatientViewService`.
#[derive(Clone)]
pub struct PatientViewApi {
    ledger: Ledger,
    max_wait: Duration,
}

impl PatientViewApi {
    /// The service over its ledger; `max_wait` caps a consistency-token wait.
    pub fn new(ledger: Ledger, max_wait: Duration) -> Self {
        Self { ledger, max_wait }
    }
}

iop_runtime::grpc_service! {
    PatientViewApi => PatientViewService {
        get_patient_view(GetPatientViewRequest) -> GetPatientViewResponse, READERS => get_patient_view;
    }
}
