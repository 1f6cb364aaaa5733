//! `GetAccount`, `ListHeldDays` and `RecordPatientPayment`: a patient's
//! days, charges, claims and balance, a facility's held days.

use chrono::Utc;
use iop_consent::gate::Intent;
use iop_messaging::work::{Actor, Stream};
use iop_proto::billing::{events::v1 as events, v1 as api};
use iop_runtime::{
    grpc::Call,
    ids::{FacilityId, PatientId},
    wire,
};

use super::{BillingApi, Result, convert};
use crate::{entity::payment, error::BillingError, store};

/// Most a single payment may be: $100,000.00.
const MAX_PAYMENT_CENTS: i64 = 10_000_000;

impl BillingApi {
    pub(super) async fn get_account(
        &self,
        call: &Call,
        req: api::GetAccountRequest,
    ) -> Result<api::GetAccountResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let allowed = self
            .authorize(call, "billing.GetAccount", &patient_id, Intent::Read)
            .await?;
        let snapshot = self.ledger.db().snapshot().await?;
        let pid = &allowed.access.patient_id;
        let days = store::days_of(&snapshot, pid).await?;
        let charges = store::charges_of(&snapshot, pid).await?;
        let claims = store::claims_of(&snapshot, pid).await?;
        let balance = store::balance(&snapshot, pid).await?;
        snapshot.commit().await?;
        let lines = |id: &str| {
            let n = charges.iter().filter(|c| c.claim_id == id).count();
            u32::try_from(n).unwrap_or(u32::MAX)
        };
        Ok(api::GetAccountResponse {
            days: days.iter().map(convert::day).collect(),
            charges: charges.iter().map(convert::charge).collect(),
            claims: claims
                .iter()
                .map(|c| convert::claim(c, lines(&c.id)))
                .collect(),
            balance_cents: balance,
        })
    }

    pub(super) async fn list_held_days(
        &self,
        call: &Call,
        req: api::ListHeldDaysRequest,
    ) -> Result<api::ListHeldDaysResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        let from = wire::required_date("from_date", req.from_date.as_ref())?;
        let to = wire::required_date("to_date", req.to_date.as_ref())?;
        if to < from {
            return Err(BillingError::invalid("to_date", "is before from_date"));
        }
        if (to - from).num_days() > 366 {
            return Err(BillingError::invalid(
                "to_date",
                "at most a year after from_date",
            ));
        }
        call.caller.require_facility(facility.as_str())?;
        let days = store::held_at(self.ledger.conn(), facility.as_str(), (from, to)).await?;
        self.disclosed(
            call,
            "billing.ListHeldDays",
            facility.as_str(),
            days.iter().map(|d| d.patient_id.as_str()),
        )
        .await?;
        Ok(api::ListHeldDaysResponse {
            days: days.iter().map(convert::day).collect(),
        })
    }

    pub(super) async fn record_patient_payment(
        &self,
        call: &Call,
        req: api::RecordPatientPaymentRequest,
    ) -> Result<api::RecordPatientPaymentResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        if !(1..=MAX_PAYMENT_CENTS).contains(&req.amount_cents) {
            return Err(BillingError::invalid(
                "amount_cents",
                "must be 1 to 10000000 cents",
            ));
        }
        let reference = super::authorizations::reference("reference", &req.reference)?;
        let allowed = self
            .authorize(
                call,
                "billing.RecordPatientPayment",
                &patient_id,
                Intent::Write {
                    facility: facility.as_str(),
                },
            )
            .await?;
        let pid = allowed.access.patient_id;
        let now = Utc::now();
        let mut work = self
            .ledger
            .command(Actor::of(call, "billing.RecordPatientPayment"))
            .await?;
        work.lock(Stream::patient(&pid)).await?;
        store::put::<payment::Entity, _>(
            work.txn(),
            payment::Model {
                id: uuid::Uuid::now_v7().to_string(),
                patient_id: pid.clone(),
                facility_id: facility.as_str().to_owned(),
                amount_cents: req.amount_cents,
                reference,
                recorded_at: now,
                recorded_by: call.caller.subject().to_owned(),
            },
        )
        .await?;
        let balance = store::balance(work.txn(), &pid).await?;
        let event = events::PatientBalanceChanged {
            patient_id: pid.clone(),
            balance_cents: balance,
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(Stream::patient(&pid), &event).await?;
        work.audit(Some(&pid), Some(facility.as_str()));
        work.commit().await?;
        Ok(api::RecordPatientPaymentResponse {
            balance_cents: balance,
        })
    }
}
