//! The gRPC face of scheduling: authorises the caller (role, then facility),
//! validates requests, and runs each command in one transaction with the events
//! it emits and its audit row.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use iop_messaging::outbox::Outbox;
use iop_proto::{
    common::v1::{AgeGroup, LevelOfCare, Program},
    scheduling::{
        events::v1 as events,
        v1::{
            self as api, AttendanceRecord, AttendanceStatus, Booking, BookingStatus, Enrollment,
            LocalTime, Session, SessionType, Track, WeeklyHours,
            scheduling_service_server::SchedulingService,
        },
    },
};
use iop_runtime::{
    audit::{self, AuditEntry, Outcome, Purpose},
    auth::{Caller, Role},
    db::Database,
    wire,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use tonic::{Request, Response, Status};

use crate::{
    attendance::{self as rules, Mark},
    calendar,
    entity::{attendance, booking, enrollment, session, track, track_member, weekly_evaluation},
    error::SchedulingError,
    schedule::{self, BOOKED},
};

/// Who arranges the schedule: tracks, sessions, bookings.
const SCHEDULERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Admin];
/// Who records attendance and closes weeks.
const FACILITATORS: &[Role] = &[Role::Clinician, Role::Intake, Role::Admin];
/// Who reads schedules and hours.
const READERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Billing, Role::Admin];
/// Group sessions hold 12 patients unless the track says otherwise.
const DEFAULT_CAPACITY: u32 = 12;
const MAX_CAPACITY: u32 = 100;
/// Most entries in one attendance call.
const MAX_ENTRIES: usize = 200;

type Result<T> = std::result::Result<T, SchedulingError>;

/// `iop.scheduling.v1.SchedulingService`.
#[derive(Clone)]
pub struct SchedulingApi {
    db: Database,
    outbox: Outbox,
}

