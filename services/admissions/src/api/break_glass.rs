//! Medical-emergency access (42 CFR 2.51): `BreakGlass` lets the calling
//! clinician read a patient's record at a facility where the patient is not
//! known, for `admissions.break_glass_seconds`, with a mandatory reason. It
//! grants reads only (writes still need the patient known at the facility),
//! is audited, logged at WARN and published as `BreakGlassAccessGranted` for
//! the privacy officer; each read under it is audited with
//! `emergency:<grant id>` where a consent id would be, so the accounting of
//! disclosures lists it.

use chrono::Utc;
use iop_messaging::work::{Actor, Stream};
use iop_proto::admissions::{
    events::v1 as events,
    v1::{BreakGlassRequest, BreakGlassResponse},
};
use iop_runtime::{
    grpc::Call,
    ids::{self, FacilityId, PatientId},
    wire,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use super::{AdmissionsApi, claim};
use crate::{entity::break_glass_grant, error::AdmissionsError, store::patients};

const ACTION: &str = "admissions.BreakGlass";
/// Shortest and longest reason, in characters.
const MIN_REASON: usize = 20;
const MAX_REASON: usize = 500;

/// The calling clinician's unexpired grant on `patient_id` at a facility they
/// act for, latest first.
pub(super) async fn grant_of<C: ConnectionTrait>(
    db: &C,
    call: &Call,
    patient_id: &str,
) -> Result<Option<break_glass_grant::Model>, DbErr> {
    let grants = break_glass_grant::Entity::find()
        .filter(break_glass_grant::Column::PatientId.eq(patient_id))
        .filter(break_glass_grant::Column::GrantedTo.eq(call.caller.subject()))
        .filter(break_glass_grant::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(break_glass_grant::Column::ExpiresAt)
        .all(db)
        .await?;
    Ok(grants
        .into_iter()
        .find(|g| call.caller.acts_for(&g.facility_id)))
}

impl AdmissionsApi {
    pub(super) async fn break_glass(
        &self,
        call: &Call,
        req: BreakGlassRequest,
    ) -> Result<BreakGlassResponse, AdmissionsError> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility_id = FacilityId::parse("facility_id", &req.facility_id)?;
        let reason = ids::reason("reason", &req.reason, MAX_REASON)?;
        if reason.chars().count() < MIN_REASON {
            return Err(AdmissionsError::invalid(
                "reason",
                "must describe the emergency in at least 20 characters",
            ));
        }
        self.acting_at(call, &facility_id).await?;
        if patients::find(self.ledger.conn(), patient_id.as_str())
            .await?
            .is_none()
        {
            return Err(self.deny(call, ACTION, patient_id.as_str()).await?);
        }
        let mut work = self.ledger.command(Actor::of(call, ACTION)).await?;
        let claimed = claim(&mut work, patient_id.as_str()).await?;
        let now = Utc::now();
        let expires_at =
            now + chrono::Duration::seconds(i64::from(self.settings.break_glass_seconds));
        let grant_id = uuid::Uuid::now_v7().to_string();
        break_glass_grant::ActiveModel {
            id: Set(grant_id.clone()),
            patient_id: Set(claimed.patient.id.clone()),
            facility_id: Set(facility_id.to_string()),
            granted_to: Set(call.caller.subject().to_owned()),
            reason: Set(reason),
            granted_at: Set(now),
            expires_at: Set(expires_at),
        }
        .insert(work.txn())
        .await?;
        let event = events::BreakGlassAccessGranted {
            patient_id: claimed.patient.id.clone(),
            grant_id: grant_id.clone(),
            facility_id: facility_id.to_string(),
            granted_to: call.caller.subject().to_owned(),
            expires_at: Some(wire::timestamp(expires_at)),
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(Stream::patient(&claimed.patient.id), &event)
            .await?;
        work.audit_access(
            iop_messaging::work::Access::allowed(
                Some(&claimed.patient.id),
                Some(facility_id.as_str()),
            )
            .under_consent(Some(&format!("emergency:{grant_id}"))),
        );
        work.commit().await?;
        tracing::warn!(
            patient_id = %claimed.patient.id,
            facility_id = %facility_id,
            grant_id = %grant_id,
            "break-glass access granted (42 CFR 2.51); for the privacy officer's review"
        );
        Ok(BreakGlassResponse {
            grant_id,
            expires_at: Some(wire::timestamp(expires_at)),
        })
    }
}
