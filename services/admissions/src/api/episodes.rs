//! Episodes of care over gRPC: admission (placement and capacity checked),
//! transfer between facilities within the episode, and discharge.

use chrono::Utc;
use iop_messaging::work::{Access, Actor, Stream, UnitOfWork};
use iop_proto::{
    admissions::{
        events::v1 as events,
        v1::{
            AdmitPatientRequest, AdmitPatientResponse, DischargePatientRequest,
            DischargePatientResponse, TransferPatientRequest, TransferPatientResponse,
        },
    },
    common::v1::Program,
};
use iop_runtime::{
    grpc::Call,
    ids::{self, EpisodeId, FacilityId, PatientId},
    wire,
};
use sea_orm::Set;

use super::{AdmissionsApi, Claimed, claim, convert::episode_message};
use crate::{
    entity::episode::{self, EpisodeStatus},
    episode as rules,
    error::AdmissionsError,
    store::{episodes, facilities},
};

/// The program of a stored episode, or a broken invariant.
fn program_of(e: &episode::Model) -> Result<Program, AdmissionsError> {
    Program::try_from(e.program).map_err(|_| AdmissionsError::Corrupt {
        what: format!("program of episode {}", e.id),
    })
}

/// The active episode of a claimed patient; the caller must act for its facility.
fn require_active<'a>(
    call: &Call,
    claimed: &'a Claimed,
) -> Result<&'a episode::Model, AdmissionsError> {
    let active = claimed
        .active
        .as_ref()
        .ok_or_else(|| AdmissionsError::NotAdmitted {
            patient_id: claimed.patient.id.clone(),
        })?;
    call.caller.require_facility(&active.facility_id)?;
    Ok(active)
}

/// The episode a change applies to, in the rules' terms.
fn active_of(e: &episode::Model) -> Result<rules::ActiveEpisode<'_>, AdmissionsError> {
    Ok(rules::ActiveEpisode {
        facility_id: &e.facility_id,
        program: program_of(e)?,
        admitted_on: e.admitted_on,
    })
}

impl AdmissionsApi {
    /// The access rule for a transfer or discharge: the caller may change the
    /// patient, and acts for the facility of the active episode. Both refusals
    /// are the same audited PERMISSION_DENIED. (Under the stream's lock the
    /// episode is read again; see [`require_active`].)
    async fn authorize_episode_change(
        &self,
        call: &Call,
        action: &'static str,
        patient_id: &PatientId,
    ) -> Result<(), AdmissionsError> {
        self.authorize_write(call, action, patient_id, None).await?;
        if let Some(active) = episodes::active(self.ledger.conn(), patient_id.as_str()).await?
            && !call.caller.acts_for(&active.facility_id)
        {
            return Err(self.deny(call, action, patient_id.as_str()).await?);
        }
        Ok(())
    }

