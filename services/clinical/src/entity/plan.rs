//! `plans`: One version of a treatment plan.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub episode_id: String,
    pub facility_id: String,
    pub version: i32,
    /// The problems, as an encoded `iop.clinical.v1.TreatmentPlan` holding only them.
    pub content: Vec<u8>,
    pub written_by: String,
    pub written_at: DateTimeUtc,
    pub practitioner_signed_by: Option<String>,
    pub practitioner_signed_at: Option<DateTimeUtc>,
    pub patient_signed_at: Option<DateTimeUtc>,
    pub patient_attested_by: Option<String>,
    /// Facility-local day both signatures were in.
    pub activated_on: Option<Date>,
    pub superseded: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
