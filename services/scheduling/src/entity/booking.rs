//! `bookings`: A patient's place in a session (with the session's times, for overlap checks).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

/// Whether the place is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Status {
    /// The patient holds the place.
    #[sea_orm(string_value = "booked")]
    Booked,
    /// Given up, with a reason.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub session_id: String,
    pub facility_id: String,
    pub status: Status,
    pub cancel_reason: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
