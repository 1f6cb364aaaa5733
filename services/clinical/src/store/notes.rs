//! Notes and their addenda.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::entity::{addendum, note};

/// Stores a note.
pub async fn insert<C: ConnectionTrait>(db: &C, row: note::Model) -> Result<(), DbErr> {
    note::ActiveModel::from(row).reset_all().insert(db).await?;
    Ok(())
}

/// Saves a changed note.
pub async fn save<C: ConnectionTrait>(db: &C, row: note::Model) -> Result<(), DbErr> {
    note::ActiveModel::from(row).reset_all().update(db).await?;
    Ok(())
}

/// One note.
pub async fn note<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<note::Model>, DbErr> {
    note::Entity::find_by_id(id).one(db).await
}

/// The patient's notes, newest service day first.
pub async fn of_patient<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<note::Model>, DbErr> {
    note::Entity::find()
        .filter(note::Column::PatientId.eq(patient_id))
        .order_by_desc(note::Column::ServiceDate)
        .order_by_desc(note::Column::WrittenAt)
        .all(db)
        .await
}

/// The patient's notes of one service day.
pub async fn of_day<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    day: NaiveDate,
) -> Result<Vec<note::Model>, DbErr> {
    note::Entity::find()
        .filter(note::Column::PatientId.eq(patient_id))
        .filter(note::Column::ServiceDate.eq(day))
        .all(db)
        .await
}

/// Whether `session_id` has notes of `kind`.
pub async fn session_has<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
    kind: i32,
) -> Result<bool, DbErr> {
    Ok(note::Entity::find()
        .filter(note::Column::SessionId.eq(session_id))
        .filter(note::Column::Kind.eq(kind))
        .one(db)
        .await?
        .is_some())
}

/// Unsigned notes of a facility due before `at`, oldest deadline first.
pub async fn late_at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    at: DateTime<Utc>,
) -> Result<Vec<note::Model>, DbErr> {
    note::Entity::find()
        .filter(note::Column::FacilityId.eq(facility_id))
        .filter(note::Column::SignedAt.is_null())
        .filter(note::Column::DueAt.lt(at))
        .order_by_asc(note::Column::DueAt)
        .order_by_asc(note::Column::Id)
        .all(db)
        .await
}

/// Stores an addendum.
pub async fn insert_addendum<C: ConnectionTrait>(
    db: &C,
    row: addendum::Model,
) -> Result<(), DbErr> {
    addendum::ActiveModel::from(row)
        .reset_all()
        .insert(db)
        .await?;
    Ok(())
}

/// The addenda of `note_ids`, oldest first.
pub async fn addenda<C: ConnectionTrait>(
    db: &C,
    note_ids: Vec<String>,
) -> Result<Vec<addendum::Model>, DbErr> {
    addendum::Entity::find()
        .filter(addendum::Column::NoteId.is_in(note_ids))
        .order_by_asc(addendum::Column::WrittenAt)
        .order_by_asc(addendum::Column::Id)
        .all(db)
        .await
}
