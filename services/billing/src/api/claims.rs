//! `CreateClaims`, `SubmitClaims`, `AcknowledgeClaim` and `ListClaims`: a
//! facility's open charges of ended weeks gathered into claims (one per
//! patient, payer and month of service), written as the payer's 837, and
//! followed through the payer's acknowledgement.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Utc};
use iop_messaging::work::{Actor, Stream, UnitOfWork};
use iop_proto::billing::{
    events::v1 as events,
    v1::{self as api, ChargeStatus, ClaimStatus},
};
use iop_runtime::{grpc::Call, ids::FacilityId, wire};

use super::{BillingApi, Result, convert};
use crate::{
    entity::{charge, claim, work_item},
    error::BillingError,
    rules, settle, store,
    x12::claims::{self as x837, Address, Person, Subscriber},
};

/// The claim's status as the contract names it.
pub(super) fn status_name(status: i32) -> String {
    ClaimStatus::try_from(status)
        .unwrap_or_default()
        .as_str_name()
        .trim_start_matches("CLAIM_STATUS_")
        .to_owned()
}

/// Publishes a claim's new status.
pub(super) async fn emit_status(
    work: &mut UnitOfWork,
    c: &claim::Model,
    adjustments: Vec<String>,
) -> Result<()> {
    let event = events::ClaimStatusChanged {
        patient_id: c.patient_id.clone(),
        claim_id: c.id.clone(),
        status: c.status,
        paid_cents: c.paid_cents,
        patient_responsibility_cents: c.patient_resp_cents,
        adjustments,
        occurred_at: Some(wire::timestamp(Utc::now())),
    };
    work.emit(Stream::patient(&c.patient_id), &event).await?;
    Ok(())
}

/// Queues a work item.
pub(super) async fn queue(
    work: &mut UnitOfWork,
    (facility_id, patient_id, claim_id): (&str, &str, &str),
    code: &str,
    reason: String,
) -> Result<()> {
    store::put::<work_item::Entity, _>(
        work.txn(),
        work_item::Model {
            id: uuid::Uuid::now_v7().to_string(),
            facility_id: facility_id.to_owned(),
            patient_id: patient_id.to_owned(),
            claim_id: claim_id.to_owned(),
            code: code.to_owned(),
            reason,
            opened_at: Utc::now(),
            resolved: false,
            resolution: None,
            resolved_by: None,
        },
    )
    .await?;
    Ok(())
}

/// The next number of a sequence, under its lock.
async fn next(work: &mut UnitOfWork, name: &'static str) -> Result<i64> {
    work.lock(Stream {
        aggregate: "counter",
        id: name,
    })
    .await?;
    Ok(store::next(work.txn(), name).await?)
}

