//! The view's queries and writes, without rules: reads for the API, and the
//! writes the event handlers make inside the consumer's unit of work.

use chrono::Utc;
use iop_messaging::consumer::ApplyError;
use iop_proto::{patientview::v1::CareStatus, scheduling::events::v1::AttendanceRecorded};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, sea_query::Expr,
};

use crate::{
    entity::{attendance, clinical_item, position, timeline, view},
    fold::{EpisodeState, PatientState},
};

/// The view row of `patient_id`.
pub async fn view<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Option<view::Model>, DbErr> {
    view::Entity::find_by_id(patient_id).one(db).await
}

/// Rows of the records merged into `patient_id`.
pub async fn merged_into<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<view::Model>, DbErr> {
    view::Entity::find()
        .filter(view::Column::MergedInto.eq(patient_id))
        .order_by_asc(view::Column::PatientId)
        .all(db)
        .await
}

/// The patient's timeline, in the order the view applied it.
pub async fn timeline<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<timeline::Model>, DbErr> {
    timeline::Entity::find()
        .filter(timeline::Column::PatientId.eq(patient_id))
        .order_by_asc(timeline::Column::Position)
        .all(db)
        .await
}

/// The highest sequence of `source` applied for `patient_id` (0 if none).
pub async fn applied_sequence<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    source: &str,
) -> Result<i64, DbErr> {
    Ok(
        position::Entity::find_by_id((patient_id.to_owned(), source.to_owned()))
            .one(db)
            .await?
            .map_or(0, |p| p.sequence),
    )
}

/// The patient's latest week with attendance.
pub async fn latest_week<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Option<attendance::Model>, DbErr> {
    attendance::Entity::find_by_id(patient_id).one(db).await
}

/// A stored view row as the fold's state. A stored status the contract does
/// not know is a broken invariant, reported rather than defaulted.
pub fn state_of(m: view::Model) -> Result<PatientState, ApplyError> {
    let status = CareStatus::try_from(m.status).map_err(|_| {
        ApplyError::Permanent(format!(
            "stored view of {} has status {}",
            m.patient_id, m.status
        ))
    })?;
    Ok(PatientState {
        mrn: m.mrn,
        given_name: m.given_name,
        middle_name: m.middle_name,
        family_name: m.family_name,
        preferred_name: m.preferred_name,
        date_of_birth: m.date_of_birth,
        registered_facility_id: m.registered_facility_id,
        status,
        episode: match (m.episode_id, m.facility_id) {
            (Some(episode_id), Some(facility_id)) => Some(EpisodeState {
                episode_id,
                facility_id,
                program: m.program,
                level_of_care: m.level_of_care,
                admitted_on: m.admitted_on,
            }),
            _ => None,
        },
    })
}

/// Writes the view row of `patient_id`.
pub async fn save<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    s: &PatientState,
    exists: bool,
    merged_into: Option<String>,
) -> Result<(), DbErr> {
    let ep = s.episode.as_ref();
    let model = view::ActiveModel {
        patient_id: Set(patient_id.to_owned()),
        mrn: Set(s.mrn.clone()),
        given_name: Set(s.given_name.clone()),
        middle_name: Set(s.middle_name.clone()),
        family_name: Set(s.family_name.clone()),
        preferred_name: Set(s.preferred_name.clone()),
        date_of_birth: Set(s.date_of_birth),
        registered_facility_id: Set(s.registered_facility_id.clone()),
        status: Set(s.status as i32),
        episode_id: Set(ep.map(|e| e.episode_id.clone())),
        facility_id: Set(ep.map(|e| e.facility_id.clone())),
        program: Set(ep.map_or(0, |e| e.program)),
        level_of_care: Set(ep.map_or(0, |e| e.level_of_care)),
        admitted_on: Set(ep.and_then(|e| e.admitted_on)),
        updated_at: Set(Utc::now()),
        merged_into: Set(merged_into),
    };
    if exists {
        model.update(db).await?;
    } else {
        model.insert(db).await?;
    }
    Ok(())
}

