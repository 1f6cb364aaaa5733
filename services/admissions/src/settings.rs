//! Admissions' settings section, `[admissions]` (defaults in `defaults.toml`
//! beside this file; `IOP__ADMISSIONS__…` overrides).

use iop_runtime::settings::{Section, SettingsError};
use serde::Deserialize;

/// The section's key.
pub const KEY: &str = "admissions";

/// `[admissions]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionsSettings {
    /// Most look-alike candidates one registration returns.
    pub max_duplicate_candidates: usize,
    /// Most registrations that produce duplicate candidates one caller may
    /// make per minute; more are RESOURCE_EXHAUSTED (the duplicate check must
    /// not become a way to search the network).
    pub candidate_searches_per_minute: u32,
    /// How long a break-glass grant (medical emergency) lets its clinician
    /// read the record, in seconds.
    pub break_glass_seconds: u32,
    /// How many days an assessment can carry an admission (or a change of
    /// level): older ones need a new assessment.
    pub placement_valid_days: u32,
}

/// The section, as the registry declares it.
pub const SECTION: Section = Section {
    key: KEY,
    defaults: include_str!("defaults.toml"),
    check,
};

fn check(settings: &iop_runtime::Settings) -> Result<(), SettingsError> {
    let s: AdmissionsSettings = settings.section(KEY)?;
    if !(60..=86_400).contains(&s.break_glass_seconds) {
        return Err(SettingsError::invalid(
            "admissions.break_glass_seconds",
            "must be 60 to 86400",
        ));
    }
    if !(1..=1000).contains(&s.candidate_searches_per_minute) {
        return Err(SettingsError::invalid(
            "admissions.candidate_searches_per_minute",
            "must be 1 to 1000",
        ));
    }
    if !(1..=365).contains(&s.placement_valid_days) {
        return Err(SettingsError::invalid(
            "admissions.placement_valid_days",
            "must be 1 to 365",
        ));
    }
    if !(1..=50).contains(&s.max_duplicate_candidates) {
        return Err(SettingsError::invalid(
            "admissions.max_duplicate_candidates",
            "must be 1 to 50",
        ));
    }
    Ok(())
}
