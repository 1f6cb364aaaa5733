//! `reviews`: A level-of-care review, opened by a trigger, decided by a clinician.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub facility_id: String,
    pub episode_id: String,
    /// `iop.clinical.v1.ReviewDirection` value.
    pub direction: i32,
    /// An encoded `iop.clinical.v1.Review` holding only its reasons.
    pub reasons: Vec<u8>,
    pub from_level: i32,
    pub opened_at: DateTimeUtc,
    pub open: bool,
    /// `iop.clinical.v1.Decision` value (0 while open).
    pub decision: i32,
    pub to_level: i32,
    pub justification: String,
    pub decided_by: String,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
