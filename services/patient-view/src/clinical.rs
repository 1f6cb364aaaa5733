//! What the view keeps of clinical's events (pure): the latest score of each
//! instrument, the treatment plan's status, open risk flags (a suicide-risk
//! follow-up until its task is completed) and open level-of-care reviews.
//! Each fact is one item of the patient (kind and key), replaced or removed
//! by the next event about it; clinical publishes no note text, and the view
//! keeps none.

use iop_proto::{
    clinical::{
        events::v1::{
            LevelOfCareDecided, LevelOfCareReviewOpened, ScreeningScored, TaskCompleted,
            TaskOpened, TreatmentPlanChanged,
        },
        v1::TaskKind,
    },
    patientview::v1::{ClinicalSummary, LatestScore, OpenReview, RiskFlag, TreatmentPlanSummary},
};
use prost::Message as _;

/// A clinical event the view folds.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// A scored instrument.
    Scored(ScreeningScored),
    /// A task opened (risk flags are suicide-risk follow-ups).
    TaskOpened(TaskOpened),
    /// A task done.
    TaskCompleted(TaskCompleted),
    /// A plan version written or signed, or due for review.
    Plan(TreatmentPlanChanged),
    /// A review opened.
    ReviewOpened(LevelOfCareReviewOpened),
    /// A review decided.
    Decided(LevelOfCareDecided),
}

/// Kinds of item.
pub mod kind {
    /// The latest score of one instrument (key: the instrument's number).
    pub const SCORE: &str = "score";
    /// The plan (key: empty).
    pub const PLAN: &str = "plan";
    /// An open risk flag (key: the task id).
    pub const FLAG: &str = "flag";
    /// An open review (key: the review id).
    pub const REVIEW: &str = "review";
}

/// What a fact does to the patient's items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Put (replace) the item.
    Put {
        /// Its kind.
        kind: &'static str,
        /// Its key.
        key: String,
        /// The encoded message shown.
        body: Vec<u8>,
    },
    /// Remove the item, if present.
    Remove {
        /// Its kind.
        kind: &'static str,
        /// Its key.
        key: String,
    },
    /// Nothing to keep.
    None,
}

impl Fact {
    /// The patient it is about.
    pub fn patient_id(&self) -> &str {
        match self {
            Fact::Scored(e) => &e.patient_id,
            Fact::TaskOpened(e) => &e.patient_id,
            Fact::TaskCompleted(e) => &e.patient_id,
            Fact::Plan(e) => &e.patient_id,
            Fact::ReviewOpened(e) => &e.patient_id,
            Fact::Decided(e) => &e.patient_id,
        }
    }

    /// Where it happened.
    pub fn facility_id(&self) -> &str {
        match self {
            Fact::Scored(e) => &e.facility_id,
            Fact::TaskOpened(e) => &e.facility_id,
            Fact::Plan(e) => &e.facility_id,
            Fact::ReviewOpened(e) => &e.facility_id,
            Fact::Decided(e) => &e.facility_id,
            Fact::TaskCompleted(_) => "",
        }
    }

    /// Its change to the patient's items.
    pub fn change(&self) -> Change {
        match self {
            Fact::Scored(e) => Change::Put {
                kind: kind::SCORE,
                key: e.instrument.to_string(),
                body: LatestScore {
                    instrument: e.instrument,
                    total: e.total,
                    band: e.band.clone(),
                    positive: e.positive,
                    loinc: e.loinc.clone(),
                    administered_on: e.administered_on,
                    rescreen_due_on: e.rescreen_due_on,
                }
                .encode_to_vec(),
            },
            Fact::TaskOpened(e) if e.kind == TaskKind::SuicideRiskFollowUp as i32 => Change::Put {
                kind: kind::FLAG,
                key: e.task_id.clone(),
                body: RiskFlag {
                    task_id: e.task_id.clone(),
                    kind: e.kind,
                    facility_id: e.facility_id.clone(),
                    due_at: e.due_at,
                }
                .encode_to_vec(),
            },
            Fact::TaskOpened(_) => Change::None,
            Fact::TaskCompleted(e) => Change::Remove {
                kind: kind::FLAG,
                key: e.task_id.clone(),
            },
            Fact::Plan(e) => Change::Put {
                kind: kind::PLAN,
                key: String::new(),
                body: TreatmentPlanSummary {
                    plan_id: e.plan_id.clone(),
                    version: e.version,
                    status: e.status,
                    review_due_on: e.review_due_on,
                }
                .encode_to_vec(),
            },
            Fact::ReviewOpened(e) => Change::Put {
                kind: kind::REVIEW,
                key: e.review_id.clone(),
                body: OpenReview {
                    review_id: e.review_id.clone(),
                    direction: e.direction,
                    reasons: e.reasons.clone(),
                    facility_id: e.facility_id.clone(),
                }
                .encode_to_vec(),
            },
            Fact::Decided(e) => Change::Remove {
                kind: kind::REVIEW,
                key: e.review_id.clone(),
            },
        }
    }
}

/// The summary shown from the patient's items `(kind, key, body)`, in key
/// order; an item that does not decode is left out (and logged by the caller).
pub fn summary<'a>(items: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> ClinicalSummary {
    let mut s = ClinicalSummary::default();
    for (k, body) in items {
        match k {
            kind::SCORE => s.scores.extend(LatestScore::decode(body).ok()),
            kind::PLAN => s.plan = TreatmentPlanSummary::decode(body).ok(),
            kind::FLAG => s.risk_flags.extend(RiskFlag::decode(body).ok()),
            kind::REVIEW => s.open_reviews.extend(OpenReview::decode(body).ok()),
            _ => {}
        }
    }
    s.scores.sort_by_key(|x| x.instrument);
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn a_flag_opens_with_its_follow_up_and_closes_with_it() {
        let opened = Fact::TaskOpened(TaskOpened {
            patient_id: "p".into(),
            task_id: "t1".into(),
            kind: TaskKind::SuicideRiskFollowUp as i32,
            ..Default::default()
        });
        let Change::Put { kind, key, body } = opened.change() else {
            panic!("a follow-up is a flag");
        };
        assert_eq!((kind, key.as_str()), (kind::FLAG, "t1"));
        let shown = summary([(kind, body.as_slice())]);
        assert_eq!(shown.risk_flags[0].task_id, "t1");
        let review_task = Fact::TaskOpened(TaskOpened {
            kind: TaskKind::LevelOfCareReview as i32,
            ..Default::default()
        });
        assert_eq!(review_task.change(), Change::None);
        let done = Fact::TaskCompleted(TaskCompleted {
            task_id: "t1".into(),
            ..Default::default()
        });
        assert_eq!(
            done.change(),
            Change::Remove {
                kind: kind::FLAG,
                key: "t1".into()
            }
        );
    }

    #[test]
    fn scores_are_kept_per_instrument() {
        let a = Fact::Scored(ScreeningScored {
            instrument: 1,
            total: 12,
            band: "moderate".into(),
            ..Default::default()
        });
        let Change::Put { key, body, .. } = a.change() else {
            panic!("a score is kept");
        };
        assert_eq!(key, "1");
        let shown = summary([(kind::SCORE, body.as_slice())]);
        assert_eq!(
            (shown.scores[0].total, shown.scores[0].band.as_str()),
            (12, "moderate")
        );
    }
}
