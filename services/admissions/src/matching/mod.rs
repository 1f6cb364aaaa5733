//! Duplicate detection for the master patient index: how alike two people's
//! demographics are, and why. Pure functions over plain types, so the rules
//! are explainable and tested on their own; admissions runs them against the
//! patients of every facility at registration, on a demographic update and on
//! request, and returns the candidates with their score, the fields that
//! agreed and the fields that argue against.
//!
//! Rules `match-v2` (DOMAIN "Matching"), a points score in the manner of
//! Fellegi–Sunter: each field that agrees adds its weight, each that
//! disagrees — both sides known, not a placeholder — subtracts its penalty,
//! and a candidate is proposed at [`MatchRules::threshold`] or more.
//! - Names are compared after Unicode decomposition (`Nguyễn` → `nguyen`),
//!   word by word: a compound or hyphenated surname agrees on any part
//!   (`García López` ~ `García`), given names in the nickname table (English,
//!   Spanish, Vietnamese and Korean short forms) agree, a name within a small
//!   edit distance is a typo, and given and family names swapped (family name
//!   first, as in Vietnamese, Chinese and Korean) agree as swapped. Agreement
//!   on one of the most common surnames of California's patients counts less.
//! - Dates of birth agree exactly, with day and month swapped, or with one
//!   digit off; any other difference argues against.
//! - Sex argues against when both are known and differ (twins, siblings).
//! - Phone and SSN-4 agree only when not placeholders (`0000`, `9999`, a
//!   phone of one repeated digit); a different SSN-4 argues strongly against.
//!
//! A candidate search never scans: [`index_keys`] are stored per patient and
//! [`search_keys`] looked up, and every pair that can reach the threshold
//! shares one (tested by property). [`v1`] keeps the previous rules for the
//! benchmark that compares both on a labelled set.

use chrono::{Datelike, NaiveDate};

#[cfg(test)]
mod benchmark;
#[cfg(test)]
#[allow(missing_docs, reason = "frozen rules, kept for the benchmark")]
mod v1;

/// Sex as registered, for matching: unknown never argues either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Other, unknown or not given.
    Unknown,
}

impl Sex {
    /// From an `iop.common.v1.Sex` value as stored.
    pub fn from_contract(value: i32) -> Sex {
        use iop_proto::common::v1::Sex as Contract;
        match Contract::try_from(value) {
            Ok(Contract::Female) => Sex::Female,
            Ok(Contract::Male) => Sex::Male,
            _ => Sex::Unknown,
        }
    }
}

/// The demographics compared.
#[derive(Debug, Clone, Copy)]
pub struct Demographics<'a> {
    /// Legal given name (all given names, space separated).
    pub given: &'a str,
    /// Legal family name (all parts: `García López`, `Martínez-Rojas`).
    pub family: &'a str,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Phone, digits only (possibly with a leading `+`); empty if unknown.
    pub phone: &'a str,
    /// Last four digits of the SSN; empty if unknown.
    pub ssn_last4: &'a str,
}

/// A field that agreed or disagreed, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchedField {
    /// Same family name.
    FamilyName,
    /// A part of a compound or hyphenated family name.
    FamilyNamePart,
    /// Family name within a typo.
    FamilyNameTypo,
    /// Same given name.
    GivenName,
    /// A part of a multi-word given name.
    GivenNamePart,
    /// Given names that are nickname and formal name.
    GivenNameNickname,
    /// Given name within a typo.
    GivenNameTypo,
    /// Given and family names agree swapped.
    NamesSwapped,
    /// Same date of birth.
    DateOfBirth,
    /// Date of birth with day and month swapped.
    DateOfBirthSwapped,
    /// Date of birth with one digit different.
    DateOfBirthOneDigit,
    /// Same sex.
    Sex,
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
            MatchedField::FamilyNamePart => "family_name_part",
            MatchedField::FamilyNameTypo => "family_name_typo",
            MatchedField::GivenName => "given_name",
            MatchedField::GivenNamePart => "given_name_part",
            MatchedField::GivenNameNickname => "given_name_nickname",
            MatchedField::GivenNameTypo => "given_name_typo",
            MatchedField::NamesSwapped => "names_swapped",
            MatchedField::DateOfBirth => "date_of_birth",
            MatchedField::DateOfBirthSwapped => "date_of_birth_day_month_swapped",
            MatchedField::DateOfBirthOneDigit => "date_of_birth_one_digit",
            MatchedField::Sex => "sex",
            MatchedField::Phone => "phone",
            MatchedField::SsnLast4 => "ssn_last4",
        }
    }
}

