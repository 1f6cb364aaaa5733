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

/// D5 rated 2, the rest 0–1, moderate severity, stable home, no barriers: an
/// IOP candidate.
fn with(change: Change) -> PlacementInput {
    let mut dimensions = Dimensions::default();
    (
        dimensions.d1_withdrawal,
        dimensions.d3_emotional,
        dimensions.d5_relapse,
    ) = (1, 1, 2);
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
    match result.unwrap_err() {
        PlacementError::InvalidField { field, .. } => field,
        other => panic!("{other}"),
    }
}

fn slot(input: &mut PlacementInput, dimension: usize) -> &mut u8 {
    let d = &mut input.dimensions;
    match dimension {
        1 => &mut d.d1_withdrawal,
        2 => &mut d.d2_biomedical,
        3 => &mut d.d3_emotional,
        4 => &mut d.d4_readiness,
        5 => &mut d.d5_relapse,
        _ => &mut d.d6_recovery_environment,
    }
}

const NO_WM: Wm = Wm::None;

/// The decision table of DOMAIN "Placement rules", every dimension at every
/// rating, each alone over a baseline with every dimension 0: the level and
/// WM it gives, and that the dimension is then a determining reason (or, at
/// 0–1, that the all-low floor is).
#[test]
fn every_dimension_at_every_rating_places_by_the_table() {
    #[rustfmt::skip]
    let table: [(usize, [(LevelOfCare, Wm); 5]); 6] = [
        (1, [(L1, NO_WM), (L1, NO_WM), (L1, Wm1), (L37, Wm37), (L4, Wm4)]),
        (2, [(L1, NO_WM), (L1, NO_WM), (L21, NO_WM), (L37, NO_WM), (L4, NO_WM)]),
        (3, [(L1, NO_WM), (L1, NO_WM), (L21, NO_WM), (L25, NO_WM), (L4, NO_WM)]),
        (4, [(L1, NO_WM), (L1, NO_WM), (L21, NO_WM), (L21, NO_WM), (L21, NO_WM)]),
        (5, [(L1, NO_WM), (L1, NO_WM), (L21, NO_WM), (L25, NO_WM), (L25, NO_WM)]),
        (6, [(L1, NO_WM), (L1, NO_WM), (L21, NO_WM), (L31, NO_WM), (L35, NO_WM)]),
    ];
    for (dimension, outcomes) in table {
        for (rating, (level, wm)) in (0u8..).zip(outcomes) {
            let mut input = with(|i| i.dimensions = Dimensions::default());
            *slot(&mut input, dimension) = rating;
            let rec = recommend(&input).unwrap();
            let name = format!("D{dimension} = {rating}");
            assert_eq!(
                (rec.level, rec.withdrawal_management),
                (level, wm),
                "{name}"
            );
            let path = reason_path(dimension);
            let expected = if rating <= 1 { "dimensions" } else { path };
            let determining = inputs(&rec, Role::Determining);
            assert!(determining.contains(&expected), "{name}: {determining:?}");
            let (iop, got) = (level == L21, (rec.is_iop, rec.track.is_some()));
            assert_eq!(got, (iop, iop), "{name}");
        }
    }
}

fn reason_path(dimension: usize) -> &'static str {
    [
        "dimensions.d1_withdrawal",
        "dimensions.d2_biomedical",
        "dimensions.d3_emotional",
        "dimensions.d4_readiness",
        "dimensions.d5_relapse",
        "dimensions.d6_recovery_environment",
    ][dimension - 1]
}

#[test]
fn relapse_potential_4_depends_on_the_recovery_environment() {
    for (d6, level) in [(0, L25), (1, L25), (2, L35), (3, L35), (4, L35)] {
        let mut input = with(|i| i.dimensions.d5_relapse = 4);
        input.dimensions.d6_recovery_environment = d6;
        let rec = recommend(&input).unwrap();
        assert_eq!(rec.level, level, "D6 = {d6}");
        assert!(inputs(&rec, Role::Determining).contains(&"dimensions.d5_relapse"));
    }
}

