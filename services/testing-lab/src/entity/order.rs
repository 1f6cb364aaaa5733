//! `orders`: A drug-test order.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// What cups and labs carry (OBR-2, SPM-2).
    pub accession: String,
    pub patient_id: String,
    pub facility_id: String,
    /// `iop.lab.v1.SpecimenType` value.
    pub specimen: i32,
    /// `iop.lab.v1.DrugClass` values, comma-separated.
    pub panel: String,
    pub observed: bool,
    /// `iop.lab.v1.OrderReason` value.
    pub reason: i32,
    pub ordered_at: DateTimeUtc,
    pub ordered_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
