//! Results: `RecordResult` (over gRPC), `SubmitHl7` (an `ORU^R01`, matched to
//! its order by accession, or queued), `ListWorkQueue`; and the one way a
//! result is recorded — interpreted against the patient's medications on the
//! collection day, stored, and published with the day's billing codes.

use std::collections::BTreeSet;

use chrono::{NaiveDate, Utc};
use iop_consent::gate::Intent;
use iop_messaging::work::{Actor, Stream, UnitOfWork};
use iop_proto::lab::{
    events::v1::{self as events, Interpretation},
    v1::{
        self as api, Analyte, DrugClass, OrderReason, ResultKind, ScreenMethod, SpecimenStatus,
        SpecimenType,
    },
};
use iop_runtime::{auth::Denied, grpc::Call, ids::PatientId, wire};
use prost::Message as _;

use super::{
    LabApi, Result, convert,
    orders::{NewOrder, place},
};
use crate::{
    codes,
    entity::{order, result, work_item},
    error::LabError,
    hl7::{self, AckCode},
    interpretation::{self, Finding},
    settings::Reported,
    store,
};

/// A result to record against an order.
struct Incoming {
    /// The work-queue item this result comes from, closed with it.
    resolves: Option<work_item::Model>,
    kind: ResultKind,
    method: ScreenMethod,
    /// The facility-local day of collection; today there when the sender
    /// gave none.
    collected_on: Option<NaiveDate>,
    analytes: Vec<api::AnalyteResult>,
    /// `grpc`, or the HL7 control id.
    source: String,
}

fn interpretation_of(f: Finding) -> Interpretation {
    match f {
        Finding::ExpectedNegative => Interpretation::ExpectedNegative,
        Finding::ExpectedPositive => Interpretation::ExpectedPositive,
        Finding::UnexpectedNegative => Interpretation::UnexpectedNegative,
        Finding::PossibleAdulteration => Interpretation::PossibleAdulteration,
        Finding::UnexpectedPositive => Interpretation::UnexpectedPositive,
    }
}

fn method_of(m: ScreenMethod) -> codes::Method {
    match m {
        ScreenMethod::Analyzer => codes::Method::Analyzer,
        ScreenMethod::Instrument => codes::Method::Instrument,
        ScreenMethod::Direct | ScreenMethod::Unspecified => codes::Method::Direct,
    }
}

impl LabApi {
    pub(super) async fn record_result(
        &self,
        call: &Call,
        req: api::RecordResultRequest,
    ) -> Result<api::RecordResultResponse> {
        if req.accession.trim().is_empty() {
            return Err(LabError::invalid("accession", "is required"));
        }
        let kind = ResultKind::try_from(req.kind).unwrap_or_default();
        if kind == ResultKind::Unspecified {
            return Err(LabError::invalid("kind", "is required"));
        }
        let method = ScreenMethod::try_from(req.method).unwrap_or_default();
        if kind == ResultKind::Presumptive && method == ScreenMethod::Unspecified {
            return Err(LabError::invalid("method", "a screen says how it was read"));
        }
        let collected_on = wire::required_date("collected_on", req.collected_on.as_ref())?;
        if req.analytes.is_empty() {
            return Err(LabError::invalid("analytes", "a result reports an analyte"));
        }
        for a in &req.analytes {
            let analyte = Analyte::try_from(a.analyte).unwrap_or_default();
            let class = DrugClass::try_from(a.class).unwrap_or_default();
            if convert::analyte(analyte, class).is_none() {
                return Err(LabError::invalid(
                    "analytes.analyte",
                    "names no analyte (OTHER needs its class)",
                ));
            }
        }
        let order = store::order_by_accession(self.ledger.conn(), &req.accession)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        let incoming = Incoming {
            kind,
            method,
            resolves: None,
            collected_on: Some(collected_on),
            analytes: req.analytes,
            source: "grpc".into(),
        };
        let result = self
            .record(call, "lab.RecordResult", &order, incoming)
            .await?;
        Ok(api::RecordResultResponse {
            result: Some(result),
        })
    }

