//! Bounds on every request, checked in one place before any handler runs
//! (`grpc_service!` calls [`check`]), so no service can forget one and a new
//! field is bounded the day it is added: every string and bytes field at most
//! [`MAX_STRING_BYTES`], every repeated field at most [`MAX_ITEMS`] items, every
//! `iop.common.v1.Date` and `google.protobuf.Timestamp` between the years
//! [`MIN_YEAR`] and [`MAX_YEAR`]. Services check tighter limits of their own
//! (names, reasons, ids) where the domain has them; this is the ceiling that
//! keeps a 2 MB field out of storage and out of an event the broker would
//! refuse.
//!
//! The walk reads the request's wire form with the descriptors of the
//! contracts (`iop_proto::FILE_DESCRIPTOR_SET`), so it names the offending
//! field by its path (`consent.recipients.named`). The same index tells which
//! patient a request names ([`patient_named`]), for the audit row of a call
//! refused before its handler ran.

use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, OnceLock},
};

use prost::Message;
use prost_types::{
    FileDescriptorSet,
    field_descriptor_proto::{Label, Type},
};

use crate::ids::FieldError;

/// Longest string or bytes field, in bytes (UTF-8).
pub const MAX_STRING_BYTES: usize = 4096;
/// Longest document field (an X12 or HL7 file a facility system submits),
/// in bytes: only the fields in [`DOCUMENTS`]; the gRPC message limit is
/// the other ceiling.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// The fields that carry a whole interchange file, bounded by
/// [`MAX_DOCUMENT_BYTES`] instead: each is parsed by its service and never
/// stored in an event.
pub const DOCUMENTS: &[&str] = &[
    "iop.billing.v1.ApplyEligibilityRequest.x12",
    "iop.billing.v1.ApplyRemittanceRequest.x12",
    "iop.lab.v1.SubmitHl7Request.message",
];
/// Most items in a repeated field.
pub const MAX_ITEMS: usize = 1000;
/// Earliest year a date or instant may name.
pub const MIN_YEAR: i32 = 1900;
/// Latest year a date or instant may name.
pub const MAX_YEAR: i32 = 2200;

/// Seconds of 1900-01-01T00:00:00Z and of 2201-01-01T00:00:00Z.
const MIN_SECONDS: i64 = -2_208_988_800;
const MAX_SECONDS: i64 = 7_289_654_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Message,
    Scalar,
}

#[derive(Debug)]
struct Field {
    name: String,
    kind: Kind,
    repeated: bool,
    /// For a message field: its type's full name, without the leading dot.
    type_name: String,
}

/// Fields by number, per message full name.
type Index = HashMap<String, HashMap<i32, Field>>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = Index::new();
        let Ok(set) = FileDescriptorSet::decode(iop_proto::FILE_DESCRIPTOR_SET) else {
            return index;
        };
        for file in set.file {
            let package = file.package.clone().unwrap_or_default();
            for m in &file.message_type {
                add(&mut index, &package, m);
            }
        }
        index
    })
}

fn add(index: &mut Index, scope: &str, m: &prost_types::DescriptorProto) {
    let full = format!("{scope}.{}", m.name());
    let fields = m
        .field
        .iter()
        .map(|f| {
            let kind = match f.r#type() {
                Type::String | Type::Bytes => Kind::Text,
                Type::Message | Type::Group => Kind::Message,
                _ => Kind::Scalar,
            };
            let field = Field {
                name: f.name().to_owned(),
                kind,
                repeated: f.label() == Label::Repeated,
                type_name: f.type_name().trim_start_matches('.').to_owned(),
            };
            (f.number(), field)
        })
        .collect();
    for nested in &m.nested_type {
        add(index, &full, nested);
    }
    index.insert(full, fields);
}

/// A field path as the `&'static str` a [`FieldError`] names. Paths come from
/// the contracts (no indices), so there are finitely many; each is kept once.
fn intern(path: String) -> &'static str {
    static PATHS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut paths = PATHS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(p) = paths.get(path.as_str()) {
        return p;
    }
    let leaked: &'static str = Box::leak(path.into_boxed_str());
    paths.insert(leaked);
    leaked
}

/// Checks `request` against the bounds; the error names the first field out
/// of bounds.
pub fn check<M: Message + prost::Name>(request: &M) -> Result<(), FieldError> {
    screen(request).map(drop)
}

/// [`check`], and on the same encoding, [`patient_named`]: what
/// `grpc_service!` does with every request before its handler runs.
pub fn screen<M: Message + prost::Name>(request: &M) -> Result<Option<String>, FieldError> {
    let bytes = request.encode_to_vec();
    let index = index();
    walk(index, &M::full_name(), &bytes, "")?;
    Ok(patient_in(index, &M::full_name(), &bytes, 2))
}

/// The patient a request names: its `patient_id` (or `survivor_id`), or that
/// of a single (not repeated) message field, when it is a well-formed id.
pub fn patient_named<M: Message + prost::Name>(request: &M) -> Option<String> {
    let bytes = request.encode_to_vec();
    patient_in(index(), &M::full_name(), &bytes, 2)
}

