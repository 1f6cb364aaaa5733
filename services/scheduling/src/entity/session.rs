//! `sessions`: A session: times stored as UTC instants beside the facility-local date and minutes.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub facility_id: String,
    pub track_id: Option<String>,
    /// `iop.scheduling.v1.SessionType` value.
    pub session_type: i32,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub local_date: Date,
    pub local_start_minute: i32,
    pub local_end_minute: i32,
    pub facilitator_id: String,
    pub room: String,
    pub capacity: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
