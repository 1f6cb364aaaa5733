//! What a valid registration is: a person's legal and preferred name, date of
//! birth, administrative sex and gender identity, and contact keys (phone,
//! e-mail, SSN-4), normalised for storage and matching. Pure: typed values in
//! (the API converts dates and enums), every name and detail wrapped as PHI
//! out; each failure names the field.

use chrono::{Datelike, NaiveDate};
use iop_proto::common::v1::Sex;
use iop_runtime::{ids::FieldError, phi::Phi};

fn invalid(field: &'static str, reason: impl Into<String>) -> FieldError {
    FieldError::new(field, reason)
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
}

/// Registration input, as received (dates and enums already typed).
#[derive(Debug, Clone)]
pub struct RegistrationInput<'a> {
    /// Given name.
    pub given: &'a str,
    /// Middle name.
    pub middle: &'a str,
    /// Family name.
    pub family: &'a str,
    /// Preferred name.
    pub preferred_name: &'a str,
    /// Date of birth, if given.
    pub date_of_birth: Option<NaiveDate>,
    /// Administrative sex, if a known value was given.
    pub sex: Option<Sex>,
    /// Gender identity.
    pub gender_identity: &'a str,
    /// Phone.
    pub phone: &'a str,
    /// E-mail.
    pub email: &'a str,
    /// Last four SSN digits.
    pub ssn_last4: &'a str,
}

const MAX_NAME: usize = 100;

fn name_part(field: &'static str, value: &str, required: bool) -> Result<Phi<String>, FieldError> {
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

/// Validates a registration; `today` bounds the date of birth.
pub fn registration(
    input: &RegistrationInput<'_>,
    today: NaiveDate,
) -> Result<Registration, FieldError> {
    let legal_name = LegalName {
        given: name_part("legal_name.given", input.given, true)?,
        middle: name_part("legal_name.middle", input.middle, false)?,
        family: name_part("legal_name.family", input.family, true)?,
    };
    let preferred_name = name_part("preferred_name", input.preferred_name, false)?;
    let dob = input
        .date_of_birth
        .ok_or_else(|| invalid("date_of_birth", "is required"))?;
    if dob > today {
        return Err(invalid("date_of_birth", "is in the future"));
    }
    if dob.year() < 1900 {
        return Err(invalid("date_of_birth", "is before 1900"));
    }
    let sex = match input.sex {
        Some(Sex::Unspecified) | None => {
            return Err(invalid("sex", "must be FEMALE, MALE, OTHER or UNKNOWN"));
        }
        Some(s) => s,
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
    })
}

/// A phone number normalised to digits (with a leading `+` when given):
/// empty stays empty.
pub(crate) fn phone(value: &str) -> Result<String, FieldError> {
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

fn ssn_last4(value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() || (value.len() == 4 && value.chars().all(|c| c.is_ascii_digit())) {
        Ok(value.to_owned())
    } else {
        Err(invalid("ssn_last4", "must be exactly four digits"))
    }
}

fn email(value: &str) -> Result<String, FieldError> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;
    use crate::testing::{day, today};

    fn valid() -> RegistrationInput<'static> {
        RegistrationInput {
            given: "Ana",
            middle: "",
            family: "Reyes",
            preferred_name: "",
            date_of_birth: day(1990, 4, 12),
            sex: Some(Sex::Female),
            gender_identity: "",
            phone: "+1 (415) 555-0100",
            email: "Ana.Reyes@Example.org",
            ssn_last4: "",
        }
    }

    #[test]
    fn valid_registration_is_normalised() {
        let r = registration(&valid(), today()).unwrap();
        assert_eq!(r.phone.expose(), "+14155550100");
        assert_eq!(r.email.expose(), "ana.reyes@example.org");
        assert_eq!(*r.date_of_birth.expose(), day(1990, 4, 12).unwrap());
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
                    date_of_birth: day(2026, 11, 29),
                    ..valid()
                },
                "date_of_birth",
            ),
            (
                RegistrationInput {
                    date_of_birth: day(1899, 12, 31),
                    ..valid()
                },
                "date_of_birth",
            ),
            (
                RegistrationInput {
                    sex: None,
                    ..valid()
                },
                "sex",
            ),
            (
                RegistrationInput {
                    sex: Some(Sex::Unspecified),
                    ..valid()
                },
                "sex",
            ),
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
                registration(&input, today()).unwrap_err().field,
                field,
                "{input:?}"
            );
        }
    }

    #[test]
    fn date_of_birth_today_is_accepted() {
        let input = RegistrationInput {
            date_of_birth: Some(today()),
            ..valid()
        };
        assert!(registration(&input, today()).is_ok());
    }
}