fn patient_in(index: &Index, message: &str, bytes: &[u8], depth: u8) -> Option<String> {
    let fields = index.get(message)?;
    let mut nested = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let tag = varint(bytes, &mut at)?;
        match tag & 7 {
            0 => {
                varint(bytes, &mut at)?;
            }
            1 => at += 8,
            5 => at += 4,
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)?).ok()?;
                let body = bytes.get(at..at.checked_add(len)?)?;
                at += len;
                let Some(f) = fields.get(&((tag >> 3) as i32)) else {
                    continue;
                };
                match f.kind {
                    Kind::Text if matches!(f.name.as_str(), "patient_id" | "survivor_id") => {
                        let text = std::str::from_utf8(body).ok()?;
                        return crate::ids::PatientId::parse("patient_id", text)
                            .ok()
                            .map(|id| id.as_str().to_owned());
                    }
                    Kind::Message if !f.repeated && depth > 1 => {
                        nested.push((f.type_name.as_str(), body));
                    }
                    _ => {}
                }
            }
            _ => return None,
        }
    }
    nested
        .into_iter()
        .find_map(|(name, body)| patient_in(index, name, body, depth - 1))
}

/// Whether `path` (`suitability.needs_detox`) names a field of the message
/// `message` (`iop.common.v1.AssessmentInput`) in the contracts, through its
/// message fields: what a path a service reports (a reason's input, a bad
/// field) is checked against.
pub fn field_path_exists(message: &str, path: &str) -> bool {
    let index = index();
    let mut current = message.to_owned();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let Some(field) = index
            .get(&current)
            .and_then(|fields| fields.values().find(|f| f.name == part))
        else {
            return false;
        };
        if parts.peek().is_some() {
            if field.kind != Kind::Message {
                return false;
            }
            current = field.type_name.clone();
        }
    }
    true
}

/// Reads a varint at `*at`, moving past it.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0_u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn walk(index: &Index, message: &str, bytes: &[u8], prefix: &str) -> Result<(), FieldError> {
    // The request was encoded by prost a moment ago, so it is well formed;
    // a message the index does not know (none today) is left alone.
    let Some(fields) = index.get(message) else {
        return Ok(());
    };
    let mut counts: HashMap<i32, usize> = HashMap::new();
    let mut at = 0;
    while at < bytes.len() {
        let Some(tag) = varint(bytes, &mut at) else {
            return Ok(());
        };
        let number = (tag >> 3) as i32;
        let field = fields.get(&number);
        let mut items = 1;
        match tag & 7 {
            0 => {
                varint(bytes, &mut at);
            }
            1 => at += 8,
            5 => at += 4,
            2 => {
                let Some(len) = varint(bytes, &mut at).map(|l| l as usize) else {
                    return Ok(());
                };
                let Some(body) = bytes.get(at..at.saturating_add(len)) else {
                    return Ok(());
                };
                at += len;
                if let Some(f) = field {
                    let path = || intern(join(prefix, &f.name));
                    match f.kind {
                        Kind::Text if len > MAX_STRING_BYTES => {
                            let document =
                                DOCUMENTS.contains(&format!("{message}.{}", f.name).as_str());
                            let limit = if document {
                                MAX_DOCUMENT_BYTES
                            } else {
                                MAX_STRING_BYTES
                            };
                            if len > limit {
                                return Err(FieldError::new(
                                    path(),
                                    format!("must be at most {limit} bytes"),
                                ));
                            }
                        }
                        Kind::Message => {
                            dates(&f.type_name, body)
                                .map_err(|reason| FieldError::new(path(), reason))?;
                            walk(index, &f.type_name, body, &join(prefix, &f.name))?;
                        }
                        // A packed repeated scalar: one varint ends per byte below 0x80.
                        Kind::Scalar => items = body.iter().filter(|b| **b < 0x80).count(),
                        Kind::Text => {}
                    }
                }
            }
            _ => return Ok(()),
        }
        if let Some(f) = field.filter(|f| f.repeated) {
            let n = counts.entry(number).or_default();
            *n += items;
            if *n > MAX_ITEMS {
                return Err(FieldError::new(
                    intern(join(prefix, &f.name)),
                    format!("must have at most {MAX_ITEMS} items"),
                ));
            }
        }
    }
    Ok(())
}

