//! When a standing order is due (pure): `n` tests a week fall on the
//! patient's first `n` days with a session at the facility that week
//! (Monday to Sunday, facility time), so they come when the patient is
//! there; a week with fewer session days gets one test on each.

use chrono::NaiveDate;

/// Whether a test is due on `day` for `per_week` tests a week, given the
/// patient's session days (any order, any week).
pub fn due(per_week: u32, session_days: &[NaiveDate], day: NaiveDate) -> bool {
    let monday = iop_care::calendar::week_start(day);
    let mut this_week: Vec<NaiveDate> = session_days
        .iter()
        .copied()
        .filter(|d| iop_care::calendar::week_start(*d) == monday)
        .collect();
    this_week.sort_unstable();
    this_week.dedup();
    this_week
        .iter()
        .take(usize::try_from(per_week).unwrap_or(usize::MAX))
        .any(|d| *d == day)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn d(day: u32) -> NaiveDate {
        // Monday 30 November 2026 to Sunday 6 December.
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap() + chrono::Days::new(u64::from(day))
    }

    #[test]
    fn the_first_session_days_of_the_week_are_due() {
        let sessions = [d(2), d(1), d(3), d(1), d(8)];
        assert!(due(2, &sessions, d(1)));
        assert!(due(2, &sessions, d(2)));
        assert!(
            !due(2, &sessions, d(3)),
            "the third session day is past the two"
        );
        assert!(!due(2, &sessions, d(4)), "no session that day");
        // Next week counts again from its own first day.
        assert!(due(1, &sessions, d(8)));
        // Fewer session days than tests: one each.
        assert!(due(7, &sessions, d(3)));
    }
}
