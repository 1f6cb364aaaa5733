//! `episode_spans`: Where and at which level a patient was in care, day by day: one row per facility and level of an episode (admissions' admit, transfer and discharge).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "episode_spans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub episode_id: String,
    pub patient_id: String,
    pub facility_id: String,
    /// `iop.common.v1.LevelOfCare` value.
    pub level_of_care: i32,
    pub from_date: Date,
    /// Last day in care; open while in care.
    pub to_date: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
