//! `ApplyRemittance`, `ListWorkQueue` and `ResolveWorkItem`: an 835 applied
//! to the facility's claims all at once or not at all, and the denials it
//! leaves for a biller.

use std::collections::BTreeSet;

use chrono::Utc;
use iop_messaging::work::{Actor, Stream};
use iop_proto::billing::{events::v1 as events, v1 as api};
use iop_runtime::{grpc::Call, ids::FacilityId, wire};

use super::{
    BillingApi, Result,
    claims::{emit_status, queue, uuid_field},
    convert,
};
use crate::{
    entity::{claim, remittance, work_item},
    error::BillingError,
    money, store,
    x12::remit,
};

impl BillingApi {
    pub(super) async fn apply_remittance(
        &self,
        call: &Call,
        req: api::ApplyRemittanceRequest,
    ) -> Result<api::ApplyRemittanceResponse> {
        let (facility, parsed) = Self::x12_file(call, &req.facility_id, &req.x12)?;
        let f = facility.as_str();
        let r = remit::read(&parsed).map_err(|problem| BillingError::X12 { problem })?;
        if let Some(p) = self.rules.providers.get(f)
            && !r.payee_npi.is_empty()
            && r.payee_npi != p.npi
        {
            return Err(BillingError::X12 {
                problem: format!("N1*PE names NPI {}, not facility {f}'s", r.payee_npi),
            });
        }
        let now = Utc::now();
        let mut work = self
            .ledger
            .command(Actor::of(call, "billing.ApplyRemittance"))
            .await?;
        let key = format!("{}|{}", r.payer_id, r.trace);
        work.lock(Stream {
            aggregate: "remittance",
            id: &key,
        })
        .await?;
        if let Some(before) = store::remittance(work.txn(), &r.payer_id, &r.trace).await? {
            work.audit(None, Some(f));
            work.commit().await?;
            return Ok(api::ApplyRemittanceResponse {
                remittance_id: before.id,
                paid_cents: before.paid_cents,
                already_applied: true,
                ..Default::default()
            });
        }
        // Every claim is ours and its charge is what we billed, or nothing applies.
        let mut rows: Vec<claim::Model> = Vec::with_capacity(r.claims.len());
        for p in &r.claims {
            let found = store::claim_by_number(work.txn(), &p.number)
                .await?
                .filter(|c| c.facility_id == f)
                .ok_or_else(|| BillingError::NotFound {
                    what: "claim (835 CLP01)",
                    id: p.number.clone(),
                })?;
            let expected = if p.is_reversal() {
                -found.charge_cents
            } else {
                found.charge_cents
            };
            if p.charge != expected {
                return Err(BillingError::X12 {
                    problem: format!(
                        "claim {}: CLP03 {} is not the {} billed",
                        p.number,
                        money::to_x12(p.charge),
                        money::to_x12(expected)
                    ),
                });
            }
            work.lock(Stream::patient(&found.patient_id)).await?;
            rows.push(found);
        }
        let mut work_items = 0u32;
        let mut patients: BTreeSet<String> = BTreeSet::new();
        let mut shown = Vec::new();
        for (p, mut c) in r.claims.iter().zip(rows) {
            // A claim may appear twice in one file (a reversal, then its correction).
            if let Some(newer) = store::claim(work.txn(), &c.id).await? {
                c = newer;
            }
            let codes: Vec<String> = p.all_adjustments().map(remit::Adjustment::code).collect();
            let outcome = p.outcome();
            let balance_before = c.patient_resp_cents;
            c.paid_cents += p.paid;
            c.patient_resp_cents += p.patient_responsibility;
            c.status = outcome.status as i32;
            let mut all: Vec<String> = c
                .adjustments
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
            for code in &codes {
                if !all.contains(code) {
                    all.push(code.clone());
                }
            }
            c.adjustments = all.join(",");
            if !p.payer_claim_number.is_empty() {
                c.payer_claim_number.clone_from(&p.payer_claim_number);
            }
            c.updated_at = now;
            store::put::<claim::Entity, _>(work.txn(), c.clone()).await?;
            if let Some((code, reason)) = outcome.work {
                queue(&mut work, (f, &c.patient_id, &c.id), &code, reason).await?;
                work_items += 1;
            }
            emit_status(&mut work, &c, codes).await?;
            if c.patient_resp_cents != balance_before {
                let balance = store::balance(work.txn(), &c.patient_id).await?;
                let event = events::PatientBalanceChanged {
                    patient_id: c.patient_id.clone(),
                    balance_cents: balance,
                    occurred_at: Some(wire::timestamp(now)),
                };
                work.emit(Stream::patient(&c.patient_id), &event).await?;
            }
            work.audit(Some(&c.patient_id), Some(f));
            patients.insert(c.patient_id.clone());
            let lines = store::charges_of_claim(work.txn(), &c.id).await?.len();
            shown.push(convert::claim(&c, u32::try_from(lines).unwrap_or(u32::MAX)));
        }
        let adjustments: Vec<api::ProviderAdjustment> = r
            .provider_adjustments
            .iter()
            .map(|a| api::ProviderAdjustment {
                reason: a.reason.clone(),
                reference: a.reference.clone(),
                amount_cents: a.cents,
            })
            .collect();
        let row = remittance::Model {
            id: uuid::Uuid::now_v7().to_string(),
            payer_id: r.payer_id.clone(),
            trace_number: r.trace.clone(),
            facility_id: f.to_owned(),
            paid_cents: r.paid,
            provider_adjustments: r
                .provider_adjustments
                .iter()
                .map(|a| format!("{}:{}:{}", a.reason, a.reference, a.cents))
                .collect::<Vec<_>>()
                .join(","),
            applied_at: now,
            applied_by: call.caller.subject().to_owned(),
        };
        store::put::<remittance::Entity, _>(work.txn(), row.clone()).await?;
        let event = events::RemittanceApplied {
            remittance_id: row.id.clone(),
            facility_id: f.to_owned(),
            payer_id: r.payer_id.clone(),
            trace_number: r.trace.clone(),
            paid_cents: r.paid,
            claims: u32::try_from(r.claims.len()).unwrap_or(u32::MAX),
            provider_adjustments: adjustments.clone(),
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(
            Stream {
                aggregate: "facility",
                id: f,
            },
            &event,
        )
        .await?;
        if patients.is_empty() {
            work.audit(None, Some(f));
        }
        work.commit().await?;
        Ok(api::ApplyRemittanceResponse {
            remittance_id: row.id,
            claims: shown,
            provider_adjustments: adjustments,
            paid_cents: r.paid,
            work_items,
            already_applied: false,
        })
    }

    pub(super) async fn list_work_queue(
        &self,
        call: &Call,
        req: api::ListWorkQueueRequest,
    ) -> Result<api::ListWorkQueueResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility.as_str())?;
        let items = store::work_queue(self.ledger.conn(), facility.as_str()).await?;
        self.disclosed(
            call,
            "billing.ListWorkQueue",
            facility.as_str(),
            items
                .iter()
                .map(|w| w.patient_id.as_str())
                .filter(|p| !p.is_empty()),
        )
        .await?;
        Ok(api::ListWorkQueueResponse {
            items: items.iter().map(convert::work_item).collect(),
        })
    }

    pub(super) async fn resolve_work_item(
        &self,
        call: &Call,
        req: api::ResolveWorkItemRequest,
    ) -> Result<api::ResolveWorkItemResponse> {
        let id = uuid_field("work_item_id", &req.work_item_id)?;
        let resolution = iop_runtime::ids::reason("resolution", &req.resolution, 500)?;
        let mut work = self
            .ledger
            .command(Actor::of(call, "billing.ResolveWorkItem"))
            .await?;
        work.lock(Stream {
            aggregate: "work_item",
            id: &id,
        })
        .await?;
        let not_found = || BillingError::NotFound {
            what: "work item",
            id: id.clone(),
        };
        let mut item: work_item::Model = store::work_item(work.txn(), &id)
            .await?
            .ok_or_else(not_found)?;
        if !call.caller.acts_for(&item.facility_id) {
            return Err(not_found());
        }
        if item.resolved {
            return Err(BillingError::Resolved { work_item_id: id });
        }
        item.resolved = true;
        item.resolution = Some(resolution);
        item.resolved_by = Some(call.caller.subject().to_owned());
        store::put::<work_item::Entity, _>(work.txn(), item.clone()).await?;
        let patient = (!item.patient_id.is_empty()).then_some(item.patient_id.as_str());
        work.audit(patient, Some(&item.facility_id));
        work.commit().await?;
        Ok(api::ResolveWorkItemResponse {
            item: Some(convert::work_item(&item)),
        })
    }
}
