//! `work_queue`: An HL7 result nothing matched yet: kept, never dropped.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "work_queue")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub control_id: String,
    pub placer_order: String,
    pub filler_order: String,
    pub reason: String,
    /// The message as received.
    pub message: String,
    pub received_at: DateTimeUtc,
    pub resolved: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
