//! `scheduled`: a booking of a patient into a session at a facility, from scheduling's events.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scheduled")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub booking_id: String,
    pub patient_id: String,
    pub facility_id: String,
    pub starts_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
