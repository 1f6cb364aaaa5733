//! `lab_codes`: The drug-test codes of a patient's day, from testing-lab's `DrugTestCodes` (a later one replaces them).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lab_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_date: Date,
    pub facility_id: String,
    /// Empty when none.
    pub presumptive: String,
    /// Empty when none.
    pub definitive: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
