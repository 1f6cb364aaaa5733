//! `subjects`: one row per patient.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subjects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    /// A random UUID, drawn once: the patient's name on the analytics stream.
    pub pseudonym: String,
    pub birth_date: Option<Date>,
    /// `iop.common.v1.Sex`.
    pub sex: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
