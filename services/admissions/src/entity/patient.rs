//! `patients`: the master record of each person (one across all sites).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "patients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub mrn: String,
    pub given_name: String,
    pub middle_name: String,
    pub family_name: String,
    pub preferred_name: String,
    pub date_of_birth: Date,
    pub sex: i32,
    pub gender_identity: String,
    pub phone: String,
    pub email: String,
    /// Last four SSN digits, or empty; only for duplicate detection.
    pub ssn_last4: String,
    pub registered_facility_id: String,
    #[sea_orm(unique)]
    pub request_id: Option<String>,
    pub registered_at: DateTimeUtc,
    pub address_line1: String,
    pub address_line2: String,
    pub address_city: String,
    pub address_state: String,
    pub address_postal_code: String,
    pub emergency_name: String,
    pub emergency_relationship: String,
    pub emergency_phone: String,
    /// The survivor, once this record was merged into it.
    pub merged_into: Option<String>,
    pub merged_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
