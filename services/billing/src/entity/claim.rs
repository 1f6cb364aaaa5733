//! `claims`: A claim to a payer for a patient's month at a facility.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// CLM01, what the 835 answers by (CLP01).
    pub number: String,
    pub patient_id: String,
    pub facility_id: String,
    pub payer_id: String,
    /// 837I or 837P.
    pub claim_type: String,
    /// `iop.billing.v1.ClaimStatus` value.
    pub status: i32,
    pub from_date: Date,
    pub to_date: Date,
    pub charge_cents: i64,
    pub paid_cents: i64,
    pub patient_resp_cents: i64,
    /// Comma-separated, principal first.
    pub diagnoses: String,
    /// Adjustment codes from remittances, comma-separated.
    pub adjustments: String,
    pub payer_claim_number: String,
    /// ISA13 of the file that carried it.
    pub interchange: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
