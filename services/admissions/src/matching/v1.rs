//! Matching rules `match-v1`, frozen as they were recorded: kept so the
//! labelled benchmark can print v1 beside v2 (`benchmark` tests). Nothing in
//! the service scores with them any more.

use chrono::{Datelike, NaiveDate};

use super::{MatchedField, normalise};

/// The demographics v1 compared.
#[derive(Debug, Clone, Copy)]
pub struct Demographics<'a> {
    pub given: &'a str,
    pub family: &'a str,
    pub date_of_birth: NaiveDate,
    pub phone: &'a str,
    pub ssn_last4: &'a str,
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

/// National number without country code.
fn last_ten(phone: &str) -> &str {
    let digits = phone.trim_start_matches('+');
    &digits[digits.len().saturating_sub(10)..]
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

/// v1's typo rule: one edit, two from eight letters.
fn is_typo(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    let allowed = if la.min(lb) >= 8 { 2 } else { 1 };
    la.abs_diff(lb) <= allowed && strsim::osa_distance(a, b) <= allowed
}
