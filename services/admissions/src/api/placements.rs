//! Screening and level-of-care placement over gRPC: an assessment runs the
//! versioned placement function and stores input and recommendation; a
//! clinician may override it with a justification. Admission and level changes
//! ask [`placement_for`] whether the patient's latest placement at the
//! facility is at the level: an assessment at one facility never replaces the
//! placement an admission at another relies on.

use chrono::Utc;
use iop_messaging::work::{Access, Actor, Stream};
use iop_proto::{
    admissions::{
        events::v1 as events,
        v1::{
            OverridePlacementRequest, OverridePlacementResponse, RecordAssessmentRequest,
            RecordAssessmentResponse,
        },
    },
    common::v1::{self as common, LevelOfCare},
};
use iop_runtime::{
    auth::Role,
    grpc::Call,
    ids::{AssessmentId, FacilityId, PatientId},
    wire,
};
use prost::Message;
use sea_orm::{ConnectionTrait, Set};

use super::{AdmissionsApi, claim, convert::assessment_message};
use crate::{entity::assessment, error::AdmissionsError, placement, screening, store::assessments};

fn level_name(level: i32) -> &'static str {
    LevelOfCare::try_from(level).map_or("an unknown level", |l| l.as_str_name())
}

/// The patient's latest assessment at `facility_id`, if it places them at
/// `level` (its recommendation, or the level an override chose) and is fresh:
/// made after the patient's last discharge and at most `valid_days` days old
/// (days at the facility). FAILED_PRECONDITION otherwise, saying what the
/// placement is or why it is stale.
pub(super) async fn placement_for<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    facility_id: &str,
    level: LevelOfCare,
    valid_days: u32,
) -> Result<assessment::Model, AdmissionsError> {
    let latest = assessments::latest(db, patient_id, facility_id)
        .await?
        .ok_or_else(|| AdmissionsError::NotPlaced {
            why: format!(
                "patient {patient_id} has no screening assessment at {facility_id}; \
                 record one before admission"
            ),
        })?;
    let zone = super::zone_of(db, facility_id).await?;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let assessed_on = latest.assessed_at.with_timezone(&zone).date_naive();
    let discharged = crate::store::episodes::last_ended(db, patient_id)
        .await?
        .and_then(|e| e.discharged_on.map(|day| (day, e.discharged_at)));
    if let Some(why) = crate::episode::stale_assessment(
        latest.assessed_at,
        assessed_on,
        discharged,
        today,
        valid_days,
    ) {
        return Err(AdmissionsError::NotPlaced {
            why: format!(
                "latest assessment {} at {facility_id} cannot place patient {patient_id}: {why}",
                latest.id
            ),
        });
    }
    let placed = latest.override_level.unwrap_or(latest.recommended_level);
    if placed != level as i32 {
        return Err(AdmissionsError::NotPlaced {
            why: format!(
                "latest assessment {} places patient {patient_id} at {}, not the program's {}; \
             a clinician may override it with a justification",
                latest.id,
                level_name(placed),
                level.as_str_name()
            ),
        });
    }
    Ok(latest)
}

