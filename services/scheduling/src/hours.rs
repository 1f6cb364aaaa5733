//! A patient's week in numbers: clinical minutes attended and still booked,
//! against the weekly band of the patient's level of care and age group
//! (`iop_care`), and whether the week is at risk of ending below the band.
//! Pure functions; the minutes are summed by the store in one query per week.

use iop_care::WeeklyHoursBand;
use iop_proto::{
    common::v1::{AgeGroup, LevelOfCare},
    scheduling::v1::Compliance,
};

use crate::attendance;

/// A patient's week, judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Week {
    /// Clinical minutes attended.
    pub attended_minutes: u32,
    /// Clinical minutes booked and still ahead.
    pub booked_minutes: u32,
    /// The band, if the level has one.
    pub band: Option<WeeklyHoursBand>,
    /// Where the attended minutes fall.
    pub compliance: Compliance,
}

impl Week {
    /// Judges `attended` and `booked` minutes for a patient at `level` and `age`.
    pub fn judge(level: LevelOfCare, age: AgeGroup, attended: i64, booked: i64) -> Self {
        let band = iop_care::weekly_hours_band(level, age == AgeGroup::Adolescent);
        let attended = u32::try_from(attended.max(0)).unwrap_or(u32::MAX);
        Week {
            attended_minutes: attended,
            booked_minutes: u32::try_from(booked.max(0)).unwrap_or(u32::MAX),
            band,
            compliance: attendance::compliance(band, attended),
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
    /// its band.
    pub fn at_risk(&self) -> bool {
        let needed = self.band_min_hours() * 60;
        needed > 0 && self.attended_minutes.saturating_add(self.booked_minutes) < needed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IOP: LevelOfCare = LevelOfCare::LevelOfCare21IntensiveOutpatient;

    #[test]
    fn an_adult_iop_week_is_at_risk_until_nine_hours_are_attended_or_booked() {
        let w = Week::judge(IOP, AgeGroup::Adult, 360, 180);
        assert_eq!(w.compliance, Compliance::BelowBand);
        assert!(!w.at_risk(), "6 h attended + 3 h booked reaches 9 h");
        let w = Week::judge(IOP, AgeGroup::Adult, 360, 179);
        assert!(w.at_risk());
        assert_eq!((w.band_min_hours(), w.band_below_hours()), (9, 20));
        let teen = Week::judge(IOP, AgeGroup::Adolescent, 360, 0);
        assert_eq!(teen.compliance, Compliance::Compliant);
        assert!(!teen.at_risk());
        let none = Week::judge(LevelOfCare::LevelOfCare37Residential, AgeGroup::Adult, 0, 0);
        assert_eq!(none.compliance, Compliance::NoBand);
        assert!(!none.at_risk());
    }
}
