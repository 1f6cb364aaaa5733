//! What a valid facility description is: the registry every context refers
//! to (name, city, IANA time zone, the programs offered with their capacity).
//! Pure: the request's message in, a normalised one out; failures name the field.

use iop_proto::{admissions::v1::Facility, common::v1::Program};

use iop_runtime::ids::FieldError;

use crate::contact::text;

/// Most patients one program of a facility takes at once.
pub const MAX_CAPACITY: u32 = 1000;

/// A facility description that passed validation: programs sorted, no repeats.
pub fn facility(f: Option<&Facility>) -> Result<Facility, FieldError> {
    let f = f.ok_or_else(|| FieldError::new("facility", "is required"))?;
    let facility_id =
        iop_runtime::ids::FacilityId::parse("facility.facility_id", &f.facility_id)?.into_string();
    let time_zone = f.time_zone.trim();
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(FieldError::new(
            "facility.time_zone",
            "must be an IANA time zone such as America/Los_Angeles",
        ));
    }
    if f.programs.is_empty() {
        return Err(FieldError::new(
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
            return Err(FieldError::new(
                "facility.programs.program",
                "must be a known program",
            ));
        }
        if p.capacity == 0 || p.capacity > MAX_CAPACITY {
            return Err(FieldError::new(
                "facility.programs.capacity",
                format!("must be 1 to {MAX_CAPACITY}"),
            ));
        }
        p.census = 0;
    }
    programs.sort_by_key(|p| p.program);
    if programs.windows(2).any(|w| w[0].program == w[1].program) {
        return Err(FieldError::new(
            "facility.programs",
            "lists a program twice",
        ));
    }
    Ok(Facility {
        facility_id,
        name: text("facility.name", &f.name, true)?,
        city: text("facility.city", &f.city, true)?,
        time_zone: time_zone.to_owned(),
        programs,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use iop_proto::admissions::v1::ProgramOffering;

    use super::*;

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
            facility(Some(&bad)).unwrap_err().field,
            "facility.time_zone"
        );
        let mut bad = oakland();
        bad.programs[1].capacity = 0;
        assert_eq!(
            facility(Some(&bad)).unwrap_err().field,
            "facility.programs.capacity"
        );
        let mut bad = oakland();
        bad.programs[1].program = Program::IopEvening as i32;
        assert_eq!(facility(Some(&bad)).unwrap_err().field, "facility.programs");
    }
}
