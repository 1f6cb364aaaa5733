//! A patient's week in numbers: clinical minutes attended and still booked,
//! per day, against the weekly band of the patient's level of care and age
//! group (`iop_care`) and the level's day rule (IOP: 3 hours on at least 3
//! days), and whether the week is at risk of ending out of compliance. Pure
//! functions; the minutes are summed by the store in one query per week.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use iop_care::{DayRule, Position, WeeklyHoursBand};
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

/// A patient's week, judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Week {
    /// Clinical minutes attended.
    pub attended_minutes: u32,
    /// Clinical minutes booked and still ahead.
    pub booked_minutes: u32,
    /// The band, if the level has one.
    pub band: Option<WeeklyHoursBand>,
    /// The level's day rule, if it has one.
    pub day_rule: Option<DayRule>,
    /// Days whose attended clinical minutes reached the day rule's minimum.
    pub full_days: u32,
    /// Days that would reach it if everything still booked is attended.
    potential_full_days: u32,
    /// Where the week stands.
    pub compliance: Compliance,
}

fn total(days: &BTreeMap<NaiveDate, i64>) -> u32 {
    u32::try_from(days.values().sum::<i64>().max(0)).unwrap_or(u32::MAX)
}

impl Week {
    /// Judges a week of `attended` and `booked` clinical minutes per local day
    /// for a patient at `level` and `age`, whose level's day rule is `rule`.
    pub fn judge(
        level: LevelOfCare,
        age: AgeGroup,
        rule: Option<DayRule>,
        attended: &BTreeMap<NaiveDate, i64>,
        booked: &BTreeMap<NaiveDate, i64>,
    ) -> Self {
        let band = iop_care::weekly_hours_band(level, age == AgeGroup::Adolescent);
        let attended_minutes = total(attended);
        let mut potential = attended.clone();
        for (day, m) in booked {
            *potential.entry(*day).or_default() += m;
        }
        let full_days = rule.map_or(0, |r| r.full_days(attended.values()));
        let potential_full_days = rule.map_or(0, |r| r.full_days(potential.values()));
        let too_few_days = rule.is_some_and(|r| full_days < r.days);
        let compliance = match band.map(|b| b.position(attended_minutes)) {
            None => Compliance::NoBand,
            Some(Position::Below) => Compliance::BelowBand,
            Some(_) if too_few_days => Compliance::TooFewDays,
            Some(Position::Within) => Compliance::Compliant,
            Some(Position::Above) => Compliance::AboveBand,
        };
        Week {
            attended_minutes,
            booked_minutes: total(booked),
            band,
            day_rule: rule,
            full_days,
            potential_full_days,
            compliance,
        }
    }

    /// Hours the band starts at (0 without a band).
    pub fn band_min_hours(&self) -> u32 {
        self.band.map_or(0, |b| b.at_least.into())
    }

    /// Hours the band ends below (0 when open-ended or without a band).
    pub fn band_below_hours(&self) -> u32 {
        self.band.and_then(|b| b.below).map_or(0, u32::from)
    }

    /// Whether even attending everything still booked leaves the week below
    /// its band, or on too few full days.
    pub fn at_risk(&self) -> bool {
        let needed = self.band_min_hours() * 60;
        let short =
            needed > 0 && self.attended_minutes.saturating_add(self.booked_minutes) < needed;
        let few = self.band.is_some()
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

    fn judge(attended: &[i64], booked: &[i64]) -> Week {
        Week::judge(IOP, AgeGroup::Adult, H0015, &week(attended), &week(booked))
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
        let teen = Week::judge(IOP, AgeGroup::Adolescent, None, &week(&[360]), &week(&[]));
        assert_eq!(teen.compliance, Compliance::Compliant);
        assert!(!teen.at_risk());
        let none = Week::judge(
            LevelOfCare::LevelOfCare37Residential,
            AgeGroup::Adult,
            H0015,
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
        let no_rule = Week::judge(IOP, AgeGroup::Adult, None, &week(&[540]), &week(&[]));
        assert_eq!(no_rule.compliance, Compliance::Compliant);
    }
}
