//! What a valid track is: a named, recurring slot of one session type at a
//! facility — which program it delivers, on which weekdays, from when to when
//! (local wall-clock time, the same day), how many patients, which clinician
//! and room. Also which program an episode may join a track of. Pure functions.

use chrono::Weekday;
use iop_proto::{
    common::v1::Program,
    scheduling::v1::{self as pb, LocalTime, SessionType},
};
use iop_runtime::ids::{FacilityId, FieldError};

/// Limits a track must keep (from the `[scheduling]` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackLimits {
    /// Places of a session when the track names none.
    pub default_capacity: u32,
    /// Most places of a session.
    pub max_capacity: u32,
}

/// A track that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrack {
    /// Where.
    pub facility_id: FacilityId,
    /// Its name, trimmed.
    pub name: String,
    /// The program it delivers.
    pub program: Program,
    /// Days of the week it meets, Monday first, once each.
    pub weekdays: Vec<Weekday>,
    /// Local start, minutes after midnight.
    pub start_minute: i32,
    /// Local end, minutes after midnight, after the start.
    pub end_minute: i32,
    /// What kind of session.
    pub session_type: SessionType,
    /// Places per session.
    pub capacity: u32,
    /// Who runs it.
    pub facilitator_id: String,
    /// Where it meets.
    pub room: String,
}

/// A weekday on the wire.
pub fn weekday(v: i32) -> Option<Weekday> {
    Some(match pb::Weekday::try_from(v).ok()? {
        pb::Weekday::Unspecified => return None,
        pb::Weekday::Monday => Weekday::Mon,
        pb::Weekday::Tuesday => Weekday::Tue,
        pb::Weekday::Wednesday => Weekday::Wed,
        pb::Weekday::Thursday => Weekday::Thu,
        pb::Weekday::Friday => Weekday::Fri,
        pb::Weekday::Saturday => Weekday::Sat,
        pb::Weekday::Sunday => Weekday::Sun,
    })
}

/// A weekday as the wire numbers it (ISO: Monday = 1).
pub fn weekday_number(d: Weekday) -> i32 {
    d.number_from_monday() as i32
}

/// A local time of day as minutes after midnight.
pub fn minute_of_day(field: &'static str, t: Option<&LocalTime>) -> Result<i32, FieldError> {
    let t = t.ok_or_else(|| FieldError::required(field))?;
    if !(0..24).contains(&t.hour) || !(0..60).contains(&t.minute) {
        return Err(FieldError::new(
            field,
            "must be a time of day (hour 0-23, minute 0-59)",
        ));
    }
    Ok(t.hour * 60 + t.minute)
}

fn required(field: &'static str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::required(field));
    }
    Ok(value.to_owned())
}

/// Validates a track as submitted, naming the first bad field.
pub fn validate(t: &pb::Track, limits: TrackLimits) -> Result<NewTrack, FieldError> {
    let facility_id = FacilityId::parse("track.facility_id", t.facility_id.trim())?;
    let name = t.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(FieldError::new("track.name", "must be 1 to 100 characters"));
    }
    let program = match Program::try_from(t.program) {
        Ok(Program::Unspecified) | Err(_) => {
            return Err(FieldError::new("track.program", "must be a known program"));
        }
        Ok(p) => p,
    };
    let mut weekdays = Vec::new();
    for d in &t.weekdays {
        let day = weekday(*d)
            .ok_or_else(|| FieldError::new("track.weekdays", "must name days of the week"))?;
        if !weekdays.contains(&day) {
            weekdays.push(day);
        }
    }
    if weekdays.is_empty() {
        return Err(FieldError::new(
            "track.weekdays",
            "at least one day is required",
        ));
    }
    weekdays.sort_by_key(|d| d.number_from_monday());
    let start_minute = minute_of_day("track.starts_at", t.starts_at.as_ref())?;
    let end_minute = minute_of_day("track.ends_at", t.ends_at.as_ref())?;
    if end_minute <= start_minute {
        return Err(FieldError::new(
            "track.ends_at",
            "must be after starts_at, the same day",
        ));
    }
    let session_type = match SessionType::try_from(t.session_type) {
        Ok(SessionType::Unspecified) => SessionType::GroupTherapy,
        Ok(s) => s,
        Err(_) => {
            return Err(FieldError::new(
                "track.session_type",
                "is not a known session type",
            ));
        }
    };
    let capacity = if t.capacity == 0 {
        limits.default_capacity
    } else {
        t.capacity
    };
    // Group counseling holds 2 to 12 (DMC-ODS); the maximum is configurable.
    if !(2..=limits.max_capacity).contains(&capacity) {
        return Err(FieldError::new(
            "track.capacity",
            format!("a group holds 2 to {} participants", limits.max_capacity),
        ));
    }
    Ok(NewTrack {
        facility_id,
        name: name.to_owned(),
        program,
        weekdays,
        start_minute,
        end_minute,
        session_type,
        capacity,
        facilitator_id: required("track.facilitator_id", &t.facilitator_id)?,
        room: required("track.room", &t.room)?,
    })
}

