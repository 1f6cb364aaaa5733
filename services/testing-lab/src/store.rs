//! Testing-lab's queries and writes, without rules.

use chrono::NaiveDate;
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Alias, Expr, Query},
};

use crate::{
    entity::{draw, medication, order, result, scheduled, specimen, standing_order, work_item},
    error::LabError,
};

/// A facility's time zone, as admissions last described it.
pub async fn time_zone<C: ConnectionTrait>(db: &C, facility_id: &str) -> Result<Tz, LabError> {
    iop_consent::facilities::zone(db, facility_id)
        .await?
        .ok_or_else(|| LabError::UnknownFacility {
            facility_id: facility_id.to_owned(),
        })
}

/// Stores an order.
pub async fn insert_order<C: ConnectionTrait>(db: &C, row: order::Model) -> Result<(), DbErr> {
    order::ActiveModel::from(row).reset_all().insert(db).await?;
    Ok(())
}

/// The order carrying `accession` (compared as written, upper-cased).
pub async fn order_by_accession<C: ConnectionTrait>(
    db: &C,
    accession: &str,
) -> Result<Option<order::Model>, DbErr> {
    order::Entity::find()
        .filter(order::Column::Accession.eq(accession.trim().to_ascii_uppercase()))
        .one(db)
        .await
}

/// The patient's orders, newest first.
pub async fn orders_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<order::Model>, DbErr> {
    order::Entity::find()
        .filter(order::Column::PatientId.eq(patient_id))
        .order_by_desc(order::Column::OrderedAt)
        .all(db)
        .await
}

/// Stores a result.
pub async fn insert_result<C: ConnectionTrait>(db: &C, row: result::Model) -> Result<(), DbErr> {
    result::ActiveModel::from(row)
        .reset_all()
        .insert(db)
        .await?;
    Ok(())
}

/// The patient's results, newest first.
pub async fn results_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<result::Model>, DbErr> {
    result::Entity::find()
        .filter(result::Column::PatientId.eq(patient_id))
        .order_by_desc(result::Column::RecordedAt)
        .all(db)
        .await
}

/// The patient's results collected on `day`.
pub async fn results_on<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    day: NaiveDate,
) -> Result<Vec<result::Model>, DbErr> {
    result::Entity::find()
        .filter(result::Column::PatientId.eq(patient_id))
        .filter(result::Column::CollectedOn.eq(day))
        .all(db)
        .await
}

/// Queues an unmatched message.
pub async fn queue<C: ConnectionTrait>(db: &C, row: work_item::Model) -> Result<(), DbErr> {
    work_item::ActiveModel::from(row)
        .reset_all()
        .insert(db)
        .await?;
    Ok(())
}

/// The unresolved work queue, oldest first.
pub async fn work_queue<C: ConnectionTrait>(db: &C) -> Result<Vec<work_item::Model>, DbErr> {
    work_item::Entity::find()
        .filter(work_item::Column::Resolved.eq(false))
        .order_by_asc(work_item::Column::ReceivedAt)
        .order_by_asc(work_item::Column::Id)
        .all(db)
        .await
}

/// Keeps a medication from clinical (a stop updates it).
pub async fn put_medication<C: ConnectionTrait>(
    db: &C,
    row: medication::Model,
) -> Result<(), DbErr> {
    let found = medication::Entity::find_by_id(&row.id).one(db).await?;
    let active = medication::ActiveModel::from(row).reset_all();
    if found.is_some() {
        active.update(db).await?;
    } else {
        active.insert(db).await?;
    }
    Ok(())
}

/// One medication.
pub async fn medication<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<medication::Model>, DbErr> {
    medication::Entity::find_by_id(id).one(db).await
}

/// The medication classes the patient was taking on `day`.
pub async fn prescribed_on<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    day: NaiveDate,
) -> Result<Vec<i32>, DbErr> {
    Ok(medication::Entity::find()
        .filter(medication::Column::PatientId.eq(patient_id))
        .filter(medication::Column::StartedOn.lte(day))
        .all(db)
        .await?
        .into_iter()
        .filter(|m| m.stopped_on.is_none_or(|s| s >= day))
        .map(|m| m.class)
        .collect())
}