impl AdmissionsApi {
    pub(super) async fn record_assessment(
        &self,
        call: &Call,
        req: RecordAssessmentRequest,
    ) -> Result<RecordAssessmentResponse, AdmissionsError> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility_id = FacilityId::parse("facility_id", &req.facility_id)?;
        self.acting_at(call, &facility_id).await?;
        // The patient must be known at the facility assessing them: a first
        // contact there is linked first (LinkPatientToFacility), and audited.
        const ACTION: &str = "admissions.RecordAssessment";
        self.authorize_write(call, ACTION, &patient_id, Some(facility_id.as_str()))
            .await?;
        let mut work = self.ledger.command(Actor::of(call, ACTION)).await?;
        let claimed = claim(&mut work, patient_id.as_str()).await?;
        let now = Utc::now();
        let today = super::today_at(work.txn(), facility_id.as_str()).await?;
        let derived = screening::age_group_on(claimed.patient.date_of_birth, today);
        let input = screening::input(req.input.as_ref(), derived)?;
        let recommendation = placement::recommend(&input)?;
        let input_message = screening::input_message(&input);
        let recommendation_message = screening::recommendation_message(&recommendation);
        let stored = assessments::insert(
            work.txn(),
            assessment::ActiveModel {
                id: Set(AssessmentId::generate().into_string()),
                patient_id: Set(patient_id.to_string()),
                facility_id: Set(facility_id.to_string()),
                input: Set(input_message.encode_to_vec()),
                recommendation: Set(recommendation_message.encode_to_vec()),
                recommended_level: Set(recommendation.level as i32),
                rules_version: Set(recommendation.rules_version.to_owned()),
                age_group: Set(input_message.age_group),
                assessed_by: Set(call.caller.subject().to_owned()),
                assessed_at: Set(now),
                override_level: Set(None),
                override_justification: Set(None),
                overridden_by: Set(None),
                overridden_at: Set(None),
                override_reason: Set(None),
            },
        )
        .await?;
        let event = events::PlacementRecommended {
            patient_id: patient_id.to_string(),
            assessment_id: stored.id.clone(),
            facility_id: facility_id.to_string(),
            input: Some(input_message),
            recommendation: Some(recommendation_message),
            assessed_by: stored.assessed_by.clone(),
            occurred_at: Some(wire::timestamp(now)),
        };
        let sequence = work
            .emit(Stream::patient(patient_id.as_str()), &event)
            .await?;
        work.audit(Some(patient_id.as_str()), Some(facility_id.as_str()));
        work.commit().await?;
        Ok(RecordAssessmentResponse {
            assessment: Some(assessment_message(&stored)),
            consistency_token: self.token(patient_id.as_str(), sequence),
        })
    }

    pub(super) async fn override_placement(
        &self,
        call: &Call,
        req: OverridePlacementRequest,
    ) -> Result<OverridePlacementResponse, AdmissionsError> {
        let assessment_id = AssessmentId::parse("assessment_id", &req.assessment_id)?;
        // An unknown id is refused like another facility's assessment.
        let found = assessments::find(self.ledger.conn(), assessment_id.as_str())
            .await?
            .ok_or(iop_runtime::auth::Denied::UNKNOWN_REFERENCE)?;
        call.caller.require_facility(&found.facility_id)?;
        if found.override_level.is_some() {
            return Err(AdmissionsError::WrongState {
                why: format!(
                    "assessment {assessment_id} was already overridden; record a new assessment"
                ),
            });
        }
        if found.rules_version != placement::PLACEMENT_RULES_VERSION {
            return Err(AdmissionsError::WrongState {
                why: format!(
                    "assessment {assessment_id} was placed under rules {}; record a new assessment",
                    found.rules_version
                ),
            });
        }
        let stored_input =
            common::AssessmentInput::decode(found.input.as_slice()).map_err(|_| {
                AdmissionsError::Corrupt {
                    what: format!("input of assessment {assessment_id}"),
                }
            })?;
        // The recommendation as it was made: the stored input under the
        // thresholds it recorded.
        let stored_recommendation =
            common::PlacementRecommendation::decode(found.recommendation.as_slice()).ok();
        let thresholds = (stored_recommendation.as_ref())
            .and_then(|r| r.thresholds.as_ref())
            .and_then(screening::thresholds_of)
            .ok_or_else(|| AdmissionsError::Corrupt {
                what: format!("recommendation of assessment {assessment_id}"),
            })?;
        let input = screening::input(Some(&stored_input), placement::AgeGroup::Adult)?;
        let recommended = placement::recommend_with(&input, &thresholds)?;
        let chosen = LevelOfCare::try_from(req.chosen)
            .map_err(|_| AdmissionsError::invalid("chosen", "is not a known level of care"))?;
        let reason = placement::OverrideReason::try_from(req.reason)
            .map_err(|_| AdmissionsError::invalid("reason", "is not a known override reason"))?;
        let medical_director = call.caller.has_any_role(&[Role::MedicalDirector]);
        let decided = match placement::override_placement(
            &recommended,
            chosen,
            reason,
            &req.justification,
            call.caller.subject(),
            medical_director,
        ) {
            Ok(decided) => decided,
            Err(e @ placement::PlacementError::NeedsMedicalDirector { .. }) => {
                // A refusal of the caller's authority: audited like any other.
                let denied = Access::denied(Some(&found.patient_id), Some(&found.facility_id));
                self.ledger
                    .record_access(&Actor::of(call, "admissions.OverridePlacement"), &[denied])
                    .await?;
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        let mut work = self
            .ledger
            .command(Actor::of(call, "admissions.OverridePlacement"))
            .await?;
        claim(&mut work, &found.patient_id).await?;
        let now = Utc::now();
        let mut row: assessment::ActiveModel = found.clone().into();
        row.override_level = Set(Some(decided.chosen as i32));
        row.override_justification = Set(Some(decided.justification.clone()));
        row.override_reason = Set(Some(decided.reason as i32));
        row.overridden_by = Set(Some(decided.clinician_id.clone()));
        row.overridden_at = Set(Some(now));
        let updated = assessments::update(work.txn(), row).await?;
        let event = events::PlacementOverridden {
            patient_id: updated.patient_id.clone(),
            assessment_id: updated.id.clone(),
            recommended: recommended.level as i32,
            chosen: decided.chosen as i32,
            justification: decided.justification,
            clinician_id: decided.clinician_id,
            occurred_at: Some(wire::timestamp(now)),
            reason: decided.reason as i32,
        };
        let sequence = work
            .emit(Stream::patient(&updated.patient_id), &event)
            .await?;
        work.audit(Some(&updated.patient_id), Some(&updated.facility_id));
        work.commit().await?;
        Ok(OverridePlacementResponse {
            assessment: Some(assessment_message(&updated)),
            consistency_token: self.token(&updated.patient_id, sequence),
        })
    }
}