/// Whether an episode in `enrolled` may join a track delivering `track`: the
/// same program, or a combined IOP patient joining a day or evening track.
pub fn program_fits(enrolled: Program, track: Program) -> bool {
    enrolled == track
        || (enrolled == Program::IopCombined
            && matches!(track, Program::IopDay | Program::IopEvening))
}

/// Whether a booking survives a transfer or a program change as it is: the
/// episode stays at the session's facility (`moved_facility` false) and the
/// session is an individual appointment (`track` none) or belongs to a track
/// among `fitting` (those the new program may attend).
pub fn keeps_booking(moved_facility: bool, track: Option<&str>, fitting: &[String]) -> bool {
    !moved_facility && track.is_none_or(|t| fitting.iter().any(|f| f == t))
}

/// What a transfer or program change does to one booking from its effective
/// day on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTransfer {
    /// It fits the new place and program: it stays.
    Keep,
    /// It no longer fits and already took place without attendance recorded:
    /// cancelled (nothing to move it to in the past).
    Cancel,
    /// It no longer fits and lies ahead: moved ([`replacement`]), or
    /// cancelled saying why when nothing fits.
    Move,
    /// Attendance was recorded for it: it stays, for review.
    KeepAttended,
}

/// [`OnTransfer`] of a booking that [`keeps_booking`] decided on (`keeps`),
/// whose session starts `in_past` or not, with attendance `attended`.
pub fn on_transfer(keeps: bool, in_past: bool, attended: bool) -> OnTransfer {
    match (keeps, in_past, attended) {
        (true, _, _) => OnTransfer::Keep,
        (false, true, true) => OnTransfer::KeepAttended,
        (false, true, false) => OnTransfer::Cancel,
        (false, false, _) => OnTransfer::Move,
    }
}

