//! Consent to disclose substance-use-disorder records under 42 CFR Part 2: what
//! a valid written consent must name, and whether a given disclosure (this
//! information, to this recipient, for this purpose, at this time) is covered,
//! and by which consent. Pure functions over plain types, shared by every
//! context: admissions records consents and publishes them, other services keep
//! a local copy from the events ([`replica`], with [`wire`] converting; where
//! each patient is known and emergency grants in [`known`]) and decide with
//! the same rules, including which facility may read or change a patient's
//! record ([`access`]), the facilities' time zones ([`facilities`]), and the rule applied at a
//! service's door ([`gate`]).
//!
//! Rules encoded here: every required element must be present (patient, who may
//! disclose, what information, recipient or class of recipients, purpose, the
//! right to revoke, an expiry date or event, signature and date); a class of
//! recipients ("my health plans and treating providers") is allowed only for
//! treatment, payment and health-care operations; counseling notes are disclosed
//! only under a consent that names them; revocation stops disclosures after it,
//! never earlier ones; a consent is valid from its signature until its expiry.

use chrono::{DateTime, NaiveDate, Utc};

pub mod access;
pub mod facilities;
pub mod gate;
pub mod known;
pub mod replica;
pub mod wire;

/// The notice Part 2 requires on every disclosure (42 CFR 2.32, abridged).
pub const REDISCLOSURE_NOTICE: &str = "This record, whose confidentiality is protected by federal law \
(42 CFR part 2), has been disclosed to you. Federal law prohibits unauthorized use or \
redisclosure of this information, and its use to criminally investigate or prosecute \
any patient with a substance use disorder, except as permitted by 42 CFR part 2.";

/// What may be disclosed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Information {
    /// Diagnoses and problem list.
    Diagnosis,
    /// Attendance and participation.
    Attendance,
    /// Drug-test results.
    DrugTestResults,
    /// Treatment plan and progress summaries.
    TreatmentPlan,
    /// Claims and billing information.
    Billing,
    /// Counseling notes: only ever under a consent naming them explicitly.
    CounselingNotes,
    /// Every record except counseling notes.
    AllRecords,
}

impl Information {
    fn covers(self, asked: Information) -> bool {
        self == asked || (self == Information::AllRecords && asked != Information::CounselingNotes)
    }
}

/// Why the information is disclosed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Treatment.
    Treatment,
    /// Payment (billing an insurer is a disclosure).
    Payment,
    /// Health-care operations.
    HealthCareOperations,
    /// Any other purpose, described.
    Other(String),
}

impl Purpose {
    fn is_tpo(&self) -> bool {
        matches!(
            self,
            Purpose::Treatment | Purpose::Payment | Purpose::HealthCareOperations
        )
    }
}

/// A general designation of recipients, allowed for treatment, payment and
/// operations only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecipientClass {
    /// "My treating providers".
    TreatingProviders,
    /// "My health plans".
    HealthPlans,
}

/// To whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A named organisation or person, by id.
    Named(String),
    /// A class of recipients.
    Class(RecipientClass),
}

/// Until when the consent holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expiry {
    /// Through this date (inclusive).
    On(NaiveDate),
    /// Until an event, described (e.g. "discharge from the program"), recorded
    /// when it happens.
    Event(String),
}

/// A consent as submitted; `None` or empty means the element is missing.
#[derive(Debug, Clone, Default)]
pub struct ConsentForm {
    /// The patient.
    pub patient_id: String,
    /// Who may disclose (the program or facility).
    pub disclosing_party: String,
    /// What information.
    pub information: Vec<Information>,
    /// To whom.
    pub recipients: Vec<Recipient>,
    /// For what purposes.
    pub purposes: Vec<Purpose>,
    /// The patient was told of the right to revoke.
    pub right_to_revoke_acknowledged: bool,
    /// Expiry date or event.
    pub expiry: Option<Expiry>,
    /// Who signed (the patient or a legal representative).
    pub signed_by: String,
    /// Date of signature.
    pub signed_on: Option<NaiveDate>,
}

