//! Screening and level-of-care placement over gRPC: an assessment runs the
//! versioned placement function and stores input and recommendation; a
//! clinician may override it with a justification. Admission and level changes
//! ask [`placement_for`] whether the patient's latest placement is at the level.

use chrono::Utc;
use iop_proto::{
    admissions::{
        events::v1 as events,
        v1::{
            Assessment, OverridePlacementRequest, OverridePlacementResponse, PlacementOverride,
            RecordAssessmentRequest, RecordAssessmentResponse,
        },
    },
    common::v1::{self as common, LevelOfCare},
};
use iop_runtime::{audit::Purpose, auth::Caller, wire};
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::AdmissionsApi;
use crate::{
    assessment as convert, domain,
    entity::{assessment, facility},
    error::AdmissionsError,
    placement,
};

fn level_name(level: i32) -> &'static str {
    LevelOfCare::try_from(level).map_or("an unknown level", |l| l.as_str_name())
}

/// The patient's latest assessment, if it places them at `level` (its
/// recommendation, or the level an override chose); FAILED_PRECONDITION
/// otherwise, saying what the placement is.
pub(super) async fn placement_for<C: ConnectionTrait>(
    txn: &C,
    patient_id: &str,
    level: LevelOfCare,
) -> Result<assessment::Model, AdmissionsError> {
    let latest = assessment::Entity::find()
        .filter(assessment::Column::PatientId.eq(patient_id))
        .order_by_desc(assessment::Column::AssessedAt)
        .order_by_desc(assessment::Column::Id)
        .one(txn)
        .await?
        .ok_or_else(|| {
            AdmissionsError::Precondition(format!(
                "patient {patient_id} has no screening assessment; record one before admission"
            ))
        })?;
    let placed = latest.override_level.unwrap_or(latest.recommended_level);
    if placed != level as i32 {
        return Err(AdmissionsError::Precondition(format!(
            "latest assessment {} places patient {patient_id} at {}, not the program's {}; \
             a clinician may override it with a justification",
            latest.id,
            level_name(placed),
            level.as_str_name()
        )));
    }
    Ok(latest)
}

fn assessment_message(a: &assessment::Model) -> Assessment {
    Assessment {
        assessment_id: a.id.clone(),
        patient_id: a.patient_id.clone(),
        facility_id: a.facility_id.clone(),
        input: common::AssessmentInput::decode(a.input.as_slice()).ok(),
        recommendation: common::PlacementRecommendation::decode(a.recommendation.as_slice()).ok(),
        assessed_by: a.assessed_by.clone(),
        assessed_at: Some(wire::timestamp(a.assessed_at)),
        r#override: a.override_level.map(|chosen| PlacementOverride {
            chosen,
            justification: a.override_justification.clone().unwrap_or_default(),
            clinician_id: a.overridden_by.clone().unwrap_or_default(),
            overridden_at: a.overridden_at.map(wire::timestamp),
        }),
    }
}

