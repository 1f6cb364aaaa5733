//! Screening: what a valid screening states (a request's `AssessmentInput`
//! becomes the placement function's input, every unset factor named, so
//! nothing is silently assumed), the age group a date of birth gives, and the
//! contract form of a recommendation. Pure.

use iop_proto::common::v1 as pb;
use iop_runtime::ids::FieldError;

use crate::placement::{
    AgeGroup, Commitments, Dimensions, Home, MedicalNeeds, Motivation, Payment, PlacementInput,
    PlacementThresholds, Recommendation, Role, Severity, Suitability, Track, Transportation,
    Withdrawal,
};

fn unset(field: &'static str) -> FieldError {
    FieldError::new(
        field,
        "must be set: every suitability factor is part of the placement",
    )
}

/// Ratings and scores beyond `u8` are out of every range; keep them out of it.
fn small(v: u32) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

/// The age group of a patient born on `born` on `day`: under 18 is adolescent.
pub fn age_group_on(born: chrono::NaiveDate, day: chrono::NaiveDate) -> AgeGroup {
    match born.checked_add_months(chrono::Months::new(18 * 12)) {
        Some(adult_from) if day < adult_from => AgeGroup::Adolescent,
        _ => AgeGroup::Adult,
    }
}

/// The wire value of an age group.
pub fn age_group_value(a: AgeGroup) -> pb::AgeGroup {
    match a {
        AgeGroup::Adult => pb::AgeGroup::Adult,
        AgeGroup::Adolescent => pb::AgeGroup::Adolescent,
    }
}

/// The placement input a request states; `derived_age` applies when the
/// request leaves the age group unset. Ranges are checked by the placement.
pub fn input(
    i: Option<&pb::AssessmentInput>,
    derived_age: AgeGroup,
) -> Result<PlacementInput, FieldError> {
    let i = i.ok_or_else(|| unset("input"))?;
    let d = i.dimensions.unwrap_or_default();
    let s = i.suitability.ok_or_else(|| unset("input.suitability"))?;
    let w = i.withdrawal.unwrap_or_default();
    let severity = match pb::Severity::try_from(s.severity) {
        Ok(pb::Severity::Mild) => Severity::Mild,
        Ok(pb::Severity::Moderate) => Severity::Moderate,
        Ok(pb::Severity::Severe) => Severity::Severe,
        _ => return Err(unset("input.suitability.severity")),
    };
    let home = match pb::HomeEnvironment::try_from(s.home) {
        Ok(pb::HomeEnvironment::Stable) => Home::Stable,
        Ok(pb::HomeEnvironment::UnstableButSafe) => Home::UnstableButSafe,
        Ok(pb::HomeEnvironment::UnsafeOrTriggersUse) => Home::UnsafeOrTriggersUse,
        _ => return Err(unset("input.suitability.home")),
    };
    let commitments = match pb::Commitments::try_from(s.commitments) {
        Ok(pb::Commitments::None) => Commitments::None,
        Ok(pb::Commitments::Daytime) => Commitments::Daytime,
        Ok(pb::Commitments::Evening) => Commitments::Evening,
        _ => return Err(unset("input.suitability.commitments")),
    };
    let motivation = match pb::Motivation::try_from(s.motivation) {
        Ok(pb::Motivation::Low) => Motivation::Low,
        Ok(pb::Motivation::Moderate) => Motivation::Moderate,
        Ok(pb::Motivation::High) => Motivation::High,
        _ => return Err(unset("input.suitability.motivation")),
    };
    let payment = match pb::PaymentMeans::try_from(s.payment) {
        Ok(pb::PaymentMeans::Insured) => Payment::Insured,
        Ok(pb::PaymentMeans::SelfPayAble) => Payment::SelfPayAble,
        Ok(pb::PaymentMeans::NoMeansToPay) => Payment::NoMeansToPay,
        _ => return Err(unset("input.suitability.payment")),
    };
    let transportation = match pb::Transportation::try_from(s.transportation) {
        Ok(pb::Transportation::Reliable) => Transportation::Reliable,
        Ok(pb::Transportation::Unreliable) => Transportation::Unreliable,
        Ok(pb::Transportation::None) => Transportation::None,
        _ => return Err(unset("input.suitability.transportation")),
    };
    let age_group = match pb::AgeGroup::try_from(i.age_group) {
        Ok(pb::AgeGroup::Adult) => AgeGroup::Adult,
        Ok(pb::AgeGroup::Adolescent) => AgeGroup::Adolescent,
        Ok(pb::AgeGroup::Unspecified) => derived_age,
        Err(_) => {
            return Err(FieldError {
                field: "input.age_group",
                reason: "is not a known age group".into(),
            });
        }
    };
    Ok(PlacementInput {
        dimensions: Dimensions {
            d1_withdrawal: small(d.d1_withdrawal),
            d2_biomedical: small(d.d2_biomedical),
            d3_emotional: small(d.d3_emotional),
            d4_readiness: small(d.d4_readiness),
            d5_relapse: small(d.d5_relapse),
            d6_recovery_environment: small(d.d6_recovery_environment),
        },
        suitability: Suitability {
            severity,
            home,
            commitments,
            motivation,
            payment,
            medical: MedicalNeeds {
                needs_detox: s.needs_detox,
                needs_psychiatric_24h: s.needs_psychiatric_24h,
            },
            transportation,
        },
        withdrawal: Withdrawal {
            ciwa_ar: w.ciwa_ar.map(small),
            cows: w.cows.map(small),
        },
        dual_diagnosis: i.dual_diagnosis,
        age_group,
    })
}

