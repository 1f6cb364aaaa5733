//! Clinical's events: the builders of what it publishes, the two actions
//! that open work for a clinician (a task; a level-of-care review with its
//! task), shared by the gRPC commands and the event handlers, and the typed
//! handlers of admissions' and scheduling's events, applied in the
//! consumer's unit of work so each is applied once with the events it
//! causes. Admissions: who the patient is (names for the group-note check,
//! sex for AUDIT-C), episodes and their levels (a level change makes the plan
//! due for review), merges (everything follows the survivor), and the
//! replicas the access rule reads. Scheduling: attendance (who was in a
//! group), evaluated weeks (consecutive weeks below the band open a step-up
//! review; within it, with objectives met and a clean month, a step-down).
//! Testing-lab (its events defined ahead of the service): two unexpected
//! positives within the window open a step-up review, a negative for a
//! prescribed medication a result review.

use chrono::{DateTime, Duration, Utc};
use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::{ApplyError, EventHandler},
    router::Router,
    work::{Stream, UnitOfWork},
};
use iop_proto::{
    admissions::events::v1::{
        PatientAdmitted, PatientDemographicsUpdated, PatientDischarged, PatientRegistered,
        PatientTransferred, PatientsMerged,
    },
    clinical::{
        events::v1 as events,
        v1::{PlanStatus, Review, ReviewDirection, ReviewReason, TaskKind},
    },
    lab::events::v1::{Interpretation, ResultInterpreted},
    scheduling::{
        events::v1::{AttendanceRecorded, WeeklyHoursEvaluated},
        v1::Compliance,
    },
};
use iop_runtime::wire;
use prost::Message as _;
use sea_orm::DbErr;

use crate::{
    entity::{attendance, episode, lab_result, review, task, week},
    error::ClinicalError,
    reviews::{self as rules, StepDownFacts, WeekFact},
    settings::ClinicalSettings,
    store::{self, copies, plans, records, reviews},
};

/// Opens `t` and publishes `TaskOpened`.
pub(crate) async fn open_task(work: &mut UnitOfWork, t: task::Model) -> Result<task::Model, DbErr> {
    records::insert_task(work.txn(), t.clone()).await?;
    let event = events::TaskOpened {
        patient_id: t.patient_id.clone(),
        task_id: t.id.clone(),
        facility_id: t.facility_id.clone(),
        kind: t.kind,
        due_at: Some(wire::timestamp(t.due_at)),
        due_on: Some(wire::date(t.due_on)),
        source_id: t.source_id.clone(),
        occurred_at: Some(wire::timestamp(t.opened_at)),
    };
    work.emit(Stream::patient(&t.patient_id), &event).await?;
    Ok(t)
}

/// A new task row for (patient, facility), due at `due_at` at the facility,
/// in `tz`.
pub(crate) fn new_task(
    (patient_id, facility_id): (&str, &str),
    kind: TaskKind,
    reason: String,
    due_at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    source_id: &str,
    now: DateTime<Utc>,
) -> task::Model {
    task::Model {
        id: uuid::Uuid::now_v7().to_string(),
        patient_id: patient_id.to_owned(),
        facility_id: facility_id.to_owned(),
        kind: kind as i32,
        reason,
        assignee: String::new(),
        due_at,
        due_on: iop_care::calendar::local(due_at - Duration::seconds(1), tz).date(),
        done: false,
        source_id: source_id.to_owned(),
        opened_at: now,
        completed_at: None,
        completed_by: None,
        outcome: None,
    }
}

