//! `coverages`: A coverage as admissions recorded it.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coverages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub coverage_id: String,
    pub patient_id: String,
    pub self_pay: bool,
    pub payer_id: String,
    pub payer_name: String,
    pub plan_name: String,
    pub member_id: String,
    pub group_number: String,
    /// `iop.common.v1.SubscriberRelationship` value.
    pub relationship: i32,
    pub subscriber_name: String,
    pub effective_from: Date,
    pub effective_to: Option<Date>,
    /// When admissions last recorded it (a later check is due after a change).
    pub recorded_at: DateTimeUtc,
    /// The subscriber's address (claims, 2010BA).
    pub address_line1: String,
    pub address_line2: String,
    pub address_city: String,
    pub address_state: String,
    pub address_zip: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
