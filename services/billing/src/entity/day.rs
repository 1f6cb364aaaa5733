//! `days`: A date of service as billing decided it: billed, or held with every reason.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_date: Date,
    pub facility_id: String,
    /// `iop.billing.v1.DayStatus` value.
    pub status: i32,
    /// `REASON=detail` entries, one per line.
    pub holds: String,
    pub payer_id: String,
    /// Clinical minutes counted.
    pub minutes: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
