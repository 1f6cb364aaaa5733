//! Table tests of the `match-v2` rules, and the property that blocking misses
//! no proposal.

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
        sex: Sex::Female,
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
    let known = Demographics {
        ssn_last4: "4821",
        ..person("Guadalupe", "García López", (1984, 3, 7), "4155550100")
    };
    type Case = (
        &'static str,
        &'static str,
        (i32, u32, u32),
        &'static str,
        &'static str,
    );
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("Guadalupe", "Garcia Lopez", (1984, 3, 7), "", "family_name"),
        ("Guadalupe", "García-López", (1984, 3, 7), "", "family_name"),
        ("Guadalupe", "García", (1984, 3, 7), "", "family_name_part"),
        ("Guadalupe", "Lopez", (1984, 3, 7), "", "family_name_part"),
        ("Guadalupe", "Garsia Lopes", (1984, 3, 7), "", "family_name_typo"),
        ("Lupe", "García López", (1984, 3, 7), "", "given_name_nickname"),
        ("Guadalupe", "García López", (1984, 7, 3), "", "date_of_birth_day_month_swapped"),
        ("Guadalupe", "García López", (1984, 3, 1), "", "date_of_birth_one_digit"),
        ("Guadalupe", "García López", (1994, 3, 7), "", "date_of_birth_one_digit"),
        ("García López", "Guadalupe", (1984, 3, 7), "", "names_swapped"),
        ("Guadalupe", "Garcia", (1985, 3, 7), "+14155550100", "phone"),
    ];
    for (given, family, born, phone, expected) in cases {
        let new = person(given, family, *born, phone);
        let m = score(&rules, &new, &known).unwrap_or_else(|| panic!("{new:?} not proposed"));
        assert!(fields(&m).contains(expected), "{new:?}: {:?}", fields(&m));
        assert!(m.disagreeing.is_empty(), "{new:?}: {:?}", m.disagreeing);
    }
    // Vietnamese order: family name first in one record, last in the other.
    let a = person("Thị Hương", "Trần", (1979, 2, 14), "");
    let b = person("Trần Thị", "Hương", (1979, 2, 14), "");
    assert!(fields(&score(&rules, &a, &b).unwrap()).contains(&"names_swapped"));
}

#[test]
fn twins_siblings_and_parents_are_told_apart() {
    let rules = MatchRules::default();
    let leticia = Demographics {
        ssn_last4: "0030",
        ..person("Leticia", "Martínez", (1972, 3, 31), "5625550175")
    };
    // Twin sister: same family, birth date and phone; another given name.
    let itzel = Demographics {
        ssn_last4: "",
        ..person("Itzel", "Martínez", (1972, 3, 31), "5625550175")
    };
    assert_eq!(score(&rules, &itzel, &leticia), None);
    // Twin brother with a similar name: sex tells them apart.
    let gabriela = person("Gabriela", "López", (1985, 9, 4), "5625550106");
    let gabriel = Demographics {
        sex: Sex::Male,
        ..person("Gabriel", "López", (1985, 9, 4), "5625550106")
    };
    assert_eq!(score(&rules, &gabriel, &gabriela), None);
    // Mother and daughter of the same name at one phone: birth dates decades apart.
    let mother = person("Rosa", "Pérez", (1961, 5, 2), "9255550151");
    let daughter = person("Rosa", "Pérez", (1990, 8, 19), "9255550151");
    assert_eq!(score(&rules, &daughter, &mother), None);
    // Same name and birth day, different SSN-4.
    let a = Demographics {
        ssn_last4: "3906",
        ..person("José", "García", (1969, 12, 14), "6575550109")
    };
    let b = Demographics {
        ssn_last4: "8315",
        ..person("José", "García", (1969, 12, 14), "8185550145")
    };
    let m = evaluate(&rules, &a, &b);
    assert!(m.points < rules.threshold);
    assert_eq!(m.disagreeing, [Disagreement::SsnLast4]);
}

#[test]
fn placeholders_carry_no_weight_either_way() {
    let rules = MatchRules::default();
    let a = Demographics {
        ssn_last4: "0000",
        ..person("Thomas", "Williams", (1985, 4, 10), "0000000000")
    };
    let b = Demographics {
        ssn_last4: "0000",
        sex: Sex::Male,
        ..person("Brittany", "Williams", (1985, 4, 10), "0000000000")
    };
    let m = evaluate(&rules, &a, &b);
    assert!(!m.matched.contains(&MatchedField::SsnLast4));
    assert!(!m.matched.contains(&MatchedField::Phone));
    assert!(m.points < rules.threshold);
    // A placeholder against a real SSN-4 is not a disagreement.
    let real = Demographics {
        ssn_last4: "4821",
        ..person("Rocío", "Álvarez", (1989, 7, 25), "8055550167")
    };
    let placeholder = Demographics {
        ssn_last4: "9999",
        ..real
    };
    let m = score(&rules, &real, &placeholder).unwrap();
    assert!(m.disagreeing.is_empty() && !fields(&m).contains(&"ssn_last4"));
    assert_eq!(usable_phone("+1 555"), None);
    assert_eq!(usable_phone("+14155550100"), Some("4155550100"));
}

#[test]
fn names_alone_never_reach_the_threshold() {
    let rules = MatchRules::default();
    let a = person("Maria", "Garcia", (1990, 5, 14), "5105550111");
    let b = person("Maria", "Garcia", (1972, 11, 2), "5105550199");
    assert_eq!(score(&rules, &a, &b), None);
    let most = rules.family.max(rules.family_part) + rules.given + rules.sex;
    assert!(most < rules.threshold);
}

