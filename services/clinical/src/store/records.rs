//! Screenings, tasks and medications.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::entity::{medication, screening, task};

/// Stores a scored screening.
pub async fn insert_screening<C: ConnectionTrait>(
    db: &C,
    row: screening::Model,
) -> Result<(), DbErr> {
    screening::ActiveModel::from(row)
        .reset_all()
        .insert(db)
        .await?;
    Ok(())
}

/// The patient's screenings (of `instrument`, or all when none), oldest first.
pub async fn screenings<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    instrument: Option<i32>,
) -> Result<Vec<screening::Model>, DbErr> {
    let mut q = screening::Entity::find().filter(screening::Column::PatientId.eq(patient_id));
    if let Some(i) = instrument {
        q = q.filter(screening::Column::Instrument.eq(i));
    }
    q.order_by_asc(screening::Column::AdministeredAt)
        .order_by_asc(screening::Column::Id)
        .all(db)
        .await
}

/// Stores a task.
pub async fn insert_task<C: ConnectionTrait>(db: &C, row: task::Model) -> Result<(), DbErr> {
    task::ActiveModel::from(row).reset_all().insert(db).await?;
    Ok(())
}

/// Saves a changed task.
pub async fn save_task<C: ConnectionTrait>(db: &C, row: task::Model) -> Result<(), DbErr> {
    task::ActiveModel::from(row).reset_all().update(db).await?;
    Ok(())
}

/// One task.
pub async fn task<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<task::Model>, DbErr> {
    task::Entity::find_by_id(id).one(db).await
}

/// Open tasks of a facility (of `assignee` and unassigned ones, when given), due first.
pub async fn open_tasks<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    assignee: Option<&str>,
) -> Result<Vec<task::Model>, DbErr> {
    let mut q = task::Entity::find()
        .filter(task::Column::FacilityId.eq(facility_id))
        .filter(task::Column::Done.eq(false));
    if let Some(a) = assignee {
        q = q.filter(task::Column::Assignee.is_in([a, ""]));
    }
    q.order_by_asc(task::Column::DueAt)
        .order_by_asc(task::Column::Id)
        .all(db)
        .await
}

/// Open tasks of a patient of `kind` opened by `source_id`.
pub async fn open_tasks_of<C: ConnectionTrait>(
    db: &C,
    source_id: &str,
) -> Result<Vec<task::Model>, DbErr> {
    task::Entity::find()
        .filter(task::Column::SourceId.eq(source_id))
        .filter(task::Column::Done.eq(false))
        .all(db)
        .await
}

/// Stores a medication.
pub async fn insert_medication<C: ConnectionTrait>(
    db: &C,
    row: medication::Model,
) -> Result<(), DbErr> {
    medication::ActiveModel::from(row)
        .reset_all()
        .insert(db)
        .await?;
    Ok(())
}

/// Saves a changed medication.
pub async fn save_medication<C: ConnectionTrait>(
    db: &C,
    row: medication::Model,
) -> Result<(), DbErr> {
    medication::ActiveModel::from(row)
        .reset_all()
        .update(db)
        .await?;
    Ok(())
}

/// One medication.
pub async fn medication<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<medication::Model>, DbErr> {
    medication::Entity::find_by_id(id).one(db).await
}

/// The patient's medications, current first, then by start.
pub async fn medications<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<medication::Model>, DbErr> {
    let mut all = medication::Entity::find()
        .filter(medication::Column::PatientId.eq(patient_id))
        .order_by_desc(medication::Column::StartedOn)
        .all(db)
        .await?;
    all.sort_by_key(|m| m.stopped_on.is_some());
    Ok(all)
}
