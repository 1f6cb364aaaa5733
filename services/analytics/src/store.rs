//! Pseudonyms and episodes: read and written inside the consumer's unit of
//! work, so a pseudonym is drawn once per patient whatever is redelivered.

use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};

use crate::entity::{episode, pending, subject};

/// The patient's row, made with a fresh random pseudonym when new.
pub async fn subject<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<subject::Model, DbErr> {
    if let Some(found) = subject::Entity::find_by_id(patient_id).one(db).await? {
        return Ok(found);
    }
    let made = subject::Model {
        patient_id: patient_id.to_owned(),
        // Random, and never derived from any identifier (Safe Harbor's
        // re-identification code rule, 164.514(c)).
        pseudonym: uuid::Uuid::new_v4().to_string(),
        birth_date: None,
        sex: 0,
    };
    subject::Entity::insert(subject::ActiveModel {
        patient_id: Set(made.patient_id.clone()),
        pseudonym: Set(made.pseudonym.clone()),
        birth_date: Set(None),
        sex: Set(0),
    })
    .exec(db)
    .await?;
    Ok(made)
}

/// Keeps what the patient's events need of their demographics.
pub async fn describe<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    birth_date: Option<NaiveDate>,
    sex: i32,
) -> Result<subject::Model, DbErr> {
    let mut row = subject(db, patient_id).await?;
    row.birth_date = birth_date.or(row.birth_date);
    row.sex = sex;
    subject::Entity::update(subject::ActiveModel {
        patient_id: Set(row.patient_id.clone()),
        pseudonym: Set(row.pseudonym.clone()),
        birth_date: Set(row.birth_date),
        sex: Set(row.sex),
    })
    .exec(db)
    .await?;
    Ok(row)
}

/// The episode `episode_id`, if seen.
pub async fn episode<C: ConnectionTrait>(
    db: &C,
    episode_id: &str,
) -> Result<Option<episode::Model>, DbErr> {
    episode::Entity::find_by_id(episode_id).one(db).await
}

/// The patient's episode that had begun by `day` (the latest such).
pub async fn episode_on<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    day: NaiveDate,
) -> Result<Option<episode::Model>, DbErr> {
    episode::Entity::find()
        .filter(episode::Column::PatientId.eq(patient_id))
        .filter(episode::Column::StartedOn.lte(day))
        .order_by_desc(episode::Column::StartedOn)
        .one(db)
        .await
}

/// Records a new episode with a fresh pseudonym; the one kept when it is
/// seen again.
pub async fn open_episode<C: ConnectionTrait>(
    db: &C,
    episode_id: &str,
    patient_id: &str,
    started_on: NaiveDate,
    facility_id: &str,
    level_of_care: i32,
) -> Result<episode::Model, DbErr> {
    if let Some(found) = episode(db, episode_id).await? {
        return Ok(found);
    }
    let row = episode::Model {
        episode_id: episode_id.to_owned(),
        patient_id: patient_id.to_owned(),
        pseudonym: uuid::Uuid::new_v4().to_string(),
        started_on,
        facility_id: facility_id.to_owned(),
        level_of_care,
    };
    episode::Entity::insert(episode::ActiveModel {
        episode_id: Set(row.episode_id.clone()),
        patient_id: Set(row.patient_id.clone()),
        pseudonym: Set(row.pseudonym.clone()),
        started_on: Set(row.started_on),
        facility_id: Set(row.facility_id.clone()),
        level_of_care: Set(row.level_of_care),
    })
    .exec(db)
    .await?;
    Ok(row)
}

/// Moves an episode to `facility_id` at `level_of_care`.
pub async fn move_episode<C: ConnectionTrait>(
    db: &C,
    row: &episode::Model,
    facility_id: &str,
    level_of_care: i32,
) -> Result<(), DbErr> {
    episode::Entity::update(episode::ActiveModel {
        episode_id: Set(row.episode_id.clone()),
        facility_id: Set(facility_id.to_owned()),
        level_of_care: Set(level_of_care),
        ..Default::default()
    })
    .exec(db)
    .await
    .map(drop)
}

/// How many patients and episodes the projector holds.
pub async fn counts<C: ConnectionTrait>(db: &C) -> Result<(u64, u64), DbErr> {
    Ok((
        subject::Entity::find().count(db).await?,
        episode::Entity::find().count(db).await?,
    ))
}

/// Keeps an attendance record until the patient's episode for that day is
/// known (once per source event).
pub async fn hold<C: ConnectionTrait>(
    db: &C,
    event_id: &str,
    patient_id: &str,
    service_date: NaiveDate,
    payload: Vec<u8>,
) -> Result<(), DbErr> {
    if pending::Entity::find_by_id(event_id)
        .one(db)
        .await?
        .is_some()
    {
        return Ok(());
    }
    pending::Entity::insert(pending::ActiveModel {
        event_id: Set(event_id.to_owned()),
        patient_id: Set(patient_id.to_owned()),
        service_date: Set(service_date),
        payload: Set(payload),
    })
    .exec(db)
    .await
    .map(drop)
}

/// The patient's held attendance from `from` on, oldest first, removed.
pub async fn release<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    from: NaiveDate,
) -> Result<Vec<pending::Model>, DbErr> {
    let rows = pending::Entity::find()
        .filter(pending::Column::PatientId.eq(patient_id))
        .filter(pending::Column::ServiceDate.gte(from))
        .order_by_asc(pending::Column::ServiceDate)
        .all(db)
        .await?;
    for r in &rows {
        pending::Entity::delete_by_id(r.event_id.clone())
            .exec(db)
            .await?;
    }
    Ok(rows)
}
