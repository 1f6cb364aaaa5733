//! Treatment plans: `WriteTreatmentPlan` (a new version, a draft),
//! `SignTreatmentPlan` (the practitioner's signature and the patient's,
//! attested; with both the version is active and earlier ones superseded),
//! `GetTreatmentPlan`, and `ListOverduePlans` (none active by the due day
//! after admission, a periodic review past due, a level change since
//! activation).

use chrono::{NaiveDate, Utc};
use iop_consent::gate::Intent;
use iop_messaging::work::{Actor, Stream, UnitOfWork};
use iop_proto::clinical::{
    events::v1 as events,
    v1::{self as api, Modality, Problem, Signer},
};
use iop_runtime::{
    auth::Denied,
    grpc::Call,
    ids::{FacilityId, PatientId},
    wire,
};

use super::{ClinicalApi, MAX_SHORT, Result, convert, text};
use crate::{
    entity::{episode, plan},
    error::ClinicalError,
    store::{self, copies, plans, records},
};

/// Checks every part of a plan; names the first field that is wrong.
fn check_problems(problems: &[Problem]) -> Result<Vec<Problem>> {
    if problems.is_empty() {
        return Err(ClinicalError::invalid("problems", "a plan needs a problem"));
    }
    let mut out = Vec::with_capacity(problems.len());
    for (i, p) in problems.iter().enumerate() {
        let n = i + 1;
        let mut p = p.clone();
        p.description = text("problems.description", &p.description, MAX_SHORT)?;
        if !p.icd10.trim().is_empty() {
            p.icd10 = iop_care::icd10::normalize(&p.icd10).ok_or_else(|| {
                ClinicalError::invalid(
                    "problems.icd10",
                    format!("problem {n}: {:?} is not an ICD-10-CM code", p.icd10),
                )
            })?;
        }
        if p.goals.is_empty() {
            return Err(ClinicalError::invalid(
                "problems.goals",
                format!("problem {n} needs a goal"),
            ));
        }
        if p.interventions.is_empty() {
            return Err(ClinicalError::invalid(
                "problems.interventions",
                format!("problem {n} needs an intervention"),
            ));
        }
        for g in &mut p.goals {
            g.description = text("problems.goals.description", &g.description, MAX_SHORT)?;
            if g.objectives.is_empty() {
                return Err(ClinicalError::invalid(
                    "problems.goals.objectives",
                    format!("every goal of problem {n} needs a measurable objective"),
                ));
            }
            for o in &mut g.objectives {
                o.description = text(
                    "problems.goals.objectives.description",
                    &o.description,
                    MAX_SHORT,
                )?;
                wire::required_date(
                    "problems.goals.objectives.target_date",
                    o.target_date.as_ref(),
                )?;
            }
        }
        for v in &mut p.interventions {
            if Modality::try_from(v.modality).unwrap_or_default() == Modality::Unspecified {
                return Err(ClinicalError::invalid(
                    "problems.interventions.modality",
                    format!("an intervention of problem {n} names no modality"),
                ));
            }
            v.frequency = text("problems.interventions.frequency", &v.frequency, MAX_SHORT)?;
            v.responsible_clinician = text(
                "problems.interventions.responsible_clinician",
                &v.responsible_clinician,
                MAX_SHORT,
            )?;
        }
        out.push(p);
    }
    Ok(out)
}

impl ClinicalApi {
    /// The facility-local day at `facility`.
    async fn today_at(&self, facility: &str) -> Result<NaiveDate> {
        let tz = store::time_zone(self.ledger.conn(), facility).await?;
        Ok(iop_care::calendar::local(Utc::now(), tz).date())
    }