impl SchedulingApi {
    /// The service over its database and outbox.
    pub fn new(db: Database, outbox: Outbox) -> Self {
        Self { db, outbox }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SchedulingError {
    SchedulingError::invalid(field, reason)
}

fn uuid(field: &'static str, value: &str) -> Result<String> {
    uuid::Uuid::parse_str(value)
        .map(|u| u.to_string())
        .map_err(|_| invalid(field, "must be a UUID"))
}

fn date(field: &'static str, d: Option<&iop_proto::common::v1::Date>) -> Result<Option<NaiveDate>> {
    match d {
        None => Ok(None),
        Some(d) => wire::naive_date(Some(d))
            .map(Some)
            .ok_or_else(|| invalid(field, "is not a calendar date")),
    }
}

fn minute_of_day(field: &'static str, t: Option<&LocalTime>) -> Result<i32> {
    let t = t.ok_or_else(|| invalid(field, "is required"))?;
    if !(0..24).contains(&t.hour) || !(0..60).contains(&t.minute) {
        return Err(invalid(
            field,
            "must be a time of day (hour 0-23, minute 0-59)",
        ));
    }
    Ok(t.hour * 60 + t.minute)
}

fn local_time(minute: i32) -> LocalTime {
    LocalTime {
        hour: minute / 60,
        minute: minute % 60,
    }
}

fn naive_time(minute: i32) -> NaiveTime {
    let m = u32::try_from(minute).unwrap_or(0);
    NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap_or(NaiveTime::MIN)
}

fn weekday(v: i32) -> Option<Weekday> {
    Some(match api::Weekday::try_from(v).ok()? {
        api::Weekday::Unspecified => return None,
        api::Weekday::Monday => Weekday::Mon,
        api::Weekday::Tuesday => Weekday::Tue,
        api::Weekday::Wednesday => Weekday::Wed,
        api::Weekday::Thursday => Weekday::Thu,
        api::Weekday::Friday => Weekday::Fri,
        api::Weekday::Saturday => Weekday::Sat,
        api::Weekday::Sunday => Weekday::Sun,
    })
}

fn weekdays_of(stored: &str) -> Vec<Weekday> {
    stored
        .split(',')
        .filter_map(|d| d.parse::<i32>().ok())
        .filter_map(weekday)
        .collect()
}

fn track_message(t: &track::Model) -> Track {
    Track {
        track_id: t.id.clone(),
        facility_id: t.facility_id.clone(),
        name: t.name.clone(),
        program: t.program,
        weekdays: t
            .weekdays
            .split(',')
            .filter_map(|d| d.parse().ok())
            .collect(),
        starts_at: Some(local_time(t.start_minute)),
        ends_at: Some(local_time(t.end_minute)),
        session_type: t.session_type,
        capacity: u32::try_from(t.capacity).unwrap_or(0),
        facilitator_id: t.facilitator_id.clone(),
        room: t.room.clone(),
    }
}

fn session_message(s: &session::Model, booked: u64) -> Session {
    Session {
        session_id: s.id.clone(),
        facility_id: s.facility_id.clone(),
        track_id: s.track_id.clone().unwrap_or_default(),
        session_type: s.session_type,
        starts_at: Some(wire::timestamp(s.starts_at)),
        ends_at: Some(wire::timestamp(s.ends_at)),
        local_date: Some(wire::date(s.local_date)),
        local_start: Some(local_time(s.local_start_minute)),
        local_end: Some(local_time(s.local_end_minute)),
        facilitator_id: s.facilitator_id.clone(),
        room: s.room.clone(),
        capacity: u32::try_from(s.capacity).unwrap_or(0),
        booked: u32::try_from(booked).unwrap_or(u32::MAX),
    }
}

fn booking_message(b: &booking::Model) -> Booking {
    Booking {
        booking_id: b.id.clone(),
        patient_id: b.patient_id.clone(),
        session_id: b.session_id.clone(),
        status: if b.status == BOOKED {
            BookingStatus::Booked
        } else {
            BookingStatus::Cancelled
        } as i32,
        cancel_reason: b.cancel_reason.clone(),
        starts_at: Some(wire::timestamp(b.starts_at)),
        facility_id: b.facility_id.clone(),
    }
}

fn program_fits(enrolled: i32, track: i32) -> bool {
    enrolled == track
        || (enrolled == Program::IopCombined as i32
            && (track == Program::IopDay as i32 || track == Program::IopEvening as i32))
}

fn require_facility(caller: &Caller, facility_id: &str) -> Result<()> {
    if caller.acts_for(facility_id) {
        Ok(())
    } else {
        Err(SchedulingError::PermissionDenied(format!(
            "caller does not act for facility {facility_id}"
        )))
    }
}

impl SchedulingApi {
    async fn audit<C: ConnectionTrait>(
        &self,
        db: &C,
        caller: &Caller,
        action: &str,
        patient_id: Option<&str>,
        facility_id: &str,
        purpose: Purpose,
    ) -> Result<()> {
        audit::record(
            db,
            AuditEntry {
                caller,
                action,
                patient_id,
                facility_id: Some(facility_id),
                purpose,
                outcome: Outcome::Allowed,
            },
        )
        .await?;
        Ok(())
    }

    async fn session(&self, id: &str) -> Result<session::Model> {
        let id = uuid("session_id", id)?;
        session::Entity::find_by_id(&id)
            .one(self.db.conn())
            .await?
            .ok_or(SchedulingError::NotFound {
                what: "session",
                id,
            })
    }

    async fn track(&self, id: &str) -> Result<track::Model> {
        let id = uuid("track_id", id)?;
        track::Entity::find_by_id(&id)
            .one(self.db.conn())
            .await?
            .ok_or(SchedulingError::NotFound { what: "track", id })
    }

    /// The patient's enrollment to read: the active one, else the latest. The
    /// caller must act for a facility where the patient has (had) an episode;
    /// denials are audited.
    async fn readable_enrollment(
        &self,
        caller: &Caller,
        purpose: Purpose,
        action: &str,
        patient_id: &str,
    ) -> Result<enrollment::Model> {
        let patient_id = uuid("patient_id", patient_id)?;
        let all = enrollment::Entity::find()
            .filter(enrollment::Column::PatientId.eq(&patient_id))
            .order_by_desc(enrollment::Column::CreatedAt)
            .all(self.db.conn())
            .await?;
        let Some(current) = all.iter().find(|e| e.active).or(all.first()).cloned() else {
            return Err(SchedulingError::NotFound {
                what: "enrollment of patient",
                id: patient_id,
            });
        };
        let known: Vec<String> = all.iter().map(|e| e.facility_id.clone()).collect();
        let basis = iop_consent::access::facility_access(
            |f| caller.acts_for(f),
            &known,
            &[],
            purpose,
            Utc::now(),
        );
        let txn = self.db.begin_write().await?;
        let outcome = if basis.is_some() {
            Outcome::Allowed
        } else {
            Outcome::Denied
        };
        audit::record(
            &*txn,
            AuditEntry {
                caller,
                action,
                patient_id: Some(&patient_id),
                facility_id: basis.as_ref().map(|b| b.facility_id()),
                purpose,
                outcome,
            },
        )
        .await?;
        txn.commit().await?;
        if basis.is_none() {
            return Err(SchedulingError::PermissionDenied(format!(
                "caller acts for no facility where patient {patient_id} has an episode"
            )));
        }
        Ok(current)
    }

    /// Hours of `e`'s patient in the week starting `week_start` (facility time).
    async fn week_hours<C: ConnectionTrait>(
        db: &C,
        e: &enrollment::Model,
        week_start: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<WeeklyHours> {
        let week_end = week_start + Days::new(6);
        let attended: i64 = attendance::Entity::find()
            .filter(attendance::Column::PatientId.eq(&e.patient_id))
            .filter(attendance::Column::LocalDate.between(week_start, week_end))
            .filter(attendance::Column::Clinical.eq(true))
            .all(db)
            .await?
            .iter()
            .map(|a| i64::from(a.minutes))
            .sum();
        let mut booked = 0i64;
        for b in schedule::future_bookings(db, &e.patient_id, now).await? {
            if let Some(s) = session::Entity::find_by_id(&b.session_id).one(db).await?
                && (week_start..=week_end).contains(&s.local_date)
                && rules::clinical(SessionType::try_from(s.session_type).unwrap_or_default())
            {
                booked += (s.ends_at - s.starts_at).num_minutes();
            }
        }
        let level = LevelOfCare::try_from(e.level_of_care).unwrap_or_default();
        let band = iop_care::weekly_hours_band(level, e.age_group == AgeGroup::Adolescent as i32);
        let attended = u32::try_from(attended).unwrap_or(u32::MAX);
        Ok(WeeklyHours {
            patient_id: e.patient_id.clone(),
            week_start: Some(wire::date(week_start)),
            attended_minutes: attended,
            booked_minutes: u32::try_from(booked).unwrap_or(u32::MAX),
            band_min_hours: band.map_or(0, |b| b.at_least.into()),
            band_below_hours: band.and_then(|b| b.below).map_or(0, u32::from),
            compliance: rules::compliance(band, attended) as i32,
        })
    }

    async fn create_track(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::CreateTrackRequest,
    ) -> Result<api::CreateTrackResponse> {
        let t = req.track.ok_or_else(|| invalid("track", "is required"))?;
        let facility_id = t.facility_id.trim().to_owned();
        if facility_id.is_empty() {
            return Err(invalid("track.facility_id", "is required"));
        }
        require_facility(caller, &facility_id)?;
        schedule::time_zone(self.db.conn(), &facility_id).await?;
        let name = t.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("track.name", "must be 1 to 100 characters"));
        }
        if matches!(
            Program::try_from(t.program),
            Ok(Program::Unspecified) | Err(_)
        ) {
            return Err(invalid("track.program", "must be a known program"));
        }
        let mut days: Vec<i32> = Vec::new();
        for d in &t.weekdays {
            if weekday(*d).is_none() {
                return Err(invalid("track.weekdays", "must name days of the week"));
            }
            if !days.contains(d) {
                days.push(*d);
            }
        }
        if days.is_empty() {
            return Err(invalid("track.weekdays", "at least one day is required"));
        }
        days.sort_unstable();
        let start = minute_of_day("track.starts_at", t.starts_at.as_ref())?;
        let end = minute_of_day("track.ends_at", t.ends_at.as_ref())?;
        if end <= start {
            return Err(invalid(
                "track.ends_at",
                "must be after starts_at, the same day",
            ));
        }
        let session_type = match SessionType::try_from(t.session_type) {
            Ok(SessionType::Unspecified) => SessionType::GroupTherapy,
            Ok(s) => s,
            Err(_) => return Err(invalid("track.session_type", "is not a known session type")),
        };
        let capacity = if t.capacity == 0 {
            DEFAULT_CAPACITY
        } else {
            t.capacity
        };
        if capacity > MAX_CAPACITY {
            return Err(invalid(
                "track.capacity",
                format!("must be at most {MAX_CAPACITY}"),
            ));
        }
        if t.facilitator_id.trim().is_empty() {
            return Err(invalid("track.facilitator_id", "is required"));
        }
        if t.room.trim().is_empty() {
            return Err(invalid("track.room", "is required"));
        }
        let txn = self.db.begin_write().await?;
        let stored = track::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            facility_id: Set(facility_id.clone()),
            name: Set(name.to_owned()),
            program: Set(t.program),
            weekdays: Set(days
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(",")),
            start_minute: Set(start),
            end_minute: Set(end),
            session_type: Set(session_type as i32),
            capacity: Set(i32::try_from(capacity).unwrap_or(i32::MAX)),
            facilitator_id: Set(t.facilitator_id.trim().to_owned()),
            room: Set(t.room.trim().to_owned()),
            created_at: Set(Utc::now()),
        }
        .insert(&*txn)
        .await?;
        self.audit(
            &*txn,
            caller,
            "scheduling.CreateTrack",
            None,
            &facility_id,
            purpose,
        )
        .await?;
        txn.commit().await?;
        Ok(api::CreateTrackResponse {
            track: Some(track_message(&stored)),
        })
    }

