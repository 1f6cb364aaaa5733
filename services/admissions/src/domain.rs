//! The admissions rules, as plain functions over plain types: what a valid
//! registration and admission are, which level of care a program delivers, and
//! how medical record numbers are formed. No I/O here; the gRPC layer converts
//! requests into these types and storage persists them.

use chrono::{Datelike, NaiveDate};
use iop_proto::common::v1::{DischargeReason, LevelOfCare, Program, Sex};
use iop_runtime::phi::Phi;

use crate::error::AdmissionsError;

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> AdmissionsError {
    AdmissionsError::InvalidArgument {
        field,
        reason: reason.into(),
    }
}

/// A person's legal name, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalName {
    /// Given name.
    pub given: Phi<String>,
    /// Middle name, possibly empty.
    pub middle: Phi<String>,
    /// Family name.
    pub family: Phi<String>,
}

/// A registration that passed validation.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Legal name.
    pub legal_name: LegalName,
    /// Preferred name, possibly empty.
    pub preferred_name: Phi<String>,
    /// Date of birth.
    pub date_of_birth: Phi<NaiveDate>,
    /// Administrative sex.
    pub sex: Sex,
    /// Gender identity, possibly empty.
    pub gender_identity: Phi<String>,
    /// Phone, normalised to digits with an optional leading `+`; possibly empty.
    pub phone: Phi<String>,
    /// E-mail, lower-cased; possibly empty.
    pub email: Phi<String>,
    /// Last four SSN digits; possibly empty.
    pub ssn_last4: Phi<String>,
    /// Facility where the patient presents.
    pub facility_id: String,
}

/// Raw registration input, as received.
#[derive(Debug, Clone, Default)]
pub struct RegistrationInput<'a> {
    /// Given name.
    pub given: &'a str,
    /// Middle name.
    pub middle: &'a str,
    /// Family name.
    pub family: &'a str,
    /// Preferred name.
    pub preferred_name: &'a str,
    /// Date of birth as (year, month, day), if given.
    pub date_of_birth: Option<(i32, i32, i32)>,
    /// Administrative sex (proto value).
    pub sex: i32,
    /// Gender identity.
    pub gender_identity: &'a str,
    /// Phone.
    pub phone: &'a str,
    /// E-mail.
    pub email: &'a str,
    /// Last four SSN digits.
    pub ssn_last4: &'a str,
    /// Facility id.
    pub facility_id: &'a str,
}

const MAX_NAME: usize = 100;

fn name_part(
    field: &'static str,
    value: &str,
    required: bool,
) -> Result<Phi<String>, AdmissionsError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if value.chars().count() > MAX_NAME {
        return Err(invalid(
            field,
            format!("must be at most {MAX_NAME} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() || c.is_ascii_digit()) {
        return Err(invalid(
            field,
            "must not contain digits or control characters",
        ));
    }
    Ok(Phi::new(value.to_owned()))
}

/// Checks a facility id's form (the facility registry comes with the full
/// admissions domain).
pub fn facility_id(field: &'static str, value: &str) -> Result<String, AdmissionsError> {
    if value.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if value.len() > 64
        || !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(invalid(
            field,
            "must be 1-64 characters of a-z, 0-9 and '-'",
        ));
    }
    Ok(value.to_owned())
}

/// Checks a patient id (a UUID).
pub fn patient_id(field: &'static str, value: &str) -> Result<String, AdmissionsError> {
    if value.is_empty() {
        return Err(invalid(field, "is required"));
    }
    uuid::Uuid::parse_str(value)
        .map(|u| u.to_string())
        .map_err(|_| invalid(field, "must be a UUID"))
}

/// Checks a calendar date.
pub fn date(
    field: &'static str,
    (year, month, day): (i32, i32, i32),
) -> Result<NaiveDate, AdmissionsError> {
    let (Ok(m), Ok(d)) = (u32::try_from(month), u32::try_from(day)) else {
        return Err(invalid(field, "is not a calendar date"));
    };
    NaiveDate::from_ymd_opt(year, m, d).ok_or_else(|| invalid(field, "is not a calendar date"))
}

/// Checks an optional idempotency key.
pub fn request_id(value: &str) -> Result<Option<String>, AdmissionsError> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 128 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(
            "request_id",
            "must be at most 128 printable characters without spaces",
        ));
    }
    Ok(Some(value.to_owned()))
}

