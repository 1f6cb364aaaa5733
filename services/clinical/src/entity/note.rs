//! `notes`: A progress note (one attendee's, for a group).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub facility_id: String,
    /// `iop.clinical.v1.NoteKind` value.
    pub kind: i32,
    /// Empty when none.
    pub session_id: String,
    pub service_date: Date,
    pub shared_summary: String,
    /// The patient's own part.
    pub body: String,
    pub author: String,
    pub written_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub signed_at: Option<DateTimeUtc>,
    pub signed_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
