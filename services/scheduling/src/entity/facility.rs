//! `facilities`: a facility's time zone, as admissions last described it
//! (`FacilityRecorded`); the rest of the registry stays in admissions.

use sea_orm::entity::prelude::*;

/// Scheduling's copy of one facility.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "facilities")]
pub struct Model {
    /// The facility id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// IANA time zone: every local day and time of its sessions is read in it.
    pub time_zone: String,
    /// The `FacilityRecorded` version applied (older ones are ignored).
    pub version: i64,
}

/// No relations: ids only.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
