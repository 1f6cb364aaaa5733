//! Scheduling's settings section, `[scheduling]` (defaults in `defaults.toml`
//! beside this file; `IOP__SCHEDULING__…` overrides).

use iop_runtime::settings::{Section, SettingsError};
use serde::Deserialize;

use crate::tracks::TrackLimits;

/// The section's key.
pub const KEY: &str = "scheduling";

/// `[scheduling]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulingSettings {
    /// Places of a group session when its track names none.
    pub default_group_capacity: u32,
    /// Most places a track may give its sessions.
    pub max_group_capacity: u32,
    /// Most patients in one attendance call.
    pub max_attendance_entries: usize,
    /// Days of an adult IOP (2.1) week that must each reach
    /// `iop_minutes_per_day` clinical minutes (H0015: 3; 0 turns the rule off).
    pub iop_days_per_week: u32,
    /// Clinical minutes an IOP day needs to count (H0015: 180).
    pub iop_minutes_per_day: u32,
    /// Session types whose attendance counts as clinical time, by their
    /// contract names without the prefix (`GROUP_THERAPY`, …); the rest are
    /// attended but not clinical (a payer's configuration).
    pub clinical_session_types: Vec<String>,
}

impl SchedulingSettings {
    /// The day rule of `level` for `age`: adult IOP's from the settings.
    /// Adolescents' IOP band starts at 6 hours, below three 3-hour days, so
    /// their band alone decides; so does PHP's; 24-hour levels have no week.
    pub fn day_rule(
        &self,
        level: iop_proto::common::v1::LevelOfCare,
        age: iop_proto::common::v1::AgeGroup,
    ) -> Option<iop_care::DayRule> {
        use iop_proto::common::v1::{AgeGroup, LevelOfCare};
        (level == LevelOfCare::LevelOfCare21IntensiveOutpatient
            && age != AgeGroup::Adolescent
            && self.iop_days_per_week > 0)
            .then_some(iop_care::DayRule {
                days: self.iop_days_per_week,
                minutes_per_day: self.iop_minutes_per_day,
            })
    }

    /// Whether attendance of a `t` session counts as clinical time.
    pub fn is_clinical(&self, t: iop_proto::scheduling::v1::SessionType) -> bool {
        let name = t.as_str_name();
        self.clinical_session_types
            .iter()
            .any(|c| name.strip_prefix("SESSION_TYPE_") == Some(c.as_str()))
    }

    /// The limits every track keeps.
    pub fn track_limits(&self) -> TrackLimits {
        TrackLimits {
            default_capacity: self.default_group_capacity,
            max_capacity: self.max_group_capacity,
        }
    }
}

/// The section, as the registry declares it.
pub const SECTION: Section = Section {
    key: KEY,
    defaults: include_str!("defaults.toml"),
    check,
};

fn check(settings: &iop_runtime::Settings) -> Result<(), SettingsError> {
    let s: SchedulingSettings = settings.section(KEY)?;
    if s.max_group_capacity < 2 {
        return Err(SettingsError::invalid(
            "scheduling.max_group_capacity",
            "must be at least 2 (a group)",
        ));
    }
    if !(2..=s.max_group_capacity).contains(&s.default_group_capacity) {
        return Err(SettingsError::invalid(
            "scheduling.default_group_capacity",
            "must be 2 to max_group_capacity",
        ));
    }
    if s.iop_days_per_week > 7 {
        return Err(SettingsError::invalid(
            "scheduling.iop_days_per_week",
            "must be 0 (off) to 7",
        ));
    }
    if s.iop_days_per_week > 0 && !(1..=24 * 60).contains(&s.iop_minutes_per_day) {
        return Err(SettingsError::invalid(
            "scheduling.iop_minutes_per_day",
            "must be 1 to 1440",
        ));
    }
    for name in &s.clinical_session_types {
        let known =
            iop_proto::scheduling::v1::SessionType::from_str_name(&format!("SESSION_TYPE_{name}"))
                .is_some_and(|t| t != iop_proto::scheduling::v1::SessionType::Unspecified);
        if !known {
            return Err(SettingsError::invalid(
                "scheduling.clinical_session_types",
                "names a session type the contract does not define",
            ));
        }
    }
    if s.max_attendance_entries == 0 {
        return Err(SettingsError::invalid(
            "scheduling.max_attendance_entries",
            "must be positive",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use iop_proto::{
        common::v1::{AgeGroup, LevelOfCare},
        scheduling::v1::SessionType,
    };

    use super::*;

    fn defaults() -> SchedulingSettings {
        iop_runtime::Settings::defaults(&[SECTION])
            .unwrap()
            .section(KEY)
            .unwrap()
    }

    #[test]
    fn clinical_time_is_what_the_defaults_name() {
        let s = defaults();
        for t in [
            SessionType::GroupTherapy,
            SessionType::IndividualTherapy,
            SessionType::FamilySession,
            SessionType::Psychoeducation,
            SessionType::CaseManagement,
            SessionType::PsychiatricVisit,
        ] {
            assert!(s.is_clinical(t), "{t:?}");
        }
        for t in [
            SessionType::TwelveStepMeeting,
            SessionType::RecreationalExperiential,
            SessionType::Holistic,
            SessionType::Unspecified,
        ] {
            assert!(!s.is_clinical(t), "{t:?}");
        }
    }

    #[test]
    fn the_day_rule_is_adult_iop_s() {
        let s = defaults();
        let iop = LevelOfCare::LevelOfCare21IntensiveOutpatient;
        let rule = s.day_rule(iop, AgeGroup::Adult).unwrap();
        assert_eq!((rule.days, rule.minutes_per_day), (3, 180));
        assert_eq!(s.day_rule(iop, AgeGroup::Adolescent), None);
        let php = LevelOfCare::LevelOfCare25PartialHospitalization;
        assert_eq!(s.day_rule(php, AgeGroup::Adult), None);
    }
}
