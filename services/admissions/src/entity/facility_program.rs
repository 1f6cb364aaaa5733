//! `facility_programs`: the programs a facility offers, with capacity.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "facility_programs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub facility_id: String,
    /// Program value.
    #[sea_orm(primary_key, auto_increment = false)]
    pub program: i32,
    pub capacity: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
