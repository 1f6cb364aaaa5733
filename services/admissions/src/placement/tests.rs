//! Table tests of the placement rules, at every threshold.

#![allow(clippy::unwrap_used, reason = "tests")]

use super::*;

type Change = fn(&mut PlacementInput);

const SUITABILITY: [&str; 8] = [
    "suitability.severity",
    "suitability.home",
    "suitability.commitments",
    "suitability.motivation",
    "suitability.payment",
    "suitability.needs_detox",
    "suitability.needs_psychiatric_24h",
    "suitability.transportation",
];

/// Dimensions 0–1, moderate severity, stable home, no barriers: an IOP candidate.
fn with(change: Change) -> PlacementInput {
    let mut dimensions = Dimensions::default();
    (
        dimensions.d1_withdrawal,
        dimensions.d3_emotional,
        dimensions.d5_relapse,
    ) = (1, 1, 1);
    let mut input = PlacementInput {
        dimensions,
        suitability: Suitability {
            severity: Severity::Moderate,
            home: Home::Stable,
            commitments: Commitments::None,
            motivation: Motivation::Moderate,
            payment: Payment::Insured,
            medical: MedicalNeeds::default(),
            transportation: Transportation::Reliable,
        },
        withdrawal: Withdrawal::default(),
        dual_diagnosis: false,
        age_group: AgeGroup::Adult,
    };
    change(&mut input);
    input
}

fn inputs(rec: &Recommendation, role: Role) -> Vec<&'static str> {
    let reasons = rec.reasons.iter().filter(|r| r.role == role);
    reasons.map(|r| r.input).collect()
}

fn reason<'a>(rec: &'a Recommendation, input: &str) -> &'a Reason {
    rec.reasons.iter().find(|r| r.input == input).unwrap()
}

fn field<T: std::fmt::Debug>(result: Result<T, PlacementError>) -> &'static str {
    let PlacementError::InvalidField { field, .. } = result.unwrap_err();
    field
}

