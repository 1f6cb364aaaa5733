//! `RecordScreening` and `ListScreenings`: a form scored from its items (the
//! first missing or impossible item named), stored with its responses,
//! published as `ScreeningScored` (the band, never the answers); PHQ-9 item 9
//! above 0 opens a suicide-risk follow-up due the same facility-local day;
//! a PHQ-9 or GAD-7 worse than the previous by the configured points opens a
//! step-up review.

use chrono::{Days, Duration, Utc};
use iop_consent::gate::Intent;
use iop_messaging::work::{Actor, Stream};
use iop_proto::{
    clinical::{
        events::v1 as events,
        v1::{self as api, Instrument, ReviewDirection, ReviewReason, ReviewTrigger, TaskKind},
    },
    common::v1::Sex,
};
use iop_runtime::{
    grpc::Call,
    ids::{FacilityId, PatientId},
    wire,
};

use super::{ClinicalApi, Result, convert};
use crate::{
    entity::screening,
    error::ClinicalError,
    events::{new_task, open_review, open_task},
    instruments::{self, FormError},
    store::{self, copies, records},
};

impl From<FormError> for ClinicalError {
    fn from(e: FormError) -> Self {
        ClinicalError::invalid("responses", e.to_string())
    }
}

impl ClinicalApi {
    pub(super) async fn record_screening(
        &self,
        call: &Call,
        req: api::RecordScreeningRequest,
    ) -> Result<api::RecordScreeningResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        let instrument = Instrument::try_from(req.instrument).unwrap_or_default();
        let form = instruments::form(instrument)
            .ok_or_else(|| ClinicalError::invalid("instrument", "is required"))?;
        let now = Utc::now();
        let administered_at = wire::instant(req.administered_at.as_ref()).unwrap_or(now);
        if administered_at > now + Duration::minutes(1) {
            return Err(ClinicalError::invalid(
                "administered_at",
                "cannot be in the future",
            ));
        }
        let responses: Vec<(u32, u32)> = req.responses.iter().map(|r| (r.item, r.value)).collect();
        // The form is checked before the patient is looked at: a bad form
        // says nothing about anyone.
        instruments::score(form, &responses, Sex::Female)?;
        let allowed = self
            .authorize(
                call,
                "clinical.RecordScreening",
                &patient_id,
                Intent::Write {
                    facility: facility.as_str(),
                },
            )
            .await?;
        let pid = allowed.access.patient_id.clone();
        let tz = store::time_zone(self.ledger.conn(), facility.as_str()).await?;
        let mut work = self
            .ledger
            .command(Actor::of(call, "clinical.RecordScreening"))
            .await?;
        work.lock(Stream::patient(&pid)).await?;
        let sex = copies::patient(work.txn(), &pid)
            .await?
            .and_then(|p| Sex::try_from(p.sex).ok())
            .unwrap_or_default();
        let scored = instruments::score(form, &responses, sex)?;
        let earlier: Vec<u32> = records::screenings(work.txn(), &pid, Some(instrument as i32))
            .await?
            .iter()
            .filter(|s| s.administered_at <= administered_at)
            .map(|s| u32::try_from(s.total).unwrap_or(0))
            .collect();
        let worsening = instruments::worsening(form, self.settings.worsening_points);
        let trend = instruments::trend(form, &earlier, scored.total, worsening);
        let administered_on = iop_care::calendar::local(administered_at, tz).date();
        let mut sorted = responses.clone();
        sorted.sort_unstable();
        let row = screening::Model {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id: pid.clone(),
            facility_id: facility.as_str().to_owned(),
            instrument: instrument as i32,
            responses: sorted
                .iter()
                .map(|(i, v)| format!("{i}:{v}"))
                .collect::<Vec<_>>()
                .join(","),
            total: i32::try_from(scored.total).unwrap_or(i32::MAX),
            band: scored.band.to_owned(),
            positive: scored.positive,
            suicide_risk: scored.suicide_risk,
            administered_at,
            administered_on,
            rescreen_due_on: administered_on + Days::new(u64::from(self.settings.rescreen_days)),
            recorded_by: call.caller.subject().to_owned(),
        };
        records::insert_screening(work.txn(), row.clone()).await?;
        let event = events::ScreeningScored {
            patient_id: pid.clone(),
            screening_id: row.id.clone(),
            facility_id: row.facility_id.clone(),
            instrument: row.instrument,
            total: scored.total,
            band: row.band.clone(),
            positive: row.positive,
            loinc: form.loinc.to_owned(),
            suicide_risk: row.suicide_risk,
            administered_on: Some(wire::date(administered_on)),
            rescreen_due_on: Some(wire::date(row.rescreen_due_on)),
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(Stream::patient(&pid), &event).await?;
        let mut follow_up_task_id = String::new();
        if scored.suicide_risk {
            // Same day, facility time: within the configured hours, never
            // after the day ends.
            let today = iop_care::calendar::local(now, tz).date();
            let due = (now + Duration::hours(i64::from(self.settings.follow_up_hours)))
                .min(iop_care::calendar::last_second_of_day(today, tz));
            let item_9 = responses
                .iter()
                .find(|(i, _)| *i == 9)
                .map_or(0, |(_, v)| *v);
            let mut t = new_task(
                (&pid, facility.as_str()),
                TaskKind::SuicideRiskFollowUp,
                format!("PHQ-9 item 9 = {item_9}: same-day suicide-risk follow-up"),
                due,
                tz,
                &row.id,
                now,
            );
            // The screener follows up (listed as theirs; the facility sees it too).
            t.assignee = call.caller.subject().to_owned();
            follow_up_task_id = open_task(&mut work, t).await?.id;
        }
        let worse = trend.is_some_and(|t| t.worsened);
        if worse && let Some(episode) = copies::active_episode(work.txn(), &pid).await? {
            let previous = earlier.last().copied().unwrap_or(0);
            let reason = ReviewReason {
                trigger: ReviewTrigger::ScoreWorsened as i32,
                on: Some(wire::date(administered_on)),
                detail: format!("{} {} after {previous}", form.name, scored.total),
            };
            open_review(
                &mut work,
                &self.settings,
                &episode,
                ReviewDirection::StepUp,
                vec![reason],
                now,
            )
            .await?;
        }
        work.audit(Some(&pid), Some(facility.as_str()));
        work.commit().await?;
        Ok(api::RecordScreeningResponse {
            score: Some(convert::score(&row, trend)),
            follow_up_task_id,
        })
    }

    pub(super) async fn list_screenings(
        &self,
        call: &Call,
        req: api::ListScreeningsRequest,
    ) -> Result<api::ListScreeningsResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let instrument = Instrument::try_from(req.instrument).unwrap_or_default();
        let allowed = self
            .authorize(call, "clinical.ListScreenings", &patient_id, Intent::Read)
            .await?;
        let rows =
            records::screenings(self.ledger.conn(), &allowed.access.patient_id, None).await?;
        let mut scores = convert::scores(&rows, self.settings.worsening_points);
        if instrument != Instrument::Unspecified {
            scores.retain(|s| s.instrument == instrument as i32);
        }
        Ok(api::ListScreeningsResponse { scores })
    }
}
