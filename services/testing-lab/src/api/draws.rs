//! The day's tests: the random draw (`DrawRandom`: today's, once per
//! facility and day; `GetDraw`: as made, reproduced from its seed and
//! inputs; [`crate::draw`] selects) and standing orders (`PlaceStandingOrder`,
//! and `OrderDueTests`: today's due tests, once; [`crate::standing`] decides).

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
        let panel = panel_of(&req.panel)?;
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
            // Shown again: a read of who was selected, audited.
            work.audit(None, Some(facility.as_str()));
            work.commit().await?;
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

/// `DrugClass` values of a request's panel, each once; refused when empty or unknown.
fn panel_of(classes: &[i32]) -> Result<Vec<i32>> {
    let mut panel = Vec::new();
    for c in classes {
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
    Ok(panel)
}

impl LabApi {
    pub(super) async fn place_standing_order(
        &self,
        call: &Call,
        req: api::PlaceStandingOrderRequest,
    ) -> Result<api::PlaceStandingOrderResponse> {
        use iop_consent::gate::Intent;
        let patient_id = iop_runtime::ids::PatientId::parse("patient_id", &req.patient_id)?;
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        if !(1..=7).contains(&req.per_week) {
            return Err(LabError::invalid("per_week", "must be 1 to 7"));
        }
        let panel = panel_of(&req.panel)?;
        let allowed = self
            .authorize(
                call,
                "lab.PlaceStandingOrder",
                &patient_id,
                Intent::Write {
                    facility: facility.as_str(),
                },
            )
            .await?;
        let row = entity::standing_order::Model {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id: allowed.access.patient_id.clone(),
            facility_id: facility.as_str().to_owned(),
            per_week: i32::try_from(req.per_week).unwrap_or(1),
            panel: panel
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            observed: req.observed,
            created_at: Utc::now(),
            created_by: call.caller.subject().to_owned(),
        };
        let mut work = self
            .ledger
            .command(Actor::of(call, "lab.PlaceStandingOrder"))
            .await?;
        store::insert_standing(work.txn(), row.clone()).await?;
        work.audit(Some(&row.patient_id), Some(&row.facility_id));
        work.commit().await?;
        Ok(api::PlaceStandingOrderResponse {
            standing_order: Some(api::StandingOrder {
                standing_order_id: row.id,
                patient_id: row.patient_id,
                facility_id: row.facility_id,
                per_week: req.per_week,
                panel,
                observed: row.observed,
            }),
        })
    }

    pub(super) async fn order_due_tests(
        &self,
        call: &Call,
        req: api::OrderDueTestsRequest,
    ) -> Result<api::OrderDueTestsResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        let day = wire::required_date("day", req.day.as_ref())?;
        call.caller.require_facility(facility.as_str())?;
        let tz = today_only(self.ledger.conn(), facility.as_str(), day).await?;
        let mut work = self
            .ledger
            .command(Actor::of(call, "lab.OrderDueTests"))
            .await?;
        let key = format!("{}/{day}", facility.as_str());
        work.lock(Stream {
            aggregate: "standing",
            id: &key,
        })
        .await?;
        let monday = iop_care::calendar::week_start(day);
        let week = (
            iop_care::calendar::instant(monday, NaiveTime::MIN, tz),
            iop_care::calendar::end_of_day(monday + chrono::Days::new(6), tz),
        );
        let mut placed = Vec::new();
        for s in store::standing_at(work.txn(), facility.as_str()).await? {
            let sessions = store::sessions_of(work.txn(), &s.patient_id, &s.facility_id, week)
                .await?
                .into_iter()
                .map(|t| iop_care::calendar::local(t, tz).date())
                .collect::<Vec<_>>();
            let per_week = u32::try_from(s.per_week).unwrap_or(1);
            if !crate::standing::due(per_week, &sessions, day) {
                continue;
            }
            let already = store::orders_of(work.txn(), &s.patient_id)
                .await?
                .iter()
                .any(|o| {
                    o.facility_id == s.facility_id
                        && o.reason == OrderReason::Standing as i32
                        && iop_care::calendar::local(o.ordered_at, tz).date() == day
                });
            if already {
                continue;
            }
            let order = place(
                &mut work,
                (&s.patient_id, &s.facility_id),
                NewOrder {
                    specimen: SpecimenType::Urine,
                    panel: crate::api::convert::panel(&s.panel)
                        .into_iter()
                        .map(|c| c as i32)
                        .collect(),
                    observed: s.observed,
                    reason: OrderReason::Standing,
                },
                call.caller.subject(),
            )
            .await?;
            work.audit(Some(&s.patient_id), Some(&s.facility_id));
            placed.push(super::orders::order_message(&order, 0));
        }
        // The run itself is audited, whether or not anything was due.
        work.audit(None, Some(facility.as_str()));
        work.commit().await?;
        Ok(api::OrderDueTestsResponse { orders: placed })
    }
}
