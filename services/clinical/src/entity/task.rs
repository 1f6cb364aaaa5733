//! `tasks`: A clinical task: a follow-up, a review, a plan review.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub facility_id: String,
    /// `iop.clinical.v1.TaskKind` value.
    pub kind: i32,
    pub reason: String,
    /// Empty when unassigned.
    pub assignee: String,
    pub due_at: DateTimeUtc,
    /// Facility-local.
    pub due_on: Date,
    pub done: bool,
    pub source_id: String,
    pub opened_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub completed_by: Option<String>,
    pub outcome: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