/// Validates a registration; `today` bounds the date of birth.
pub fn registration(
    input: &RegistrationInput<'_>,
    today: NaiveDate,
) -> Result<Registration, AdmissionsError> {
    let legal_name = LegalName {
        given: name_part("legal_name.given", input.given, true)?,
        middle: name_part("legal_name.middle", input.middle, false)?,
        family: name_part("legal_name.family", input.family, true)?,
    };
    let preferred_name = name_part("preferred_name", input.preferred_name, false)?;
    let dob = input
        .date_of_birth
        .ok_or_else(|| invalid("date_of_birth", "is required"))?;
    let dob = date("date_of_birth", dob)?;
    if dob > today {
        return Err(invalid("date_of_birth", "is in the future"));
    }
    if dob.year() < 1900 {
        return Err(invalid("date_of_birth", "is before 1900"));
    }
    let sex = match Sex::try_from(input.sex) {
        Ok(Sex::Unspecified) | Err(_) => {
            return Err(invalid("sex", "must be FEMALE, MALE, OTHER or UNKNOWN"));
        }
        Ok(s) => s,
    };
    let gender_identity = input.gender_identity.trim();
    if gender_identity.chars().count() > MAX_NAME || gender_identity.chars().any(char::is_control) {
        return Err(invalid(
            "gender_identity",
            format!("must be at most {MAX_NAME} printable characters"),
        ));
    }
    Ok(Registration {
        legal_name,
        preferred_name,
        date_of_birth: Phi::new(dob),
        sex,
        gender_identity: Phi::new(gender_identity.to_owned()),
        phone: Phi::new(phone(input.phone)?),
        email: Phi::new(email(input.email)?),
        ssn_last4: Phi::new(ssn_last4(input.ssn_last4)?),
        facility_id: facility_id("facility_id", input.facility_id)?,
    })
}

pub(crate) fn phone(value: &str) -> Result<String, AdmissionsError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        || value[1..].contains('+')
    {
        return Err(invalid(
            "phone",
            "may contain only digits, spaces, '+', '-', '(', ')' and '.'",
        ));
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if !(7..=15).contains(&digits.len()) {
        return Err(invalid("phone", "must have 7 to 15 digits"));
    }
    Ok(if value.starts_with('+') {
        format!("+{digits}")
    } else {
        digits
    })
}

fn ssn_last4(value: &str) -> Result<String, AdmissionsError> {
    let value = value.trim();
    if value.is_empty() || (value.len() == 4 && value.chars().all(|c| c.is_ascii_digit())) {
        Ok(value.to_owned())
    } else {
        Err(invalid("ssn_last4", "must be exactly four digits"))
    }
}

fn email(value: &str) -> Result<String, AdmissionsError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    let valid = value.len() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(invalid("email", "is not an e-mail address"));
    }
    Ok(value.to_lowercase())
}

/// An admission that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Patient admitted.
    pub patient_id: String,
    /// Facility admitting.
    pub facility_id: String,
    /// Program.
    pub program: Program,
    /// Level of care the program delivers.
    pub level_of_care: LevelOfCare,
    /// First day of the episode.
    pub admitted_on: NaiveDate,
}

/// Validates an admission; `today` is the default and bounds the date.
pub fn admission(
    patient: &str,
    facility: &str,
    program: i32,
    admitted_on: Option<(i32, i32, i32)>,
    today: NaiveDate,
) -> Result<Admission, AdmissionsError> {
    let patient_id = patient_id("patient_id", patient)?;
    let facility_id = facility_id("facility_id", facility)?;
    let program = match Program::try_from(program) {
        Ok(Program::Unspecified) | Err(_) => {
            return Err(invalid(
                "program",
                "must be IOP_DAY, IOP_EVENING, IOP_COMBINED or PHP",
            ));
        }
        Ok(p) => p,
    };
    let admitted_on = match admitted_on {
        None => today,
        Some(d) => date("admitted_on", d)?,
    };
    // One day of slack for facilities ahead of UTC; admissions are not scheduled here.
    if admitted_on > today + chrono::Days::new(1) {
        return Err(invalid("admitted_on", "is in the future"));
    }
    Ok(Admission {
        patient_id,
        facility_id,
        program,
        level_of_care: level_of_program(program),
        admitted_on,
    })
}

/// A transfer that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Receiving facility.
    pub to_facility_id: String,
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

/// Validates moving `current` to `to_facility` (and `program`, the current one
/// when unspecified) on `on` (today when absent).
pub fn transfer(
    current: ActiveEpisode<'_>,
    to_facility: &str,
    program: i32,
    on: Option<(i32, i32, i32)>,
    today: NaiveDate,
) -> Result<Transfer, AdmissionsError> {
    let to_facility_id = facility_id("to_facility_id", to_facility)?;
    let program = match Program::try_from(program) {
        Ok(Program::Unspecified) => current.program,
        Ok(p) => p,
        Err(_) => return Err(invalid("program", "is not a known program")),
    };
    if to_facility_id == current.facility_id && program == current.program {
        return Err(invalid(
            "to_facility_id",
            "is where the episode already is, in the same program",
        ));
    }
    let transferred_on = episode_day("transferred_on", on, current, today)?;
    Ok(Transfer {
        to_facility_id,
        program,
        level_of_care: level_of_program(program),
        transferred_on,
    })
}