#[test]
fn each_rule_places_and_names_its_input() {
    #[rustfmt::skip]
    let cases: &[(&str, Change, LevelOfCare, &str)] = &[
        ("low dimensions, stable home", |_| {}, L21, "suitability.severity"),
        ("needs detox", |i| i.suitability.medical.needs_detox = true, L4, "suitability.needs_detox"),
        ("24/7 psychiatric", |i| i.suitability.medical.needs_psychiatric_24h = true, L4, "suitability.needs_psychiatric_24h"),
        ("CIWA-Ar 20", |i| i.withdrawal.ciwa_ar = Some(20), L4, "withdrawal.ciwa_ar"),
        ("CIWA-Ar 19", |i| i.withdrawal.ciwa_ar = Some(19), L37, "withdrawal.ciwa_ar"),
        ("CIWA-Ar 15", |i| i.withdrawal.ciwa_ar = Some(15), L37, "withdrawal.ciwa_ar"),
        ("CIWA-Ar 10", |i| i.withdrawal.ciwa_ar = Some(10), L37, "withdrawal.ciwa_ar"),
        ("CIWA-Ar 9", |i| i.withdrawal.ciwa_ar = Some(9), L21, "suitability.severity"),
        ("COWS 25", |i| i.withdrawal.cows = Some(25), L4, "withdrawal.cows"),
        ("COWS 24", |i| i.withdrawal.cows = Some(24), L37, "withdrawal.cows"),
        ("COWS 13", |i| i.withdrawal.cows = Some(13), L37, "withdrawal.cows"),
        ("COWS 12", |i| i.withdrawal.cows = Some(12), L21, "suitability.severity"),
        ("D1 4", |i| i.dimensions.d1_withdrawal = 4, L4, "dimensions.d1_withdrawal"),
        ("D1 3", |i| i.dimensions.d1_withdrawal = 3, L37, "dimensions.d1_withdrawal"),
        ("D2 4", |i| i.dimensions.d2_biomedical = 4, L4, "dimensions.d2_biomedical"),
        ("D2 3", |i| i.dimensions.d2_biomedical = 3, L21, "suitability.severity"),
        ("D3 4", |i| i.dimensions.d3_emotional = 4, L4, "dimensions.d3_emotional"),
        ("D3 3", |i| i.dimensions.d3_emotional = 3, L25, "dimensions.d3_emotional"),
        ("unsafe home", |i| i.suitability.home = Home::UnsafeOrTriggersUse, L35, "suitability.home"),
        ("unstable, safe home", |i| i.suitability.home = Home::UnstableButSafe, L21, "suitability.severity"),
        ("D6 3", |i| i.dimensions.d6_recovery_environment = 3, L35, "dimensions.d6_recovery_environment"),
        ("D6 2", |i| i.dimensions.d6_recovery_environment = 2, L21, "suitability.severity"),
        ("severe", |i| i.suitability.severity = Severity::Severe, L25, "suitability.severity"),
        ("D5 3", |i| i.dimensions.d5_relapse = 3, L25, "dimensions.d5_relapse"),
        ("D5 2", |i| i.dimensions.d5_relapse = 2, L21, "suitability.severity"),
        ("all 0, mild", |i| { i.dimensions = Dimensions::default(); i.suitability.severity = Severity::Mild }, L1, "dimensions"),
        ("all 0, moderate", |i| i.dimensions = Dimensions::default(), L21, "suitability.severity"),
        ("mild, a dimension at 1", |i| i.suitability.severity = Severity::Mild, L21, "suitability.severity"),
        ("risks only advise", |i| {
            i.suitability.motivation = Motivation::Low;
            i.suitability.transportation = Transportation::None;
            i.suitability.payment = Payment::NoMeansToPay;
            i.dimensions.d4_readiness = 4;
            i.dual_diagnosis = true;
        }, L21, "suitability.severity"),
    ];
    for (name, change, level, input) in cases {
        let rec = recommend(&with(*change)).unwrap();
        let (iop, got) = (*level == L21, (rec.level, rec.is_iop, rec.track.is_some()));
        assert_eq!(got, (*level, iop, iop), "{name}");
        assert!(inputs(&rec, Role::Determining).contains(input), "{name}");
        let determining = rec.reasons.iter().filter(|r| r.role == Role::Determining);
        assert!(determining.clone().all(|r| r.indicates == Some(*level)));
        let explained = |f: &&str| rec.reasons.iter().any(|r| r.input == *f);
        assert!(
            SUITABILITY.iter().all(explained),
            "{name}: {:?}",
            rec.reasons
        );
    }
}

#[test]
fn most_intensive_wins_and_every_trigger_is_listed() {
    let rec = recommend(&with(|i| {
        i.suitability.medical.needs_detox = true;
        i.withdrawal.ciwa_ar = Some(25);
        i.dimensions.d1_withdrawal = 4;
        i.suitability.home = Home::UnsafeOrTriggersUse;
    }))
    .unwrap();
    let got = (rec.level, rec.is_iop, rec.weekly_hours, rec.track);
    assert_eq!(got, (L4, false, None, None));
    #[rustfmt::skip]
    let expected = ["suitability.needs_detox", "withdrawal.ciwa_ar", "dimensions.d1_withdrawal"];
    assert_eq!(inputs(&rec, Role::Determining), expected);
    let detox = reason(&rec, "suitability.needs_detox");
    assert!(detox.explanation.contains("not IOP"));
    let home = reason(&rec, "suitability.home");
    assert_eq!((home.role, home.indicates), (Role::Advisory, Some(L35)));
}

#[test]
fn barriers_are_risks_and_dual_diagnosis_is_advisory() {
    let rec = recommend(&with(|i| {
        i.suitability.motivation = Motivation::Low;
        i.suitability.transportation = Transportation::None;
        i.suitability.payment = Payment::NoMeansToPay;
        i.withdrawal.ciwa_ar = Some(4);
        i.dual_diagnosis = true;
    }))
    .unwrap();
    #[rustfmt::skip]
    let risks = ["suitability.motivation", "suitability.payment", "suitability.transportation"];
    assert_eq!(inputs(&rec, Role::Risk), risks);
    for input in ["suitability.home", "withdrawal.ciwa_ar", "dual_diagnosis"] {
        assert_eq!(reason(&rec, input).role, Role::Advisory, "{input}");
    }
    let dual = reason(&rec, "dual_diagnosis");
    assert!(dual.explanation.contains("psychiatric care"));
}

