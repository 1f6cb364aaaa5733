//! The billing codes of a patient's drug tests on one date of service
//! (pure). Presumptive (screen) tests bill at most one code a day, by the
//! most complex method used that day: CPT 80305 (read by eye: cups, dip
//! cards), 80306 (read by an instrument), 80307 (chemistry analyzer).
//! Definitive (confirmation) testing bills one HCPCS code a day by the number
//! of distinct drug classes confirmed: G0480 (1–7), G0481 (8–14), G0482
//! (15–21), G0483 (22 or more). Payers deny a definitive code without a
//! screen first or beyond the classes in question; which classes were asked
//! is the order's business, not this count's.

use std::collections::BTreeSet;

use crate::interpretation::Class;

/// How a presumptive test was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// By eye (cup, dip card): 80305.
    Direct,
    /// By an instrument (optical reader): 80306.
    Instrument,
    /// By a chemistry analyzer: 80307.
    Analyzer,
}

impl Method {
    /// Its CPT code.
    pub fn code(self) -> &'static str {
        match self {
            Method::Direct => "80305",
            Method::Instrument => "80306",
            Method::Analyzer => "80307",
        }
    }
}

/// The presumptive code of a day on which tests were read by `methods`.
pub fn presumptive(methods: &[Method]) -> Option<&'static str> {
    methods.iter().max().map(|m| m.code())
}

/// The definitive code of a day on which `classes` were confirmed.
pub fn definitive(classes: &BTreeSet<Class>) -> Option<&'static str> {
    definitive_for(classes.len())
}

/// The definitive code for `count` distinct classes confirmed in a day (a
/// laboratory may report more classes than the panel's [`Class`] names).
pub fn definitive_for(count: usize) -> Option<&'static str> {
    match count {
        0 => None,
        1..=7 => Some("G0480"),
        8..=14 => Some("G0481"),
        15..=21 => Some("G0482"),
        _ => Some("G0483"),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use Class as C;

    #[test]
    fn two_presumptive_tests_on_one_day_are_one_code() {
        assert_eq!(
            presumptive(&[Method::Direct, Method::Direct]),
            Some("80305")
        );
        assert_eq!(
            presumptive(&[Method::Direct, Method::Analyzer]),
            Some("80307")
        );
        assert_eq!(presumptive(&[Method::Instrument]), Some("80306"));
        assert_eq!(presumptive(&[]), None);
    }

    const ALL: [Class; 14] = [
        C::Amphetamine,
        C::Methamphetamine,
        C::Benzodiazepine,
        C::Buprenorphine,
        C::Cocaine,
        C::Thc,
        C::Methadone,
        C::Opiate,
        C::Oxycodone,
        C::Fentanyl,
        C::Mdma,
        C::Barbiturate,
        C::Alcohol,
        C::Xylazine,
    ];

    #[rstest]
    #[case(0, None)]
    #[case(1, Some("G0480"))]
    #[case(7, Some("G0480"))]
    #[case(8, Some("G0481"))]
    #[case(9, Some("G0481"))]
    #[case(14, Some("G0481"))]
    fn definitive_codes_count_distinct_classes(#[case] n: usize, #[case] want: Option<&str>) {
        let classes: BTreeSet<Class> = ALL.iter().take(n).copied().collect();
        assert_eq!(definitive(&classes), want);
    }

    #[rstest]
    #[case(15, Some("G0482"))]
    #[case(21, Some("G0482"))]
    #[case(22, Some("G0483"))]
    #[case(40, Some("G0483"))]
    fn the_upper_tiers_by_count(#[case] n: usize, #[case] want: Option<&str>) {
        assert_eq!(definitive_for(n), want);
    }
}
