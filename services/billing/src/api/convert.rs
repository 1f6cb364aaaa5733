//! Stored rows as the contract shows them.

use chrono::NaiveDate;
use iop_proto::billing::v1 as api;
use iop_runtime::wire;

use crate::{
    entity::{authorization, charge, claim, day, work_item},
    rules, settle,
};

pub fn day(d: &day::Model) -> api::ServiceDay {
    api::ServiceDay {
        patient_id: d.patient_id.clone(),
        facility_id: d.facility_id.clone(),
        service_date: Some(wire::date(d.service_date)),
        status: d.status,
        holds: rules::decode_holds(&d.holds),
        clinical_minutes: u32::try_from(d.minutes).unwrap_or(0),
        payer_id: d.payer_id.clone(),
    }
}

pub fn charge(c: &charge::Model) -> api::Charge {
    api::Charge {
        charge_id: c.id.clone(),
        patient_id: c.patient_id.clone(),
        facility_id: c.facility_id.clone(),
        payer_id: c.payer_id.clone(),
        service_date: Some(wire::date(c.service_date)),
        kind: c.kind,
        hcpcs: c.hcpcs.clone(),
        revenue_code: c.revenue_code.clone(),
        units: u32::try_from(c.units).unwrap_or(0),
        amount_cents: c.amount_cents,
        authorization_id: c.authorization_id.clone(),
        status: c.status,
        claim_id: c.claim_id.clone(),
    }
}

pub fn claim(c: &claim::Model, lines: u32) -> api::Claim {
    api::Claim {
        claim_id: c.id.clone(),
        claim_number: c.number.clone(),
        patient_id: c.patient_id.clone(),
        facility_id: c.facility_id.clone(),
        payer_id: c.payer_id.clone(),
        claim_type: c.claim_type.clone(),
        status: c.status,
        from_date: Some(wire::date(c.from_date)),
        to_date: Some(wire::date(c.to_date)),
        charge_cents: c.charge_cents,
        paid_cents: c.paid_cents,
        patient_responsibility_cents: c.patient_resp_cents,
        diagnoses: c
            .diagnoses
            .split(',')
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect(),
        lines,
        payer_claim_number: c.payer_claim_number.clone(),
    }
}

pub fn authorization(
    a: &authorization::Model,
    charges: &[charge::Model],
    today: NaiveDate,
) -> api::Authorization {
    let used = settle::used(charges, &a.id);
    let approved = u32::try_from(a.units_approved).unwrap_or(0);
    api::Authorization {
        authorization_id: a.id.clone(),
        patient_id: a.patient_id.clone(),
        payer_id: a.payer_id.clone(),
        number: a.number.clone(),
        level_of_care: a.level_of_care,
        units_approved: approved,
        units_used: used,
        units_left: approved.saturating_sub(used),
        from_date: Some(wire::date(a.from_date)),
        to_date: Some(wire::date(a.to_date)),
        next_review_on: a.next_review_on.map(wire::date),
        warnings: if today > a.to_date {
            vec!["expired".into()]
        } else {
            settle::warnings(a, used, today)
        },
    }
}

pub fn work_item(w: &work_item::Model) -> api::WorkItem {
    api::WorkItem {
        work_item_id: w.id.clone(),
        facility_id: w.facility_id.clone(),
        patient_id: w.patient_id.clone(),
        claim_id: w.claim_id.clone(),
        code: w.code.clone(),
        reason: w.reason.clone(),
        opened_at: Some(wire::timestamp(w.opened_at)),
        resolved: w.resolved,
    }
}