impl BillingApi {
    pub(super) async fn create_claims(
        &self,
        call: &Call,
        req: api::CreateClaimsRequest,
    ) -> Result<api::CreateClaimsResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility.as_str())?;
        let f = facility.as_str();
        let tz = store::time_zone(self.ledger.conn(), f).await?;
        let now = Utc::now();
        let today = iop_care::calendar::local(now, tz).date();
        let mut work = self
            .ledger
            .command(Actor::of(call, "billing.CreateClaims"))
            .await?;
        // Charges about to pass their payer's limit unclaimed are queued
        // before settling voids them.
        let mut late = 0u32;
        for c in store::open_charges_at(work.txn(), f).await? {
            let Some(payer) = self.rules.payer(&c.payer_id) else {
                continue;
            };
            let deadline = rules::filing_deadline(payer, c.service_date);
            if today > deadline {
                late += 1;
                let reason = format!(
                    "{} of {} was not claimed by {deadline}, the payer's timely filing limit",
                    c.hcpcs, c.service_date
                );
                queue(&mut work, (f, &c.patient_id, ""), "TIMELY_FILING", reason).await?;
            }
        }
        let patients = store::unsettled_at(work.txn(), f).await?;
        for pid in &patients {
            settle::settle(&mut work, &self.rules, pid, now).await?;
        }
        // Open charges of ended weeks, by patient, payer and month.
        let mut groups: BTreeMap<(String, String, i32, u32), Vec<charge::Model>> = BTreeMap::new();
        for c in store::open_charges_at(work.txn(), f).await? {
            let week_end = rules::week_start(c.service_date) + Days::new(6);
            if week_end >= today {
                continue;
            }
            let key = (
                c.patient_id.clone(),
                c.payer_id.clone(),
                c.service_date.year(),
                c.service_date.month(),
            );
            groups.entry(key).or_default().push(c);
        }
        let mut made = Vec::new();
        for ((pid, payer_id, _, _), charges) in groups {
            let Some(payer) = self.rules.payer(&payer_id) else {
                continue;
            };
            let n = next(&mut work, "claim").await?;
            let from = charges
                .iter()
                .map(|c| c.service_date)
                .min()
                .unwrap_or(today);
            let to = charges
                .iter()
                .map(|c| c.service_date)
                .max()
                .unwrap_or(today);
            let row = claim::Model {
                id: uuid::Uuid::now_v7().to_string(),
                number: format!("C{n:09}"),
                patient_id: pid.clone(),
                facility_id: f.to_owned(),
                payer_id: payer_id.clone(),
                claim_type: payer.claim.as_str().to_owned(),
                status: ClaimStatus::Created as i32,
                from_date: from,
                to_date: to,
                charge_cents: charges.iter().map(|c| c.amount_cents).sum(),
                paid_cents: 0,
                patient_resp_cents: 0,
                diagnoses: store::diagnoses(work.txn(), &pid).await?.join(","),
                adjustments: String::new(),
                payer_claim_number: String::new(),
                interchange: String::new(),
                created_at: now,
                updated_at: now,
            };
            store::put::<claim::Entity, _>(work.txn(), row.clone()).await?;
            for mut c in charges.iter().cloned() {
                c.status = ChargeStatus::Claimed as i32;
                c.claim_id.clone_from(&row.id);
                store::put::<charge::Entity, _>(work.txn(), c).await?;
            }
            let event = events::ClaimCreated {
                patient_id: pid.clone(),
                claim_id: row.id.clone(),
                claim_number: row.number.clone(),
                facility_id: f.to_owned(),
                payer_id: payer_id.clone(),
                claim_type: row.claim_type.clone(),
                from_date: Some(wire::date(from)),
                to_date: Some(wire::date(to)),
                charge_cents: row.charge_cents,
                lines: u32::try_from(charges.len()).unwrap_or(u32::MAX),
                occurred_at: Some(wire::timestamp(now)),
            };
            work.emit(Stream::patient(&pid), &event).await?;
            work.audit(Some(&pid), Some(f));
            made.push(convert::claim(
                &row,
                u32::try_from(charges.len()).unwrap_or(u32::MAX),
            ));
        }
        if made.is_empty() {
            work.audit(None, Some(f));
        }
        work.commit().await?;
        Ok(api::CreateClaimsResponse {
            claims: made,
            past_timely_filing: late,
        })
    }

    pub(super) async fn submit_claims(
        &self,
        call: &Call,
        req: api::SubmitClaimsRequest,
    ) -> Result<api::SubmitClaimsResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        if req.payer_id.trim().is_empty() {
            return Err(BillingError::invalid("payer_id", "is required"));
        }
        call.caller.require_facility(facility.as_str())?;
        let f = facility.as_str();
        let payer = self
            .rules
            .payer(&req.payer_id)
            .ok_or_else(|| BillingError::UnknownPayer {
                payer_id: req.payer_id.trim().to_owned(),
            })?
            .clone();
        let provider = self
            .rules
            .providers
            .get(f)
            .ok_or_else(|| BillingError::NoProvider {
                facility_id: f.to_owned(),
            })?
            .clone();
        let now = Utc::now();
        let mut work = self
            .ledger
            .command(Actor::of(call, "billing.SubmitClaims"))
            .await?;
        work.lock(Stream {
            aggregate: "claims",
            id: f,
        })
        .await?;
        let mut rows: Vec<claim::Model> =
            store::claims_at(work.txn(), f, Some(ClaimStatus::Created as i32))
                .await?
                .into_iter()
                .filter(|c| c.payer_id == payer.id)
                .collect();
        if rows.is_empty() {
            work.audit(None, Some(f));
            work.commit().await?;
            return Ok(api::SubmitClaimsResponse::default());
        }
        rows.sort_by(|a, b| (&a.patient_id, &a.number).cmp(&(&b.patient_id, &b.number)));
        let mut documents = Vec::with_capacity(rows.len());
        for c in &rows {
            documents.push(self.document(&work, c).await?);
        }
        let control = u64::try_from(next(&mut work, "interchange").await?).unwrap_or(0);
        let file = x837::file(&x837::ClaimFile {
            submitter: &self.rules.submitter,
            payer: &payer,
            provider: &provider,
            control,
            at: now,
            claims: &documents,
        });
        let interchange = format!("{control:09}");
        for mut c in rows.clone() {
            c.status = ClaimStatus::Submitted as i32;
            c.interchange.clone_from(&interchange);
            c.updated_at = now;
            store::put::<claim::Entity, _>(work.txn(), c.clone()).await?;
            emit_status(&mut work, &c, Vec::new()).await?;
            work.audit(Some(&c.patient_id), Some(f));
        }
        work.commit().await?;
        Ok(api::SubmitClaimsResponse {
            x12: file,
            claim_ids: rows.iter().map(|c| c.id.clone()).collect(),
            interchange_control_number: interchange,
        })
    }

    /// What the 837 says of a stored claim.
    async fn document(&self, work: &UnitOfWork, c: &claim::Model) -> Result<x837::Claim> {
        let db = work.txn();
        let patient =
            store::patient(db, &c.patient_id)
                .await?
                .ok_or_else(|| BillingError::Corrupt {
                    what: format!("claim {}: its patient is unknown to billing", c.number),
                })?;
        let coverage = store::coverages_of(db, &c.patient_id)
            .await?
            .into_iter()
            .filter(|v| !v.self_pay && v.payer_id == c.payer_id)
            .filter(|v| {
                v.effective_from <= c.from_date && v.effective_to.is_none_or(|t| c.from_date <= t)
            })
            .max_by_key(|v| (v.effective_from, v.recorded_at))
            .ok_or_else(|| BillingError::Corrupt {
                what: format!("claim {}: no coverage with its payer", c.number),
            })?;
        let charges = store::charges_of_claim(db, &c.id).await?;
        let auths = store::authorizations_of(db, &c.patient_id).await?;
        let mut numbers: Vec<String> = charges
            .iter()
            .filter(|ch| !ch.authorization_id.is_empty())
            .filter_map(|ch| auths.iter().find(|a| a.id == ch.authorization_id))
            .map(|a| a.number.clone())
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        let address = (!coverage.address_line1.is_empty()).then(|| Address {
            line1: coverage.address_line1.clone(),
            line2: coverage.address_line2.clone(),
            city: coverage.address_city.clone(),
            state: coverage.address_state.clone(),
            zip: coverage.address_zip.clone(),
        });
        let mut lines: Vec<x837::Line> = charges
            .iter()
            .map(|ch| x837::Line {
                date: ch.service_date,
                hcpcs: ch.hcpcs.clone(),
                revenue_code: ch.revenue_code.clone(),
                units: u32::try_from(ch.units).unwrap_or(1),
                cents: ch.amount_cents,
            })
            .collect();
        lines.sort_by_key(|l| (l.date, l.hcpcs.starts_with('8') || l.hcpcs.starts_with('G')));
        Ok(x837::Claim {
            number: c.number.clone(),
            patient: Person {
                family: patient.family,
                given: patient.given,
                middle: patient.middle,
                date_of_birth: patient.date_of_birth,
                sex: patient.sex,
            },
            subscriber: Subscriber {
                member_id: coverage.member_id,
                group_number: coverage.group_number,
                relationship: coverage.relationship,
                name: coverage.subscriber_name,
                address,
            },
            authorizations: numbers,
            diagnoses: c
                .diagnoses
                .split(',')
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
            from: c.from_date,
            to: c.to_date,
            lines,
        })
    }

    pub(super) async fn acknowledge_claim(
        &self,
        call: &Call,
        req: api::AcknowledgeClaimRequest,
    ) -> Result<api::AcknowledgeClaimResponse> {
        let id = uuid_field("claim_id", &req.claim_id)?;
        let reason = if req.accepted {
            String::new()
        } else {
            iop_runtime::ids::reason("reason", &req.reason, 500)?
        };
        let mut work = self
            .ledger
            .command(Actor::of(call, "billing.AcknowledgeClaim"))
            .await?;
        let not_found = || BillingError::NotFound {
            what: "claim",
            id: id.clone(),
        };
        let found = store::claim(work.txn(), &id).await?.ok_or_else(not_found)?;
        if !call.caller.acts_for(&found.facility_id) {
            return Err(not_found());
        }
        work.lock(Stream::patient(&found.patient_id)).await?;
        let mut c = store::claim(work.txn(), &id).await?.ok_or_else(not_found)?;
        if c.status != ClaimStatus::Submitted as i32 {
            return Err(BillingError::ClaimState {
                claim_id: c.id.clone(),
                status: status_name(c.status),
                why: "only a submitted claim is acknowledged".into(),
            });
        }
        c.status = if req.accepted {
            ClaimStatus::Accepted
        } else {
            ClaimStatus::Rejected
        } as i32;
        c.updated_at = Utc::now();
        store::put::<claim::Entity, _>(work.txn(), c.clone()).await?;
        if !req.accepted {
            queue(
                &mut work,
                (&c.facility_id, &c.patient_id, &c.id),
                "REJECTED",
                reason,
            )
            .await?;
        }
        emit_status(&mut work, &c, Vec::new()).await?;
        work.audit(Some(&c.patient_id), Some(&c.facility_id));
        work.commit().await?;
        let lines = store::charges_of_claim(self.ledger.conn(), &c.id)
            .await?
            .len();
        Ok(api::AcknowledgeClaimResponse {
            claim: Some(convert::claim(&c, u32::try_from(lines).unwrap_or(u32::MAX))),
        })
    }

    pub(super) async fn list_claims(
        &self,
        call: &Call,
        req: api::ListClaimsRequest,
    ) -> Result<api::ListClaimsResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility.as_str())?;
        let status = match ClaimStatus::try_from(req.status) {
            Ok(ClaimStatus::Unspecified) => None,
            Ok(s) => Some(s as i32),
            Err(_) => return Err(BillingError::invalid("status", "is not a claim status")),
        };
        let db = self.ledger.conn();
        let rows = store::claims_at(db, facility.as_str(), status).await?;
        self.disclosed(
            call,
            "billing.ListClaims",
            facility.as_str(),
            rows.iter().map(|c| c.patient_id.as_str()),
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for c in &rows {
            let n = store::charges_of_claim(db, &c.id).await?.len();
            out.push(convert::claim(c, u32::try_from(n).unwrap_or(u32::MAX)));
        }
        Ok(api::ListClaimsResponse { claims: out })
    }
}

/// A UUID id field, canonical.
pub(super) fn uuid_field(field: &'static str, value: &str) -> Result<String> {
    Ok(iop_runtime::ids::uuid(field, value)?)
}
