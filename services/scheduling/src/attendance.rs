//! How attendance turns into clinical minutes: per status, what counts (the
//! whole session, check-in to check-out, or the minutes given), clipped to the
//! session, and whether a day is inside the patient's episode. Pure functions
//! (which session types are clinical is configuration, `settings`; a week is
//! judged in `hours`).

use chrono::{DateTime, NaiveDate, Utc};
use iop_proto::scheduling::v1::AttendanceStatus;

/// A failure naming the entry's field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct AttendanceError {
    /// Field of `AttendanceEntry`.
    pub field: &'static str,
    /// What is wrong.
    pub reason: &'static str,
}

fn bad(field: &'static str, reason: &'static str) -> AttendanceError {
    AttendanceError { field, reason }
}

/// One patient's attendance as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Status.
    pub status: AttendanceStatus,
    /// Check-in, if taken.
    pub checked_in: Option<DateTime<Utc>>,
    /// Check-out, if taken.
    pub checked_out: Option<DateTime<Utc>>,
    /// Minutes stated (partial attendance without check-in/out).
    pub minutes: u32,
}

/// Minutes of the session `[start, end)` that `mark` counts.
pub fn minutes(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    mark: &Mark,
) -> Result<u32, AttendanceError> {
    let length = u32::try_from((end - start).num_minutes()).unwrap_or(0);
    if let (Some(i), Some(o)) = (mark.checked_in, mark.checked_out)
        && o < i
    {
        return Err(bad("checked_out_at", "is before checked_in_at"));
    }
    let span = |from: DateTime<Utc>, to: DateTime<Utc>| {
        let (from, to) = (from.max(start), to.min(end));
        u32::try_from((to - from).num_minutes()).unwrap_or(0)
    };
    match mark.status {
        AttendanceStatus::Unspecified => Err(bad("status", "is required")),
        AttendanceStatus::Attended => Ok(match (mark.checked_in, mark.checked_out) {
            (None, None) => length,
            (i, o) => span(i.unwrap_or(start), o.unwrap_or(end)),
        }),
        AttendanceStatus::Partial => match (mark.checked_in, mark.checked_out) {
            (Some(i), Some(o)) => Ok(span(i, o)),
            (None, None) if (1..length).contains(&mark.minutes) => Ok(mark.minutes),
            (None, None) => Err(bad(
                "minutes",
                "partial attendance needs 1 to the session's length less one",
            )),
            _ => Err(bad(
                "checked_out_at",
                "partial attendance needs both check-in and check-out",
            )),
        },
        AttendanceStatus::Late => {
            let i = mark
                .checked_in
                .ok_or_else(|| bad("checked_in_at", "late attendance needs the check-in"))?;
            Ok(span(i, mark.checked_out.unwrap_or(end)))
        }
        AttendanceStatus::NoShow | AttendanceStatus::LateCancel | AttendanceStatus::Excused => {
            if mark.checked_in.is_some() {
                return Err(bad(
                    "checked_in_at",
                    "a patient who did not attend has no check-in",
                ));
            }
            Ok(0)
        }
    }
}