    pub(super) async fn admit(
        &self,
        call: &Call,
        req: AdmitPatientRequest,
    ) -> Result<AdmitPatientResponse, AdmissionsError> {
        const ACTION: &str = "admissions.AdmitPatient";
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility_id = FacilityId::parse("facility_id", &req.facility_id)?;
        let program = rules::program("program", req.program)?;
        let on = wire::optional_date("admitted_on", req.admitted_on.as_ref())?;
        call.caller.require_facility(facility_id.as_str())?;
        let today = super::today_at(self.ledger.conn(), facility_id.as_str()).await?;
        let admission = rules::admission(program, on, today)?;
        let request_id = ids::request_id(&req.request_id)?;
        if let Some(rid) = &request_id
            && let Some(e) = episodes::by_request_id(self.ledger.conn(), rid).await?
        {
            // A repeat answers as the first call did, but only for the same admission.
            if e.patient_id != patient_id.as_str() || e.facility_id != facility_id.as_str() {
                return Err(AdmissionsError::invalid(
                    "request_id",
                    "already used for a different admission",
                ));
            }
            self.ledger
                .record_access(
                    &Actor::of(call, ACTION),
                    &[Access::allowed(Some(&e.patient_id), Some(&e.facility_id))],
                )
                .await?;
            return Ok(AdmitPatientResponse {
                consistency_token: self.token(&e.patient_id, e.sequence),
                episode: Some(episode_message(&e)),
            });
        }

        self.authorize_write(call, ACTION, &patient_id, Some(facility_id.as_str()))
            .await?;
        let mut work = self.ledger.command(Actor::of(call, ACTION)).await?;
        let claimed = claim(&mut work, patient_id.as_str()).await?;
        if claimed.active.is_some() {
            return Err(AdmissionsError::AlreadyAdmitted {
                patient_id: claimed.patient.id.clone(),
            });
        }
        // Episodes never share a day, whichever facility or merged record
        // the earlier one belongs to (a merge moved its episodes here).
        let last_day = episodes::last_ended(work.txn(), &claimed.patient.id)
            .await?
            .and_then(|e| e.discharged_on);
        if let Some(last_day) = rules::overlapping_episode(admission.admitted_on, last_day) {
            return Err(AdmissionsError::EpisodeOverlap {
                admitted_on: admission.admitted_on,
                last_day,
            });
        }
        let placed = super::placements::placement_for(
            work.txn(),
            &claimed.patient.id,
            facility_id.as_str(),
            admission.level_of_care,
            self.settings.placement_valid_days,
        )
        .await?;
        facilities::reserve_place(work.txn(), facility_id.as_str(), admission.program).await?;
        let now = Utc::now();
        let episode_id = EpisodeId::generate();
        let event = events::PatientAdmitted {
            patient_id: claimed.patient.id.clone(),
            episode_id: episode_id.to_string(),
            facility_id: facility_id.to_string(),
            program: admission.program as i32,
            level_of_care: admission.level_of_care as i32,
            admitted_on: Some(wire::date(admission.admitted_on)),
            occurred_at: Some(wire::timestamp(now)),
            assessment_id: placed.id.clone(),
            age_group: placed.age_group,
            placement_overridden: placed.override_level.is_some(),
        };
        let sequence = work
            .emit(Stream::patient(&claimed.patient.id), &event)
            .await?;
        let e = episodes::insert(
            work.txn(),
            episode::ActiveModel {
                id: Set(episode_id.into_string()),
                patient_id: Set(claimed.patient.id.clone()),
                facility_id: Set(facility_id.to_string()),
                program: Set(admission.program as i32),
                level_of_care: Set(admission.level_of_care as i32),
                admitted_on: Set(admission.admitted_on),
                status: Set(EpisodeStatus::Active),
                discharge_reason: Set(None),
                discharged_on: Set(None),
                sequence: Set(sequence),
                request_id: Set(request_id),
                created_at: Set(now),
                assessment_id: Set(Some(placed.id.clone())),
                discharged_at: Set(None),
            },
        )
        .await?;
        work.audit(Some(&e.patient_id), Some(&e.facility_id));
        work.commit().await?;
        Ok(AdmitPatientResponse {
            consistency_token: self.token(&e.patient_id, sequence),
            episode: Some(episode_message(&e)),
        })
    }