#[test]
fn exact_duplicate_scores_highest_and_lists_every_field() {
    let rules = MatchRules::default();
    let a = Demographics {
        ssn_last4: "1357",
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
            "sex",
            "phone",
            "ssn_last4"
        ]
    );
}

#[test]
fn dates_one_digit_apart_and_words_of_names() {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    assert!(one_digit_apart(d(1984, 3, 17), d(1984, 3, 11)));
    assert!(one_digit_apart(d(1984, 3, 17), d(1985, 3, 17)));
    assert!(one_digit_apart(d(1984, 3, 17), d(1984, 8, 17)));
    assert!(!one_digit_apart(d(1984, 3, 17), d(1984, 3, 17)));
    assert!(!one_digit_apart(d(1984, 3, 17), d(1984, 3, 28)));
    assert_eq!(words("García-López"), ["garcia", "lopez", "garcialopez"]);
    assert_eq!(words("de la Cruz"), ["cruz", "delacruz"]);
    assert_eq!(words("De"), ["de"]);
    assert!(are_nicknames("chuy", "jesus"));
    assert!(are_nicknames("memo", "guillermo"));
    assert!(are_nicknames("liam", "will"), "both short for William");
    assert!(!are_nicknames("bill", "robert"));
    assert!(
        !is_typo("le", "ly"),
        "short names are not typos of each other"
    );
    assert!(is_typo("garcia", "gracia"), "a transposition is one edit");
    assert!(
        is_typo("fernandez", "hernandes"),
        "two edits in a long name"
    );
    assert_eq!(normalise("O'Brien-Núñez"), "obriennunez");
}

#[test]
fn normalise_keeps_every_letter_of_vietnamese_polish_spanish_and_german_names() {
    for (name, folded) in [
        ("Nguyễn", "nguyen"),
        ("Trần Thị Hương", "tranthihuong"),
        ("Đặng Văn Lâm", "dangvanlam"),
        ("Łukasz", "lukasz"),
        ("Żółćński", "zolcnski"),
        ("José Ángel Peña", "joseangelpena"),
        ("Begoña Ibáñez-Güemes", "begonaibanezguemes"),
        ("Jürgen Groß", "jurgengross"),
        ("Björn Søren Æbelø", "bjornsorenaebelo"),
    ] {
        assert_eq!(normalise(name), folded, "{name}");
    }
    assert_eq!(normalise("李小龍"), "李小龍", "other scripts are kept");
}

#[test]
fn search_keys_include_the_swapped_date_and_index_keys_skip_placeholders() {
    let p = Demographics {
        ssn_last4: "0000",
        ..person("Bob", "Reyes", (1990, 4, 12), "+14155550100")
    };
    let index = index_keys(&p);
    assert!(index.contains(&"d:1990-04-12".to_owned()));
    assert!(index.contains(&"p:4155550100".to_owned()));
    assert!(
        !index.iter().any(|k| k.starts_with("s:")),
        "placeholder SSN-4"
    );
    assert!(
        index.contains(&"n:robert:1990-4-*".to_owned()),
        "formal name of Bob"
    );
    assert!(index.contains(&"n:reyes:1990-4/12".to_owned()));
    let search = search_keys(&p);
    assert!(search.contains(&"d:1990-12-04".to_owned()));
    assert!(!index.contains(&"d:1990-12-04".to_owned()));
}

proptest::proptest! {
    /// Blocking misses nothing: whenever two people score at or above the
    /// threshold, a search key of the first is an index key of the second.
    #[test]
    fn every_proposed_pair_shares_a_key(
        given in proptest::sample::select(vec!["Ana", "Anna", "Bob", "Robert", "Lupe", "Guadalupe", "Thị Hương", "Reyes"]),
        given2 in proptest::sample::select(vec!["Ana", "Anna", "Bob", "Robert", "Roberto", "Lupe", "Hương", "Reyes"]),
        family in proptest::sample::select(vec!["Reyes", "Reyez", "García López", "Nguyen", "Trần", "Robert"]),
        family2 in proptest::sample::select(vec!["Reyes", "Reyes-Ruiz", "Lopez", "Nguyễn", "Trần Thị", "Ana"]),
        (y, m, d) in (1980i32..1983, 1u32..13, 1u32..29),
        (y2, m2, d2) in (1980i32..1983, 1u32..13, 1u32..29),
        sex in proptest::sample::select(vec![Sex::Female, Sex::Male, Sex::Unknown]),
        sex2 in proptest::sample::select(vec![Sex::Female, Sex::Male, Sex::Unknown]),
        phone in proptest::sample::select(vec!["", "4155550100", "+14155550100", "5105550111", "0000000000"]),
        phone2 in proptest::sample::select(vec!["", "4155550100", "5105550111", "0000000000"]),
        ssn in proptest::sample::select(vec!["", "1357", "9876", "0000"]),
        ssn2 in proptest::sample::select(vec!["", "1357", "9876", "0000"]),
    ) {
        let a = Demographics { sex, ssn_last4: ssn, ..person(given, family, (y, m, d), phone) };
        let b = Demographics { sex: sex2, ssn_last4: ssn2, ..person(given2, family2, (y2, m2, d2), phone2) };
        if score(&MatchRules::default(), &a, &b).is_some() {
            let stored = index_keys(&b);
            let shares = search_keys(&a).iter().any(|k| stored.contains(k));
            proptest::prop_assert!(shares, "{a:?} ~ {b:?} proposed without a shared key");
        }
    }
}
