//! `draws`: a facility's random draw of a day (an encoded `iop.lab.v1.Draw`).

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "draws")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub facility_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    pub body: Vec<u8>,
    pub drawn_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
