//! `eligibility_checks`: A 270 inquiry and, once applied, the payer's 271 answer.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "eligibility_checks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub coverage_id: String,
    pub patient_id: String,
    pub facility_id: String,
    /// TRN02 of the inquiry.
    pub trace_number: String,
    pub requested_at: DateTimeUtc,
    pub answered_at: Option<DateTimeUtc>,
    /// 0 pending, 1 active, 2 inactive.
    pub status: i32,
    pub from_date: Option<Date>,
    pub to_date: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