/// The input as recorded (the age group filled in).
pub fn input_message(i: &PlacementInput) -> pb::AssessmentInput {
    let (d, s) = (&i.dimensions, &i.suitability);
    pb::AssessmentInput {
        dimensions: Some(pb::AsamDimensions {
            d1_withdrawal: d.d1_withdrawal.into(),
            d2_biomedical: d.d2_biomedical.into(),
            d3_emotional: d.d3_emotional.into(),
            d4_readiness: d.d4_readiness.into(),
            d5_relapse: d.d5_relapse.into(),
            d6_recovery_environment: d.d6_recovery_environment.into(),
        }),
        suitability: Some(pb::Suitability {
            severity: match s.severity {
                Severity::Mild => pb::Severity::Mild,
                Severity::Moderate => pb::Severity::Moderate,
                Severity::Severe => pb::Severity::Severe,
            } as i32,
            home: match s.home {
                Home::Stable => pb::HomeEnvironment::Stable,
                Home::UnstableButSafe => pb::HomeEnvironment::UnstableButSafe,
                Home::UnsafeOrTriggersUse => pb::HomeEnvironment::UnsafeOrTriggersUse,
            } as i32,
            commitments: match s.commitments {
                Commitments::None => pb::Commitments::None,
                Commitments::Daytime => pb::Commitments::Daytime,
                Commitments::Evening => pb::Commitments::Evening,
            } as i32,
            motivation: match s.motivation {
                Motivation::Low => pb::Motivation::Low,
                Motivation::Moderate => pb::Motivation::Moderate,
                Motivation::High => pb::Motivation::High,
            } as i32,
            payment: match s.payment {
                Payment::Insured => pb::PaymentMeans::Insured,
                Payment::SelfPayAble => pb::PaymentMeans::SelfPayAble,
                Payment::NoMeansToPay => pb::PaymentMeans::NoMeansToPay,
            } as i32,
            needs_detox: s.medical.needs_detox,
            needs_psychiatric_24h: s.medical.needs_psychiatric_24h,
            transportation: match s.transportation {
                Transportation::Reliable => pb::Transportation::Reliable,
                Transportation::Unreliable => pb::Transportation::Unreliable,
                Transportation::None => pb::Transportation::None,
            } as i32,
        }),
        withdrawal: Some(pb::WithdrawalScores {
            ciwa_ar: i.withdrawal.ciwa_ar.map(u32::from),
            cows: i.withdrawal.cows.map(u32::from),
        }),
        dual_diagnosis: i.dual_diagnosis,
        age_group: age_group_value(i.age_group) as i32,
    }
}

