//! Billing's settings section, `[billing]` (defaults in `defaults.toml`
//! beside this file; `IOP__BILLING__…` overrides): who submits the files,
//! the billing provider of each facility, and each payer's rules.

use std::collections::HashMap;

use iop_proto::{common::v1::LevelOfCare, scheduling::v1::SessionType};
use iop_runtime::settings::{Section, SettingsError};
use serde::Deserialize;

/// The section's key.
pub const KEY: &str = "billing";

/// `[billing]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingSettings {
    /// A check older than this is due again (as is one from an earlier month).
    pub eligibility_every_days: u32,
    /// Who sends the X12 files.
    pub submitter: Submitter,
    /// Billing provider per facility id.
    pub providers: HashMap<String, Provider>,
    /// Payer rules per payer id.
    pub payers: HashMap<String, PayerSettings>,
    /// The demo facilities' providers, used only when `site.id` is `local`.
    pub demo_providers: HashMap<String, Provider>,
    /// Demo payers, used only when `site.id` is `local`.
    pub demo_payers: HashMap<String, PayerSettings>,
}

/// The `site.id` of one-machine runs (`iop dev`, tests), where the demo
/// providers and payers apply.
pub const LOCAL_SITE: &str = "local";

/// The network's billing office as X12 names it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Submitter {
    /// NM103 of 1000A.
    pub name: String,
    /// ISA06, GS02, NM109 of 1000A.
    pub id: String,
    /// PER02.
    pub contact: String,
    /// PER04, digits.
    pub phone: String,
    /// ISA15: `T` or `P`.
    pub usage: String,
}

/// A facility as the payer knows it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Organisation name.
    pub name: String,
    /// National Provider Identifier (10 digits, Luhn-checked).
    pub npi: String,
    /// Employer identification number (9 digits).
    pub tax_id: String,
    /// Provider taxonomy code.
    pub taxonomy: String,
    /// Street line.
    pub address: String,
    /// City.
    pub city: String,
    /// Two-letter state.
    pub state: String,
    /// Nine-digit ZIP.
    pub zip: String,
    /// The attending clinician of institutional claims (2310A): the
    /// program's medical director.
    pub attending: Clinician,
}

/// A clinician as a claim names them.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Clinician {
    /// Family name.
    pub family: String,
    /// Given name.
    pub given: String,
    /// Individual NPI.
    pub npi: String,
}

/// A payer's rules, as configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayerSettings {
    /// Name on files.
    pub name: String,
    /// `837I` or `837P`.
    pub claim: String,
    /// Facility type of an 837I's type of bill (CLM05-1): `13` hospital
    /// outpatient (Medicare IOP), `89` a freestanding special facility.
    pub facility_type: String,
    /// Clinical minutes a day needs.
    pub min_minutes_per_day: u32,
    /// Billable days a week needs.
    pub min_days_per_week: u32,
    /// Session types whose minutes count (names of `SessionType` without the prefix).
    pub session_types: Vec<String>,
    /// Timely filing limit in months.
    pub timely_filing_months: u32,
    /// `service` (from the date of service) or `month_of_service` (from its month's end).
    pub timely_filing_from: String,
    /// Whether days need an authorization.
    pub authorization_required: bool,
    /// Claim filing indicator (SBR09): MA Medicare Part A, MB Part B, MC
    /// Medicaid, CI commercial, HM HMO, BL Blue Cross.
    pub filing_indicator: String,
    /// Condition codes on every claim (Medicare IOP: 92).
    pub condition_codes: Vec<String>,
    /// Per-diem per level of care (`"2.1"`, `"2.5"`).
    pub per_diem: HashMap<String, Rate>,
    /// Lab fee schedule: code → cents.
    pub lab: HashMap<String, i64>,
}

/// A per-diem line.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// HCPCS code, e.g. H0015.
    pub hcpcs: String,
    /// UB-04 revenue code, e.g. 0906.
    pub revenue_code: String,
    /// Amount per day in cents.
    pub cents: i64,
}

/// Which claim a payer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimType {
    /// 837I, 005010X223A2.
    Institutional,
    /// 837P, 005010X222A1.
    Professional,
}

impl ClaimType {
    /// As the contract names it.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimType::Institutional => "837I",
            ClaimType::Professional => "837P",
        }
    }
}

/// Where timely filing counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilingFrom {
    /// The date of service (Medicare: 12 months).
    Service,
    /// The end of the month of service (Medi-Cal: 6 months).
    MonthOfService,
}

