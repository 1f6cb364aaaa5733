//! `remittances`: An applied 835 payment.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "remittances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub payer_id: String,
    /// TRN02.
    pub trace_number: String,
    pub facility_id: String,
    pub paid_cents: i64,
    /// PLB `reason:reference:cents` entries, comma-separated.
    pub provider_adjustments: String,
    pub applied_at: DateTimeUtc,
    pub applied_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