/// A field that argues against the two being one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disagreement {
    /// Unrelated family names.
    FamilyName,
    /// Unrelated given names.
    GivenName,
    /// Dates of birth further apart than a typo.
    DateOfBirth,
    /// Different sex.
    Sex,
    /// Different SSN-4.
    SsnLast4,
}

impl Disagreement {
    /// Stable name for the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Disagreement::FamilyName => "family_name",
            Disagreement::GivenName => "given_name",
            Disagreement::DateOfBirth => "date_of_birth",
            Disagreement::Sex => "sex",
            Disagreement::SsnLast4 => "ssn_last4",
        }
    }
}

/// Version of the rules below (weights, normalisation, nickname table);
/// recorded with every candidate. Changing a rule means a new version, never
/// an edit in place.
pub const MATCHING_RULES_VERSION: &str = "match-v2";

/// Weights, penalties and threshold. The defaults are this network's, chosen
/// on the labelled set (`tests/data/match_pairs.csv`, see the benchmark);
/// every change shifts which records staff are asked to review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "each is the points of the field it names")]
pub struct MatchRules {
    /// Points for a proposal.
    pub threshold: i32,
    pub family: i32,
    pub family_common: i32,
    pub family_part: i32,
    pub family_typo: i32,
    pub given: i32,
    pub given_part: i32,
    pub given_nickname: i32,
    pub given_typo: i32,
    /// Taken off names that agree only swapped.
    pub swapped_names_cost: i32,
    pub date_of_birth: i32,
    pub date_of_birth_swapped: i32,
    pub date_of_birth_one_digit: i32,
    pub sex: i32,
    pub phone: i32,
    pub ssn_last4: i32,
    /// Subtracted for each disagreement.
    pub family_differs: i32,
    pub given_differs: i32,
    pub date_of_birth_differs: i32,
    pub sex_differs: i32,
    pub ssn_last4_differs: i32,
}

impl Default for MatchRules {
    fn default() -> Self {
        Self {
            threshold: 50,
            family: 25,
            family_common: 17,
            family_part: 20,
            family_typo: 16,
            given: 15,
            given_part: 12,
            given_nickname: 13,
            given_typo: 10,
            swapped_names_cost: 3,
            date_of_birth: 30,
            date_of_birth_swapped: 22,
            date_of_birth_one_digit: 18,
            sex: 5,
            phone: 20,
            ssn_last4: 25,
            family_differs: 10,
            given_differs: 30,
            date_of_birth_differs: 25,
            sex_differs: 30,
            ssn_last4_differs: 35,
        }
    }
}

/// A scored pair: its score (0–100, clamped), what agreed and what argues against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchScore {
    /// Points of agreements less penalties, clamped to 0–100.
    pub score: u32,
    /// The fields that agreed, in a fixed order.
    pub matched: Vec<MatchedField>,
    /// The fields that disagreed, in a fixed order.
    pub disagreeing: Vec<Disagreement>,
}

/// How two names agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameAgreement {
    Exact,
    Part,
    Nickname,
    Typo,
    /// Both known, nothing in common.
    Differs,
    /// One side empty.
    Unknown,
}

/// Scores `candidate` against `new`; `None` below the threshold.
pub fn score(
    rules: &MatchRules,
    new: &Demographics<'_>,
    candidate: &Demographics<'_>,
) -> Option<MatchScore> {
    let m = evaluate(rules, new, candidate);
    (m.points >= rules.threshold).then(|| MatchScore {
        score: m.points.clamp(0, 100) as u32,
        matched: m.matched,
        disagreeing: m.disagreeing,
    })
}

