//! Typed values at the edge of every API: the identifiers a request names
//! (patients, facilities, episodes, …) and the one error a malformed field
//! becomes. An id is parsed once, where the request enters, and travels typed
//! from there, so no rule or query re-validates a string and no two services
//! validate one differently. Ids are not PHI: patient ids are random UUIDs.

use std::fmt;

/// A request field that is missing or malformed: the field as the proto names
/// it (`legal_name.given`, `entries.patient_id`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The field, as named in the proto.
    pub field: &'static str,
    /// What is wrong with it (never the value: it may be PHI).
    pub reason: String,
}

impl FieldError {
    /// A malformed `field`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }

    /// A missing `field`.
    pub fn required(field: &'static str) -> Self {
        Self::new(field, "is required")
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A new, time-ordered id (UUIDv7).
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// Parses a request's `field`: a UUID, in canonical lower-case form.
            pub fn parse(field: &'static str, value: &str) -> Result<Self, FieldError> {
                if value.is_empty() {
                    return Err(FieldError::required(field));
                }
                uuid::Uuid::parse_str(value)
                    .map(|u| Self(u.to_string()))
                    .map_err(|_| FieldError::new(field, "must be a UUID"))
            }

            /// An id read back from this service's own storage or events, where
            /// it was written canonical.
            pub fn from_stored(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<&$name> for sea_orm::Value {
            fn from(id: &$name) -> sea_orm::Value {
                id.0.clone().into()
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(id: $name) -> sea_orm::Value {
                id.0.into()
            }
        }
    };
}

uuid_id!(
    /// A patient of the network (one person, one id, across every site).
    PatientId
);
uuid_id!(
    /// An episode of care.
    EpisodeId
);
uuid_id!(
    /// A screening assessment.
    AssessmentId
);
uuid_id!(
    /// A Part 2 consent.
    ConsentId
);
uuid_id!(
    /// A scheduled session.
    SessionId
);
uuid_id!(
    /// A recurring track of sessions.
    TrackId
);
uuid_id!(
    /// A patient's booking into a session.
    BookingId
);

/// A facility of the network: a slug such as `sf-mission`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FacilityId(String);

impl FacilityId {
    /// Longest facility id.
    pub const MAX_LEN: usize = 64;

    /// Parses a request's `field`: 1–64 characters of `a-z`, `0-9` and `-`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, FieldError> {
        if value.is_empty() {
            return Err(FieldError::required(field));
        }
        if value.len() > Self::MAX_LEN
            || !value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(FieldError::new(
                field,
                "must be 1-64 characters of a-z, 0-9 and '-'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// An id read back from storage or events.
    pub fn from_stored(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for FacilityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for FacilityId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<FacilityId> for String {
    fn from(id: FacilityId) -> String {
        id.0
    }
}

impl From<&FacilityId> for sea_orm::Value {
    fn from(id: &FacilityId) -> sea_orm::Value {
        id.0.clone().into()
    }
}

/// An optional idempotency key (`request_id`): at most 128 printable
/// characters without spaces; empty means none.
pub fn request_id(value: &str) -> Result<Option<String>, FieldError> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 128 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(FieldError::new(
            "request_id",
            "must be at most 128 printable characters without spaces",
        ));
    }
    Ok(Some(value.to_owned()))
}

/// A required UUID field naming a record by its own id (a claim, a task, a
/// work item), in canonical lower-case form.
pub fn uuid(field: &'static str, value: &str) -> Result<String, FieldError> {
    if value.is_empty() {
        return Err(FieldError::required(field));
    }
    uuid::Uuid::parse_str(value)
        .map(|u| u.to_string())
        .map_err(|_| FieldError::new(field, "must be a UUID"))
}

/// A required free-text reason of 1–`max` characters, trimmed.
pub fn reason(field: &'static str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must say why, in 1 to {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_are_canonical_and_name_the_field() {
        let id = PatientId::parse("patient_id", "0190B3F6-8D1C-7A4E-9F0B-1C2D3E4F5A6B");
        assert_eq!(
            id.map(PatientId::into_string),
            Ok("0190b3f6-8d1c-7a4e-9f0b-1c2d3e4f5a6b".to_owned())
        );
        assert_eq!(
            PatientId::parse("survivor_id", "nope").map_err(|e| e.field),
            Err("survivor_id")
        );
        assert_eq!(
            SessionId::parse("session_id", "").map_err(|e| e.reason),
            Err("is required".to_owned())
        );
    }

    #[test]
    fn facility_ids_are_slugs() {
        assert!(FacilityId::parse("facility_id", "sf-mission").is_ok());
        for bad in ["", "SF Mission", "a_b", &"x".repeat(65)] {
            assert_eq!(
                FacilityId::parse("facility_id", bad).map_err(|e| e.field),
                Err("facility_id"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn request_ids_and_reasons() {
        assert_eq!(request_id(""), Ok(None));
        assert!(request_id("has space").is_err());
        assert!(request_id(&"x".repeat(129)).is_err());
        assert_eq!(reason("reason", "  typo  ", 500), Ok("typo".to_owned()));
        assert!(reason("reason", " ", 500).is_err());
        assert!(reason("reason", &"x".repeat(501), 500).is_err());
    }
}
