//! When a patient may take a place in a session, in the order the rules are
//! checked: an active episode, at the session's facility, begun by the
//! session's day; not booked there already; a free place; no overlapping
//! booking of the patient. A new session (generated or individual) must also
//! not overlap another session of the same clinician or in the same room.
//! Pure: the caller gathers the facts (under the patient's stream lock).

use chrono::NaiveDate;

use crate::error::SchedulingError;

/// The patient's active episode, as scheduling knows it.
#[derive(Debug, Clone, Copy)]
pub struct Episode<'a> {
    /// Where.
    pub facility_id: &'a str,
    /// First day.
    pub admitted_on: NaiveDate,
}

/// The session asked for.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The session.
    pub session_id: &'a str,
    /// Where it is.
    pub facility_id: &'a str,
    /// Its local day.
    pub local_date: NaiveDate,
    /// Places in all.
    pub capacity: i32,
}

/// What else is true of the patient and the session at this moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Occupancy<'a> {
    /// The patient's existing booking of this session, if any.
    pub already: Option<&'a str>,
    /// Places taken.
    pub taken: u64,
    /// An overlapping booking of the patient: (booking, its session).
    pub overlapping: Option<(&'a str, &'a str)>,
}

/// Checks the booking rules for `patient_id`, naming what a refusal conflicts with.
pub fn check(
    patient_id: &str,
    episode: Option<Episode<'_>>,
    place: Place<'_>,
    occupancy: Occupancy<'_>,
) -> Result<(), SchedulingError> {
    let episode = episode.ok_or_else(|| SchedulingError::NoActiveEpisode {
        patient_id: patient_id.to_owned(),
    })?;
    if episode.facility_id != place.facility_id {
        return Err(SchedulingError::EpisodeElsewhere {
            patient_id: patient_id.to_owned(),
            episode_facility: episode.facility_id.to_owned(),
            facility_id: place.facility_id.to_owned(),
        });
    }
    if place.local_date < episode.admitted_on {
        return Err(SchedulingError::BeforeAdmission {
            session_id: place.session_id.to_owned(),
            patient_id: patient_id.to_owned(),
            admitted_on: episode.admitted_on,
        });
    }
    if let Some(booking_id) = occupancy.already {
        return Err(SchedulingError::AlreadyBooked {
            patient_id: patient_id.to_owned(),
            session_id: place.session_id.to_owned(),
            booking_id: booking_id.to_owned(),
        });
    }
    if occupancy.taken >= u64::try_from(place.capacity).unwrap_or(0) {
        return Err(SchedulingError::SessionFull {
            session_id: place.session_id.to_owned(),
            taken: occupancy.taken,
            capacity: place.capacity,
        });
    }
    if let Some((booking_id, other)) = occupancy.overlapping {
        return Err(SchedulingError::PatientDoubleBooked {
            patient_id: patient_id.to_owned(),
            booking_id: booking_id.to_owned(),
            other_session_id: other.to_owned(),
            session_id: place.session_id.to_owned(),
        });
    }
    Ok(())
}

/// Checks that a new session's clinician and room are free: the overlapping
/// session of the clinician, or in the room, if any, is named.
pub fn staff_and_room_free(
    clinician: &str,
    clinician_clash: Option<&str>,
    room: &str,
    room_clash: Option<&str>,
) -> Result<(), SchedulingError> {
    if let Some(session_id) = clinician_clash {
        return Err(SchedulingError::ClinicianDoubleBooked {
            clinician: clinician.to_owned(),
            session_id: session_id.to_owned(),
        });
    }
    if let Some(session_id) = room_clash {
        return Err(SchedulingError::RoomDoubleBooked {
            room: room.to_owned(),
            session_id: session_id.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use iop_runtime::status::ServiceError as _;

    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    const EPISODE: Episode<'static> = Episode {
        facility_id: "oakland",
        admitted_on: match NaiveDate::from_ymd_opt(2026, 11, 10) {
            Some(d) => d,
            None => NaiveDate::MIN,
        },
    };

    fn place() -> Place<'static> {
        Place {
            session_id: "s-1",
            facility_id: "oakland",
            local_date: day(12),
            capacity: 2,
        }
    }

    fn reason(r: Result<(), SchedulingError>) -> &'static str {
        r.map_or_else(|e| e.reason(), |()| "OK")
    }

    #[test]
    fn each_rule_refuses_in_order_and_names_the_conflict() {
        let free = Occupancy::default();
        assert_eq!(reason(check("p", Some(EPISODE), place(), free)), "OK");
        assert_eq!(reason(check("p", None, place(), free)), "NO_ACTIVE_EPISODE");
        let elsewhere = Place {
            facility_id: "fresno",
            ..place()
        };
        assert_eq!(
            reason(check("p", Some(EPISODE), elsewhere, free)),
            "EPISODE_AT_ANOTHER_FACILITY"
        );
        let early = Place {
            local_date: day(9),
            ..place()
        };
        assert_eq!(
            reason(check("p", Some(EPISODE), early, free)),
            "BEFORE_ADMISSION"
        );
        let on_admission_day = Place {
            local_date: day(10),
            ..place()
        };
        assert_eq!(
            reason(check("p", Some(EPISODE), on_admission_day, free)),
            "OK"
        );
        let twice = Occupancy {
            already: Some("b-1"),
            ..free
        };
        let err = check("p", Some(EPISODE), place(), twice).unwrap_err();
        assert!(err.to_string().contains("b-1"), "{err}");
        let full = Occupancy { taken: 2, ..free };
        assert_eq!(
            reason(check("p", Some(EPISODE), place(), full)),
            "SESSION_FULL"
        );
        let one_left = Occupancy { taken: 1, ..free };
        assert_eq!(reason(check("p", Some(EPISODE), place(), one_left)), "OK");
        let clash = Occupancy {
            overlapping: Some(("b-9", "s-9")),
            ..free
        };
        let err = check("p", Some(EPISODE), place(), clash).unwrap_err();
        assert!(err.to_string().contains("b-9") && err.to_string().contains("s-9"));
    }

    #[test]
    fn clinician_and_room_clashes_are_named() {
        assert!(staff_and_room_free("dr-lee", None, "A", None).is_ok());
        let e = staff_and_room_free("dr-lee", Some("s-2"), "A", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "clinician dr-lee is double-booked: session s-2 overlaps"
        );
        let e = staff_and_room_free("dr-lee", None, "A", Some("s-3")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "room A is double-booked: session s-3 overlaps"
        );
    }
}