/// The year bounds of a date or an instant (`body` is its wire form).
fn dates(type_name: &str, body: &[u8]) -> Result<(), String> {
    let first_varint = |wanted: u64| {
        let mut at = 0;
        while at < body.len() {
            let tag = varint(body, &mut at)?;
            match tag & 7 {
                0 => {
                    let v = varint(body, &mut at)?;
                    if tag >> 3 == wanted {
                        return Some(v);
                    }
                }
                1 => at += 8,
                5 => at += 4,
                2 => {
                    let len = varint(body, &mut at)? as usize;
                    at += len;
                }
                _ => return None,
            }
        }
        None
    };
    let range = || format!("must be between the years {MIN_YEAR} and {MAX_YEAR}");
    match type_name {
        "iop.common.v1.Date" => {
            // Year 0 is an unset date, which the service judges (required or not).
            let year = first_varint(1).unwrap_or(0) as i64 as i32;
            if year != 0 && !(MIN_YEAR..=MAX_YEAR).contains(&year) {
                return Err(range());
            }
        }
        "google.protobuf.Timestamp" => {
            let seconds = first_varint(1).unwrap_or(0) as i64;
            if !(MIN_SECONDS..MAX_SECONDS).contains(&seconds) {
                return Err(range());
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use iop_proto::{
        admissions::v1::{OverridePlacementRequest, RecordConsentRequest},
        common::v1::{Consent, ConsentRecipient, Date, consent_recipient},
    };

    use super::*;

    #[test]
    fn field_paths_are_checked_against_the_contracts() {
        let input = "iop.common.v1.AssessmentInput";
        assert!(field_path_exists(input, "suitability.needs_detox"));
        assert!(field_path_exists(input, "withdrawal.ciwa_ar"));
        assert!(field_path_exists(input, "dual_diagnosis"));
        assert!(!field_path_exists(input, "suitability.medical.needs_detox"));
        assert!(!field_path_exists(input, "dual_diagnosis.x"));
        assert!(!field_path_exists("iop.nothing", "x"));
    }

    #[test]
    fn finds_the_patient_a_request_names() {
        use iop_proto::admissions::v1::GetPatientRequest;
        let id = uuid::Uuid::now_v7().to_string();
        let top = GetPatientRequest {
            patient_id: id.clone(),
        };
        assert_eq!(patient_named(&top), Some(id.clone()));
        let nested = RecordConsentRequest {
            consent: Some(Consent {
                patient_id: id.clone(),
                ..Default::default()
            }),
        };
        assert_eq!(patient_named(&nested), Some(id));
        // Not an id: nothing is recorded of it.
        let junk = GetPatientRequest {
            patient_id: "x".repeat(5000),
        };
        assert_eq!(patient_named(&junk), None);
        assert_eq!(patient_named(&OverridePlacementRequest::default()), None);
    }

    #[test]
    fn a_long_string_is_named_by_its_path() {
        let ok = OverridePlacementRequest {
            justification: "x".repeat(MAX_STRING_BYTES),
            ..Default::default()
        };
        assert!(check(&ok).is_ok());
        let long = OverridePlacementRequest {
            justification: "x".repeat(2 * 1024 * 1024),
            ..Default::default()
        };
        let e = check(&long).unwrap_err();
        assert_eq!(e.field, "justification");
        assert!(e.reason.contains("4096"), "{}", e.reason);
        let file = iop_proto::billing::v1::ApplyRemittanceRequest {
            facility_id: "oakland".into(),
            x12: "x".repeat(200 * 1024),
        };
        assert!(check(&file).is_ok(), "a month's 835 is a document");
        let huge = iop_proto::billing::v1::ApplyRemittanceRequest {
            facility_id: "x".repeat(5000),
            x12: String::new(),
        };
        assert_eq!(check(&huge).unwrap_err().field, "facility_id");

        let nested = RecordConsentRequest {
            consent: Some(Consent {
                recipients: vec![ConsentRecipient {
                    kind: Some(consent_recipient::Kind::Named("y".repeat(5000))),
                }],
                ..Default::default()
            }),
        };
        assert_eq!(
            check(&nested).unwrap_err().field,
            "consent.recipients.named"
        );
    }

    #[test]
    fn lists_and_packed_lists_are_counted() {
        let many = |n: usize| RecordConsentRequest {
            consent: Some(Consent {
                information: vec![1; n],
                ..Default::default()
            }),
        };
        assert!(check(&many(MAX_ITEMS)).is_ok());
        let e = check(&many(MAX_ITEMS + 1)).unwrap_err();
        assert_eq!(e.field, "consent.information");
        let recipients = RecordConsentRequest {
            consent: Some(Consent {
                recipients: vec![ConsentRecipient::default(); MAX_ITEMS + 1],
                ..Default::default()
            }),
        };
        assert_eq!(check(&recipients).unwrap_err().field, "consent.recipients");
    }

    #[test]
    fn dates_outside_the_years_are_refused_and_unset_ones_left_to_the_service() {
        let on = |year| RecordConsentRequest {
            consent: Some(Consent {
                signed_on: Some(Date {
                    year,
                    month: 1,
                    day: 1,
                }),
                ..Default::default()
            }),
        };
        assert!(check(&on(2026)).is_ok());
        assert!(check(&on(0)).is_ok());
        assert!(check(&on(MIN_YEAR)).is_ok() && check(&on(MAX_YEAR)).is_ok());
        assert_eq!(check(&on(9999)).unwrap_err().field, "consent.signed_on");
        assert_eq!(check(&on(1899)).unwrap_err().field, "consent.signed_on");
        assert_eq!(check(&on(-5)).unwrap_err().field, "consent.signed_on");
    }
}
