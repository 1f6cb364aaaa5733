//! X12 837 claims: institutional (005010X223A2, the facility's UB-04: type
//! of bill, revenue code 0906 + HCPCS H0015 per day, statement period,
//! attending clinician, condition codes) and professional (005010X222A1:
//! place of service 57, HCPCS lines). One file per facility and payer: the
//! billing provider (2000A/2010AA), then each patient's subscriber loop
//! (2000B, and 2000C when the patient is not the subscriber) with their
//! claims (2300), one service line per date of service and code (2400).

use chrono::{DateTime, NaiveDate, Utc};
use iop_proto::common::v1::{Sex, SubscriberRelationship};

use super::{Envelope, Segment, clean, date, interchange, range, seg};
use crate::{
    money,
    settings::{ClaimType, Payer, Provider, Submitter},
};

/// A patient as a claim names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Family name.
    pub family: String,
    /// Given name.
    pub given: String,
    /// Middle name or initial.
    pub middle: String,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// `Sex` value.
    pub sex: i32,
}

/// The coverage a claim is made under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Member id.
    pub member_id: String,
    /// Group number, if any.
    pub group_number: String,
    /// `SubscriberRelationship` value.
    pub relationship: i32,
    /// The subscriber's name when not the patient ("Family, Given" or "Given Family").
    pub name: String,
    /// The subscriber's address, when known.
    pub address: Option<Address>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Street lines.
    pub line1: String,
    /// Second line.
    pub line2: String,
    /// City.
    pub city: String,
    /// Two-letter state.
    pub state: String,
    /// ZIP or ZIP+4, digits.
    pub zip: String,
}

fn address(body: &mut Vec<Segment>, a: &Address) {
    body.push(seg(&["N3", &clean(&a.line1, 55), &clean(&a.line2, 55)]));
    let zip: String = a.zip.chars().filter(char::is_ascii_digit).collect();
    body.push(seg(&["N4", &clean(&a.city, 30), &clean(&a.state, 2), &zip]));
}

/// A service line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Date of service.
    pub date: NaiveDate,
    /// HCPCS/CPT.
    pub hcpcs: String,
    /// Revenue code (837I).
    pub revenue_code: String,
    /// Units (days).
    pub units: u32,
    /// Cents.
    pub cents: i64,
}

/// One claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// CLM01.
    pub number: String,
    /// The patient.
    pub patient: Person,
    /// Their coverage.
    pub subscriber: Subscriber,
    /// Authorization numbers (REF*G1), if any.
    pub authorizations: Vec<String>,
    /// Principal first.
    pub diagnoses: Vec<String>,
    /// Statement period.
    pub from: NaiveDate,
    /// Statement period end.
    pub to: NaiveDate,
    /// Lines, in date order.
    pub lines: Vec<Line>,
}

impl Claim {
    /// Total charge.
    pub fn total(&self) -> i64 {
        self.lines.iter().map(|l| l.cents).sum()
    }
}

/// Everything one 837 file says.
#[derive(Debug, Clone)]
pub struct ClaimFile<'a> {
    /// Who sends.
    pub submitter: &'a Submitter,
    /// Who pays.
    pub payer: &'a Payer,
    /// The facility billing.
    pub provider: &'a Provider,
    /// ISA13/GS06 and BHT03.
    pub control: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Claims, grouped by patient in the order given.
    pub claims: &'a [Claim],
}

/// DMG03: F, M or U.
pub(crate) fn sex_code(sex: i32) -> &'static str {
    match Sex::try_from(sex).unwrap_or_default() {
        Sex::Female => "F",
        Sex::Male => "M",
        _ => "U",
    }
}

/// PAT01 for a patient who is not the subscriber.
fn patient_relationship(relationship: i32) -> &'static str {
    match SubscriberRelationship::try_from(relationship).unwrap_or_default() {
        SubscriberRelationship::Spouse => "01",
        SubscriberRelationship::Child => "19",
        _ => "G8",
    }
}

/// "Family, Given" or "Given Family" as (family, given).
fn split_name(name: &str) -> (String, String) {
    match name.split_once(',') {
        Some((family, given)) => (clean(family, 60), clean(given, 35)),
        None => match name.trim().rsplit_once(' ') {
            Some((given, family)) => (clean(family, 60), clean(given, 35)),
            None => (clean(name, 60), String::new()),
        },
    }
}

