//! ICD-10-CM codes as this network writes them: upper-case, without the dot
//! (as X12 claims carry them), and which of them are substance-use disorders
//! (F10-F19), the diagnoses an IOP claim for addiction treatment is made on.

/// `code` in its normal form (`f11.20` → `F1120`), or `None` when it is not
/// shaped like an ICD-10-CM code: a letter, a digit, a letter or digit, then
/// up to four letters or digits (a dot allowed only after the third).
pub fn normalize(code: &str) -> Option<String> {
    let trimmed = code.trim();
    let (head, tail) = match trimmed.split_once('.') {
        Some((h, t)) if h.len() == 3 && !t.is_empty() => (h, t),
        Some(_) => return None,
        None => (trimmed, ""),
    };
    let out: String = format!("{head}{tail}").to_ascii_uppercase();
    let b = out.as_bytes();
    let shaped = (3..=7).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2..].iter().all(u8::is_ascii_alphanumeric);
    shaped.then_some(out)
}

/// Whether a normal-form code is a mental and behavioural disorder due to
/// psychoactive substance use (F10-F19).
pub fn is_substance_use(code: &str) -> bool {
    code.len() >= 3 && code.starts_with("F1") && code.as_bytes()[2].is_ascii_digit()
}

/// The normal forms of `codes` that are codes, in order, each once.
pub fn diagnoses<'a>(codes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in codes.into_iter().filter_map(normalize) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_or_refused() {
        assert_eq!(normalize("f11.20").as_deref(), Some("F1120"));
        assert_eq!(normalize(" F32.9 ").as_deref(), Some("F329"));
        assert_eq!(normalize("F10").as_deref(), Some("F10"));
        assert_eq!(normalize("Z79.891").as_deref(), Some("Z79891"));
        for bad in [
            "",
            "F1",
            "11.20",
            "F1.120",
            "F11.",
            "F11.20.1",
            "F11-20",
            "F11200000",
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn substance_use_is_f10_to_f19() {
        assert!(is_substance_use("F1120"));
        assert!(is_substance_use("F19"));
        assert!(!is_substance_use("F329"));
        assert!(!is_substance_use("F0390"));
        assert!(!is_substance_use("Z79891"));
        assert_eq!(
            diagnoses(["F32.9", "bad", "f11.20", "F329"]),
            vec!["F329".to_owned(), "F1120".to_owned()]
        );
    }
}
