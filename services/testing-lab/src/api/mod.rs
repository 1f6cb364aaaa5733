//! The gRPC face of testing-lab: the role table, the service struct, the
//! access rule at the door, and one file per resource (orders, results).

mod convert;
mod draws;
mod orders;
mod results;
mod specimens;

use std::collections::HashMap;

use iop_consent::gate::{self, Allowed, Intent};
use iop_messaging::work::Ledger;
use iop_proto::lab::v1::{self as api, testing_lab_service_server::TestingLabService};
use iop_runtime::{auth::Role, grpc::Call, ids::PatientId};

use crate::{error::LabError, settings::Code};

/// Who orders tests, records results and reads them (the care team).
const CARE_TEAM: &[Role] = &[Role::Clinician, Role::Intake];

type Result<T> = std::result::Result<T, LabError>;

/// `iop.lab.v1.TestingLabService`.
#[derive(Clone)]
pub struct LabApi {
    ledger: Ledger,
    codes: HashMap<String, Code>,
    criteria: crate::validity::Criteria,
}

impl LabApi {
    /// The service over its ledger, reading senders' result codes by `codes`
    /// and specimens by `criteria`.
    pub fn new(
        ledger: Ledger,
        codes: HashMap<String, Code>,
        criteria: crate::validity::Criteria,
    ) -> Self {
        Self {
            ledger,
            codes,
            criteria,
        }
    }
}

iop_runtime::grpc_service! {
    LabApi => TestingLabService as "lab" audited by ledger {
        place_order(api::PlaceOrderRequest) -> api::PlaceOrderResponse, CARE_TEAM => place_order;
        record_result(api::RecordResultRequest) -> api::RecordResultResponse, CARE_TEAM => record_result;
        submit_hl7(api::SubmitHl7Request) -> api::SubmitHl7Response, CARE_TEAM => submit_hl7;
        record_collection(api::RecordCollectionRequest) -> api::RecordCollectionResponse, CARE_TEAM => record_collection;
        record_handoff(api::RecordHandoffRequest) -> api::RecordHandoffResponse, CARE_TEAM => record_handoff;
        record_validity(api::RecordValidityRequest) -> api::RecordValidityResponse, CARE_TEAM => record_validity;
        place_standing_order(api::PlaceStandingOrderRequest) -> api::PlaceStandingOrderResponse, CARE_TEAM => place_standing_order;
        order_due_tests(api::OrderDueTestsRequest) -> api::OrderDueTestsResponse, CARE_TEAM => order_due_tests;
        draw_random(api::DrawRandomRequest) -> api::DrawRandomResponse, CARE_TEAM => draw_random;
        get_draw(api::GetDrawRequest) -> api::GetDrawResponse, CARE_TEAM => get_draw;
        disclose_results(api::DiscloseResultsRequest) -> api::DiscloseResultsResponse, CARE_TEAM => disclose_results;
        list_work_queue(api::ListWorkQueueRequest) -> api::ListWorkQueueResponse, CARE_TEAM => list_work_queue;
        resolve_work_item(api::ResolveWorkItemRequest) -> api::ResolveWorkItemResponse, CARE_TEAM => resolve_work_item;
        list_results(api::ListResultsRequest) -> api::ListResultsResponse, CARE_TEAM => list_results;
    }
}

impl LabApi {
    /// The access rule for `call` doing `action` on `patient_id` ([`iop_consent::gate`]).
    async fn authorize(
        &self,
        call: &Call,
        action: &'static str,
        patient_id: &PatientId,
        intent: Intent<'_>,
    ) -> Result<Allowed> {
        gate::authorize(&self.ledger, call, action, patient_id, intent)
            .await
            .map_err(|refused| refused.into_error(|patient_id| LabError::Merged { patient_id }))
    }
}
