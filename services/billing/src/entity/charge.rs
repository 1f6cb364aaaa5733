//! `charges`: A charge line: one per patient, date of service, payer and code, ever.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "charges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub facility_id: String,
    pub payer_id: String,
    pub service_date: Date,
    /// `iop.billing.v1.ChargeKind` value.
    pub kind: i32,
    pub hcpcs: String,
    pub revenue_code: String,
    pub units: i32,
    pub amount_cents: i64,
    /// Empty when none was needed.
    pub authorization_id: String,
    /// `iop.billing.v1.ChargeStatus` value.
    pub status: i32,
    /// Empty until claimed.
    pub claim_id: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
