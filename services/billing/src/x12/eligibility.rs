//! X12 270/271 eligibility (005010X279A1): the inquiry for one subscriber
//! with a payer on a date (traced by its TRN), and the answer read back per
//! subscriber: active (EB01 1-5) or inactive (EB01 6-8), for the dates the
//! payer states (DTP 346/347 plan begin and end, 291/307 eligibility).

use chrono::{DateTime, NaiveDate, Utc};

use super::{Envelope, Parsed, Segment, clean, date, interchange, seg};
use crate::settings::{Payer, Provider, Submitter};

/// One inquiry.
#[derive(Debug, Clone)]
pub struct Inquiry<'a> {
    /// Who sends.
    pub submitter: &'a Submitter,
    /// Who is asked.
    pub payer: &'a Payer,
    /// The facility asking.
    pub provider: &'a Provider,
    /// The subscriber (the patient, in this network's coverages).
    pub subscriber: &'a super::claims::Person,
    /// Member id.
    pub member_id: &'a str,
    /// The date asked about.
    pub on: NaiveDate,
    /// TRN02 (and BHT03).
    pub trace: &'a str,
    /// ISA13.
    pub control: u64,
    /// When.
    pub at: DateTime<Utc>,
}

/// The 270 file of `q`.
pub fn inquiry(q: &Inquiry<'_>) -> String {
    let p = q.provider;
    let s = q.subscriber;
    let sex = super::claims::sex_code(s.sex);
    let mut body: Vec<Segment> = vec![
        seg(&[
            "BHT",
            "0022",
            "13",
            q.trace,
            &q.at.format("%Y%m%d").to_string(),
            &q.at.format("%H%M").to_string(),
        ]),
        seg(&["HL", "1", "", "20", "1"]),
        seg(&[
            "NM1",
            "PR",
            "2",
            &clean(&q.payer.name, 60),
            "",
            "",
            "",
            "",
            "PI",
            &clean(&q.payer.id, 80),
        ]),
        seg(&["HL", "2", "1", "21", "1"]),
        seg(&[
            "NM1",
            "1P",
            "2",
            &clean(&p.name, 60),
            "",
            "",
            "",
            "",
            "XX",
            &p.npi,
        ]),
        seg(&["HL", "3", "2", "22", "0"]),
        seg(&["TRN", "1", q.trace, &format!("1{}", p.tax_id)]),
        seg(&[
            "NM1",
            "IL",
            "1",
            &clean(&s.family, 60),
            &clean(&s.given, 35),
            &clean(&s.middle, 25),
            "",
            "",
            "MI",
            &clean(q.member_id, 80),
        ]),
    ];
    if let Some(dob) = s.date_of_birth {
        body.push(seg(&["DMG", "D8", &date(dob), sex]));
    }
    body.push(seg(&["DTP", "291", "D8", &date(q.on)]));
    // Alcoholism and drug abuse benefits (service type AI).
    body.push(seg(&["EQ", "AI"]));
    interchange(
        &Envelope {
            sender: &q.submitter.id,
            receiver: &q.payer.id,
            control: q.control,
            functional_id: "HS",
            transaction: "270",
            version: "005010X279A1",
            usage: &q.submitter.usage,
            at: q.at,
        },
        &body,
    )
}

/// What a 271 says of one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The inquiry's TRN02 it answers.
    pub trace: String,
    /// Member id (NM109).
    pub member_id: String,
    /// Active coverage.
    pub active: bool,
    /// From (plan begin or eligibility start), if stated.
    pub from: Option<NaiveDate>,
    /// Through, if stated.
    pub to: Option<NaiveDate>,
}

fn day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y%m%d").ok()
}

/// The answers of a 271, one per subscriber that carries a trace and a
/// benefit (EB); refuses a file that is not a 271.
pub fn answers(parsed: &Parsed) -> Result<Vec<Answer>, String> {
    let el = |s: &Segment, i: usize| s.get(i).cloned().unwrap_or_default();
    let mut out: Vec<Answer> = Vec::new();
    let mut current: Option<Answer> = None;
    let mut status: Option<bool> = None;
    let mut transaction = String::new();
    let flush = |current: &mut Option<Answer>, status: &mut Option<bool>, out: &mut Vec<Answer>| {
        if let (Some(mut a), Some(active)) = (current.take(), status.take()) {
            a.active = active;
            out.push(a);
        }
    };
    for s in &parsed.segments {
        match el(s, 0).as_str() {
            "ST" => transaction = el(s, 1),
            "HL" if el(s, 3) == "22" || el(s, 3) == "23" => {
                flush(&mut current, &mut status, &mut out);
                current = Some(Answer {
                    trace: String::new(),
                    member_id: String::new(),
                    active: false,
                    from: None,
                    to: None,
                });
            }
            "TRN" => {
                if let Some(a) = current.as_mut().filter(|a| a.trace.is_empty()) {
                    a.trace = el(s, 2);
                }
            }
            "NM1" if el(s, 1) == "IL" => {
                if let Some(a) = current.as_mut() {
                    a.member_id = el(s, 9);
                }
            }
            "EB" => {
                let code = el(s, 1);
                // The first benefit decides; later ones detail it.
                if status.is_none() {
                    status = match code.as_str() {
                        "1" | "2" | "3" | "4" | "5" => Some(true),
                        "6" | "7" | "8" => Some(false),
                        _ => None,
                    };
                }
            }
            "DTP" => {
                let Some(a) = current.as_mut() else { continue };
                let value = el(s, 3);
                match (el(s, 1).as_str(), el(s, 2).as_str()) {
                    ("346", "D8") => a.from = day(&value),
                    ("347", "D8") => a.to = day(&value),
                    ("291" | "307", "RD8") => {
                        if let Some((f, t)) = value.split_once('-') {
                            a.from = day(f);
                            a.to = day(t);
                        }
                    }
                    ("291" | "307", "D8") => a.from = day(&value),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    flush(&mut current, &mut status, &mut out);
    if transaction != "271" {
        return Err(format!(
            "the file is a {transaction:?} transaction, not a 271"
        ));
    }
    Ok(out.into_iter().filter(|a| !a.trace.is_empty()).collect())
}
