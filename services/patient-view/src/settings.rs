//! The patient view's settings section, `[patient_view]` (defaults in
//! `defaults.toml` beside this file; `IOP__PATIENT_VIEW__…` overrides).

use std::time::Duration;

use iop_runtime::settings::{Section, SettingsError};
use serde::Deserialize;

/// The section's key.
pub const KEY: &str = "patient_view";

/// `[patient_view]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientViewSettings {
    /// Longest wait for a consistency token when the client sets no (or a
    /// longer) deadline.
    pub read_your_writes_timeout_ms: u64,
}

impl PatientViewSettings {
    /// [`Self::read_your_writes_timeout_ms`] as a duration.
    pub fn read_your_writes_timeout(&self) -> Duration {
        Duration::from_millis(self.read_your_writes_timeout_ms)
    }
}

/// The section, as the registry declares it.
pub const SECTION: Section = Section {
    key: KEY,
    defaults: include_str!("defaults.toml"),
    check,
};

fn check(settings: &iop_runtime::Settings) -> Result<(), SettingsError> {
    let s: PatientViewSettings = settings.section(KEY)?;
    if s.read_your_writes_timeout_ms == 0 {
        return Err(SettingsError::invalid(
            "patient_view.read_your_writes_timeout_ms",
            "must be positive",
        ));
    }
    Ok(())
}