    pub(super) async fn write_treatment_plan(
        &self,
        call: &Call,
        req: api::WriteTreatmentPlanRequest,
    ) -> Result<api::WriteTreatmentPlanResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let problems = check_problems(&req.problems)?;
        let allowed = self
            .authorize(
                call,
                "clinical.WriteTreatmentPlan",
                &patient_id,
                Intent::WriteAnywhere,
            )
            .await?;
        let pid = allowed.access.patient_id;
        let mut work = self
            .ledger
            .command(Actor::of(call, "clinical.WriteTreatmentPlan"))
            .await?;
        work.lock(Stream::patient(&pid)).await?;
        let episode = copies::active_episode(work.txn(), &pid)
            .await?
            .ok_or_else(|| ClinicalError::NoActiveEpisode {
                patient_id: pid.clone(),
            })?;
        call.caller.require_facility(&episode.facility_id)?;
        let versions = plans::of_episode(work.txn(), &episode.episode_id).await?;
        let now = Utc::now();
        let row = plan::Model {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id: pid.clone(),
            episode_id: episode.episode_id.clone(),
            facility_id: episode.facility_id.clone(),
            version: versions.first().map_or(1, |v| v.version + 1),
            content: convert::plan_content(problems),
            written_by: call.caller.subject().to_owned(),
            written_at: now,
            practitioner_signed_by: None,
            practitioner_signed_at: None,
            patient_signed_at: None,
            patient_attested_by: None,
            activated_on: None,
            superseded: false,
        };
        plans::insert(work.txn(), row.clone()).await?;
        let today = self.today_at(&episode.facility_id).await?;
        let shown = convert::plan(&row, Some(&episode), today, self.settings.plan_review_days)?;
        emit_plan(&mut work, &row, &shown).await?;
        work.audit(Some(&pid), Some(&episode.facility_id));
        work.commit().await?;
        Ok(api::WriteTreatmentPlanResponse { plan: Some(shown) })
    }

    pub(super) async fn sign_treatment_plan(
        &self,
        call: &Call,
        req: api::SignTreatmentPlanRequest,
    ) -> Result<api::SignTreatmentPlanResponse> {
        let id = uuid_field("plan_id", &req.plan_id)?;
        let signer = Signer::try_from(req.signer).unwrap_or_default();
        if signer == Signer::Unspecified {
            return Err(ClinicalError::invalid("signer", "is required"));
        }
        let found = plans::plan(self.ledger.conn(), &id)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        self.authorize_owned(
            call,
            "clinical.SignTreatmentPlan",
            &found.patient_id,
            Some(&found.facility_id),
        )
        .await?;
        let mut work = self
            .ledger
            .command(Actor::of(call, "clinical.SignTreatmentPlan"))
            .await?;
        work.lock(Stream::patient(&found.patient_id)).await?;
        // Read again under the patient's lock: a concurrent signature is seen.
        let mut row = plans::plan(work.txn(), &id)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        let refuse = |why| ClinicalError::PlanNotSignable {
            plan_id: id.clone(),
            why,
        };
        if row.superseded {
            return Err(refuse("a later version superseded it"));
        }
        let now = Utc::now();
        let who = call.caller.subject().to_owned();
        match signer {
            Signer::Practitioner if row.practitioner_signed_at.is_some() => {
                return Err(refuse("the practitioner signed it already"));
            }
            Signer::Patient if row.patient_signed_at.is_some() => {
                return Err(refuse("the patient signed it already"));
            }
            Signer::Practitioner => {
                row.practitioner_signed_by = Some(who);
                row.practitioner_signed_at = Some(now);
            }
            Signer::Patient | Signer::Unspecified => {
                row.patient_signed_at = Some(now);
                row.patient_attested_by = Some(who);
            }
        }
        let episode = copies::episode(work.txn(), &row.episode_id).await?;
        let today = self.today_at(&row.facility_id).await?;
        if row.practitioner_signed_at.is_some() && row.patient_signed_at.is_some() {
            row.activated_on = Some(today);
            supersede_earlier(&mut work, &row).await?;
            for t in records::open_tasks_of(work.txn(), &row.episode_id).await? {
                let mut t = t;
                t.done = true;
                t.completed_at = Some(now);
                t.completed_by = Some(call.caller.subject().to_owned());
                t.outcome = Some(format!("treatment plan version {} signed", row.version));
                records::save_task(work.txn(), t).await?;
            }
        }
        plans::save(work.txn(), row.clone()).await?;
        let shown = convert::plan(
            &row,
            episode.as_ref(),
            today,
            self.settings.plan_review_days,
        )?;
        emit_plan(&mut work, &row, &shown).await?;
        work.audit(Some(&row.patient_id), Some(&row.facility_id));
        work.commit().await?;
        Ok(api::SignTreatmentPlanResponse { plan: Some(shown) })
    }

    pub(super) async fn get_treatment_plan(
        &self,
        call: &Call,
        req: api::GetTreatmentPlanRequest,
    ) -> Result<api::GetTreatmentPlanResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let allowed = self
            .authorize(call, "clinical.GetTreatmentPlan", &patient_id, Intent::Read)
            .await?;
        let db = self.ledger.conn();
        let latest = plans::latest_of_patient(db, &allowed.access.patient_id)
            .await?
            .ok_or_else(|| ClinicalError::NotFound {
                what: "treatment plan of patient",
                id: patient_id.to_string(),
            })?;
        let episode = copies::episode(db, &latest.episode_id).await?;
        let today = self.today_at(&latest.facility_id).await?;
        let plan = convert::plan(
            &latest,
            episode.as_ref(),
            today,
            self.settings.plan_review_days,
        )?;
        Ok(api::GetTreatmentPlanResponse { plan: Some(plan) })
    }

    pub(super) async fn list_overdue_plans(
        &self,
        call: &Call,
        req: api::ListOverduePlansRequest,
    ) -> Result<api::ListOverduePlansResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility.as_str())?;
        let as_of = match wire::optional_date("as_of", req.as_of.as_ref())? {
            Some(d) => d,
            None => self.today_at(facility.as_str()).await?,
        };
        let out = overdue_at(self.ledger.conn(), facility.as_str(), as_of, &self.settings).await?;
        Ok(api::ListOverduePlansResponse { plans: out })
    }
}

