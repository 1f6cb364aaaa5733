//! `PlaceOrder` and `ListResults`.

use chrono::Utc;
use iop_consent::gate::Intent;
use iop_messaging::work::{Actor, Stream, UnitOfWork};
use iop_proto::lab::{
    events::v1 as events,
    v1::{self as api, DrugClass, OrderReason, SpecimenType},
};
use iop_runtime::{
    grpc::Call,
    ids::{FacilityId, PatientId},
    wire,
};
use prost::Message as _;

use super::{LabApi, Result, convert};
use crate::{entity::order, error::LabError, store};

/// An order as the contract shows it.
pub(super) fn order_message(o: &order::Model, results: u32) -> api::Order {
    api::Order {
        order_id: o.id.clone(),
        accession: o.accession.clone(),
        patient_id: o.patient_id.clone(),
        facility_id: o.facility_id.clone(),
        specimen: o.specimen,
        panel: convert::panel(&o.panel)
            .into_iter()
            .map(|c| c as i32)
            .collect(),
        observed: o.observed,
        reason: o.reason,
        ordered_at: Some(wire::timestamp(o.ordered_at)),
        results,
    }
}

/// What an order asks for.
pub(super) struct NewOrder {
    pub specimen: SpecimenType,
    /// `DrugClass` values.
    pub panel: Vec<i32>,
    pub observed: bool,
    pub reason: OrderReason,
}

/// Places an order for (patient, facility) in `work` and publishes
/// `DrugTestOrdered`: the one way an order is made (by a caller, or as a
/// recollection).
pub(super) async fn place(
    work: &mut UnitOfWork,
    (patient_id, facility_id): (&str, &str),
    wanted: NewOrder,
    by: &str,
) -> Result<order::Model> {
    let id = uuid::Uuid::now_v7();
    // The random half of the id: unique, short enough to print on a cup.
    let accession = format!("ACC-{}", &id.simple().to_string()[20..]).to_ascii_uppercase();
    let now = Utc::now();
    let row = order::Model {
        id: id.to_string(),
        accession,
        patient_id: patient_id.to_owned(),
        facility_id: facility_id.to_owned(),
        specimen: wanted.specimen as i32,
        panel: wanted
            .panel
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(","),
        observed: wanted.observed,
        reason: wanted.reason as i32,
        ordered_at: now,
        ordered_by: by.to_owned(),
    };
    store::insert_order(work.txn(), row.clone()).await?;
    let event = events::DrugTestOrdered {
        patient_id: patient_id.to_owned(),
        order_id: row.id.clone(),
        facility_id: row.facility_id.clone(),
        reason: row.reason,
        observed: row.observed,
        occurred_at: Some(wire::timestamp(now)),
    };
    work.emit(Stream::patient(patient_id), &event).await?;
    Ok(row)
}

impl LabApi {
    pub(super) async fn place_order(
        &self,
        call: &Call,
        req: api::PlaceOrderRequest,
    ) -> Result<api::PlaceOrderResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        let specimen = SpecimenType::try_from(req.specimen).unwrap_or_default();
        if specimen == SpecimenType::Unspecified {
            return Err(LabError::invalid("specimen", "is required"));
        }
        let reason = OrderReason::try_from(req.reason).unwrap_or_default();
        if reason == OrderReason::Unspecified {
            return Err(LabError::invalid("reason", "is required"));
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
                Ok(class) if !panel.contains(&class) => panel.push(class),
                Ok(_) => {}
            }
        }
        if panel.is_empty() {
            return Err(LabError::invalid("panel", "names no drug class"));
        }
        let allowed = self
            .authorize(
                call,
                "lab.PlaceOrder",
                &patient_id,
                Intent::Write {
                    facility: facility.as_str(),
                },
            )
            .await?;
        store::time_zone(self.ledger.conn(), facility.as_str()).await?;
        let pid = allowed.access.patient_id;
        let mut work = self
            .ledger
            .command(Actor::of(call, "lab.PlaceOrder"))
            .await?;
        let wanted = NewOrder {
            specimen,
            panel: panel.iter().map(|c| *c as i32).collect(),
            observed: req.observed,
            reason,
        };
        let row = place(
            &mut work,
            (&pid, facility.as_str()),
            wanted,
            call.caller.subject(),
        )
        .await?;
        work.audit(Some(&pid), Some(facility.as_str()));
        work.commit().await?;
        Ok(api::PlaceOrderResponse {
            order: Some(order_message(&row, 0)),
        })
    }

    pub(super) async fn list_results(
        &self,
        call: &Call,
        req: api::ListResultsRequest,
    ) -> Result<api::ListResultsResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let allowed = self
            .authorize(call, "lab.ListResults", &patient_id, Intent::Read)
            .await?;
        let db = self.ledger.conn();
        let pid = &allowed.access.patient_id;
        let results = store::results_of(db, pid).await?;
        let orders = store::orders_of(db, pid).await?;
        let count = |id: &str| {
            u32::try_from(results.iter().filter(|r| r.order_id == id).count()).unwrap_or(u32::MAX)
        };
        Ok(api::ListResultsResponse {
            orders: orders
                .iter()
                .map(|o| order_message(o, count(&o.id)))
                .collect(),
            results: results
                .iter()
                .map(|r| {
                    api::Result::decode(r.body.as_slice()).map_err(|_| LabError::Corrupt {
                        what: format!("result {}", r.id),
                    })
                })
                .collect::<Result<_>>()?,
        })
    }
}

impl LabApi {
    pub(super) async fn disclose_results(
        &self,
        call: &Call,
        req: api::DiscloseResultsRequest,
    ) -> Result<api::DiscloseResultsResponse> {
        use iop_messaging::work::Access;
        use iop_proto::lab::v1::RecipientKind;
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let recipient = req.recipient_id.trim();
        if recipient.is_empty() {
            return Err(LabError::invalid("recipient_id", "is required"));
        }
        let kind = match RecipientKind::try_from(req.recipient_kind).unwrap_or_default() {
            RecipientKind::Court => crate::disclosure::Kind::Court,
            RecipientKind::Employer => crate::disclosure::Kind::Employer,
            RecipientKind::Unspecified => {
                return Err(LabError::invalid("recipient_kind", "is required"));
            }
        };
        const ACTION: &str = "lab.DiscloseResults";
        let allowed = self
            .authorize(call, ACTION, &patient_id, Intent::Read)
            .await?;
        let pid = allowed.access.patient_id;
        let Some(consent) =
            crate::disclosure::consent_for(&allowed.access.consents, recipient, kind, Utc::now())
        else {
            // No consent for this recipient and purpose: refused and audited
            // as any refusal, saying nothing of why.
            self.ledger
                .record_access(
                    &Actor::of(call, ACTION),
                    &[Access::denied(Some(&pid), None)],
                )
                .await?;
            return Err(iop_runtime::auth::Denied::PATIENT_NOT_VISIBLE.into());
        };
        let results = store::results_of(self.ledger.conn(), &pid)
            .await?
            .iter()
            .map(|r| {
                api::Result::decode(r.body.as_slice()).map_err(|_| LabError::Corrupt {
                    what: format!("result {}", r.id),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // The disclosure itself, accounted for under the consent.
        self.ledger
            .record_access(
                &Actor::of(call, ACTION),
                &[Access::allowed(Some(&pid), None).under_consent(Some(&consent.id))],
            )
            .await?;
        Ok(api::DiscloseResultsResponse {
            results,
            consent_id: consent.id.clone(),
            notice: iop_consent::REDISCLOSURE_NOTICE.to_owned(),
        })
    }
}
