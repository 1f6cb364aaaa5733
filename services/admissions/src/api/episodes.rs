//! Episodes of care over gRPC: admission (placement and capacity checked),
//! transfer between facilities within the episode, and discharge.

use chrono::Utc;
use iop_proto::{
    admissions::{
        events::v1 as events,
        v1::{
            AdmitPatientRequest, AdmitPatientResponse, DischargePatientRequest,
            DischargePatientResponse, TransferPatientRequest, TransferPatientResponse,
        },
    },
    common::v1 as common,
};
use iop_runtime::{
    audit::{Outcome, Purpose},
    auth::Caller,
    wire,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{ACTIVE, AdmissionsApi, Claim, DISCHARGED, episode_message, token};
use crate::{domain, entity::episode, error::AdmissionsError};

fn active_of(e: &episode::Model) -> domain::ActiveEpisode<'_> {
    domain::ActiveEpisode {
        facility_id: &e.facility_id,
        program: common::Program::try_from(e.program).unwrap_or_default(),
        admitted_on: e.admitted_on,
    }
}

/// The active episode of a claimed patient, or FAILED_PRECONDITION; the
/// caller must act for the episode's facility.
fn require_active<'a>(
    caller: &Caller,
    claim: &'a Claim,
) -> Result<&'a episode::Model, AdmissionsError> {
    let active = claim
        .active
        .as_ref()
        .ok_or_else(|| AdmissionsError::NotAdmitted {
            patient_id: claim.patient.id.clone(),
        })?;
    if !caller.acts_for(&active.facility_id) {
        return Err(AdmissionsError::PermissionDenied(format!(
            "caller does not act for facility {}, where the episode is",
            active.facility_id
        )));
    }
    Ok(active)
}

