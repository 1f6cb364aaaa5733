//! The clinician's work: medications (`RecordMedication`, `StopMedication`,
//! `ListMedications`), tasks (`ListTasks`, `CompleteTask`) and level-of-care
//! reviews (`ListReviews`, `DecideReview`, whose decision admissions acts on).

use chrono::Utc;
use iop_consent::gate::Intent;
use iop_messaging::work::{Actor, Stream};
use iop_proto::{
    clinical::{
        events::v1 as events,
        v1::{self as api, Decision, MedicationClass, TaskKind},
    },
    common::v1::LevelOfCare,
};
use iop_runtime::{
    auth::Denied,
    grpc::Call,
    ids::{FacilityId, PatientId},
    wire,
};

use super::{ClinicalApi, MAX_SHORT, MAX_TEXT, Result, convert, plans::uuid_field, text};
use crate::{
    entity::medication,
    error::ClinicalError,
    reviews as rules,
    store::{self, notes, records, reviews},
};

impl ClinicalApi {
    pub(super) async fn record_medication(
        &self,
        call: &Call,
        req: api::RecordMedicationRequest,
    ) -> Result<api::RecordMedicationResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        let name = text("name", &req.name, MAX_SHORT)?;
        let prescriber = text("prescriber", &req.prescriber, MAX_SHORT)?;
        let class = MedicationClass::try_from(req.class).unwrap_or_default();
        if class == MedicationClass::Unspecified {
            return Err(ClinicalError::invalid("class", "is required"));
        }
        let started_on = wire::required_date("started_on", req.started_on.as_ref())?;
        let allowed = self
            .authorize(
                call,
                "clinical.RecordMedication",
                &patient_id,
                Intent::Write {
                    facility: facility.as_str(),
                },
            )
            .await?;
        let pid = allowed.access.patient_id;
        let now = Utc::now();
        let row = medication::Model {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id: pid.clone(),
            facility_id: facility.as_str().to_owned(),
            name,
            class: class as i32,
            prescriber,
            started_on,
            stopped_on: None,
            recorded_by: call.caller.subject().to_owned(),
        };
        let mut work = self
            .ledger
            .command(Actor::of(call, "clinical.RecordMedication"))
            .await?;
        records::insert_medication(work.txn(), row.clone()).await?;
        let event = events::MedicationStarted {
            patient_id: pid.clone(),
            medication_id: row.id.clone(),
            class: row.class,
            started_on: Some(wire::date(started_on)),
            facility_id: row.facility_id.clone(),
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(Stream::patient(&pid), &event).await?;
        work.audit(Some(&pid), Some(facility.as_str()));
        work.commit().await?;
        Ok(api::RecordMedicationResponse {
            medication: Some(convert::medication(&row)),
        })
    }

    pub(super) async fn stop_medication(
        &self,
        call: &Call,
        req: api::StopMedicationRequest,
    ) -> Result<api::StopMedicationResponse> {
        let id = uuid_field("medication_id", &req.medication_id)?;
        let stopped_on = wire::required_date("stopped_on", req.stopped_on.as_ref())?;
        let mut row = records::medication(self.ledger.conn(), &id)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        self.authorize_owned(
            call,
            "clinical.StopMedication",
            &row.patient_id,
            Some(&row.facility_id),
        )
        .await?;
        if row.stopped_on.is_some() {
            return Err(ClinicalError::MedicationStopped { medication_id: id });
        }
        if stopped_on < row.started_on {
            return Err(ClinicalError::invalid(
                "stopped_on",
                format!("cannot be before the start, {}", row.started_on),
            ));
        }
        row.stopped_on = Some(stopped_on);
        let mut work = self
            .ledger
            .command(Actor::of(call, "clinical.StopMedication"))
            .await?;
        records::save_medication(work.txn(), row.clone()).await?;
        let event = events::MedicationStopped {
            patient_id: row.patient_id.clone(),
            medication_id: row.id.clone(),
            class: row.class,
            stopped_on: Some(wire::date(stopped_on)),
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        work.emit(Stream::patient(&row.patient_id), &event).await?;
        work.audit(Some(&row.patient_id), Some(&row.facility_id));
        work.commit().await?;
        Ok(api::StopMedicationResponse {
            medication: Some(convert::medication(&row)),
        })
    }

    pub(super) async fn list_medications(
        &self,
        call: &Call,
        req: api::ListMedicationsRequest,
    ) -> Result<api::ListMedicationsResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let allowed = self
            .authorize(call, "clinical.ListMedications", &patient_id, Intent::Read)
            .await?;
        let rows = records::medications(self.ledger.conn(), &allowed.access.patient_id).await?;
        Ok(api::ListMedicationsResponse {
            medications: rows.iter().map(convert::medication).collect(),
        })
    }

