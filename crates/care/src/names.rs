//! Names compared as people type them: one normal form, shared by the
//! duplicate search (admissions) and the check that a group note names no
//! other attendee (clinical).

/// Lower case, accents folded by Unicode decomposition, letters only:
/// `O'Brien-Núñez` → `obriennunez`, `Nguyễn` → `nguyen`, `Łukasz` → `lukasz`,
/// `Groß` → `gross`. Letters with no decomposition to a base letter (ł, ø, đ,
/// ß, æ, œ, þ, ı) are spelled out the way people type them without the
/// diacritic; letters of other scripts are kept as they are, never dropped.
pub fn normalise(name: &str) -> String {
    use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};
    let mut out = String::with_capacity(name.len());
    for c in name.nfd().filter(|c| !is_combining_mark(*c)) {
        for lower in c.to_lowercase() {
            match lower {
                'ł' => out.push('l'),
                'ø' => out.push('o'),
                'đ' | 'ð' => out.push('d'),
                'ß' => out.push_str("ss"),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                'þ' => out.push_str("th"),
                'ı' => out.push('i'),
                c if c.is_alphabetic() => out.push(c),
                _ => {}
            }
        }
    }
    out
}
