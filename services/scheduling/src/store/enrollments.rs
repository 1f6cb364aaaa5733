//! Enrollments (one per episode, from admissions' events) and track membership.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use iop_proto::admissions::events::v1::PatientAdmitted;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, sea_query::Expr,
};

use crate::entity::{
    attendance, booking, enrollment, enrollment_level, track_member, weekly_evaluation,
};

/// The patient's active enrollment, if admitted.
pub async fn active<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Option<enrollment::Model>, DbErr> {
    enrollment::Entity::find()
        .filter(enrollment::Column::PatientId.eq(patient_id))
        .filter(enrollment::Column::Active.eq(true))
        .one(db)
        .await
}

/// Every enrollment of the patient, latest first.
pub async fn of_patient<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<enrollment::Model>, DbErr> {
    enrollment::Entity::find()
        .filter(enrollment::Column::PatientId.eq(patient_id))
        .order_by_desc(enrollment::Column::CreatedAt)
        .all(db)
        .await
}

/// The enrollment of an episode.
pub async fn of_episode<C: ConnectionTrait>(
    db: &C,
    episode_id: &str,
) -> Result<Option<enrollment::Model>, DbErr> {
    enrollment::Entity::find_by_id(episode_id).one(db).await
}

/// Active enrollments at a facility, by patient.
pub async fn active_at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<Vec<enrollment::Model>, DbErr> {
    enrollment::Entity::find()
        .filter(enrollment::Column::FacilityId.eq(facility_id))
        .filter(enrollment::Column::Active.eq(true))
        .order_by_asc(enrollment::Column::PatientId)
        .all(db)
        .await
}

/// Enrollments at a facility admitted before `before` and not discharged
/// before `since`, by patient: who was in care during a week.
pub async fn in_care_at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    since: NaiveDate,
    before: NaiveDate,
) -> Result<Vec<enrollment::Model>, DbErr> {
    Ok(enrollment::Entity::find()
        .filter(enrollment::Column::FacilityId.eq(facility_id))
        .filter(enrollment::Column::AdmittedOn.lt(before))
        .order_by_asc(enrollment::Column::PatientId)
        .all(db)
        .await?
        .into_iter()
        .filter(|e| e.discharged_on.is_none_or(|d| d >= since))
        .collect())
}

