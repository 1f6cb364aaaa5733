//! The rules of an episode of care: what a valid admission, transfer and
//! discharge are, on which day each takes effect (a day at the facility:
//! `today` is the facility's), that episodes never overlap, which assessment
//! an admission may rely on, and which level of care a program delivers.
//! Pure: typed values in (the API converts), each failure names the field.

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
    if admitted_on > today {
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
/// admission, never after today (both days at the facility).
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
    if day > today {
        return Err(invalid(field, "is in the future"));
    }
    Ok(day)
}

/// An admission on `admitted_on` overlaps an earlier episode of the patient
/// that ended on `last_day` (any facility, merged records' included) unless it
/// starts after that day: the day of a discharge belongs to its episode, and
/// one day is never billed twice. `None` when it does not overlap.
pub fn overlapping_episode(
    admitted_on: NaiveDate,
    last_day: Option<NaiveDate>,
) -> Option<NaiveDate> {
    last_day.filter(|last| admitted_on <= *last)
}

/// Why an assessment cannot carry an admission on `today`, if it cannot: it
/// must be made after the patient's last discharge (so a step-up's reason is
/// assessed again) and at most `valid_days` days before today (its day at the
/// facility: `assessed_on`). `discharged` is the last discharge: its day, and
/// its instant when recorded.
pub fn stale_assessment(
    assessed_at: chrono::DateTime<chrono::Utc>,
    assessed_on: NaiveDate,
    discharged: Option<(NaiveDate, Option<chrono::DateTime<chrono::Utc>>)>,
    today: NaiveDate,
    valid_days: u32,
) -> Option<String> {
    if let Some((day, at)) = discharged {
        let before = match at {
            Some(at) => assessed_at <= at,
            // Discharges recorded before instants were kept: by day.
            None => assessed_on <= day,
        };
        if before {
            return Some(format!(
                "it was made before the last discharge ({day}); record a new assessment"
            ));
        }
    }
    let age = (today - assessed_on).num_days();
    if age > i64::from(valid_days) {
        return Some(format!(
            "it is {age} days old and an admission needs one from the last {valid_days} days; \
             record a new assessment"
        ));
    }
    None
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
        // Today is the facility's day: tomorrow is the future, whatever UTC says.
        assert_eq!(
            admission(Program::IopDay, day(2026, 11, 29), today())
                .unwrap_err()
                .field,
            "admitted_on"
        );
    }

    #[test]
    fn episodes_never_share_a_day() {
        let ended = day(2026, 11, 10);
        assert_eq!(overlapping_episode(today(), None), None);
        assert_eq!(overlapping_episode(today(), ended), None);
        assert_eq!(overlapping_episode(day(2026, 11, 11).unwrap(), ended), None);
        // The discharge day is the earlier episode's; before it, too.
        assert_eq!(
            overlapping_episode(day(2026, 11, 10).unwrap(), ended),
            ended
        );
        assert_eq!(overlapping_episode(day(2026, 10, 1).unwrap(), ended), ended);
    }

    #[test]
    fn an_admission_relies_on_a_fresh_assessment_made_after_the_last_discharge() {
        use chrono::{TimeZone, Utc};
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        let on = |d: u32| day(2026, 11, d).unwrap();
        // No discharge, assessed this week: fine.
        assert_eq!(
            stale_assessment(at(25, 18), on(25), None, today(), 30),
            None
        );
        // 31 days old: stale; 30: fine.
        let old = stale_assessment(at(28, 18), on(28), None, day(2026, 12, 29).unwrap(), 30);
        assert!(old.unwrap().contains("31 days old"));
        assert_eq!(
            stale_assessment(at(28, 18), on(28), None, day(2026, 12, 28).unwrap(), 30),
            None
        );
        // Made before the step-up discharge (same day, earlier hour): stale.
        let discharged = Some((on(20), Some(at(20, 20))));
        let before = stale_assessment(at(20, 17), on(20), discharged, today(), 30);
        assert!(
            before
                .unwrap()
                .contains("before the last discharge (2026-11-20)")
        );
        assert_eq!(
            stale_assessment(at(20, 21), on(20), discharged, today(), 30),
            None
        );
        // A discharge without its instant is judged by day.
        let by_day = Some((on(20), None));
        assert!(stale_assessment(at(20, 21), on(20), by_day, today(), 30).is_some());
        assert_eq!(
            stale_assessment(at(21, 9), on(21), by_day, today(), 30),
            None
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
