//! Part 2 consents as signed, with their revocation and expiry event.

use iop_proto::common::v1 as pb;
use iop_runtime::wire;
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};

use crate::{entity::consent, error::AdmissionsError};

/// A consent row by id.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<consent::Model>, DbErr> {
    consent::Entity::find_by_id(id).one(db).await
}

/// The patient's consent rows, oldest first.
pub async fn of_patient<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<consent::Model>, DbErr> {
    consent::Entity::find()
        .filter(consent::Column::PatientId.eq(patient_id))
        .order_by_asc(consent::Column::RecordedAt)
        .order_by_asc(consent::Column::Id)
        .all(db)
        .await
}

/// A stored consent in its wire form, with its revocation and expiry event.
pub fn message(row: &consent::Model) -> Result<pb::Consent, AdmissionsError> {
    let mut c = pb::Consent::decode(row.consent.as_slice())
        .map_err(|_| super::corrupt(format!("consent {}", row.id)))?;
    c.revoked_at = row.revoked_at.map(wire::timestamp);
    c.expiry_event_at = row.expiry_event_at.map(wire::timestamp);
    Ok(c)
}

/// The patient's consents as the rules see them.
pub async fn rules_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<iop_consent::Consent>, AdmissionsError> {
    of_patient(db, patient_id)
        .await?
        .iter()
        .map(|row| Ok(iop_consent::wire::consent(&message(row)?)?))
        .collect()
}

/// Inserts a consent.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    row: consent::ActiveModel,
) -> Result<consent::Model, DbErr> {
    row.insert(db).await
}

/// Writes a changed consent (revoked, expired).
pub async fn update<C: ConnectionTrait>(
    db: &C,
    row: consent::ActiveModel,
) -> Result<consent::Model, DbErr> {
    row.update(db).await
}

/// Moves every consent of `from` to `to` (a merge).
pub async fn move_all<C: ConnectionTrait>(db: &C, from: &str, to: &str) -> Result<(), DbErr> {
    consent::Entity::update_many()
        .col_expr(consent::Column::PatientId, Expr::value(to))
        .filter(consent::Column::PatientId.eq(from))
        .exec(db)
        .await?;
    Ok(())
}
