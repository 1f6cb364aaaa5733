//! Is a specimen fit to be interpreted? The HHS urine criteria (DOMAIN.md,
//! "Drug testing, numbers"), every threshold configurable: the temperature
//! read within 4 minutes must be 32–38 °C, else the specimen is recollected
//! under observation; then creatinine, specific gravity, pH and nitrite (or
//! an oxidant found) classify it valid, dilute, substituted, adulterated or
//! invalid. Only a valid (or dilute, which is reported as such) specimen is
//! interpreted; the others are recollected, never interpreted.
//!
//! Order of the checks, most serious first: adulterated (pH < 4.5 or ≥ 11,
//! nitrite ≥ 500 µg/mL, an oxidant present), substituted (creatinine < 2
//! mg/dL with specific gravity ≤ 1.0010 or ≥ 1.0200), invalid (pH 4.5–< 4.8
//! or 9–< 11; creatinine < 2 with a specific gravity that does not make it
//! substituted), dilute (creatinine 2–< 20 with specific gravity > 1.0010 and
//! < 1.0030), else valid.

/// The thresholds (defaults: HHS; `[lab.validity]` in the settings).
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criteria {
    /// Lowest acceptable temperature, °C.
    pub min_temperature_c: f64,
    /// Highest acceptable temperature, °C.
    pub max_temperature_c: f64,
    /// Most minutes after collection the temperature may be read.
    pub temperature_within_minutes: u32,
    /// Creatinine below this (mg/dL) with an extreme specific gravity: substituted.
    pub substituted_creatinine: f64,
    /// Creatinine below this (mg/dL) with a low specific gravity: dilute.
    pub dilute_creatinine: f64,
    /// Specific gravity at or below this: substituted (with low creatinine).
    pub substituted_sg_low: f64,
    /// Specific gravity at or above this: substituted (with low creatinine).
    pub substituted_sg_high: f64,
    /// Specific gravity below this (and above `substituted_sg_low`): dilute.
    pub dilute_sg_below: f64,
    /// pH below this: adulterated.
    pub adulterated_ph_below: f64,
    /// pH at or above this: adulterated.
    pub adulterated_ph_from: f64,
    /// pH from `adulterated_ph_below` to below this: invalid.
    pub invalid_ph_low_below: f64,
    /// pH from this to below `adulterated_ph_from`: invalid.
    pub invalid_ph_high_from: f64,
    /// Nitrite at or above this (µg/mL): adulterated.
    pub adulterated_nitrite: f64,
}

impl Default for Criteria {
    fn default() -> Self {
        Self {
            min_temperature_c: 32.0,
            max_temperature_c: 38.0,
            temperature_within_minutes: 4,
            substituted_creatinine: 2.0,
            dilute_creatinine: 20.0,
            substituted_sg_low: 1.0010,
            substituted_sg_high: 1.0200,
            dilute_sg_below: 1.0030,
            adulterated_ph_below: 4.5,
            adulterated_ph_from: 11.0,
            invalid_ph_low_below: 4.8,
            invalid_ph_high_from: 9.0,
            adulterated_nitrite: 500.0,
        }
    }
}

/// The specimen's validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Fit to interpret.
    Valid,
    /// Interpreted, reported as dilute (a negative may be a false negative).
    Dilute,
    /// Not human urine: recollect under observation.
    Substituted,
    /// Something was added: recollect under observation.
    Adulterated,
    /// Unreliable: recollect.
    Invalid,
}

impl Validity {
    /// Whether results of the specimen may be interpreted.
    pub fn interpretable(self) -> bool {
        matches!(self, Validity::Valid | Validity::Dilute)
    }
}

/// What the laboratory measured for validity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measures {
    /// Creatinine, mg/dL.
    pub creatinine: f64,
    /// Specific gravity.
    pub specific_gravity: f64,
    /// pH.
    pub ph: f64,
    /// Nitrite, µg/mL.
    pub nitrite: f64,
    /// An oxidant (bleach, peroxide, chromate…) was found.
    pub oxidant: bool,
}

/// Classifies a specimen by `c`.
pub fn classify(m: Measures, c: &Criteria) -> Validity {
    if m.ph < c.adulterated_ph_below
        || m.ph >= c.adulterated_ph_from
        || m.nitrite >= c.adulterated_nitrite
        || m.oxidant
    {
        return Validity::Adulterated;
    }
    if m.creatinine < c.substituted_creatinine {
        let extreme = m.specific_gravity <= c.substituted_sg_low
            || m.specific_gravity >= c.substituted_sg_high;
        return if extreme {
            Validity::Substituted
        } else {
            Validity::Invalid
        };
    }
    if m.ph < c.invalid_ph_low_below || m.ph >= c.invalid_ph_high_from {
        return Validity::Invalid;
    }
    if m.creatinine < c.dilute_creatinine
        && m.specific_gravity > c.substituted_sg_low
        && m.specific_gravity < c.dilute_sg_below
    {
        return Validity::Dilute;
    }
    Validity::Valid
}

