//! `episodes`: An episode of care, from admissions' events: its facility, level, and the day its level last changed.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "episodes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub episode_id: String,
    pub patient_id: String,
    pub facility_id: String,
    /// `iop.common.v1.LevelOfCare` value.
    pub level_of_care: i32,
    pub admitted_on: Date,
    pub active: bool,
    pub discharged_on: Option<Date>,
    /// When a transfer last changed the level (a plan review is due).
    pub level_changed_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
