//! X12 5010 as this network writes and reads it: the interchange envelope
//! (ISA/GS … GE/IEA with their control numbers and counts), segments with
//! `*` between elements, `:` between components, `^` for repetition and `~`
//! at the end, and a reader that takes the separators from the ISA segment
//! as a payer's file declares them. The transactions are beside this file:
//! [`claims`] (837I, 837P), [`remit`] (835), [`eligibility`] (270/271).

pub mod claims;
pub mod eligibility;
pub mod remit;

use chrono::{DateTime, NaiveDate, Utc};

/// One segment: its id, then its elements.
pub type Segment = Vec<String>;

/// A segment from its parts, trailing empty elements dropped (X12 omits them).
pub fn seg(parts: &[&str]) -> Segment {
    let mut out: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
    while out.len() > 1 && out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// An X12 date, `CCYYMMDD`.
pub fn date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// An X12 date range, `CCYYMMDD-CCYYMMDD`.
pub fn range(from: NaiveDate, to: NaiveDate) -> String {
    format!("{}-{}", date(from), date(to))
}

/// A value fit for an element: upper-case, separators and anything outside
/// printable ASCII replaced by a space, trimmed, at most `max` characters.
pub fn clean(value: &str, max: usize) -> String {
    let mapped: String = value
        .chars()
        .map(|c| {
            if (' '..='~').contains(&c) && !"*~:^".contains(c) {
                c.to_ascii_uppercase()
            } else {
                ' '
            }
        })
        .collect();
    mapped
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// Who sends and who receives an interchange, and what it is.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// ISA06/GS02.
    pub sender: &'a str,
    /// ISA08/GS03.
    pub receiver: &'a str,
    /// ISA13 and GS06 (a positive number below 10^9).
    pub control: u64,
    /// GS01: HC claims, HP remittance, HS/HB eligibility.
    pub functional_id: &'a str,
    /// ST01: 837, 835, 270, 271.
    pub transaction: &'a str,
    /// GS08/ST03, e.g. 005010X222A1.
    pub version: &'a str,
    /// ISA15: T or P.
    pub usage: &'a str,
    /// When it was made.
    pub at: DateTime<Utc>,
}

fn pad(value: &str, width: usize) -> String {
    format!("{:<width$}", clean(value, width))
}

/// One interchange holding one transaction set of `body` segments (those
/// between ST and SE), with its envelope, control numbers and counts.
pub fn interchange(e: &Envelope<'_>, body: &[Segment]) -> String {
    let control = format!("{:09}", e.control % 1_000_000_000);
    let st_control = "0001";
    let mut segments: Vec<Segment> = Vec::with_capacity(body.len() + 6);
    segments.push(
        [
            "ISA",
            "00",
            &pad("", 10),
            "00",
            &pad("", 10),
            "ZZ",
            &pad(e.sender, 15),
            "ZZ",
            &pad(e.receiver, 15),
            &e.at.format("%y%m%d").to_string(),
            &e.at.format("%H%M").to_string(),
            "^",
            "00501",
            &control,
            "0",
            e.usage,
            ":",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    );
    segments.push(seg(&[
        "GS",
        e.functional_id,
        &clean(e.sender, 15),
        &clean(e.receiver, 15),
        &e.at.format("%Y%m%d").to_string(),
        &e.at.format("%H%M").to_string(),
        &(e.control % 1_000_000_000).to_string(),
        "X",
        e.version,
    ]));
    segments.push(seg(&["ST", e.transaction, st_control, e.version]));
    segments.extend(body.iter().cloned());
    // SE01 counts ST through SE.
    let count = body.len() + 2;
    segments.push(seg(&["SE", &count.to_string(), st_control]));
    segments.push(seg(&["GE", "1", &(e.control % 1_000_000_000).to_string()]));
    segments.push(seg(&["IEA", "1", &control]));
    let mut out = String::new();
    for s in segments {
        out.push_str(&s.join("*"));
        out.push_str("~\n");
    }
    out
}

/// A file read into segments, with its separators.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Segments in order, each split into elements.
    pub segments: Vec<Segment>,
    /// The component separator (ISA16).
    pub component: char,
}

impl Parsed {
    /// Components of an element.
    pub fn components<'a>(&self, element: &'a str) -> Vec<&'a str> {
        element.split(self.component).collect()
    }
}

