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
    if s.max_attendance_entries == 0 {
        return Err(SettingsError::invalid(
            "scheduling.max_attendance_entries",
            "must be positive",
        ));
    }
    Ok(())
}