    async fn generate_sessions(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::GenerateSessionsRequest,
    ) -> Result<api::GenerateSessionsResponse> {
        let t = self.track(&req.track_id).await?;
        require_facility(caller, &t.facility_id)?;
        let from =
            date("from", req.from.as_ref())?.ok_or_else(|| invalid("from", "is required"))?;
        let to = date("to", req.to.as_ref())?.ok_or_else(|| invalid("to", "is required"))?;
        if to < from
            || (to - from).num_days() > i64::try_from(calendar::MAX_RANGE_DAYS).unwrap_or(366)
        {
            return Err(invalid(
                "to",
                format!(
                    "must be from `from` to {} days after it",
                    calendar::MAX_RANGE_DAYS
                ),
            ));
        }
        let tz: Tz = schedule::time_zone(self.db.conn(), &t.facility_id).await?;
        let txn = self.db.begin_write().await?;
        let mut out = Vec::new();
        for day in calendar::occurrences(from, to, &weekdays_of(&t.weekdays)) {
            let existing = session::Entity::find()
                .filter(session::Column::TrackId.eq(&t.id))
                .filter(session::Column::LocalDate.eq(day))
                .one(&*txn)
                .await?;
            let s = match existing {
                Some(s) => s,
                None => {
                    let starts_at = calendar::instant(day, naive_time(t.start_minute), tz);
                    let ends_at = calendar::instant(day, naive_time(t.end_minute), tz);
                    schedule::staff_and_room_free(
                        &*txn,
                        &t.facility_id,
                        &t.facilitator_id,
                        &t.room,
                        starts_at,
                        ends_at,
                    )
                    .await?;
                    session::ActiveModel {
                        id: Set(uuid::Uuid::now_v7().to_string()),
                        facility_id: Set(t.facility_id.clone()),
                        track_id: Set(Some(t.id.clone())),
                        session_type: Set(t.session_type),
                        starts_at: Set(starts_at),
                        ends_at: Set(ends_at),
                        local_date: Set(day),
                        local_start_minute: Set(t.start_minute),
                        local_end_minute: Set(t.end_minute),
                        facilitator_id: Set(t.facilitator_id.clone()),
                        room: Set(t.room.clone()),
                        capacity: Set(t.capacity),
                    }
                    .insert(&*txn)
                    .await?
                }
            };
            let booked = schedule::booked(&*txn, &s.id).await?;
            out.push(session_message(&s, booked));
        }
        self.audit(
            &*txn,
            caller,
            "scheduling.GenerateSessions",
            None,
            &t.facility_id,
            purpose,
        )
        .await?;
        txn.commit().await?;
        Ok(api::GenerateSessionsResponse { sessions: out })
    }

