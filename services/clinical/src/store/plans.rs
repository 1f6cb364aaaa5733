//! Treatment plan versions.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::entity::plan;

/// Stores a plan version.
pub async fn insert<C: ConnectionTrait>(db: &C, row: plan::Model) -> Result<(), DbErr> {
    plan::ActiveModel::from(row).reset_all().insert(db).await?;
    Ok(())
}

/// Saves a changed version.
pub async fn save<C: ConnectionTrait>(db: &C, row: plan::Model) -> Result<(), DbErr> {
    plan::ActiveModel::from(row).reset_all().update(db).await?;
    Ok(())
}

/// One version.
pub async fn plan<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<plan::Model>, DbErr> {
    plan::Entity::find_by_id(id).one(db).await
}

/// Every version of an episode's plan, latest first.
pub async fn of_episode<C: ConnectionTrait>(
    db: &C,
    episode_id: &str,
) -> Result<Vec<plan::Model>, DbErr> {
    plan::Entity::find()
        .filter(plan::Column::EpisodeId.eq(episode_id))
        .order_by_desc(plan::Column::Version)
        .all(db)
        .await
}

/// The versions of the plans of `episode_ids`, latest first per episode.
pub async fn of_episodes<C: ConnectionTrait>(
    db: &C,
    episode_ids: Vec<String>,
) -> Result<Vec<plan::Model>, DbErr> {
    plan::Entity::find()
        .filter(plan::Column::EpisodeId.is_in(episode_ids))
        .order_by_desc(plan::Column::Version)
        .all(db)
        .await
}

/// The patient's latest version of any episode.
pub async fn latest_of_patient<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Option<plan::Model>, DbErr> {
    plan::Entity::find()
        .filter(plan::Column::PatientId.eq(patient_id))
        .order_by_desc(plan::Column::WrittenAt)
        .order_by_desc(plan::Column::Version)
        .one(db)
        .await
}
