//! `lab_results`: A drug-test result as testing-lab interpreted it (`ResultInterpreted`).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lab_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub result_id: String,
    pub patient_id: String,
    pub facility_id: String,
    /// Facility-local.
    pub collected_on: Date,
    /// `iop.lab.events.v1.Interpretation` value.
    pub interpretation: i32,
    /// Drug classes behind it, comma-separated.
    pub classes: String,
    pub definitive: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
