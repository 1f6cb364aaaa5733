//! `work_queue`: A denial or a charge past timely filing, for a biller.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "work_queue")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub facility_id: String,
    pub patient_id: String,
    pub claim_id: String,
    pub code: String,
    pub reason: String,
    pub opened_at: DateTimeUtc,
    pub resolved: bool,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
