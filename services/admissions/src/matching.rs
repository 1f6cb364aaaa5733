//! Duplicate detection for the master patient index: how alike two people's
//! demographics are, and why. A pure function over plain types, so the rules
//! are explainable and tested on their own; admissions runs it against the
//! patients of every facility at registration and returns the candidates with
//! their score and the fields that matched.
//!
//! Each kind of agreement adds points (weights below); a candidate is proposed
//! at [`MatchRules::threshold`] or more. Names are compared after normalising
//! case, accents and punctuation; a family name within a small edit distance is
//! a typo, a given name in the nickname table is a nickname; a date of birth
//! with day and month swapped counts, with fewer points. Names alone never reach
//! the threshold: two people called Maria Garcia born on different days are
//! not proposed as one.

use chrono::{Datelike, NaiveDate};

/// The demographics compared.
#[derive(Debug, Clone, Copy)]
pub struct Demographics<'a> {
    /// Legal given name.
    pub given: &'a str,
    /// Legal family name.
    pub family: &'a str,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Phone, digits only (possibly with a leading `+`); empty if unknown.
    pub phone: &'a str,
    /// Last four digits of the SSN; empty if unknown.
    pub ssn_last4: &'a str,
}

/// A field that agreed, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchedField {
    /// Same family name.
    FamilyName,
    /// Family name within a typo.
    FamilyNameTypo,
    /// Same given name.
    GivenName,
    /// Given names that are nickname and formal name.
    GivenNameNickname,
    /// Given name within a typo.
    GivenNameTypo,
    /// Same date of birth.
    DateOfBirth,
    /// Date of birth with day and month swapped.
    DateOfBirthSwapped,
    /// Same phone number.
    Phone,
    /// Same last four SSN digits.
    SsnLast4,
}

impl MatchedField {
    /// Stable name for the API (`family_name_typo`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedField::FamilyName => "family_name",
            MatchedField::FamilyNameTypo => "family_name_typo",
            MatchedField::GivenName => "given_name",
            MatchedField::GivenNameNickname => "given_name_nickname",
            MatchedField::GivenNameTypo => "given_name_typo",
            MatchedField::DateOfBirth => "date_of_birth",
            MatchedField::DateOfBirthSwapped => "date_of_birth_day_month_swapped",
            MatchedField::Phone => "phone",
            MatchedField::SsnLast4 => "ssn_last4",
        }
    }
}

/// Version of the rules below (weights, normalisation, nickname table);
/// recorded with every candidate list, like placement's. Changing a rule means
/// a new version, never an edit in place.
pub const MATCHING_RULES_VERSION: &str = "match-v1";

/// Weights and threshold. The defaults are this network's; tune with care,
/// since every change shifts which records staff are asked to review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchRules {
    /// Points for a proposal.
    pub threshold: u32,
    /// Points per kind of agreement.
    pub family: u32,
    /// Family name typo.
    pub family_typo: u32,
    /// Given name.
    pub given: u32,
    /// Given name nickname.
    pub given_nickname: u32,
    /// Given name typo.
    pub given_typo: u32,
    /// Date of birth.
    pub date_of_birth: u32,
    /// Date of birth with day and month swapped.
    pub date_of_birth_swapped: u32,
    /// Phone.
    pub phone: u32,
    /// SSN last four.
    pub ssn_last4: u32,
}

impl Default for MatchRules {
    fn default() -> Self {
        Self {
            threshold: 50,
            family: 25,
            family_typo: 18,
            given: 15,
            given_nickname: 13,
            given_typo: 10,
            date_of_birth: 30,
            date_of_birth_swapped: 22,
            phone: 25,
            ssn_last4: 20,
        }
    }
}

/// A proposed duplicate: its score (0–100, capped) and what matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchScore {
    /// Sum of the weights of the matched fields, at most 100.
    pub score: u32,
    /// The fields that agreed, in a fixed order.
    pub matched: Vec<MatchedField>,
}

