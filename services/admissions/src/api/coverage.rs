//! Coverage: payer, plan, member and subscriber, or self-pay; published for
//! billing to verify.

use chrono::Utc;
use iop_messaging::work::Stream;
use iop_proto::admissions::{
    events::v1 as events,
    v1::{RecordCoverageRequest, RecordCoverageResponse},
};
use iop_runtime::{grpc::Call, wire};
use prost::Message;
use sea_orm::Set;

use super::AdmissionsApi;
use crate::{coverage, entity, error::AdmissionsError, store::coverages};

impl AdmissionsApi {
    pub(super) async fn record_coverage(
        &self,
        call: &Call,
        req: RecordCoverageRequest,
    ) -> Result<RecordCoverageResponse, AdmissionsError> {
        let mut c = coverage::coverage(req.coverage.as_ref())?;
        let (mut work, claimed, facility) = self
            .change(
                call,
                "admissions.RecordCoverage",
                "coverage.patient_id",
                &c.patient_id,
            )
            .await?;
        c.patient_id = claimed.patient.id.clone();
        let own = iop_proto::common::v1::SubscriberRelationship::Self_ as i32;
        if !c.self_pay && c.subscriber_relationship == own && c.subscriber_address.is_none() {
            let p = &claimed.patient;
            c.subscriber_address =
                (!p.address_line1.is_empty()).then(|| iop_proto::common::v1::PostalAddress {
                    line1: p.address_line1.clone(),
                    line2: p.address_line2.clone(),
                    city: p.address_city.clone(),
                    state: p.address_state.clone(),
                    postal_code: p.address_postal_code.clone(),
                });
        }
        c.coverage_id = uuid::Uuid::now_v7().to_string();
        let now = Utc::now();
        coverages::insert(
            work.txn(),
            entity::coverage::ActiveModel {
                id: Set(c.coverage_id.clone()),
                patient_id: Set(c.patient_id.clone()),
                coverage: Set(c.encode_to_vec()),
                recorded_at: Set(now),
            },
        )
        .await?;
        let event = events::CoverageRecorded {
            coverage: Some(c.clone()),
            occurred_at: Some(wire::timestamp(now)),
        };
        let sequence = work.emit(Stream::patient(&c.patient_id), &event).await?;
        work.audit(Some(&c.patient_id), Some(&facility));
        work.commit().await?;
        Ok(RecordCoverageResponse {
            consistency_token: self.token(&c.patient_id, sequence),
            coverage: Some(c),
        })
    }
}
