//! Rules of care that several contexts apply and none owns alone. Today: the
//! weekly clinical hours band of each ASAM level of care (DOMAIN: level 1 below
//! 9 hours, 6 for adolescents; IOP 9–19, 6–19 for adolescents; PHP 20 or more),
//! and the shape of a day rule (so many days of so many clinical minutes, as
//! H0015 counts IOP). Admissions states the band in a placement; scheduling
//! measures attendance against both; billing counts billable days with it. And
//! ICD-10-CM codes in one normal form ([`icd10`]), which clinical writes and
//! billing claims on.

pub mod calendar;
pub mod icd10;
pub mod names;

use iop_proto::common::v1::LevelOfCare;

/// Weekly clinical hours of a level: `at_least <= hours < below`. The table's
/// "9–19" is read as below 20, since 20 is where partial hospitalization begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyHoursBand {
    /// Inclusive lower bound.
    pub at_least: u8,
    /// Exclusive upper bound; none when open-ended.
    pub below: Option<u8>,
}

/// Where a week's attended minutes fall against a band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Fewer hours than the band's lower bound.
    Below,
    /// Within the band.
    Within,
    /// At or above the band's upper bound.
    Above,
}

impl WeeklyHoursBand {
    /// Where `minutes` of attended clinical time fall (minutes, so a partial
    /// hour is never rounded into compliance).
    pub fn position(&self, minutes: u32) -> Position {
        if minutes < u32::from(self.at_least) * 60 {
            Position::Below
        } else if self.below.is_some_and(|b| minutes >= u32::from(b) * 60) {
            Position::Above
        } else {
            Position::Within
        }
    }
}

/// How a week's clinical time must be spread over its days: at least `days`
/// days with `minutes_per_day` or more each (IOP billed as H0015: 3 hours on
/// 3 days). Nine hours on one day is not intensive outpatient care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRule {
    /// Days needed.
    pub days: u32,
    /// Clinical minutes a day needs to count.
    pub minutes_per_day: u32,
}

impl DayRule {
    /// How many of `days` (clinical minutes per day) reach the day's minimum.
    pub fn full_days<'a>(&self, days: impl IntoIterator<Item = &'a i64>) -> u32 {
        let full = days
            .into_iter()
            .filter(|m| **m >= i64::from(self.minutes_per_day))
            .count();
        u32::try_from(full).unwrap_or(u32::MAX)
    }
}

/// The band of `level` for an adolescent or an adult, where the level has one
/// (24-hour levels have none).
pub fn weekly_hours_band(level: LevelOfCare, adolescent: bool) -> Option<WeeklyHoursBand> {
    let (at_least, below) = match (level, adolescent) {
        (LevelOfCare::LevelOfCare1Outpatient, false) => (0, Some(9)),
        (LevelOfCare::LevelOfCare1Outpatient, true) => (0, Some(6)),
        (LevelOfCare::LevelOfCare21IntensiveOutpatient, false) => (9, Some(20)),
        (LevelOfCare::LevelOfCare21IntensiveOutpatient, true) => (6, Some(20)),
        (LevelOfCare::LevelOfCare25PartialHospitalization, _) => (20, None),
        _ => return None,
    };
    Some(WeeklyHoursBand { at_least, below })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iop_band_counts_minutes() {
        let adult = weekly_hours_band(LevelOfCare::LevelOfCare21IntensiveOutpatient, false);
        let Some(adult) = adult else {
            panic!("IOP has a band")
        };
        assert_eq!(adult.position(9 * 60), Position::Within);
        assert_eq!(adult.position(9 * 60 - 1), Position::Below);
        assert_eq!(adult.position(20 * 60), Position::Above);
        let teen = weekly_hours_band(LevelOfCare::LevelOfCare21IntensiveOutpatient, true);
        assert_eq!(teen.map(|b| b.position(6 * 60)), Some(Position::Within));
        assert_eq!(
            weekly_hours_band(LevelOfCare::LevelOfCare35Residential, false),
            None
        );
        let php = weekly_hours_band(LevelOfCare::LevelOfCare25PartialHospitalization, true);
        assert_eq!(php.map(|b| b.position(60 * 60)), Some(Position::Within));
    }
}