/// The reasons stored with a review.
pub(crate) fn encode_reasons(reasons: &[ReviewReason]) -> Vec<u8> {
    Review {
        reasons: reasons.to_vec(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// The reasons of a stored review.
pub(crate) fn decode_reasons(r: &review::Model) -> Result<Vec<ReviewReason>, ClinicalError> {
    Review::decode(r.reasons.as_slice())
        .map(|m| m.reasons)
        .map_err(|_| ClinicalError::Corrupt {
            what: format!("reasons of review {}", r.id),
        })
}

/// Opens a review of `direction` for the episode with `reasons`, and its
/// task (due by the end of the next business day); when one of that
/// direction is open already, adds the reasons it lacks to it instead.
/// Returns the review opened, if one was.
pub(crate) async fn open_review(
    work: &mut UnitOfWork,
    settings: &ClinicalSettings,
    e: &episode::Model,
    direction: ReviewDirection,
    reasons: Vec<ReviewReason>,
    now: DateTime<Utc>,
) -> Result<Option<review::Model>, ClinicalError> {
    if let Some(mut open) = reviews::open_of(work.txn(), &e.patient_id, direction as i32).await? {
        let mut known = decode_reasons(&open)?;
        let before = known.len();
        for r in reasons {
            if !known.iter().any(|k| k.trigger == r.trigger && k.on == r.on) {
                known.push(r);
            }
        }
        if known.len() > before {
            open.reasons = encode_reasons(&known);
            reviews::save(work.txn(), open).await?;
        }
        return Ok(None);
    }
    let tz = store::time_zone(work.txn(), &e.facility_id).await?;
    let today = iop_care::calendar::local(now, tz).date();
    let row = review::Model {
        id: uuid::Uuid::now_v7().to_string(),
        patient_id: e.patient_id.clone(),
        facility_id: e.facility_id.clone(),
        episode_id: e.episode_id.clone(),
        direction: direction as i32,
        reasons: encode_reasons(&reasons),
        from_level: e.level_of_care,
        opened_at: now,
        open: true,
        decision: 0,
        to_level: 0,
        justification: String::new(),
        decided_by: String::new(),
        decided_at: None,
    };
    reviews::insert(work.txn(), row.clone()).await?;
    let event = events::LevelOfCareReviewOpened {
        patient_id: row.patient_id.clone(),
        review_id: row.id.clone(),
        facility_id: row.facility_id.clone(),
        episode_id: row.episode_id.clone(),
        direction: row.direction,
        reasons,
        level_of_care: row.from_level,
        occurred_at: Some(wire::timestamp(now)),
    };
    work.emit(Stream::patient(&row.patient_id), &event).await?;
    let due_day = iop_care::calendar::business_days_after(today, 1, &settings.holidays);
    let what = match direction {
        ReviewDirection::StepDown => "step-down",
        _ => "step-up",
    };
    let t = new_task(
        (&row.patient_id, &row.facility_id),
        TaskKind::LevelOfCareReview,
        format!("{what} level-of-care review {}", row.id),
        iop_care::calendar::end_of_day(due_day, tz),
        tz,
        &row.id,
        now,
    );
    open_task(work, t).await?;
    Ok(Some(row))
}

/// Applies admissions' and scheduling's events to clinical.
pub struct Handler {
    router: Router<Handler>,
    settings: ClinicalSettings,
}

impl Handler {
    /// The handler with its routes.
    pub fn new(settings: ClinicalSettings) -> Self {
        let shared = iop_consent::facilities::route(iop_consent::known::route(
            iop_consent::replica::route(Router::<Self>::new()),
        ));
        // Registered after the shared routes, which also handle registrations
        // (this handler keeps the "known at" row itself).
        let router = shared
            .on::<PatientRegistered>(|_, w, e, _| Box::pin(registered(w, e)))
            .on::<PatientDemographicsUpdated>(|_, w, e, _| Box::pin(demographics(w, e)))
            .on::<PatientAdmitted>(|_, w, e, _| Box::pin(admitted(w, e)))
            .on::<PatientTransferred>(|h, w, e, _| Box::pin(h.transferred(w, e)))
            .on::<PatientDischarged>(|_, w, e, _| Box::pin(discharged(w, e)))
            .on::<PatientsMerged>(|_, w, e, _| Box::pin(merged(w, e)))
            .on::<AttendanceRecorded>(|_, w, e, _| Box::pin(attended(w, e)))
            .on::<WeeklyHoursEvaluated>(|h, w, e, _| Box::pin(h.week(w, e)))
            .on::<ResultInterpreted>(|h, w, e, _| Box::pin(h.result(w, e)));
        Self { router, settings }
    }
}

async fn registered(work: &mut UnitOfWork, e: PatientRegistered) -> Result<(), ApplyError> {
    iop_consent::known::know(work.txn(), &e.patient_id, &e.facility_id).await?;
    copies::put_patient(
        work.txn(),
        &e.patient_id,
        Some(&e.mrn),
        e.legal_name.as_ref(),
        &e.preferred_name,
        e.sex,
    )
    .await?;
    Ok(())
}

async fn demographics(
    work: &mut UnitOfWork,
    e: PatientDemographicsUpdated,
) -> Result<(), ApplyError> {
    copies::put_patient(
        work.txn(),
        &e.patient_id,
        None,
        e.legal_name.as_ref(),
        &e.preferred_name,
        e.sex,
    )
    .await?;
    Ok(())
}

async fn admitted(work: &mut UnitOfWork, e: PatientAdmitted) -> Result<(), ApplyError> {
    let admitted_on = wire::naive_date(e.admitted_on.as_ref())
        .ok_or_else(|| ApplyError::Permanent("PatientAdmitted without admitted_on".into()))?;
    iop_consent::known::know(work.txn(), &e.patient_id, &e.facility_id).await?;
    copies::open_episode(
        work.txn(),
        episode::Model {
            episode_id: e.episode_id,
            patient_id: e.patient_id,
            facility_id: e.facility_id,
            level_of_care: e.level_of_care,
            admitted_on,
            active: true,
            discharged_on: None,
            level_changed_on: None,
        },
    )
    .await?;
    Ok(())
}

impl Handler {
    /// A transfer moves the episode; a changed level makes the plan due for
    /// review (DOMAIN: reviewed on any level change), with a task.
    async fn transferred(
        &self,
        work: &mut UnitOfWork,
        e: PatientTransferred,
    ) -> Result<(), ApplyError> {
        iop_consent::known::know(work.txn(), &e.patient_id, &e.to_facility_id).await?;
        let Some(mut found) = copies::episode(work.txn(), &e.episode_id).await? else {
            return Ok(());
        };
        work.lock(Stream::patient(&e.patient_id)).await?;
        let level_changed = found.level_of_care != e.level_of_care;
        found.facility_id.clone_from(&e.to_facility_id);
        let now = Utc::now();
        if level_changed {
            found.level_of_care = e.level_of_care;
            let tz = store::time_zone(work.txn(), &e.to_facility_id).await?;
            let on = wire::naive_date(e.transferred_on.as_ref())
                .unwrap_or_else(|| iop_care::calendar::local(now, tz).date());
            found.level_changed_on = Some(on);
            copies::save_episode(work.txn(), found.clone()).await?;
            let latest = plans::of_episode(work.txn(), &found.episode_id).await?;
            if let Some(plan) = latest.first() {
                let event = events::TreatmentPlanChanged {
                    patient_id: plan.patient_id.clone(),
                    plan_id: plan.id.clone(),
                    episode_id: plan.episode_id.clone(),
                    facility_id: found.facility_id.clone(),
                    version: u32::try_from(plan.version).unwrap_or(0),
                    status: PlanStatus::ReviewDue as i32,
                    review_due_on: Some(wire::date(on)),
                    occurred_at: Some(wire::timestamp(now)),
                    diagnoses: crate::api::plan_problems(plan)
                        .map(|p| crate::treatment::diagnoses(&p))
                        .unwrap_or_default(),
                };
                work.emit(Stream::patient(&plan.patient_id), &event).await?;
            }
            let due = iop_care::calendar::business_days_after(
                iop_care::calendar::local(now, tz).date(),
                self.settings.note_business_days,
                &self.settings.holidays,
            );
            let mut t = new_task(
                (&found.patient_id, &found.facility_id),
                TaskKind::PlanReview,
                format!("level of care changed on {on}: review the treatment plan"),
                iop_care::calendar::end_of_day(due, tz),
                tz,
                &found.episode_id,
                now,
            );
            // The plan's author reviews it.
            t.assignee = latest
                .first()
                .map(|p| p.written_by.clone())
                .unwrap_or_default();
            open_task(work, t).await?;
        } else {
            copies::save_episode(work.txn(), found).await?;
        }
        Ok(())
    }

    /// An evaluated week: kept, then the review triggers are asked.
    async fn week(&self, work: &mut UnitOfWork, e: WeeklyHoursEvaluated) -> Result<(), ApplyError> {
        let week_start = wire::naive_date(e.week_start.as_ref()).ok_or_else(|| {
            ApplyError::Permanent("WeeklyHoursEvaluated without week_start".into())
        })?;
        work.lock(Stream::patient(&e.patient_id)).await?;
        copies::put_week(
            work.txn(),
            week::Model {
                patient_id: e.patient_id.clone(),
                week_start,
                facility_id: e.facility_id.clone(),
                compliance: e.compliance,
                attended_minutes: i32::try_from(e.attended_minutes).unwrap_or(i32::MAX),
                required_minutes: i32::try_from(e.required_minutes).unwrap_or(i32::MAX),
                level_of_care: e.level_of_care,
            },
        )
        .await?;
        let Some(episode) = copies::active_episode(work.txn(), &e.patient_id).await? else {
            return Ok(());
        };
        let n = self
            .settings
            .below_band_weeks
            .max(self.settings.within_band_weeks);
        let since = week_start - Duration::weeks(i64::from(n));
        let weeks: Vec<WeekFact> = copies::weeks_since(work.txn(), &e.patient_id, since)
            .await?
            .iter()
            .filter(|w| w.week_start <= week_start && w.week_start >= episode_week(&episode))
            .map(|w| WeekFact {
                week_start: w.week_start,
                compliance: Compliance::try_from(w.compliance).unwrap_or_default(),
                attended_minutes: u32::try_from(w.attended_minutes).unwrap_or(0),
                required_minutes: u32::try_from(w.required_minutes).unwrap_or(0),
            })
            .collect();
        let now = Utc::now();
        if let Some(reasons) = rules::below_band(&weeks, self.settings.below_band_weeks) {
            open_review(
                work,
                &self.settings,
                &episode,
                ReviewDirection::StepUp,
                reasons,
                now,
            )
            .await?;
            return Ok(());
        }
        let tz = store::time_zone(work.txn(), &episode.facility_id).await?;
        let positives = copies::result_days(
            work.txn(),
            &e.patient_id,
            Interpretation::UnexpectedPositive as i32,
            episode.admitted_on,
        )
        .await?;
        let facts = StepDownFacts {
            objectives_met: objectives_met(work, &episode).await?,
            clean_since: positives.last().copied().unwrap_or(episode.admitted_on),
            today: iop_care::calendar::local(now, tz).date(),
            clean_days: self.settings.step_down_clean_days,
        };
        if let Some(reasons) = rules::step_down(&weeks, self.settings.within_band_weeks, facts) {
            open_review(
                work,
                &self.settings,
                &episode,
                ReviewDirection::StepDown,
                reasons,
                now,
            )
            .await?;
        }
        Ok(())
    }
}

impl Handler {
    /// An interpreted drug test: kept; a second unexpected positive within
    /// the window opens a step-up review naming both; a negative for a
    /// prescribed medication opens a result review (possible diversion).
    async fn result(&self, work: &mut UnitOfWork, e: ResultInterpreted) -> Result<(), ApplyError> {
        let collected_on = wire::naive_date(e.collected_on.as_ref()).ok_or_else(|| {
            ApplyError::Permanent("ResultInterpreted without collected_on".into())
        })?;
        work.lock(Stream::patient(&e.patient_id)).await?;
        copies::put_lab_result(
            work.txn(),
            lab_result::Model {
                result_id: e.result_id.clone(),
                patient_id: e.patient_id.clone(),
                facility_id: e.facility_id.clone(),
                collected_on,
                interpretation: e.interpretation,
                classes: e.classes.join(","),
                definitive: e.definitive,
            },
        )
        .await?;
        let now = Utc::now();
        let window = i64::from(self.settings.unexpected_positive_window_days);
        match Interpretation::try_from(e.interpretation).unwrap_or_default() {
            // A review is about the level of care of the patient's episode.
            Interpretation::UnexpectedPositive => {
                let Some(episode) = copies::active_episode(work.txn(), &e.patient_id).await? else {
                    return Ok(());
                };
                let since = collected_on - Duration::days(window);
                let days = copies::result_days(
                    work.txn(),
                    &e.patient_id,
                    Interpretation::UnexpectedPositive as i32,
                    since.max(episode.admitted_on),
                )
                .await?;
                if let Some(reasons) = rules::unexpected_positives(&days, window) {
                    open_review(
                        work,
                        &self.settings,
                        &episode,
                        ReviewDirection::StepUp,
                        reasons,
                        now,
                    )
                    .await?;
                }
            }
            // A possible diversion (a prescribed drug absent, or its parent
            // without the metabolite) is looked into where the test was taken.
            found @ (Interpretation::UnexpectedNegative | Interpretation::PossibleAdulteration) => {
                let tz = store::time_zone(work.txn(), &e.facility_id).await?;
                let today = iop_care::calendar::local(now, tz).date();
                let due =
                    iop_care::calendar::business_days_after(today, 1, &self.settings.holidays);
                let t = new_task(
                    (&e.patient_id, &e.facility_id),
                    TaskKind::ResultReview,
                    if found == Interpretation::UnexpectedNegative {
                        format!(
                            "test of {collected_on} negative for prescribed {}: possible diversion",
                            e.classes.join(", ")
                        )
                    } else {
                        format!(
                            "test of {collected_on}: {} without its metabolite, possibly added to the specimen",
                            e.classes.join(", ")
                        )
                    },
                    iop_care::calendar::end_of_day(due, tz),
                    tz,
                    &e.result_id,
                    now,
                );
                open_task(work, t).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Monday of the episode's first week: weeks before it are another episode's.
fn episode_week(e: &episode::Model) -> chrono::NaiveDate {
    iop_care::calendar::week_start(e.admitted_on)
}

/// Whether the episode's active plan has objectives and all are met.
async fn objectives_met(work: &UnitOfWork, e: &episode::Model) -> Result<bool, ClinicalError> {
    let versions = plans::of_episode(work.txn(), &e.episode_id).await?;
    let Some(active) = versions.iter().find(|p| p.activated_on.is_some()) else {
        return Ok(false);
    };
    let problems = crate::api::plan_problems(active)?;
    let objectives: Vec<_> = problems
        .iter()
        .flat_map(|p| &p.goals)
        .flat_map(|g| &g.objectives)
        .collect();
    Ok(!objectives.is_empty() && objectives.iter().all(|o| o.met))
}

async fn discharged(work: &mut UnitOfWork, e: PatientDischarged) -> Result<(), ApplyError> {
    let Some(mut found) = copies::episode(work.txn(), &e.episode_id).await? else {
        return Ok(());
    };
    if !found.active {
        return Ok(());
    }
    found.active = false;
    found.discharged_on = wire::naive_date(e.discharged_on.as_ref());
    copies::save_episode(work.txn(), found).await?;
    Ok(())
}

async fn merged(work: &mut UnitOfWork, e: PatientsMerged) -> Result<(), ApplyError> {
    let (from, to) = (e.merged_away_id.as_str(), e.survivor_id.as_str());
    work.lock(Stream::patient(to)).await?;
    store::merge(work.txn(), to, from).await?;
    iop_consent::replica::merge(work.txn(), to, from).await?;
    iop_consent::known::merge(work.txn(), to, from).await?;
    Ok(())
}

async fn attended(work: &mut UnitOfWork, e: AttendanceRecorded) -> Result<(), ApplyError> {
    let service_date = wire::naive_date(e.service_date.as_ref())
        .ok_or_else(|| ApplyError::Permanent("AttendanceRecorded without service_date".into()))?;
    copies::put_attendance(
        work.txn(),
        attendance::Model {
            session_id: e.session_id,
            patient_id: e.patient_id,
            facility_id: e.facility_id,
            session_type: e.session_type,
            status: e.status,
            minutes: i32::try_from(e.minutes).unwrap_or(i32::MAX),
            service_date,
        },
    )
    .await?;
    Ok(())
}

impl EventHandler for Handler {
    async fn apply(&self, work: &mut UnitOfWork, event: &InboundEvent) -> Result<(), ApplyError> {
        self.router.dispatch(self, work, event).await.map(|_| ())
    }
}
