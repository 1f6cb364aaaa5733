//! Specimens: `RecordCollection`, `RecordHandoff`, `RecordValidity`. A
//! broken seal or a gap in custody rejects the specimen; a temperature out of
//! range (or read too late) or a failed validity check orders an observed
//! recollection; either way the specimen's results are kept and never
//! interpreted, and `SpecimenRejected` says why.

use chrono::Utc;
use iop_consent::gate::Intent;
use iop_messaging::work::{Actor, Stream, UnitOfWork};
use iop_proto::lab::{
    events::v1 as events,
    v1::{self as api, OrderReason, SpecimenStatus, SpecimenType, Validity},
};
use iop_runtime::{auth::Denied, grpc::Call, ids::PatientId, wire};
use prost::Message as _;

use super::{
    LabApi, Result,
    orders::{NewOrder, order_message, place},
};
use crate::{
    custody,
    entity::{order, specimen},
    error::LabError,
    store,
    validity::{self, Measures, Temperature},
};

/// A required short text.
fn required(field: &'static str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 200 {
        return Err(LabError::invalid(
            field,
            "is required (1 to 200 characters)",
        ));
    }
    Ok(v.to_owned())
}

/// The specimen as stored.
fn decode(row: &specimen::Model) -> Result<api::Specimen> {
    api::Specimen::decode(row.body.as_slice()).map_err(|_| LabError::Corrupt {
        what: format!("specimen of order {}", row.order_id),
    })
}

impl LabApi {
    /// The order of `accession`, once the caller may change its patient's
    /// record at its facility; and the unit of work to change it in, under
    /// the patient's lock.
    async fn claim(
        &self,
        call: &Call,
        action: &'static str,
        accession: &str,
    ) -> Result<(UnitOfWork, order::Model)> {
        if accession.trim().is_empty() {
            return Err(LabError::invalid("accession", "is required"));
        }
        let order = store::order_by_accession(self.ledger.conn(), accession)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        self.authorize(
            call,
            action,
            &PatientId::from_stored(&order.patient_id),
            Intent::Write {
                facility: &order.facility_id,
            },
        )
        .await?;
        let mut work = self.ledger.command(Actor::of(call, action)).await?;
        work.lock(Stream::patient(&order.patient_id)).await?;
        Ok((work, order))
    }

    pub(super) async fn record_collection(
        &self,
        call: &Call,
        req: api::RecordCollectionRequest,
    ) -> Result<api::RecordCollectionResponse> {
        let collector = required("collector", &req.collector)?;
        let collected_at = wire::instant(req.collected_at.as_ref())
            .ok_or_else(|| LabError::invalid("collected_at", "is required"))?;
        let now = Utc::now();
        if collected_at > now + chrono::Duration::minutes(1) {
            return Err(LabError::invalid("collected_at", "cannot be in the future"));
        }
        let observer = if req.observed {
            required("observer", &req.observer)?
        } else {
            String::new()
        };
        let seal_id = required("seal_id", &req.seal_id)?;
        let read_at = wire::instant(req.temperature_read_at.as_ref())
            .ok_or_else(|| LabError::invalid("temperature_read_at", "is required"))?;
        if read_at < collected_at {
            return Err(LabError::invalid(
                "temperature_read_at",
                "cannot be before the collection",
            ));
        }
        if !(0.0..=60.0).contains(&req.temperature_c) {
            return Err(LabError::invalid("temperature_c", "must be 0 to 60 °C"));
        }
        let (mut work, order) = self
            .claim(call, "lab.RecordCollection", &req.accession)
            .await?;
        if store::specimen(work.txn(), &order.id).await?.is_some() {
            return Err(LabError::AlreadyCollected {
                accession: order.accession,
            });
        }
        let tz = store::time_zone(work.txn(), &order.facility_id).await?;
        let minutes = u32::try_from((read_at - collected_at).num_minutes()).unwrap_or(u32::MAX);
        let criteria = self.criteria;
        let (status, reason) = if !req.seal_intact {
            (
                SpecimenStatus::Rejected,
                "seal broken at collection".to_owned(),
            )
        } else {
            match validity::temperature(req.temperature_c, minutes, &criteria) {
                Temperature::Acceptable => (SpecimenStatus::Collected, String::new()),
                Temperature::RecollectObserved => (
                    SpecimenStatus::Recollect,
                    format!(
                        "temperature {:.1} °C outside {}-{} °C",
                        req.temperature_c, criteria.min_temperature_c, criteria.max_temperature_c
                    ),
                ),
                Temperature::ReadTooLate => (
                    SpecimenStatus::Recollect,
                    format!(
                        "temperature read {minutes} minutes after collection (at most {})",
                        criteria.temperature_within_minutes
                    ),
                ),
            }
        };
        let mut shown = api::Specimen {
            accession: order.accession.clone(),
            status: status as i32,
            reason,
            collector: collector.clone(),
            collected_at: Some(wire::timestamp(collected_at)),
            collected_on: Some(wire::date(
                iop_care::calendar::local(collected_at, tz).date(),
            )),
            observed: req.observed,
            observer,
            seal_id,
            temperature_c: req.temperature_c,
            validity: Validity::Unspecified as i32,
            handoffs: Vec::new(),
            recollection_accession: String::new(),
        };
        let recollection = self.settle(&mut work, &order, &mut shown, call).await?;
        work.commit().await?;
        Ok(api::RecordCollectionResponse {
            specimen: Some(shown),
            recollection: recollection.map(|o| order_message(&o, 0)),
        })
    }

