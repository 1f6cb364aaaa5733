//! Wall-clock time at a facility: recurring sessions keep their local start
//! (18:00 stays 18:00 across daylight-saving changes, so the UTC instant moves),
//! and weeks run Monday to Sunday in the facility's time zone; business days
//! skip weekends and the facility calendar's holidays (documentation
//! deadlines). Pure functions over chrono and chrono-tz.

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Utc, Weekday,
};
use chrono_tz::Tz;

/// Longest range sessions are generated over in one call.
pub const MAX_RANGE_DAYS: u64 = 366;

/// The UTC instant of `date` at `time` in `tz`. A wall-clock time that happens
/// twice (the autumn change) is the first; one that does not exist (the spring
/// gap) is moved forward by the gap, as clocks are.
pub fn instant(date: NaiveDate, time: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => after_gap(local, tz),
    }
}

fn after_gap(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    // Read the wall clock with the offset in force just before the gap: the
    // instant then shows as the same time plus the gap (02:30 PST is 03:30 PDT).
    let before = local - chrono::Duration::hours(6);
    let offset = tz
        .offset_from_local_datetime(&before)
        .earliest()
        .map_or(0, |o| o.fix().local_minus_utc());
    Utc.from_utc_datetime(&(local - chrono::Duration::seconds(i64::from(offset))))
}

/// The local date and time of `t` in `tz`.
pub fn local(t: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}

/// Monday of the week containing `date`.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date - Days::new(u64::from(date.weekday().num_days_from_monday()))
}

/// The days from `from` to `to` (inclusive) that fall on one of `weekdays`.
pub fn occurrences(from: NaiveDate, to: NaiveDate, weekdays: &[Weekday]) -> Vec<NaiveDate> {
    from.iter_days()
        .take_while(|d| *d <= to)
        .filter(|d| weekdays.contains(&d.weekday()))
        .collect()
}

/// Whether `date` is a business day: Monday to Friday and not in `holidays`.
pub fn is_business_day(date: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&date)
}

/// The `n`th business day after `date` (`date` itself never counts; `n` = 0
/// is `date`).
pub fn business_days_after(date: NaiveDate, n: u32, holidays: &[NaiveDate]) -> NaiveDate {
    let mut day = date;
    let mut left = n;
    while left > 0 {
        day = day.succ_opt().unwrap_or(day);
        if is_business_day(day, holidays) {
            left -= 1;
        }
    }
    day
}

/// The first instant after `date` ends in `tz` (the next day's midnight).
pub fn end_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    instant(date.succ_opt().unwrap_or(date), NaiveTime::MIN, tz)
}

/// The last second of `date` at the facility: the latest a thing due "the
/// same day" may be due and still read as that day in the facility's time
/// ([`end_of_day`] is the next day's first instant).
pub fn last_second_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    end_of_day(date, tz) - chrono::Duration::seconds(1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::Timelike;

    use super::*;

    const LA: Tz = chrono_tz::America::Los_Angeles;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn an_evening_session_stays_at_six_across_both_changes() {
        let six = NaiveTime::from_hms_opt(18, 0, 0).unwrap();
        // 2027: DST starts Sunday 14 March, ends Sunday 7 November.
        let tuesdays = occurrences(day(2027, 3, 1), day(2027, 11, 30), &[Weekday::Tue]);
        let mut utc_hours = std::collections::BTreeSet::new();
        for d in &tuesdays {
            let t = instant(*d, six, LA);
            assert_eq!(local(t, LA), d.and_time(six), "{d}");
            utc_hours.insert(t.hour());
        }
        // PST (UTC-8) → 02:00 UTC; PDT (UTC-7) → 01:00 UTC.
        assert_eq!(utc_hours.into_iter().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(instant(day(2027, 3, 9), six, LA).hour(), 2);
        assert_eq!(instant(day(2027, 3, 16), six, LA).hour(), 1);
        assert_eq!(instant(day(2027, 11, 2), six, LA).hour(), 1);
        assert_eq!(instant(day(2027, 11, 9), six, LA).hour(), 2);
    }

    #[test]
    fn the_spring_gap_moves_forward_and_the_autumn_repeat_takes_the_first() {
        let half_past_two = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        let t = instant(day(2027, 3, 14), half_past_two, LA);
        assert_eq!(
            local(t, LA),
            day(2027, 3, 14).and_hms_opt(3, 30, 0).unwrap()
        );
        let half_past_one = NaiveTime::from_hms_opt(1, 30, 0).unwrap();
        let t = instant(day(2027, 11, 7), half_past_one, LA);
        assert_eq!(t.hour(), 8, "01:30 PDT is 08:30 UTC");
    }

    #[test]
    fn the_last_second_of_a_day_is_still_that_day_in_the_facility() {
        for d in [day(2026, 11, 28), day(2027, 3, 14), day(2027, 11, 7)] {
            let last = last_second_of_day(d, LA);
            assert_eq!(local(last, LA), d.and_hms_opt(23, 59, 59).unwrap(), "{d}");
            assert_eq!(last + chrono::Duration::seconds(1), end_of_day(d, LA));
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_start(day(2026, 11, 28)), day(2026, 11, 23));
        assert_eq!(week_start(day(2026, 11, 23)), day(2026, 11, 23));
        let days = occurrences(
            day(2026, 11, 23),
            day(2026, 11, 29),
            &[Weekday::Mon, Weekday::Wed, Weekday::Fri],
        );
        assert_eq!(
            days,
            [day(2026, 11, 23), day(2026, 11, 25), day(2026, 11, 27)]
        );
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        // Friday 27 November 2026 + 3 business days = Wednesday 2 December.
        assert_eq!(
            business_days_after(day(2026, 11, 27), 3, &[]),
            day(2026, 12, 2)
        );
        // Thursday + 1 with Friday a holiday: Monday.
        let friday = [day(2026, 11, 27)];
        assert_eq!(
            business_days_after(day(2026, 11, 26), 1, &friday),
            day(2026, 11, 30)
        );
        // A Saturday service: Monday is the first business day after it.
        assert_eq!(
            business_days_after(day(2026, 11, 28), 1, &[]),
            day(2026, 11, 30)
        );
        assert_eq!(
            business_days_after(day(2026, 11, 28), 0, &[]),
            day(2026, 11, 28)
        );
        assert!(!is_business_day(day(2026, 11, 29), &[]));
        // The day ends at local midnight: 08:00 UTC in winter.
        assert_eq!(end_of_day(day(2026, 12, 2), LA).hour(), 8);
        assert_eq!(
            local(end_of_day(day(2026, 12, 2), LA), LA).date(),
            day(2026, 12, 3)
        );
    }
}
