//! Testing-lab's settings section, `[lab]` (defaults in `defaults.toml`
//! beside this file; `IOP__LAB__…` overrides).

use std::collections::HashMap;

use iop_proto::lab::v1::{Analyte, DrugClass};
use iop_runtime::settings::{Section, SettingsError};
use serde::Deserialize;

/// The section's key.
pub const KEY: &str = "lab";

/// `[lab]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSettings {
    /// `CODE:ANALYTE[:CUTOFF]` or `CODE:CLASS[:CUTOFF]` entries (see
    /// `defaults.toml`); a cut-off (ng/mL) replaces the laboratory's own.
    pub result_codes: Vec<String>,
    /// Specimen validity and temperature thresholds.
    pub validity: crate::validity::Criteria,
}

/// What a sender's result code reports, and the cut-off this network
/// applies to it, if it sets one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Code {
    /// The analyte or class.
    pub reported: Reported,
    /// ng/mL; none: the laboratory's (OBX-7).
    pub cutoff: Option<f64>,
}

/// What a sender's result code reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// A named analyte.
    Analyte(Analyte),
    /// Any analyte of a class.
    Class(DrugClass),
}

impl LabSettings {
    /// The result codes, upper-cased, or the first entry that is not one.
    pub fn codes(&self) -> Result<HashMap<String, Code>, String> {
        self.result_codes
            .iter()
            .map(|entry| {
                let mut parts = entry.split(':');
                let (Some(code), Some(what)) = (parts.next(), parts.next()) else {
                    return Err(format!("{entry:?} is not CODE:ANALYTE or CODE:CLASS"));
                };
                let cutoff = match parts.next() {
                    None => None,
                    Some(c) => Some(
                        c.trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|c| *c > 0.0 && c.is_finite())
                            .ok_or_else(|| {
                                format!("{entry:?}: the cut-off is not a positive number")
                            })?,
                    ),
                };
                let what = what.trim().to_ascii_uppercase();
                let reported = Analyte::from_str_name(&format!("ANALYTE_{what}"))
                    .filter(|a| !matches!(a, Analyte::Unspecified | Analyte::Other))
                    .map(Reported::Analyte)
                    .or_else(|| {
                        DrugClass::from_str_name(&format!("DRUG_CLASS_{what}"))
                            .filter(|c| *c != DrugClass::Unspecified)
                            .map(Reported::Class)
                    })
                    .ok_or_else(|| format!("{entry:?} names no analyte or drug class"))?;
                Ok((code.trim().to_ascii_uppercase(), Code { reported, cutoff }))
            })
            .collect()
    }
}

/// The section, as the registry declares it.
pub const SECTION: Section = Section {
    key: KEY,
    defaults: include_str!("defaults.toml"),
    check,
};

fn check(settings: &iop_runtime::Settings) -> Result<(), SettingsError> {
    let s: LabSettings = settings.section(KEY)?;
    s.codes()
        .map_err(|why| SettingsError::invalid("lab.result_codes", why))?;
    let v = &s.validity;
    if v.min_temperature_c.partial_cmp(&v.max_temperature_c) != Some(std::cmp::Ordering::Less) {
        return Err(SettingsError::invalid(
            "lab.validity.max_temperature_c",
            "must be above min_temperature_c",
        ));
    }
    let nested = v.adulterated_ph_below <= v.invalid_ph_low_below
        && v.invalid_ph_high_from <= v.adulterated_ph_from;
    if !nested {
        return Err(SettingsError::invalid(
            "lab.validity",
            "pH bounds must nest: adulterated outside invalid",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn the_default_codes_read_and_a_bad_one_is_named() {
        let s: LabSettings = iop_runtime::Settings::defaults(&[SECTION])
            .unwrap()
            .section(KEY)
            .unwrap();
        let codes = s.codes().unwrap();
        assert_eq!(
            s.validity,
            crate::validity::Criteria::default(),
            "defaults are HHS"
        );
        assert_eq!(
            codes["NBUPC"].reported,
            Reported::Analyte(Analyte::Norbuprenorphine)
        );
        assert_eq!(codes["COCS"].reported, Reported::Class(DrugClass::Cocaine));
        assert_eq!(codes["FENTC"].cutoff, None);
        let own = LabSettings {
            result_codes: vec!["FENTC:FENTANYL:2".into()],
            validity: crate::validity::Criteria::default(),
        };
        assert_eq!(own.codes().unwrap()["FENTC"].cutoff, Some(2.0));
        let zero = LabSettings {
            result_codes: vec!["FENTC:FENTANYL:0".into()],
            validity: crate::validity::Criteria::default(),
        };
        assert!(zero.codes().unwrap_err().contains("cut-off"));
        let bad = LabSettings {
            result_codes: vec!["XYZ:NOTHING".into()],
            validity: crate::validity::Criteria::default(),
        };
        assert!(bad.codes().unwrap_err().contains("XYZ:NOTHING"));
    }
}