struct Evaluation {
    points: i32,
    matched: Vec<MatchedField>,
    disagreeing: Vec<Disagreement>,
}

fn evaluate(rules: &MatchRules, a: &Demographics<'_>, b: &Demographics<'_>) -> Evaluation {
    let mut e = Evaluation {
        points: 0,
        matched: Vec::new(),
        disagreeing: Vec::new(),
    };
    let agree = |e: &mut Evaluation, field, weight| {
        e.matched.push(field);
        e.points += weight;
    };
    let differ = |e: &mut Evaluation, field, penalty: i32| {
        e.disagreeing.push(field);
        e.points -= penalty;
    };

    // Names: as written, or swapped when that agrees better.
    let straight = (
        compare_family(a.family, b.family),
        compare_given(a.given, b.given),
    );
    let swapped = (
        compare_family(a.family, b.given),
        compare_given(a.given, b.family),
    );
    let known = |n: NameAgreement| !matches!(n, NameAgreement::Differs | NameAgreement::Unknown);
    let use_swapped =
        known(swapped.0) && known(swapped.1) && !(known(straight.0) && known(straight.1));
    let (family, given) = if use_swapped { swapped } else { straight };
    if use_swapped {
        agree(
            &mut e,
            MatchedField::NamesSwapped,
            -rules.swapped_names_cost,
        );
    }
    let common = is_common_surname(a.family) && is_common_surname(b.family);
    match family {
        NameAgreement::Exact if common => {
            agree(&mut e, MatchedField::FamilyName, rules.family_common)
        }
        NameAgreement::Exact => agree(&mut e, MatchedField::FamilyName, rules.family),
        NameAgreement::Part => agree(&mut e, MatchedField::FamilyNamePart, rules.family_part),
        NameAgreement::Typo => agree(&mut e, MatchedField::FamilyNameTypo, rules.family_typo),
        // A nickname table is for given names; a family name never is one.
        NameAgreement::Nickname | NameAgreement::Unknown => {}
        NameAgreement::Differs => differ(&mut e, Disagreement::FamilyName, rules.family_differs),
    }
    match given {
        NameAgreement::Exact => agree(&mut e, MatchedField::GivenName, rules.given),
        NameAgreement::Part => agree(&mut e, MatchedField::GivenNamePart, rules.given_part),
        NameAgreement::Nickname => agree(
            &mut e,
            MatchedField::GivenNameNickname,
            rules.given_nickname,
        ),
        NameAgreement::Typo => agree(&mut e, MatchedField::GivenNameTypo, rules.given_typo),
        NameAgreement::Unknown => {}
        NameAgreement::Differs => differ(&mut e, Disagreement::GivenName, rules.given_differs),
    }

    let (x, y) = (a.date_of_birth, b.date_of_birth);
    if x == y {
        agree(&mut e, MatchedField::DateOfBirth, rules.date_of_birth);
    } else if x.year() == y.year() && x.day() == y.month() && x.month() == y.day() {
        agree(
            &mut e,
            MatchedField::DateOfBirthSwapped,
            rules.date_of_birth_swapped,
        );
    } else if one_digit_apart(x, y) {
        agree(
            &mut e,
            MatchedField::DateOfBirthOneDigit,
            rules.date_of_birth_one_digit,
        );
    } else {
        differ(
            &mut e,
            Disagreement::DateOfBirth,
            rules.date_of_birth_differs,
        );
    }

    match (a.sex, b.sex) {
        (Sex::Unknown, _) | (_, Sex::Unknown) => {}
        (s, t) if s == t => agree(&mut e, MatchedField::Sex, rules.sex),
        _ => differ(&mut e, Disagreement::Sex, rules.sex_differs),
    }

    let (p, q) = (usable_phone(a.phone), usable_phone(b.phone));
    if p.is_some() && p == q {
        agree(&mut e, MatchedField::Phone, rules.phone);
    }
    match (usable_ssn(a.ssn_last4), usable_ssn(b.ssn_last4)) {
        (Some(s), Some(t)) if s == t => agree(&mut e, MatchedField::SsnLast4, rules.ssn_last4),
        (Some(_), Some(_)) => differ(&mut e, Disagreement::SsnLast4, rules.ssn_last4_differs),
        _ => {}
    }
    e
}

