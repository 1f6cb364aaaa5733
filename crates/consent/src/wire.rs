//! Conversions between the consent contract (`iop.common.v1.Consent`, used by
//! the admissions API and its events) and the rules' types. A consent read from
//! the wire is validated like a new one, so a local copy built from events obeys
//! the same rules as the original.

use iop_proto::common::v1::{
    self as pb, ConsentInformation, DisclosurePurpose, consent_expiry, consent_recipient,
};
use iop_runtime::wire;

use crate::{
    Consent, ConsentError, ConsentForm, Expiry, Information, Purpose, Recipient, RecipientClass,
};

fn bad(element: &'static str, reason: &'static str) -> ConsentError {
    ConsentError { element, reason }
}

/// What information a wire value names; `None` for unspecified or unknown.
pub fn information(value: i32) -> Option<Information> {
    Some(match ConsentInformation::try_from(value).ok()? {
        ConsentInformation::Unspecified => return None,
        ConsentInformation::Diagnosis => Information::Diagnosis,
        ConsentInformation::Attendance => Information::Attendance,
        ConsentInformation::DrugTestResults => Information::DrugTestResults,
        ConsentInformation::TreatmentPlan => Information::TreatmentPlan,
        ConsentInformation::Billing => Information::Billing,
        ConsentInformation::CounselingNotes => Information::CounselingNotes,
        ConsentInformation::AllRecords => Information::AllRecords,
    })
}

fn information_value(i: Information) -> ConsentInformation {
    match i {
        Information::Diagnosis => ConsentInformation::Diagnosis,
        Information::Attendance => ConsentInformation::Attendance,
        Information::DrugTestResults => ConsentInformation::DrugTestResults,
        Information::TreatmentPlan => ConsentInformation::TreatmentPlan,
        Information::Billing => ConsentInformation::Billing,
        Information::CounselingNotes => ConsentInformation::CounselingNotes,
        Information::AllRecords => ConsentInformation::AllRecords,
    }
}

/// A purpose from the wire; `None` when unspecified or unknown.
pub fn purpose(p: &pb::ConsentPurpose) -> Option<Purpose> {
    Some(match DisclosurePurpose::try_from(p.purpose).ok()? {
        DisclosurePurpose::Unspecified => return None,
        DisclosurePurpose::Treatment => Purpose::Treatment,
        DisclosurePurpose::Payment => Purpose::Payment,
        DisclosurePurpose::HealthCareOperations => Purpose::HealthCareOperations,
        DisclosurePurpose::Other => Purpose::Other(p.description.trim().to_owned()),
    })
}

fn purpose_value(p: &Purpose) -> pb::ConsentPurpose {
    let (purpose, description) = match p {
        Purpose::Treatment => (DisclosurePurpose::Treatment, String::new()),
        Purpose::Payment => (DisclosurePurpose::Payment, String::new()),
        Purpose::HealthCareOperations => (DisclosurePurpose::HealthCareOperations, String::new()),
        Purpose::Other(d) => (DisclosurePurpose::Other, d.clone()),
    };
    pb::ConsentPurpose {
        purpose: purpose as i32,
        description,
    }
}

/// A recipient class from the wire; `None` when unspecified or unknown.
pub fn recipient_class(value: i32) -> Option<RecipientClass> {
    match pb::RecipientClass::try_from(value).ok()? {
        pb::RecipientClass::Unspecified => None,
        pb::RecipientClass::TreatingProviders => Some(RecipientClass::TreatingProviders),
        pb::RecipientClass::HealthPlans => Some(RecipientClass::HealthPlans),
    }
}

/// The form a wire consent states; elements that are set but not understood
/// are rejected here, missing ones by [`crate::validate`].
pub fn form(c: &pb::Consent) -> Result<ConsentForm, ConsentError> {
    let information = c
        .information
        .iter()
        .map(|i| information(*i).ok_or_else(|| bad("information", "names an unknown kind")))
        .collect::<Result<_, _>>()?;
    let recipients = c
        .recipients
        .iter()
        .map(|r| match &r.kind {
            Some(consent_recipient::Kind::Named(n)) => Ok(Recipient::Named(n.trim().to_owned())),
            Some(consent_recipient::Kind::Class(v)) => recipient_class(*v)
                .map(Recipient::Class)
                .ok_or_else(|| bad("recipients", "names an unknown class")),
            None => Err(bad("recipients", "a recipient must be named or a class")),
        })
        .collect::<Result<_, _>>()?;
    let purposes = c
        .purposes
        .iter()
        .map(|p| purpose(p).ok_or_else(|| bad("purposes", "a purpose must be set")))
        .collect::<Result<_, _>>()?;
    let expiry = match c.expiry.as_ref().and_then(|e| e.kind.as_ref()) {
        None => None,
        Some(consent_expiry::Kind::OnDate(d)) => Some(Expiry::On(
            wire::naive_date(Some(d)).ok_or_else(|| bad("expiry", "is not a calendar date"))?,
        )),
        Some(consent_expiry::Kind::OnEvent(e)) => Some(Expiry::Event(e.trim().to_owned())),
    };
    let signed_on = match &c.signed_on {
        None => None,
        Some(d) => Some(
            wire::naive_date(Some(d)).ok_or_else(|| bad("signed_on", "is not a calendar date"))?,
        ),
    };
    Ok(ConsentForm {
        patient_id: c.patient_id.trim().to_owned(),
        disclosing_party: c.disclosing_party.trim().to_owned(),
        information,
        recipients,
        purposes,
        right_to_revoke_acknowledged: c.right_to_revoke_acknowledged,
        expiry,
        signed_by: c.signed_by.trim().to_owned(),
        signed_on,
    })
}

