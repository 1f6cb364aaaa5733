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
}

impl SchedulingSettings {
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
    if s.max_attendance_entries == 0 {
        return Err(SettingsError::invalid(
            "scheduling.max_attendance_entries",
            "must be positive",
        ));
    }
    Ok(())
}
