//! `RequestEligibility`, `ApplyEligibility` and `ListEligibilityDue`: X12
//! 270 inquiries (a disclosure to the payer, so only under a Part 2 consent
//! covering payment, accounted for in the audit trail), 271 answers applied
//! to coverages, and which coverages are due a check.

use chrono::Utc;
use iop_consent::gate::Intent;
use iop_messaging::work::{Access, Actor, Stream};
use iop_proto::billing::{events::v1 as events, v1 as api};
use iop_runtime::{
    grpc::Call,
    ids::{FacilityId, PatientId},
    wire,
};

use super::{BillingApi, Result};
use crate::{
    entity::eligibility_check,
    error::BillingError,
    rules, settle, store,
    x12::{claims::Person, eligibility},
};

impl BillingApi {
    pub(super) async fn request_eligibility(
        &self,
        call: &Call,
        req: api::RequestEligibilityRequest,
    ) -> Result<api::RequestEligibilityResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        let f = facility.as_str();
        let allowed = self
            .authorize(
                call,
                "billing.RequestEligibility",
                &patient_id,
                Intent::Write { facility: f },
            )
            .await?;
        let pid = allowed.access.patient_id;
        let tz = store::time_zone(self.ledger.conn(), f).await?;
        let now = Utc::now();
        let today = iop_care::calendar::local(now, tz).date();
        let provider = self
            .rules
            .providers
            .get(f)
            .ok_or_else(|| BillingError::NoProvider {
                facility_id: f.to_owned(),
            })?
            .clone();
        let mut work = self
            .ledger
            .command(Actor::of(call, "billing.RequestEligibility"))
            .await?;
        work.lock(Stream::patient(&pid)).await?;
        let coverage = store::coverages_of(work.txn(), &pid)
            .await?
            .into_iter()
            .filter(|c| {
                !c.self_pay
                    && c.effective_from <= today
                    && c.effective_to.is_none_or(|t| today <= t)
            })
            .max_by_key(|c| (c.effective_from, c.recorded_at))
            .ok_or(BillingError::NoCoverage)?;
        let payer = self
            .rules
            .payer(&coverage.payer_id)
            .ok_or_else(|| BillingError::UnknownPayer {
                payer_id: coverage.payer_id.clone(),
            })?
            .clone();
        let consents = iop_consent::replica::consents_of(work.txn(), &pid).await?;
        let consent = rules::payment_consent(&consents, &payer.id, now, now).ok_or_else(|| {
            BillingError::NoPaymentConsent {
                payer_id: payer.id.clone(),
            }
        })?;
        let patient =
            store::patient(work.txn(), &pid)
                .await?
                .ok_or_else(|| BillingError::Corrupt {
                    what: "patient unknown to billing".into(),
                })?;
        work.lock(Stream {
            aggregate: "counter",
            id: "trace",
        })
        .await?;
        let trace = format!("E{:09}", store::next(work.txn(), "trace").await?);
        work.lock(Stream {
            aggregate: "counter",
            id: "interchange",
        })
        .await?;
        let control = u64::try_from(store::next(work.txn(), "interchange").await?).unwrap_or(0);
        let subscriber = Person {
            family: patient.family,
            given: patient.given,
            middle: patient.middle,
            date_of_birth: patient.date_of_birth,
            sex: patient.sex,
        };
        let file = eligibility::inquiry(&eligibility::Inquiry {
            submitter: &self.rules.submitter,
            payer: &payer,
            provider: &provider,
            subscriber: &subscriber,
            member_id: &coverage.member_id,
            on: today,
            trace: &trace,
            control,
            at: now,
        });
        store::put::<eligibility_check::Entity, _>(
            work.txn(),
            eligibility_check::Model {
                id: uuid::Uuid::now_v7().to_string(),
                coverage_id: coverage.coverage_id.clone(),
                patient_id: pid.clone(),
                facility_id: f.to_owned(),
                trace_number: trace.clone(),
                requested_at: now,
                answered_at: None,
                status: 0,
                from_date: None,
                to_date: None,
            },
        )
        .await?;
        // The inquiry is a disclosure to the payer: accounted for with its consent.
        work.audit_access(Access::allowed(Some(&pid), Some(f)).under_consent(Some(&consent)));
        work.commit().await?;
        Ok(api::RequestEligibilityResponse {
            x12: file,
            trace_number: trace,
            coverage_id: coverage.coverage_id,
        })
    }

    pub(super) async fn apply_eligibility(
        &self,
        call: &Call,
        req: api::ApplyEligibilityRequest,
    ) -> Result<api::ApplyEligibilityResponse> {
        let (facility, parsed) = Self::x12_file(call, &req.facility_id, &req.x12)?;
        let f = facility.as_str();
        let answers =
            eligibility::answers(&parsed).map_err(|problem| BillingError::X12 { problem })?;
        if answers.is_empty() {
            return Err(BillingError::X12 {
                problem: "the 271 answers no inquiry (no TRN with an EB)".into(),
            });
        }
        let now = Utc::now();
        let mut work = self
            .ledger
            .command(Actor::of(call, "billing.ApplyEligibility"))
            .await?;
        let mut results = Vec::new();
        for a in &answers {
            let mut check = store::check_by_trace(work.txn(), &a.trace)
                .await?
                .filter(|c| c.facility_id == f)
                .ok_or_else(|| BillingError::NotFound {
                    what: "eligibility inquiry (271 TRN02)",
                    id: a.trace.clone(),
                })?;
            work.lock(Stream::patient(&check.patient_id)).await?;
            check.answered_at = Some(now);
            check.status = if a.active { 1 } else { 2 };
            check.from_date = a.from;
            check.to_date = a.to;
            store::put::<eligibility_check::Entity, _>(work.txn(), check.clone()).await?;
            let payer_id = store::coverages_of(work.txn(), &check.patient_id)
                .await?
                .into_iter()
                .find(|c| c.coverage_id == check.coverage_id)
                .map(|c| c.payer_id)
                .unwrap_or_default();
            let event = events::EligibilityChecked {
                patient_id: check.patient_id.clone(),
                coverage_id: check.coverage_id.clone(),
                payer_id,
                active: a.active,
                from_date: a.from.map(wire::date),
                to_date: a.to.map(wire::date),
                occurred_at: Some(wire::timestamp(now)),
            };
            work.emit(Stream::patient(&check.patient_id), &event)
                .await?;
            settle::settle(&mut work, &self.rules, &check.patient_id, now).await?;
            work.audit(Some(&check.patient_id), Some(f));
            results.push(api::EligibilityResult {
                coverage_id: check.coverage_id.clone(),
                patient_id: check.patient_id.clone(),
                active: a.active,
                from_date: a.from.map(wire::date),
                to_date: a.to.map(wire::date),
            });
        }
        work.commit().await?;
        Ok(api::ApplyEligibilityResponse { results })
    }

    pub(super) async fn list_eligibility_due(
        &self,
        call: &Call,
        req: api::ListEligibilityDueRequest,
    ) -> Result<api::ListEligibilityDueResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility.as_str())?;
        let f = facility.as_str();
        let db = self.ledger.conn();
        let tz = store::time_zone(db, f).await?;
        let now = Utc::now();
        let today = iop_care::calendar::local(now, tz).date();
        let patients = store::in_care_at(db, f).await?;
        let mut due = Vec::new();
        for c in store::coverages_among(db, patients).await? {
            let in_effect = !c.self_pay
                && c.effective_from <= today
                && c.effective_to.is_none_or(|t| today <= t);
            if !in_effect {
                continue;
            }
            let last = store::checks_of(db, &c.patient_id)
                .await?
                .into_iter()
                .filter(|k| k.coverage_id == c.coverage_id)
                .filter_map(|k| k.answered_at)
                .max();
            let last = last.map(|at| (at, iop_care::calendar::local(at, tz).date()));
            let why = rules::eligibility_due(
                last,
                c.recorded_at,
                today,
                self.rules.eligibility_every_days,
            );
            if let Some(why) = why {
                due.push(api::EligibilityDue {
                    patient_id: c.patient_id.clone(),
                    coverage_id: c.coverage_id.clone(),
                    payer_id: c.payer_id.clone(),
                    why: why.into(),
                });
            }
        }
        self.disclosed(
            call,
            "billing.ListEligibilityDue",
            f,
            due.iter().map(|d| d.patient_id.as_str()),
        )
        .await?;
        Ok(api::ListEligibilityDueResponse { due })
    }
}
