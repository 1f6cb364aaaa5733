//! A patient's week in numbers: clinical minutes attended and still booked,
//! per day, against the weekly band of the patient's level of care and age
//! group (`iop_care`) and the level's day rule (IOP: 3 hours on at least 3
//! days), and whether the week is at risk of ending out of compliance. Pure
//! functions; the minutes are summed by the store in one query per week.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use iop_care::{DayRule, WeeklyHoursBand};
use iop_proto::{
    common::v1::{AgeGroup, LevelOfCare},
    scheduling::v1::Compliance,
};

/// The level and age group of a stored enrollment, or a broken invariant.
pub fn level_and_age(
    e: &crate::entity::enrollment::Model,
) -> Result<(LevelOfCare, AgeGroup), crate::error::SchedulingError> {
    let corrupt = |what: &str| crate::error::SchedulingError::Corrupt {
        what: format!("{what} of episode {}", e.episode_id),
    };
    Ok((
        LevelOfCare::try_from(e.level_of_care).map_err(|_| corrupt("level of care"))?,
        AgeGroup::try_from(e.age_group).map_err(|_| corrupt("age group"))?,
    ))
}

/// The days of the week starting `monday` inside enrollment `e`, each with
/// the level in force ([`levels_in_week`]), from its recorded `changes`
/// (stored values, earliest first).
pub fn days_of(
    e: &crate::entity::enrollment::Model,
    monday: NaiveDate,
    changes: &[(NaiveDate, i32)],
) -> Result<Vec<(NaiveDate, LevelOfCare)>, crate::error::SchedulingError> {
    let (current, _) = level_and_age(e)?;
    let changes = changes
        .iter()
        .map(|(day, level)| {
            LevelOfCare::try_from(*level)
                .map(|l| (*day, l))
                .map_err(|_| crate::error::SchedulingError::Corrupt {
                    what: format!("level history of episode {}", e.episode_id),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(levels_in_week(
        monday,
        e.admitted_on,
        e.discharged_on,
        &changes,
        current,
    ))
}

/// A patient's week, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    /// Clinical minutes attended.
    pub attended_minutes: u32,
    /// Clinical minutes held and not marked yet.
    pub booked_minutes: u32,
    /// The band of the level in force on the week's last day in the episode.
    pub band: Option<WeeklyHoursBand>,
    /// The day rule as it applies to this week (prorated by the days at a
    /// level that has one), if any.
    pub day_rule: Option<DayRule>,
    /// Days of the week inside the episode (7 for a whole week).
    pub episode_days: u32,
    /// The level in force on those days, as runs of consecutive days.
    pub levels: Vec<(LevelOfCare, u32)>,
    /// The band's lower bound for this week, in minutes: a seventh of the
    /// weekly minimum of the level in force, for each day in the episode.
    pub required_minutes: u32,
    /// The band's upper bound for this week, in minutes, if every day's
    /// level has one.
    below_minutes: Option<u32>,
    /// Days whose attended clinical minutes reached the day rule's minimum.
    pub full_days: u32,
    /// Days that would reach it if everything pending is attended.
    potential_full_days: u32,
    /// Where the week stands.
    pub compliance: Compliance,
}

fn total(days: &BTreeMap<NaiveDate, i64>) -> u32 {
    u32::try_from(days.values().sum::<i64>().max(0)).unwrap_or(u32::MAX)
}

/// `value` scaled to `days` of a 7-day week; `up` rounds up (days needed),
/// otherwise down (minutes, so a partial week never asks for more than its share).
fn prorate(value: u32, days: u32, up: bool) -> u32 {
    let scaled = u64::from(value) * u64::from(days.min(7));
    let out = if up { scaled.div_ceil(7) } else { scaled / 7 };
    u32::try_from(out).unwrap_or(u32::MAX)
}

/// Days of the week starting `monday` inside an episode from `first` to
/// `last` (ongoing when `None`).
pub fn episode_days(monday: NaiveDate, first: NaiveDate, last: Option<NaiveDate>) -> u32 {
    (0..7)
        .map(|i| monday + chrono::Days::new(i))
        .filter(|d| *d >= first && last.is_none_or(|l| *d <= l))
        .count() as u32
}

/// The level in force on each day of the week starting `monday` inside an
/// episode from `first` to `last`: the latest of `changes` (effective day,
/// level; earliest first) on or before the day, else `current`.
pub fn levels_in_week(
    monday: NaiveDate,
    first: NaiveDate,
    last: Option<NaiveDate>,
    changes: &[(NaiveDate, LevelOfCare)],
    current: LevelOfCare,
) -> Vec<(NaiveDate, LevelOfCare)> {
    (0..7)
        .map(|i| monday + chrono::Days::new(i))
        .filter(|d| *d >= first && last.is_none_or(|l| *d <= l))
        .map(|d| {
            let level = (changes.iter().rev())
                .find(|(from, _)| *from <= d)
                .map_or(current, |(_, level)| *level);
            (d, level)
        })
        .collect()
}

impl Week {
    /// Judges a week of `attended` and `pending` clinical minutes per local
    /// day for a patient of `age`, from the level in force on each of its
    /// `days` inside the episode ([`levels_in_week`]): each day adds a
    /// seventh of its level's band, so a week with the admission or the
    /// discharge is prorated and a week with a level change is judged by
    /// both levels; `rule_of` gives a level's day rule, prorated by the days
    /// at a level that has one.
    pub fn judge(
        days: &[(NaiveDate, LevelOfCare)],
        age: AgeGroup,
        rule_of: impl Fn(LevelOfCare) -> Option<DayRule>,
        attended: &BTreeMap<NaiveDate, i64>,
        pending: &BTreeMap<NaiveDate, i64>,
    ) -> Self {
        let adolescent = age == AgeGroup::Adolescent;
        let band_of = |l: LevelOfCare| iop_care::weekly_hours_band(l, adolescent);
        let episode_days = (days.len() as u32).clamp(1, 7);
        let mut levels: Vec<(LevelOfCare, u32)> = Vec::new();
        for (_, level) in days {
            match levels.last_mut() {
                Some((l, n)) if l == level => *n += 1,
                _ => levels.push((*level, 1)),
            }
        }
        let last_level = days.last().map(|(_, l)| *l);
        let band = last_level.and_then(band_of);
        let any_band = days.iter().any(|(_, l)| band_of(*l).is_some());
        let sevenths = |minutes: Option<u32>| -> Option<u32> { Some(minutes? / 7) };
        let required_minutes = sevenths(Some(
            days.iter()
                .filter_map(|(_, l)| band_of(*l))
                .map(|b| u32::from(b.at_least) * 60)
                .sum(),
        ))
        .unwrap_or(0);
        let below_minutes = sevenths(
            days.iter()
                .map(|(_, l)| band_of(*l).and_then(|b| b.below).map(|b| u32::from(b) * 60))
                .sum::<Option<u32>>(),
        )
        .filter(|_| !days.is_empty());
        let ruled: Vec<DayRule> = days.iter().filter_map(|(_, l)| rule_of(*l)).collect();
        let rule = ruled.last().map(|r| DayRule {
            days: prorate(r.days, ruled.len() as u32, true),
            ..*r
        });
        let attended_minutes = total(attended);
        let mut potential = attended.clone();
        for (day, m) in pending {
            *potential.entry(*day).or_default() += m;
        }
        let full_days = rule.map_or(0, |r| r.full_days(attended.values()));
        let potential_full_days = rule.map_or(0, |r| r.full_days(potential.values()));
        let too_few_days = rule.is_some_and(|r| full_days < r.days);
        let compliance = match any_band {
            false => Compliance::NoBand,
            true if attended_minutes < required_minutes => Compliance::BelowBand,
            true if too_few_days => Compliance::TooFewDays,
            true if below_minutes.is_some_and(|b| attended_minutes >= b) => Compliance::AboveBand,
            true => Compliance::Compliant,
        };
        Week {
            attended_minutes,
            booked_minutes: total(pending),
            band,
            day_rule: rule,
            episode_days,
            levels,
            required_minutes,
            below_minutes,
            full_days,
            potential_full_days,
            compliance,
        }
    }

    /// Hours the band starts at (0 without a band), for a whole week.
    pub fn band_min_hours(&self) -> u32 {
        self.band.map_or(0, |b| b.at_least.into())
    }

    /// Hours the band ends below (0 when open-ended or without a band), for a
    /// whole week.
    pub fn band_below_hours(&self) -> u32 {
        self.band.and_then(|b| b.below).map_or(0, u32::from)
    }

    /// Whether even attending everything pending leaves the week below its
    /// (prorated) band, or on too few full days.
    pub fn at_risk(&self) -> bool {
        let short = self.required_minutes > 0
            && self.attended_minutes.saturating_add(self.booked_minutes) < self.required_minutes;
        let few = self.required_minutes > 0
            && self
                .day_rule
                .is_some_and(|r| self.potential_full_days < r.days);
        short || few
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    const IOP: LevelOfCare = LevelOfCare::LevelOfCare21IntensiveOutpatient;
    const H0015: Option<DayRule> = Some(DayRule {
        days: 3,
        minutes_per_day: 180,
    });

    /// Minutes on Monday, Tuesday, … of one week.
    fn week(minutes: &[i64]) -> BTreeMap<NaiveDate, i64> {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        minutes
            .iter()
            .enumerate()
            .filter(|(_, m)| **m > 0)
            .map(|(i, m)| (monday + chrono::Days::new(i as u64), *m))
            .collect()
    }

    /// A week of `n` days at one level (the last `n`, as after an admission).
    fn judged(
        level: LevelOfCare,
        age: AgeGroup,
        rule: Option<DayRule>,
        n: u64,
        attended: &BTreeMap<NaiveDate, i64>,
        pending: &BTreeMap<NaiveDate, i64>,
    ) -> Week {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let days: Vec<_> = (7 - n..7)
            .map(|i| (monday + chrono::Days::new(i), level))
            .collect();
        Week::judge(&days, age, |_| rule, attended, pending)
    }

    fn judge(attended: &[i64], booked: &[i64]) -> Week {
        judged(
            IOP,
            AgeGroup::Adult,
            H0015,
            7,
            &week(attended),
            &week(booked),
        )
    }

    #[test]
    fn an_adult_iop_week_is_at_risk_until_nine_hours_are_attended_or_booked() {
        let w = judge(&[180, 180], &[0, 0, 180]);
        assert_eq!(w.compliance, Compliance::BelowBand);
        assert!(
            !w.at_risk(),
            "6 h attended + 3 h booked reaches 9 h on 3 days"
        );
        let w = judge(&[180, 180], &[0, 0, 179]);
        assert!(w.at_risk());
        assert_eq!((w.band_min_hours(), w.band_below_hours()), (9, 20));
        let teen = judged(
            IOP,
            AgeGroup::Adolescent,
            None,
            7,
            &week(&[360]),
            &week(&[]),
        );
        assert_eq!(teen.compliance, Compliance::Compliant);
        assert!(!teen.at_risk());
        let none = judged(
            LevelOfCare::LevelOfCare37Residential,
            AgeGroup::Adult,
            H0015,
            7,
            &week(&[]),
            &week(&[]),
        );
        assert_eq!(none.compliance, Compliance::NoBand);
        assert!(!none.at_risk());
    }

    #[test]
    fn nine_hours_count_only_spread_over_three_days_of_three_hours() {
        // Nine hours in one day: in the band, not intensive outpatient care.
        let one_day = judge(&[540], &[]);
        assert_eq!(one_day.attended_minutes, 540);
        assert_eq!(one_day.full_days, 1);
        assert_eq!(one_day.compliance, Compliance::TooFewDays);
        // Three days of three hours: compliant.
        let spread = judge(&[180, 0, 180, 0, 180], &[]);
        assert_eq!(
            (spread.full_days, spread.compliance),
            (3, Compliance::Compliant)
        );
        // Ten hours over four short days (2.5 h each): too few full days.
        let short_days = judge(&[150, 150, 150, 150], &[]);
        assert_eq!(short_days.compliance, Compliance::TooFewDays);
        // Still at risk while the bookings ahead cannot make three full days.
        let midweek = judge(&[180, 180], &[0, 0, 120, 120]);
        assert!(midweek.at_risk(), "only 2 full days possible");
        let fine = judge(&[180, 180], &[0, 0, 180]);
        assert!(!fine.at_risk());
        // Above the band on enough days is above the band.
        let lots = judge(&[300, 300, 300, 300, 300], &[]);
        assert_eq!(lots.compliance, Compliance::AboveBand);
        // No day rule: the minutes alone decide.
        let no_rule = judged(IOP, AgeGroup::Adult, None, 7, &week(&[540]), &week(&[]));
        assert_eq!(no_rule.compliance, Compliance::Compliant);
    }

    #[test]
    fn a_week_with_the_admission_or_the_discharge_is_prorated() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let day = |i: u64| monday + chrono::Days::new(i);
        // Admitted on Thursday: four days of the week are in the episode.
        assert_eq!(episode_days(monday, day(3), None), 4);
        // Discharged on Tuesday: two.
        assert_eq!(
            episode_days(monday, day(0) - chrono::Days::new(30), Some(day(1))),
            2
        );
        assert_eq!(episode_days(monday, monday - chrono::Days::new(1), None), 7);
        // Four days of IOP: 9 h x 4/7 = 5 h 8 min, 20 h x 4/7 = 11 h 25 min,
        // and 3 full days x 4/7 rounded up = 2.
        let w = judged(
            IOP,
            AgeGroup::Adult,
            H0015,
            4,
            &week(&[0, 0, 0, 180, 180]),
            &week(&[]),
        );
        assert_eq!(w.required_minutes, 308);
        assert_eq!(w.day_rule.map(|r| r.days), Some(2));
        assert_eq!(
            w.compliance,
            Compliance::Compliant,
            "6 h on 2 days of a 4-day week"
        );
        let short = judged(
            IOP,
            AgeGroup::Adult,
            H0015,
            4,
            &week(&[0, 0, 0, 300]),
            &week(&[]),
        );
        assert_eq!(short.compliance, Compliance::BelowBand);
        let above = judged(
            IOP,
            AgeGroup::Adult,
            H0015,
            4,
            &week(&[0, 0, 0, 240, 240, 240]),
            &week(&[]),
        );
        assert_eq!(
            above.compliance,
            Compliance::AboveBand,
            "12 h is above 4/7 of 20 h"
        );
        // A whole week is not prorated.
        let whole = judge(&[180, 0, 180, 0, 180], &[]);
        assert_eq!((whole.episode_days, whole.required_minutes), (7, 540));
    }

    #[test]
    fn a_level_change_mid_week_judges_each_day_by_its_level() {
        const PHP: LevelOfCare = LevelOfCare::LevelOfCare25PartialHospitalization;
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let day = |i: u64| monday + chrono::Days::new(i);
        // Stepped down from PHP to IOP on Thursday.
        let changes = [(day(0) - chrono::Days::new(20), PHP), (day(3), IOP)];
        let days = levels_in_week(monday, day(0) - chrono::Days::new(20), None, &changes, IOP);
        assert_eq!(days.iter().filter(|(_, l)| *l == PHP).count(), 3);
        assert_eq!(days[3], (day(3), IOP));
        let rule = |l: LevelOfCare| (l == IOP).then_some(H0015.unwrap());
        let w = Week::judge(
            &days,
            AgeGroup::Adult,
            rule,
            &week(&[240, 240, 240, 180, 180, 180]),
            &week(&[]),
        );
        // 3 days of PHP (20 h/7 each) and 4 of IOP (9 h/7 each):
        // (3 x 1200 + 4 x 540) / 7 = 822 minutes; no upper bound (PHP has none).
        assert_eq!(w.required_minutes, 822);
        assert_eq!(w.levels, [(PHP, 3), (IOP, 4)]);
        assert_eq!(
            w.band.map(|b| b.at_least),
            Some(9),
            "the band in force at the end"
        );
        // H0015 over the 4 IOP days: 3 days x 4/7, rounded up = 2.
        assert_eq!(w.day_rule.map(|r| r.days), Some(2));
        assert_eq!(w.compliance, Compliance::Compliant);
        // Judged by the level at the week's close alone, 1,260 minutes would
        // be 9 h over and "above the band"; by day, it is within.
        let as_iop: Vec<_> = days.iter().map(|(d, _)| (*d, IOP)).collect();
        let closing = Week::judge(
            &as_iop,
            AgeGroup::Adult,
            rule,
            &week(&[240, 240, 240, 180, 180, 180]),
            &week(&[]),
        );
        assert_eq!(closing.compliance, Compliance::AboveBand);
        // Short of the mixed band.
        let short = Week::judge(
            &days,
            AgeGroup::Adult,
            rule,
            &week(&[180, 180, 180, 180]),
            &week(&[]),
        );
        assert_eq!(short.compliance, Compliance::BelowBand);
        // No change recorded: the enrollment's level.
        let none = levels_in_week(monday, day(2), Some(day(4)), &[], PHP);
        assert_eq!(none, [(day(2), PHP), (day(3), PHP), (day(4), PHP)]);
    }
}
