//! HL7 v2 `ORU^R01` results and their acknowledgements (pure). No maintained
//! HL7 v2 crate fits (the ones on crates.io are unmaintained or parse into
//! untyped trees without the acknowledgement side), so this is a small
//! parser of the subset a laboratory result uses, documented here:
//!
//! - Segments end in `\r` (a `\n` or `\r\n` is accepted too); MSH-1 is the
//!   field separator and MSH-2 the encoding characters (component,
//!   repetition, escape, subcomponent; `^~\&` by convention). Field `n` of a
//!   segment is its `n`th value after the segment id; for MSH, MSH-1 is the
//!   separator itself. Escapes `\F\ \S\ \T\ \R\ \E\` are decoded.
//! - MSH-9 must be `ORU^R01`, MSH-10 (control id) present, MSH-12 a 2.x
//!   version. PID-3 (first repetition, first component) is the patient id.
//!   OBR-2 (placer order: the order's accession) or OBR-3 (filler order) and
//!   SPM-2 (specimen id) match the result to its order; OBR-7 is the
//!   collection time. Each OBX is one analyte: OBX-3 code^name^system (the
//!   sender's own result codes, LOINC or local; the service maps them), OBX-5
//!   value (NM or ST), OBX-6 units, OBX-7 the cut-off, OBX-8 the abnormal
//!   flag, OBX-11 the status (F final, C corrected, P preliminary).
//!
//! Errors name the segment, its position and the field, and say which
//! acknowledgement answers them: AR (rejected: not an ORU^R01, unparseable
//! header) or AE (an error in the content, e.g. a required field missing or
//! a value that is not a number). A message that parses is answered AA once
//! it is stored, matched or queued.

use chrono::{NaiveDate, NaiveDateTime};

/// Why a message cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{segment}[{position}]-{field}: {reason}")]
pub struct Hl7Error {
    /// The segment id (e.g. `OBX`).
    pub segment: String,
    /// Its position among segments of that id, from 1.
    pub position: usize,
    /// The field number (0 when the whole segment is at fault).
    pub field: usize,
    /// What is wrong.
    pub reason: String,
    /// The acknowledgement code that answers it.
    pub ack: AckCode,
    /// The HL7 error code (table 0357): 100 segment sequence, 101 required
    /// field missing, 102 data type error, 200 unsupported message type,
    /// 203 unsupported version.
    pub code: u16,
}

/// Acknowledgement codes (table 0008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Accepted.
    Aa,
    /// Error: the message was understood, its content is wrong.
    Ae,
    /// Rejected: the message is not one this receiver takes.
    Ar,
}

impl AckCode {
    /// The code as written in MSA-1.
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::Aa => "AA",
            AckCode::Ae => "AE",
            AckCode::Ar => "AR",
        }
    }
}

/// The delimiters of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Delimiters {
    field: char,
    component: char,
    repetition: char,
    escape: char,
    subcomponent: char,
}

/// One segment: its id and fields (`fields[n]` is field `n`; `fields[0]` is empty).
#[derive(Debug, Clone)]
struct Segment {
    id: String,
    position: usize,
    fields: Vec<String>,
}

impl Segment {
    fn field(&self, n: usize) -> &str {
        self.fields.get(n).map_or("", String::as_str)
    }

    fn error(&self, field: usize, reason: impl Into<String>, ack: AckCode, code: u16) -> Hl7Error {
        Hl7Error {
            segment: self.id.clone(),
            position: self.position,
            field,
            reason: reason.into(),
            ack,
            code,
        }
    }

    fn required(&self, n: usize, what: &str) -> Result<&str, Hl7Error> {
        match self.field(n) {
            "" => Err(self.error(n, format!("{what} is required"), AckCode::Ae, 101)),
            v => Ok(v),
        }
    }
}

/// An analyte's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number (NM), e.g. a concentration.
    Number(f64),
    /// Text (ST/CE), e.g. `POSITIVE`.
    Text(String),
}

/// One OBX.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// OBX-3.1: the sender's result code (LOINC or its own).
    pub code: String,
    /// OBX-3.2.
    pub name: String,
    /// OBX-5.
    pub value: Value,
    /// OBX-6.1, e.g. `ng/mL`.
    pub units: String,
    /// OBX-7 read as the cut-off (`50`, `<50`, `>=50`), when numeric.
    pub cutoff: Option<f64>,
    /// OBX-8, e.g. `A`, `N`, `POS`.
    pub flag: String,
    /// OBX-11, e.g. `F`.
    pub status: String,
}

/// A parsed `ORU^R01`.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// MSH-10.
    pub control_id: String,
    /// MSH-3 and MSH-4: who sent it.
    pub sending_application: String,
    /// MSH-4.
    pub sending_facility: String,
    /// MSH-12.
    pub version: String,
    /// PID-3.1.
    pub patient_id: String,
    /// OBR-2.1: the order's accession, as we placed it.
    pub placer_order: String,
    /// OBR-3.1: the laboratory's accession.
    pub filler_order: String,
    /// SPM-2.1, when an SPM is sent.
    pub specimen_id: String,
    /// OBR-4: the test (code^name).
    pub test_code: String,
    /// OBR-7: the collection time, as sent (local to the sender).
    pub collected_at: Option<NaiveDateTime>,
    /// The OBX segments, in order.
    pub observations: Vec<Observation>,
}

