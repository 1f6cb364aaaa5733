//! `diagnoses`: A patient's diagnoses, from the latest treatment plan that named any.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "diagnoses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    /// ICD-10-CM codes, normal form, comma-separated, in the plan order.
    pub codes: String,
    pub plan_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