/// Raises the applied sequence of `source` for `patient_id` to `sequence`.
pub async fn advance<C: ConnectionTrait>(
    db: &C,
    source: &str,
    patient_id: &str,
    sequence: i64,
) -> Result<(), DbErr> {
    let key = (patient_id.to_owned(), source.to_owned());
    match position::Entity::find_by_id(key).one(db).await? {
        Some(p) if p.sequence >= sequence => {}
        Some(p) => {
            let mut p: position::ActiveModel = p.into();
            p.sequence = Set(sequence);
            p.update(db).await?;
        }
        None => {
            position::ActiveModel {
                patient_id: Set(patient_id.to_owned()),
                source: Set(source.to_owned()),
                sequence: Set(sequence),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Re-keys the merged-away record's timeline to the survivor and points its
/// row (and rows merged into it) at the survivor; the row stays, so reads of
/// its id and its events still in flight find their way.
pub async fn merge<C: ConnectionTrait>(
    db: &C,
    survivor: &str,
    merged_away: &str,
) -> Result<(), DbErr> {
    match view(db, merged_away).await? {
        Some(row) => {
            let mut row: view::ActiveModel = row.into();
            row.merged_into = Set(Some(survivor.to_owned()));
            row.update(db).await?;
        }
        None => {
            save(
                db,
                merged_away,
                &PatientState::default(),
                false,
                Some(survivor.to_owned()),
            )
            .await?;
        }
    }
    view::Entity::update_many()
        .col_expr(view::Column::MergedInto, Expr::value(survivor))
        .filter(view::Column::MergedInto.eq(merged_away))
        .exec(db)
        .await?;
    timeline::Entity::update_many()
        .col_expr(timeline::Column::PatientId, Expr::value(survivor))
        .filter(timeline::Column::PatientId.eq(merged_away))
        .exec(db)
        .await?;
    merge_weeks(db, survivor, merged_away).await?;
    merge_clinical(db, survivor, merged_away).await
}

/// The merged-away record's clinical items join the survivor's; where both
/// have one (the same instrument, the plan), the survivor's stays.
async fn merge_clinical<C: ConnectionTrait>(
    db: &C,
    survivor: &str,
    merged_away: &str,
) -> Result<(), DbErr> {
    let ours = clinical_items(db, survivor).await?;
    for item in clinical_items(db, merged_away).await? {
        let taken = ours
            .iter()
            .any(|o| o.kind == item.kind && o.item_key == item.item_key);
        clinical_item::Entity::delete_by_id((
            item.patient_id.clone(),
            item.kind.clone(),
            item.item_key.clone(),
        ))
        .exec(db)
        .await?;
        if !taken {
            clinical_item::ActiveModel {
                patient_id: Set(survivor.to_owned()),
                kind: Set(item.kind),
                item_key: Set(item.item_key),
                body: Set(item.body),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// The patient's clinical items, by kind and key.
pub async fn clinical_items<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<clinical_item::Model>, DbErr> {
    clinical_item::Entity::find()
        .filter(clinical_item::Column::PatientId.eq(patient_id))
        .order_by_asc(clinical_item::Column::Kind)
        .order_by_asc(clinical_item::Column::ItemKey)
        .all(db)
        .await
}

/// Applies a clinical fact's change to `owner`'s items.
pub async fn apply_clinical<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    change: crate::clinical::Change,
) -> Result<(), DbErr> {
    use crate::clinical::Change;
    match change {
        Change::Put { kind, key, body } => {
            let id = (owner.to_owned(), kind.to_owned(), key);
            let found = clinical_item::Entity::find_by_id(id.clone())
                .one(db)
                .await?;
            let row = clinical_item::ActiveModel {
                patient_id: Set(id.0),
                kind: Set(id.1),
                item_key: Set(id.2),
                body: Set(body),
            };
            if found.is_some() {
                row.update(db).await?;
            } else {
                row.insert(db).await?;
            }
        }
        Change::Remove { kind, key } => {
            clinical_item::Entity::delete_by_id((owner.to_owned(), kind.to_owned(), key))
                .exec(db)
                .await?;
        }
        Change::None => {}
    }
    Ok(())
}

/// The merged-away record's week joins the survivor's: the same week sums
/// (one person attended both), a later one replaces the survivor's, an
/// earlier one is past. Its row goes, so nothing counts it twice.
async fn merge_weeks<C: ConnectionTrait>(
    db: &C,
    survivor: &str,
    merged_away: &str,
) -> Result<(), DbErr> {
    let Some(theirs) = latest_week(db, merged_away).await? else {
        return Ok(());
    };
    match latest_week(db, survivor).await? {
        Some(ours) if ours.week_start > theirs.week_start => {}
        Some(ours) => {
            let total = if ours.week_start == theirs.week_start {
                ours.minutes.saturating_add(theirs.minutes)
            } else {
                theirs.minutes
            };
            let mut row: attendance::ActiveModel = ours.into();
            row.week_start = Set(theirs.week_start);
            row.time_zone = Set(theirs.time_zone.clone());
            row.minutes = Set(total);
            row.update(db).await?;
        }
        None => {
            attendance::ActiveModel {
                patient_id: Set(survivor.to_owned()),
                week_start: Set(theirs.week_start),
                time_zone: Set(theirs.time_zone.clone()),
                minutes: Set(theirs.minutes),
            }
            .insert(db)
            .await?;
        }
    }
    attendance::Entity::delete_by_id(merged_away.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// Adds an attendance's clinical minutes to the patient's latest week; an
/// attendance of an earlier week (recorded late) does not move it back.
pub async fn count_attendance<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    week: chrono::NaiveDate,
    a: &AttendanceRecorded,
) -> Result<(), DbErr> {
    let minutes = if a.clinical {
        i32::try_from(a.minutes).unwrap_or(i32::MAX)
    } else {
        0
    };
    match latest_week(db, owner).await? {
        Some(row) if row.week_start > week => {}
        Some(row) => {
            let total = if row.week_start == week {
                row.minutes.saturating_add(minutes)
            } else {
                minutes
            };
            let mut row: attendance::ActiveModel = row.into();
            row.week_start = Set(week);
            row.time_zone = Set(a.time_zone.clone());
            row.minutes = Set(total);
            row.update(db).await?;
        }
        None => {
            attendance::ActiveModel {
                patient_id: Set(owner.to_owned()),
                week_start: Set(week),
                time_zone: Set(a.time_zone.clone()),
                minutes: Set(minutes),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Appends an applied event to `owner`'s timeline.
pub async fn append_timeline<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    event: &iop_messaging::cloudevents::InboundEvent,
    facility_id: &str,
) -> Result<(), DbErr> {
    timeline::ActiveModel {
        position: sea_orm::NotSet,
        event_id: Set(event.id.clone()),
        patient_id: Set(owner.to_owned()),
        event_type: Set(event.event_type.clone()),
        occurred_at: Set(event.time),
        facility_id: Set(facility_id.to_owned()),
    }
    .insert(db)
    .await?;
    Ok(())
}
