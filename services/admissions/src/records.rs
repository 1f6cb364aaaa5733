//! Validation of the records admissions keeps beside the patient: a facility's
//! description (the registry every context refers to), contact details, and
//! coverage. Pure functions from the request's message to a normalised one;
//! each failure names the field.

use chrono::NaiveDate;
use iop_proto::{
    admissions::v1::Facility,
    common::v1::{Coverage, EmergencyContact, PostalAddress, Program, SubscriberRelationship},
};

use crate::{
    domain::{self, invalid},
    error::AdmissionsError,
};

/// Most patients one program of a facility takes at once.
pub const MAX_CAPACITY: u32 = 1000;
const MAX_TEXT: usize = 200;

fn text(field: &'static str, value: &str, required: bool) -> Result<String, AdmissionsError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("must be at most {MAX_TEXT} printable characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A facility description that passed validation: programs sorted, no repeats.
pub fn facility(f: Option<&Facility>) -> Result<Facility, AdmissionsError> {
    let f = f.ok_or_else(|| invalid("facility", "is required"))?;
    let facility_id = domain::facility_id("facility.facility_id", &f.facility_id)?;
    let time_zone = f.time_zone.trim();
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(invalid(
            "facility.time_zone",
            "must be an IANA time zone such as America/Los_Angeles",
        ));
    }
    if f.programs.is_empty() {
        return Err(invalid(
            "facility.programs",
            "at least one program is required",
        ));
    }
    let mut programs = f.programs.clone();
    for p in &mut programs {
        if matches!(
            Program::try_from(p.program),
            Ok(Program::Unspecified) | Err(_)
        ) {
            return Err(invalid(
                "facility.programs.program",
                "must be a known program",
            ));
        }
        if p.capacity == 0 || p.capacity > MAX_CAPACITY {
            return Err(invalid(
                "facility.programs.capacity",
                format!("must be 1 to {MAX_CAPACITY}"),
            ));
        }
        p.census = 0;
    }
    programs.sort_by_key(|p| p.program);
    if programs.windows(2).any(|w| w[0].program == w[1].program) {
        return Err(invalid("facility.programs", "lists a program twice"));
    }
    Ok(Facility {
        facility_id,
        name: text("facility.name", &f.name, true)?,
        city: text("facility.city", &f.city, true)?,
        time_zone: time_zone.to_owned(),
        programs,
    })
}

/// A postal address, or the empty one when nothing is given.
pub fn address(a: Option<&PostalAddress>) -> Result<PostalAddress, AdmissionsError> {
    let Some(a) = a.filter(|a| **a != PostalAddress::default()) else {
        return Ok(PostalAddress::default());
    };
    let state = a.state.trim().to_ascii_uppercase();
    if state.len() != 2 || !state.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(invalid("address.state", "must be a two-letter state code"));
    }
    let zip = a.postal_code.trim();
    let zip_ok = match zip.split_once('-') {
        None => zip.len() == 5,
        Some((five, four)) => five.len() == 5 && four.len() == 4,
    } && zip.chars().all(|c| c.is_ascii_digit() || c == '-');
    if !zip_ok {
        return Err(invalid("address.postal_code", "must be a ZIP or ZIP+4"));
    }
    Ok(PostalAddress {
        line1: text("address.line1", &a.line1, true)?,
        line2: text("address.line2", &a.line2, false)?,
        city: text("address.city", &a.city, true)?,
        state,
        postal_code: zip.to_owned(),
    })
}

/// An emergency contact, or the empty one when nothing is given.
pub fn emergency_contact(
    c: Option<&EmergencyContact>,
) -> Result<EmergencyContact, AdmissionsError> {
    let Some(c) = c.filter(|c| **c != EmergencyContact::default()) else {
        return Ok(EmergencyContact::default());
    };
    let phone = domain::phone(&c.phone).map_err(|_| {
        invalid(
            "emergency_contact.phone",
            "must be a phone number of 7 to 15 digits",
        )
    })?;
    if phone.is_empty() {
        return Err(invalid("emergency_contact.phone", "is required"));
    }
    Ok(EmergencyContact {
        name: text("emergency_contact.name", &c.name, true)?,
        relationship: text("emergency_contact.relationship", &c.relationship, false)?,
        phone,
    })
}