    /// Records `incoming` against `order` for `call` (the access rule at the
    /// order's facility), in one unit of work with its events.
    async fn record(
        &self,
        call: &Call,
        action: &'static str,
        order: &order::Model,
        incoming: Incoming,
    ) -> Result<api::Result> {
        let pid = PatientId::from_stored(&order.patient_id);
        let allowed = self
            .authorize(
                call,
                action,
                &pid,
                Intent::Write {
                    facility: &order.facility_id,
                },
            )
            .await?;
        let patient_id = allowed.access.patient_id;
        let tz = store::time_zone(self.ledger.conn(), &order.facility_id).await?;
        let now = Utc::now();
        let today = iop_care::calendar::local(now, tz).date();
        let collected_on = incoming.collected_on.unwrap_or(today);
        if collected_on > today {
            return Err(LabError::invalid(
                "collected_on",
                "cannot be after today at the facility",
            ));
        }
        let mut work = self.ledger.command(Actor::of(call, action)).await?;
        if let Some(item) = &incoming.resolves {
            // Resolutions of one item queue here, whichever orders they name.
            work.lock(Stream {
                aggregate: "work_item",
                id: &item.id,
            })
            .await?;
        }
        work.lock(Stream::patient(&patient_id)).await?;
        let taking = store::prescribed_on(work.txn(), &patient_id, collected_on).await?;
        let prescribed = convert::prescribed(&taking);
        let mut tested: BTreeSet<interpretation::Class> = convert::panel(&order.panel)
            .into_iter()
            .filter_map(convert::class)
            .collect();
        let mut found = BTreeSet::new();
        let mut measured = BTreeSet::new();
        for a in &incoming.analytes {
            let analyte = Analyte::try_from(a.analyte).unwrap_or_default();
            let class = DrugClass::try_from(a.class).unwrap_or_default();
            if let Some(x) = convert::analyte(analyte, class) {
                tested.insert(x.class());
                measured.insert(x);
                if a.detected {
                    found.insert(x);
                }
            }
        }
        // A rejected or failed specimen's result is kept, never read.
        let closed = store::specimen(work.txn(), &order.id)
            .await?
            .is_some_and(|s| {
                matches!(
                    SpecimenStatus::try_from(s.status).unwrap_or_default(),
                    SpecimenStatus::Rejected | SpecimenStatus::Recollect
                )
            });
        let readings = if closed {
            Vec::new()
        } else {
            interpretation::interpret(&tested, &measured, &found, &prescribed)
        };
        let overall = interpretation::overall(&readings);
        let (wire_overall, interpretation) = if closed {
            (api::Finding::NotInterpreted, Interpretation::NotInterpreted)
        } else {
            (convert::finding(overall), interpretation_of(overall))
        };
        // A positive screen orders its confirmation, once per order.
        let mut confirmation_accession = String::new();
        let confirm = interpretation::to_confirm(&measured, &found);
        if incoming.kind == ResultKind::Presumptive && !closed && !confirm.is_empty() {
            let earlier = store::results_of(work.txn(), &patient_id).await?;
            let confirmed_before = earlier
                .iter()
                .filter(|r| r.order_id == order.id)
                .filter_map(|r| api::Result::decode(r.body.as_slice()).ok())
                .any(|r| !r.confirmation_accession.is_empty());
            if !confirmed_before {
                let again = place(
                    &mut work,
                    (&patient_id, &order.facility_id),
                    NewOrder {
                        specimen: SpecimenType::try_from(order.specimen).unwrap_or_default(),
                        panel: confirm
                            .iter()
                            .map(|c| convert::wire_class(*c) as i32)
                            .collect(),
                        observed: false,
                        reason: OrderReason::Confirmation,
                    },
                    call.caller.subject(),
                )
                .await?;
                confirmation_accession = again.accession;
            }
        }
        let shown = api::Result {
            result_id: uuid::Uuid::now_v7().to_string(),
            order_id: order.id.clone(),
            accession: order.accession.clone(),
            patient_id: patient_id.clone(),
            kind: incoming.kind as i32,
            collected_on: Some(wire::date(collected_on)),
            readings: readings
                .iter()
                .map(|r| api::Reading {
                    class: convert::wire_class(r.class) as i32,
                    finding: convert::finding(r.finding) as i32,
                    note: r.note.to_owned(),
                })
                .collect(),
            overall: wire_overall as i32,
            prescribed: prescribed
                .iter()
                .map(|c| convert::wire_class(*c) as i32)
                .collect(),
            recorded_at: Some(wire::timestamp(now)),
            analytes: incoming.analytes.clone(),
            facility_id: order.facility_id.clone(),
            confirmation_accession,
        };
        store::insert_result(
            work.txn(),
            result::Model {
                id: shown.result_id.clone(),
                order_id: order.id.clone(),
                patient_id: patient_id.clone(),
                facility_id: order.facility_id.clone(),
                kind: incoming.kind as i32,
                method: incoming.method as i32,
                collected_on,
                body: shown.encode_to_vec(),
                overall: shown.overall,
                recorded_at: now,
                source: incoming.source.clone(),
            },
        )
        .await?;
        let behind: Vec<String> = readings
            .iter()
            .filter(|r| !closed && r.finding == overall && overall != Finding::ExpectedNegative)
            .map(|r| format!("{:?}", r.class).to_lowercase())
            .collect();
        let event = events::ResultInterpreted {
            patient_id: patient_id.clone(),
            result_id: shown.result_id.clone(),
            facility_id: order.facility_id.clone(),
            collected_on: shown.collected_on,
            interpretation: interpretation as i32,
            classes: behind,
            definitive: incoming.kind == ResultKind::Definitive,
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(Stream::patient(&patient_id), &event).await?;
        emit_codes(&mut work, &patient_id, &order.facility_id, collected_on).await?;
        if let Some(item) = incoming.resolves {
            // Read again under the item's lock: a concurrent resolution of it
            // is seen and refused.
            let current = store::work_item(work.txn(), &item.id)
                .await?
                .ok_or(Denied::UNKNOWN_REFERENCE)?;
            if current.resolved {
                return Err(LabError::Resolved {
                    work_item_id: current.id,
                });
            }
            store::resolve(work.txn(), current).await?;
        }
        work.audit(Some(&patient_id), Some(&order.facility_id));
        work.commit().await?;
        Ok(shown)
    }

    pub(super) async fn submit_hl7(
        &self,
        call: &Call,
        req: api::SubmitHl7Request,
    ) -> Result<api::SubmitHl7Response> {
        if req.message.trim().is_empty() {
            return Err(LabError::invalid("message", "is required"));
        }
        let now = Utc::now();
        let ack_id = uuid::Uuid::now_v7().simple().to_string();
        let answer = |code: AckCode, error: Option<&hl7::Hl7Error>, to: (&str, &str)| {
            let control = hl7::control_id(&req.message).unwrap_or_default();
            hl7::ack(&control, code, error, to, now.naive_utc(), &ack_id)
        };
        let report = match hl7::parse_oru(&req.message) {
            Ok(r) => r,
            Err(e) => {
                let mut work_item_id = String::new();
                // Understood but wrong: kept for someone to fix, never dropped.
                if e.ack == AckCode::Ae {
                    work_item_id = self
                        .queue(call, &req.message, ("", ""), &e.to_string())
                        .await?;
                }
                return Ok(api::SubmitHl7Response {
                    ack: answer(e.ack, Some(&e), ("", "")),
                    ack_code: e.ack.as_str().into(),
                    result_id: String::new(),
                    work_item_id,
                });
            }
        };
        let to = (
            report.sending_application.as_str(),
            report.sending_facility.as_str(),
        );
        let db = self.ledger.conn();
        let mut matched = None;
        for accession in [
            &report.placer_order,
            &report.filler_order,
            &report.specimen_id,
        ] {
            if accession.is_empty() {
                continue;
            }
            if let Some(o) = store::order_by_accession(db, accession).await? {
                matched = Some(o);
                break;
            }
        }
        let why_not = match &matched {
            None => Some(format!(
                "no order with accession {:?} (OBR-2), {:?} (OBR-3) or specimen {:?}",
                report.placer_order, report.filler_order, report.specimen_id
            )),
            Some(o) if o.patient_id != report.patient_id => Some(format!(
                "PID-3 does not name the patient of order {}",
                o.accession
            )),
            Some(_) => None,
        };
        let (Some(order), None) = (matched, why_not.as_ref()) else {
            let reason = why_not.unwrap_or_default();
            let id = self
                .queue(
                    call,
                    &req.message,
                    (&report.placer_order, &report.filler_order),
                    &reason,
                )
                .await?;
            return Ok(api::SubmitHl7Response {
                ack: answer(AckCode::Aa, None, to),
                ack_code: "AA".into(),
                result_id: String::new(),
                work_item_id: id,
            });
        };
        let incoming = self.incoming(&report);
        let recorded = self.record(call, "lab.SubmitHl7", &order, incoming).await?;
        Ok(api::SubmitHl7Response {
            ack: answer(AckCode::Aa, None, to),
            ack_code: "AA".into(),
            result_id: recorded.result_id,
            work_item_id: String::new(),
        })
    }

    /// A parsed report as a result: each OBX whose code the settings know,
    /// detected as [`hl7::detected`] decides (this network's cut-off for the
    /// code when the settings set one, else the laboratory's or its flag).
    fn incoming(&self, report: &hl7::Report) -> Incoming {
        let mut analytes = Vec::new();
        let mut definitive = false;
        for o in &report.observations {
            let Some(code) = self.codes.get(&o.code.to_ascii_uppercase()) else {
                continue;
            };
            let (analyte, class) = match code.reported {
                Reported::Analyte(a) => (a, DrugClass::Unspecified),
                Reported::Class(c) => (Analyte::Other, c),
            };
            let detected = hl7::detected(o, code.cutoff);
            let concentration = match &o.value {
                hl7::Value::Number(n) => {
                    definitive = true;
                    *n
                }
                hl7::Value::Text(_) => 0.0,
            };
            analytes.push(api::AnalyteResult {
                analyte: analyte as i32,
                class: class as i32,
                detected,
                concentration,
                cutoff: code.cutoff.or(o.cutoff).unwrap_or(0.0),
            });
        }
        let method = match report.test_code.as_str() {
            "80307" => ScreenMethod::Analyzer,
            "80306" => ScreenMethod::Instrument,
            _ => ScreenMethod::Direct,
        };
        Incoming {
            kind: if definitive {
                ResultKind::Definitive
            } else {
                ResultKind::Presumptive
            },
            method,
            resolves: None,
            collected_on: report.collected_at.map(|t| t.date()),
            analytes,
            source: report.control_id.clone(),
        }
    }

    /// Keeps a message nothing could be recorded from; returns its item id.
    async fn queue(
        &self,
        call: &Call,
        message: &str,
        (placer, filler): (&str, &str),
        reason: &str,
    ) -> Result<String> {
        let row = work_item::Model {
            id: uuid::Uuid::now_v7().to_string(),
            control_id: hl7::control_id(message).unwrap_or_default(),
            placer_order: placer.to_owned(),
            filler_order: filler.to_owned(),
            reason: reason.to_owned(),
            message: message.to_owned(),
            received_at: Utc::now(),
            resolved: false,
        };
        let mut work = self
            .ledger
            .command(Actor::of(call, "lab.SubmitHl7"))
            .await?;
        store::queue(work.txn(), row.clone()).await?;
        work.audit(None, None);
        work.commit().await?;
        Ok(row.id)
    }

    pub(super) async fn resolve_work_item(
        &self,
        call: &Call,
        req: api::ResolveWorkItemRequest,
    ) -> Result<api::ResolveWorkItemResponse> {
        if req.accession.trim().is_empty() {
            return Err(LabError::invalid("accession", "is required"));
        }
        let item = store::work_item(self.ledger.conn(), req.work_item_id.trim())
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        if item.resolved {
            return Err(LabError::Resolved {
                work_item_id: item.id,
            });
        }
        let report = hl7::parse_oru(&item.message).map_err(|e| {
            LabError::invalid(
                "work_item_id",
                format!("the queued message cannot be recorded: {e}"),
            )
        })?;
        let order = store::order_by_accession(self.ledger.conn(), &req.accession)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        // Recorded and closed in one unit of work: never twice, never lost.
        let mut incoming = self.incoming(&report);
        incoming.resolves = Some(item);
        let recorded = self
            .record(call, "lab.ResolveWorkItem", &order, incoming)
            .await?;
        Ok(api::ResolveWorkItemResponse {
            result: Some(recorded),
        })
    }

    pub(super) async fn list_work_queue(
        &self,
        _call: &Call,
        _req: api::ListWorkQueueRequest,
    ) -> Result<api::ListWorkQueueResponse> {
        let items = store::work_queue(self.ledger.conn()).await?;
        Ok(api::ListWorkQueueResponse {
            items: items
                .iter()
                .map(|w| api::WorkItem {
                    work_item_id: w.id.clone(),
                    control_id: w.control_id.clone(),
                    placer_order: w.placer_order.clone(),
                    filler_order: w.filler_order.clone(),
                    reason: w.reason.clone(),
                    received_at: Some(wire::timestamp(w.received_at)),
                })
                .collect(),
        })
    }
}

/// Publishes the codes of the patient's tests on `day`, all results of that
/// day counted (they replace earlier codes of the day).
async fn emit_codes(
    work: &mut UnitOfWork,
    patient_id: &str,
    facility_id: &str,
    day: NaiveDate,
) -> Result<()> {
    let mut methods = Vec::new();
    let mut confirmed = BTreeSet::new();
    for r in store::results_on(work.txn(), patient_id, day).await? {
        match ResultKind::try_from(r.kind).unwrap_or_default() {
            ResultKind::Presumptive => {
                methods.push(method_of(
                    ScreenMethod::try_from(r.method).unwrap_or_default(),
                ));
            }
            ResultKind::Definitive => {
                let body =
                    api::Result::decode(r.body.as_slice()).map_err(|_| LabError::Corrupt {
                        what: format!("result {}", r.id),
                    })?;
                for a in body.analytes {
                    let analyte = Analyte::try_from(a.analyte).unwrap_or_default();
                    let class = DrugClass::try_from(a.class).unwrap_or_default();
                    if let Some(x) = convert::analyte(analyte, class) {
                        confirmed.insert(x.class());
                    }
                }
            }
            ResultKind::Unspecified => {}
        }
    }
    let event = events::DrugTestCodes {
        patient_id: patient_id.to_owned(),
        facility_id: facility_id.to_owned(),
        service_date: Some(wire::date(day)),
        presumptive_code: codes::presumptive(&methods).unwrap_or_default().to_owned(),
        definitive_code: codes::definitive(&confirmed).unwrap_or_default().to_owned(),
        occurred_at: Some(wire::timestamp(Utc::now())),
    };
    work.emit(Stream::patient(patient_id), &event).await?;
    Ok(())
}
