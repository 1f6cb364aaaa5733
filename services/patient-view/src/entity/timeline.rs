//! `timeline`: one row per applied event (ids and types only, no content).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "timeline")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub position: i64,
    #[sea_orm(unique)]
    pub event_id: String,
    pub patient_id: String,
    pub event_type: String,
    pub occurred_at: DateTimeUtc,
    pub facility_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