/// A payer's rules, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    /// Payer id (upper-case).
    pub id: String,
    /// Name on files.
    pub name: String,
    /// Which claim.
    pub claim: ClaimType,
    /// CLM05-1 of an 837I.
    pub facility_type: String,
    /// The day rule.
    pub day_rule: iop_care::DayRule,
    /// `SessionType` values that count.
    pub session_types: Vec<i32>,
    /// Months.
    pub timely_filing_months: u32,
    /// From when.
    pub filing_from: FilingFrom,
    /// Whether days need an authorization.
    pub authorization_required: bool,
    /// SBR09.
    pub filing_indicator: String,
    /// Condition codes.
    pub condition_codes: Vec<String>,
    /// Per-diem per `LevelOfCare` value.
    pub per_diem: HashMap<i32, Rate>,
    /// Lab code → cents.
    pub lab: HashMap<String, i64>,
}

/// Everything billing runs on, checked.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Days between eligibility checks.
    pub eligibility_every_days: u32,
    /// Who submits.
    pub submitter: Submitter,
    /// Per facility id.
    pub providers: HashMap<String, Provider>,
    /// Per payer id (upper-case).
    pub payers: HashMap<String, Payer>,
}

impl Rules {
    /// The payer with `id`, compared upper-case.
    pub fn payer(&self, id: &str) -> Option<&Payer> {
        self.payers.get(&id.trim().to_ascii_uppercase())
    }
}

/// The level a fee schedule key names.
pub fn level(key: &str) -> Option<LevelOfCare> {
    Some(match key.trim() {
        "1" => LevelOfCare::LevelOfCare1Outpatient,
        "2.1" => LevelOfCare::LevelOfCare21IntensiveOutpatient,
        "2.5" => LevelOfCare::LevelOfCare25PartialHospitalization,
        _ => return None,
    })
}

