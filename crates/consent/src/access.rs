//! Which facility may read a patient's record: the one rule every service
//! applies. A caller acting for a facility sees a patient known there (registered
//! or with an episode there, now or before), or one whose Part 2 consent, in
//! force now, names that facility as recipient of all records for the caller's
//! purpose of use. Auditors read the audit trail, never records through consent.

use chrono::{DateTime, Utc};
use iop_messaging::work::Access;
use iop_runtime::audit::Purpose as PurposeOfUse;

use crate::{Consent, Disclosure, Information, Purpose};

/// Why a facility may read the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// The patient is known at this facility.
    KnownAt(String),
    /// This consent names the facility.
    Consent {
        /// The facility the caller acts for.
        facility_id: String,
        /// The consent relied on.
        consent_id: String,
    },
    /// A medical emergency (42 CFR 2.51): a clinician's break-glass grant,
    /// for reads only, until it expires.
    Emergency {
        /// The facility the caller acts for.
        facility_id: String,
        /// The grant relied on.
        grant_id: String,
    },
}

impl Basis {
    /// The facility the access is made for (what the audit row records).
    pub fn facility_id(&self) -> &str {
        match self {
            Basis::KnownAt(f)
            | Basis::Consent { facility_id: f, .. }
            | Basis::Emergency { facility_id: f, .. } => f,
        }
    }

    /// The consent relied on, when the access is a disclosure.
    pub fn consent_id(&self) -> Option<&str> {
        match self {
            Basis::KnownAt(_) | Basis::Emergency { .. } => None,
            Basis::Consent { consent_id, .. } => Some(consent_id),
        }
    }

    /// The audit row of an allowed access to `patient_id` on this basis: the
    /// facility, and what the disclosure relied on for the accounting of
    /// disclosures (the consent id, or `emergency:<grant id>`).
    pub fn access(&self, patient_id: &str) -> Access {
        let relied_on = match self {
            Basis::Emergency { grant_id, .. } => Some(format!("emergency:{grant_id}")),
            other => other.consent_id().map(str::to_owned),
        };
        Access::allowed(Some(patient_id), Some(self.facility_id()))
            .under_consent(relied_on.as_deref())
    }
}

/// The disclosure purpose a purpose of use asks for; none for audit.
pub fn disclosure_purpose(purpose: PurposeOfUse) -> Option<Purpose> {
    match purpose {
        PurposeOfUse::Treatment => Some(Purpose::Treatment),
        PurposeOfUse::Payment => Some(Purpose::Payment),
        PurposeOfUse::Operations => Some(Purpose::HealthCareOperations),
        PurposeOfUse::Audit => None,
    }
}

/// Whether a caller acting for the facilities `acts_for` accepts may read the
/// record of a patient known at `known_at` with `consents`, at `at`, and on
/// which basis. Being known at a facility comes first: it needs no consent.
pub fn facility_access(
    acts_for: impl Fn(&str) -> bool,
    known_at: &[String],
    consents: &[Consent],
    purpose: PurposeOfUse,
    at: DateTime<Utc>,
) -> Option<Basis> {
    if let Some(f) = known_at.iter().find(|f| !f.is_empty() && acts_for(f)) {
        return Some(Basis::KnownAt(f.clone()));
    }
    let purpose = disclosure_purpose(purpose)?;
    consents.iter().find_map(|c| {
        c.recipients.iter().find_map(|r| match r {
            crate::Recipient::Named(facility) if acts_for(facility) => {
                let asked = Disclosure {
                    recipient_id: facility,
                    recipient_class: None,
                    purpose: &purpose,
                    information: Information::AllRecords,
                    at,
                };
                c.covers(&asked).then(|| Basis::Consent {
                    facility_id: facility.clone(),
                    consent_id: c.id.clone(),
                })
            }
            _ => None,
        })
    })
}