    pub(super) async fn record_handoff(
        &self,
        call: &Call,
        req: api::RecordHandoffRequest,
    ) -> Result<api::RecordHandoffResponse> {
        let from = required("from", &req.from)?;
        let to = required("to", &req.to)?;
        let at =
            wire::instant(req.at.as_ref()).ok_or_else(|| LabError::invalid("at", "is required"))?;
        let (mut work, order) = self
            .claim(call, "lab.RecordHandoff", &req.accession)
            .await?;
        let row = store::specimen(work.txn(), &order.id)
            .await?
            .ok_or_else(|| LabError::NotCollected {
                accession: order.accession.clone(),
            })?;
        let mut shown = decode(&row)?;
        if matches!(
            SpecimenStatus::try_from(shown.status).unwrap_or_default(),
            SpecimenStatus::Rejected | SpecimenStatus::Recollect
        ) {
            return Err(LabError::SpecimenClosed {
                accession: order.accession,
                reason: shown.reason,
            });
        }
        let (holder, since) = shown.handoffs.last().map_or(
            (
                shown.collector.clone(),
                wire::instant(shown.collected_at.as_ref()),
            ),
            |h| (h.to.clone(), wire::instant(h.at.as_ref())),
        );
        let since = since.unwrap_or(at);
        shown.handoffs.push(api::Handoff {
            from: from.clone(),
            to: to.clone(),
            at: Some(wire::timestamp(at)),
            seal_intact: req.seal_intact,
        });
        if let Err(broken) = custody::hand_off((&holder, since), (&from, &to), at, req.seal_intact)
        {
            shown.status = SpecimenStatus::Rejected as i32;
            shown.reason = broken.to_string();
        }
        self.settle(&mut work, &order, &mut shown, call).await?;
        work.commit().await?;
        Ok(api::RecordHandoffResponse {
            specimen: Some(shown),
        })
    }