/// Whether `npi` is ten digits with a valid check digit (Luhn over the
/// `80840` prefix, as CMS assigns them).
pub fn npi_valid(npi: &str) -> bool {
    if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = format!("80840{npi}")
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// An X12 element value: printable, none of the separators this network writes.
fn x12_safe(s: &str) -> bool {
    !s.trim().is_empty()
        && s.chars()
            .all(|c| (' '..='~').contains(&c) && !"*~:^".contains(c))
}

impl BillingSettings {
    /// The settings checked, or the first key that is wrong and why; the
    /// demo providers and payers join the site's own only when `demo`.
    pub fn rules(&self, demo: bool) -> Result<Rules, SettingsError> {
        let bad = |key: String, why: &str| SettingsError::invalid(format!("billing.{key}"), why);
        let mut providers_in_force = self.providers.clone();
        let mut payers_in_force = self.payers.clone();
        if demo {
            for (k, v) in &self.demo_providers {
                providers_in_force
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            for (k, v) in &self.demo_payers {
                payers_in_force
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
        }
        let s = &self.submitter;
        for (k, v) in [("name", &s.name), ("id", &s.id), ("contact", &s.contact)] {
            if !x12_safe(v) {
                return Err(bad(
                    format!("submitter.{k}"),
                    "is required, without * ~ : ^",
                ));
            }
        }
        if s.id.len() > 15 {
            return Err(bad(
                "submitter.id".into(),
                "is at most 15 characters (ISA06)",
            ));
        }
        if !digits(&s.phone, 10) {
            return Err(bad("submitter.phone".into(), "must be 10 digits"));
        }
        if !matches!(s.usage.as_str(), "T" | "P") {
            return Err(bad("submitter.usage".into(), "must be T or P"));
        }
        for (id, p) in &providers_in_force {
            let key = |k: &str| format!("providers.{id}.{k}");
            for (k, v) in [
                ("name", &p.name),
                ("address", &p.address),
                ("city", &p.city),
                ("taxonomy", &p.taxonomy),
            ] {
                if !x12_safe(v) {
                    return Err(bad(key(k), "is required, without * ~ : ^"));
                }
            }
            if !npi_valid(&p.npi) {
                return Err(bad(key("npi"), "is not an NPI (10 digits, check digit)"));
            }
            if !x12_safe(&p.attending.family) || !x12_safe(&p.attending.given) {
                return Err(bad(key("attending"), "needs a family and a given name"));
            }
            if !npi_valid(&p.attending.npi) {
                return Err(bad(
                    key("attending.npi"),
                    "is not an NPI (10 digits, check digit)",
                ));
            }
            if !digits(&p.tax_id, 9) {
                return Err(bad(key("tax_id"), "must be 9 digits"));
            }
            if !(p.state.len() == 2 && p.state.bytes().all(|b| b.is_ascii_uppercase())) {
                return Err(bad(key("state"), "must be two capital letters"));
            }
            if !digits(&p.zip, 9) {
                return Err(bad(key("zip"), "must be 9 digits (ZIP+4)"));
            }
        }
        let mut payers = HashMap::new();
        for (id, p) in &payers_in_force {
            let key = |k: &str| format!("payers.{id}.{k}");
            if !x12_safe(id) || id.len() > 80 {
                return Err(bad(key(""), "payer id must be an X12 value"));
            }
            if !x12_safe(&p.name) {
                return Err(bad(key("name"), "is required, without * ~ : ^"));
            }
            let claim = match p.claim.as_str() {
                "837I" => ClaimType::Institutional,
                "837P" => ClaimType::Professional,
                _ => return Err(bad(key("claim"), "must be 837I or 837P")),
            };
            if !(p.facility_type.len() == 2 && p.facility_type.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(bad(key("facility_type"), "must be two digits (CLM05-1)"));
            }
            if p.min_minutes_per_day == 0 || p.min_minutes_per_day > 24 * 60 {
                return Err(bad(key("min_minutes_per_day"), "must be 1 to 1440"));
            }
            if !(1..=7).contains(&p.min_days_per_week) {
                return Err(bad(key("min_days_per_week"), "must be 1 to 7"));
            }
            let mut session_types = Vec::new();
            for t in &p.session_types {
                let v = SessionType::from_str_name(&format!("SESSION_TYPE_{t}"))
                    .filter(|v| *v != SessionType::Unspecified)
                    .ok_or_else(|| {
                        bad(
                            key("session_types"),
                            &format!("{t:?} is not a session type"),
                        )
                    })?;
                session_types.push(v as i32);
            }
            if session_types.is_empty() {
                return Err(bad(key("session_types"), "names no session type"));
            }
            if p.timely_filing_months == 0 {
                return Err(bad(key("timely_filing_months"), "must be at least 1"));
            }
            let filing_from = match p.timely_filing_from.as_str() {
                "service" => FilingFrom::Service,
                "month_of_service" => FilingFrom::MonthOfService,
                _ => {
                    return Err(bad(
                        key("timely_filing_from"),
                        "must be service or month_of_service",
                    ));
                }
            };
            const INDICATORS: [&str; 16] = [
                "09", "11", "12", "13", "14", "16", "AM", "BL", "CH", "CI", "DS", "HM", "MA", "MB",
                "MC", "ZZ",
            ];
            if !INDICATORS.contains(&p.filing_indicator.as_str()) {
                return Err(bad(
                    key("filing_indicator"),
                    "is not a claim filing indicator code",
                ));
            }
            for c in &p.condition_codes {
                if !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphanumeric())) {
                    return Err(bad(
                        key("condition_codes"),
                        &format!("{c:?} is not a condition code"),
                    ));
                }
            }
            let mut per_diem = HashMap::new();
            for (lvl, rate) in &p.per_diem {
                let level = level(lvl).ok_or_else(|| {
                    bad(
                        key("per_diem"),
                        &format!("{lvl:?} is not a level (1, 2.1, 2.5)"),
                    )
                })?;
                if !hcpcs_shaped(&rate.hcpcs) {
                    return Err(bad(
                        key("per_diem"),
                        &format!("{:?} is not a HCPCS code", rate.hcpcs),
                    ));
                }
                if !digits(&rate.revenue_code, 4) {
                    return Err(bad(key("per_diem"), "revenue_code must be 4 digits"));
                }
                if rate.cents <= 0 {
                    return Err(bad(key("per_diem"), "cents must be positive"));
                }
                per_diem.insert(level as i32, rate.clone());
            }
            let mut lab = HashMap::new();
            for (code, cents) in &p.lab {
                if !hcpcs_shaped(code) || *cents <= 0 {
                    return Err(bad(
                        key("lab"),
                        &format!("{code:?} = {cents}: a code and positive cents"),
                    ));
                }
                lab.insert(code.to_ascii_uppercase(), *cents);
            }
            let upper = id.trim().to_ascii_uppercase();
            payers.insert(
                upper.clone(),
                Payer {
                    id: upper,
                    name: p.name.clone(),
                    claim,
                    facility_type: p.facility_type.clone(),
                    day_rule: iop_care::DayRule {
                        days: p.min_days_per_week,
                        minutes_per_day: p.min_minutes_per_day,
                    },
                    session_types,
                    timely_filing_months: p.timely_filing_months,
                    filing_from,
                    authorization_required: p.authorization_required,
                    filing_indicator: p.filing_indicator.clone(),
                    condition_codes: p.condition_codes.clone(),
                    per_diem,
                    lab,
                },
            );
        }
        Ok(Rules {
            eligibility_every_days: self.eligibility_every_days,
            submitter: self.submitter.clone(),
            providers: providers_in_force,
            payers,
        })
    }
}

/// A HCPCS/CPT code: five letters or digits.
fn hcpcs_shaped(code: &str) -> bool {
    code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The section, as the registry declares it.
pub const SECTION: Section = Section {
    key: KEY,
    defaults: include_str!("defaults.toml"),
    check,
};

fn check(settings: &iop_runtime::Settings) -> Result<(), SettingsError> {
    let s: BillingSettings = settings.section(KEY)?;
    s.rules(settings.site.id == LOCAL_SITE).map(|_| ())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn defaults() -> BillingSettings {
        iop_runtime::Settings::defaults(&[SECTION])
            .unwrap()
            .section(KEY)
            .unwrap()
    }

    #[test]
    fn the_defaults_read_with_medicare_and_medi_cal_rules() {
        let rules = defaults().rules(true).unwrap();
        let medicare = rules.payer("01112").unwrap();
        assert_eq!(medicare.claim, ClaimType::Institutional);
        assert_eq!(medicare.condition_codes, vec!["92".to_owned()]);
        assert_eq!(
            (medicare.timely_filing_months, medicare.filing_from),
            (12, FilingFrom::Service)
        );
        let medi_cal = rules.payer("mcdmc").unwrap();
        assert_eq!(medi_cal.claim, ClaimType::Professional);
        assert_eq!(
            (medi_cal.timely_filing_months, medi_cal.filing_from),
            (6, FilingFrom::MonthOfService)
        );
        assert_eq!(
            medi_cal.per_diem[&(LevelOfCare::LevelOfCare21IntensiveOutpatient as i32)],
            Rate {
                hcpcs: "H0015".into(),
                revenue_code: "0906".into(),
                cents: 18000
            }
        );
        assert_eq!(
            medi_cal.day_rule,
            iop_care::DayRule {
                days: 3,
                minutes_per_day: 180
            }
        );
        assert!(
            !medi_cal
                .session_types
                .contains(&(SessionType::TwelveStepMeeting as i32))
        );
        assert_eq!(rules.providers.len(), 7, "every demo facility bills");
    }

    #[test]
    fn a_wrong_value_is_named_by_its_key() {
        let mut s = defaults();
        s.demo_providers.get_mut("oakland").unwrap().npi = "1543218775".into();
        let e = s.rules(true).unwrap_err().to_string();
        assert!(e.contains("billing.providers.oakland.npi"), "{e}");
        let mut s = defaults();
        s.demo_payers.get_mut("MCDMC").unwrap().claim = "UB04".into();
        assert!(
            s.rules(true)
                .unwrap_err()
                .to_string()
                .contains("billing.payers.MCDMC.claim")
        );
        let mut s = defaults();
        s.demo_payers
            .get_mut("MCDMC")
            .unwrap()
            .session_types
            .push("NAPPING".into());
        assert!(s.rules(true).unwrap_err().to_string().contains("NAPPING"));
        let mut s = defaults();
        s.demo_payers.get_mut("99PHP").unwrap().per_diem.insert(
            "3.1".into(),
            Rate {
                hcpcs: "H0019".into(),
                revenue_code: "1002".into(),
                cents: 1,
            },
        );
        assert!(s.rules(true).unwrap_err().to_string().contains("3.1"));
    }

    #[test]
    fn a_site_of_its_own_bills_with_its_own_providers_and_payers_alone() {
        let mut s = defaults();
        let site = s.rules(false).unwrap();
        assert!(site.providers.is_empty() && site.payers.is_empty());
        s.providers
            .insert("oakland".into(), s.demo_providers["oakland"].clone());
        let site = s.rules(false).unwrap();
        assert_eq!(site.providers.len(), 1);
        assert!(
            site.payer("MCDMC").is_none(),
            "no demo fee reaches a site's claim"
        );
    }

    #[test]
    fn npi_check_digits() {
        assert!(npi_valid("1234567893"));
        assert!(!npi_valid("1234567890"));
        assert!(!npi_valid("123456789"));
        assert!(npi_valid("1543218766"));
    }
}

#[cfg(test)]
mod overrides {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn one_payer_value_is_overridden_by_its_dotted_key() {
        let mut all = iop_runtime::Settings::defaults(&[SECTION]).unwrap();
        all.set("billing.demo_payers.99PHP.min_days_per_week", 1)
            .unwrap();
        let s: BillingSettings = all.section(KEY).unwrap();
        let rules = s.rules(true).unwrap();
        assert_eq!(rules.payer("99PHP").unwrap().day_rule.days, 1);
    }
}
