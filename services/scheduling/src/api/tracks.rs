//! Tracks and their sessions: `CreateTrack`, `GenerateSessions` (one session
//! per matching local day, idempotent, clinician and room checked for each
//! new one) and `ListSessions`.

use iop_messaging::work::Actor;
use iop_proto::scheduling::v1 as api;
use iop_runtime::{grpc::Call, ids::FacilityId, wire};
use sea_orm::Set;

use super::{Result, SchedulingApi, convert};
use crate::{
    booking, calendar,
    entity::session,
    error::SchedulingError,
    store::{self, sessions},
    tracks::{self, weekday},
};

impl SchedulingApi {
    pub(super) async fn create_track(
        &self,
        call: &Call,
        req: api::CreateTrackRequest,
    ) -> Result<api::CreateTrackResponse> {
        let t = req
            .track
            .ok_or_else(|| SchedulingError::invalid("track", "is required"))?;
        let new = tracks::validate(&t, self.settings.track_limits())?;
        call.caller.require_facility(new.facility_id.as_str())?;
        store::time_zone(self.ledger.conn(), new.facility_id.as_str()).await?;
        let mut work = self
            .ledger
            .command(Actor::of(call, "scheduling.CreateTrack"))
            .await?;
        let stored = sessions::insert_track(work.txn(), &new).await?;
        work.audit(None, Some(new.facility_id.as_str()));
        work.commit().await?;
        Ok(api::CreateTrackResponse {
            track: Some(convert::track(&stored)),
        })
    }

    pub(super) async fn generate_sessions(
        &self,
        call: &Call,
        req: api::GenerateSessionsRequest,
    ) -> Result<api::GenerateSessionsResponse> {
        let t = self.track(&req.track_id).await?;
        call.caller.require_facility(&t.facility_id)?;
        let from = wire::required_date("from", req.from.as_ref())?;
        let to = wire::required_date("to", req.to.as_ref())?;
        if to < from || (to - from).num_days() > calendar::MAX_RANGE_DAYS as i64 {
            return Err(SchedulingError::invalid(
                "to",
                format!(
                    "must be from `from` to {} days after it",
                    calendar::MAX_RANGE_DAYS
                ),
            ));
        }
        let tz = store::time_zone(self.ledger.conn(), &t.facility_id).await?;
        let corrupt = |what: &str| SchedulingError::Corrupt {
            what: format!("{what} of track {}", t.id),
        };
        let start = convert::naive_time(t.start_minute).ok_or_else(|| corrupt("start"))?;
        let end = convert::naive_time(t.end_minute).ok_or_else(|| corrupt("end"))?;
        let days: Vec<_> = t
            .weekdays
            .split(',')
            .map(|d| d.parse::<i32>().ok().and_then(weekday))
            .collect::<Option<_>>()
            .ok_or_else(|| corrupt("weekdays"))?;
        let mut work = self
            .ledger
            .command(Actor::of(call, "scheduling.GenerateSessions"))
            .await?;
        let mut generated = Vec::new();
        for day in calendar::occurrences(from, to, &days) {
            let s = match sessions::of_track_on(work.txn(), &t.id, day).await? {
                Some(s) => s,
                None => {
                    let starts_at = calendar::instant(day, start, tz);
                    let ends_at = calendar::instant(day, end, tz);
                    sessions::claim_calendars(
                        &mut work,
                        &t.facility_id,
                        &t.facilitator_id,
                        &t.room,
                    )
                    .await?;
                    let (clinician, room) = sessions::clashes(
                        work.txn(),
                        &t.facility_id,
                        &t.facilitator_id,
                        &t.room,
                        starts_at,
                        ends_at,
                    )
                    .await?;
                    booking::staff_and_room_free(
                        &t.facilitator_id,
                        clinician.as_deref(),
                        &t.room,
                        room.as_deref(),
                    )?;
                    sessions::insert(
                        work.txn(),
                        session::ActiveModel {
                            id: Set(uuid::Uuid::now_v7().to_string()),
                            facility_id: Set(t.facility_id.clone()),
                            track_id: Set(Some(t.id.clone())),
                            session_type: Set(t.session_type),
                            starts_at: Set(starts_at),
                            ends_at: Set(ends_at),
                            local_date: Set(day),
                            local_start_minute: Set(t.start_minute),
                            local_end_minute: Set(t.end_minute),
                            facilitator_id: Set(t.facilitator_id.clone()),
                            room: Set(t.room.clone()),
                            capacity: Set(t.capacity),
                        },
                    )
                    .await?
                }
            };
            generated.push(s);
        }
        let counts =
            sessions::booked_counts(work.txn(), generated.iter().map(|s| s.id.clone())).await?;
        work.audit(None, Some(&t.facility_id));
        work.commit().await?;
        Ok(api::GenerateSessionsResponse {
            sessions: generated
                .iter()
                .map(|s| convert::session(s, counts.get(&s.id).copied().unwrap_or(0)))
                .collect(),
        })
    }

    pub(super) async fn list_sessions(
        &self,
        call: &Call,
        req: api::ListSessionsRequest,
    ) -> Result<api::ListSessionsResponse> {
        let facility_id = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility_id.as_str())?;
        let from = wire::required_date("from", req.from.as_ref())?;
        let to = wire::required_date("to", req.to.as_ref())?;
        let db = self.ledger.conn();
        let found = sessions::at_facility_between(db, facility_id.as_str(), from, to).await?;
        let counts = sessions::booked_counts(db, found.iter().map(|s| s.id.clone())).await?;
        Ok(api::ListSessionsResponse {
            sessions: found
                .iter()
                .map(|s| convert::session(s, counts.get(&s.id).copied().unwrap_or(0)))
                .collect(),
        })
    }
}
