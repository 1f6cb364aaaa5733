//! `authorizations`: A payer's authorization of days at a level of care.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub facility_id: String,
    pub payer_id: String,
    pub number: String,
    /// `iop.common.v1.LevelOfCare` value.
    pub level_of_care: i32,
    pub units_approved: i32,
    pub from_date: Date,
    pub to_date: Date,
    pub next_review_on: Option<Date>,
    pub recorded_at: DateTimeUtc,
    pub recorded_by: String,
    /// The warnings last published, so each is published once.
    pub warned: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