/// The plans of `facility`'s active episodes overdue on `as_of`, due first.
pub(super) async fn overdue_at<C: sea_orm::ConnectionTrait>(
    db: &C,
    facility: &str,
    as_of: NaiveDate,
    settings: &crate::settings::ClinicalSettings,
) -> Result<Vec<api::OverduePlan>> {
    let episodes = copies::active_at(db, facility).await?;
    let ids = episodes.iter().map(|e| e.episode_id.clone()).collect();
    let versions = plans::of_episodes(db, ids).await?;
    let mut out = Vec::new();
    for e in &episodes {
        let of_episode: Vec<&plan::Model> = versions
            .iter()
            .filter(|p| p.episode_id == e.episode_id)
            .collect();
        out.extend(overdue(e, &of_episode, as_of, settings));
    }
    out.sort_by(|a, b| {
        let key = |p: &api::OverduePlan| p.due_on.as_ref().map(|d| (d.year, d.month, d.day));
        (key(a), &a.patient_id).cmp(&(key(b), &b.patient_id))
    });
    Ok(out)
}

/// Episode `e`'s plan (versions latest first) as an overdue entry on
/// `as_of`, if it is overdue ([`crate::treatment::overdue`]).
fn overdue(
    e: &episode::Model,
    versions: &[&plan::Model],
    as_of: NaiveDate,
    settings: &crate::settings::ClinicalSettings,
) -> Option<api::OverduePlan> {
    let active = versions.iter().find(|p| p.activated_on.is_some());
    let (due_on, reason) = crate::treatment::overdue(
        e.admitted_on,
        e.level_changed_on,
        active.and_then(|p| p.activated_on),
        as_of,
        (settings.plan_due_days, settings.plan_review_days),
    )?;
    Some(api::OverduePlan {
        patient_id: e.patient_id.clone(),
        episode_id: e.episode_id.clone(),
        due_on: Some(wire::date(due_on)),
        reason,
        plan_id: versions.first().map(|p| p.id.clone()).unwrap_or_default(),
    })
}

/// Marks every earlier version of the episode's plan superseded.
async fn supersede_earlier(work: &mut UnitOfWork, row: &plan::Model) -> Result<()> {
    for mut p in plans::of_episode(work.txn(), &row.episode_id).await? {
        if p.version < row.version && !p.superseded {
            p.superseded = true;
            plans::save(work.txn(), p).await?;
        }
    }
    Ok(())
}

/// Publishes the version's status.
async fn emit_plan(
    work: &mut UnitOfWork,
    row: &plan::Model,
    shown: &api::TreatmentPlan,
) -> Result<()> {
    let event = events::TreatmentPlanChanged {
        patient_id: row.patient_id.clone(),
        plan_id: row.id.clone(),
        episode_id: row.episode_id.clone(),
        facility_id: row.facility_id.clone(),
        version: shown.version,
        status: shown.status,
        review_due_on: shown.review_due_on,
        occurred_at: Some(wire::timestamp(Utc::now())),
        diagnoses: crate::treatment::diagnoses(&shown.problems),
    };
    work.emit(Stream::patient(&row.patient_id), &event).await?;
    Ok(())
}

/// A UUID id field, canonical.
pub(super) fn uuid_field(field: &'static str, value: &str) -> Result<String> {
    Ok(iop_runtime::ids::uuid(field, value)?)
}