/// Scores `candidate` against `new`; `None` below the threshold.
pub fn score(
    rules: &MatchRules,
    new: &Demographics<'_>,
    candidate: &Demographics<'_>,
) -> Option<MatchScore> {
    let mut matched = Vec::new();
    let mut points = 0;
    let mut add = |field, weight| {
        matched.push(field);
        points += weight;
    };

    let (family_a, family_b) = (normalise(new.family), normalise(candidate.family));
    if !family_a.is_empty() && family_a == family_b {
        add(MatchedField::FamilyName, rules.family);
    } else if is_typo(&family_a, &family_b) {
        add(MatchedField::FamilyNameTypo, rules.family_typo);
    }

    let (given_a, given_b) = (normalise(new.given), normalise(candidate.given));
    if !given_a.is_empty() && given_a == given_b {
        add(MatchedField::GivenName, rules.given);
    } else if are_nicknames(&given_a, &given_b) {
        add(MatchedField::GivenNameNickname, rules.given_nickname);
    } else if is_typo(&given_a, &given_b) {
        add(MatchedField::GivenNameTypo, rules.given_typo);
    }

    let (a, b) = (new.date_of_birth, candidate.date_of_birth);
    if a == b {
        add(MatchedField::DateOfBirth, rules.date_of_birth);
    } else if a.year() == b.year() && a.day() == b.month() && a.month() == b.day() {
        add(
            MatchedField::DateOfBirthSwapped,
            rules.date_of_birth_swapped,
        );
    }

    if !new.phone.is_empty() && last_ten(new.phone) == last_ten(candidate.phone) {
        add(MatchedField::Phone, rules.phone);
    }
    if new.ssn_last4.len() == 4 && new.ssn_last4 == candidate.ssn_last4 {
        add(MatchedField::SsnLast4, rules.ssn_last4);
    }

    (points >= rules.threshold).then(|| MatchScore {
        score: points.min(100),
        matched,
    })
}

/// What a candidate search must match on at least one of: without any of
/// them a pair cannot reach the default threshold (names alone score at most
/// 40), so searching by these keys misses no candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockingKeys {
    /// The date of birth, and the same with day and month swapped when that is a date.
    pub dates_of_birth: Vec<NaiveDate>,
    /// The national part of the phone (last ten digits), if any.
    pub phone_suffix: Option<String>,
    /// SSN-4, if any.
    pub ssn_last4: Option<String>,
}

/// The blocking keys of `person`.
pub fn blocking_keys(person: &Demographics<'_>) -> BlockingKeys {
    let dob = person.date_of_birth;
    let mut dates_of_birth = vec![dob];
    if let Some(swapped) = NaiveDate::from_ymd_opt(dob.year(), dob.day(), dob.month())
        && swapped != dob
    {
        dates_of_birth.push(swapped);
    }
    let phone = last_ten(person.phone);
    BlockingKeys {
        dates_of_birth,
        phone_suffix: (!phone.is_empty()).then(|| phone.to_owned()),
        ssn_last4: (!person.ssn_last4.is_empty()).then(|| person.ssn_last4.to_owned()),
    }
}

/// National number without country code, so `+14155550100` equals `4155550100`.
fn last_ten(phone: &str) -> &str {
    let digits = phone.trim_start_matches('+');
    &digits[digits.len().saturating_sub(10)..]
}

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

/// Within one edit (short names) or two (eight letters or more); transposed
/// neighbours count as one edit (optimal string alignment distance).
fn is_typo(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    let allowed = if la.min(lb) >= 8 { 2 } else { 1 };
    la.abs_diff(lb) <= allowed && strsim::osa_distance(a, b) <= allowed
}

/// Common English and Spanish given-name variants (formal name first).
const NICKNAMES: &[(&str, &[&str])] = &[
    ("alexander", &["alex", "al", "sandy"]),
    ("alejandro", &["alex", "ale"]),
    ("anthony", &["tony"]),
    ("antonio", &["tony", "toño"]),
    ("catherine", &["cathy", "kate", "katie", "cat"]),
    ("katherine", &["kathy", "kate", "katie", "kat"]),
    ("christopher", &["chris", "topher"]),
    ("daniel", &["dan", "danny"]),
    ("david", &["dave", "davey"]),
    ("edward", &["ed", "eddie", "ted"]),
    ("elizabeth", &["liz", "beth", "betty", "eliza", "lisa"]),
    ("francisco", &["paco", "pancho", "frank"]),
    ("guadalupe", &["lupe"]),
    ("james", &["jim", "jimmy", "jamie"]),
    ("jennifer", &["jen", "jenny"]),
    ("john", &["jack", "johnny"]),
    ("jonathan", &["jon", "jonny"]),
    ("jose", &["pepe", "joe"]),
    ("joseph", &["joe", "joey"]),
    ("margaret", &["maggie", "meg", "peggy"]),
    ("michael", &["mike", "mikey"]),
    ("nicholas", &["nick", "nicky"]),
    ("patricia", &["pat", "patty", "trish"]),
    ("patrick", &["pat"]),
    ("rebecca", &["becky", "becca"]),
    ("richard", &["rick", "rich", "dick"]),
    ("robert", &["bob", "rob", "bobby", "robbie"]),
    ("samuel", &["sam", "sammy"]),
    ("stephanie", &["steph"]),
    ("steven", &["steve"]),
    ("thomas", &["tom", "tommy"]),
    ("victoria", &["vicky", "tori"]),
    ("william", &["bill", "will", "billy", "liam"]),
];