/// A recorded consent (from storage or an event), with its revocation and
/// expiry event.
pub fn consent(c: &pb::Consent) -> Result<Consent, ConsentError> {
    let mut consent = crate::validate(&c.consent_id, form(c)?)?;
    consent.revoked_at = wire::instant(c.revoked_at.as_ref());
    consent.expiry_event_at = wire::instant(c.expiry_event_at.as_ref());
    if !c.time_zone.is_empty() {
        consent.zone = c
            .time_zone
            .parse()
            .map_err(|_| bad("time_zone", "is not an IANA time zone"))?;
    }
    Ok(consent)
}

/// The wire form of a consent.
pub fn to_proto(c: &Consent) -> pb::Consent {
    pb::Consent {
        consent_id: c.id.clone(),
        patient_id: c.patient_id.clone(),
        disclosing_party: c.disclosing_party.clone(),
        information: c
            .information
            .iter()
            .map(|i| information_value(*i) as i32)
            .collect(),
        recipients: c
            .recipients
            .iter()
            .map(|r| pb::ConsentRecipient {
                kind: Some(match r {
                    Recipient::Named(n) => consent_recipient::Kind::Named(n.clone()),
                    Recipient::Class(RecipientClass::TreatingProviders) => {
                        consent_recipient::Kind::Class(pb::RecipientClass::TreatingProviders as i32)
                    }
                    Recipient::Class(RecipientClass::HealthPlans) => {
                        consent_recipient::Kind::Class(pb::RecipientClass::HealthPlans as i32)
                    }
                }),
            })
            .collect(),
        purposes: c.purposes.iter().map(purpose_value).collect(),
        right_to_revoke_acknowledged: true,
        expiry: Some(pb::ConsentExpiry {
            kind: Some(match &c.expiry {
                Expiry::On(d) => consent_expiry::Kind::OnDate(wire::date(*d)),
                Expiry::Event(e) => consent_expiry::Kind::OnEvent(e.clone()),
            }),
        }),
        signed_by: c.signed_by.clone(),
        signed_on: Some(wire::date(c.signed_on)),
        revoked_at: c.revoked_at.map(wire::timestamp),
        expiry_event_at: c.expiry_event_at.map(wire::timestamp),
        time_zone: c.zone.name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;

    fn recorded() -> Consent {
        let mut c = crate::validate(
            "c-9",
            ConsentForm {
                patient_id: "p".into(),
                disclosing_party: "IOP Network, Oakland".into(),
                information: vec![Information::Attendance, Information::Billing],
                recipients: vec![
                    Recipient::Named("fresno".into()),
                    Recipient::Class(RecipientClass::HealthPlans),
                ],
                purposes: vec![Purpose::Payment, Purpose::Treatment],
                right_to_revoke_acknowledged: true,
                expiry: Some(Expiry::Event("discharge".into())),
                signed_by: "patient".into(),
                signed_on: NaiveDate::from_ymd_opt(2026, 11, 2),
            },
        )
        .unwrap();
        c.revoked_at = Some(Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap());
        c
    }

    #[test]
    fn a_consent_survives_the_wire() {
        let c = recorded();
        assert_eq!(consent(&to_proto(&c)).unwrap(), c);
    }

    #[test]
    fn an_unset_purpose_or_recipient_is_named() {
        let mut w = to_proto(&recorded());
        w.purposes.push(pb::ConsentPurpose::default());
        assert_eq!(consent(&w).unwrap_err().element, "purposes");
        let mut w = to_proto(&recorded());
        w.recipients.push(pb::ConsentRecipient { kind: None });
        assert_eq!(consent(&w).unwrap_err().element, "recipients");
        let mut w = to_proto(&recorded());
        w.right_to_revoke_acknowledged = false;
        assert_eq!(consent(&w).unwrap_err().element, "right_to_revoke");
    }
}
