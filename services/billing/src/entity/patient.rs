//! `patients`: Who a patient is, as far as a claim needs (admissions' registration and demographics).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "patients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    pub given: String,
    pub middle: String,
    pub family: String,
    pub date_of_birth: Option<Date>,
    /// `iop.common.v1.Sex` value.
    pub sex: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