fn are_nicknames(a: &str, b: &str) -> bool {
    NICKNAMES.iter().any(|(formal, short)| {
        let is = |x: &str| x == *formal || short.iter().any(|s| normalise(s) == x);
        is(a) && is(b) && a != b
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn person<'a>(
        given: &'a str,
        family: &'a str,
        dob: (i32, u32, u32),
        phone: &'a str,
    ) -> Demographics<'a> {
        Demographics {
            given,
            family,
            date_of_birth: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2).unwrap(),
            phone,
            ssn_last4: "",
        }
    }

    fn fields(m: &MatchScore) -> Vec<&'static str> {
        m.matched.iter().map(|f| f.as_str()).collect()
    }

    #[test]
    fn proposes_the_same_person_despite_each_kind_of_discrepancy() {
        let rules = MatchRules::default();
        let known = person("Robert", "Hernandez", (1984, 3, 7), "4155550100");
        // (given, family, date of birth, phone) of the same person, and what matched.
        type Case = (
            &'static str,
            &'static str,
            (i32, u32, u32),
            &'static str,
            &'static str,
        );
        let cases: [Case; 6] = [
            ("Robert", "Hernandes", (1984, 3, 7), "", "family_name_typo"),
            ("Robert", "Henrandez", (1984, 3, 7), "", "family_name_typo"),
            ("Bob", "Hernandez", (1984, 3, 7), "", "given_name_nickname"),
            (
                "Robert",
                "Hernandez",
                (1984, 7, 3),
                "",
                "date_of_birth_day_month_swapped",
            ),
            ("Robert", "Hernandez", (1985, 3, 7), "+14155550100", "phone"),
            ("ROBERT", "Hernández", (1984, 3, 7), "", "family_name"),
        ];
        for (given, family, born, phone, expected) in cases {
            let new = person(given, family, born, phone);
            let m = score(&rules, &new, &known).unwrap_or_else(|| panic!("{new:?} not proposed"));
            assert!(fields(&m).contains(&expected), "{new:?}: {:?}", fields(&m));
            assert!(m.score >= rules.threshold);
        }
    }

    #[test]
    fn same_common_name_with_another_birth_date_is_not_proposed() {
        let rules = MatchRules::default();
        let a = person("Maria", "Garcia", (1990, 5, 14), "5105550111");
        let b = person("Maria", "Garcia", (1972, 11, 2), "5105550199");
        assert_eq!(score(&rules, &a, &b), None);
    }

    #[test]
    fn exact_duplicate_scores_highest_and_lists_every_field() {
        let rules = MatchRules::default();
        let a = Demographics {
            ssn_last4: "1234",
            ..person("Ana", "Reyes", (1990, 4, 12), "4155550100")
        };
        let m = score(&rules, &a, &a).unwrap();
        assert_eq!(m.score, 100);
        assert_eq!(
            fields(&m),
            [
                "family_name",
                "given_name",
                "date_of_birth",
                "phone",
                "ssn_last4"
            ]
        );
    }

    #[test]
    fn a_day_equal_to_its_month_is_not_a_swap_and_other_names_are_not_typos() {
        let rules = MatchRules::default();
        let a = person("Lee", "Kim", (2000, 5, 5), "");
        let b = person("Lee", "Kim", (2000, 5, 6), "");
        assert_eq!(score(&rules, &a, &b), None);
        assert!(!is_typo("kim", "lee"));
        assert!(is_typo("smith", "smtih"));
        assert!(is_typo("fitzgerald", "fitzgearld"));
        assert!(!is_typo("nguyen", "ngo"));
    }

    #[test]
    fn blocking_keys_cover_every_way_to_reach_the_threshold() {
        let p = Demographics {
            ssn_last4: "1234",
            ..person("Ana", "Reyes", (1990, 4, 12), "+14155550100")
        };
        let keys = blocking_keys(&p);
        assert_eq!(
            keys.dates_of_birth,
            [
                NaiveDate::from_ymd_opt(1990, 4, 12).unwrap(),
                NaiveDate::from_ymd_opt(1990, 12, 4).unwrap()
            ]
        );
        assert_eq!(keys.phone_suffix.as_deref(), Some("4155550100"));
        assert_eq!(keys.ssn_last4.as_deref(), Some("1234"));
        // Day 31 cannot be a month: no swapped date; no phone or SSN: no such keys.
        let q = blocking_keys(&person("Ana", "Reyes", (1990, 1, 31), ""));
        assert_eq!(q.dates_of_birth.len(), 1);
        assert_eq!((q.phone_suffix, q.ssn_last4), (None, None));
        // The claim behind blocking: names alone stay under the threshold.
        let rules = MatchRules::default();
        assert!(rules.family + rules.given < rules.threshold);
    }

    proptest::proptest! {
        /// Blocking misses nothing: whenever two people score at or above the
        /// threshold, the second shares a blocking key of the first (a date
        /// of birth, as given or swapped; the phone's national number; SSN-4).
        #[test]
        fn every_proposed_pair_shares_a_blocking_key(
            given in proptest::sample::select(vec!["Ana", "Anna", "Bob", "Robert", "Lee", "Jo"]),
            given2 in proptest::sample::select(vec!["Ana", "Anna", "Bob", "Robert", "Lee", "Jo"]),
            family in proptest::sample::select(vec!["Reyes", "Reyez", "Lund", "Nguyen", "Kim"]),
            family2 in proptest::sample::select(vec!["Reyes", "Reyez", "Lund", "Nguyen", "Kim"]),
            (y, m, d) in (1980i32..1983, 1u32..13, 1u32..13),
            (y2, m2, d2) in (1980i32..1983, 1u32..13, 1u32..13),
            phone in proptest::sample::select(vec!["", "4155550100", "+14155550100", "5105550111"]),
            phone2 in proptest::sample::select(vec!["", "4155550100", "5105550111"]),
            ssn in proptest::sample::select(vec!["", "1234", "9876"]),
            ssn2 in proptest::sample::select(vec!["", "1234", "9876"]),
        ) {
            let a = Demographics { ssn_last4: ssn, ..person(given, family, (y, m, d), phone) };
            let b = Demographics { ssn_last4: ssn2, ..person(given2, family2, (y2, m2, d2), phone2) };
            if score(&MatchRules::default(), &a, &b).is_some() {
                let keys = blocking_keys(&a);
                let shares = keys.dates_of_birth.contains(&b.date_of_birth)
                    || keys.phone_suffix.as_deref().is_some_and(|p| b.phone.ends_with(p))
                    || keys.ssn_last4.as_deref() == Some(b.ssn_last4);
                proptest::prop_assert!(shares, "{a:?} ~ {b:?} proposed without a shared key");
            }
        }
    }

    #[test]
    fn typos_and_normalisation() {
        assert!(is_typo("reyes", "reyez"));
        assert!(is_typo("garcia", "gracia"), "a transposition is one edit");
        assert!(!is_typo("garcia", "garza"));
        assert!(
            is_typo("fernandez", "hernandes"),
            "two edits in a long name"
        );
        assert_eq!(normalise("O'Brien-Núñez"), "obriennunez");
        assert!(are_nicknames("bill", "william"));
        assert!(are_nicknames("liam", "will"), "both short for William");
        assert!(!are_nicknames("bill", "robert"));
    }

    #[test]
    fn normalise_keeps_every_letter_of_vietnamese_polish_spanish_and_german_names() {
        for (name, folded) in [
            // Vietnamese: stacked diacritics, đ.
            ("Nguyễn", "nguyen"),
            ("Trần Thị Hương", "tranthihuong"),
            ("Đặng Văn Lâm", "dangvanlam"),
            ("Phạm Quỳnh Anh", "phamquynhanh"),
            // Polish: ł has no decomposition; ą ę ś ć ń ó ź ż do.
            ("Łukasz", "lukasz"),
            ("Wałęsa", "walesa"),
            ("Żółćński", "zolcnski"),
            (
                "Małgorzata Brzęczyszczykiewicz",
                "malgorzatabrzeczyszczykiewicz",
            ),
            // Spanish.
            ("José Ángel Peña", "joseangelpena"),
            ("Begoña Ibáñez-Güemes", "begonaibanezguemes"),
            // German.
            ("Jürgen Groß", "jurgengross"),
            ("Müller-Lüdenscheidt", "mullerludenscheidt"),
            ("Björn Søren Æbelø", "bjornsorenaebelo"),
        ] {
            assert_eq!(normalise(name), folded, "{name}");
        }
        assert_eq!(normalise("李小龍"), "李小龍", "other scripts are kept");
    }
}
