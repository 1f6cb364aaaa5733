//! Money as integer cents, and as X12 writes it: a decimal amount with at
//! most two fraction digits (`750`, `750.5`, `-12.25`). Never floating point.

/// `cents` as an X12 amount: no trailing zeros, no point for whole dollars.
pub fn to_x12(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let (dollars, rest) = (abs / 100, abs % 100);
    match rest {
        0 => format!("{sign}{dollars}"),
        r if r % 10 == 0 => format!("{sign}{dollars}.{}", r / 10),
        r => format!("{sign}{dollars}.{r:02}"),
    }
}

/// An X12 amount as cents, or `None` when it is not one (more than two
/// fraction digits, no digits, anything but digits, a sign and a point).
pub fn from_x12(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 2
        || whole.len() > 15
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    let cents = whole.checked_mul(100)?.checked_add(fraction)?;
    Some(if negative { -cents } else { cents })
}

/// `cents` for people: `$1,234.50`, `-$12.00`.
pub fn display(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}${}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_trip_exactly() {
        for (cents, text) in [
            (75_000, "750"),
            (75_050, "750.5"),
            (1_225, "12.25"),
            (-75_000, "-750"),
            (5, "0.05"),
            (0, "0"),
        ] {
            assert_eq!(to_x12(cents), text);
            assert_eq!(from_x12(text), Some(cents), "{text}");
        }
        assert_eq!(from_x12("750.00"), Some(75_000));
        assert_eq!(from_x12(".5"), Some(50));
        for bad in ["", "-", "1.234", "1,000", "12a", "1e3", "--1", "."] {
            assert_eq!(from_x12(bad), None, "{bad:?}");
        }
        assert_eq!(display(-1_200), "-$12.00");
    }
}
