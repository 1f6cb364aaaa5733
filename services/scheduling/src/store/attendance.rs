//! Attendance rows, the clinical minutes of a week per patient and day
//! (attended, and held but not marked yet, for any number of patients at
//! once), and the published evaluations of closed weeks.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, Utc};
use iop_proto::scheduling::v1::SessionType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set, sea_query::Expr,
};

use crate::{
    entity::{
        attendance,
        booking::{self, Status},
        weekly_evaluation,
    },
    store::sessions,
};

/// Whether the patient's attendance at the session is recorded.
pub async fn recorded<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
    patient_id: &str,
) -> Result<bool, DbErr> {
    Ok(
        attendance::Entity::find_by_id((session_id.to_owned(), patient_id.to_owned()))
            .one(db)
            .await?
            .is_some(),
    )
}

/// Stores one attendance row.
pub async fn insert<C: ConnectionTrait>(db: &C, row: attendance::ActiveModel) -> Result<(), DbErr> {
    row.insert(db).await?;
    Ok(())
}

/// Clinical minutes per local day, per patient.
pub type MinutesByDay = HashMap<String, BTreeMap<NaiveDate, i64>>;

/// Clinical minutes attended by each of `patients` on each local day of
/// `from..=to`, in one query.
pub async fn attended_minutes<C: ConnectionTrait>(
    db: &C,
    patients: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<MinutesByDay, DbErr> {
    if patients.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, NaiveDate, Option<i64>)> = attendance::Entity::find()
        .select_only()
        .column(attendance::Column::PatientId)
        .column(attendance::Column::LocalDate)
        .column_as(Expr::col(attendance::Column::Minutes).sum(), "minutes")
        .filter(attendance::Column::PatientId.is_in(patients.iter().cloned()))
        .filter(attendance::Column::LocalDate.between(from, to))
        .filter(attendance::Column::Clinical.eq(true))
        .group_by(attendance::Column::PatientId)
        .group_by(attendance::Column::LocalDate)
        .into_tuple()
        .all(db)
        .await?;
    let mut out = MinutesByDay::new();
    for (patient, day, minutes) in rows {
        out.entry(patient)
            .or_default()
            .insert(day, minutes.unwrap_or(0));
    }
    Ok(out)
}

/// Clinical minutes each of `patients` holds bookings for on each local day
/// of `from..=to` that are not marked yet (ahead, or past and still awaiting
/// their attendance): pending, not lost. `clinical` says which session types
/// count.
pub async fn pending_minutes<C: ConnectionTrait>(
    db: &C,
    patients: &[String],
    from: NaiveDate,
    to: NaiveDate,
    clinical: impl Fn(SessionType) -> bool,
) -> Result<MinutesByDay, DbErr> {
    if patients.is_empty() {
        return Ok(HashMap::new());
    }
    let held = booking::Entity::find()
        .filter(booking::Column::PatientId.is_in(patients.iter().cloned()))
        .filter(booking::Column::Status.eq(Status::Booked))
        .all(db)
        .await?;
    let marked: std::collections::HashSet<(String, String)> = attendance::Entity::find()
        .filter(attendance::Column::PatientId.is_in(patients.iter().cloned()))
        .filter(attendance::Column::LocalDate.between(from, to))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.session_id, a.patient_id))
        .collect();
    let by_id = sessions::sessions(db, held.iter().map(|b| b.session_id.clone())).await?;
    let mut minutes = MinutesByDay::new();
    for b in held {
        let Some(s) = by_id.get(&b.session_id) else {
            continue;
        };
        // An unknown stored type cannot be proven clinical: it does not count.
        let counts = SessionType::try_from(s.session_type).is_ok_and(&clinical);
        if !(from..=to).contains(&s.local_date)
            || !counts
            || marked.contains(&(b.session_id.clone(), b.patient_id.clone()))
        {
            continue;
        }
        *minutes
            .entry(b.patient_id)
            .or_default()
            .entry(s.local_date)
            .or_default() += (s.ends_at - s.starts_at).num_minutes();
    }
    Ok(minutes)
}

/// Patients whose week starting `week` is evaluated already, of `patients`.
pub async fn evaluated<C: ConnectionTrait>(
    db: &C,
    patients: &[String],
    week: NaiveDate,
) -> Result<Vec<String>, DbErr> {
    if patients.is_empty() {
        return Ok(Vec::new());
    }
    Ok(weekly_evaluation::Entity::find()
        .filter(weekly_evaluation::Column::PatientId.is_in(patients.iter().cloned()))
        .filter(weekly_evaluation::Column::WeekStart.eq(week))
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.patient_id)
        .collect())
}

/// Folds the merged-away record `from`'s attendance and evaluations into the
/// survivor `to` where both have one (the rest is re-keyed with the
/// enrollments): a session both attended keeps the larger count, and a week
/// both had evaluated loses `from`'s row. Returns those weeks with the
/// facility of `from`'s evaluation, to evaluate again on the combined record.
pub async fn fold_merged<C: ConnectionTrait>(
    db: &C,
    from: &str,
    to: &str,
) -> Result<Vec<(NaiveDate, String)>, DbErr> {
    let theirs = attendance::Entity::find()
        .filter(attendance::Column::PatientId.eq(from))
        .all(db)
        .await?;
    for a in theirs {
        let key = (a.session_id.clone(), to.to_owned());
        if let Some(ours) = attendance::Entity::find_by_id(key).one(db).await? {
            if a.minutes > ours.minutes {
                let mut row: attendance::ActiveModel = ours.into();
                row.minutes = Set(a.minutes);
                row.status = Set(a.status);
                row.update(db).await?;
            }
            attendance::Entity::delete_by_id((a.session_id, from.to_owned()))
                .exec(db)
                .await?;
        }
    }
    let mut both = Vec::new();
    let evaluated = weekly_evaluation::Entity::find()
        .filter(weekly_evaluation::Column::PatientId.eq(from))
        .all(db)
        .await?;
    for e in evaluated {
        let key = (to.to_owned(), e.week_start);
        if weekly_evaluation::Entity::find_by_id(key)
            .one(db)
            .await?
            .is_some()
        {
            weekly_evaluation::Entity::delete_by_id((from.to_owned(), e.week_start))
                .exec(db)
                .await?;
            both.push((e.week_start, e.facility_id));
        }
    }
    Ok(both)
}

/// Replaces a week's stored evaluation (a merge evaluated it again).
pub async fn update_evaluation<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    week: NaiveDate,
    minutes: u32,
    compliance: i32,
) -> Result<(), DbErr> {
    let key = (patient_id.to_owned(), week);
    if let Some(row) = weekly_evaluation::Entity::find_by_id(key).one(db).await? {
        let mut row: weekly_evaluation::ActiveModel = row.into();
        row.minutes = Set(i32::try_from(minutes).unwrap_or(i32::MAX));
        row.compliance = Set(compliance);
        row.evaluated_at = Set(Utc::now());
        row.update(db).await?;
    }
    Ok(())
}

/// Stores a closed week's evaluation.
pub async fn insert_evaluation<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    week: NaiveDate,
    facility_id: &str,
    minutes: u32,
    compliance: i32,
) -> Result<(), DbErr> {
    weekly_evaluation::ActiveModel {
        patient_id: Set(patient_id.to_owned()),
        week_start: Set(week),
        facility_id: Set(facility_id.to_owned()),
        minutes: Set(i32::try_from(minutes).unwrap_or(i32::MAX)),
        compliance: Set(compliance),
        evaluated_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}