/// What the temperature reading says of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temperature {
    /// In range, read in time.
    Acceptable,
    /// Out of range: recollect now, observed.
    RecollectObserved,
    /// Not read within the minutes allowed: recollect now, observed.
    ReadTooLate,
}

/// Judges a temperature of `celsius` read `minutes` after collection.
pub fn temperature(celsius: f64, minutes: u32, c: &Criteria) -> Temperature {
    if minutes > c.temperature_within_minutes {
        Temperature::ReadTooLate
    } else if (c.min_temperature_c..=c.max_temperature_c).contains(&celsius) {
        Temperature::Acceptable
    } else {
        Temperature::RecollectObserved
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn m(creatinine: f64, specific_gravity: f64, ph: f64, nitrite: f64) -> Measures {
        Measures {
            creatinine,
            specific_gravity,
            ph,
            nitrite,
            oxidant: false,
        }
    }

    #[rstest]
    // Valid, and each boundary around it.
    #[case(m(100.0, 1.0150, 6.0, 0.0), Validity::Valid)]
    #[case(m(20.0, 1.0020, 6.0, 0.0), Validity::Valid)] // creatinine 20 is not dilute
    #[case(m(19.9, 1.0030, 6.0, 0.0), Validity::Valid)] // SG 1.0030 is not dilute
    // Dilute: creatinine 2–<20 and SG >1.0010–<1.0030.
    #[case(m(19.9, 1.0029, 6.0, 0.0), Validity::Dilute)]
    #[case(m(2.0, 1.0011, 6.0, 0.0), Validity::Dilute)]
    #[case(m(2.0, 1.0010, 6.0, 0.0), Validity::Valid)] // SG 1.0010 is not above
    // Substituted: creatinine <2 with SG ≤1.0010 or ≥1.0200.
    #[case(m(1.9, 1.0010, 6.0, 0.0), Validity::Substituted)]
    #[case(m(1.9, 1.0200, 6.0, 0.0), Validity::Substituted)]
    #[case(m(1.9, 1.0199, 6.0, 0.0), Validity::Invalid)]
    #[case(m(1.9, 1.0011, 6.0, 0.0), Validity::Invalid)]
    // Adulterated: pH <4.5 or ≥11, nitrite ≥500.
    #[case(m(100.0, 1.0150, 4.49, 0.0), Validity::Adulterated)]
    #[case(m(100.0, 1.0150, 11.0, 0.0), Validity::Adulterated)]
    #[case(m(100.0, 1.0150, 6.0, 500.0), Validity::Adulterated)]
    #[case(m(100.0, 1.0150, 6.0, 499.9), Validity::Valid)]
    // Invalid: pH 4.5–<4.8 or 9–<11.
    #[case(m(100.0, 1.0150, 4.5, 0.0), Validity::Invalid)]
    #[case(m(100.0, 1.0150, 4.79, 0.0), Validity::Invalid)]
    #[case(m(100.0, 1.0150, 4.8, 0.0), Validity::Valid)]
    #[case(m(100.0, 1.0150, 8.99, 0.0), Validity::Valid)]
    #[case(m(100.0, 1.0150, 9.0, 0.0), Validity::Invalid)]
    #[case(m(100.0, 1.0150, 10.99, 0.0), Validity::Invalid)]
    // The most serious finding wins: adulterated over substituted.
    #[case(m(1.0, 1.0000, 3.0, 0.0), Validity::Adulterated)]
    fn classifies_at_every_boundary(#[case] measures: Measures, #[case] want: Validity) {
        assert_eq!(classify(measures, &Criteria::default()), want);
    }

    #[test]
    fn an_oxidant_adulterates_and_only_valid_or_dilute_is_interpreted() {
        let mut oxidised = m(100.0, 1.0150, 6.0, 0.0);
        oxidised.oxidant = true;
        assert_eq!(
            classify(oxidised, &Criteria::default()),
            Validity::Adulterated
        );
        assert!(Validity::Valid.interpretable() && Validity::Dilute.interpretable());
        for v in [
            Validity::Substituted,
            Validity::Adulterated,
            Validity::Invalid,
        ] {
            assert!(!v.interpretable());
        }
    }

    #[rstest]
    #[case(32.0, 4, Temperature::Acceptable)]
    #[case(38.0, 0, Temperature::Acceptable)]
    #[case(31.9, 2, Temperature::RecollectObserved)]
    #[case(38.1, 2, Temperature::RecollectObserved)]
    #[case(35.0, 5, Temperature::ReadTooLate)]
    fn temperature_out_of_range_or_late_means_an_observed_recollection(
        #[case] celsius: f64,
        #[case] minutes: u32,
        #[case] want: Temperature,
    ) {
        assert_eq!(temperature(celsius, minutes, &Criteria::default()), want);
    }

    #[test]
    fn thresholds_are_configurable() {
        let strict = Criteria {
            dilute_creatinine: 30.0,
            ..Criteria::default()
        };
        assert_eq!(
            classify(m(25.0, 1.0020, 6.0, 0.0), &strict),
            Validity::Dilute
        );
        assert_eq!(
            classify(m(25.0, 1.0020, 6.0, 0.0), &Criteria::default()),
            Validity::Valid
        );
    }
}