    async fn list_sessions(
        &self,
        caller: &Caller,
        _purpose: Purpose,
        req: api::ListSessionsRequest,
    ) -> Result<api::ListSessionsResponse> {
        require_facility(caller, &req.facility_id)?;
        let from =
            date("from", req.from.as_ref())?.ok_or_else(|| invalid("from", "is required"))?;
        let to = date("to", req.to.as_ref())?.ok_or_else(|| invalid("to", "is required"))?;
        let db = self.db.conn();
        let mut sessions = Vec::new();
        for s in session::Entity::find()
            .filter(session::Column::FacilityId.eq(&req.facility_id))
            .filter(session::Column::LocalDate.between(from, to))
            .order_by_asc(session::Column::StartsAt)
            .all(db)
            .await?
        {
            let booked = schedule::booked(db, &s.id).await?;
            sessions.push(session_message(&s, booked));
        }
        Ok(api::ListSessionsResponse { sessions })
    }

    async fn get_enrollment(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::GetEnrollmentRequest,
    ) -> Result<api::GetEnrollmentResponse> {
        let e = self
            .readable_enrollment(caller, purpose, "scheduling.GetEnrollment", &req.patient_id)
            .await?;
        let db = self.db.conn();
        let track_ids = track_member::Entity::find()
            .filter(track_member::Column::PatientId.eq(&e.patient_id))
            .all(db)
            .await?
            .into_iter()
            .map(|m| m.track_id)
            .collect();
        let bookings = schedule::future_bookings(db, &e.patient_id, Utc::now()).await?;
        Ok(api::GetEnrollmentResponse {
            enrollment: Some(Enrollment {
                patient_id: e.patient_id.clone(),
                episode_id: e.episode_id.clone(),
                facility_id: e.facility_id.clone(),
                program: e.program,
                level_of_care: e.level_of_care,
                age_group: e.age_group,
                admitted_on: Some(wire::date(e.admitted_on)),
                active: e.active,
                track_ids,
            }),
            bookings: bookings.iter().map(booking_message).collect(),
        })
    }

