//! Scheduling's rows in their wire form, and the wire's dates and times in
//! typed form.

use chrono::{NaiveDate, NaiveTime};
use iop_proto::scheduling::v1::{
    Booking, BookingStatus, Enrollment, LocalTime, Session, Track, WeeklyHours,
};
use iop_runtime::wire;

use crate::{
    entity::{booking, enrollment, session, track},
    hours::Week,
};

/// Minutes after midnight on the wire.
pub fn local_time(minute: i32) -> LocalTime {
    LocalTime {
        hour: minute / 60,
        minute: minute % 60,
    }
}

/// Minutes after midnight as a time of day (stored values are 0..1440).
pub fn naive_time(minute: i32) -> Option<NaiveTime> {
    let m = u32::try_from(minute).ok()?;
    NaiveTime::from_hms_opt(m / 60, m % 60, 0)
}

/// A stored track.
pub fn track(t: &track::Model) -> Track {
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

/// A stored session with the places taken.
pub fn session(s: &session::Model, booked: u64) -> Session {
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

/// A stored booking.
pub fn booking(b: &booking::Model) -> Booking {
    Booking {
        booking_id: b.id.clone(),
        patient_id: b.patient_id.clone(),
        session_id: b.session_id.clone(),
        status: match b.status {
            booking::Status::Booked => BookingStatus::Booked,
            booking::Status::Cancelled => BookingStatus::Cancelled,
        } as i32,
        cancel_reason: b.cancel_reason.clone(),
        starts_at: Some(wire::timestamp(b.starts_at)),
        facility_id: b.facility_id.clone(),
    }
}

/// A stored enrollment, with the tracks the patient is in.
pub fn enrollment(e: &enrollment::Model, track_ids: Vec<String>) -> Enrollment {
    Enrollment {
        patient_id: e.patient_id.clone(),
        episode_id: e.episode_id.clone(),
        facility_id: e.facility_id.clone(),
        program: e.program,
        level_of_care: e.level_of_care,
        age_group: e.age_group,
        admitted_on: Some(wire::date(e.admitted_on)),
        active: e.active,
        track_ids,
    }
}

/// A judged week.
pub fn weekly_hours(patient_id: &str, week_start: NaiveDate, w: &Week) -> WeeklyHours {
    WeeklyHours {
        patient_id: patient_id.to_owned(),
        week_start: Some(wire::date(week_start)),
        attended_minutes: w.attended_minutes,
        booked_minutes: w.booked_minutes,
        band_min_hours: w.band_min_hours(),
        band_below_hours: w.band_below_hours(),
        compliance: w.compliance as i32,
        full_days: w.full_days,
        min_days: w.day_rule.map_or(0, |r| r.days),
        min_minutes_per_day: w.day_rule.map_or(0, |r| r.minutes_per_day),
        episode_days: w.episode_days,
        required_minutes: w.required_minutes,
        levels: level_days(w),
    }
}

/// The runs of days at one level of a judged week, as the contract states them.
pub fn level_days(w: &Week) -> Vec<iop_proto::scheduling::v1::LevelDays> {
    (w.levels.iter())
        .map(|(level, days)| iop_proto::scheduling::v1::LevelDays {
            level_of_care: *level as i32,
            days: *days,
        })
        .collect()
}