/// The 837 file of `f`, as the payer's claim type requires.
pub fn file(f: &ClaimFile<'_>) -> String {
    let institutional = f.payer.claim == ClaimType::Institutional;
    let version = if institutional {
        "005010X223A2"
    } else {
        "005010X222A1"
    };
    let mut body: Vec<Segment> = Vec::new();
    let reference = format!("{:09}", f.control % 1_000_000_000);
    body.push(seg(&[
        "BHT",
        "0019",
        "00",
        &reference,
        &f.at.format("%Y%m%d").to_string(),
        &f.at.format("%H%M").to_string(),
        "CH",
    ]));
    // 1000A submitter, 1000B receiver.
    body.push(seg(&[
        "NM1",
        "41",
        "2",
        &clean(&f.submitter.name, 60),
        "",
        "",
        "",
        "",
        "46",
        &clean(&f.submitter.id, 80),
    ]));
    body.push(seg(&[
        "PER",
        "IC",
        &clean(&f.submitter.contact, 60),
        "TE",
        &f.submitter.phone,
    ]));
    body.push(seg(&[
        "NM1",
        "40",
        "2",
        &clean(&f.payer.name, 60),
        "",
        "",
        "",
        "",
        "46",
        &clean(&f.payer.id, 80),
    ]));
    // 2000A billing provider.
    let p = f.provider;
    body.push(seg(&["HL", "1", "", "20", "1"]));
    body.push(seg(&["PRV", "BI", "PXC", &p.taxonomy]));
    body.push(seg(&[
        "NM1",
        "85",
        "2",
        &clean(&p.name, 60),
        "",
        "",
        "",
        "",
        "XX",
        &p.npi,
    ]));
    body.push(seg(&["N3", &clean(&p.address, 55)]));
    body.push(seg(&["N4", &clean(&p.city, 30), &p.state, &p.zip]));
    body.push(seg(&["REF", "EI", &p.tax_id]));
    let mut hl = 1u32;
    let mut i = 0;
    while i < f.claims.len() {
        // The claims of one patient and coverage share a subscriber loop.
        let first = &f.claims[i];
        let mut j = i + 1;
        while j < f.claims.len()
            && f.claims[j].patient == first.patient
            && f.claims[j].subscriber == first.subscriber
        {
            j += 1;
        }
        hl += 1;
        let subscriber_hl = hl;
        let is_self = SubscriberRelationship::try_from(first.subscriber.relationship)
            .unwrap_or_default()
            == SubscriberRelationship::Self_;
        body.push(seg(&[
            "HL",
            &subscriber_hl.to_string(),
            "1",
            "22",
            if is_self { "0" } else { "1" },
        ]));
        body.push(seg(&[
            "SBR",
            "P",
            if is_self { "18" } else { "" },
            &clean(&first.subscriber.group_number, 50),
            "",
            "",
            "",
            "",
            "",
            &f.payer.filing_indicator,
        ]));
        let pt = &first.patient;
        if is_self {
            body.push(seg(&[
                "NM1",
                "IL",
                "1",
                &clean(&pt.family, 60),
                &clean(&pt.given, 35),
                &clean(&pt.middle, 25),
                "",
                "",
                "MI",
                &clean(&first.subscriber.member_id, 80),
            ]));
            if let Some(a) = &first.subscriber.address {
                address(&mut body, a);
            }
            if let Some(dob) = pt.date_of_birth {
                body.push(seg(&["DMG", "D8", &date(dob), sex_code(pt.sex)]));
            }
        } else {
            let (family, given) = split_name(&first.subscriber.name);
            body.push(seg(&[
                "NM1",
                "IL",
                "1",
                &family,
                &given,
                "",
                "",
                "",
                "MI",
                &clean(&first.subscriber.member_id, 80),
            ]));
            if let Some(a) = &first.subscriber.address {
                address(&mut body, a);
            }
        }
        body.push(seg(&[
            "NM1",
            "PR",
            "2",
            &clean(&f.payer.name, 60),
            "",
            "",
            "",
            "",
            "PI",
            &clean(&f.payer.id, 80),
        ]));
        if !is_self {
            hl += 1;
            body.push(seg(&[
                "HL",
                &hl.to_string(),
                &subscriber_hl.to_string(),
                "23",
                "0",
            ]));
            body.push(seg(&[
                "PAT",
                patient_relationship(first.subscriber.relationship),
            ]));
            body.push(seg(&[
                "NM1",
                "QC",
                "1",
                &clean(&pt.family, 60),
                &clean(&pt.given, 35),
                &clean(&pt.middle, 25),
            ]));
            if let Some(a) = &first.subscriber.address {
                address(&mut body, a);
            }
            if let Some(dob) = pt.date_of_birth {
                body.push(seg(&["DMG", "D8", &date(dob), sex_code(pt.sex)]));
            }
        }
        for claim in &f.claims[i..j] {
            if institutional {
                institutional_claim(&mut body, f, claim);
            } else {
                professional_claim(&mut body, claim);
            }
        }
        i = j;
    }
    let envelope = Envelope {
        sender: &f.submitter.id,
        receiver: &f.payer.id,
        control: f.control,
        functional_id: "HC",
        transaction: "837",
        version,
        usage: &f.submitter.usage,
        at: f.at,
    };
    interchange(&envelope, &body)
}

