//! Weekly hours: `GetWeeklyHours` of one patient, `ListAtRisk` (who cannot
//! reach the band even attending everything booked) and `CloseWeek` (once the
//! week is over: one published evaluation per patient and week, never twice;
//! a merge of two records that both had the week evaluates it again).
//! Minutes are summed for all of a facility's patients in one query each.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, Utc};
use iop_messaging::work::{Access, Actor, Stream};
use iop_proto::{common::v1::Date, scheduling::v1 as api};
use iop_runtime::{grpc::Call, ids::FacilityId, wire};

use super::{Result, SchedulingApi, convert};
use crate::{
    calendar,
    entity::enrollment,
    error::SchedulingError,
    hours::Week,
    store::{self, attendance, enrollments},
};

impl SchedulingApi {
    /// Monday of the week of `week_of` (today at the facility when absent).
    async fn week_of(&self, facility_id: &str, week_of: Option<&Date>) -> Result<NaiveDate> {
        let tz = store::time_zone(self.ledger.conn(), facility_id).await?;
        let day = match wire::optional_date("week_of", week_of)? {
            Some(d) => d,
            None => calendar::local(Utc::now(), tz).date(),
        };
        Ok(calendar::week_start(day))
    }

    /// The weeks starting `week` of each of `enrolled`, judged, in their order.
    async fn weeks<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        enrolled: &[enrollment::Model],
        week: NaiveDate,
    ) -> Result<Vec<Week>> {
        let patients: Vec<String> = enrolled.iter().map(|e| e.patient_id.clone()).collect();
        let last = week + Days::new(6);
        let attended = attendance::attended_minutes(db, &patients, week, last).await?;
        let booked = attendance::pending_minutes(db, &patients, week, last, |t| {
            self.settings.is_clinical(t)
        })
        .await?;
        let episodes = enrolled.iter().map(|e| e.episode_id.clone()).collect();
        let changes = enrollments::levels_of(db, episodes).await?;
        enrolled
            .iter()
            .map(|e| {
                let (_, age) = crate::hours::level_and_age(e)?;
                let none = BTreeMap::new();
                let recorded = changes.get(&e.episode_id).map_or(&[][..], Vec::as_slice);
                Ok(Week::judge(
                    &crate::hours::days_of(e, week, recorded)?,
                    age,
                    |level| self.settings.day_rule(level, age),
                    attended.get(&e.patient_id).unwrap_or(&none),
                    booked.get(&e.patient_id).unwrap_or(&none),
                ))
            })
            .collect()
    }

    pub(super) async fn get_weekly_hours(
        &self,
        call: &Call,
        req: api::GetWeeklyHoursRequest,
    ) -> Result<api::GetWeeklyHoursResponse> {
        let e = self
            .readable_enrollment(call, "scheduling.GetWeeklyHours", &req.patient_id)
            .await?;
        let week = self.week_of(&e.facility_id, req.week_of.as_ref()).await?;
        let judged = self
            .weeks(self.ledger.conn(), std::slice::from_ref(&e), week)
            .await?;
        Ok(api::GetWeeklyHoursResponse {
            hours: judged
                .first()
                .map(|w| convert::weekly_hours(&e.patient_id, week, w)),
        })
    }

    pub(super) async fn list_at_risk(
        &self,
        call: &Call,
        req: api::ListAtRiskRequest,
    ) -> Result<api::ListAtRiskResponse> {
        let facility_id = FacilityId::parse("facility_id", &req.facility_id)?;
        let facility = facility_id.as_str();
        call.caller.require_facility(facility)?;
        let week = self.week_of(facility, req.week_of.as_ref()).await?;
        let db = self.ledger.conn();
        let enrolled = enrollments::active_at(db, facility).await?;
        let judged = self.weeks(db, &enrolled, week).await?;
        let at_risk: Vec<api::WeeklyHours> = enrolled
            .iter()
            .zip(&judged)
            .filter(|(_, w)| w.at_risk())
            .map(|(e, w)| convert::weekly_hours(&e.patient_id, week, w))
            .collect();
        let accesses: Vec<Access> = at_risk
            .iter()
            .map(|h| Access::allowed(Some(&h.patient_id), Some(facility)))
            .collect();
        self.ledger
            .record_access(&Actor::of(call, "scheduling.ListAtRisk"), &accesses)
            .await?;
        Ok(api::ListAtRiskResponse { at_risk })
    }

    pub(super) async fn close_week(
        &self,
        call: &Call,
        req: api::CloseWeekRequest,
    ) -> Result<api::CloseWeekResponse> {
        let facility_id = FacilityId::parse("facility_id", &req.facility_id)?;
        let facility = facility_id.as_str();
        call.caller.require_facility(facility)?;
        let tz = store::time_zone(self.ledger.conn(), facility).await?;
        let week = self.week_of(facility, req.week_of.as_ref()).await?;
        let next = week + Days::new(7);
        if calendar::local(Utc::now(), tz).date() < next {
            return Err(SchedulingError::WeekNotEnded {
                week,
                facility_id: facility_id.into_string(),
            });
        }
        let mut work = self
            .ledger
            .command(Actor::of(call, "scheduling.CloseWeek"))
            .await?;
        let enrolled = enrollments::in_care_at(work.txn(), facility, week, next).await?;
        let judged = self.weeks(work.txn(), &enrolled, week).await?;
        let patients: Vec<String> = enrolled.iter().map(|e| e.patient_id.clone()).collect();
        let done = attendance::evaluated(work.txn(), &patients, week).await?;
        let now = Utc::now();
        let mut evaluated = Vec::new();
        for (e, w) in enrolled.iter().zip(&judged) {
            if !done.contains(&e.patient_id) {
                attendance::insert_evaluation(
                    work.txn(),
                    &e.patient_id,
                    week,
                    facility,
                    w.attended_minutes,
                    w.compliance as i32,
                )
                .await?;
                let event = crate::events::weekly_hours_evaluated(e, facility, week, w, now);
                work.emit(Stream::patient(&e.patient_id), &event).await?;
            }
            // Every patient's hours returned is a disclosure, evaluated now or before.
            work.audit(Some(&e.patient_id), Some(facility));
            evaluated.push(convert::weekly_hours(&e.patient_id, week, w));
        }
        if evaluated.is_empty() {
            work.audit(None, Some(facility));
        }
        work.commit().await?;
        Ok(api::CloseWeekResponse { evaluated })
    }
}
