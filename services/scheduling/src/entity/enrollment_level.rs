//! `enrollment_levels`: an episode's level of care from the day it took effect.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollment_levels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub episode_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub effective_on: Date,
    /// `iop.common.v1.LevelOfCare` value.
    pub level_of_care: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
