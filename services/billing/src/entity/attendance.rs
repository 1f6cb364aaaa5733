//! `attendance`: A patient's attendance at a session, from scheduling's `AttendanceRecorded` (a correction replaces it).

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
    /// Facility-local.
    pub service_date: Date,
    /// `iop.scheduling.v1.SessionType` value.
    pub session_type: i32,
    pub minutes: i32,
    pub clinical: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
