//! Storage operations shared by the gRPC face and the admissions-event handler:
//! each patient's event stream in this context, the booking rules (episode,
//! capacity, no double booking) and cancellation, each emitting its event in the
//! caller's transaction.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use iop_messaging::outbox::{NewEvent, Outbox};
use iop_proto::scheduling::events::v1 as events;
use iop_runtime::wire;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};

use crate::{
    entity::{booking, enrollment, facility, patient_stream, session},
    error::SchedulingError,
};

pub(crate) const BOOKED: &str = "booked";
pub(crate) const CANCELLED: &str = "cancelled";
const AGGREGATE: &str = "patient";

/// Claims the patient's next event sequence in this context. The optimistic
/// check on `version` makes a concurrent writer fail (ABORTED, or a retry in
/// the consumer) rather than interleave sequences.
pub(crate) async fn next_sequence<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<i64, SchedulingError> {
    match patient_stream::Entity::find_by_id(patient_id)
        .one(db)
        .await?
    {
        None => {
            patient_stream::ActiveModel {
                patient_id: Set(patient_id.to_owned()),
                version: Set(1),
            }
            .insert(db)
            .await?;
            Ok(1)
        }
        Some(s) => {
            let next = s.version + 1;
            let bumped = patient_stream::Entity::update_many()
                .col_expr(patient_stream::Column::Version, Expr::value(next))
                .filter(patient_stream::Column::PatientId.eq(patient_id))
                .filter(patient_stream::Column::Version.eq(s.version))
                .exec(db)
                .await?;
            if bumped.rows_affected != 1 {
                return Err(SchedulingError::Conflict(patient_id.to_owned()));
            }
            Ok(next)
        }
    }
}

/// Appends `event` to the patient's stream in the caller's transaction;
/// returns its sequence.
pub(crate) async fn emit<C: ConnectionTrait, M: prost::Name>(
    db: &C,
    outbox: &Outbox,
    patient_id: &str,
    event: &M,
) -> Result<i64, SchedulingError> {
    let sequence = next_sequence(db, patient_id).await?;
    outbox
        .append(db, NewEvent::of(AGGREGATE, patient_id, sequence, event))
        .await?;
    Ok(sequence)
}

/// The patient's active enrollment, if admitted.
pub(crate) async fn active_enrollment<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Option<enrollment::Model>, SchedulingError> {
    Ok(enrollment::Entity::find()
        .filter(enrollment::Column::PatientId.eq(patient_id))
        .filter(enrollment::Column::Active.eq(true))
        .one(db)
        .await?)
}

/// A facility's time zone, as admissions last described it.
pub(crate) async fn time_zone<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<Tz, SchedulingError> {
    let f = facility::Entity::find_by_id(facility_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            SchedulingError::Precondition(format!(
                "facility {facility_id} is not known to scheduling yet (no FacilityRecorded event)"
            ))
        })?;
    f.time_zone.parse().map_err(|_| {
        SchedulingError::Precondition(format!("facility {facility_id} has no valid time zone"))
    })
}

/// A booked booking of the patient overlapping `[start, end)`, if any.
pub(crate) async fn patient_overlap<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Option<booking::Model>, SchedulingError> {
    Ok(booking::Entity::find()
        .filter(booking::Column::PatientId.eq(patient_id))
        .filter(booking::Column::Status.eq(BOOKED))
        .filter(booking::Column::StartsAt.lt(end))
        .filter(booking::Column::EndsAt.gt(start))
        .one(db)
        .await?)
}

/// Fails, naming the session, when the clinician or the room (at `facility_id`)
/// already has a session overlapping `[start, end)`.
pub(crate) async fn staff_and_room_free<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    clinician: &str,
    room: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(), SchedulingError> {
    let overlapping = || {
        session::Entity::find()
            .filter(session::Column::StartsAt.lt(end))
            .filter(session::Column::EndsAt.gt(start))
    };
    if let Some(s) = overlapping()
        .filter(session::Column::FacilitatorId.eq(clinician))
        .one(db)
        .await?
    {
        return Err(SchedulingError::Precondition(format!(
            "clinician {clinician} is double-booked: session {} overlaps",
            s.id
        )));
    }
    if let Some(s) = overlapping()
        .filter(session::Column::Room.eq(room))
        .filter(session::Column::FacilityId.eq(facility_id))
        .one(db)
        .await?
    {
        return Err(SchedulingError::Precondition(format!(
            "room {room} is double-booked: session {} overlaps",
            s.id
        )));
    }
    Ok(())
}

/// Patients booked into a session.
pub(crate) async fn booked<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
) -> Result<u64, SchedulingError> {
    Ok(booking::Entity::find()
        .filter(booking::Column::SessionId.eq(session_id))
        .filter(booking::Column::Status.eq(BOOKED))
        .count(db)
        .await?)
}

