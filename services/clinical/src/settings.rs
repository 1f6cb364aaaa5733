//! Clinical's settings section, `[clinical]` (defaults in `defaults.toml`
//! beside this file; `IOP__CLINICAL__…` overrides).

use chrono::NaiveDate;
use iop_runtime::settings::{Section, SettingsError};
use serde::Deserialize;

/// The section's key.
pub const KEY: &str = "clinical";

/// `[clinical]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClinicalSettings {
    /// Days between screenings of one instrument.
    pub rescreen_days: u32,
    /// Rise of a PHQ-9 or GAD-7 over the previous score that opens a step-up review (0: off).
    pub worsening_points: u32,
    /// Days after admission the treatment plan is due.
    pub plan_due_days: u32,
    /// Days after activation a plan is reviewed.
    pub plan_review_days: u32,
    /// Business days after the service a note must be signed within.
    pub note_business_days: u32,
    /// Days that are not business days besides weekends (`YYYY-MM-DD`).
    #[serde(deserialize_with = "days")]
    pub holidays: Vec<NaiveDate>,
    /// Consecutive weeks below band that open a step-up review.
    pub below_band_weeks: u32,
    /// Consecutive weeks within band towards a step-down review.
    pub within_band_weeks: u32,
    /// Days without an unexpected positive towards a step-down review.
    pub step_down_clean_days: u32,
    /// Window in which two unexpected positives open a step-up review.
    pub unexpected_positive_window_days: u32,
    /// Hours a suicide-risk follow-up is due within (capped at the day's end).
    pub follow_up_hours: u32,
    /// Most attendees in one group note.
    pub max_group_note_parts: usize,
}

/// Reads `YYYY-MM-DD` days.
fn days<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<NaiveDate>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map_err(|_| serde::de::Error::custom(format!("{t} is not a YYYY-MM-DD day")))
        })
        .collect()
}

/// The section, as the registry declares it.
pub const SECTION: Section = Section {
    key: KEY,
    defaults: include_str!("defaults.toml"),
    check,
};

fn check(settings: &iop_runtime::Settings) -> Result<(), SettingsError> {
    let s: ClinicalSettings = settings.section(KEY)?;
    let positive = [
        ("clinical.rescreen_days", s.rescreen_days),
        ("clinical.plan_due_days", s.plan_due_days),
        ("clinical.plan_review_days", s.plan_review_days),
        ("clinical.note_business_days", s.note_business_days),
        ("clinical.below_band_weeks", s.below_band_weeks),
        ("clinical.within_band_weeks", s.within_band_weeks),
        ("clinical.follow_up_hours", s.follow_up_hours),
        (
            "clinical.unexpected_positive_window_days",
            s.unexpected_positive_window_days,
        ),
    ];
    for (key, value) in positive {
        if value == 0 {
            return Err(SettingsError::invalid(key, "must be positive"));
        }
    }
    if s.below_band_weeks > 52 || s.within_band_weeks > 52 {
        return Err(SettingsError::invalid(
            "clinical.below_band_weeks",
            "weeks must be 1 to 52",
        ));
    }
    if !(2..=100).contains(&s.max_group_note_parts) {
        return Err(SettingsError::invalid(
            "clinical.max_group_note_parts",
            "must be 2 to 100",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn defaults_load_and_holidays_parse() {
        let s: ClinicalSettings = iop_runtime::Settings::defaults(&[SECTION])
            .unwrap()
            .section(KEY)
            .unwrap();
        assert_eq!((s.plan_due_days, s.note_business_days), (30, 3));
        assert!(s.holidays.is_empty());
        let parsed: Vec<NaiveDate> = days(serde_json::json!(["2026-12-25"])).unwrap();
        assert_eq!(parsed, [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()]);
        assert!(days(serde_json::json!(["25/12/2026"])).is_err());
    }
}
