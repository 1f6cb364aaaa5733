//! Clinical's copies of other contexts' facts: who a patient is (names, MRN
//! and sex, from admissions), episodes, attendance and evaluated weeks (from
//! scheduling).

use chrono::NaiveDate;
use iop_proto::common::v1::PersonName;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use crate::entity::{attendance, episode, lab_result, patient, week};

/// Keeps who the patient is (a later registration or update replaces it).
pub async fn put_patient<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    mrn: Option<&str>,
    name: Option<&PersonName>,
    preferred: &str,
    sex: i32,
) -> Result<(), DbErr> {
    let found = patient::Entity::find_by_id(patient_id).one(db).await?;
    let name = name.cloned().unwrap_or_default();
    match found {
        Some(p) => {
            let mut p: patient::ActiveModel = p.into();
            if let Some(mrn) = mrn {
                p.mrn = Set(mrn.to_owned());
            }
            p.given = Set(name.given);
            p.middle = Set(name.middle);
            p.family = Set(name.family);
            p.preferred = Set(preferred.to_owned());
            p.sex = Set(sex);
            p.update(db).await?;
        }
        None => {
            patient::ActiveModel {
                patient_id: Set(patient_id.to_owned()),
                mrn: Set(mrn.unwrap_or_default().to_owned()),
                given: Set(name.given),
                middle: Set(name.middle),
                family: Set(name.family),
                preferred: Set(preferred.to_owned()),
                sex: Set(sex),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// The patients of `ids` clinical knows.
pub async fn patients<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<patient::Model>, DbErr> {
    patient::Entity::find()
        .filter(patient::Column::PatientId.is_in(ids))
        .all(db)
        .await
}

/// One patient, if known.
pub async fn patient<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<patient::Model>, DbErr> {
    patient::Entity::find_by_id(id).one(db).await
}

/// The episode of `id`.
pub async fn episode<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<episode::Model>, DbErr> {
    episode::Entity::find_by_id(id).one(db).await
}

/// Opens an episode (a redelivered admission changes nothing).
pub async fn open_episode<C: ConnectionTrait>(db: &C, e: episode::Model) -> Result<(), DbErr> {
    if episode::Entity::find_by_id(&e.episode_id)
        .one(db)
        .await?
        .is_none()
    {
        episode::ActiveModel::from(e).insert(db).await?;
    }
    Ok(())
}

/// Saves a changed episode.
pub async fn save_episode<C: ConnectionTrait>(db: &C, e: episode::Model) -> Result<(), DbErr> {
    episode::ActiveModel::from(e).reset_all().update(db).await?;
    Ok(())
}

/// The patient's active episode, if any.
pub async fn active_episode<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Option<episode::Model>, DbErr> {
    episode::Entity::find()
        .filter(episode::Column::PatientId.eq(patient_id))
        .filter(episode::Column::Active.eq(true))
        .order_by_desc(episode::Column::AdmittedOn)
        .one(db)
        .await
}

/// Active episodes at a facility.
pub async fn active_at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<Vec<episode::Model>, DbErr> {
    episode::Entity::find()
        .filter(episode::Column::FacilityId.eq(facility_id))
        .filter(episode::Column::Active.eq(true))
        .order_by_asc(episode::Column::AdmittedOn)
        .all(db)
        .await
}

/// Keeps one attendance (the latest recording of it wins).
pub async fn put_attendance<C: ConnectionTrait>(
    db: &C,
    row: attendance::Model,
) -> Result<(), DbErr> {
    let found = attendance::Entity::find_by_id((row.session_id.clone(), row.patient_id.clone()))
        .one(db)
        .await?;
    let active = attendance::ActiveModel::from(row).reset_all();
    if found.is_some() {
        active.update(db).await?;
    } else {
        active.insert(db).await?;
    }
    Ok(())
}

/// Everyone whose attendance at `session_id` was recorded.
pub async fn attendance_of<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
) -> Result<Vec<attendance::Model>, DbErr> {
    attendance::Entity::find()
        .filter(attendance::Column::SessionId.eq(session_id))
        .order_by_asc(attendance::Column::PatientId)
        .all(db)
        .await
}

/// Keeps one evaluated week (a re-evaluation replaces it).
pub async fn put_week<C: ConnectionTrait>(db: &C, row: week::Model) -> Result<(), DbErr> {
    let found = week::Entity::find_by_id((row.patient_id.clone(), row.week_start))
        .one(db)
        .await?;
    let active = week::ActiveModel::from(row).reset_all();
    if found.is_some() {
        active.update(db).await?;
    } else {
        active.insert(db).await?;
    }
    Ok(())
}

/// The patient's evaluated weeks from `since` on, oldest first.
pub async fn weeks_since<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    since: NaiveDate,
) -> Result<Vec<week::Model>, DbErr> {
    week::Entity::find()
        .filter(week::Column::PatientId.eq(patient_id))
        .filter(week::Column::WeekStart.gte(since))
        .order_by_asc(week::Column::WeekStart)
        .all(db)
        .await
}

/// Keeps an interpreted result (a redelivery or a corrected result replaces it).
pub async fn put_lab_result<C: ConnectionTrait>(
    db: &C,
    row: lab_result::Model,
) -> Result<(), DbErr> {
    let found = lab_result::Entity::find_by_id(&row.result_id)
        .one(db)
        .await?;
    let active = lab_result::ActiveModel::from(row).reset_all();
    if found.is_some() {
        active.update(db).await?;
    } else {
        active.insert(db).await?;
    }
    Ok(())
}

/// The days of the patient's results interpreted as `interpretation` from
/// `since` on, oldest first.
pub async fn result_days<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    interpretation: i32,
    since: NaiveDate,
) -> Result<Vec<NaiveDate>, DbErr> {
    Ok(lab_result::Entity::find()
        .filter(lab_result::Column::PatientId.eq(patient_id))
        .filter(lab_result::Column::Interpretation.eq(interpretation))
        .filter(lab_result::Column::CollectedOn.gte(since))
        .order_by_asc(lab_result::Column::CollectedOn)
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.collected_on)
        .collect())
}