/// Whether a session has a free place.
pub(crate) async fn has_place<C: ConnectionTrait>(
    db: &C,
    s: &session::Model,
) -> Result<bool, SchedulingError> {
    Ok(booked(db, &s.id).await? < u64::try_from(s.capacity).unwrap_or(0))
}

/// Books the patient into `s` after checking the rules: an active episode at
/// the session's facility covering its day, not booked there already, a free
/// place, no overlapping booking of the patient. Each refusal names what it
/// conflicts with. Emits `SessionBooked`.
pub(crate) async fn book<C: ConnectionTrait>(
    db: &C,
    outbox: &Outbox,
    patient_id: &str,
    s: &session::Model,
) -> Result<booking::Model, SchedulingError> {
    let enrolled = active_enrollment(db, patient_id).await?.ok_or_else(|| {
        SchedulingError::Precondition(format!("patient {patient_id} has no active episode"))
    })?;
    if enrolled.facility_id != s.facility_id {
        return Err(SchedulingError::Precondition(format!(
            "patient {patient_id}'s episode is at facility {}, not {}",
            enrolled.facility_id, s.facility_id
        )));
    }
    if s.local_date < enrolled.admitted_on {
        return Err(SchedulingError::Precondition(format!(
            "session {} is before patient {patient_id}'s admission on {}",
            s.id, enrolled.admitted_on
        )));
    }
    if let Some(existing) = booking::Entity::find()
        .filter(booking::Column::PatientId.eq(patient_id))
        .filter(booking::Column::SessionId.eq(&s.id))
        .filter(booking::Column::Status.eq(BOOKED))
        .one(db)
        .await?
    {
        return Err(SchedulingError::Precondition(format!(
            "patient {patient_id} is already booked for session {} (booking {})",
            s.id, existing.id
        )));
    }
    let taken = booked(db, &s.id).await?;
    if taken >= u64::try_from(s.capacity).unwrap_or(0) {
        return Err(SchedulingError::Precondition(format!(
            "session {} is full ({taken} of {} places)",
            s.id, s.capacity
        )));
    }
    if let Some(clash) = patient_overlap(db, patient_id, s.starts_at, s.ends_at).await? {
        return Err(SchedulingError::Precondition(format!(
            "patient {patient_id} is double-booked: booking {} (session {}) overlaps session {}",
            clash.id, clash.session_id, s.id
        )));
    }
    let now = Utc::now();
    let b = booking::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        patient_id: Set(patient_id.to_owned()),
        session_id: Set(s.id.clone()),
        facility_id: Set(s.facility_id.clone()),
        status: Set(BOOKED.to_owned()),
        cancel_reason: Set(String::new()),
        starts_at: Set(s.starts_at),
        ends_at: Set(s.ends_at),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    let event = events::SessionBooked {
        patient_id: patient_id.to_owned(),
        booking_id: b.id.clone(),
        session_id: s.id.clone(),
        facility_id: s.facility_id.clone(),
        session_type: s.session_type,
        starts_at: Some(wire::timestamp(s.starts_at)),
        ends_at: Some(wire::timestamp(s.ends_at)),
        occurred_at: Some(wire::timestamp(now)),
    };
    emit(db, outbox, patient_id, &event).await?;
    Ok(b)
}

/// Cancels a booking with `reason`; emits `BookingCancelled`.
pub(crate) async fn cancel<C: ConnectionTrait>(
    db: &C,
    outbox: &Outbox,
    b: booking::Model,
    reason: &str,
) -> Result<booking::Model, SchedulingError> {
    let patient_id = b.patient_id.clone();
    let mut row: booking::ActiveModel = b.into();
    row.status = Set(CANCELLED.to_owned());
    row.cancel_reason = Set(reason.to_owned());
    let b = row.update(db).await?;
    let event = events::BookingCancelled {
        patient_id: patient_id.clone(),
        booking_id: b.id.clone(),
        session_id: b.session_id.clone(),
        reason: reason.to_owned(),
        occurred_at: Some(wire::timestamp(Utc::now())),
    };
    emit(db, outbox, &patient_id, &event).await?;
    Ok(b)
}

/// The patient's booked sessions starting after `after`, earliest first.
pub(crate) async fn future_bookings<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    after: DateTime<Utc>,
) -> Result<Vec<booking::Model>, SchedulingError> {
    Ok(booking::Entity::find()
        .filter(booking::Column::PatientId.eq(patient_id))
        .filter(booking::Column::Status.eq(BOOKED))
        .filter(booking::Column::StartsAt.gt(after))
        .order_by_asc(booking::Column::StartsAt)
        .all(db)
        .await?)
}
