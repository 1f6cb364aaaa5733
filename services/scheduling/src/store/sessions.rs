//! Tracks and sessions: insertion, look-ups, places taken, and the sessions a
//! new one would overlap (same clinician, or same room at the facility).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use iop_messaging::work::{Stream, UnitOfWork};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::Expr,
};

use crate::{
    entity::{
        booking::{self, Status},
        session, track,
    },
    tracks::{NewTrack, weekday_number},
};

/// Stores a validated track.
pub async fn insert_track<C: ConnectionTrait>(db: &C, t: &NewTrack) -> Result<track::Model, DbErr> {
    track::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        facility_id: Set(t.facility_id.to_string()),
        name: Set(t.name.clone()),
        program: Set(t.program as i32),
        weekdays: Set(t
            .weekdays
            .iter()
            .map(|d| weekday_number(*d).to_string())
            .collect::<Vec<_>>()
            .join(",")),
        start_minute: Set(t.start_minute),
        end_minute: Set(t.end_minute),
        session_type: Set(t.session_type as i32),
        capacity: Set(i32::try_from(t.capacity).unwrap_or(i32::MAX)),
        facilitator_id: Set(t.facilitator_id.clone()),
        room: Set(t.room.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
}

/// A track by id.
pub async fn track<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<track::Model>, DbErr> {
    track::Entity::find_by_id(id).one(db).await
}

/// A session by id.
pub async fn session<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<session::Model>, DbErr> {
    session::Entity::find_by_id(id).one(db).await
}

/// Sessions by id, for a set of ids.
pub async fn sessions<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, session::Model>, DbErr> {
    let ids: Vec<String> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(session::Entity::find()
        .filter(session::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect())
}

/// The session a track has on `day`, if generated.
pub async fn of_track_on<C: ConnectionTrait>(
    db: &C,
    track_id: &str,
    day: NaiveDate,
) -> Result<Option<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::TrackId.eq(track_id))
        .filter(session::Column::LocalDate.eq(day))
        .one(db)
        .await
}

/// The sessions of any of `track_ids` on `day`.
pub async fn of_tracks_on<C: ConnectionTrait>(
    db: &C,
    track_ids: Vec<String>,
    day: NaiveDate,
) -> Result<Vec<session::Model>, DbErr> {
    if track_ids.is_empty() {
        return Ok(Vec::new());
    }
    session::Entity::find()
        .filter(session::Column::TrackId.is_in(track_ids))
        .filter(session::Column::LocalDate.eq(day))
        .order_by_asc(session::Column::StartsAt)
        .all(db)
        .await
}

/// A track's sessions starting after `after`, earliest first.
pub async fn upcoming_of_track<C: ConnectionTrait>(
    db: &C,
    track_id: &str,
    after: DateTime<Utc>,
) -> Result<Vec<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::TrackId.eq(track_id))
        .filter(session::Column::StartsAt.gt(after))
        .order_by_asc(session::Column::StartsAt)
        .all(db)
        .await
}

/// A facility's sessions on local days `from..=to`, by start.
pub async fn at_facility_between<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::FacilityId.eq(facility_id))
        .filter(session::Column::LocalDate.between(from, to))
        .order_by_asc(session::Column::StartsAt)
        .all(db)
        .await
}

/// Tracks at `facility_id` whose program an episode in `program` may attend
/// (`tracks::program_fits`), with their programs.
pub async fn tracks_fitting<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    program: iop_proto::common::v1::Program,
) -> Result<Vec<track::Model>, DbErr> {
    Ok(track::Entity::find()
        .filter(track::Column::FacilityId.eq(facility_id))
        .all(db)
        .await?
        .into_iter()
        .filter(|t| {
            iop_proto::common::v1::Program::try_from(t.program)
                .is_ok_and(|p| crate::tracks::program_fits(program, p))
        })
        .collect())
}

/// Stores a new session.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    s: session::ActiveModel,
) -> Result<session::Model, DbErr> {
    s.insert(db).await
}

/// Claims the calendars of `clinician` and of `room` at `facility_id` for the
/// rest of the unit of work, before [`clashes`] reads them: on PostgreSQL two
/// commands placing the same clinician or room at the same time then run one
/// after the other instead of both seeing the slot free. Lock order, the same
/// on every path so no two commands wait on each other in a cycle: clinician,
/// room, then (when booking) patient, then session.
pub async fn claim_calendars(
    work: &mut UnitOfWork,
    facility_id: &str,
    clinician: &str,
    room: &str,
) -> Result<(), DbErr> {
    work.lock(Stream {
        aggregate: "clinician",
        id: clinician,
    })
    .await?;
    let room = format!("{facility_id}/{room}");
    work.lock(Stream {
        aggregate: "room",
        id: &room,
    })
    .await?;
    Ok(())
}

/// The sessions overlapping `[start, end)` of `clinician` (anywhere) and in
/// `room` at `facility_id`, if any.
pub async fn clashes<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    clinician: &str,
    room: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(Option<String>, Option<String>), DbErr> {
    let overlapping = || {
        session::Entity::find()
            .filter(session::Column::StartsAt.lt(end))
            .filter(session::Column::EndsAt.gt(start))
    };
    let clinician = overlapping()
        .filter(session::Column::FacilitatorId.eq(clinician))
        .one(db)
        .await?
        .map(|s| s.id);
    let room = overlapping()
        .filter(session::Column::Room.eq(room))
        .filter(session::Column::FacilityId.eq(facility_id))
        .one(db)
        .await?
        .map(|s| s.id);
    Ok((clinician, room))
}

/// Places taken in each of `session_ids` (absent: none), in one query.
pub async fn booked_counts<C: ConnectionTrait>(
    db: &C,
    session_ids: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, u64>, DbErr> {
    let ids: Vec<String> = session_ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = booking::Entity::find()
        .select_only()
        .column(booking::Column::SessionId)
        .column_as(Expr::col(booking::Column::Id).count(), "taken")
        .filter(booking::Column::SessionId.is_in(ids))
        .filter(booking::Column::Status.eq(Status::Booked))
        .group_by(booking::Column::SessionId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Places taken in one session.
pub async fn booked<C: ConnectionTrait>(db: &C, session_id: &str) -> Result<u64, DbErr> {
    Ok(booked_counts(db, [session_id.to_owned()])
        .await?
        .get(session_id)
        .copied()
        .unwrap_or(0))
}