/// A consent that holds every element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Consent id.
    pub id: String,
    /// The patient.
    pub patient_id: String,
    /// Who may disclose.
    pub disclosing_party: String,
    /// What.
    pub information: Vec<Information>,
    /// To whom.
    pub recipients: Vec<Recipient>,
    /// Why.
    pub purposes: Vec<Purpose>,
    /// Until when.
    pub expiry: Expiry,
    /// Signed by.
    pub signed_by: String,
    /// Signed on.
    pub signed_on: NaiveDate,
    /// When the patient revoked it, if they did.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the expiry event happened, if it has.
    pub expiry_event_at: Option<DateTime<Utc>>,
    /// The time zone its days are judged in: the recording facility's (a
    /// consent "through 30 June" holds until midnight there, not in UTC).
    pub zone: chrono_tz::Tz,
}

/// The zone of a consent that names none (the network is in California).
pub const DEFAULT_ZONE: chrono_tz::Tz = chrono_tz::America::Los_Angeles;

/// A consent form missing or contradicting a required element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{element}: {reason}")]
pub struct ConsentError {
    /// The element, as named in the API (`recipients`, `signed_on`, …).
    pub element: &'static str,
    /// What is wrong.
    pub reason: &'static str,
}

fn missing(element: &'static str) -> ConsentError {
    ConsentError {
        element,
        reason: "is required by 42 CFR Part 2",
    }
}

/// Checks every required element and returns the consent, with id `id`.
pub fn validate(id: &str, form: ConsentForm) -> Result<Consent, ConsentError> {
    if form.patient_id.trim().is_empty() {
        return Err(missing("patient_id"));
    }
    if form.disclosing_party.trim().is_empty() {
        return Err(missing("disclosing_party"));
    }
    if form.information.is_empty() {
        return Err(missing("information"));
    }
    if form.recipients.is_empty() {
        return Err(missing("recipients"));
    }
    if form
        .recipients
        .iter()
        .any(|r| matches!(r, Recipient::Named(n) if n.trim().is_empty()))
    {
        return Err(ConsentError {
            element: "recipients",
            reason: "a named recipient needs a name",
        });
    }
    if form.purposes.is_empty() {
        return Err(missing("purposes"));
    }
    if form
        .purposes
        .iter()
        .any(|p| matches!(p, Purpose::Other(d) if d.trim().is_empty()))
    {
        return Err(ConsentError {
            element: "purposes",
            reason: "an other purpose must be described",
        });
    }
    let general = form
        .recipients
        .iter()
        .any(|r| matches!(r, Recipient::Class(_)));
    if general && !form.purposes.iter().all(Purpose::is_tpo) {
        return Err(ConsentError {
            element: "recipients",
            reason: "a class of recipients is allowed only for treatment, payment or health-care operations",
        });
    }
    if !form.right_to_revoke_acknowledged {
        return Err(missing("right_to_revoke"));
    }
    let expiry = form.expiry.ok_or_else(|| missing("expiry"))?;
    if form.signed_by.trim().is_empty() {
        return Err(missing("signed_by"));
    }
    let signed_on = form.signed_on.ok_or_else(|| missing("signed_on"))?;
    match &expiry {
        Expiry::On(date) if *date < signed_on => {
            return Err(ConsentError {
                element: "expiry",
                reason: "is before the signature",
            });
        }
        Expiry::Event(e) if e.trim().is_empty() => {
            return Err(ConsentError {
                element: "expiry",
                reason: "an expiry event must be described",
            });
        }
        _ => {}
    }
    Ok(Consent {
        id: id.to_owned(),
        patient_id: form.patient_id,
        disclosing_party: form.disclosing_party,
        information: form.information,
        recipients: form.recipients,
        purposes: form.purposes,
        expiry,
        signed_by: form.signed_by,
        signed_on,
        revoked_at: None,
        expiry_event_at: None,
        zone: DEFAULT_ZONE,
    })
}

/// A disclosure someone wants to make.
#[derive(Debug, Clone)]
pub struct Disclosure<'a> {
    /// Recipient id.
    pub recipient_id: &'a str,
    /// The recipient's class, if it belongs to one.
    pub recipient_class: Option<RecipientClass>,
    /// Why.
    pub purpose: &'a Purpose,
    /// What.
    pub information: Information,
    /// When.
    pub at: DateTime<Utc>,
}

/// The answer to "may this be disclosed?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Covered by this consent.
    Permitted {
        /// The consent relied on.
        consent_id: String,
    },
    /// No consent covers it.
    Denied,
}

