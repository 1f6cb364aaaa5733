//! `results`: A result recorded for an order, with its interpretation.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub order_id: String,
    pub patient_id: String,
    pub facility_id: String,
    /// `iop.lab.v1.ResultKind` value.
    pub kind: i32,
    /// `iop.lab.v1.ScreenMethod` value (presumptive).
    pub method: i32,
    /// Facility-local.
    pub collected_on: Date,
    /// The analytes and readings, as an encoded `iop.lab.v1.Result` plus analytes.
    pub body: Vec<u8>,
    /// `iop.lab.v1.Finding` value.
    pub overall: i32,
    pub recorded_at: DateTimeUtc,
    /// `grpc` or the HL7 control id.
    pub source: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
