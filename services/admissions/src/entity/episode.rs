//! `episodes`: episodes of care (admission to discharge).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

/// Whether the episode is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum EpisodeStatus {
    /// Admitted, not discharged.
    #[sea_orm(string_value = "active")]
    Active,
    /// Ended.
    #[sea_orm(string_value = "discharged")]
    Discharged,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "episodes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub facility_id: String,
    pub program: i32,
    pub level_of_care: i32,
    pub admitted_on: Date,
    pub status: EpisodeStatus,
    pub discharge_reason: Option<i32>,
    pub discharged_on: Option<Date>,
    /// Sequence number of the PatientAdmitted event that opened it.
    pub sequence: i64,
    #[sea_orm(unique)]
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
    /// The assessment whose placement admitted the patient.
    pub assessment_id: Option<String>,
    /// When the discharge was recorded (none before it was kept).
    pub discharged_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