/// The eight digits of two dates differ in exactly one place.
fn one_digit_apart(a: NaiveDate, b: NaiveDate) -> bool {
    let (x, y) = (digits(a), digits(b));
    x.iter().zip(&y).filter(|(p, q)| p != q).count() == 1
}

fn digits(d: NaiveDate) -> [u8; 8] {
    let s = format!("{:04}{:02}{:02}", d.year(), d.month(), d.day());
    let mut out = [0u8; 8];
    for (slot, byte) in out.iter_mut().zip(s.bytes()) {
        *slot = byte;
    }
    out
}

/// The national number (last ten digits) unless empty or a placeholder
/// (one digit repeated, `1234567890`).
fn usable_phone(phone: &str) -> Option<&str> {
    let digits = phone.trim_start_matches('+');
    let national = &digits[digits.len().saturating_sub(10)..];
    let repeated = national.bytes().all(|b| Some(b) == national.bytes().next());
    (national.len() >= 7 && !repeated && national != "1234567890").then_some(national)
}

/// SSN-4 unless empty or a placeholder (`0000`, `9999`, `1234`).
fn usable_ssn(ssn: &str) -> Option<&str> {
    (ssn.len() == 4 && !matches!(ssn, "0000" | "9999" | "1234")).then_some(ssn)
}

/// Normalised words of a name: `García-López` → `["garcia", "lopez"]`.
/// Particles (`de`, `la`, `del`, `los`, `van`, `von`, `y`) are dropped
/// unless they are the whole name, and `De la Cruz` also gives `delacruz`.
pub fn words(name: &str) -> Vec<String> {
    const PARTICLES: [&str; 9] = ["de", "la", "las", "del", "los", "da", "van", "von", "y"];
    let raw: Vec<String> = name
        .split(|c: char| c.is_whitespace() || c == '-')
        .map(normalise)
        .filter(|w| !w.is_empty())
        .collect();
    let mut out: Vec<String> = raw
        .iter()
        .filter(|w| !PARTICLES.contains(&w.as_str()))
        .cloned()
        .collect();
    if out.is_empty() {
        return raw;
    }
    if raw.len() > 1 {
        let joined = raw.concat();
        if !out.contains(&joined) {
            out.push(joined);
        }
    }
    out
}

fn compare_family(a: &str, b: &str) -> NameAgreement {
    compare_names(a, b, false)
}

fn compare_given(a: &str, b: &str) -> NameAgreement {
    compare_names(a, b, true)
}

fn compare_names(a: &str, b: &str, nicknames: bool) -> NameAgreement {
    let (whole_a, whole_b) = (normalise(a), normalise(b));
    if whole_a.is_empty() || whole_b.is_empty() {
        return NameAgreement::Unknown;
    }
    if whole_a == whole_b {
        return NameAgreement::Exact;
    }
    let (wa, wb) = (words(a), words(b));
    if wa.iter().any(|w| wb.contains(w)) {
        return NameAgreement::Part;
    }
    if nicknames && wa.iter().any(|x| wb.iter().any(|y| are_nicknames(x, y))) {
        return NameAgreement::Nickname;
    }
    if is_typo(&whole_a, &whole_b) || wa.iter().any(|x| wb.iter().any(|y| is_typo(x, y))) {
        return NameAgreement::Typo;
    }
    NameAgreement::Differs
}

