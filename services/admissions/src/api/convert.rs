//! Admissions' rows in their wire form, and request messages in typed form
//! (`TryFrom`-style conversions that name the field of a bad value).

use iop_proto::{
    admissions::v1::{
        Assessment, Demographics, Episode, Facility, PlacementOverride, ProgramOffering,
        RegisterPatientRequest,
    },
    common::v1 as common,
};
use iop_runtime::{ids::FieldError, wire};
use prost::Message;

use crate::{
    contact,
    entity::{assessment, episode, patient},
    registration::{self, Registration, RegistrationInput},
    store::facilities::Registered,
};

/// A stored episode.
pub fn episode_message(e: &episode::Model) -> Episode {
    Episode {
        episode_id: e.id.clone(),
        facility_id: e.facility_id.clone(),
        program: e.program,
        level_of_care: e.level_of_care,
        admitted_on: Some(wire::date(e.admitted_on)),
    }
}

/// A stored patient's legal name.
pub fn name_of(p: &patient::Model) -> common::PersonName {
    common::PersonName {
        given: p.given_name.clone(),
        middle: p.middle_name.clone(),
        family: p.family_name.clone(),
    }
}

/// A stored patient's address.
pub fn address_of(p: &patient::Model) -> common::PostalAddress {
    common::PostalAddress {
        line1: p.address_line1.clone(),
        line2: p.address_line2.clone(),
        city: p.address_city.clone(),
        state: p.address_state.clone(),
        postal_code: p.address_postal_code.clone(),
    }
}

/// A stored patient's emergency contact.
pub fn emergency_contact_of(p: &patient::Model) -> common::EmergencyContact {
    common::EmergencyContact {
        name: p.emergency_name.clone(),
        relationship: p.emergency_relationship.clone(),
        phone: p.emergency_phone.clone(),
    }
}

/// A stored patient as duplicate detection compares it.
pub fn matchable(p: &patient::Model) -> crate::matching::Demographics<'_> {
    crate::matching::Demographics {
        given: &p.given_name,
        family: &p.family_name,
        date_of_birth: p.date_of_birth,
        sex: crate::matching::Sex::from_contract(p.sex),
        phone: &p.phone,
        ssn_last4: &p.ssn_last4,
    }
}

/// A stored patient's demographics, as a version of their history keeps them.
pub fn demographics_of(p: &patient::Model) -> Demographics {
    Demographics {
        legal_name: Some(name_of(p)),
        preferred_name: p.preferred_name.clone(),
        date_of_birth: Some(wire::date(p.date_of_birth)),
        sex: p.sex,
        gender_identity: p.gender_identity.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        address: Some(address_of(p)),
        emergency_contact: Some(emergency_contact_of(p)),
        ssn_last4: p.ssn_last4.clone(),
    }
}

/// The demographics a registration request states.
pub fn requested_demographics(r: &RegisterPatientRequest) -> Demographics {
    Demographics {
        legal_name: r.legal_name.clone(),
        preferred_name: r.preferred_name.clone(),
        date_of_birth: r.date_of_birth,
        sex: r.sex,
        gender_identity: r.gender_identity.clone(),
        phone: r.phone.clone(),
        email: r.email.clone(),
        address: r.address.clone(),
        emergency_contact: r.emergency_contact.clone(),
        ssn_last4: r.ssn_last4.clone(),
    }
}

/// Validated demographics: the registration rules plus contact details.
pub struct Validated {
    /// Names, date of birth, sex and contact keys.
    pub registration: Registration,
    /// Postal address (possibly empty).
    pub address: common::PostalAddress,
    /// Emergency contact (possibly empty).
    pub emergency_contact: common::EmergencyContact,
}

/// Validates demographics as submitted; `today` bounds the date of birth.
pub fn validate(d: &Demographics, today: chrono::NaiveDate) -> Result<Validated, FieldError> {
    let name = d.legal_name.clone().unwrap_or_default();
    let input = RegistrationInput {
        given: &name.given,
        middle: &name.middle,
        family: &name.family,
        preferred_name: &d.preferred_name,
        date_of_birth: wire::optional_date("date_of_birth", d.date_of_birth.as_ref())?,
        sex: common::Sex::try_from(d.sex).ok(),
        gender_identity: &d.gender_identity,
        phone: &d.phone,
        email: &d.email,
        ssn_last4: &d.ssn_last4,
    };
    Ok(Validated {
        registration: registration::registration(&input, today)?,
        address: contact::address(d.address.as_ref())?,
        emergency_contact: contact::emergency_contact(d.emergency_contact.as_ref())?,
    })
}

/// A registered facility, with each program's census.
pub fn facility_message(r: Registered) -> Facility {
    Facility {
        programs: r
            .programs
            .iter()
            .map(|p| ProgramOffering {
                program: p.program,
                capacity: u32::try_from(p.capacity).unwrap_or(0),
                census: u32::try_from(r.census.get(&p.program).copied().unwrap_or(0))
                    .unwrap_or(u32::MAX),
            })
            .collect(),
        facility_id: r.facility.id,
        name: r.facility.name,
        city: r.facility.city,
        time_zone: r.facility.time_zone,
    }
}

/// A stored assessment.
pub fn assessment_message(a: &assessment::Model) -> Assessment {
    Assessment {
        assessment_id: a.id.clone(),
        patient_id: a.patient_id.clone(),
        facility_id: a.facility_id.clone(),
        input: common::AssessmentInput::decode(a.input.as_slice()).ok(),
        recommendation: common::PlacementRecommendation::decode(a.recommendation.as_slice()).ok(),
        assessed_by: a.assessed_by.clone(),
        assessed_at: Some(wire::timestamp(a.assessed_at)),
        r#override: a.override_level.map(|chosen| PlacementOverride {
            chosen,
            justification: a.override_justification.clone().unwrap_or_default(),
            clinician_id: a.overridden_by.clone().unwrap_or_default(),
            overridden_at: a.overridden_at.map(wire::timestamp),
            reason: a.override_reason.unwrap_or_default(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use iop_proto::common::v1::{Date, PersonName, Sex};

    use super::*;

    fn ana() -> Demographics {
        let born = chrono::NaiveDate::from_ymd_opt(1990, 4, 12).unwrap();
        let name = PersonName {
            given: "Ana".into(),
            family: "Reyes".into(),
            ..Default::default()
        };
        Demographics {
            legal_name: Some(name),
            date_of_birth: Some(wire::date(born)),
            sex: Sex::Female as i32,
            ..Default::default()
        }
    }

    #[test]
    fn impossible_dates_and_unknown_sexes_name_their_field() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert!(validate(&ana(), today).is_ok());
        let mut bad = ana();
        bad.date_of_birth = Some(Date {
            year: 1990,
            month: 2,
            day: 30,
        });
        assert_eq!(validate(&bad, today).err().unwrap().field, "date_of_birth");
        let mut bad = ana();
        bad.sex = 99;
        assert_eq!(validate(&bad, today).err().unwrap().field, "sex");
        let mut bad = ana();
        bad.legal_name = None;
        assert_eq!(
            validate(&bad, today).err().unwrap().field,
            "legal_name.given"
        );
    }
}
