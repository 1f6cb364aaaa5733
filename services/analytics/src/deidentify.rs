//! The Safe Harbor rules that need arithmetic, pure and tested: an age in
//! whole years with every age over 89 told as 90 (45 CFR
//! 164.514(b)(2)(i)(C)), and a day of care told as days (and weeks) since the
//! episode's start, whose date is never published, plus the year.

use chrono::{Datelike, NaiveDate};

/// Ages above this are aggregated into one category, told as 90.
pub const AGE_CAP: u32 = 90;

/// Whole years from `birth` to `on`, 90 for 90 or older; 0 when `on`
/// precedes `birth`.
pub fn age_years(birth: NaiveDate, on: NaiveDate) -> u32 {
    let years = on.years_since(birth).unwrap_or(0);
    years.min(AGE_CAP)
}

/// Days from the episode's first day (day 0) to `day`.
pub fn episode_day(started: NaiveDate, day: NaiveDate) -> i32 {
    i32::try_from((day - started).num_days()).unwrap_or(i32::MAX)
}

/// The episode's week of `day`: 1 for days 0-6, 2 for 7-13, …; days before
/// the start (a late admission backdated past a session) count as week 0.
pub fn episode_week(day: i32) -> i32 {
    if day < 0 { 0 } else { day / 7 + 1 }
}

/// The year of `day`: the one element of a date Safe Harbor lets through.
pub fn year(day: NaiveDate) -> i32 {
    day.year()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn ages_are_whole_years_and_ninety_or_more_is_one_category() {
        let birth = d(1979, 1, 30);
        assert_eq!(
            age_years(birth, d(2026, 1, 29)),
            46,
            "the day before the birthday"
        );
        assert_eq!(age_years(birth, d(2026, 1, 30)), 47);
        assert_eq!(age_years(d(1936, 12, 1), d(2026, 11, 30)), 89);
        assert_eq!(age_years(d(1936, 12, 1), d(2026, 12, 1)), 90);
        assert_eq!(
            age_years(d(1921, 3, 3), d(2026, 3, 3)),
            90,
            "105 is told as 90"
        );
        assert_eq!(age_years(d(2030, 1, 1), d(2026, 1, 1)), 0);
        // 29 February: a birthday that comes on 1 March in other years.
        assert_eq!(age_years(d(2000, 2, 29), d(2025, 2, 28)), 24);
        assert_eq!(age_years(d(2000, 2, 29), d(2025, 3, 1)), 25);
    }

    #[test]
    fn days_and_weeks_count_from_the_episode_start() {
        let start = d(2026, 12, 28);
        assert_eq!(episode_day(start, start), 0);
        assert_eq!(episode_day(start, d(2027, 1, 3)), 6);
        assert_eq!(episode_week(6), 1);
        assert_eq!(episode_week(7), 2);
        assert_eq!(episode_week(13), 2);
        assert_eq!(episode_day(start, d(2026, 12, 27)), -1);
        assert_eq!(episode_week(-1), 0);
        // The year is the day's own, not the episode's.
        assert_eq!(year(d(2027, 1, 3)), 2027);
    }
}
