//! `tracks`: A recurring track of sessions at a facility.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tracks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub facility_id: String,
    pub name: String,
    /// `iop.common.v1.Program` value.
    pub program: i32,
    /// ISO weekday numbers (1 = Monday), comma-separated.
    pub weekdays: String,
    /// Minutes after local midnight.
    pub start_minute: i32,
    pub end_minute: i32,
    /// `iop.scheduling.v1.SessionType` value.
    pub session_type: i32,
    pub capacity: i32,
    pub facilitator_id: String,
    pub room: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
