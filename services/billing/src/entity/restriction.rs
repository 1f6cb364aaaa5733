//! `restrictions`: A patient's restriction of disclosure to their health plan (self-paid services).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "restrictions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub from_date: Date,
    pub to_date: Option<Date>,
    pub recorded_at: DateTimeUtc,
    pub recorded_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
