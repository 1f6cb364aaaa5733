//! `episodes`: one row per episode of care.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "episodes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub episode_id: String,
    pub patient_id: String,
    /// A random UUID: the episode's name on the analytics stream.
    pub pseudonym: String,
    /// Its first day (never published: days are counted from it).
    pub started_on: Date,
    pub facility_id: String,
    /// `iop.common.v1.LevelOfCare`.
    pub level_of_care: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