#[test]
fn hours_band_follows_level_and_age() {
    let band = |at_least, below| Some(WeeklyHoursBand { at_least, below });
    let adolescent = recommend(&with(|i| i.age_group = AgeGroup::Adolescent));
    assert_eq!(adolescent.unwrap().weekly_hours, band(6, Some(20)));
    let adult = recommend(&with(|_| {})).unwrap();
    assert_eq!(adult.weekly_hours, band(9, Some(20)));
    for (level, age, expected) in [
        (L1, AgeGroup::Adult, band(0, Some(9))),
        (L1, AgeGroup::Adolescent, band(0, Some(6))),
        (L25, AgeGroup::Adult, band(20, None)),
        (L25, AgeGroup::Adolescent, band(20, None)),
        (L35, AgeGroup::Adult, None),
        (L4, AgeGroup::Adolescent, None),
    ] {
        assert_eq!(weekly_hours_band(level, age), expected, "{level:?} {age:?}");
    }
}

#[test]
fn track_fits_around_commitments() {
    #[rustfmt::skip]
    let cases: [(Change, Track); 3] = [
        (|i| i.suitability.commitments = Commitments::Daytime, Track::Evening),
        (|i| i.suitability.commitments = Commitments::Evening, Track::Day),
        (|i| i.suitability.commitments = Commitments::None, Track::Either),
    ];
    for (change, track) in cases {
        let rec = recommend(&with(change)).unwrap();
        assert_eq!(rec.track, Some(track));
    }
}

#[test]
fn out_of_range_inputs_are_rejected_by_name() {
    #[rustfmt::skip]
    let cases: &[(Change, &str)] = &[
        (|i| i.dimensions.d1_withdrawal = 5, "dimensions.d1_withdrawal"),
        (|i| i.dimensions.d2_biomedical = 5, "dimensions.d2_biomedical"),
        (|i| i.dimensions.d3_emotional = 5, "dimensions.d3_emotional"),
        (|i| i.dimensions.d4_readiness = 5, "dimensions.d4_readiness"),
        (|i| i.dimensions.d5_relapse = 9, "dimensions.d5_relapse"),
        (|i| i.dimensions.d6_recovery_environment = 255, "dimensions.d6_recovery_environment"),
        (|i| i.withdrawal.ciwa_ar = Some(68), "withdrawal.ciwa_ar"),
        (|i| i.withdrawal.cows = Some(49), "withdrawal.cows"),
    ];
    for (change, expected) in cases {
        assert_eq!(field(recommend(&with(*change))), *expected);
    }
    let max = with(|i| (i.withdrawal.ciwa_ar, i.withdrawal.cows) = (Some(67), Some(48)));
    assert_eq!(recommend(&max).unwrap().level, L4);
    let err = FieldError::from(invalid("dimensions.d3_emotional", "5 is outside 0–4"));
    assert_eq!(err.to_string(), "dimensions.d3_emotional: 5 is outside 0–4");
}

#[test]
fn recommendation_records_version_and_thresholds() {
    let payer = PlacementThresholds {
        ciwa_ar_monitored: 8,
        ..Default::default()
    };
    let rec = recommend_with(&with(|i| i.withdrawal.ciwa_ar = Some(9)), &payer).unwrap();
    let got = (rec.level, rec.rules_version, rec.taxonomy, rec.thresholds);
    assert_eq!(got, (L37, "asam3-iop-v1", "asam-3", payer));
}

#[test]
fn override_keeps_the_recommendation_and_needs_a_justification() {
    let rec = recommend(&with(|_| {})).unwrap();
    let why = "  declined residential; daily family support at home  ";
    let preference = OverrideReason::PatientPreference;
    let o = override_placement(&rec, L25, preference, why, " clin-7 ").unwrap();
    assert_eq!((o.chosen, o.justification.as_str()), (L25, why.trim()));
    assert_eq!((o.clinician_id.as_str(), &o.recommended), ("clin-7", &rec));
    assert_eq!(o.reason, preference);
    let payer = OverrideReason::Payer;
    let twenty = override_placement(&rec, L1, payer, "exactly twenty chars", "c");
    assert_eq!(twenty.unwrap().chosen, L1);
    let none = OverrideReason::Unspecified;
    for (chosen, reason, why, clinician, expected) in [
        (
            L25,
            preference,
            "   nineteen chars...   ",
            "c",
            "justification",
        ),
        (L25, preference, "", "c", "justification"),
        (L21, preference, why, "c", "chosen"),
        (LevelOfCare::Unspecified, preference, why, "c", "chosen"),
        (L25, none, why, "c", "reason"),
        (L25, preference, why, "  ", "clinician_id"),
    ] {
        let result = override_placement(&rec, chosen, reason, why, clinician);
        assert_eq!(field(result), expected);
    }
}

