//! Episodes of care.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::Expr,
};

use crate::entity::episode::{self, EpisodeStatus};

/// The patient's active episode, if admitted.
pub async fn active<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Option<episode::Model>, DbErr> {
    episode::Entity::find()
        .filter(episode::Column::PatientId.eq(patient_id))
        .filter(episode::Column::Status.eq(EpisodeStatus::Active))
        .one(db)
        .await
}

/// The episode admitted with idempotency key `rid`.
pub async fn by_request_id<C: ConnectionTrait>(
    db: &C,
    rid: &str,
) -> Result<Option<episode::Model>, DbErr> {
    episode::Entity::find()
        .filter(episode::Column::RequestId.eq(rid))
        .one(db)
        .await
}

/// Ids of the patient's episodes.
pub async fn ids_of<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<Vec<String>, DbErr> {
    Ok(episode::Entity::find()
        .filter(episode::Column::PatientId.eq(patient_id))
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect())
}

/// The patient's latest ended episode (the last day first), if any: what a
/// readmission must not overlap and must be assessed after.
pub async fn last_ended<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Option<episode::Model>, DbErr> {
    use sea_orm::QueryOrder;
    episode::Entity::find()
        .filter(episode::Column::PatientId.eq(patient_id))
        .filter(episode::Column::Status.eq(EpisodeStatus::Discharged))
        .order_by_desc(episode::Column::DischargedOn)
        .order_by_desc(episode::Column::DischargedAt)
        .one(db)
        .await
}

/// Inserts an episode.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    row: episode::ActiveModel,
) -> Result<episode::Model, DbErr> {
    row.insert(db).await
}

/// Writes a changed episode.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    row: episode::ActiveModel,
) -> Result<episode::Model, DbErr> {
    row.update(db).await
}

/// Moves every episode of `from` to `to` (a merge).
pub async fn move_all<C: ConnectionTrait>(db: &C, from: &str, to: &str) -> Result<(), DbErr> {
    episode::Entity::update_many()
        .col_expr(episode::Column::PatientId, Expr::value(to))
        .filter(episode::Column::PatientId.eq(from))
        .exec(db)
        .await?;
    Ok(())
}