impl AdmissionsApi {
    pub(super) async fn record_assessment(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: RecordAssessmentRequest,
    ) -> Result<RecordAssessmentResponse, AdmissionsError> {
        let patient_id = domain::patient_id("patient_id", &req.patient_id)?;
        let facility_id = domain::facility_id("facility_id", &req.facility_id)?;
        if !caller.acts_for(&facility_id) {
            return Err(AdmissionsError::PermissionDenied(format!(
                "caller does not act for facility {facility_id}"
            )));
        }
        if facility::Entity::find_by_id(&facility_id)
            .one(self.db.conn())
            .await?
            .is_none()
        {
            return Err(AdmissionsError::NotFound {
                what: "facility",
                id: facility_id,
            });
        }
        let claim = self.claim(&patient_id).await?;
        let now = Utc::now();
        let derived = convert::age_group_on(claim.patient.date_of_birth, now.date_naive());
        let input = convert::input(req.input.as_ref(), derived)?;
        let recommendation = placement::recommend(&input)?;
        let input_message = convert::input_message(&input);
        let recommendation_message = convert::recommendation_message(&recommendation);
        let stored = assessment::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            patient_id: Set(patient_id.clone()),
            facility_id: Set(facility_id.clone()),
            input: Set(input_message.encode_to_vec()),
            recommendation: Set(recommendation_message.encode_to_vec()),
            recommended_level: Set(recommendation.level as i32),
            rules_version: Set(recommendation.rules_version.to_owned()),
            age_group: Set(input_message.age_group),
            assessed_by: Set(caller.subject().to_owned()),
            assessed_at: Set(now),
            override_level: Set(None),
            override_justification: Set(None),
            overridden_by: Set(None),
            overridden_at: Set(None),
        }
        .insert(&*claim.txn)
        .await?;
        let event = events::PlacementRecommended {
            patient_id: patient_id.clone(),
            assessment_id: stored.id.clone(),
            facility_id: facility_id.clone(),
            input: Some(input_message),
            recommendation: Some(recommendation_message),
            assessed_by: stored.assessed_by.clone(),
            occurred_at: Some(wire::timestamp(now)),
        };
        let consistency_token = self
            .commit_change(
                caller,
                purpose,
                "admissions.RecordAssessment",
                claim,
                &facility_id,
                &event,
            )
            .await?;
        Ok(RecordAssessmentResponse {
            assessment: Some(assessment_message(&stored)),
            consistency_token,
        })
    }

    pub(super) async fn override_placement(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: OverridePlacementRequest,
    ) -> Result<OverridePlacementResponse, AdmissionsError> {
        let assessment_id = uuid::Uuid::parse_str(&req.assessment_id)
            .map_err(|_| AdmissionsError::InvalidArgument {
                field: "assessment_id",
                reason: "must be a UUID".into(),
            })?
            .to_string();
        let found = assessment::Entity::find_by_id(&assessment_id)
            .one(self.db.conn())
            .await?
            .ok_or_else(|| AdmissionsError::NotFound {
                what: "assessment",
                id: assessment_id.clone(),
            })?;
        if !caller.acts_for(&found.facility_id) {
            return Err(AdmissionsError::PermissionDenied(format!(
                "caller does not act for facility {}, where the assessment was made",
                found.facility_id
            )));
        }
        if found.override_level.is_some() {
            return Err(AdmissionsError::Precondition(format!(
                "assessment {assessment_id} was already overridden; record a new assessment"
            )));
        }
        if found.rules_version != placement::PLACEMENT_RULES_VERSION {
            return Err(AdmissionsError::Precondition(format!(
                "assessment {assessment_id} was placed under rules {}; record a new assessment",
                found.rules_version
            )));
        }
        let stored_input = common::AssessmentInput::decode(found.input.as_slice())
            .map_err(|e| AdmissionsError::Storage(sea_orm::DbErr::Custom(e.to_string())))?;
        let input = convert::input(Some(&stored_input), placement::AgeGroup::Adult)?;
        let recommended = placement::recommend(&input)?;
        let chosen =
            LevelOfCare::try_from(req.chosen).map_err(|_| AdmissionsError::InvalidArgument {
                field: "chosen",
                reason: "is not a known level of care".into(),
            })?;
        let decided = placement::override_placement(
            &recommended,
            chosen,
            &req.justification,
            caller.subject(),
        )?;
        let claim = self.claim(&found.patient_id).await?;
        let now = Utc::now();
        let mut row: assessment::ActiveModel = found.clone().into();
        row.override_level = Set(Some(decided.chosen as i32));
        row.override_justification = Set(Some(decided.justification.clone()));
        row.overridden_by = Set(Some(decided.clinician_id.clone()));
        row.overridden_at = Set(Some(now));
        let updated = row.update(&*claim.txn).await?;
        let event = events::PlacementOverridden {
            patient_id: updated.patient_id.clone(),
            assessment_id: updated.id.clone(),
            recommended: recommended.level as i32,
            chosen: decided.chosen as i32,
            justification: decided.justification,
            clinician_id: decided.clinician_id,
            occurred_at: Some(wire::timestamp(now)),
        };
        let consistency_token = self
            .commit_change(
                caller,
                purpose,
                "admissions.OverridePlacement",
                claim,
                &updated.facility_id,
                &event,
            )
            .await?;
        Ok(OverridePlacementResponse {
            assessment: Some(assessment_message(&updated)),
            consistency_token,
        })
    }
}
