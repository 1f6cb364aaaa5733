//! `pending_attendance`: an attendance record waiting for its episode.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pending_attendance")]
pub struct Model {
    /// The source event's id: kept once however often it is delivered.
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    pub patient_id: String,
    pub service_date: Date,
    /// The `AttendanceRecorded` as received.
    pub payload: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
