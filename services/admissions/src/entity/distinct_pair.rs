//! `distinct_pairs`: two records declared not the same person, once for the
//! network (`patient_low` < `patient_high`).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "distinct_pairs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_low: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_high: String,
    pub facility_id: String,
    pub reason: String,
    pub decided_by: String,
    pub decided_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