/// The reasons a recommendation gives, as a clinician reads them.
fn explained(rec: &Recommendation) -> String {
    let mut out = format!("{} ({})\n", rec.level.as_str_name(), rec.rules_version);
    for r in &rec.reasons {
        let indicates = r.indicates.map_or("-", |l| l.as_str_name());
        out.push_str(&format!(
            "{:?} {} [{indicates}]: {}\n",
            r.role, r.input, r.explanation
        ));
    }
    out
}

#[test]
fn reason_texts_read_as_approved() {
    insta::assert_snapshot!(
        "iop_candidate",
        explained(&recommend(&with(|_| {})).unwrap())
    );
    insta::assert_snapshot!(
        "unsafe_home_and_moderate_withdrawal",
        explained(
            &recommend(&with(|i| {
                i.suitability.home = Home::UnsafeOrTriggersUse;
                i.withdrawal.ciwa_ar = Some(12);
            }))
            .unwrap()
        )
    );
    insta::assert_snapshot!(
        "severe_with_barriers",
        explained(
            &recommend(&with(|i| {
                i.suitability.severity = Severity::Severe;
                i.suitability.transportation = Transportation::Unreliable;
                i.suitability.motivation = Motivation::Low;
                i.dual_diagnosis = true;
            }))
            .unwrap()
        )
    );
}

#[test]
fn every_reason_and_refusal_names_a_real_field_of_the_contract() {
    const MESSAGE: &str = "iop.common.v1.AssessmentInput";
    let mut cases: Vec<PlacementInput> = Vec::new();
    for rating in 0..=4 {
        for d in 0..6 {
            let mut input = with(|_| {});
            let slot = match d {
                0 => &mut input.dimensions.d1_withdrawal,
                1 => &mut input.dimensions.d2_biomedical,
                2 => &mut input.dimensions.d3_emotional,
                3 => &mut input.dimensions.d4_readiness,
                4 => &mut input.dimensions.d5_relapse,
                _ => &mut input.dimensions.d6_recovery_environment,
            };
            *slot = rating;
            cases.push(input);
        }
    }
    cases.extend([
        with(|i| i.suitability.medical.needs_detox = true),
        with(|i| i.suitability.medical.needs_psychiatric_24h = true),
        with(|i| i.suitability.severity = Severity::Severe),
        with(|i| i.suitability.severity = Severity::Mild),
        with(|i| i.suitability.home = Home::UnsafeOrTriggersUse),
        with(|i| i.withdrawal.ciwa_ar = Some(25)),
        with(|i| i.withdrawal.cows = Some(14)),
        with(|i| i.dual_diagnosis = true),
    ]);
    let mut paths = std::collections::BTreeSet::new();
    for input in &cases {
        for r in recommend(input).unwrap().reasons {
            paths.insert(r.input);
        }
    }
    // Refusals name their field too.
    for bad in [
        with(|i| i.dimensions.d1_withdrawal = 5),
        with(|i| i.withdrawal.ciwa_ar = Some(68)),
        with(|i| i.withdrawal.cows = Some(49)),
    ] {
        paths.insert(field(recommend(&bad)));
    }
    assert!(paths.len() >= 15, "{paths:?}");
    for path in &paths {
        assert!(
            iop_runtime::bounds::field_path_exists(MESSAGE, path),
            "{path} is not a field of {MESSAGE}"
        );
    }
    for path in SUITABILITY {
        assert!(
            iop_runtime::bounds::field_path_exists(MESSAGE, path),
            "{path}"
        );
    }
}
