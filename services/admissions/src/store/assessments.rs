//! Screening assessments with their placement and override.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};

use crate::entity::assessment;

/// The patient's latest assessment at `facility_id`: the placement an admission
/// or transfer there relies on. Another facility's assessment never replaces it.
pub async fn latest<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    facility_id: &str,
) -> Result<Option<assessment::Model>, DbErr> {
    assessment::Entity::find()
        .filter(assessment::Column::PatientId.eq(patient_id))
        .filter(assessment::Column::FacilityId.eq(facility_id))
        .order_by_desc(assessment::Column::AssessedAt)
        .order_by_desc(assessment::Column::Id)
        .one(db)
        .await
}

/// An assessment by id.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<assessment::Model>, DbErr> {
    assessment::Entity::find_by_id(id).one(db).await
}

/// Inserts an assessment.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    row: assessment::ActiveModel,
) -> Result<assessment::Model, DbErr> {
    row.insert(db).await
}

/// Writes a changed assessment (an override).
pub async fn update<C: ConnectionTrait>(
    db: &C,
    row: assessment::ActiveModel,
) -> Result<assessment::Model, DbErr> {
    row.update(db).await
}

/// Moves every assessment of `from` to `to` (a merge).
pub async fn move_all<C: ConnectionTrait>(db: &C, from: &str, to: &str) -> Result<(), DbErr> {
    assessment::Entity::update_many()
        .col_expr(assessment::Column::PatientId, Expr::value(to))
        .filter(assessment::Column::PatientId.eq(from))
        .exec(db)
        .await?;
    Ok(())
}
