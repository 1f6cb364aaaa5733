//! Rows to contract messages, one function per message, so every RPC shows a
//! record the same way.

use chrono::NaiveDate;
use iop_proto::clinical::v1::{self as api, Instrument, PlanStatus, Problem, TreatmentPlan};
use iop_runtime::wire;
use prost::Message as _;

use crate::{
    entity::{addendum, episode, medication, note, plan, review, screening, task},
    error::ClinicalError,
    instruments, treatment,
};

/// A note with its addenda.
pub fn note(n: &note::Model, addenda: &[addendum::Model]) -> api::Note {
    api::Note {
        note_id: n.id.clone(),
        patient_id: n.patient_id.clone(),
        facility_id: n.facility_id.clone(),
        kind: n.kind,
        session_id: n.session_id.clone(),
        service_date: Some(wire::date(n.service_date)),
        shared_summary: n.shared_summary.clone(),
        text: n.body.clone(),
        author: n.author.clone(),
        written_at: Some(wire::timestamp(n.written_at)),
        signed: n.signed_at.is_some(),
        signed_by: n.signed_by.clone().unwrap_or_default(),
        signed_at: n.signed_at.map(wire::timestamp),
        addenda: addenda
            .iter()
            .filter(|a| a.note_id == n.id)
            .map(|a| api::Addendum {
                addendum_id: a.id.clone(),
                text: a.body.clone(),
                author: a.author.clone(),
                written_at: Some(wire::timestamp(a.written_at)),
            })
            .collect(),
        due_at: Some(wire::timestamp(n.due_at)),
    }
}

/// The problems stored in a plan version.
pub fn plan_problems(p: &plan::Model) -> Result<Vec<Problem>, ClinicalError> {
    TreatmentPlan::decode(p.content.as_slice())
        .map(|t| t.problems)
        .map_err(|_| ClinicalError::Corrupt {
            what: format!("content of plan {}", p.id),
        })
}

/// The problems as stored.
pub fn plan_content(problems: Vec<Problem>) -> Vec<u8> {
    TreatmentPlan {
        problems,
        ..Default::default()
    }
    .encode_to_vec()
}

/// The status of plan version `p` of episode `e` on `today` ([`crate::treatment`]).
pub fn plan_status(
    p: &plan::Model,
    e: Option<&episode::Model>,
    today: NaiveDate,
    review_days: u32,
) -> (PlanStatus, Option<treatment::Review>) {
    treatment::status(
        p.activated_on,
        p.superseded,
        e.and_then(|e| e.level_changed_on),
        today,
        review_days,
    )
}

/// A plan version as the contract shows it.
pub fn plan(
    p: &plan::Model,
    e: Option<&episode::Model>,
    today: NaiveDate,
    review_days: u32,
) -> Result<TreatmentPlan, ClinicalError> {
    let (status, review) = plan_status(p, e, today, review_days);
    Ok(TreatmentPlan {
        plan_id: p.id.clone(),
        patient_id: p.patient_id.clone(),
        episode_id: p.episode_id.clone(),
        facility_id: p.facility_id.clone(),
        version: u32::try_from(p.version).unwrap_or(0),
        status: status as i32,
        problems: plan_problems(p)?,
        written_by: p.written_by.clone(),
        written_at: Some(wire::timestamp(p.written_at)),
        practitioner_signed_by: p.practitioner_signed_by.clone().unwrap_or_default(),
        practitioner_signed_at: p.practitioner_signed_at.map(wire::timestamp),
        patient_signed_at: p.patient_signed_at.map(wire::timestamp),
        review_due_on: treatment::periodic_review_on(p.activated_on, review_days).map(wire::date),
        review_reason: review.map(treatment::Review::reason).unwrap_or_default(),
    })
}

/// A task.
pub fn task(t: &task::Model) -> api::Task {
    api::Task {
        task_id: t.id.clone(),
        patient_id: t.patient_id.clone(),
        facility_id: t.facility_id.clone(),
        kind: t.kind,
        reason: t.reason.clone(),
        assignee: t.assignee.clone(),
        due_at: Some(wire::timestamp(t.due_at)),
        due_on: Some(wire::date(t.due_on)),
        done: t.done,
        source_id: t.source_id.clone(),
    }
}

/// A medication.
pub fn medication(m: &medication::Model) -> api::Medication {
    api::Medication {
        medication_id: m.id.clone(),
        patient_id: m.patient_id.clone(),
        facility_id: m.facility_id.clone(),
        name: m.name.clone(),
        class: m.class,
        prescriber: m.prescriber.clone(),
        started_on: Some(wire::date(m.started_on)),
        stopped_on: m.stopped_on.map(wire::date),
    }
}

/// A review.
pub fn review(r: &review::Model) -> Result<api::Review, ClinicalError> {
    Ok(api::Review {
        review_id: r.id.clone(),
        patient_id: r.patient_id.clone(),
        facility_id: r.facility_id.clone(),
        episode_id: r.episode_id.clone(),
        direction: r.direction,
        reasons: crate::events::decode_reasons(r)?,
        opened_at: Some(wire::timestamp(r.opened_at)),
        open: r.open,
        decision: r.decision,
        to_level: r.to_level,
        justification: r.justification.clone(),
        decided_by: r.decided_by.clone(),
        decided_at: r.decided_at.map(wire::timestamp),
        from_level: r.from_level,
    })
}

/// Scores of one patient, oldest first, each with its change from the first
/// and the previous score of the same instrument.
pub fn scores(rows: &[screening::Model], worsening: u32) -> Vec<api::Score> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, s) in rows.iter().enumerate() {
        let instrument = Instrument::try_from(s.instrument).unwrap_or_default();
        let earlier: Vec<u32> = rows[..i]
            .iter()
            .filter(|e| e.instrument == s.instrument)
            .map(|e| u32::try_from(e.total).unwrap_or(0))
            .collect();
        let change = instruments::form(instrument).and_then(|f| {
            let total = u32::try_from(s.total).unwrap_or(0);
            instruments::trend(f, &earlier, total, instruments::worsening(f, worsening))
        });
        out.push(score(s, change));
    }
    out
}

/// One score, with its change if known.
pub fn score(s: &screening::Model, change: Option<instruments::Trend>) -> api::Score {
    let instrument = Instrument::try_from(s.instrument).unwrap_or_default();
    let form = instruments::form(instrument);
    api::Score {
        screening_id: s.id.clone(),
        patient_id: s.patient_id.clone(),
        instrument: s.instrument,
        total: u32::try_from(s.total).unwrap_or(0),
        max_total: form.map_or(0, instruments::Form::max_total),
        band: s.band.clone(),
        positive: s.positive,
        loinc: form.map_or("", |f| f.loinc).to_owned(),
        suicide_risk: s.suicide_risk,
        administered_at: Some(wire::timestamp(s.administered_at)),
        administered_on: Some(wire::date(s.administered_on)),
        rescreen_due_on: Some(wire::date(s.rescreen_due_on)),
        facility_id: s.facility_id.clone(),
        change: change.map(|t| api::Change {
            baseline_total: t.baseline,
            previous_total: t.previous,
            since_previous: t.since_previous,
            percent_drop_from_baseline: t.percent_drop,
            response: t.response,
            remission: t.remission,
            worsened: t.worsened,
        }),
    }
}
