//! `consents`: Part 2 consents as signed, with revocation and expiry event.

#![allow(missing_docs, reason = "fields are the columns")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The patient (the survivor, after a merge).
    pub patient_id: String,
    /// `iop.common.v1.Consent`, encoded, as signed (without revocation).
    pub consent: Vec<u8>,
    pub recorded_at: DateTimeUtc,
    pub recorded_by: String,
    pub revoked_at: Option<DateTimeUtc>,
    pub expiry_event_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
