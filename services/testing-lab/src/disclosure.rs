//! Drug-test results to a court or an employer (pure): 42 CFR Part 2 allows
//! it only under a written consent for that purpose (§2.35 for criminal
//! justice referrals; employers likewise need the patient's consent). A
//! consent covers such a disclosure when it is in force, names the recipient
//! (never a class: "my health plans" is not a court), covers drug-test
//! results, and states the purpose: a described ("other") purpose that says
//! court (or legal proceedings) for a court, employment for an employer.

use chrono::{DateTime, Utc};
use iop_consent::{Consent, Information, Purpose, Recipient};

/// To whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A court (or probation, drug court).
    Court,
    /// An employer.
    Employer,
}

fn states(kind: Kind, description: &str) -> bool {
    let d = description.to_lowercase();
    match kind {
        Kind::Court => d.contains("court") || d.contains("legal proceeding"),
        Kind::Employer => d.contains("employ"),
    }
}

/// The consent allowing results to go to `recipient_id`, a `kind`, at `at`.
pub fn consent_for<'a>(
    consents: &'a [Consent],
    recipient_id: &str,
    kind: Kind,
    at: DateTime<Utc>,
) -> Option<&'a Consent> {
    consents.iter().find(|c| {
        c.in_force(at)
            && c.recipients
                .iter()
                .any(|r| matches!(r, Recipient::Named(id) if id == recipient_id))
            && c.information
                .iter()
                .any(|i| matches!(i, Information::DrugTestResults | Information::AllRecords))
            && c.purposes
                .iter()
                .any(|p| matches!(p, Purpose::Other(d) if states(kind, d)))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::NaiveDate;
    use iop_consent::{Expiry, RecipientClass};

    use super::*;

    fn consent(recipient: Recipient, purpose: Purpose, information: Information) -> Consent {
        Consent {
            id: "c1".into(),
            patient_id: "p1".into(),
            disclosing_party: "oakland".into(),
            information: vec![information],
            recipients: vec![recipient],
            purposes: vec![purpose],
            expiry: Expiry::On(NaiveDate::from_ymd_opt(2099, 1, 1).unwrap()),
            signed_by: "p1".into(),
            signed_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            revoked_at: None,
            expiry_event_at: None,
            zone: iop_consent::DEFAULT_ZONE,
        }
    }

    #[test]
    fn only_a_consent_naming_the_recipient_for_that_purpose_allows_it() {
        let now = Utc::now();
        let court = Recipient::Named("alameda-drug-court".into());
        let for_court = Purpose::Other("Reporting to the Alameda drug court".into());
        let ok = [consent(
            court.clone(),
            for_court.clone(),
            Information::DrugTestResults,
        )];
        assert!(consent_for(&ok, "alameda-drug-court", Kind::Court, now).is_some());
        // Another recipient, another purpose, other information: refused.
        assert!(consent_for(&ok, "acme-corp", Kind::Court, now).is_none());
        assert!(consent_for(&ok, "alameda-drug-court", Kind::Employer, now).is_none());
        let attendance = [consent(
            court.clone(),
            for_court.clone(),
            Information::Attendance,
        )];
        assert!(consent_for(&attendance, "alameda-drug-court", Kind::Court, now).is_none());
        let treatment = [consent(
            court,
            Purpose::Treatment,
            Information::DrugTestResults,
        )];
        assert!(consent_for(&treatment, "alameda-drug-court", Kind::Court, now).is_none());
        // A class is never a court.
        let plans = [consent(
            Recipient::Class(RecipientClass::HealthPlans),
            Purpose::Other("court".into()),
            Information::DrugTestResults,
        )];
        assert!(consent_for(&plans, "alameda-drug-court", Kind::Court, now).is_none());
        // Revoked: no longer.
        let mut revoked = ok.clone();
        revoked[0].revoked_at = Some(now - chrono::Duration::days(1));
        assert!(consent_for(&revoked, "alameda-drug-court", Kind::Court, now).is_none());
        let employer = [consent(
            Recipient::Named("acme-corp".into()),
            Purpose::Other("Return-to-work agreement with my employer".into()),
            Information::AllRecords,
        )];
        assert!(consent_for(&employer, "acme-corp", Kind::Employer, now).is_some());
    }
}