/// Among the most frequent surnames of California (Census 2010 surname
/// counts, with Vietnamese, Korean and Chinese surnames weighed by
/// California's population): agreement on one says less.
const COMMON_SURNAMES: &[&str] = &[
    "garcia",
    "hernandez",
    "martinez",
    "lopez",
    "gonzalez",
    "rodriguez",
    "perez",
    "sanchez",
    "ramirez",
    "flores",
    "torres",
    "rivera",
    "gomez",
    "diaz",
    "reyes",
    "cruz",
    "morales",
    "gutierrez",
    "ortiz",
    "chavez",
    "ruiz",
    "alvarez",
    "castillo",
    "jimenez",
    "vasquez",
    "romero",
    "herrera",
    "medina",
    "aguilar",
    "vargas",
    "nguyen",
    "tran",
    "le",
    "pham",
    "huynh",
    "hoang",
    "phan",
    "vu",
    "vo",
    "dang",
    "bui",
    "do",
    "ngo",
    "duong",
    "ly",
    "kim",
    "lee",
    "park",
    "choi",
    "jung",
    "kang",
    "cho",
    "yoon",
    "wang",
    "li",
    "zhang",
    "liu",
    "chen",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "lin",
    "chan",
    "wong",
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "miller",
    "davis",
    "wilson",
    "anderson",
    "taylor",
    "thomas",
    "moore",
    "jackson",
    "martin",
    "white",
    "harris",
    "thompson",
    "clark",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "hill",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "campbell",
    "mitchell",
    "carter",
    "roberts",
    "santos",
    "reyes",
    "bautista",
    "dela cruz",
];

/// [`COMMON_SURNAMES`], normalised once.
static COMMON: std::sync::LazyLock<std::collections::HashSet<String>> =
    std::sync::LazyLock::new(|| COMMON_SURNAMES.iter().map(|c| normalise(c)).collect());

fn is_common_surname(name: &str) -> bool {
    COMMON.contains(&normalise(name))
}

