//! First contact at another facility of the network: `LinkPatientToFacility`
//! records who linked the patient where, and why, publishes
//! `PatientLinkedToFacility`, and from then on the facility knows the patient
//! (reads, assessments, admissions). It is the one way a facility comes to
//! know a patient registered elsewhere, so every link is audited and on the
//! patient's stream for the privacy officer to review. A patient known only
//! elsewhere may be named by the opaque reference a registration's duplicate
//! check returned (issued to that facility, for a day) instead of by id.

use chrono::Utc;
use iop_messaging::work::{Access, Actor, Stream};
use iop_proto::{
    admissions::{
        events::v1 as events,
        v1::{LinkPatientToFacilityRequest, LinkPatientToFacilityResponse},
    },
    common::v1::LinkReason,
};
use iop_runtime::{
    grpc::Call,
    ids::{self, FacilityId, PatientId},
    wire,
};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use super::{AdmissionsApi, claim};
use crate::{
    entity::{candidate_reference, facility_link},
    error::AdmissionsError,
    store::patients,
};

const ACTION: &str = "admissions.LinkPatientToFacility";
/// Longest note, in characters.
const MAX_NOTE: usize = 500;

/// How long a candidate reference stays usable.
const REFERENCE_VALID_HOURS: i64 = 24;

impl AdmissionsApi {
    /// The patient a duplicate candidate's `reference` stands for, if it was
    /// issued to `facility` less than a day ago; any other reference is the
    /// same audited PERMISSION_DENIED.
    pub(super) async fn referenced(
        &self,
        call: &Call,
        action: &'static str,
        reference: &str,
        facility: &FacilityId,
    ) -> Result<PatientId, AdmissionsError> {
        if reference.len() > 64 {
            return Err(AdmissionsError::invalid(
                "candidate_reference",
                "must be at most 64 characters",
            ));
        }
        let row = candidate_reference::Entity::find_by_id(reference.to_owned())
            .one(self.ledger.conn())
            .await?;
        let fresh = Utc::now() - chrono::Duration::hours(REFERENCE_VALID_HOURS);
        match row {
            Some(r) if r.facility_id == facility.as_str() && r.issued_at > fresh => {
                Ok(PatientId::from_stored(r.patient_id))
            }
            _ => {
                self.ledger
                    .record_access(
                        &Actor::of(call, action),
                        &[Access::denied(None, Some(facility.as_str()))],
                    )
                    .await?;
                Err(iop_runtime::auth::Denied::PATIENT_NOT_VISIBLE.into())
            }
        }
    }

    pub(super) async fn link_patient(
        &self,
        call: &Call,
        req: LinkPatientToFacilityRequest,
    ) -> Result<LinkPatientToFacilityResponse, AdmissionsError> {
        let facility_id = FacilityId::parse("facility_id", &req.facility_id)?;
        let reason = match LinkReason::try_from(req.reason) {
            Ok(LinkReason::Unspecified) | Err(_) => {
                return Err(AdmissionsError::invalid(
                    "reason",
                    "must say why: present with ID verified, referral or transfer",
                ));
            }
            Ok(r) => r,
        };
        let note = ids::reason("note", &req.note, MAX_NOTE)?;
        self.acting_at(call, &facility_id).await?;
        let patient_id = match (req.patient_id.as_str(), req.candidate_reference.as_str()) {
            (id, "") => PatientId::parse("patient_id", id)?,
            ("", reference) => {
                self.referenced(call, ACTION, reference, &facility_id)
                    .await?
            }
            _ => {
                return Err(AdmissionsError::invalid(
                    "candidate_reference",
                    "give either patient_id or candidate_reference, not both",
                ));
            }
        };
        let db = self.ledger.conn();
        if patients::find(db, patient_id.as_str()).await?.is_none() {
            // Linking is how a facility comes to know a patient, so the caller
            // need not know them yet; an id that names nobody is refused like
            // any other denial, without saying so.
            return Err(self.deny(call, ACTION, patient_id.as_str()).await?);
        }
        let mut work = self.ledger.command(Actor::of(call, ACTION)).await?;
        let claimed = claim(&mut work, patient_id.as_str()).await?;
        let known = patients::known_at(work.txn(), &claimed.patient).await?;
        let stream = Stream::patient(&claimed.patient.id);
        let sequence = if known.iter().any(|f| f == facility_id.as_str()) {
            // Already known there: nothing to link; the read is audited below.
            work.lock(stream).await?
        } else {
            let now = Utc::now();
            facility_link::ActiveModel {
                patient_id: Set(claimed.patient.id.clone()),
                facility_id: Set(facility_id.to_string()),
                reason: Set(reason as i32),
                note: Set(Some(note)),
                linked_by: Set(call.caller.subject().to_owned()),
                linked_at: Set(now),
            }
            .insert(work.txn())
            .await?;
            let event = events::PatientLinkedToFacility {
                patient_id: claimed.patient.id.clone(),
                facility_id: facility_id.to_string(),
                reason: reason as i32,
                linked_by: call.caller.subject().to_owned(),
                occurred_at: Some(wire::timestamp(now)),
            };
            work.emit(stream, &event).await?
        };
        tracing::info!(
            patient_id = %claimed.patient.id,
            facility_id = %facility_id,
            reason = reason.as_str_name(),
            "patient linked to a facility"
        );
        work.audit(Some(&claimed.patient.id), Some(facility_id.as_str()));
        work.commit().await?;
        Ok(LinkPatientToFacilityResponse {
            consistency_token: self.token(&claimed.patient.id, sequence),
        })
    }
}