    pub(super) async fn record_validity(
        &self,
        call: &Call,
        req: api::RecordValidityRequest,
    ) -> Result<api::RecordValidityResponse> {
        let measures = Measures {
            creatinine: req.creatinine_mg_dl,
            specific_gravity: req.specific_gravity,
            ph: req.ph,
            nitrite: req.nitrite_ug_ml,
            oxidant: req.oxidant,
        };
        for (field, v, range) in [
            ("creatinine_mg_dl", measures.creatinine, 0.0..=1000.0),
            ("specific_gravity", measures.specific_gravity, 0.9..=1.2),
            ("ph", measures.ph, 0.0..=14.0),
            ("nitrite_ug_ml", measures.nitrite, 0.0..=100_000.0),
        ] {
            if !range.contains(&v) {
                return Err(LabError::invalid(
                    field,
                    format!("{v} is not a possible value"),
                ));
            }
        }
        let (mut work, order) = self
            .claim(call, "lab.RecordValidity", &req.accession)
            .await?;
        let row = store::specimen(work.txn(), &order.id)
            .await?
            .ok_or_else(|| LabError::NotCollected {
                accession: order.accession.clone(),
            })?;
        let mut shown = decode(&row)?;
        if SpecimenStatus::try_from(shown.status).unwrap_or_default() != SpecimenStatus::Collected {
            return Err(LabError::SpecimenClosed {
                accession: order.accession,
                reason: format!(
                    "validity already settled or specimen closed ({})",
                    shown.reason
                ),
            });
        }
        let v = validity::classify(measures, &self.criteria);
        let (validity, status) = match v {
            validity::Validity::Valid => (Validity::Valid, SpecimenStatus::Valid),
            validity::Validity::Dilute => (Validity::Dilute, SpecimenStatus::Dilute),
            validity::Validity::Substituted => (Validity::Substituted, SpecimenStatus::Recollect),
            validity::Validity::Adulterated => (Validity::Adulterated, SpecimenStatus::Recollect),
            validity::Validity::Invalid => (Validity::Invalid, SpecimenStatus::Recollect),
        };
        shown.validity = validity as i32;
        shown.status = status as i32;
        if status == SpecimenStatus::Recollect {
            shown.reason = format!(
                "specimen {}",
                validity
                    .as_str_name()
                    .trim_start_matches("VALIDITY_")
                    .to_lowercase()
            );
        }
        let recollection = self.settle(&mut work, &order, &mut shown, call).await?;
        work.commit().await?;
        Ok(api::RecordValidityResponse {
            specimen: Some(shown),
            recollection: recollection.map(|o| order_message(&o, 0)),
        })
    }

    /// Stores the specimen; when it was just rejected or failed, orders an
    /// observed recollection and publishes `SpecimenRejected`. Audits.
    async fn settle(
        &self,
        work: &mut UnitOfWork,
        order: &order::Model,
        shown: &mut api::Specimen,
        call: &Call,
    ) -> Result<Option<order::Model>> {
        let status = SpecimenStatus::try_from(shown.status).unwrap_or_default();
        let mut recollection = None;
        if matches!(status, SpecimenStatus::Rejected | SpecimenStatus::Recollect)
            && shown.recollection_accession.is_empty()
        {
            let again = place(
                work,
                (&order.patient_id, &order.facility_id),
                NewOrder {
                    specimen: SpecimenType::try_from(order.specimen).unwrap_or_default(),
                    panel: crate::api::convert::panel(&order.panel)
                        .into_iter()
                        .map(|c| c as i32)
                        .collect(),
                    observed: true,
                    reason: OrderReason::Recollection,
                },
                call.caller.subject(),
            )
            .await?;
            shown.recollection_accession.clone_from(&again.accession);
            let event = events::SpecimenRejected {
                patient_id: order.patient_id.clone(),
                order_id: order.id.clone(),
                facility_id: order.facility_id.clone(),
                status: shown.status,
                reason: shown.reason.clone(),
                recollection_order_id: again.id.clone(),
                occurred_at: Some(wire::timestamp(Utc::now())),
            };
            work.emit(Stream::patient(&order.patient_id), &event)
                .await?;
            recollection = Some(again);
        }
        store::put_specimen(
            work.txn(),
            specimen::Model {
                order_id: order.id.clone(),
                status: shown.status,
                body: shown.encode_to_vec(),
            },
        )
        .await?;
        work.audit(Some(&order.patient_id), Some(&order.facility_id));
        Ok(recollection)
    }
}