    async fn enroll_in_track(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::EnrollInTrackRequest,
    ) -> Result<api::EnrollInTrackResponse> {
        let patient_id = uuid("patient_id", &req.patient_id)?;
        let t = self.track(&req.track_id).await?;
        require_facility(caller, &t.facility_id)?;
        let txn = self.db.begin_write().await?;
        let e = schedule::active_enrollment(&*txn, &patient_id)
            .await?
            .ok_or_else(|| {
                SchedulingError::Precondition(format!("patient {patient_id} has no active episode"))
            })?;
        if e.facility_id != t.facility_id {
            return Err(SchedulingError::Precondition(format!(
                "patient {patient_id}'s episode is at facility {}, not {}",
                e.facility_id, t.facility_id
            )));
        }
        if !program_fits(e.program, t.program) {
            return Err(SchedulingError::Precondition(format!(
                "track {} delivers {}, not the episode's {}",
                t.id,
                Program::try_from(t.program)
                    .unwrap_or_default()
                    .as_str_name(),
                Program::try_from(e.program)
                    .unwrap_or_default()
                    .as_str_name()
            )));
        }
        if track_member::Entity::find_by_id((patient_id.clone(), t.id.clone()))
            .one(&*txn)
            .await?
            .is_some()
        {
            return Err(SchedulingError::Precondition(format!(
                "patient {patient_id} is already enrolled in track {}",
                t.id
            )));
        }
        let now = Utc::now();
        let upcoming = session::Entity::find()
            .filter(session::Column::TrackId.eq(&t.id))
            .filter(session::Column::StartsAt.gt(now))
            .order_by_asc(session::Column::StartsAt)
            .all(&*txn)
            .await?;
        let mut bookings = Vec::new();
        for s in &upcoming {
            // All or nothing: a conflict on any session rolls the enrollment back.
            bookings.push(schedule::book(&*txn, &self.outbox, &patient_id, s).await?);
        }
        track_member::ActiveModel {
            patient_id: Set(patient_id.clone()),
            track_id: Set(t.id.clone()),
            joined_at: Set(now),
        }
        .insert(&*txn)
        .await?;
        let event = events::TrackJoined {
            patient_id: patient_id.clone(),
            track_id: t.id.clone(),
            facility_id: t.facility_id.clone(),
            occurred_at: Some(wire::timestamp(now)),
        };
        schedule::emit(&*txn, &self.outbox, &patient_id, &event).await?;
        self.audit(
            &*txn,
            caller,
            "scheduling.EnrollInTrack",
            Some(&patient_id),
            &t.facility_id,
            purpose,
        )
        .await?;
        txn.commit().await?;
        self.outbox.committed();
        Ok(api::EnrollInTrackResponse {
            bookings: bookings.iter().map(booking_message).collect(),
        })
    }

    async fn book_session(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::BookSessionRequest,
    ) -> Result<api::BookSessionResponse> {
        let patient_id = uuid("patient_id", &req.patient_id)?;
        let s = self.session(&req.session_id).await?;
        require_facility(caller, &s.facility_id)?;
        let txn = self.db.begin_write().await?;
        let b = schedule::book(&*txn, &self.outbox, &patient_id, &s).await?;
        self.audit(
            &*txn,
            caller,
            "scheduling.BookSession",
            Some(&patient_id),
            &s.facility_id,
            purpose,
        )
        .await?;
        txn.commit().await?;
        self.outbox.committed();
        Ok(api::BookSessionResponse {
            booking: Some(booking_message(&b)),
        })
    }