/// A coverage that passed validation (ids are the caller's to set).
pub fn coverage(c: Option<&Coverage>) -> Result<Coverage, AdmissionsError> {
    let c = c.ok_or_else(|| invalid("coverage", "is required"))?;
    let from = iop_runtime::wire::date_parts(c.effective_from.as_ref())
        .ok_or_else(|| invalid("coverage.effective_from", "is required"))?;
    let from: NaiveDate = domain::date("coverage.effective_from", from)?;
    let to = match iop_runtime::wire::date_parts(c.effective_to.as_ref()) {
        None => None,
        Some(d) => Some(domain::date("coverage.effective_to", d)?),
    };
    if to.is_some_and(|to| to < from) {
        return Err(invalid("coverage.effective_to", "is before effective_from"));
    }
    let mut out = Coverage {
        coverage_id: String::new(),
        patient_id: c.patient_id.clone(),
        self_pay: c.self_pay,
        effective_from: Some(iop_runtime::wire::date(from)),
        effective_to: to.map(iop_runtime::wire::date),
        ..Default::default()
    };
    if c.self_pay {
        let payer_fields = [
            &c.payer_id,
            &c.payer_name,
            &c.plan_name,
            &c.member_id,
            &c.group_number,
        ];
        if payer_fields.iter().any(|f| !f.trim().is_empty()) {
            return Err(invalid(
                "coverage.self_pay",
                "self-pay has no payer, plan or member",
            ));
        }
        return Ok(out);
    }
    out.payer_id = text("coverage.payer_id", &c.payer_id, true)?;
    out.payer_name = text("coverage.payer_name", &c.payer_name, true)?;
    out.plan_name = text("coverage.plan_name", &c.plan_name, false)?;
    out.member_id = text("coverage.member_id", &c.member_id, true)?;
    out.group_number = text("coverage.group_number", &c.group_number, false)?;
    let relationship = SubscriberRelationship::try_from(c.subscriber_relationship)
        .ok()
        .filter(|r| *r != SubscriberRelationship::Unspecified)
        .ok_or_else(|| invalid("coverage.subscriber_relationship", "is required"))?;
    out.subscriber_relationship = relationship as i32;
    out.subscriber_name = text(
        "coverage.subscriber_name",
        &c.subscriber_name,
        relationship != SubscriberRelationship::Self_,
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use iop_proto::{admissions::v1::ProgramOffering, common::v1::Date};

    use super::*;

    fn field(e: AdmissionsError) -> &'static str {
        match e {
            AdmissionsError::InvalidArgument { field, .. } => field,
            other => panic!("unexpected {other}"),
        }
    }

    fn oakland() -> Facility {
        Facility {
            facility_id: "oakland".into(),
            name: "IOP Network Oakland".into(),
            city: "Oakland".into(),
            time_zone: "America/Los_Angeles".into(),
            programs: vec![
                ProgramOffering {
                    program: Program::IopEvening as i32,
                    capacity: 24,
                    census: 7,
                },
                ProgramOffering {
                    program: Program::IopDay as i32,
                    capacity: 12,
                    census: 0,
                },
            ],
        }
    }

    #[test]
    fn a_facility_is_normalised_and_checked() {
        let f = facility(Some(&oakland())).unwrap();
        assert_eq!(f.programs[0].program, Program::IopDay as i32);
        assert!(f.programs.iter().all(|p| p.census == 0));
        let mut bad = oakland();
        bad.time_zone = "Pacific Time".into();
        assert_eq!(
            field(facility(Some(&bad)).unwrap_err()),
            "facility.time_zone"
        );
        let mut bad = oakland();
        bad.programs[1].capacity = 0;
        assert_eq!(
            field(facility(Some(&bad)).unwrap_err()),
            "facility.programs.capacity"
        );
        let mut bad = oakland();
        bad.programs[1].program = Program::IopEvening as i32;
        assert_eq!(
            field(facility(Some(&bad)).unwrap_err()),
            "facility.programs"
        );
    }

    #[test]
    fn contact_details_are_all_or_nothing() {
        assert_eq!(address(None).unwrap(), PostalAddress::default());
        let a = PostalAddress {
            line1: "1 Main St".into(),
            city: "Fresno".into(),
            state: "ca".into(),
            postal_code: "93721-1234".into(),
            ..Default::default()
        };
        assert_eq!(address(Some(&a)).unwrap().state, "CA");
        let no_city = PostalAddress {
            city: String::new(),
            ..a
        };
        assert_eq!(field(address(Some(&no_city)).unwrap_err()), "address.city");
        let c = EmergencyContact {
            name: "Rosa".into(),
            relationship: "sister".into(),
            phone: String::new(),
        };
        assert_eq!(
            field(emergency_contact(Some(&c)).unwrap_err()),
            "emergency_contact.phone"
        );
    }

    #[test]
    fn coverage_is_self_pay_or_names_payer_and_member() {
        let day = |d| {
            Some(Date {
                year: 2026,
                month: 11,
                day: d,
            })
        };
        let insured = Coverage {
            payer_id: "60054".into(),
            payer_name: "Aetna".into(),
            member_id: "W123".into(),
            subscriber_relationship: SubscriberRelationship::Self_ as i32,
            effective_from: day(1),
            ..Default::default()
        };
        assert_eq!(coverage(Some(&insured)).unwrap().member_id, "W123");
        let spouse = Coverage {
            subscriber_relationship: SubscriberRelationship::Spouse as i32,
            ..insured.clone()
        };
        assert_eq!(
            field(coverage(Some(&spouse)).unwrap_err()),
            "coverage.subscriber_name"
        );
        let backwards = Coverage {
            effective_to: Some(Date {
                year: 2026,
                month: 10,
                day: 1,
            }),
            ..insured.clone()
        };
        assert_eq!(
            field(coverage(Some(&backwards)).unwrap_err()),
            "coverage.effective_to"
        );
        let muddled = Coverage {
            self_pay: true,
            ..insured
        };
        assert_eq!(
            field(coverage(Some(&muddled)).unwrap_err()),
            "coverage.self_pay"
        );
        let self_pay = Coverage {
            self_pay: true,
            effective_from: day(3),
            ..Default::default()
        };
        assert!(coverage(Some(&self_pay)).unwrap().self_pay);
    }
}