/// Reads an interchange: separators from ISA (element at position 3,
/// component ISA16, segment terminator after it), whitespace between
/// segments ignored. Refuses a file that does not start with ISA or whose
/// envelope counts and control numbers do not agree, naming which.
pub fn parse(text: &str) -> Result<Parsed, String> {
    let text = text.trim_start();
    if !text.starts_with("ISA") || text.len() < 106 {
        return Err("the file does not start with an ISA segment".into());
    }
    let chars: Vec<char> = text.chars().take(106).collect();
    let element = chars[3];
    let component = chars[104];
    let terminator = chars[105];
    if element.is_alphanumeric() || terminator.is_alphanumeric() {
        return Err("ISA does not declare its separators".into());
    }
    let segments: Vec<Segment> = text
        .split(terminator)
        .map(|s| s.trim_matches(|c: char| c == '\r' || c == '\n' || c == ' '))
        .filter(|s| !s.is_empty())
        .map(|s| s.split(element).map(str::to_owned).collect())
        .collect();
    check_envelope(&segments)?;
    Ok(Parsed {
        segments,
        component,
    })
}

fn check_envelope(segments: &[Segment]) -> Result<(), String> {
    let id = |s: &Segment| s.first().map(String::as_str).unwrap_or_default().to_owned();
    let el = |s: &Segment, i: usize| s.get(i).map(String::as_str).unwrap_or_default().to_owned();
    let isa = &segments[0];
    let Some(iea) = segments.last().filter(|s| id(s) == "IEA") else {
        return Err("the file does not end with IEA".into());
    };
    if el(isa, 13).trim() != el(iea, 2).trim() {
        return Err(format!(
            "IEA02 {} does not match ISA13 {}",
            el(iea, 2),
            el(isa, 13)
        ));
    }
    let mut st_at = None;
    let mut sets = 0usize;
    for (i, s) in segments.iter().enumerate() {
        match id(s).as_str() {
            "ST" => st_at = Some(i),
            "SE" => {
                let Some(start) = st_at.take() else {
                    return Err(format!("SE at segment {} without ST", i + 1));
                };
                let count = i - start + 1;
                if el(s, 1) != count.to_string() {
                    return Err(format!(
                        "SE01 is {} but the transaction set has {count} segments",
                        el(s, 1)
                    ));
                }
                if el(s, 2) != el(&segments[start], 2) {
                    return Err(format!("SE02 {} does not match ST02", el(s, 2)));
                }
                sets += 1;
            }
            "GE" if el(s, 1) != sets.to_string() => {
                return Err(format!(
                    "GE01 is {} but the group has {sets} sets",
                    el(s, 1)
                ));
            }
            _ => {}
        }
    }
    if sets == 0 {
        return Err("the file holds no transaction set".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::TimeZone;

    use super::*;

    fn envelope() -> Envelope<'static> {
        Envelope {
            sender: "IOPNET",
            receiver: "99PHP",
            control: 42,
            functional_id: "HC",
            transaction: "837",
            version: "005010X222A1",
            usage: "T",
            at: Utc.with_ymd_and_hms(2026, 11, 29, 9, 5, 0).unwrap(),
        }
    }

    #[test]
    fn the_envelope_counts_and_numbers_agree_and_read_back() {
        let text = interchange(
            &envelope(),
            &[seg(&["BHT", "0019", "00", "1", "20261129", "0905", "CH"])],
        );
        let first = text.lines().next().unwrap();
        assert_eq!(first.len(), 106, "ISA is fixed width: {first}");
        assert!(first.ends_with("*000000042*0*T*:~"), "{first}");
        assert!(text.contains("SE*3*0001~"));
        assert!(text.contains("GE*1*42~"));
        assert!(text.ends_with("IEA*1*000000042~\n"));
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.segments.len(), 7);
        assert_eq!(parsed.segments[3][6], "CH");
        let broken = text.replace("SE*3*", "SE*4*");
        assert!(parse(&broken).unwrap_err().contains("SE01"));
        let broken = text.replace("IEA*1*000000042", "IEA*1*000000043");
        assert!(parse(&broken).unwrap_err().contains("IEA02"));
    }

    #[test]
    fn values_are_cleaned_for_elements() {
        assert_eq!(clean("O'Brien*~ Ünal", 60), "O'BRIEN NAL");
        assert_eq!(clean("a   b", 2), "A ");
        assert_eq!(seg(&["NM1", "IL", "", ""]), vec!["NM1", "IL"]);
    }
}
