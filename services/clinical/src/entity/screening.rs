//! `screenings`: A scored instrument with its item responses.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "screenings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub facility_id: String,
    /// `iop.clinical.v1.Instrument` value.
    pub instrument: i32,
    /// The answers as `item:value` pairs, comma-separated, item order.
    pub responses: String,
    pub total: i32,
    pub band: String,
    pub positive: bool,
    pub suicide_risk: bool,
    pub administered_at: DateTimeUtc,
    /// Facility-local.
    pub administered_on: Date,
    pub rescreen_due_on: Date,
    pub recorded_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
