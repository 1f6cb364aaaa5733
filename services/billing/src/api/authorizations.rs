//! `RecordAuthorization`, `ListAuthorizations` and `RecordRestriction`: the
//! facts a biller enters, each settling the patient's days at once.

use chrono::Utc;
use iop_consent::gate::Intent;
use iop_messaging::work::{Actor, Stream};
use iop_proto::{
    billing::{events::v1 as events, v1 as api},
    common::v1::LevelOfCare,
};
use iop_runtime::{
    grpc::Call,
    ids::{FacilityId, PatientId},
    wire,
};

use super::{BillingApi, Result, convert};
use crate::{
    entity::{authorization, restriction},
    error::BillingError,
    settle, store,
};

/// A payer's reference number: 1-50 printable characters an X12 element can carry.
pub(super) fn reference(field: &'static str, value: &str) -> Result<String> {
    let v = value.trim();
    let fits = !v.is_empty()
        && v.len() <= 50
        && v.chars()
            .all(|c| (' '..='~').contains(&c) && !"*~:^".contains(c));
    if fits {
        Ok(v.to_owned())
    } else {
        Err(BillingError::invalid(
            field,
            "must be 1 to 50 printable characters without * ~ : ^",
        ))
    }
}

impl BillingApi {
    pub(super) async fn record_authorization(
        &self,
        call: &Call,
        req: api::RecordAuthorizationRequest,
    ) -> Result<api::RecordAuthorizationResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        if req.payer_id.trim().is_empty() {
            return Err(BillingError::invalid("payer_id", "is required"));
        }
        let number = reference("number", &req.number)?;
        let level = LevelOfCare::try_from(req.level_of_care).unwrap_or_default();
        if level == LevelOfCare::Unspecified {
            return Err(BillingError::invalid("level_of_care", "is required"));
        }
        if !(1..=366).contains(&req.units_approved) {
            return Err(BillingError::invalid(
                "units_approved",
                "must be 1 to 366 days",
            ));
        }
        let from = wire::required_date("from_date", req.from_date.as_ref())?;
        let to = wire::required_date("to_date", req.to_date.as_ref())?;
        if to < from {
            return Err(BillingError::invalid("to_date", "is before from_date"));
        }
        let review = wire::optional_date("next_review_on", req.next_review_on.as_ref())?;
        if review.is_some_and(|r| r < from || r > to) {
            return Err(BillingError::invalid(
                "next_review_on",
                "must fall within the authorization",
            ));
        }
        let payer = self
            .rules
            .payer(&req.payer_id)
            .ok_or_else(|| BillingError::UnknownPayer {
                payer_id: req.payer_id.trim().to_owned(),
            })?
            .clone();
        let allowed = self
            .authorize(
                call,
                "billing.RecordAuthorization",
                &patient_id,
                Intent::Write {
                    facility: facility.as_str(),
                },
            )
            .await?;
        let tz = store::time_zone(self.ledger.conn(), facility.as_str()).await?;
        let pid = allowed.access.patient_id;
        let now = Utc::now();
        let mut work = self
            .ledger
            .command(Actor::of(call, "billing.RecordAuthorization"))
            .await?;
        work.lock(Stream::patient(&pid)).await?;
        let row = authorization::Model {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id: pid.clone(),
            facility_id: facility.as_str().to_owned(),
            payer_id: payer.id.clone(),
            number,
            level_of_care: level as i32,
            units_approved: i32::try_from(req.units_approved).unwrap_or(0),
            from_date: from,
            to_date: to,
            next_review_on: review,
            recorded_at: now,
            recorded_by: call.caller.subject().to_owned(),
            warned: String::new(),
        };
        store::put::<authorization::Entity, _>(work.txn(), row.clone()).await?;
        let event = events::AuthorizationRecorded {
            patient_id: pid.clone(),
            authorization_id: row.id.clone(),
            payer_id: row.payer_id.clone(),
            level_of_care: row.level_of_care,
            units_approved: req.units_approved,
            from_date: Some(wire::date(from)),
            to_date: Some(wire::date(to)),
            next_review_on: review.map(wire::date),
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(Stream::patient(&pid), &event).await?;
        settle::settle(&mut work, &self.rules, &pid, now).await?;
        let charges = store::charges_of(work.txn(), &pid).await?;
        let today = iop_care::calendar::local(now, tz).date();
        let shown = convert::authorization(&row, &charges, today);
        work.audit(Some(&pid), Some(facility.as_str()));
        work.commit().await?;
        Ok(api::RecordAuthorizationResponse {
            authorization: Some(shown),
        })
    }

    pub(super) async fn list_authorizations(
        &self,
        call: &Call,
        req: api::ListAuthorizationsRequest,
    ) -> Result<api::ListAuthorizationsResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let allowed = self
            .authorize(
                call,
                "billing.ListAuthorizations",
                &patient_id,
                Intent::Read,
            )
            .await?;
        let db = self.ledger.conn();
        let pid = &allowed.access.patient_id;
        let charges = store::charges_of(db, pid).await?;
        let mut out = Vec::new();
        for a in store::authorizations_of(db, pid).await? {
            let tz = iop_consent::facilities::zone(db, &a.facility_id)
                .await?
                .unwrap_or(iop_consent::DEFAULT_ZONE);
            let today = iop_care::calendar::local(Utc::now(), tz).date();
            out.push(convert::authorization(&a, &charges, today));
        }
        Ok(api::ListAuthorizationsResponse {
            authorizations: out,
        })
    }

    pub(super) async fn record_restriction(
        &self,
        call: &Call,
        req: api::RecordRestrictionRequest,
    ) -> Result<api::RecordRestrictionResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        let from = wire::required_date("from_date", req.from_date.as_ref())?;
        let to = wire::optional_date("to_date", req.to_date.as_ref())?;
        if to.is_some_and(|t| t < from) {
            return Err(BillingError::invalid("to_date", "is before from_date"));
        }
        let allowed = self
            .authorize(
                call,
                "billing.RecordRestriction",
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
            .command(Actor::of(call, "billing.RecordRestriction"))
            .await?;
        work.lock(Stream::patient(&pid)).await?;
        let row = restriction::Model {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id: pid.clone(),
            from_date: from,
            to_date: to,
            recorded_at: now,
            recorded_by: call.caller.subject().to_owned(),
        };
        store::put::<restriction::Entity, _>(work.txn(), row.clone()).await?;
        settle::settle(&mut work, &self.rules, &pid, now).await?;
        work.audit(Some(&pid), Some(facility.as_str()));
        work.commit().await?;
        Ok(api::RecordRestrictionResponse {
            restriction_id: row.id,
        })
    }
}