#[test]
fn withdrawal_scales_set_withdrawal_management_at_each_threshold() {
    #[rustfmt::skip]
    let cases: &[(&str, Change, LevelOfCare, Wm, &str)] = &[
        ("CIWA-Ar 0", |i| i.withdrawal.ciwa_ar = Some(0), L21, NO_WM, "dimensions.d5_relapse"),
        ("CIWA-Ar 9", |i| i.withdrawal.ciwa_ar = Some(9), L21, Wm1, "withdrawal.ciwa_ar"),
        ("CIWA-Ar 10", |i| i.withdrawal.ciwa_ar = Some(10), L21, Wm2, "withdrawal.ciwa_ar"),
        ("CIWA-Ar 19", |i| i.withdrawal.ciwa_ar = Some(19), L21, Wm2, "withdrawal.ciwa_ar"),
        ("CIWA-Ar 20", |i| i.withdrawal.ciwa_ar = Some(20), L37, Wm37, "withdrawal.ciwa_ar"),
        ("CIWA-Ar 20, D2 3", |i| { i.withdrawal.ciwa_ar = Some(20); i.dimensions.d2_biomedical = 3 }, L4, Wm4, "withdrawal.ciwa_ar"),
        ("COWS 4", |i| i.withdrawal.cows = Some(4), L21, NO_WM, "dimensions.d5_relapse"),
        ("COWS 5", |i| i.withdrawal.cows = Some(5), L21, Wm1, "withdrawal.cows"),
        ("COWS 12", |i| i.withdrawal.cows = Some(12), L21, Wm1, "withdrawal.cows"),
        ("COWS 13: outpatient buprenorphine", |i| i.withdrawal.cows = Some(13), L21, Wm2, "withdrawal.cows"),
        ("COWS 24", |i| i.withdrawal.cows = Some(24), L21, Wm2, "withdrawal.cows"),
        ("COWS 25", |i| i.withdrawal.cows = Some(25), L37, Wm37, "withdrawal.cows"),
        ("COWS 36", |i| i.withdrawal.cows = Some(36), L37, Wm37, "withdrawal.cows"),
        ("COWS 37", |i| i.withdrawal.cows = Some(37), L4, Wm4, "withdrawal.cows"),
        ("needs detox", |i| i.suitability.medical.needs_detox = true, L21, Wm2, "suitability.needs_detox"),
        ("needs detox, D1 3", |i| { i.suitability.medical.needs_detox = true; i.dimensions.d1_withdrawal = 3 }, L37, Wm37, "dimensions.d1_withdrawal"),
    ];
    for (name, change, level, wm, determining) in cases {
        let rec = recommend(&with(*change)).unwrap();
        assert_eq!(
            (rec.level, rec.withdrawal_management),
            (*level, *wm),
            "{name}"
        );
        assert!(
            inputs(&rec, Role::Determining).contains(determining),
            "{name}: {:?}",
            rec.reasons
        );
    }
}

