//! `demographic_versions`: every recorded version of a patient's demographics.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "demographic_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    /// The patient's event sequence that recorded it.
    pub version: i64,
    /// `iop.admissions.v1.Demographics`, encoded.
    pub demographics: Vec<u8>,
    pub recorded_at: DateTimeUtc,
    pub recorded_by: String,
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
