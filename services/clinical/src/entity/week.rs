//! `weeks`: A patient's evaluated week, from scheduling's `WeeklyHoursEvaluated`.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "weeks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub week_start: Date,
    pub facility_id: String,
    /// `iop.scheduling.v1.Compliance` value.
    pub compliance: i32,
    pub attended_minutes: i32,
    pub required_minutes: i32,
    pub level_of_care: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
