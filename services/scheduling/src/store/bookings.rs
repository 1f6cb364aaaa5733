//! Bookings: taking a place (the booking rules over facts gathered under the
//! patient's and the session's stream locks), cancelling one, and the look-ups both need. Each
//! change emits its event in the same unit of work.

use chrono::{DateTime, Utc};
use iop_messaging::work::{Stream, UnitOfWork};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use crate::{
    booking::{self as rules, Episode, Occupancy, Place},
    entity::{
        booking::{self, Status},
        session,
    },
    error::SchedulingError,
    events,
    store::{enrollments, sessions},
};

/// A booking by id.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<booking::Model>, DbErr> {
    booking::Entity::find_by_id(id).one(db).await
}

/// The patient's held booking of `session_id`, if any.
pub async fn held<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    session_id: &str,
) -> Result<Option<booking::Model>, DbErr> {
    booking::Entity::find()
        .filter(booking::Column::PatientId.eq(patient_id))
        .filter(booking::Column::SessionId.eq(session_id))
        .filter(booking::Column::Status.eq(Status::Booked))
        .one(db)
        .await
}

/// A held booking of the patient overlapping `[start, end)`, if any.
async fn overlapping<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Option<booking::Model>, DbErr> {
    booking::Entity::find()
        .filter(booking::Column::PatientId.eq(patient_id))
        .filter(booking::Column::Status.eq(Status::Booked))
        .filter(booking::Column::StartsAt.lt(end))
        .filter(booking::Column::EndsAt.gt(start))
        .one(db)
        .await
}

/// The patient's held bookings starting after `after` (every one: `None`),
/// earliest first. No sentinel instant stands for "ever": PostgreSQL refuses
/// timestamps before 4713 BC, such as `DateTime::MIN_UTC`.
pub async fn upcoming<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    after: Option<DateTime<Utc>>,
) -> Result<Vec<booking::Model>, DbErr> {
    let mut held = booking::Entity::find()
        .filter(booking::Column::PatientId.eq(patient_id))
        .filter(booking::Column::Status.eq(Status::Booked));
    if let Some(after) = after {
        held = held.filter(booking::Column::StartsAt.gt(after));
    }
    held.order_by_asc(booking::Column::StartsAt).all(db).await
}

/// Books the patient into `s` if the booking rules allow it; emits `SessionBooked`.
pub async fn book(
    work: &mut UnitOfWork,
    patient_id: &str,
    s: &session::Model,
) -> Result<booking::Model, SchedulingError> {
    work.lock(Stream::patient(patient_id)).await?;
    // The session's places are counted under its own lock, so concurrent
    // bookings of different patients cannot both take the last place.
    work.lock(Stream {
        aggregate: "session",
        id: &s.id,
    })
    .await?;
    let txn = work.txn();
    let enrolled = enrollments::active(txn, patient_id).await?;
    let already = held(txn, patient_id, &s.id).await?;
    let taken = sessions::booked(txn, &s.id).await?;
    let clash = overlapping(txn, patient_id, s.starts_at, s.ends_at).await?;
    rules::check(
        patient_id,
        enrolled.as_ref().map(|e| Episode {
            facility_id: &e.facility_id,
            admitted_on: e.admitted_on,
        }),
        Place {
            session_id: &s.id,
            facility_id: &s.facility_id,
            local_date: s.local_date,
            capacity: s.capacity,
        },
        Occupancy {
            already: already.as_ref().map(|b| b.id.as_str()),
            taken,
            overlapping: clash
                .as_ref()
                .map(|b| (b.id.as_str(), b.session_id.as_str())),
        },
    )?;
    let now = Utc::now();
    let b = booking::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        patient_id: Set(patient_id.to_owned()),
        session_id: Set(s.id.clone()),
        facility_id: Set(s.facility_id.clone()),
        status: Set(Status::Booked),
        cancel_reason: Set(String::new()),
        starts_at: Set(s.starts_at),
        ends_at: Set(s.ends_at),
        created_at: Set(now),
    }
    .insert(work.txn())
    .await?;
    work.emit(
        Stream::patient(patient_id),
        &events::session_booked(&b, s, now),
    )
    .await?;
    Ok(b)
}

/// Cancels a booking with `reason`; emits `BookingCancelled`.
pub async fn cancel(
    work: &mut UnitOfWork,
    b: booking::Model,
    reason: &str,
) -> Result<booking::Model, SchedulingError> {
    let patient_id = b.patient_id.clone();
    let mut row: booking::ActiveModel = b.into();
    row.status = Set(Status::Cancelled);
    row.cancel_reason = Set(reason.to_owned());
    let b = row.update(work.txn()).await?;
    work.emit(
        Stream::patient(&patient_id),
        &events::booking_cancelled(&b, reason, Utc::now()),
    )
    .await?;
    Ok(b)
}