/// Re-keys everything of `from` to `to` (a merge).
pub async fn merge<C: ConnectionTrait>(db: &C, to: &str, from: &str) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for table in [
        "orders",
        "results",
        "medications",
        "scheduled",
        "standing_orders",
    ] {
        let update = Query::update()
            .table(Alias::new(table))
            .value(Alias::new("patient_id"), to)
            .and_where(Expr::col(Alias::new("patient_id")).eq(from))
            .to_owned();
        db.execute(backend.build(&update)).await?;
    }
    Ok(())
}

/// The specimen of an order, if collected.
pub async fn specimen<C: ConnectionTrait>(
    db: &C,
    order_id: &str,
) -> Result<Option<specimen::Model>, DbErr> {
    specimen::Entity::find_by_id(order_id).one(db).await
}

/// Saves an order's specimen (the first collection inserts it).
pub async fn put_specimen<C: ConnectionTrait>(db: &C, row: specimen::Model) -> Result<(), DbErr> {
    let found = specimen::Entity::find_by_id(&row.order_id).one(db).await?;
    let active = specimen::ActiveModel::from(row).reset_all();
    if found.is_some() {
        active.update(db).await?;
    } else {
        active.insert(db).await?;
    }
    Ok(())
}

/// Keeps a booking (a redelivery changes nothing).
pub async fn put_scheduled<C: ConnectionTrait>(db: &C, row: scheduled::Model) -> Result<(), DbErr> {
    if scheduled::Entity::find_by_id(&row.booking_id)
        .one(db)
        .await?
        .is_none()
    {
        scheduled::ActiveModel::from(row)
            .reset_all()
            .insert(db)
            .await?;
    }
    Ok(())
}

/// Forgets a cancelled booking.
pub async fn unschedule<C: ConnectionTrait>(db: &C, booking_id: &str) -> Result<(), DbErr> {
    scheduled::Entity::delete_by_id(booking_id).exec(db).await?;
    Ok(())
}

/// Patients with a session at `facility_id` starting in `[from, to)`, sorted, once each.
pub async fn scheduled_between<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    (from, to): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
) -> Result<Vec<String>, DbErr> {
    let mut ids: Vec<String> = scheduled::Entity::find()
        .filter(scheduled::Column::FacilityId.eq(facility_id))
        .filter(scheduled::Column::StartsAt.gte(from))
        .filter(scheduled::Column::StartsAt.lt(to))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.patient_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The draw of a facility and day, if made.
pub async fn draw<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    day: NaiveDate,
) -> Result<Option<draw::Model>, DbErr> {
    draw::Entity::find_by_id((facility_id.to_owned(), day))
        .one(db)
        .await
}

/// Stores a draw.
pub async fn insert_draw<C: ConnectionTrait>(db: &C, row: draw::Model) -> Result<(), DbErr> {
    draw::ActiveModel::from(row).reset_all().insert(db).await?;
    Ok(())
}

/// Stores a standing order.
pub async fn insert_standing<C: ConnectionTrait>(
    db: &C,
    row: standing_order::Model,
) -> Result<(), DbErr> {
    standing_order::ActiveModel::from(row)
        .reset_all()
        .insert(db)
        .await?;
    Ok(())
}

/// The standing orders of a facility.
pub async fn standing_at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<Vec<standing_order::Model>, DbErr> {
    standing_order::Entity::find()
        .filter(standing_order::Column::FacilityId.eq(facility_id))
        .order_by_asc(standing_order::Column::Id)
        .all(db)
        .await
}

/// When the patient's sessions at the facility start between `from` and `to`.
pub async fn sessions_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    facility_id: &str,
    (from, to): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
) -> Result<Vec<chrono::DateTime<chrono::Utc>>, DbErr> {
    Ok(scheduled::Entity::find()
        .filter(scheduled::Column::PatientId.eq(patient_id))
        .filter(scheduled::Column::FacilityId.eq(facility_id))
        .filter(scheduled::Column::StartsAt.gte(from))
        .filter(scheduled::Column::StartsAt.lt(to))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.starts_at)
        .collect())
}

/// One queued item.
pub async fn work_item<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<work_item::Model>, DbErr> {
    work_item::Entity::find_by_id(id).one(db).await
}

/// Closes a queued item.
pub async fn resolve<C: ConnectionTrait>(db: &C, mut row: work_item::Model) -> Result<(), DbErr> {
    row.resolved = true;
    work_item::ActiveModel::from(row)
        .reset_all()
        .update(db)
        .await?;
    Ok(())
}
