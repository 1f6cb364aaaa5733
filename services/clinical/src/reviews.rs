//! When a level-of-care review opens itself (pure): the triggers of
//! DOMAIN.md "Step-down and step-up" over the facts clinical keeps. Step-up:
//! `below_band_weeks` consecutive weeks below the band (scheduling's
//! evaluations), two unexpected positive tests within 30 days (testing-lab),
//! a PHQ-9 or GAD-7 worse than the previous by the configured points.
//! Step-down: `within_band_weeks` consecutive weeks within the band, every
//! objective of the active plan met, and `step_down_clean_days` without an
//! unexpected positive (counted from the admission when none was ever
//! recorded). The software opens the review; the clinician decides.

use chrono::NaiveDate;
use iop_proto::{
    clinical::v1::{Decision, ReviewDirection, ReviewReason, ReviewTrigger},
    common::v1::LevelOfCare,
    scheduling::v1::Compliance,
};
use iop_runtime::wire;

/// One evaluated week of a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekFact {
    /// Its Monday.
    pub week_start: NaiveDate,
    /// How it was judged.
    pub compliance: Compliance,
    /// Clinical minutes attended.
    pub attended_minutes: u32,
    /// The band's lower bound for the week, in minutes.
    pub required_minutes: u32,
}

impl WeekFact {
    fn reason(&self, trigger: ReviewTrigger) -> ReviewReason {
        ReviewReason {
            trigger: trigger as i32,
            on: Some(wire::date(self.week_start)),
            detail: format!(
                "week of {}: {} clinical minutes attended, band from {}",
                self.week_start, self.attended_minutes, self.required_minutes
            ),
        }
    }
}

/// The last `n` weeks of `weeks` (any order) when they are consecutive and
/// each `compliance`, oldest first.
fn streak(weeks: &[WeekFact], n: u32, compliance: Compliance) -> Option<Vec<WeekFact>> {
    let mut sorted = weeks.to_vec();
    sorted.sort_by_key(|w| w.week_start);
    let n = usize::try_from(n).ok().filter(|n| *n > 0)?;
    let tail = sorted.get(sorted.len().checked_sub(n)?..)?;
    let consecutive = tail
        .windows(2)
        .all(|p| p[1].week_start - p[0].week_start == chrono::Duration::days(7));
    (consecutive && tail.iter().all(|w| w.compliance == compliance)).then(|| tail.to_vec())
}

/// The reasons for a step-up review when the latest `n` weeks were
/// consecutive and below the band, one per week.
pub fn below_band(weeks: &[WeekFact], n: u32) -> Option<Vec<ReviewReason>> {
    streak(weeks, n, Compliance::BelowBand).map(|ws| {
        ws.iter()
            .map(|w| w.reason(ReviewTrigger::WeekBelowBand))
            .collect()
    })
}

/// What a step-down review needs besides the weeks.
#[derive(Debug, Clone, Copy)]
pub struct StepDownFacts {
    /// Every objective of the active plan is met (false without a plan or objectives).
    pub objectives_met: bool,
    /// The day of the last unexpected positive, or the admission day when none.
    pub clean_since: NaiveDate,
    /// Today, facility-local.
    pub today: NaiveDate,
    /// Days without an unexpected positive needed.
    pub clean_days: u32,
}

/// The reasons for a step-down review when the latest `n` weeks were within
/// the band and the other conditions hold.
pub fn step_down(weeks: &[WeekFact], n: u32, facts: StepDownFacts) -> Option<Vec<ReviewReason>> {
    let within = streak(weeks, n, Compliance::Compliant)?;
    let clean = (facts.today - facts.clean_since).num_days();
    if !facts.objectives_met || clean < i64::from(facts.clean_days) {
        return None;
    }
    let mut reasons: Vec<ReviewReason> = within
        .iter()
        .map(|w| w.reason(ReviewTrigger::WeekWithinBand))
        .collect();
    reasons.push(ReviewReason {
        trigger: ReviewTrigger::ObjectivesMet as i32,
        on: Some(wire::date(facts.today)),
        detail: "every objective of the active treatment plan is met".into(),
    });
    reasons.push(ReviewReason {
        trigger: ReviewTrigger::NoUnexpectedPositive as i32,
        on: Some(wire::date(facts.clean_since)),
        detail: format!("{clean} days without an unexpected positive test"),
    });
    Some(reasons)
}

/// Two unexpected positives within `window_days`: the step-up reasons (both days).
pub fn unexpected_positives(days: &[NaiveDate], window_days: i64) -> Option<Vec<ReviewReason>> {
    let mut sorted = days.to_vec();
    sorted.sort_unstable();
    let pair = sorted
        .windows(2)
        .rev()
        .find(|p| (p[1] - p[0]).num_days() < window_days)?;
    Some(
        pair.iter()
            .map(|d| ReviewReason {
                trigger: ReviewTrigger::UnexpectedPositive as i32,
                on: Some(wire::date(*d)),
                detail: format!("unexpected positive drug test on {d}"),
            })
            .collect(),
    )
}

/// The direction a review of `trigger` has.
pub fn direction(trigger: ReviewTrigger) -> ReviewDirection {
    match trigger {
        ReviewTrigger::WeekWithinBand
        | ReviewTrigger::ObjectivesMet
        | ReviewTrigger::NoUnexpectedPositive => ReviewDirection::StepDown,
        _ => ReviewDirection::StepUp,
    }
}