/// Keys stored for a patient so that a search finds every candidate that can
/// reach the threshold without scanning: the date of birth, the phone and
/// SSN-4 (unless placeholders), and for each name word (and the formal name
/// of a nickname) the date of birth with one of its parts left out, and with
/// day and month in order (one digit off changes one part; a day/month swap
/// keeps the sorted pair).
pub fn index_keys(person: &Demographics<'_>) -> Vec<String> {
    let dob = person.date_of_birth;
    let mut keys = vec![format!("d:{dob}")];
    if let Some(phone) = usable_phone(person.phone) {
        keys.push(format!("p:{phone}"));
    }
    if let Some(ssn) = usable_ssn(person.ssn_last4) {
        keys.push(format!("s:{ssn}"));
    }
    let (y, m, d) = (dob.year(), dob.month(), dob.day());
    let (lo, hi) = (m.min(d), m.max(d));
    for word in name_words(person) {
        keys.push(format!("n:{word}:{y}-{m}-*"));
        keys.push(format!("n:{word}:{y}-*-{d}"));
        keys.push(format!("n:{word}:*-{m}-{d}"));
        keys.push(format!("n:{word}:{y}-{lo}/{hi}"));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Keys to look up for `person`: its own [`index_keys`] and its date of birth
/// with day and month swapped (so a swapped date is found with no name in
/// common).
pub fn search_keys(person: &Demographics<'_>) -> Vec<String> {
    let dob = person.date_of_birth;
    let mut keys = index_keys(person);
    if let Some(swapped) = NaiveDate::from_ymd_opt(dob.year(), dob.day(), dob.month())
        && swapped != dob
    {
        keys.push(format!("d:{swapped}"));
    }
    keys
}

/// Every word of both names, and the formal name of each nickname.
fn name_words(person: &Demographics<'_>) -> Vec<String> {
    let mut out = words(person.family);
    out.extend(words(person.given));
    let formal: Vec<String> = out.iter().filter_map(|w| formal_name(w)).collect();
    out.extend(formal);
    out.retain(|w| w.chars().count() >= 2);
    out.sort_unstable();
    out.dedup();
    out
}

pub use iop_care::names::normalise;

/// Within one edit (short names) or two (eight letters or more); transposed
/// neighbours count as one edit (optimal string alignment distance). Names
/// of three letters or fewer are never typos of each other (`Le`, `Ly`).
fn is_typo(a: &str, b: &str) -> bool {
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la.min(lb) < 4 {
        return false;
    }
    let allowed = if la.min(lb) >= 8 { 2 } else { 1 };
    la.abs_diff(lb) <= allowed && strsim::osa_distance(a, b) <= allowed
}

/// Given-name variants (formal name first): English, Spanish (incl. the
/// hypocorisms of Mexican and Central American Spanish), Filipino, and the
/// English names Vietnamese, Korean and Chinese Americans often go by are not
/// here (no rule relates them to the given name; staff link those).
const NICKNAMES: &[(&str, &[&str])] = &[
    ("alexander", &["alex", "al", "sandy"]),
    ("alejandro", &["alex", "ale", "jando"]),
    ("alberto", &["beto", "al"]),
    ("anthony", &["tony"]),
    ("antonio", &["tony", "toño", "tono"]),
    ("catherine", &["cathy", "kate", "katie", "cat"]),
    ("katherine", &["kathy", "kate", "katie", "kat"]),
    ("christopher", &["chris", "topher"]),
    ("concepcion", &["concha", "conchita"]),
    ("daniel", &["dan", "danny"]),
    ("david", &["dave", "davey"]),
    ("dolores", &["lola", "loli"]),
    ("eduardo", &["lalo", "eddie"]),
    ("edward", &["ed", "eddie", "ted"]),
    ("elizabeth", &["liz", "beth", "betty", "eliza", "lisa"]),
    ("enrique", &["quique", "kike"]),
    ("francisco", &["paco", "pancho", "frank", "kiko"]),
    ("guadalupe", &["lupe", "lupita"]),
    ("guillermo", &["memo", "willy"]),
    ("ignacio", &["nacho"]),
    ("james", &["jim", "jimmy", "jamie"]),
    ("jennifer", &["jen", "jenny"]),
    ("jesus", &["chuy", "chucho"]),
    ("john", &["jack", "johnny"]),
    ("jonathan", &["jon", "jonny"]),
    ("jose", &["pepe", "joe", "chepe"]),
    ("joseph", &["joe", "joey"]),
    ("manuel", &["manolo", "manny"]),
    ("margaret", &["maggie", "meg", "peggy"]),
    ("maria", &["mari"]),
    ("mercedes", &["meche"]),
    ("michael", &["mike", "mikey"]),
    ("nicholas", &["nick", "nicky"]),
    ("patricia", &["pat", "patty", "trish", "paty"]),
    ("patrick", &["pat"]),
    ("rafael", &["rafa", "rafi"]),
    ("rebecca", &["becky", "becca"]),
    ("ricardo", &["rico", "ricky"]),
    ("richard", &["rick", "rich", "dick"]),
    ("robert", &["bob", "rob", "bobby", "robbie"]),
    ("roberto", &["beto", "robert"]),
    ("rosario", &["chayo", "charo"]),
    ("samuel", &["sam", "sammy"]),
    ("santiago", &["santi", "chago"]),
    ("stephanie", &["steph"]),
    ("steven", &["steve"]),
    ("thomas", &["tom", "tommy"]),
    ("victoria", &["vicky", "tori"]),
    ("william", &["bill", "will", "billy", "liam"]),
];

/// [`NICKNAMES`], normalised once: each group's names, formal first.
static GROUPS: std::sync::LazyLock<Vec<Vec<String>>> = std::sync::LazyLock::new(|| {
    (NICKNAMES.iter())
        .map(|(formal, short)| {
            std::iter::once(normalise(formal))
                .chain(short.iter().map(|s| normalise(s)))
                .collect()
        })
        .collect()
});

fn are_nicknames(a: &str, b: &str) -> bool {
    a != b
        && GROUPS
            .iter()
            .any(|g| g.iter().any(|x| x == a) && g.iter().any(|x| x == b))
}

/// The formal name a nickname stands for (the first, when several).
fn formal_name(word: &str) -> Option<String> {
    (GROUPS.iter())
        .find(|g| g[1..].iter().any(|x| x == word))
        .map(|g| g[0].clone())
}

#[cfg(test)]
mod tests;
