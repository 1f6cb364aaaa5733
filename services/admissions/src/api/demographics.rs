//! Demographic updates (with a reason; every version kept) and the history.

use chrono::Utc;
use iop_messaging::work::Stream;
use iop_proto::admissions::v1::{
    DemographicVersion, GetDemographicHistoryRequest, GetDemographicHistoryResponse,
    UpdateDemographicsRequest, UpdateDemographicsResponse,
};
use iop_runtime::{grpc::Call, ids, wire};

use super::{AdmissionsApi, convert, patients::apply};
use crate::{error::AdmissionsError, events, store::patients};

/// Longest reason for a change.
const MAX_REASON: usize = 500;

impl AdmissionsApi {
    pub(super) async fn update_demographics(
        &self,
        call: &Call,
        req: UpdateDemographicsRequest,
    ) -> Result<UpdateDemographicsResponse, AdmissionsError> {
        let d = req.demographics.unwrap_or_default();
        let why = ids::reason("reason", &req.reason, MAX_REASON)?;
        let (mut work, claimed, facility) = self
            .change(
                call,
                "admissions.UpdateDemographics",
                "patient_id",
                &req.patient_id,
            )
            .await?;
        let v = convert::validate(&d, super::today_at(work.txn(), &facility).await?)?;
        let mut model: crate::entity::patient::ActiveModel = claimed.patient.clone().into();
        apply(&mut model, &v);
        let updated = patients::update(work.txn(), model).await?;
        let sequence = work
            .emit(
                Stream::patient(&updated.id),
                &events::demographics_updated(&updated, why.clone(), Utc::now()),
            )
            .await?;
        patients::record_version(
            work.txn(),
            &updated.id,
            sequence,
            &convert::demographics_of(&updated),
            &call.caller,
            &why,
        )
        .await?;
        let person = convert::matchable(&updated);
        let keys = crate::matching::index_keys(&person);
        patients::index_for_matching(work.txn(), &updated.id, Some(keys)).await?;
        work.audit(Some(&updated.id), Some(&facility));
        work.commit().await?;
        // Checked again once committed: new demographics may now resemble
        // another record (a corrected birth date, a married name).
        let candidates = self
            .duplicate_candidates(call, &person, Some(&updated.id), &facility)
            .await?;
        Ok(UpdateDemographicsResponse {
            patient: Some(self.patient_message(&updated).await?),
            consistency_token: self.token(&updated.id, sequence),
            candidates,
        })
    }

    pub(super) async fn demographic_history(
        &self,
        call: &Call,
        req: GetDemographicHistoryRequest,
    ) -> Result<GetDemographicHistoryResponse, AdmissionsError> {
        let p = self
            .read(
                call,
                "admissions.GetDemographicHistory",
                "patient_id",
                &req.patient_id,
            )
            .await?;
        Ok(GetDemographicHistoryResponse {
            versions: patients::history(self.ledger.conn(), &p.id)
                .await?
                .into_iter()
                .map(|(r, demographics)| DemographicVersion {
                    version: r.version,
                    demographics: Some(demographics),
                    recorded_at: Some(wire::timestamp(r.recorded_at)),
                    recorded_by: r.recorded_by,
                    reason: r.reason,
                })
                .collect(),
        })
    }
}