/// The contract form of a recommendation.
pub fn recommendation_message(r: &Recommendation) -> pb::PlacementRecommendation {
    pb::PlacementRecommendation {
        level: r.level as i32,
        rules_version: r.rules_version.to_owned(),
        taxonomy: r.taxonomy.to_owned(),
        is_iop: r.is_iop,
        weekly_hours: r.weekly_hours.map(|b| pb::WeeklyHoursBand {
            at_least: b.at_least.into(),
            below: b.below.map(u32::from),
        }),
        track: match r.track {
            None => pb::Track::Unspecified,
            Some(Track::Day) => pb::Track::Day,
            Some(Track::Evening) => pb::Track::Evening,
            Some(Track::Either) => pb::Track::Either,
        } as i32,
        reasons: r
            .reasons
            .iter()
            .map(|x| pb::PlacementReason {
                input: x.input.to_owned(),
                indicates: x.indicates.map_or(0, |l| l as i32),
                role: match x.role {
                    Role::Determining => pb::ReasonRole::Determining,
                    Role::Advisory => pb::ReasonRole::Advisory,
                    Role::Risk => pb::ReasonRole::Risk,
                } as i32,
                explanation: x.explanation.clone(),
                indicates_wm: x.indicates_wm.map_or(0, |w| w as i32),
            })
            .collect(),
        withdrawal_management: r.withdrawal_management as i32,
        thresholds: Some(thresholds_message(&r.thresholds)),
    }
}

/// The contract form of the withdrawal-scale cut-offs.
pub fn thresholds_message(t: &PlacementThresholds) -> pb::PlacementThresholds {
    pb::PlacementThresholds {
        ciwa_ar_moderate: t.ciwa_ar_moderate.into(),
        ciwa_ar_severe: t.ciwa_ar_severe.into(),
        cows_mild: t.cows_mild.into(),
        cows_moderate: t.cows_moderate.into(),
        cows_moderately_severe: t.cows_moderately_severe.into(),
        cows_severe: t.cows_severe.into(),
    }
}

/// The cut-offs a stored recommendation was made with; `None` when one is out
/// of range (not a recommendation this service wrote).
pub fn thresholds_of(t: &pb::PlacementThresholds) -> Option<PlacementThresholds> {
    let v = |x: u32| u8::try_from(x).ok();
    Some(PlacementThresholds {
        ciwa_ar_moderate: v(t.ciwa_ar_moderate)?,
        ciwa_ar_severe: v(t.ciwa_ar_severe)?,
        cows_mild: v(t.cows_mild)?,
        cows_moderate: v(t.cows_moderate)?,
        cows_moderately_severe: v(t.cows_moderately_severe)?,
        cows_severe: v(t.cows_severe)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::NaiveDate;

    use super::*;

    fn suitable() -> pb::AssessmentInput {
        pb::AssessmentInput {
            dimensions: Some(pb::AsamDimensions {
                d1_withdrawal: 1,
                d3_emotional: 1,
                ..Default::default()
            }),
            suitability: Some(pb::Suitability {
                severity: pb::Severity::Moderate as i32,
                home: pb::HomeEnvironment::Stable as i32,
                commitments: pb::Commitments::Daytime as i32,
                motivation: pb::Motivation::High as i32,
                payment: pb::PaymentMeans::Insured as i32,
                transportation: pb::Transportation::Reliable as i32,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_input_round_trips_and_fills_the_age_group() {
        let parsed = input(Some(&suitable()), AgeGroup::Adolescent).unwrap();
        assert_eq!(parsed.age_group, AgeGroup::Adolescent);
        assert_eq!(
            input(Some(&input_message(&parsed)), AgeGroup::Adult).unwrap(),
            parsed
        );
    }

    #[test]
    fn an_unset_factor_is_named() {
        let mut i = suitable();
        i.suitability.as_mut().unwrap().transportation = 0;
        let e = input(Some(&i), AgeGroup::Adult).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("input.suitability.transportation:"),
            "{e}"
        );
        assert!(input(None, AgeGroup::Adult).is_err());
    }

    #[test]
    fn adolescence_ends_on_the_eighteenth_birthday() {
        let born = NaiveDate::from_ymd_opt(2008, 11, 28).unwrap();
        let eve = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let birthday = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(age_group_on(born, eve), AgeGroup::Adolescent);
        assert_eq!(age_group_on(born, birthday), AgeGroup::Adult);
    }
}