    pub(super) async fn list_tasks(
        &self,
        call: &Call,
        req: api::ListTasksRequest,
    ) -> Result<api::ListTasksResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility.as_str())?;
        let assignee = (!req.assignee.is_empty()).then_some(req.assignee.as_str());
        let db = self.ledger.conn();
        let mut tasks: Vec<api::Task> = records::open_tasks(db, facility.as_str(), assignee)
            .await?
            .iter()
            .map(convert::task)
            .collect();
        // Derived: late notes (their author's) and plans due (the facility's).
        let now = Utc::now();
        let tz = store::time_zone(db, facility.as_str()).await?;
        for n in notes::late_at(db, facility.as_str(), now).await? {
            tasks.push(api::Task {
                task_id: String::new(),
                patient_id: n.patient_id.clone(),
                facility_id: n.facility_id.clone(),
                kind: TaskKind::NoteLate as i32,
                reason: format!("note of {} unsigned past its deadline", n.service_date),
                assignee: n.author.clone(),
                due_at: Some(wire::timestamp(n.due_at)),
                due_on: Some(wire::date(
                    iop_care::calendar::local(n.due_at - chrono::Duration::seconds(1), tz).date(),
                )),
                done: false,
                source_id: n.id.clone(),
            });
        }
        let today = iop_care::calendar::local(now, tz).date();
        for p in super::plans::overdue_at(db, facility.as_str(), today, &self.settings).await? {
            let due_on = wire::naive_date(p.due_on.as_ref()).unwrap_or(today);
            tasks.push(api::Task {
                task_id: String::new(),
                patient_id: p.patient_id.clone(),
                facility_id: facility.as_str().to_owned(),
                kind: TaskKind::PlanDue as i32,
                reason: p.reason.clone(),
                assignee: String::new(),
                due_at: Some(wire::timestamp(iop_care::calendar::end_of_day(due_on, tz))),
                due_on: p.due_on,
                done: false,
                source_id: p.episode_id.clone(),
            });
        }
        if let Some(who) = assignee {
            tasks.retain(|t| t.assignee.is_empty() || t.assignee == who);
        }
        tasks.sort_by_key(|t| t.due_at.map(|d| (d.seconds, d.nanos)));
        Ok(api::ListTasksResponse { tasks })
    }

    pub(super) async fn complete_task(
        &self,
        call: &Call,
        req: api::CompleteTaskRequest,
    ) -> Result<api::CompleteTaskResponse> {
        let id = uuid_field("task_id", &req.task_id)?;
        let outcome = text("outcome", &req.outcome, MAX_TEXT)?;
        let mut row = records::task(self.ledger.conn(), &id)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        self.authorize_owned(
            call,
            "clinical.CompleteTask",
            &row.patient_id,
            Some(&row.facility_id),
        )
        .await?;
        if row.done {
            return Err(ClinicalError::TaskDone { task_id: id });
        }
        let now = Utc::now();
        row.done = true;
        row.completed_at = Some(now);
        row.completed_by = Some(call.caller.subject().to_owned());
        row.outcome = Some(outcome);
        let mut work = self
            .ledger
            .command(Actor::of(call, "clinical.CompleteTask"))
            .await?;
        records::save_task(work.txn(), row.clone()).await?;
        let event = events::TaskCompleted {
            patient_id: row.patient_id.clone(),
            task_id: row.id.clone(),
            kind: row.kind,
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(Stream::patient(&row.patient_id), &event).await?;
        work.audit(Some(&row.patient_id), Some(&row.facility_id));
        work.commit().await?;
        Ok(api::CompleteTaskResponse {
            task: Some(convert::task(&row)),
        })
    }

    pub(super) async fn list_reviews(
        &self,
        call: &Call,
        req: api::ListReviewsRequest,
    ) -> Result<api::ListReviewsResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility.as_str())?;
        let rows = reviews::at(self.ledger.conn(), facility.as_str(), req.include_decided).await?;
        Ok(api::ListReviewsResponse {
            reviews: rows.iter().map(convert::review).collect::<Result<_>>()?,
        })
    }

    pub(super) async fn decide_review(
        &self,
        call: &Call,
        req: api::DecideReviewRequest,
    ) -> Result<api::DecideReviewResponse> {
        let id = uuid_field("review_id", &req.review_id)?;
        let decision = Decision::try_from(req.decision).unwrap_or_default();
        let to = LevelOfCare::try_from(req.to_level).unwrap_or_default();
        let justification = text("justification", &req.justification, MAX_TEXT)?;
        let found = reviews::review(self.ledger.conn(), &id)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        self.authorize_owned(
            call,
            "clinical.DecideReview",
            &found.patient_id,
            Some(&found.facility_id),
        )
        .await?;
        let from = LevelOfCare::try_from(found.from_level).unwrap_or_default();
        rules::check_decision(decision, from, to)
            .map_err(|(field, why)| ClinicalError::invalid(field, why))?;
        let mut work = self
            .ledger
            .command(Actor::of(call, "clinical.DecideReview"))
            .await?;
        work.lock(Stream::patient(&found.patient_id)).await?;
        let mut row = reviews::review(work.txn(), &id)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        if !row.open {
            return Err(ClinicalError::ReviewDecided { review_id: id });
        }
        let now = Utc::now();
        row.open = false;
        row.decision = decision as i32;
        row.to_level = to as i32;
        row.justification = justification;
        row.decided_by = call.caller.subject().to_owned();
        row.decided_at = Some(now);
        reviews::save(work.txn(), row.clone()).await?;
        for mut t in records::open_tasks_of(work.txn(), &row.id).await? {
            t.done = true;
            t.completed_at = Some(now);
            t.completed_by = Some(row.decided_by.clone());
            t.outcome = Some(format!("decided: {}", decision.as_str_name()));
            records::save_task(work.txn(), t).await?;
        }
        let tz = store::time_zone(work.txn(), &row.facility_id).await?;
        let event = events::LevelOfCareDecided {
            patient_id: row.patient_id.clone(),
            review_id: row.id.clone(),
            facility_id: row.facility_id.clone(),
            episode_id: row.episode_id.clone(),
            decision: row.decision,
            from_level: row.from_level,
            to_level: row.to_level,
            effective_on: Some(wire::date(iop_care::calendar::local(now, tz).date())),
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(Stream::patient(&row.patient_id), &event).await?;
        work.audit(Some(&row.patient_id), Some(&row.facility_id));
        work.commit().await?;
        Ok(api::DecideReviewResponse {
            review: Some(convert::review(&row)?),
        })
    }
}
