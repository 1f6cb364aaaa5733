//! `assessments`: screenings with their placement.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assessments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub facility_id: String,
    /// `iop.common.v1.AssessmentInput`, encoded.
    pub input: Vec<u8>,
    /// `iop.common.v1.PlacementRecommendation`, encoded.
    pub recommendation: Vec<u8>,
    pub recommended_level: i32,
    pub rules_version: String,
    pub age_group: i32,
    pub assessed_by: String,
    pub assessed_at: DateTimeUtc,
    pub override_level: Option<i32>,
    pub override_justification: Option<String>,
    pub overridden_by: Option<String>,
    pub overridden_at: Option<DateTimeUtc>,
    /// `iop.common.v1.OverrideReason` value of the override.
    pub override_reason: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
