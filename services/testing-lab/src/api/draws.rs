//! The random draw: `DrawRandom` (today's, once per facility and day) and
//! `GetDraw` (as made, reproduced from its seed and inputs). See
//! [`crate::draw`] for the selection itself.

use chrono::{NaiveDate, NaiveTime, Utc};
use iop_messaging::work::{Actor, Stream};
use iop_proto::lab::v1::{self as api, DrugClass, OrderReason, SpecimenType};
use iop_runtime::{grpc::Call, ids::FacilityId, wire};
use prost::Message as _;

use super::{
    LabApi, Result,
    orders::{NewOrder, place},
};
use crate::{draw, entity, error::LabError, store};

/// Today at the facility, and the day asked for, which must be it.
async fn today_only<C: sea_orm::ConnectionTrait>(
    db: &C,
    facility: &str,
    day: NaiveDate,
) -> Result<chrono_tz::Tz> {
    let tz = store::time_zone(db, facility).await?;
    let today = iop_care::calendar::local(Utc::now(), tz).date();
    if !draw::releasable(day, today) {
        return Err(LabError::NoAdvanceNotice { day });
    }
    if day < today {
        return Err(LabError::invalid(
            "day",
            format!("a draw is made on its day ({today})"),
        ));
    }
    Ok(tz)
}

fn decode(row: &entity::draw::Model) -> Result<api::Draw> {
    api::Draw::decode(row.body.as_slice()).map_err(|_| LabError::Corrupt {
        what: format!("draw of {} on {}", row.facility_id, row.day),
    })
}

impl LabApi {
    pub(super) async fn draw_random(
        &self,
        call: &Call,
        req: api::DrawRandomRequest,
    ) -> Result<api::DrawRandomResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        let day = wire::required_date("day", req.day.as_ref())?;
        if !(1..=1_000_000).contains(&req.rate_ppm) {
            return Err(LabError::invalid("rate_ppm", "must be 1 to 1 000 000"));
        }
        let mut panel = Vec::new();
        for c in &req.panel {
            match DrugClass::try_from(*c) {
                Ok(DrugClass::Unspecified) | Err(_) => {
                    return Err(LabError::invalid(
                        "panel",
                        format!("{c} is not a drug class"),
                    ));
                }
                Ok(class) if !panel.contains(&(class as i32)) => panel.push(class as i32),
                Ok(_) => {}
            }
        }
        if panel.is_empty() {
            return Err(LabError::invalid("panel", "names no drug class"));
        }
        call.caller.require_facility(facility.as_str())?;
        let db = self.ledger.conn();
        let tz = today_only(db, facility.as_str(), day).await?;
        let mut work = self
            .ledger
            .command(Actor::of(call, "lab.DrawRandom"))
            .await?;
        // Made once: concurrent calls queue on the facility-day's stream
        // lock, and the second returns the first draw.
        let key = format!("{}/{day}", facility.as_str());
        work.lock(Stream {
            aggregate: "draw",
            id: &key,
        })
        .await?;
        if let Some(made) = store::draw(work.txn(), facility.as_str(), day).await? {
            return Ok(api::DrawRandomResponse {
                draw: Some(decode(&made)?),
            });
        }
        let start = iop_care::calendar::instant(day, NaiveTime::MIN, tz);
        let end = iop_care::calendar::end_of_day(day, tz);
        let eligible =
            store::scheduled_between(work.txn(), facility.as_str(), (start, end)).await?;
        // The seed exists only now: nobody could know the selection before.
        let seed = u64::from_le_bytes(
            uuid::Uuid::new_v4().as_bytes()[..8]
                .try_into()
                .unwrap_or([0; 8]),
        );
        let inputs = draw::Inputs {
            facility_id: facility.as_str().to_owned(),
            day,
            seed,
            rate_ppm: req.rate_ppm,
            eligible: eligible.clone(),
        };
        let selected = draw::draw(&inputs);
        let mut accessions = Vec::new();
        for pid in &selected {
            let order = place(
                &mut work,
                (pid, facility.as_str()),
                NewOrder {
                    specimen: SpecimenType::Urine,
                    panel: panel.clone(),
                    observed: req.observed,
                    reason: OrderReason::Random,
                },
                call.caller.subject(),
            )
            .await?;
            accessions.push(order.accession);
            work.audit(Some(pid), Some(facility.as_str()));
        }
        let now = Utc::now();
        let made = api::Draw {
            facility_id: facility.as_str().to_owned(),
            day: Some(wire::date(day)),
            seed,
            rate_ppm: req.rate_ppm,
            eligible,
            selected,
            accessions,
            drawn_at: Some(wire::timestamp(now)),
            drawn_by: call.caller.subject().to_owned(),
            reproduced: true,
        };
        store::insert_draw(
            work.txn(),
            entity::draw::Model {
                facility_id: facility.as_str().to_owned(),
                day,
                body: made.encode_to_vec(),
                drawn_at: now,
            },
        )
        .await?;
        work.audit(None, Some(facility.as_str()));
        work.commit().await?;
        Ok(api::DrawRandomResponse { draw: Some(made) })
    }

    pub(super) async fn get_draw(
        &self,
        call: &Call,
        req: api::GetDrawRequest,
    ) -> Result<api::GetDrawResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        let day = wire::required_date("day", req.day.as_ref())?;
        call.caller.require_facility(facility.as_str())?;
        let row = store::draw(self.ledger.conn(), facility.as_str(), day)
            .await?
            .ok_or_else(|| LabError::NoDraw { day })?;
        let mut made = decode(&row)?;
        let again = draw::draw(&draw::Inputs {
            facility_id: made.facility_id.clone(),
            day,
            seed: made.seed,
            rate_ppm: made.rate_ppm,
            eligible: made.eligible.clone(),
        });
        made.reproduced = again == made.selected;
        Ok(api::GetDrawResponse { draw: Some(made) })
    }
}