    async fn book_individual(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::BookIndividualRequest,
    ) -> Result<api::BookIndividualResponse> {
        let patient_id = uuid("patient_id", &req.patient_id)?;
        let facility_id = req.facility_id.trim().to_owned();
        if facility_id.is_empty() {
            return Err(invalid("facility_id", "is required"));
        }
        require_facility(caller, &facility_id)?;
        let clinician = req.clinician_id.trim().to_owned();
        if clinician.is_empty() {
            return Err(invalid("clinician_id", "is required"));
        }
        let room = req.room.trim().to_owned();
        if room.is_empty() {
            return Err(invalid("room", "is required"));
        }
        let start = wire::instant(req.starts_at.as_ref())
            .ok_or_else(|| invalid("starts_at", "is required"))?;
        if !(15..=240).contains(&req.duration_minutes) {
            return Err(invalid("duration_minutes", "must be 15 to 240"));
        }
        let end = start + chrono::Duration::minutes(i64::from(req.duration_minutes));
        let session_type = match SessionType::try_from(req.session_type) {
            Ok(SessionType::Unspecified) => SessionType::IndividualTherapy,
            Ok(s) => s,
            Err(_) => return Err(invalid("session_type", "is not a known session type")),
        };
        let tz = schedule::time_zone(self.db.conn(), &facility_id).await?;
        let txn = self.db.begin_write().await?;
        schedule::staff_and_room_free(&*txn, &facility_id, &clinician, &room, start, end).await?;
        let local_start = calendar::local(start, tz);
        let local_end = calendar::local(end, tz);
        let minute = |t: chrono::NaiveDateTime| {
            use chrono::Timelike;
            i32::try_from(t.hour() * 60 + t.minute()).unwrap_or(0)
        };
        let s = session::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            facility_id: Set(facility_id.clone()),
            track_id: Set(None),
            session_type: Set(session_type as i32),
            starts_at: Set(start),
            ends_at: Set(end),
            local_date: Set(local_start.date()),
            local_start_minute: Set(minute(local_start)),
            local_end_minute: Set(minute(local_end)),
            facilitator_id: Set(clinician),
            room: Set(room),
            capacity: Set(1),
        }
        .insert(&*txn)
        .await?;
        let b = schedule::book(&*txn, &self.outbox, &patient_id, &s).await?;
        self.audit(
            &*txn,
            caller,
            "scheduling.BookIndividual",
            Some(&patient_id),
            &facility_id,
            purpose,
        )
        .await?;
        txn.commit().await?;
        self.outbox.committed();
        Ok(api::BookIndividualResponse {
            booking: Some(booking_message(&b)),
            session: Some(session_message(&s, 1)),
        })
    }

    async fn cancel_booking(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::CancelBookingRequest,
    ) -> Result<api::CancelBookingResponse> {
        let id = uuid("booking_id", &req.booking_id)?;
        let reason = req.reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(invalid("reason", "must say why, in 1 to 500 characters"));
        }
        let txn = self.db.begin_write().await?;
        let b = booking::Entity::find_by_id(&id).one(&*txn).await?.ok_or(
            SchedulingError::NotFound {
                what: "booking",
                id: id.clone(),
            },
        )?;
        require_facility(caller, &b.facility_id)?;
        if b.status != BOOKED {
            return Err(SchedulingError::Precondition(format!(
                "booking {id} is already cancelled"
            )));
        }
        let (patient_id, facility_id) = (b.patient_id.clone(), b.facility_id.clone());
        let b = schedule::cancel(&*txn, &self.outbox, b, reason).await?;
        self.audit(
            &*txn,
            caller,
            "scheduling.CancelBooking",
            Some(&patient_id),
            &facility_id,
            purpose,
        )
        .await?;
        txn.commit().await?;
        self.outbox.committed();
        Ok(api::CancelBookingResponse {
            booking: Some(booking_message(&b)),
        })
    }

    async fn record_attendance(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::RecordAttendanceRequest,
    ) -> Result<api::RecordAttendanceResponse> {
        let s = self.session(&req.session_id).await?;
        require_facility(caller, &s.facility_id)?;
        if req.entries.is_empty() || req.entries.len() > MAX_ENTRIES {
            return Err(invalid(
                "entries",
                format!("must hold 1 to {MAX_ENTRIES} patients"),
            ));
        }
        let now = Utc::now();
        if s.starts_at > now {
            return Err(SchedulingError::Precondition(format!(
                "session {} has not started",
                s.id
            )));
        }
        let tz = schedule::time_zone(self.db.conn(), &s.facility_id).await?;
        let session_type = SessionType::try_from(s.session_type).unwrap_or_default();
        let clinical = rules::clinical(session_type);
        let week_start = calendar::week_start(s.local_date);
        let txn = self.db.begin_write().await?;
        let mut records = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for entry in &req.entries {
            let patient_id = uuid("entries.patient_id", &entry.patient_id)?;
            if !seen.insert(patient_id.clone()) {
                return Err(invalid(
                    "entries.patient_id",
                    format!("patient {patient_id} is listed twice"),
                ));
            }
            let status = AttendanceStatus::try_from(entry.status).unwrap_or_default();
            let mark = Mark {
                status,
                checked_in: wire::instant(entry.checked_in_at.as_ref()),
                checked_out: wire::instant(entry.checked_out_at.as_ref()),
                minutes: entry.minutes,
            };
            let minutes = rules::minutes(s.starts_at, s.ends_at, &mark)?;
            let booked = booking::Entity::find()
                .filter(booking::Column::SessionId.eq(&s.id))
                .filter(booking::Column::PatientId.eq(&patient_id))
                .filter(booking::Column::Status.eq(BOOKED))
                .one(&*txn)
                .await?;
            if booked.is_none() {
                return Err(SchedulingError::Precondition(format!(
                    "patient {patient_id} is not booked for session {}",
                    s.id
                )));
            }
            if attendance::Entity::find_by_id((s.id.clone(), patient_id.clone()))
                .one(&*txn)
                .await?
                .is_some()
            {
                return Err(SchedulingError::Precondition(format!(
                    "attendance of patient {patient_id} at session {} is already recorded",
                    s.id
                )));
            }
            attendance::ActiveModel {
                session_id: Set(s.id.clone()),
                patient_id: Set(patient_id.clone()),
                status: Set(status as i32),
                minutes: Set(i32::try_from(minutes).unwrap_or(i32::MAX)),
                clinical: Set(clinical),
                local_date: Set(s.local_date),
                checked_in_at: Set(mark.checked_in),
                checked_out_at: Set(mark.checked_out),
                recorded_at: Set(now),
                recorded_by: Set(caller.subject().to_owned()),
            }
            .insert(&*txn)
            .await?;
            let event = events::AttendanceRecorded {
                patient_id: patient_id.clone(),
                session_id: s.id.clone(),
                facility_id: s.facility_id.clone(),
                session_type: s.session_type,
                status: status as i32,
                minutes,
                clinical,
                service_date: Some(wire::date(s.local_date)),
                week_start: Some(wire::date(week_start)),
                time_zone: tz.name().to_owned(),
                occurred_at: Some(wire::timestamp(now)),
            };
            schedule::emit(&*txn, &self.outbox, &patient_id, &event).await?;
            self.audit(
                &*txn,
                caller,
                "scheduling.RecordAttendance",
                Some(&patient_id),
                &s.facility_id,
                purpose,
            )
            .await?;
            records.push(AttendanceRecord {
                patient_id,
                status: status as i32,
                minutes,
            });
        }
        txn.commit().await?;
        self.outbox.committed();
        Ok(api::RecordAttendanceResponse { records })
    }

    async fn week_of(
        &self,
        facility_id: &str,
        week_of: Option<&iop_proto::common::v1::Date>,
    ) -> Result<NaiveDate> {
        let tz = schedule::time_zone(self.db.conn(), facility_id).await?;
        let day = match date("week_of", week_of)? {
            Some(d) => d,
            None => calendar::local(Utc::now(), tz).date(),
        };
        Ok(calendar::week_start(day))
    }

    async fn get_weekly_hours(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::GetWeeklyHoursRequest,
    ) -> Result<api::GetWeeklyHoursResponse> {
        let e = self
            .readable_enrollment(
                caller,
                purpose,
                "scheduling.GetWeeklyHours",
                &req.patient_id,
            )
            .await?;
        let week = self.week_of(&e.facility_id, req.week_of.as_ref()).await?;
        let hours = Self::week_hours(self.db.conn(), &e, week, Utc::now()).await?;
        Ok(api::GetWeeklyHoursResponse { hours: Some(hours) })
    }

    async fn list_at_risk(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::ListAtRiskRequest,
    ) -> Result<api::ListAtRiskResponse> {
        require_facility(caller, &req.facility_id)?;
        let week = self.week_of(&req.facility_id, req.week_of.as_ref()).await?;
        let db = self.db.conn();
        let now = Utc::now();
        let mut at_risk = Vec::new();
        for e in enrollment::Entity::find()
            .filter(enrollment::Column::FacilityId.eq(&req.facility_id))
            .filter(enrollment::Column::Active.eq(true))
            .order_by_asc(enrollment::Column::PatientId)
            .all(db)
            .await?
        {
            let h = Self::week_hours(db, &e, week, now).await?;
            if h.band_min_hours > 0 && h.attended_minutes + h.booked_minutes < h.band_min_hours * 60
            {
                at_risk.push(h);
            }
        }
        let txn = self.db.begin_write().await?;
        for h in &at_risk {
            self.audit(
                &*txn,
                caller,
                "scheduling.ListAtRisk",
                Some(&h.patient_id),
                &req.facility_id,
                purpose,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(api::ListAtRiskResponse { at_risk })
    }

    async fn close_week(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: api::CloseWeekRequest,
    ) -> Result<api::CloseWeekResponse> {
        require_facility(caller, &req.facility_id)?;
        let tz = schedule::time_zone(self.db.conn(), &req.facility_id).await?;
        let week = self.week_of(&req.facility_id, req.week_of.as_ref()).await?;
        let next = week + Days::new(7);
        if calendar::local(Utc::now(), tz).date() < next {
            return Err(SchedulingError::Precondition(format!(
                "the week of {week} has not ended at facility {}",
                req.facility_id
            )));
        }
        let now = Utc::now();
        let txn = self.db.begin_write().await?;
        let mut evaluated = Vec::new();
        for e in enrollment::Entity::find()
            .filter(enrollment::Column::FacilityId.eq(&req.facility_id))
            .filter(enrollment::Column::AdmittedOn.lt(next))
            .order_by_asc(enrollment::Column::PatientId)
            .all(&*txn)
            .await?
        {
            if e.discharged_on.is_some_and(|d| d < week) {
                continue;
            }
            let h = Self::week_hours(&*txn, &e, week, now).await?;
            let done = weekly_evaluation::Entity::find_by_id((e.patient_id.clone(), week))
                .one(&*txn)
                .await?;
            if done.is_none() {
                weekly_evaluation::ActiveModel {
                    patient_id: Set(e.patient_id.clone()),
                    week_start: Set(week),
                    facility_id: Set(req.facility_id.clone()),
                    minutes: Set(i32::try_from(h.attended_minutes).unwrap_or(i32::MAX)),
                    compliance: Set(h.compliance),
                    evaluated_at: Set(now),
                }
                .insert(&*txn)
                .await?;
                let event = events::WeeklyHoursEvaluated {
                    patient_id: e.patient_id.clone(),
                    facility_id: req.facility_id.clone(),
                    week_start: Some(wire::date(week)),
                    attended_minutes: h.attended_minutes,
                    band_min_hours: h.band_min_hours,
                    band_below_hours: h.band_below_hours,
                    compliance: h.compliance,
                    level_of_care: e.level_of_care,
                    occurred_at: Some(wire::timestamp(now)),
                };
                schedule::emit(&*txn, &self.outbox, &e.patient_id, &event).await?;
                self.audit(
                    &*txn,
                    caller,
                    "scheduling.CloseWeek",
                    Some(&e.patient_id),
                    &req.facility_id,
                    purpose,
                )
                .await?;
            }
            evaluated.push(h);
        }
        txn.commit().await?;
        self.outbox.committed();
        Ok(api::CloseWeekResponse { evaluated })
    }
}

fn begin<T>(
    request: &Request<T>,
    roles: &[Role],
) -> std::result::Result<(Caller, Purpose), Status> {
    let caller = Caller::of(request)?;
    caller.require_role(roles)?;
    Ok((caller, Purpose::from_metadata(request.metadata())?))
}

/// The service: per RPC, the roles allowed, then the handler.
macro_rules! service {
    ($($name:ident($req:ident) -> $resp:ident, $roles:expr;)*) => {
        #[tonic::async_trait]
        impl SchedulingService for SchedulingApi {
            $(
                async fn $name(
                    &self,
                    request: Request<api::$req>,
                ) -> std::result::Result<Response<api::$resp>, Status> {
                    let (caller, purpose) = begin(&request, $roles)?;
                    Ok(Response::new(self.$name(&caller, purpose, request.into_inner()).await?))
                }
            )*
        }
    };
}

service! {
    create_track(CreateTrackRequest) -> CreateTrackResponse, SCHEDULERS;
    generate_sessions(GenerateSessionsRequest) -> GenerateSessionsResponse, SCHEDULERS;
    list_sessions(ListSessionsRequest) -> ListSessionsResponse, READERS;
    get_enrollment(GetEnrollmentRequest) -> GetEnrollmentResponse, READERS;
    enroll_in_track(EnrollInTrackRequest) -> EnrollInTrackResponse, SCHEDULERS;
    book_session(BookSessionRequest) -> BookSessionResponse, SCHEDULERS;
    book_individual(BookIndividualRequest) -> BookIndividualResponse, SCHEDULERS;
    cancel_booking(CancelBookingRequest) -> CancelBookingResponse, SCHEDULERS;
    record_attendance(RecordAttendanceRequest) -> RecordAttendanceResponse, FACILITATORS;
    get_weekly_hours(GetWeeklyHoursRequest) -> GetWeeklyHoursResponse, READERS;
    list_at_risk(ListAtRiskRequest) -> ListAtRiskResponse, READERS;
    close_week(CloseWeekRequest) -> CloseWeekResponse, FACILITATORS;
}
