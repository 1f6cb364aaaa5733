//! `RecordAttendance`: one session's entries, a whole group in one call, all
//! or nothing; each entry's minutes by the attendance rules, each published.

use std::collections::HashSet;

use chrono::Utc;
use iop_messaging::work::{Actor, Stream};
use iop_proto::scheduling::{
    events::v1 as events,
    v1::{self as api, AttendanceRecord, AttendanceStatus, SessionType},
};
use iop_runtime::{grpc::Call, ids::PatientId, wire};
use sea_orm::Set;

use super::{Result, SchedulingApi};
use crate::{
    attendance::{self as rules, Mark},
    calendar,
    entity::attendance,
    error::SchedulingError,
    store::{self, attendance as rows, bookings, enrollments},
};

impl SchedulingApi {
    pub(super) async fn record_attendance(
        &self,
        call: &Call,
        req: api::RecordAttendanceRequest,
    ) -> Result<api::RecordAttendanceResponse> {
        let s = self.session(&req.session_id).await?;
        call.caller.require_facility(&s.facility_id)?;
        let most = self.settings.max_attendance_entries;
        if req.entries.is_empty() || req.entries.len() > most {
            return Err(SchedulingError::invalid(
                "entries",
                format!("must hold 1 to {most} patients"),
            ));
        }
        let now = Utc::now();
        if s.starts_at > now {
            return Err(SchedulingError::NotStarted { session_id: s.id });
        }
        let tz = store::time_zone(self.ledger.conn(), &s.facility_id).await?;
        let session_type =
            SessionType::try_from(s.session_type).map_err(|_| SchedulingError::Corrupt {
                what: format!("session type of session {}", s.id),
            })?;
        let clinical = self.settings.is_clinical(session_type);
        let week_start = calendar::week_start(s.local_date);
        let mut work = self
            .ledger
            .command(Actor::of(call, "scheduling.RecordAttendance"))
            .await?;
        let mut records = Vec::new();
        let mut seen = HashSet::new();
        for entry in &req.entries {
            let patient_id = PatientId::parse("entries.patient_id", &entry.patient_id)?;
            let pid = patient_id.as_str();
            if !seen.insert(patient_id.clone()) {
                return Err(SchedulingError::invalid(
                    "entries.patient_id",
                    format!("patient {pid} is listed twice"),
                ));
            }
            let status = AttendanceStatus::try_from(entry.status).unwrap_or_default();
            let mark = Mark {
                status,
                checked_in: wire::instant(entry.checked_in_at.as_ref()),
                checked_out: wire::instant(entry.checked_out_at.as_ref()),
                minutes: entry.minutes,
            };
            let minutes = rules::minutes(s.starts_at, s.ends_at, &mark)?;
            work.lock(Stream::patient(pid)).await?;
            let spans = enrollments::of_patient(work.txn(), pid)
                .await?
                .into_iter()
                .filter(|e| e.facility_id == s.facility_id)
                .map(|e| (e.admitted_on, e.discharged_on));
            if let Some(last_day) = rules::ended_before(s.local_date, spans) {
                return Err(SchedulingError::EpisodeEnded {
                    session_id: s.id,
                    patient_id: pid.to_owned(),
                    day: s.local_date,
                    last_day,
                });
            }
            if bookings::held(work.txn(), pid, &s.id).await?.is_none() {
                return Err(SchedulingError::NotBooked {
                    patient_id: pid.to_owned(),
                    session_id: s.id,
                });
            }
            if rows::recorded(work.txn(), &s.id, pid).await? {
                return Err(SchedulingError::AttendanceAlreadyRecorded {
                    patient_id: pid.to_owned(),
                    session_id: s.id,
                });
            }
            rows::insert(
                work.txn(),
                attendance::ActiveModel {
                    session_id: Set(s.id.clone()),
                    patient_id: Set(pid.to_owned()),
                    status: Set(status as i32),
                    minutes: Set(i32::try_from(minutes).unwrap_or(i32::MAX)),
                    clinical: Set(clinical),
                    local_date: Set(s.local_date),
                    checked_in_at: Set(mark.checked_in),
                    checked_out_at: Set(mark.checked_out),
                    recorded_at: Set(now),
                    recorded_by: Set(call.caller.subject().to_owned()),
                },
            )
            .await?;
            let event = events::AttendanceRecorded {
                patient_id: pid.to_owned(),
                session_id: s.id.clone(),
                facility_id: s.facility_id.clone(),
                session_type: s.session_type,
                status: status as i32,
                minutes,
                clinical,
                service_date: Some(wire::date(s.local_date)),
                week_start: Some(wire::date(week_start)),
                time_zone: tz.name().to_owned(),
                occurred_at: Some(wire::timestamp(now)),
            };
            work.emit(Stream::patient(pid), &event).await?;
            work.audit(Some(pid), Some(&s.facility_id));
            records.push(AttendanceRecord {
                patient_id: patient_id.into_string(),
                status: status as i32,
                minutes,
            });
        }
        work.commit().await?;
        Ok(api::RecordAttendanceResponse { records })
    }
}