impl AdmissionsApi {
    pub(super) async fn admit(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: AdmitPatientRequest,
    ) -> Result<AdmitPatientResponse, AdmissionsError> {
        const ACTION: &str = "admissions.AdmitPatient";
        let admission = domain::admission(
            &req.patient_id,
            &req.facility_id,
            req.program,
            wire::date_parts(req.admitted_on.as_ref()),
            Utc::now().date_naive(),
        )?;
        if !caller.acts_for(&admission.facility_id) {
            return Err(AdmissionsError::PermissionDenied(format!(
                "caller does not act for facility {}",
                admission.facility_id
            )));
        }
        let request_id = domain::request_id(&req.request_id)?;
        if let Some(rid) = &request_id
            && let Some(e) = episode::Entity::find()
                .filter(episode::Column::RequestId.eq(rid))
                .one(self.db.conn())
                .await?
        {
            // A repeat answers as the first call did, but only for the same admission.
            if e.patient_id != admission.patient_id || e.facility_id != admission.facility_id {
                return Err(AdmissionsError::InvalidArgument {
                    field: "request_id",
                    reason: "already used for a different admission".into(),
                });
            }
            self.audit(
                caller,
                ACTION,
                &e.patient_id,
                Some(&e.facility_id),
                purpose,
                Outcome::Allowed,
            )
            .await?;
            return Ok(AdmitPatientResponse {
                consistency_token: token(&e.patient_id, e.sequence),
                episode: Some(episode_message(&e)),
            });
        }

        let claim = self.claim(&admission.patient_id).await?;
        if let Some(active) = &claim.active {
            return Err(AdmissionsError::AlreadyAdmitted {
                patient_id: claim.patient.id.clone(),
                episode_id: active.id.clone(),
            });
        }
        let placed = super::placements::placement_for(
            &*claim.txn,
            &claim.patient.id,
            admission.level_of_care,
        )
        .await?;
        super::facilities::reserve_place(&*claim.txn, &admission.facility_id, admission.program)
            .await?;
        let now = Utc::now();
        let e = episode::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            patient_id: Set(claim.patient.id.clone()),
            facility_id: Set(admission.facility_id.clone()),
            program: Set(admission.program as i32),
            level_of_care: Set(admission.level_of_care as i32),
            admitted_on: Set(admission.admitted_on),
            status: Set(ACTIVE.to_owned()),
            discharge_reason: Set(None),
            discharged_on: Set(None),
            sequence: Set(claim.sequence),
            request_id: Set(request_id),
            created_at: Set(now),
            assessment_id: Set(Some(placed.id.clone())),
        }
        .insert(&*claim.txn)
        .await?;
        let event = events::PatientAdmitted {
            patient_id: claim.patient.id.clone(),
            episode_id: e.id.clone(),
            facility_id: e.facility_id.clone(),
            program: e.program,
            level_of_care: e.level_of_care,
            admitted_on: Some(wire::date(e.admitted_on)),
            occurred_at: Some(wire::timestamp(now)),
            assessment_id: placed.id.clone(),
            age_group: placed.age_group,
            placement_overridden: placed.override_level.is_some(),
        };
        let consistency_token = self
            .commit_change(caller, purpose, ACTION, claim, &e.facility_id, &event)
            .await?;
        Ok(AdmitPatientResponse {
            consistency_token,
            episode: Some(episode_message(&e)),
        })
    }

    pub(super) async fn transfer(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: TransferPatientRequest,
    ) -> Result<TransferPatientResponse, AdmissionsError> {
        let patient_id = domain::patient_id("patient_id", &req.patient_id)?;
        let claim = self.claim(&patient_id).await?;
        let active = require_active(caller, &claim)?;
        let t = domain::transfer(
            active_of(active),
            &req.to_facility_id,
            req.program,
            wire::date_parts(req.transferred_on.as_ref()),
            Utc::now().date_naive(),
        )?;
        // A change of level within the episode needs a placement at the new level.
        if t.level_of_care as i32 != active.level_of_care {
            super::placements::placement_for(&*claim.txn, &patient_id, t.level_of_care).await?;
        }
        super::facilities::reserve_place(&*claim.txn, &t.to_facility_id, t.program).await?;
        let from_facility_id = active.facility_id.clone();
        let mut moved: episode::ActiveModel = active.clone().into();
        moved.facility_id = Set(t.to_facility_id.clone());
        moved.program = Set(t.program as i32);
        moved.level_of_care = Set(t.level_of_care as i32);
        let moved = moved.update(&*claim.txn).await?;
        let event = events::PatientTransferred {
            patient_id: patient_id.clone(),
            episode_id: moved.id.clone(),
            from_facility_id: from_facility_id.clone(),
            to_facility_id: t.to_facility_id.clone(),
            program: moved.program,
            level_of_care: moved.level_of_care,
            transferred_on: Some(wire::date(t.transferred_on)),
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        let consistency_token = self
            .commit_change(
                caller,
                purpose,
                "admissions.TransferPatient",
                claim,
                &from_facility_id,
                &event,
            )
            .await?;
        Ok(TransferPatientResponse {
            consistency_token,
            episode: Some(episode_message(&moved)),
        })
    }

    pub(super) async fn discharge(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: DischargePatientRequest,
    ) -> Result<DischargePatientResponse, AdmissionsError> {
        let patient_id = domain::patient_id("patient_id", &req.patient_id)?;
        let claim = self.claim(&patient_id).await?;
        let active = require_active(caller, &claim)?;
        let d = domain::discharge(
            active_of(active),
            req.reason,
            wire::date_parts(req.discharged_on.as_ref()),
            Utc::now().date_naive(),
        )?;
        let facility_id = active.facility_id.clone();
        let mut closed: episode::ActiveModel = active.clone().into();
        closed.status = Set(DISCHARGED.to_owned());
        closed.discharge_reason = Set(Some(d.reason as i32));
        closed.discharged_on = Set(Some(d.discharged_on));
        let closed = closed.update(&*claim.txn).await?;
        let event = events::PatientDischarged {
            patient_id: patient_id.clone(),
            episode_id: closed.id.clone(),
            facility_id: facility_id.clone(),
            reason: d.reason as i32,
            discharged_on: Some(wire::date(d.discharged_on)),
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        let consistency_token = self
            .commit_change(
                caller,
                purpose,
                "admissions.DischargePatient",
                claim,
                &facility_id,
                &event,
            )
            .await?;
        Ok(DischargePatientResponse {
            episode_id: closed.id,
            consistency_token,
        })
    }
}