/// Why a decision cannot stand: `(field, reason)`.
pub fn check_decision(
    decision: Decision,
    from: LevelOfCare,
    to: LevelOfCare,
) -> Result<(), (&'static str, String)> {
    match decision {
        Decision::Unspecified => Err(("decision", "is required".into())),
        Decision::Continue | Decision::Refer if to != LevelOfCare::Unspecified => Err((
            "to_level",
            "must be unset unless the decision steps down or up".into(),
        )),
        Decision::Continue | Decision::Refer => Ok(()),
        Decision::StepDown if to == LevelOfCare::Unspecified || to >= from => Err((
            "to_level",
            format!("a step down must name a level below {}", from.as_str_name()),
        )),
        Decision::StepUp if to == LevelOfCare::Unspecified || to <= from => Err((
            "to_level",
            format!("a step up must name a level above {}", from.as_str_name()),
        )),
        Decision::StepDown | Decision::StepUp => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn week(start: NaiveDate, compliance: Compliance) -> WeekFact {
        WeekFact {
            week_start: start,
            compliance,
            attended_minutes: 300,
            required_minutes: 540,
        }
    }

    #[test]
    fn two_consecutive_weeks_below_band_open_a_step_up_naming_both() {
        let weeks = [
            week(day(11, 2), Compliance::Compliant),
            week(day(11, 16), Compliance::BelowBand),
            week(day(11, 9), Compliance::BelowBand),
        ];
        let reasons = below_band(&weeks, 2).unwrap();
        assert_eq!(reasons.len(), 2);
        assert_eq!(reasons[0].on, Some(wire::date(day(11, 9))));
        assert_eq!(reasons[1].on, Some(wire::date(day(11, 16))));
        assert!(reasons[0].detail.contains("300 clinical minutes"));
        // A gap between them, or one within band last, is no streak.
        let gap = [
            week(day(11, 2), Compliance::BelowBand),
            week(day(11, 16), Compliance::BelowBand),
        ];
        assert_eq!(below_band(&gap, 2), None);
        let recovered = [
            week(day(11, 9), Compliance::BelowBand),
            week(day(11, 16), Compliance::Compliant),
        ];
        assert_eq!(below_band(&recovered, 2), None);
        assert_eq!(below_band(&weeks[1..2], 2), None);
        // Too few days is not below the band (its hours were within it).
        let few = [
            week(day(11, 9), Compliance::TooFewDays),
            week(day(11, 16), Compliance::BelowBand),
        ];
        assert_eq!(below_band(&few, 2), None);
    }

    #[test]
    fn step_down_needs_weeks_objectives_and_a_clean_month() {
        let weeks: Vec<WeekFact> = [day(11, 2), day(11, 9), day(11, 16), day(11, 23)]
            .into_iter()
            .map(|d| week(d, Compliance::Compliant))
            .collect();
        let facts = StepDownFacts {
            objectives_met: true,
            clean_since: day(10, 20),
            today: day(11, 30),
            clean_days: 30,
        };
        let reasons = step_down(&weeks, 4, facts).unwrap();
        assert_eq!(reasons.len(), 6);
        assert_eq!(
            reasons[5].trigger,
            ReviewTrigger::NoUnexpectedPositive as i32
        );
        assert!(
            step_down(
                &weeks,
                4,
                StepDownFacts {
                    objectives_met: false,
                    ..facts
                }
            )
            .is_none()
        );
        assert!(
            step_down(
                &weeks,
                4,
                StepDownFacts {
                    clean_since: day(11, 1),
                    ..facts
                }
            )
            .is_none()
        );
        assert!(step_down(&weeks[1..], 4, facts).is_none());
    }

    #[test]
    fn two_unexpected_positives_within_thirty_days() {
        assert!(unexpected_positives(&[day(10, 1)], 30).is_none());
        assert!(unexpected_positives(&[day(10, 1), day(11, 1)], 30).is_none());
        let r = unexpected_positives(&[day(10, 1), day(11, 1), day(11, 20)], 30).unwrap();
        assert_eq!(r[0].on, Some(wire::date(day(11, 1))));
        assert_eq!(r[1].on, Some(wire::date(day(11, 20))));
    }

    #[test]
    fn decisions_name_a_level_in_their_direction() {
        use LevelOfCare as L;
        let iop = L::LevelOfCare21IntensiveOutpatient;
        assert!(check_decision(Decision::StepDown, iop, L::LevelOfCare1Outpatient).is_ok());
        assert!(
            check_decision(
                Decision::StepUp,
                iop,
                L::LevelOfCare25PartialHospitalization
            )
            .is_ok()
        );
        assert!(check_decision(Decision::Continue, iop, L::Unspecified).is_ok());
        for (d, to, field) in [
            (
                Decision::StepDown,
                L::LevelOfCare25PartialHospitalization,
                "to_level",
            ),
            (Decision::StepDown, L::Unspecified, "to_level"),
            (Decision::StepUp, L::LevelOfCare1Outpatient, "to_level"),
            (Decision::Continue, L::LevelOfCare1Outpatient, "to_level"),
            (Decision::Unspecified, L::Unspecified, "decision"),
        ] {
            assert_eq!(
                check_decision(d, iop, to).unwrap_err().0,
                field,
                "{d:?} {to:?}"
            );
        }
    }
}
