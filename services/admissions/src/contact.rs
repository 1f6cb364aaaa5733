//! What valid contact details are: a postal address and an emergency contact,
//! each all or nothing, and the bounded free text every record shares. Pure.

use iop_proto::common::v1::{EmergencyContact, PostalAddress};
use iop_runtime::ids::FieldError;

const MAX_TEXT: usize = 200;

/// Trimmed text of at most 200 printable characters; `required` refuses empty.
pub(crate) fn text(field: &'static str, value: &str, required: bool) -> Result<String, FieldError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_TEXT} printable characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A postal address, or the empty one when nothing is given.
pub fn address(a: Option<&PostalAddress>) -> Result<PostalAddress, FieldError> {
    let Some(a) = a.filter(|a| **a != PostalAddress::default()) else {
        return Ok(PostalAddress::default());
    };
    let state = a.state.trim().to_ascii_uppercase();
    if state.len() != 2 || !state.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(FieldError::new(
            "address.state",
            "must be a two-letter state code",
        ));
    }
    let zip = a.postal_code.trim();
    let zip_ok = match zip.split_once('-') {
        None => zip.len() == 5,
        Some((five, four)) => five.len() == 5 && four.len() == 4,
    } && zip.chars().all(|c| c.is_ascii_digit() || c == '-');
    if !zip_ok {
        return Err(FieldError::new(
            "address.postal_code",
            "must be a ZIP or ZIP+4",
        ));
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
pub fn emergency_contact(c: Option<&EmergencyContact>) -> Result<EmergencyContact, FieldError> {
    let Some(c) = c.filter(|c| **c != EmergencyContact::default()) else {
        return Ok(EmergencyContact::default());
    };
    let phone = crate::registration::phone(&c.phone).map_err(|_| {
        FieldError::new(
            "emergency_contact.phone",
            "must be a phone number of 7 to 15 digits",
        )
    })?;
    if phone.is_empty() {
        return Err(FieldError::new("emergency_contact.phone", "is required"));
    }
    Ok(EmergencyContact {
        name: text("emergency_contact.name", &c.name, true)?,
        relationship: text("emergency_contact.relationship", &c.relationship, false)?,
        phone,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

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
        assert_eq!(address(Some(&no_city)).unwrap_err().field, "address.city");
        let c = EmergencyContact {
            name: "Rosa".into(),
            relationship: "sister".into(),
            phone: String::new(),
        };
        assert_eq!(
            emergency_contact(Some(&c)).unwrap_err().field,
            "emergency_contact.phone"
        );
    }
}