    pub(super) async fn transfer(
        &self,
        call: &Call,
        req: TransferPatientRequest,
    ) -> Result<TransferPatientResponse, AdmissionsError> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let to = FacilityId::parse("to_facility_id", &req.to_facility_id)?;
        let program = match req.program {
            0 => None,
            p => Some(
                Program::try_from(p)
                    .map_err(|_| AdmissionsError::invalid("program", "is not a known program"))?,
            ),
        };
        let on = wire::optional_date("transferred_on", req.transferred_on.as_ref())?;
        const ACTION: &str = "admissions.TransferPatient";
        self.authorize_episode_change(call, ACTION, &patient_id)
            .await?;
        let mut work = self.ledger.command(Actor::of(call, ACTION)).await?;
        let claimed = claim(&mut work, patient_id.as_str()).await?;
        let active = require_active(call, &claimed)?;
        let today = super::today_at(work.txn(), to.as_str()).await?;
        let t = rules::transfer(active_of(active)?, to, program, on, today)?;
        // A change of level within the episode needs a placement at the new level.
        if t.level_of_care as i32 != active.level_of_care {
            super::placements::placement_for(
                work.txn(),
                patient_id.as_str(),
                t.to_facility_id.as_str(),
                t.level_of_care,
                self.settings.placement_valid_days,
            )
            .await?;
        }
        facilities::reserve_place(work.txn(), t.to_facility_id.as_str(), t.program).await?;
        let from_facility_id = active.facility_id.clone();
        let mut moved: episode::ActiveModel = active.clone().into();
        moved.facility_id = Set(t.to_facility_id.to_string());
        moved.program = Set(t.program as i32);
        moved.level_of_care = Set(t.level_of_care as i32);
        let moved = episodes::update(work.txn(), moved).await?;
        let event = events::PatientTransferred {
            patient_id: patient_id.to_string(),
            episode_id: moved.id.clone(),
            from_facility_id: from_facility_id.clone(),
            to_facility_id: t.to_facility_id.to_string(),
            program: moved.program,
            level_of_care: moved.level_of_care,
            transferred_on: Some(wire::date(t.transferred_on)),
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        let sequence = work
            .emit(Stream::patient(patient_id.as_str()), &event)
            .await?;
        work.audit(Some(patient_id.as_str()), Some(&from_facility_id));
        work.commit().await?;
        Ok(TransferPatientResponse {
            consistency_token: self.token(patient_id.as_str(), sequence),
            episode: Some(episode_message(&moved)),
        })
    }

    pub(super) async fn discharge(
        &self,
        call: &Call,
        req: DischargePatientRequest,
    ) -> Result<DischargePatientResponse, AdmissionsError> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let on = wire::optional_date("discharged_on", req.discharged_on.as_ref())?;
        const ACTION: &str = "admissions.DischargePatient";
        self.authorize_episode_change(call, ACTION, &patient_id)
            .await?;
        let mut work = self.ledger.command(Actor::of(call, ACTION)).await?;
        let claimed = claim(&mut work, patient_id.as_str()).await?;
        let active = require_active(call, &claimed)?;
        let today = super::today_at(work.txn(), &active.facility_id).await?;
        let d = rules::discharge(active_of(active)?, req.reason, on, today)?;
        let facility_id = active.facility_id.clone();
        let (closed, sequence) = close(&mut work, active, d).await?;
        work.audit(Some(patient_id.as_str()), Some(&facility_id));
        work.commit().await?;
        Ok(DischargePatientResponse {
            episode_id: closed.id,
            consistency_token: self.token(patient_id.as_str(), sequence),
        })
    }
}

/// Ends `active` as `d` says and publishes `PatientDischarged`: the one way
/// an episode closes, whether a caller discharges or a clinician's
/// level-of-care decision does ([`crate::decisions`]). Returns the closed
/// episode and the event's sequence.
pub(crate) async fn close(
    work: &mut UnitOfWork,
    active: &episode::Model,
    d: rules::Discharge,
) -> Result<(episode::Model, i64), AdmissionsError> {
    let mut closed: episode::ActiveModel = active.clone().into();
    closed.status = Set(EpisodeStatus::Discharged);
    closed.discharge_reason = Set(Some(d.reason as i32));
    closed.discharged_on = Set(Some(d.discharged_on));
    closed.discharged_at = Set(Some(Utc::now()));
    let closed = episodes::update(work.txn(), closed).await?;
    let event = events::PatientDischarged {
        patient_id: closed.patient_id.clone(),
        episode_id: closed.id.clone(),
        facility_id: closed.facility_id.clone(),
        reason: d.reason as i32,
        discharged_on: Some(wire::date(d.discharged_on)),
        occurred_at: Some(wire::timestamp(Utc::now())),
    };
    let sequence = work
        .emit(Stream::patient(&closed.patient_id), &event)
        .await?;
    Ok((closed, sequence))
}

/// The episode a change applies to, in the rules' terms (for event handlers).
pub(crate) fn active_episode(
    e: &episode::Model,
) -> Result<rules::ActiveEpisode<'_>, AdmissionsError> {
    active_of(e)
}
