//! `enrollments`: One enrollment per episode of care, opened by admissions' `PatientAdmitted`.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub episode_id: String,
    pub patient_id: String,
    pub facility_id: String,
    /// `iop.common.v1.Program` value.
    pub program: i32,
    /// `iop.common.v1.LevelOfCare` value.
    pub level_of_care: i32,
    /// `iop.common.v1.AgeGroup` value.
    pub age_group: i32,
    pub admitted_on: Date,
    pub active: bool,
    pub discharged_on: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