#[test]
fn seed_factors_stay_inputs_with_reasons() {
    #[rustfmt::skip]
    let cases: &[(&str, Change, LevelOfCare, &str)] = &[
        ("24/7 psychiatric", |i| i.suitability.medical.needs_psychiatric_24h = true, L4, "suitability.needs_psychiatric_24h"),
        ("unsafe home = D6 4", |i| i.suitability.home = Home::UnsafeOrTriggersUse, L35, "suitability.home"),
        ("unstable, safe home", |i| i.suitability.home = Home::UnstableButSafe, L21, "dimensions.d5_relapse"),
        ("severe informs, never places", |i| i.suitability.severity = Severity::Severe, L21, "dimensions.d5_relapse"),
        ("barriers choose the track, not the level", |i| {
            i.suitability.motivation = Motivation::Low;
            i.suitability.transportation = Transportation::None;
            i.suitability.payment = Payment::NoMeansToPay;
            i.suitability.commitments = Commitments::Daytime;
            i.dual_diagnosis = true;
        }, L21, "dimensions.d5_relapse"),
        ("all low, mild", |i| { i.dimensions = Dimensions::default(); i.suitability.severity = Severity::Mild }, L1, "dimensions"),
    ];
    for (name, change, level, determining) in cases {
        let rec = recommend(&with(*change)).unwrap();
        assert_eq!(rec.level, *level, "{name}");
        assert!(
            inputs(&rec, Role::Determining).contains(determining),
            "{name}"
        );
        let determined = rec.reasons.iter().filter(|r| r.role == Role::Determining);
        assert!(
            determined.clone().all(|r| r.indicates == Some(*level)
                || r.indicates_wm == Some(rec.withdrawal_management)),
            "{name}"
        );
        let explained = |f: &&str| rec.reasons.iter().any(|r| r.input == *f);
        assert!(
            SUITABILITY.iter().all(explained),
            "{name}: {:?}",
            rec.reasons
        );
    }
    let severe = recommend(&with(|i| i.suitability.severity = Severity::Severe)).unwrap();
    assert_eq!(reason(&severe, "suitability.severity").role, Role::Risk);
}

#[test]
fn most_intensive_wins_and_every_trigger_is_listed() {
    let rec = recommend(&with(|i| {
        i.suitability.medical.needs_detox = true;
        i.withdrawal.cows = Some(40);
        i.dimensions.d1_withdrawal = 4;
        i.suitability.home = Home::UnsafeOrTriggersUse;
    }))
    .unwrap();
    let got = (
        rec.level,
        rec.withdrawal_management,
        rec.is_iop,
        rec.weekly_hours,
        rec.track,
    );
    assert_eq!(got, (L4, Wm4, false, None, None));
    let expected = ["dimensions.d1_withdrawal", "withdrawal.cows"];
    assert_eq!(inputs(&rec, Role::Determining), expected);
    assert!(rec.medically_driven());
    let d1 = reason(&rec, "dimensions.d1_withdrawal");
    assert!(d1.explanation.contains("not IOP"), "{}", d1.explanation);
    let detox = reason(&rec, "suitability.needs_detox");
    assert_eq!(
        (detox.role, detox.indicates_wm),
        (Role::Advisory, Some(Wm2))
    );
    let home = reason(&rec, "suitability.home");
    assert_eq!((home.role, home.indicates), (Role::Advisory, Some(L35)));
}

#[test]
fn barriers_are_risks_and_dual_diagnosis_is_advisory() {
    let rec = recommend(&with(|i| {
        i.suitability.motivation = Motivation::Low;
        i.suitability.transportation = Transportation::None;
        i.suitability.payment = Payment::NoMeansToPay;
        i.withdrawal.cows = Some(4);
        i.dual_diagnosis = true;
    }))
    .unwrap();
    #[rustfmt::skip]
    let risks = ["suitability.motivation", "suitability.payment", "suitability.transportation"];
    assert_eq!(inputs(&rec, Role::Risk), risks);
    for input in ["suitability.home", "withdrawal.cows", "dual_diagnosis"] {
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
    let err = invalid("dimensions.d3_emotional", "5 is outside 0–4");
    assert_eq!(err.to_string(), "dimensions.d3_emotional: 5 is outside 0–4");
}

#[test]
fn recommendation_records_version_and_thresholds() {
    let payer = PlacementThresholds {
        ciwa_ar_severe: 9,
        ..Default::default()
    };
    let rec = recommend_with(&with(|i| i.withdrawal.ciwa_ar = Some(9)), &payer).unwrap();
    let got = (rec.level, rec.rules_version, rec.taxonomy, rec.thresholds);
    assert_eq!(got, (L37, "asam3-iop-v2", "asam-3", payer));
    let stored = crate::screening::thresholds_message(&payer);
    assert_eq!(crate::screening::thresholds_of(&stored), Some(payer));
    let out_of_range = iop_proto::common::v1::PlacementThresholds {
        cows_severe: 300,
        ..stored
    };
    assert_eq!(crate::screening::thresholds_of(&out_of_range), None);
}

#[test]
fn override_keeps_the_recommendation_and_needs_a_justification() {
    let rec = recommend(&with(|_| {})).unwrap();
    let why = "  declined residential; daily family support at home  ";
    let preference = OverrideReason::PatientPreference;
    let o = override_placement(&rec, L25, preference, why, " clin-7 ", false).unwrap();
    assert_eq!((o.chosen, o.justification.as_str()), (L25, why.trim()));
    assert_eq!((o.clinician_id.as_str(), &o.recommended), ("clin-7", &rec));
    assert_eq!(o.reason, preference);
    let payer = OverrideReason::Payer;
    let twenty = override_placement(&rec, L1, payer, "exactly twenty chars", "c", false);
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
        let result = override_placement(&rec, chosen, reason, why, clinician, false);
        assert_eq!(field(result), expected);
    }
}

