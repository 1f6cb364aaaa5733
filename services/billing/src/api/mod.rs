//! The gRPC face of billing: the role table, the service struct, the access
//! rule at the door, and one file per resource (eligibility,
//! authorizations, the account, claims, remittance). Every RPC is the
//! billing role's, acting for payment: a patient's records through the
//! shared gate, a facility's lists only for a caller acting for it, each
//! patient listed audited.

mod account;
mod authorizations;
mod claims;
mod convert;
mod eligibility;
mod remittance;

use std::sync::Arc;

use iop_consent::gate::{self, Allowed, Intent};
use iop_messaging::work::{Access, Actor, Ledger};
use iop_proto::billing::v1::{self as api, billing_service_server::BillingService};
use iop_runtime::{
    auth::Role,
    grpc::Call,
    ids::{FacilityId, PatientId},
};

use crate::{error::BillingError, settings::Rules};

/// Who calls billing.
const BILLERS: &[Role] = &[Role::Billing];

type Result<T> = std::result::Result<T, BillingError>;

/// `iop.billing.v1.BillingService`.
#[derive(Clone)]
pub struct BillingApi {
    ledger: Ledger,
    rules: Arc<Rules>,
}

impl BillingApi {
    /// The service over its ledger, billing by `rules`.
    pub fn new(ledger: Ledger, rules: Arc<Rules>) -> Self {
        Self { ledger, rules }
    }
}

iop_runtime::grpc_service! {
    BillingApi => BillingService as "billing" audited by ledger {
        request_eligibility(api::RequestEligibilityRequest) -> api::RequestEligibilityResponse, BILLERS => request_eligibility;
        apply_eligibility(api::ApplyEligibilityRequest) -> api::ApplyEligibilityResponse, BILLERS => apply_eligibility;
        list_eligibility_due(api::ListEligibilityDueRequest) -> api::ListEligibilityDueResponse, BILLERS => list_eligibility_due;
        record_authorization(api::RecordAuthorizationRequest) -> api::RecordAuthorizationResponse, BILLERS => record_authorization;
        list_authorizations(api::ListAuthorizationsRequest) -> api::ListAuthorizationsResponse, BILLERS => list_authorizations;
        record_restriction(api::RecordRestrictionRequest) -> api::RecordRestrictionResponse, BILLERS => record_restriction;
        get_account(api::GetAccountRequest) -> api::GetAccountResponse, BILLERS => get_account;
        list_held_days(api::ListHeldDaysRequest) -> api::ListHeldDaysResponse, BILLERS => list_held_days;
        create_claims(api::CreateClaimsRequest) -> api::CreateClaimsResponse, BILLERS => create_claims;
        submit_claims(api::SubmitClaimsRequest) -> api::SubmitClaimsResponse, BILLERS => submit_claims;
        acknowledge_claim(api::AcknowledgeClaimRequest) -> api::AcknowledgeClaimResponse, BILLERS => acknowledge_claim;
        list_claims(api::ListClaimsRequest) -> api::ListClaimsResponse, BILLERS => list_claims;
        apply_remittance(api::ApplyRemittanceRequest) -> api::ApplyRemittanceResponse, BILLERS => apply_remittance;
        record_patient_payment(api::RecordPatientPaymentRequest) -> api::RecordPatientPaymentResponse, BILLERS => record_patient_payment;
        list_work_queue(api::ListWorkQueueRequest) -> api::ListWorkQueueResponse, BILLERS => list_work_queue;
        resolve_work_item(api::ResolveWorkItemRequest) -> api::ResolveWorkItemResponse, BILLERS => resolve_work_item;
    }
}

impl BillingApi {
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
            .map_err(|refused| refused.into_error(|patient_id| BillingError::Merged { patient_id }))
    }

    /// A facility's X12 file: the facility acted for, the file read (its
    /// envelope checked); INVALID_ARGUMENT naming what is wrong.
    fn x12_file(
        call: &Call,
        facility_id: &str,
        x12: &str,
    ) -> Result<(FacilityId, crate::x12::Parsed)> {
        let facility = FacilityId::parse("facility_id", facility_id)?;
        if x12.trim().is_empty() {
            return Err(BillingError::invalid("x12", "is required"));
        }
        call.caller.require_facility(facility.as_str())?;
        let parsed = crate::x12::parse(x12).map_err(|problem| BillingError::X12 { problem })?;
        Ok((facility, parsed))
    }

    /// Audits that `call` was shown these patients of `facility_id` by `action`.
    async fn disclosed(
        &self,
        call: &Call,
        action: &'static str,
        facility_id: &str,
        patients: impl IntoIterator<Item = &str>,
    ) -> Result<()> {
        let mut ids: Vec<&str> = patients.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let rows: Vec<Access> = ids
            .into_iter()
            .map(|p| Access::allowed(Some(p), Some(facility_id)))
            .collect();
        let rows = if rows.is_empty() {
            vec![Access::allowed(None, Some(facility_id))]
        } else {
            rows
        };
        self.ledger
            .record_access(&Actor::of(call, action), &rows)
            .await?;
        Ok(())
    }
}