/// The facility on whose behalf a caller acting for the facilities `acts_for`
/// accepts may change the record of a patient known at `known_at`: one where
/// the patient is known (registered, an episode, linked), and `at` when the
/// request names the facility. A consent lets a facility read, never write, so
/// consents play no part here.
pub fn writer_facility(
    acts_for: impl Fn(&str) -> bool,
    known_at: &[String],
    at: Option<&str>,
) -> Option<String> {
    known_at
        .iter()
        .find(|f| !f.is_empty() && acts_for(f) && at.is_none_or(|want| want == f.as_str()))
        .cloned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::{Expiry, Recipient};

    fn consent(to: &str, information: Information, purpose: Purpose) -> Consent {
        Consent {
            id: "c-1".into(),
            patient_id: "p".into(),
            disclosing_party: "oakland".into(),
            information: vec![information],
            recipients: vec![Recipient::Named(to.into())],
            purposes: vec![purpose],
            expiry: Expiry::On(NaiveDate::from_ymd_opt(2027, 6, 30).unwrap()),
            signed_by: "patient".into(),
            signed_on: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            revoked_at: None,
            expiry_event_at: None,
            zone: crate::DEFAULT_ZONE,
        }
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
    }

    #[test]
    fn only_a_facility_that_knows_the_patient_writes_and_only_where_asked() {
        let known = vec!["oakland".to_owned(), "fresno".to_owned()];
        let oakland = |f: &str| f == "oakland";
        assert_eq!(
            writer_facility(oakland, &known, None),
            Some("oakland".into())
        );
        assert_eq!(
            writer_facility(oakland, &known, Some("oakland")),
            Some("oakland".into())
        );
        // Acting for Oakland does not make a write at Fresno Oakland's.
        assert_eq!(writer_facility(oakland, &known, Some("fresno")), None);
        // A facility that does not know the patient never writes.
        assert_eq!(writer_facility(|f| f == "san-jose", &known, None), None);
        assert_eq!(writer_facility(|_| true, &[String::new()], None), None);
    }

    #[test]
    fn a_facility_where_the_patient_is_known_needs_no_consent() {
        let known = vec!["oakland".to_owned()];
        let b = facility_access(
            |f| f == "oakland",
            &known,
            &[],
            PurposeOfUse::Treatment,
            at(),
        );
        assert_eq!(b, Some(Basis::KnownAt("oakland".into())));
        assert_eq!(
            facility_access(
                |f| f == "fresno",
                &known,
                &[],
                PurposeOfUse::Treatment,
                at()
            ),
            None
        );
    }

    #[test]
    fn a_consent_naming_the_facility_for_the_purpose_grants_access() {
        let known = vec!["oakland".to_owned()];
        let c = consent("fresno", Information::AllRecords, Purpose::Treatment);
        let fresno = |f: &str| f == "fresno";
        assert_eq!(
            facility_access(
                fresno,
                &known,
                std::slice::from_ref(&c),
                PurposeOfUse::Treatment,
                at()
            ),
            Some(Basis::Consent {
                facility_id: "fresno".into(),
                consent_id: "c-1".into()
            })
        );
        // Another purpose, another facility, or only part of the record: no.
        assert_eq!(
            facility_access(
                fresno,
                &known,
                std::slice::from_ref(&c),
                PurposeOfUse::Payment,
                at()
            ),
            None
        );
        assert_eq!(
            facility_access(
                |f| f == "sacramento",
                &known,
                &[c],
                PurposeOfUse::Treatment,
                at()
            ),
            None
        );
        let partial = consent("fresno", Information::Attendance, Purpose::Treatment);
        assert_eq!(
            facility_access(fresno, &known, &[partial], PurposeOfUse::Treatment, at()),
            None
        );
    }

    #[test]
    fn revoked_or_expired_consents_and_audit_purpose_grant_nothing() {
        let known = vec!["oakland".to_owned()];
        let fresno = |f: &str| f == "fresno";
        let mut revoked = consent("fresno", Information::AllRecords, Purpose::Treatment);
        revoked.revoked_at = Some(at() - chrono::Duration::hours(1));
        assert_eq!(
            facility_access(fresno, &known, &[revoked], PurposeOfUse::Treatment, at()),
            None
        );
        let c = consent("fresno", Information::AllRecords, Purpose::Treatment);
        // 1 July, 01:00 in Los Angeles (the consent's zone): past its last day.
        let later = Utc.with_ymd_and_hms(2027, 7, 1, 8, 0, 0).unwrap();
        assert_eq!(
            facility_access(
                fresno,
                &known,
                std::slice::from_ref(&c),
                PurposeOfUse::Treatment,
                later
            ),
            None
        );
        assert_eq!(
            facility_access(fresno, &known, &[c], PurposeOfUse::Audit, at()),
            None
        );
    }
}