impl Consent {
    /// Whether this consent was in force at `at` (its days are days in its zone).
    pub fn in_force(&self, at: DateTime<Utc>) -> bool {
        let day = at.with_timezone(&self.zone).date_naive();
        let signed = self.signed_on <= day;
        let revoked = self.revoked_at.is_some_and(|r| r <= at);
        let expired = match &self.expiry {
            Expiry::On(last) => day > *last,
            Expiry::Event(_) => self.expiry_event_at.is_some_and(|e| e <= at),
        };
        signed && !revoked && !expired
    }

    /// Whether this consent covers `d` (in force, recipient, purpose, information).
    pub fn covers(&self, d: &Disclosure<'_>) -> bool {
        let recipient = self.recipients.iter().any(|r| match r {
            Recipient::Named(id) => id == d.recipient_id,
            Recipient::Class(c) => d.recipient_class == Some(*c),
        });
        let purpose = self.purposes.iter().any(|p| p == d.purpose);
        let information = self.information.iter().any(|i| i.covers(d.information));
        self.in_force(d.at) && recipient && purpose && information
    }
}

/// Whether any of the patient's `consents` covers `d`, and which.
pub fn may_disclose(consents: &[Consent], d: &Disclosure<'_>) -> Decision {
    consents
        .iter()
        .find(|c| c.covers(d))
        .map_or(Decision::Denied, |c| Decision::Permitted {
            consent_id: c.id.clone(),
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::TimeZone;

    use super::*;

    fn form() -> ConsentForm {
        ConsentForm {
            patient_id: "p-1".into(),
            disclosing_party: "IOP Network, Oakland".into(),
            information: vec![Information::AllRecords],
            recipients: vec![
                Recipient::Class(RecipientClass::HealthPlans),
                Recipient::Named("dr-lee".into()),
            ],
            purposes: vec![Purpose::Payment, Purpose::Treatment],
            right_to_revoke_acknowledged: true,
            expiry: Some(Expiry::On(NaiveDate::from_ymd_opt(2027, 6, 30).unwrap())),
            signed_by: "the patient".into(),
            signed_on: Some(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()),
        }
    }

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    fn to_plan(when: DateTime<Utc>, purpose: &Purpose) -> Disclosure<'_> {
        Disclosure {
            recipient_id: "blue-shield",
            recipient_class: Some(RecipientClass::HealthPlans),
            purpose,
            information: Information::Billing,
            at: when,
        }
    }

    #[test]
    fn each_missing_element_is_named() {
        type BreakIt = fn(&mut ConsentForm);
        let cases: Vec<(BreakIt, &str)> = vec![
            (|f| f.patient_id.clear(), "patient_id"),
            (|f| f.disclosing_party.clear(), "disclosing_party"),
            (|f| f.information.clear(), "information"),
            (|f| f.recipients.clear(), "recipients"),
            (|f| f.purposes.clear(), "purposes"),
            (
                |f| f.right_to_revoke_acknowledged = false,
                "right_to_revoke",
            ),
            (|f| f.expiry = None, "expiry"),
            (|f| f.signed_by.clear(), "signed_by"),
            (|f| f.signed_on = None, "signed_on"),
            (
                |f| f.purposes = vec![Purpose::Other(" ".into())],
                "purposes",
            ),
            (
                |f| f.purposes = vec![Purpose::Other("research".into())],
                "recipients",
            ),
            (
                |f| f.expiry = Some(Expiry::On(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())),
                "expiry",
            ),
            (|f| f.expiry = Some(Expiry::Event(String::new())), "expiry"),
        ];
        for (break_it, element) in cases {
            let mut f = form();
            break_it(&mut f);
            assert_eq!(validate("c-1", f).unwrap_err().element, element);
        }
        assert!(validate("c-1", form()).is_ok());
    }

    #[test]
    fn covers_recipient_purpose_and_information() {
        let consent = validate("c-1", form()).unwrap();
        let payment = Purpose::Payment;
        let consents = [consent];
        assert_eq!(
            may_disclose(&consents, &to_plan(at(2026, 12, 1), &payment)),
            Decision::Permitted {
                consent_id: "c-1".into()
            }
        );
        let operations = Purpose::HealthCareOperations;
        assert_eq!(
            may_disclose(&consents, &to_plan(at(2026, 12, 1), &operations)),
            Decision::Denied
        );
        let mut other_recipient = to_plan(at(2026, 12, 1), &payment);
        other_recipient.recipient_class = None;
        assert_eq!(may_disclose(&consents, &other_recipient), Decision::Denied);
        let mut notes = to_plan(at(2026, 12, 1), &payment);
        notes.information = Information::CounselingNotes;
        assert_eq!(
            may_disclose(&consents, &notes),
            Decision::Denied,
            "counseling notes need their own consent"
        );
        let before_signature = to_plan(at(2026, 11, 1), &payment);
        assert_eq!(may_disclose(&consents, &before_signature), Decision::Denied);
    }

    #[test]
    fn revocation_stops_future_disclosures_not_past_ones() {
        let mut consent = validate("c-1", form()).unwrap();
        consent.revoked_at = Some(at(2027, 1, 15));
        let payment = Purpose::Payment;
        let consents = [consent];
        assert!(matches!(
            may_disclose(&consents, &to_plan(at(2027, 1, 10), &payment)),
            Decision::Permitted { .. }
        ));
        assert_eq!(
            may_disclose(&consents, &to_plan(at(2027, 1, 20), &payment)),
            Decision::Denied
        );
    }

    #[test]
    fn days_are_the_recording_facility_s_days() {
        // Through 30 June 2027, recorded in Los Angeles: 22:00 there on the
        // 30th is 05:00 UTC on 1 July, and the consent still holds.
        let consent = validate("c-1", form()).unwrap();
        let late_evening = Utc.with_ymd_and_hms(2027, 7, 1, 5, 0, 0).unwrap();
        assert!(consent.in_force(late_evening));
        assert!(!consent.in_force(Utc.with_ymd_and_hms(2027, 7, 1, 7, 30, 0).unwrap()));
        // Signed on 2 November 2026: 17:00 in Los Angeles on the 1st is
        // already the 2nd in UTC, and not yet signed there.
        let evening_before = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
        assert!(!consent.in_force(evening_before));
        // The same consent recorded in Honolulu holds three hours longer.
        let mut hawaii = consent.clone();
        hawaii.zone = chrono_tz::Pacific::Honolulu;
        assert!(hawaii.in_force(Utc.with_ymd_and_hms(2027, 7, 1, 9, 30, 0).unwrap()));
        // The zone travels on the wire, and a consent without one is Californian.
        let mut wire = crate::wire::to_proto(&hawaii);
        assert_eq!(wire.time_zone, "Pacific/Honolulu");
        assert_eq!(crate::wire::consent(&wire).unwrap().zone, hawaii.zone);
        wire.time_zone.clear();
        assert_eq!(crate::wire::consent(&wire).unwrap().zone, DEFAULT_ZONE);
        wire.time_zone = "Mars/Olympus".into();
        assert_eq!(
            crate::wire::consent(&wire).unwrap_err().element,
            "time_zone"
        );
    }

    #[test]
    fn expiry_by_date_and_by_event() {
        let payment = Purpose::Payment;
        let by_date = [validate("c-1", form()).unwrap()];
        assert!(matches!(
            may_disclose(&by_date, &to_plan(at(2027, 6, 30), &payment)),
            Decision::Permitted { .. }
        ));
        assert_eq!(
            may_disclose(&by_date, &to_plan(at(2027, 7, 1), &payment)),
            Decision::Denied
        );

        let mut f = form();
        f.expiry = Some(Expiry::Event("discharge from the program".into()));
        let mut by_event = validate("c-2", f).unwrap();
        assert!(by_event.in_force(at(2030, 1, 1)), "no event yet: in force");
        by_event.expiry_event_at = Some(at(2027, 3, 1));
        let by_event = [by_event];
        assert!(matches!(
            may_disclose(&by_event, &to_plan(at(2027, 2, 28), &payment)),
            Decision::Permitted { .. }
        ));
        assert_eq!(
            may_disclose(&by_event, &to_plan(at(2027, 3, 2), &payment)),
            Decision::Denied
        );
    }

    #[test]
    fn the_first_covering_consent_is_named() {
        let mut narrow = form();
        narrow.recipients = vec![Recipient::Named("dr-lee".into())];
        let consents = [
            validate("c-narrow", narrow).unwrap(),
            validate("c-broad", form()).unwrap(),
        ];
        let payment = Purpose::Payment;
        assert_eq!(
            may_disclose(&consents, &to_plan(at(2026, 12, 1), &payment)),
            Decision::Permitted {
                consent_id: "c-broad".into()
            }
        );
    }
}
