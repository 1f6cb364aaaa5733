//! `payments`: A payment by the patient.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub facility_id: String,
    pub amount_cents: i64,
    pub reference: String,
    pub recorded_at: DateTimeUtc,
    pub recorded_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