/// Of `candidates` (session id, local start minute, free places), the one a
/// moved booking goes to: a free one at the same time of day as the old
/// session if there is one, else the free one closest in time (earlier on a
/// tie). `None` when none has a free place.
pub fn replacement<'a>(
    old_start_minute: i32,
    candidates: &[(&'a str, i32, bool)],
) -> Option<&'a str> {
    candidates
        .iter()
        .filter(|(_, _, free)| *free)
        .min_by_key(|(_, start, _)| ((start - old_start_minute).abs(), *start))
        .map(|(id, _, _)| *id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn a_transfer_keeps_what_fits_cancels_the_past_and_moves_the_rest() {
        use OnTransfer::*;
        for (keeps, in_past, attended, expected) in [
            (true, true, false, Keep),
            (true, false, false, Keep),
            (false, true, false, Cancel),
            (false, true, true, KeepAttended),
            (false, false, false, Move),
            (false, false, true, Move),
        ] {
            assert_eq!(
                on_transfer(keeps, in_past, attended),
                expected,
                "{keeps} {in_past} {attended}"
            );
        }
    }

    #[test]
    fn a_moved_booking_keeps_its_time_of_day_where_it_can() {
        let evening = 18 * 60;
        let candidates = [("morning", 9 * 60, true), ("evening", evening, true)];
        assert_eq!(replacement(evening, &candidates), Some("evening"));
        let full = [("morning", 9 * 60, true), ("evening", evening, false)];
        assert_eq!(replacement(evening, &full), Some("morning"));
        let none = [("evening", evening, false)];
        assert_eq!(replacement(evening, &none), None);
        assert!(program_fits(Program::IopCombined, Program::IopDay));
        let fitting = ["day".to_owned()];
        assert!(keeps_booking(false, Some("day"), &fitting));
        assert!(
            keeps_booking(false, None, &fitting),
            "an individual appointment"
        );
        assert!(!keeps_booking(false, Some("evening"), &fitting));
        assert!(
            !keeps_booking(true, Some("day"), &fitting),
            "another facility"
        );
        assert!(!program_fits(Program::IopEvening, Program::IopDay));
    }

    const LIMITS: TrackLimits = TrackLimits {
        default_capacity: 12,
        max_capacity: 12,
    };

    fn evening() -> pb::Track {
        pb::Track {
            facility_id: "oakland".into(),
            name: " IOP Evening ".into(),
            program: Program::IopEvening as i32,
            weekdays: vec![4, 2, 3, 2],
            starts_at: Some(LocalTime {
                hour: 18,
                minute: 0,
            }),
            ends_at: Some(LocalTime {
                hour: 21,
                minute: 0,
            }),
            facilitator_id: "dr-lee".into(),
            room: "A".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_track_is_normalised_with_defaults() {
        let t = validate(&evening(), LIMITS).unwrap();
        assert_eq!(t.name, "IOP Evening");
        assert_eq!(t.weekdays, [Weekday::Tue, Weekday::Wed, Weekday::Thu]);
        assert_eq!((t.start_minute, t.end_minute), (18 * 60, 21 * 60));
        assert_eq!(t.session_type, SessionType::GroupTherapy);
        assert_eq!(t.capacity, 12);
    }

    #[test]
    fn each_bad_field_is_named() {
        type Break = fn(&mut pb::Track);
        let cases: Vec<(Break, &str)> = vec![
            (|t| t.facility_id.clear(), "track.facility_id"),
            (|t| t.name = " ".into(), "track.name"),
            (|t| t.name = "x".repeat(101), "track.name"),
            (|t| t.program = 0, "track.program"),
            (|t| t.weekdays.clear(), "track.weekdays"),
            (|t| t.weekdays = vec![9], "track.weekdays"),
            (|t| t.starts_at = None, "track.starts_at"),
            (
                |t| {
                    t.ends_at = Some(LocalTime {
                        hour: 24,
                        minute: 0,
                    })
                },
                "track.ends_at",
            ),
            (
                |t| {
                    t.ends_at = Some(LocalTime {
                        hour: 18,
                        minute: 0,
                    })
                },
                "track.ends_at",
            ),
            (|t| t.session_type = 99, "track.session_type"),
            (|t| t.capacity = 13, "track.capacity"),
            (|t| t.capacity = 1, "track.capacity"),
            (|t| t.facilitator_id = " ".into(), "track.facilitator_id"),
            (|t| t.room.clear(), "track.room"),
        ];
        for (break_it, field) in cases {
            let mut t = evening();
            break_it(&mut t);
            assert_eq!(validate(&t, LIMITS).unwrap_err().field, field);
        }
    }

    #[test]
    fn combined_iop_joins_day_and_evening_tracks() {
        assert!(program_fits(Program::IopCombined, Program::IopDay));
        assert!(program_fits(Program::IopCombined, Program::IopEvening));
        assert!(program_fits(Program::Php, Program::Php));
        assert!(!program_fits(Program::IopDay, Program::IopEvening));
        assert!(!program_fits(Program::IopDay, Program::Php));
    }
}