fn unescape(value: &str, d: Delimiters) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let esc = d.escape;
    while let Some(i) = rest.find(esc) {
        out.push_str(&rest[..i]);
        let after = &rest[i + esc.len_utf8()..];
        match after.find(esc) {
            Some(j) => {
                match &after[..j] {
                    "F" => out.push(d.field),
                    "S" => out.push(d.component),
                    "T" => out.push(d.subcomponent),
                    "R" => out.push(d.repetition),
                    "E" => out.push(esc),
                    other => {
                        out.push(esc);
                        out.push_str(other);
                        out.push(esc);
                    }
                }
                rest = &after[j + esc.len_utf8()..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The first component of a field's first repetition, unescaped.
fn first(value: &str, d: Delimiters) -> String {
    let rep = value.split(d.repetition).next().unwrap_or("");
    unescape(rep.split(d.component).next().unwrap_or(""), d)
}

/// Component `n` (from 1) of a field's first repetition, unescaped.
fn component(value: &str, n: usize, d: Delimiters) -> String {
    let rep = value.split(d.repetition).next().unwrap_or("");
    unescape(rep.split(d.component).nth(n - 1).unwrap_or(""), d)
}

/// An HL7 timestamp (`YYYYMMDD[HHMM[SS]]`, any offset or fraction ignored).
fn timestamp(value: &str) -> Option<NaiveDateTime> {
    let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
    let date = NaiveDate::parse_from_str(digits.get(..8)?, "%Y%m%d").ok()?;
    let hour = digits.get(8..10).and_then(|h| h.parse().ok()).unwrap_or(0);
    let minute = digits.get(10..12).and_then(|m| m.parse().ok()).unwrap_or(0);
    let second = digits.get(12..14).and_then(|s| s.parse().ok()).unwrap_or(0);
    date.and_hms_opt(hour, minute, second)
}

fn segments(text: &str) -> Result<(Delimiters, Vec<Segment>), Hl7Error> {
    let reject = |reason: &str| Hl7Error {
        segment: "MSH".into(),
        position: 1,
        field: 0,
        reason: reason.into(),
        ack: AckCode::Ar,
        code: 100,
    };
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text
        .split(['\r', '\n'])
        .map(str::trim_end)
        .filter(|l| !l.is_empty());
    let msh = lines.next().ok_or_else(|| reject("empty message"))?;
    if !msh.starts_with("MSH") {
        return Err(reject("a message starts with MSH"));
    }
    let mut chars = msh.chars().skip(3);
    let field = chars
        .next()
        .ok_or_else(|| reject("MSH has no field separator"))?;
    let enc: Vec<char> = chars.take_while(|c| *c != field).collect();
    if enc.len() < 4 {
        return Err(Hl7Error {
            field: 2,
            ..reject("MSH-2 must hold the four encoding characters")
        });
    }
    let d = Delimiters {
        field,
        component: enc[0],
        repetition: enc[1],
        escape: enc[2],
        subcomponent: enc[3],
    };
    let mut counts = std::collections::HashMap::<String, usize>::new();
    let mut out = Vec::new();
    for line in std::iter::once(msh).chain(lines) {
        let mut parts: Vec<String> = line.split(d.field).map(str::to_owned).collect();
        let id = parts.first().cloned().unwrap_or_default();
        if id.len() != 3
            || !id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(Hl7Error {
                segment: id.chars().take(3).collect(),
                position: out.len() + 1,
                field: 0,
                reason: "not a segment (three upper-case letters or digits, then fields)".into(),
                ack: AckCode::Ae,
                code: 100,
            });
        }
        if id == "MSH" {
            // MSH-1 is the separator itself: shift so that fields[n] is MSH-n.
            parts.insert(1, field.to_string());
        }
        parts[0] = String::new();
        let position = {
            let c = counts.entry(id.clone()).or_insert(0);
            *c += 1;
            *c
        };
        out.push(Segment {
            id,
            position,
            fields: parts,
        });
    }
    Ok((d, out))
}

/// Parses an `ORU^R01`.
pub fn parse_oru(text: &str) -> Result<Report, Hl7Error> {
    let (d, segs) = segments(text)?;
    let msh = &segs[0];
    let kind = msh.field(9);
    if component(kind, 1, d) != "ORU" || component(kind, 2, d) != "R01" {
        return Err(msh.error(
            9,
            format!("message type {kind:?} is not ORU^R01"),
            AckCode::Ar,
            200,
        ));
    }
    let control_id = first(msh.required(10, "MSH-10 (message control id)")?, d);
    let version = first(msh.field(12), d);
    if !version.starts_with("2.") {
        return Err(msh.error(
            12,
            format!("version {version:?} is not HL7 v2"),
            AckCode::Ar,
            203,
        ));
    }
    let find = |id: &str| segs.iter().find(|s| s.id == id);
    let pid = find("PID").ok_or_else(|| msh.error(0, "no PID segment", AckCode::Ae, 100))?;
    let patient_id = first(pid.required(3, "PID-3 (patient identifier)")?, d);
    let obr = find("OBR").ok_or_else(|| msh.error(0, "no OBR segment", AckCode::Ae, 100))?;
    let placer_order = first(obr.field(2), d);
    let filler_order = first(obr.field(3), d);
    if placer_order.is_empty() && filler_order.is_empty() {
        return Err(obr.error(
            2,
            "OBR-2 (placer order) or OBR-3 (filler order) is required to match the order",
            AckCode::Ae,
            101,
        ));
    }
    let collected_at = match obr.field(7) {
        "" => None,
        t => Some(timestamp(t).ok_or_else(|| {
            obr.error(
                7,
                format!("{t:?} is not an HL7 timestamp"),
                AckCode::Ae,
                102,
            )
        })?),
    };
    let specimen_id = find("SPM")
        .map(|s| first(s.field(2), d))
        .unwrap_or_default();
    let mut observations = Vec::new();
    for obx in segs.iter().filter(|s| s.id == "OBX") {
        let ident = obx.required(3, "OBX-3 (observation identifier)")?;
        let raw = obx.field(5);
        let value = match obx.field(2) {
            "NM" => Value::Number(unescape(raw, d).trim().parse().map_err(|_| {
                obx.error(
                    5,
                    format!("{raw:?} is not a number (OBX-2 is NM)"),
                    AckCode::Ae,
                    102,
                )
            })?),
            _ => Value::Text(unescape(raw, d)),
        };
        let range = unescape(obx.field(7), d);
        let cutoff = range
            .trim_start_matches(['<', '>', '='])
            .trim()
            .parse()
            .ok();
        observations.push(Observation {
            code: component(ident, 1, d),
            name: component(ident, 2, d),
            value,
            units: first(obx.field(6), d),
            cutoff,
            flag: first(obx.field(8), d),
            status: first(obx.field(11), d),
        });
    }
    if observations.is_empty() {
        return Err(obr.error(0, "no OBX: a result without observations", AckCode::Ae, 100));
    }
    Ok(Report {
        control_id,
        sending_application: first(msh.field(3), d),
        sending_facility: first(msh.field(4), d),
        version,
        patient_id,
        placer_order,
        filler_order,
        specimen_id,
        test_code: component(obr.field(4), 1, d),
        collected_at,
        observations,
    })
}

/// Whether an observation is positive: a number against `cutoff` (this
/// network's for the code when it sets one, which then decides alone; else
/// the laboratory's, or its flag), a text by `POSITIVE`/`POS` or the flag.
pub fn detected(o: &Observation, cutoff: Option<f64>) -> bool {
    let flagged = matches!(o.flag.as_str(), "A" | "AA" | "H" | "HH" | "POS");
    match (&o.value, cutoff) {
        (Value::Number(n), Some(c)) => *n >= c,
        (Value::Number(n), None) => flagged || o.cutoff.is_some_and(|c| *n >= c),
        (Value::Text(t), _) => {
            let t = t.trim().to_ascii_uppercase();
            flagged || t == "POSITIVE" || t == "POS"
        }
    }
}

/// The control id of `text`, if its MSH can be read (an acknowledgement
/// names the message it answers even when the rest is wrong).
pub fn control_id(text: &str) -> Option<String> {
    let (d, segs) = segments(text).ok()?;
    let id = first(segs.first()?.field(10), d);
    (!id.is_empty()).then_some(id)
}

/// The `ACK^R01` answering message `control_id` with `code`, from this
/// receiver (`IOP^<facility>`) to the sender, stamped `at`, with an ERR
/// segment naming the location when `error` is given. Segments end in `\r`.
pub fn ack(
    control_id: &str,
    code: AckCode,
    error: Option<&Hl7Error>,
    to: (&str, &str),
    at: NaiveDateTime,
    ack_id: &str,
) -> String {
    let stamp = at.format("%Y%m%d%H%M%S");
    let text = error.map(|e| e.to_string()).unwrap_or_default();
    let clean = |s: &str| -> String {
        s.replace('\\', "\\E\\")
            .replace('|', "\\F\\")
            .replace('^', "\\S\\")
            .replace('&', "\\T\\")
            .replace('~', "\\R\\")
    };
    let mut out = format!(
        "MSH|^~\\&|IOP|IOP|{}|{}|{stamp}||ACK^R01^ACK|{}|P|2.5.1\rMSA|{}|{}|{}\r",
        clean(to.0),
        clean(to.1),
        clean(ack_id),
        code.as_str(),
        clean(control_id),
        clean(&text),
    );
    if let Some(e) = error {
        let severity = if e.ack == AckCode::Aa { "W" } else { "E" };
        out.push_str(&format!(
            "ERR||{}^{}^{}|{}^{}^HL70357|{severity}||||{}\r",
            e.segment,
            e.position,
            e.field,
            e.code,
            clean(&e.reason).chars().take(80).collect::<String>(),
            clean(&e.reason),
        ));
    }
    out
}

#[cfg(test)]
mod tests;
