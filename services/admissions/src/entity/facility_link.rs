//! `facility_links`: a patient linked to a facility where they were not known.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "facility_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub facility_id: String,
    /// `iop.common.v1.LinkReason`.
    pub reason: i32,
    pub note: Option<String>,
    pub linked_by: String,
    pub linked_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
