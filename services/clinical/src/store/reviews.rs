//! Level-of-care reviews.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::entity::review;

/// Stores a review.
pub async fn insert<C: ConnectionTrait>(db: &C, row: review::Model) -> Result<(), DbErr> {
    review::ActiveModel::from(row)
        .reset_all()
        .insert(db)
        .await?;
    Ok(())
}

/// Saves a changed review.
pub async fn save<C: ConnectionTrait>(db: &C, row: review::Model) -> Result<(), DbErr> {
    review::ActiveModel::from(row)
        .reset_all()
        .update(db)
        .await?;
    Ok(())
}

/// One review.
pub async fn review<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<review::Model>, DbErr> {
    review::Entity::find_by_id(id).one(db).await
}

/// The patient's open review of `direction`, if any.
pub async fn open_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    direction: i32,
) -> Result<Option<review::Model>, DbErr> {
    review::Entity::find()
        .filter(review::Column::PatientId.eq(patient_id))
        .filter(review::Column::Direction.eq(direction))
        .filter(review::Column::Open.eq(true))
        .one(db)
        .await
}

/// Reviews of a facility (open ones only unless `all`), oldest first.
pub async fn at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    all: bool,
) -> Result<Vec<review::Model>, DbErr> {
    let mut q = review::Entity::find().filter(review::Column::FacilityId.eq(facility_id));
    if !all {
        q = q.filter(review::Column::Open.eq(true));
    }
    q.order_by_asc(review::Column::OpenedAt)
        .order_by_asc(review::Column::Id)
        .all(db)
        .await
}