/// The day of a change to `current`: today when absent, never before the
/// admission, at most a day ahead (facilities ahead of UTC).
fn episode_day(
    field: &'static str,
    on: Option<(i32, i32, i32)>,
    current: ActiveEpisode<'_>,
    today: NaiveDate,
) -> Result<NaiveDate, AdmissionsError> {
    let day = match on {
        None => today,
        Some(d) => date(field, d)?,
    };
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
    on: Option<(i32, i32, i32)>,
    today: NaiveDate,
) -> Result<Discharge, AdmissionsError> {
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

/// A medical record number from a 9-digit serial: `IOP` + the serial + a Luhn
/// check digit, so a mistyped MRN is caught at the desk.
pub fn mrn(serial: u32) -> String {
    let digits = format!("{:09}", serial % 1_000_000_000);
    format!("IOP{digits}{}", luhn_check_digit(&digits))
}

/// Whether `mrn` is well formed with a correct check digit.
pub fn mrn_is_valid(mrn: &str) -> bool {
    let Some(rest) = mrn.strip_prefix("IOP") else {
        return false;
    };
    if rest.len() != 10 || !rest.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let (body, check) = rest.split_at(9);
    check.chars().next().and_then(|c| c.to_digit(10)) == Some(luhn_check_digit(body))
}

fn luhn_check_digit(digits: &str) -> u32 {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    fn valid() -> RegistrationInput<'static> {
        RegistrationInput {
            given: "Ana",
            family: "Reyes",
            date_of_birth: Some((1990, 4, 12)),
            sex: Sex::Female as i32,
            phone: "+1 (415) 555-0100",
            email: "Ana.Reyes@Example.org",
            facility_id: "sf-mission",
            ..Default::default()
        }
    }

    fn field_of(err: AdmissionsError) -> &'static str {
        match err {
            AdmissionsError::InvalidArgument { field, .. } => field,
            other => panic!("not an invalid argument: {other:?}"),
        }
    }

    #[test]
    fn valid_registration_is_normalised() {
        let r = registration(&valid(), today()).unwrap();
        assert_eq!(r.phone.expose(), "+14155550100");
        assert_eq!(r.email.expose(), "ana.reyes@example.org");
        assert_eq!(
            *r.date_of_birth.expose(),
            NaiveDate::from_ymd_opt(1990, 4, 12).unwrap()
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(RegistrationInput<'static>, &str)> = vec![
            (
                RegistrationInput {
                    given: " ",
                    ..valid()
                },
                "legal_name.given",
            ),
            (
                RegistrationInput {
                    family: "",
                    ..valid()
                },
                "legal_name.family",
            ),
            (
                RegistrationInput {
                    family: "R3yes",
                    ..valid()
                },
                "legal_name.family",
            ),
            (
                RegistrationInput {
                    date_of_birth: None,
                    ..valid()
                },
                "date_of_birth",
            ),
            (
                RegistrationInput {
                    date_of_birth: Some((1990, 2, 30)),
                    ..valid()
                },
                "date_of_birth",
            ),
            (
                RegistrationInput {
                    date_of_birth: Some((2026, 11, 29)),
                    ..valid()
                },
                "date_of_birth",
            ),
            (
                RegistrationInput {
                    date_of_birth: Some((1899, 12, 31)),
                    ..valid()
                },
                "date_of_birth",
            ),
            (RegistrationInput { sex: 0, ..valid() }, "sex"),
            (RegistrationInput { sex: 99, ..valid() }, "sex"),
            (
                RegistrationInput {
                    phone: "555-01",
                    ..valid()
                },
                "phone",
            ),
            (
                RegistrationInput {
                    phone: "call me",
                    ..valid()
                },
                "phone",
            ),
            (
                RegistrationInput {
                    email: "ana@",
                    ..valid()
                },
                "email",
            ),
            (
                RegistrationInput {
                    email: "ana example.org",
                    ..valid()
                },
                "email",
            ),
            (
                RegistrationInput {
                    facility_id: "",
                    ..valid()
                },
                "facility_id",
            ),
            (
                RegistrationInput {
                    facility_id: "SF Mission",
                    ..valid()
                },
                "facility_id",
            ),
            (
                RegistrationInput {
                    ssn_last4: "12a4",
                    ..valid()
                },
                "ssn_last4",
            ),
            (
                RegistrationInput {
                    ssn_last4: "12345",
                    ..valid()
                },
                "ssn_last4",
            ),
        ];
        for (input, field) in cases {
            assert_eq!(
                field_of(registration(&input, today()).unwrap_err()),
                field,
                "{input:?}"
            );
        }
    }

    #[test]
    fn date_of_birth_today_is_accepted() {
        let input = RegistrationInput {
            date_of_birth: Some((2026, 11, 28)),
            ..valid()
        };
        assert!(registration(&input, today()).is_ok());
    }

    #[test]
    fn admission_rules() {
        let p = "0190b3f6-8d1c-7a4e-9f0b-1c2d3e4f5a6b";
        let a = admission(p, "sf-mission", Program::IopEvening as i32, None, today()).unwrap();
        assert_eq!(a.admitted_on, today());
        assert_eq!(
            a.level_of_care,
            LevelOfCare::LevelOfCare21IntensiveOutpatient
        );
        let php = admission(
            p,
            "sf-mission",
            Program::Php as i32,
            Some((2026, 11, 1)),
            today(),
        )
        .unwrap();
        assert_eq!(
            php.level_of_care,
            LevelOfCare::LevelOfCare25PartialHospitalization
        );
        let field = |r: Result<Admission, AdmissionsError>| field_of(r.unwrap_err());
        assert_eq!(
            field(admission("nope", "sf", 1, None, today())),
            "patient_id"
        );
        assert_eq!(field(admission(p, "", 1, None, today())), "facility_id");
        assert_eq!(field(admission(p, "sf", 0, None, today())), "program");
        assert_eq!(
            field(admission(p, "sf", 1, Some((2026, 13, 1)), today())),
            "admitted_on"
        );
        assert_eq!(
            field(admission(p, "sf", 1, Some((2026, 12, 5)), today())),
            "admitted_on"
        );
    }

    #[test]
    fn transfer_and_discharge_rules() {
        let current = ActiveEpisode {
            facility_id: "oakland",
            program: Program::IopDay,
            admitted_on: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
        };
        let t = transfer(current, "fresno", 0, None, today()).unwrap();
        assert_eq!(
            (t.to_facility_id.as_str(), t.program, t.transferred_on),
            ("fresno", Program::IopDay, today())
        );
        let t = transfer(current, "oakland", Program::Php as i32, None, today()).unwrap();
        assert_eq!(
            t.level_of_care,
            LevelOfCare::LevelOfCare25PartialHospitalization
        );
        let field = |r: Result<Transfer, AdmissionsError>| field_of(r.unwrap_err());
        assert_eq!(
            field(transfer(current, "oakland", 0, None, today())),
            "to_facility_id"
        );
        assert_eq!(
            field(transfer(current, "", 0, None, today())),
            "to_facility_id"
        );
        assert_eq!(
            field(transfer(current, "fresno", 0, Some((2026, 11, 1)), today())),
            "transferred_on"
        );

        for reason in [
            DischargeReason::Completed,
            DischargeReason::StepDownOutpatient,
            DischargeReason::StepUpResidential,
            DischargeReason::StepUpInpatient,
            DischargeReason::LeftAgainstAdvice,
            DischargeReason::Administrative,
            DischargeReason::TransferredOut,
        ] {
            assert_eq!(
                discharge(current, reason as i32, None, today())
                    .unwrap()
                    .reason,
                reason
            );
        }
        let field = |r: Result<Discharge, AdmissionsError>| field_of(r.unwrap_err());
        assert_eq!(field(discharge(current, 0, None, today())), "reason");
        assert_eq!(
            field(discharge(current, 1, Some((2026, 10, 30)), today())),
            "discharged_on"
        );
        assert_eq!(
            field(discharge(current, 1, Some((2027, 1, 1)), today())),
            "discharged_on"
        );
    }

    #[test]
    fn mrn_has_a_working_check_digit() {
        let m = mrn(123_456_789);
        assert_eq!(m.len(), 13);
        assert!(mrn_is_valid(&m));
        // Known Luhn value: payload 7992739871 has check digit 3; 9-digit body here.
        assert_eq!(luhn_check_digit("7992739871"), 3);
        let mut typo = m.clone().into_bytes();
        typo[5] = if typo[5] == b'9' { b'0' } else { typo[5] + 1 };
        assert!(!mrn_is_valid(&String::from_utf8(typo).unwrap()));
        assert!(!mrn_is_valid("XYZ1234567890"));
    }
}