/// Opens the enrollment of an admission.
pub async fn open<C: ConnectionTrait>(
    db: &C,
    e: &PatientAdmitted,
    admitted_on: NaiveDate,
) -> Result<enrollment::Model, DbErr> {
    let opened = enrollment::ActiveModel {
        episode_id: Set(e.episode_id.clone()),
        patient_id: Set(e.patient_id.clone()),
        facility_id: Set(e.facility_id.clone()),
        program: Set(e.program),
        level_of_care: Set(e.level_of_care),
        age_group: Set(e.age_group),
        admitted_on: Set(admitted_on),
        active: Set(true),
        discharged_on: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    record_level(db, &e.episode_id, admitted_on, e.level_of_care).await?;
    Ok(opened)
}

/// Moves an enrollment to another facility, program and level, the level in
/// force from `effective_on`.
pub async fn move_to<C: ConnectionTrait>(
    db: &C,
    e: enrollment::Model,
    facility_id: &str,
    program: i32,
    level_of_care: i32,
    effective_on: NaiveDate,
) -> Result<(), DbErr> {
    record_level(db, &e.episode_id, effective_on, level_of_care).await?;
    let mut moved: enrollment::ActiveModel = e.into();
    moved.facility_id = Set(facility_id.to_owned());
    moved.program = Set(program);
    moved.level_of_care = Set(level_of_care);
    moved.update(db).await?;
    Ok(())
}

/// Records that `level_of_care` is in force for the episode from
/// `effective_on`: the latest decision governs from its day on, so changes
/// recorded for that day or later (a backdated transfer) are replaced.
pub async fn record_level<C: ConnectionTrait>(
    db: &C,
    episode_id: &str,
    effective_on: NaiveDate,
    level_of_care: i32,
) -> Result<(), DbErr> {
    enrollment_level::Entity::delete_many()
        .filter(enrollment_level::Column::EpisodeId.eq(episode_id))
        .filter(enrollment_level::Column::EffectiveOn.gte(effective_on))
        .exec(db)
        .await?;
    enrollment_level::ActiveModel {
        episode_id: Set(episode_id.to_owned()),
        effective_on: Set(effective_on),
        level_of_care: Set(level_of_care),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The level changes of each of `episode_ids`, earliest first.
pub async fn levels_of<C: ConnectionTrait>(
    db: &C,
    episode_ids: Vec<String>,
) -> Result<HashMap<String, Vec<(NaiveDate, i32)>>, DbErr> {
    let mut out: HashMap<String, Vec<(NaiveDate, i32)>> = HashMap::new();
    for row in enrollment_level::Entity::find()
        .filter(enrollment_level::Column::EpisodeId.is_in(episode_ids))
        .order_by_asc(enrollment_level::Column::EffectiveOn)
        .all(db)
        .await?
    {
        out.entry(row.episode_id)
            .or_default()
            .push((row.effective_on, row.level_of_care));
    }
    Ok(out)
}

/// Closes an enrollment on `discharged_on`.
pub async fn close<C: ConnectionTrait>(
    db: &C,
    e: enrollment::Model,
    discharged_on: Option<NaiveDate>,
) -> Result<(), DbErr> {
    let mut closed: enrollment::ActiveModel = e.into();
    closed.active = Set(false);
    closed.discharged_on = Set(discharged_on);
    closed.update(db).await?;
    Ok(())
}

/// The tracks the patient is enrolled in.
pub async fn tracks_of<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<Vec<String>, DbErr> {
    Ok(track_member::Entity::find()
        .filter(track_member::Column::PatientId.eq(patient_id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.track_id)
        .collect())
}

/// Whether the patient is enrolled in the track.
pub async fn is_member<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    track_id: &str,
) -> Result<bool, DbErr> {
    Ok(
        track_member::Entity::find_by_id((patient_id.to_owned(), track_id.to_owned()))
            .one(db)
            .await?
            .is_some(),
    )
}

/// Enrolls the patient in the track (nothing if already).
pub async fn join<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    track_id: &str,
) -> Result<(), DbErr> {
    if !is_member(db, patient_id, track_id).await? {
        track_member::ActiveModel {
            patient_id: Set(patient_id.to_owned()),
            track_id: Set(track_id.to_owned()),
            joined_at: Set(Utc::now()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Ends every track membership of the patient.
pub async fn leave_tracks<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<(), DbErr> {
    track_member::Entity::delete_many()
        .filter(track_member::Column::PatientId.eq(patient_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Removes the patient from the tracks not in `keep`.
pub async fn leave_tracks_except<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    keep: &[String],
) -> Result<(), DbErr> {
    track_member::Entity::delete_many()
        .filter(track_member::Column::PatientId.eq(patient_id))
        .filter(track_member::Column::TrackId.is_not_in(keep.iter().cloned()))
        .exec(db)
        .await?;
    Ok(())
}

/// Re-keys everything scheduling holds of `from` to `to` (a merge).
pub async fn merge<C: ConnectionTrait>(db: &C, from: &str, to: &str) -> Result<(), DbErr> {
    enrollment::Entity::update_many()
        .col_expr(enrollment::Column::PatientId, Expr::value(to))
        .filter(enrollment::Column::PatientId.eq(from))
        .exec(db)
        .await?;
    booking::Entity::update_many()
        .col_expr(booking::Column::PatientId, Expr::value(to))
        .filter(booking::Column::PatientId.eq(from))
        .exec(db)
        .await?;
    attendance::Entity::update_many()
        .col_expr(attendance::Column::PatientId, Expr::value(to))
        .filter(attendance::Column::PatientId.eq(from))
        .exec(db)
        .await?;
    weekly_evaluation::Entity::update_many()
        .col_expr(weekly_evaluation::Column::PatientId, Expr::value(to))
        .filter(weekly_evaluation::Column::PatientId.eq(from))
        .exec(db)
        .await?;
    for track_id in tracks_of(db, from).await? {
        track_member::Entity::delete_by_id((from.to_owned(), track_id.clone()))
            .exec(db)
            .await?;
        join(db, to, &track_id).await?;
    }
    Ok(())
}
