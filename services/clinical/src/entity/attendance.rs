//! `attendance`: Who attended a session, from scheduling's `AttendanceRecorded`.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attendance")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    pub facility_id: String,
    /// `iop.scheduling.v1.SessionType` value.
    pub session_type: i32,
    /// `iop.scheduling.v1.AttendanceStatus` value.
    pub status: i32,
    pub minutes: i32,
    pub service_date: Date,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
