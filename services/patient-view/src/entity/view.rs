//! `patient_views`: one folded row per patient.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "patient_views")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    pub mrn: String,
    pub given_name: String,
    pub middle_name: String,
    pub family_name: String,
    pub preferred_name: String,
    pub date_of_birth: Option<Date>,
    pub registered_facility_id: String,
    /// CareStatus value.
    pub status: i32,
    pub episode_id: Option<String>,
    pub facility_id: Option<String>,
    pub program: i32,
    pub level_of_care: i32,
    pub admitted_on: Option<Date>,
    pub updated_at: DateTimeUtc,
    /// The survivor, once this record was merged into it.
    pub merged_into: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