/// HI composites: qualifier for the first code, another for the rest.
fn diagnosis_segments(
    first: &str,
    rest: &str,
    codes: &[String],
    per_segment: usize,
) -> Vec<Segment> {
    let mut out = Vec::new();
    if let Some(principal) = codes.first() {
        let mut hi = vec!["HI".to_owned(), format!("{first}:{principal}")];
        for c in codes.iter().skip(1).take(per_segment - 1) {
            hi.push(format!("{rest}:{c}"));
        }
        out.push(hi);
    }
    out
}

fn institutional_claim(body: &mut Vec<Segment>, f: &ClaimFile<'_>, c: &Claim) {
    // Type of bill: the payer's facility type (013x hospital outpatient for
    // Medicare IOP, 089x a freestanding facility), frequency 1.
    body.push(seg(&[
        "CLM",
        &c.number,
        &money::to_x12(c.total()),
        "",
        "",
        &format!("{}:A:1", f.payer.facility_type),
        "",
        "A",
        "Y",
        "Y",
    ]));
    body.push(seg(&["DTP", "434", "RD8", &range(c.from, c.to)]));
    // Admission type is for inpatients; source: physician referral; status:
    // still a patient (the episode goes on after the month billed).
    body.push(seg(&["CL1", "", "1", "30"]));
    for a in &c.authorizations {
        body.push(seg(&["REF", "G1", &clean(a, 50)]));
    }
    body.extend(diagnosis_segments("ABK", "ABF", &c.diagnoses, 1));
    if c.diagnoses.len() > 1 {
        let mut hi = vec!["HI".to_owned()];
        for d in c.diagnoses.iter().skip(1).take(12) {
            hi.push(format!("ABF:{d}"));
        }
        body.push(hi);
    }
    if !f.payer.condition_codes.is_empty() {
        let mut hi = vec!["HI".to_owned()];
        for code in f.payer.condition_codes.iter().take(12) {
            hi.push(format!("BG:{code}"));
        }
        body.push(hi);
    }
    let a = &f.provider.attending;
    body.push(seg(&[
        "NM1",
        "71",
        "1",
        &clean(&a.family, 60),
        &clean(&a.given, 35),
        "",
        "",
        "",
        "XX",
        &a.npi,
    ]));
    for (n, l) in c.lines.iter().enumerate() {
        body.push(seg(&["LX", &(n + 1).to_string()]));
        body.push(seg(&[
            "SV2",
            &l.revenue_code,
            &format!("HC:{}", l.hcpcs),
            &money::to_x12(l.cents),
            "UN",
            &l.units.to_string(),
        ]));
        body.push(seg(&["DTP", "472", "D8", &date(l.date)]));
    }
}

fn professional_claim(body: &mut Vec<Segment>, c: &Claim) {
    // Place of service 57: non-residential substance abuse treatment facility.
    body.push(seg(&[
        "CLM",
        &c.number,
        &money::to_x12(c.total()),
        "",
        "",
        "57:B:1",
        "Y",
        "A",
        "Y",
        "Y",
    ]));
    for a in &c.authorizations {
        body.push(seg(&["REF", "G1", &clean(a, 50)]));
    }
    body.extend(diagnosis_segments("ABK", "ABF", &c.diagnoses, 12));
    let pointers = c.diagnoses.len().clamp(1, 4);
    let pointer: Vec<String> = (1..=pointers).map(|n| n.to_string()).collect();
    for (n, l) in c.lines.iter().enumerate() {
        body.push(seg(&["LX", &(n + 1).to_string()]));
        body.push(seg(&[
            "SV1",
            &format!("HC:{}", l.hcpcs),
            &money::to_x12(l.cents),
            "UN",
            &l.units.to_string(),
            "",
            "",
            &pointer.join(":"),
        ]));
        body.push(seg(&["DTP", "472", "D8", &date(l.date)]));
    }
}
