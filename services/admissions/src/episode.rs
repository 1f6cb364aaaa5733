//! The rules of an episode of care: what a valid admission, transfer and
//! discharge are, on which day each takes effect, and which level of care a
//! program delivers. Pure: typed values in (the API converts), each failure
//! names the field.

use chrono::NaiveDate;
use iop_proto::common::v1::{DischargeReason, LevelOfCare, Program};
use iop_runtime::ids::{FacilityId, FieldError};

fn invalid(field: &'static str, reason: impl Into<String>) -> FieldError {
    FieldError::new(field, reason)
}

/// A program a patient can be admitted to (not unspecified).
pub fn program(field: &'static str, value: i32) -> Result<Program, FieldError> {
    match Program::try_from(value) {
        Ok(Program::Unspecified) | Err(_) => Err(invalid(
            field,
            "must be IOP_DAY, IOP_EVENING, IOP_COMBINED or PHP",
        )),
        Ok(p) => Ok(p),
    }
}

/// An admission that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Program.
    pub program: Program,
    /// Level of care the program delivers.
    pub level_of_care: LevelOfCare,
    /// First day of the episode.
    pub admitted_on: NaiveDate,
}

/// Validates an admission to `program` on `admitted_on` (today when absent).
pub fn admission(
    program: Program,
    admitted_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Admission, FieldError> {
    let admitted_on = admitted_on.unwrap_or(today);
    // One day of slack for facilities ahead of UTC; admissions are not scheduled here.
    if admitted_on > today + chrono::Days::new(1) {
        return Err(invalid("admitted_on", "is in the future"));
    }
    Ok(Admission {
        program,
        level_of_care: level_of_program(program),
        admitted_on,
    })
}

/// A transfer that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Receiving facility.
    pub to_facility_id: FacilityId,
    /// Program there.
    pub program: Program,
    /// Its level of care.
    pub level_of_care: LevelOfCare,
    /// Day of the move.
    pub transferred_on: NaiveDate,
}

/// The active episode a transfer or discharge applies to.
#[derive(Debug, Clone, Copy)]
pub struct ActiveEpisode<'a> {
    /// Where it is.
    pub facility_id: &'a str,
    /// In which program.
    pub program: Program,
    /// Since when.
    pub admitted_on: NaiveDate,
}

/// Validates moving `current` to `to_facility` in `program` (the current one
/// when `None`) on `on` (today when absent).
pub fn transfer(
    current: ActiveEpisode<'_>,
    to_facility: FacilityId,
    program: Option<Program>,
    on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Transfer, FieldError> {
    let program = program.unwrap_or(current.program);
    if to_facility.as_str() == current.facility_id && program == current.program {
        return Err(invalid(
            "to_facility_id",
            "is where the episode already is, in the same program",
        ));
    }
    let transferred_on = episode_day("transferred_on", on, current, today)?;
    Ok(Transfer {
        to_facility_id: to_facility,
        program,
        level_of_care: level_of_program(program),
        transferred_on,
    })
}

/// The day of a change to `current`: today when absent, never before the
/// admission, at most a day ahead (facilities ahead of UTC).
fn episode_day(
    field: &'static str,
    on: Option<NaiveDate>,
    current: ActiveEpisode<'_>,
    today: NaiveDate,
) -> Result<NaiveDate, FieldError> {
    let day = on.unwrap_or(today);
    if day < current.admitted_on {
        return Err(invalid(field, "is before the admission"));
    }
    if day > today + chrono::Days::new(1) {
        return Err(invalid(field, "is in the future"));
    }
    Ok(day)
}

/// A discharge that passed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discharge {
    /// Why.
    pub reason: DischargeReason,
    /// Last day of the episode.
    pub discharged_on: NaiveDate,
}

/// Validates ending `current` for `reason` on `on` (today when absent).
pub fn discharge(
    current: ActiveEpisode<'_>,
    reason: i32,
    on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Discharge, FieldError> {
    let reason = match DischargeReason::try_from(reason) {
        Ok(DischargeReason::Unspecified) | Err(_) => {
            return Err(invalid("reason", "must name why the episode ends"));
        }
        Ok(r) => r,
    };
    let discharged_on = episode_day("discharged_on", on, current, today)?;
    Ok(Discharge {
        reason,
        discharged_on,
    })
}

/// The ASAM level of care a program delivers: IOP tracks are 2.1, PHP is 2.5.
pub fn level_of_program(program: Program) -> LevelOfCare {
    match program {
        Program::IopDay | Program::IopEvening | Program::IopCombined => {
            LevelOfCare::LevelOfCare21IntensiveOutpatient
        }
        Program::Php => LevelOfCare::LevelOfCare25PartialHospitalization,
        Program::Unspecified => LevelOfCare::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;
    use crate::testing::{day, today};

    fn facility(id: &str) -> FacilityId {
        FacilityId::parse("to_facility_id", id).unwrap()
    }

    #[test]
    fn admission_rules() {
        let a = admission(Program::IopEvening, None, today()).unwrap();
        assert_eq!(a.admitted_on, today());
        assert_eq!(
            a.level_of_care,
            LevelOfCare::LevelOfCare21IntensiveOutpatient
        );
        let php = admission(Program::Php, day(2026, 11, 1), today()).unwrap();
        assert_eq!(
            php.level_of_care,
            LevelOfCare::LevelOfCare25PartialHospitalization
        );
        assert_eq!(program("program", 0).unwrap_err().field, "program");
        assert_eq!(program("program", 99).unwrap_err().field, "program");
        assert_eq!(
            admission(Program::IopDay, day(2026, 12, 5), today())
                .unwrap_err()
                .field,
            "admitted_on"
        );
        assert!(
            admission(Program::IopDay, day(2026, 11, 29), today()).is_ok(),
            "a day ahead"
        );
    }

    #[test]
    fn transfer_and_discharge_rules() {
        let current = ActiveEpisode {
            facility_id: "oakland",
            program: Program::IopDay,
            admitted_on: day(2026, 11, 2).unwrap(),
        };
        let t = transfer(current, facility("fresno"), None, None, today()).unwrap();
        assert_eq!(
            (t.to_facility_id.as_str(), t.program, t.transferred_on),
            ("fresno", Program::IopDay, today())
        );
        let t = transfer(
            current,
            facility("oakland"),
            Some(Program::Php),
            None,
            today(),
        )
        .unwrap();
        assert_eq!(
            t.level_of_care,
            LevelOfCare::LevelOfCare25PartialHospitalization
        );
        let field = |r: Result<Transfer, FieldError>| r.unwrap_err().field;
        assert_eq!(
            field(transfer(current, facility("oakland"), None, None, today())),
            "to_facility_id"
        );
        assert_eq!(
            field(transfer(
                current,
                facility("fresno"),
                None,
                day(2026, 11, 1),
                today()
            )),
            "transferred_on"
        );

        // Every reason the contract names is accepted as itself.
        let reasons = (1..)
            .map_while(|v| DischargeReason::try_from(v).ok())
            .collect::<Vec<_>>();
        assert_eq!(reasons.len(), 7);
        for reason in reasons {
            let d = discharge(current, reason as i32, None, today()).unwrap();
            assert_eq!(d.reason, reason);
        }
        let field = |r: Result<Discharge, FieldError>| r.unwrap_err().field;
        assert_eq!(field(discharge(current, 0, None, today())), "reason");
        assert_eq!(
            field(discharge(current, 1, day(2026, 10, 30), today())),
            "discharged_on"
        );
        assert_eq!(
            field(discharge(current, 1, day(2027, 1, 1), today())),
            "discharged_on"
        );
    }
}
