//! When a treatment plan is due (pure): a plan must be active (signed by the
//! practitioner and the patient) within `due_days` of admission (the
//! admission day is day 0: due on day 30, overdue from day 31); an active
//! plan is reviewed `review_days` after it became active, and at once when
//! the level of care changed on or after that day.

use chrono::{Days, NaiveDate};
use iop_proto::clinical::v1::PlanStatus;

/// Why an active plan's review is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    /// The level of care changed on this day.
    LevelChanged(NaiveDate),
    /// The periodic review fell due on this day.
    Periodic(NaiveDate),
}

impl Review {
    /// The day it fell due.
    pub fn due_on(self) -> NaiveDate {
        match self {
            Review::LevelChanged(d) | Review::Periodic(d) => d,
        }
    }

    /// Why, as shown.
    pub fn reason(self) -> String {
        match self {
            Review::LevelChanged(d) => format!("level of care changed on {d}"),
            Review::Periodic(d) => format!("periodic review due on {d}"),
        }
    }
}

/// The plan's diagnoses as a claim carries them: the problems' ICD-10-CM
/// codes, in order, each once.
pub fn diagnoses(problems: &[iop_proto::clinical::v1::Problem]) -> Vec<String> {
    iop_care::icd10::diagnoses(problems.iter().map(|p| p.icd10.as_str()))
}

/// When a plan activated on `activated_on` is due its periodic review.
pub fn periodic_review_on(activated_on: Option<NaiveDate>, review_days: u32) -> Option<NaiveDate> {
    activated_on.and_then(|d| d.checked_add_days(Days::new(u64::from(review_days))))
}

/// A version's status on `today`, and the review due, if one is.
pub fn status(
    activated_on: Option<NaiveDate>,
    superseded: bool,
    level_changed_on: Option<NaiveDate>,
    today: NaiveDate,
    review_days: u32,
) -> (PlanStatus, Option<Review>) {
    if superseded {
        return (PlanStatus::Superseded, None);
    }
    let Some(active_on) = activated_on else {
        return (PlanStatus::Draft, None);
    };
    if let Some(changed) = level_changed_on.filter(|c| *c >= active_on) {
        return (PlanStatus::ReviewDue, Some(Review::LevelChanged(changed)));
    }
    match periodic_review_on(activated_on, review_days) {
        Some(due) if today >= due => (PlanStatus::ReviewDue, Some(Review::Periodic(due))),
        _ => (PlanStatus::Active, None),
    }
}

/// Whether an episode admitted on `admitted_on` has its plan overdue on
/// `as_of`: the day it fell due and why. `active_since` is when its active
/// version became active (none: no plan is active).
pub fn overdue(
    admitted_on: NaiveDate,
    level_changed_on: Option<NaiveDate>,
    active_since: Option<NaiveDate>,
    as_of: NaiveDate,
    (due_days, review_days): (u32, u32),
) -> Option<(NaiveDate, String)> {
    let Some(active) = active_since else {
        let due = admitted_on + Days::new(u64::from(due_days));
        return (as_of > due).then(|| {
            (
                due,
                format!("no active treatment plan {due_days} days after admission"),
            )
        });
    };
    match status(Some(active), false, level_changed_on, as_of, review_days) {
        (PlanStatus::ReviewDue, Some(review)) => Some((review.due_on(), review.reason())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn day(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() + Days::new(n)
    }

    #[test]
    fn a_plan_is_overdue_from_day_31_without_an_active_one() {
        let periods = (30, 90);
        assert_eq!(overdue(day(0), None, None, day(30), periods), None);
        let (due, why) = overdue(day(0), None, None, day(31), periods).unwrap();
        assert_eq!(due, day(30));
        assert_eq!(why, "no active treatment plan 30 days after admission");
        // Active: not overdue until its review.
        assert_eq!(overdue(day(0), None, Some(day(20)), day(60), periods), None);
        let (due, _) = overdue(day(0), None, Some(day(20)), day(110), periods).unwrap();
        assert_eq!(due, day(110));
    }

    #[test]
    fn a_level_change_makes_the_review_due_at_once() {
        let (status, review) = status(Some(day(20)), false, Some(day(45)), day(45), 90);
        assert_eq!(status, PlanStatus::ReviewDue);
        assert_eq!(review, Some(Review::LevelChanged(day(45))));
        assert_eq!(
            review.unwrap().reason(),
            format!("level of care changed on {}", day(45))
        );
        // A change before the plan became active was planned for.
        assert_eq!(
            status_of(Some(day(20)), Some(day(10)), day(45)),
            PlanStatus::Active
        );
        // A new version activated after the change ends the review.
        assert_eq!(
            status_of(Some(day(50)), Some(day(45)), day(60)),
            PlanStatus::Active
        );
        let (_, due) = overdue(day(0), Some(day(45)), Some(day(20)), day(46), (30, 90)).unwrap();
        assert_eq!(due, format!("level of care changed on {}", day(45)));
    }

    fn status_of(
        active: Option<NaiveDate>,
        changed: Option<NaiveDate>,
        today: NaiveDate,
    ) -> PlanStatus {
        status(active, false, changed, today, 90).0
    }

    #[test]
    fn drafts_superseded_and_periodic_reviews() {
        assert_eq!(status_of(None, None, day(5)), PlanStatus::Draft);
        assert_eq!(
            status(Some(day(1)), true, None, day(5), 90).0,
            PlanStatus::Superseded
        );
        assert_eq!(status_of(Some(day(1)), None, day(90)), PlanStatus::Active);
        assert_eq!(
            status(Some(day(1)), false, None, day(91), 90),
            (PlanStatus::ReviewDue, Some(Review::Periodic(day(91))))
        );
        assert_eq!(periodic_review_on(Some(day(1)), 90), Some(day(91)));
    }
}