/// The last day of the patient's episode that ended before `day`, when no
/// episode of theirs (`spans`: first day, last day if ended) covers `day`:
/// attendance on a day after the episode ended is refused. `None` when one
/// covers it, or when none ended before it (then the booking rules speak).
pub fn ended_before(
    day: NaiveDate,
    spans: impl IntoIterator<Item = (NaiveDate, Option<NaiveDate>)>,
) -> Option<NaiveDate> {
    let mut ended = None;
    for (first, last) in spans {
        match last {
            _ if day < first => {}
            None => return None,
            Some(last) if day <= last => return None,
            Some(last) => ended = ended.max(Some(last)),
        }
    }
    ended
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, h, m, 0).unwrap()
    }

    fn mark(status: AttendanceStatus) -> Mark {
        Mark {
            status,
            checked_in: None,
            checked_out: None,
            minutes: 0,
        }
    }

    #[test]
    fn attendance_needs_a_day_inside_an_episode() {
        let d = |day: u32| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        // Admitted on the 2nd, discharged (backdated) to the 10th.
        let spans = [(d(2), Some(d(10)))];
        assert_eq!(ended_before(d(10), spans), None);
        assert_eq!(ended_before(d(11), spans), Some(d(10)));
        // Readmitted on the 20th: covered again, ongoing.
        let again = [(d(2), Some(d(10))), (d(20), None)];
        assert_eq!(ended_before(d(15), again), Some(d(10)));
        assert_eq!(ended_before(d(21), again), None);
        // Before any episode: the booking rules answer, not this one.
        assert_eq!(ended_before(d(1), spans), None);
    }

    #[test]
    fn each_status_counts_its_minutes() {
        let (start, end) = (at(17, 0), at(20, 0));
        assert_eq!(
            minutes(start, end, &mark(AttendanceStatus::Attended)),
            Ok(180)
        );
        let partial = Mark {
            minutes: 90,
            ..mark(AttendanceStatus::Partial)
        };
        assert_eq!(minutes(start, end, &partial), Ok(90));
        let late = Mark {
            checked_in: Some(at(17, 40)),
            ..mark(AttendanceStatus::Late)
        };
        assert_eq!(minutes(start, end, &late), Ok(140));
        let early_leave = Mark {
            checked_in: Some(at(16, 50)),
            checked_out: Some(at(19, 0)),
            ..mark(AttendanceStatus::Attended)
        };
        assert_eq!(
            minutes(start, end, &early_leave),
            Ok(120),
            "clipped to the session"
        );
        for s in [
            AttendanceStatus::NoShow,
            AttendanceStatus::LateCancel,
            AttendanceStatus::Excused,
        ] {
            assert_eq!(minutes(start, end, &mark(s)), Ok(0));
        }
    }

    #[test]
    fn inconsistent_marks_name_the_field() {
        let (start, end) = (at(17, 0), at(20, 0));
        assert_eq!(
            minutes(start, end, &mark(AttendanceStatus::Partial))
                .unwrap_err()
                .field,
            "minutes"
        );
        assert_eq!(
            minutes(start, end, &mark(AttendanceStatus::Late))
                .unwrap_err()
                .field,
            "checked_in_at"
        );
        let backwards = Mark {
            checked_in: Some(at(19, 0)),
            checked_out: Some(at(18, 0)),
            ..mark(AttendanceStatus::Attended)
        };
        assert_eq!(
            minutes(start, end, &backwards).unwrap_err().field,
            "checked_out_at"
        );
        assert_eq!(
            minutes(start, end, &mark(AttendanceStatus::Unspecified))
                .unwrap_err()
                .field,
            "status"
        );
    }

    proptest::proptest! {
        /// Whatever is recorded, the minutes a mark counts never exceed the
        /// session's length, and a mark that counts nothing has no check-in.
        #[test]
        fn minutes_never_exceed_the_session(
            length in 15i64..=240,
            status in 1i32..=6,
            check_in in proptest::option::of(-60i64..300),
            stay in proptest::option::of(0i64..400),
            stated in 0u32..400,
        ) {
            let start = at(17, 0);
            let end = start + chrono::Duration::minutes(length);
            let checked_in = check_in.map(|m| start + chrono::Duration::minutes(m));
            let checked_out = match (checked_in, stay) {
                (Some(i), Some(s)) => Some(i + chrono::Duration::minutes(s)),
                _ => None,
            };
            let mark = Mark {
                status: AttendanceStatus::try_from(status).unwrap(),
                checked_in,
                checked_out,
                minutes: stated,
            };
            if let Ok(counted) = minutes(start, end, &mark) {
                proptest::prop_assert!(i64::from(counted) <= length, "{mark:?} counted {counted}");
            }
        }
    }
}