#[test]
fn lowering_a_medically_driven_level_needs_the_medical_director() {
    let why = "patient declines residential; daily outpatient induction arranged";
    let judgement = OverrideReason::ClinicalJudgement;
    #[rustfmt::skip]
    let cases: &[(&str, Change, LevelOfCare, bool)] = &[
        ("D1 4 → 2.1", |i| i.dimensions.d1_withdrawal = 4, L21, true),
        ("COWS 30 → 2.1", |i| i.withdrawal.cows = Some(30), L21, true),
        ("CIWA-Ar 22 → 2.5", |i| i.withdrawal.ciwa_ar = Some(22), L25, true),
        ("D2 3 → 2.1", |i| i.dimensions.d2_biomedical = 3, L21, true),
        ("D2 4 → 3.7", |i| i.dimensions.d2_biomedical = 4, L37, true),
        ("D3 3 → 2.1: not medical", |i| i.dimensions.d3_emotional = 3, L21, false),
        ("D6 4 → 2.1: not medical", |i| i.dimensions.d6_recovery_environment = 4, L21, false),
        ("unsafe home → 2.1", |i| i.suitability.home = Home::UnsafeOrTriggersUse, L21, false),
        ("D2 3 and D3 4 → 2.5: D3 set the level", |i| { i.dimensions.d2_biomedical = 3; i.dimensions.d3_emotional = 4 }, L25, false),
    ];
    for (name, change, chosen, needs_director) in cases {
        let rec = recommend(&with(*change)).unwrap();
        assert_eq!(rec.medically_driven(), *needs_director, "{name}");
        let clinician = override_placement(&rec, *chosen, judgement, why, "c", false);
        match clinician {
            Err(PlacementError::NeedsMedicalDirector {
                recommended,
                chosen: c,
            }) => {
                assert!(needs_director, "{name}");
                assert_eq!(
                    (recommended, c),
                    (rec.level.as_str_name(), chosen.as_str_name())
                );
            }
            Ok(o) => assert!(!needs_director && o.chosen == *chosen, "{name}"),
            Err(e) => panic!("{name}: {e}"),
        }
        let director = override_placement(&rec, *chosen, judgement, why, "md", true);
        assert_eq!(director.unwrap().chosen, *chosen, "{name}");
        // Moving up is never held back.
        let up = override_placement(&rec, L4, judgement, why, "c", false);
        assert!(rec.level == L4 || up.is_ok(), "{name}");
    }
}

/// The reasons a recommendation gives, as a clinician reads them.
fn explained(rec: &Recommendation) -> String {
    let (level, wm) = (
        rec.level.as_str_name(),
        rec.withdrawal_management.as_str_name(),
    );
    let mut out = format!("{level} + {wm} ({})\n", rec.rules_version);
    for r in &rec.reasons {
        let indicates = match (r.indicates, r.indicates_wm) {
            (None, None) => "-".to_owned(),
            (l, w) => [l.map(|l| l.as_str_name()), w.map(|w| w.as_str_name())]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" + "),
        };
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
        "moderate_opioid_withdrawal",
        explained(&recommend(&with(|i| i.withdrawal.cows = Some(16))).unwrap())
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
