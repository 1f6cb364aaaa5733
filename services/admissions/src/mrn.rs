//! Medical record numbers: one per patient across the network, `IOP` + a
//! 9-digit serial + a Luhn check digit, so a mistyped MRN is caught at the desk.

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
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

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
