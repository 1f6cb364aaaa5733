//! Billing's part: each charge (kind, HCPCS and revenue code, units,
//! amount, the payer's id) on its day of service. Not projected: holds,
//! authorizations and their numbers, eligibility (member ids), claims and
//! remittances (claim and account numbers), balances.

use iop_messaging::{
    cloudevents::InboundEvent, consumer::ApplyError, router::Router, work::UnitOfWork,
};
use iop_proto::{analytics::events::v1::DayCharged, billing::events::v1::ChargeCreated};
use iop_runtime::wire::naive_date;

use super::{Projector, emit, on_day};

/// Billing's routes on `router`.
pub fn routes(router: Router<Projector>) -> Router<Projector> {
    router.on::<ChargeCreated>(|_, w, e, m| Box::pin(charged(w, e, m)))
}

async fn charged(
    work: &mut UnitOfWork,
    e: ChargeCreated,
    m: &InboundEvent,
) -> Result<(), ApplyError> {
    let day = naive_date(e.service_date.as_ref())
        .ok_or_else(|| ApplyError::Permanent("ChargeCreated without service_date".into()))?;
    let at = on_day(work, &e.patient_id, day, m).await?;
    let event = DayCharged {
        subject: at.subject.clone(),
        episode: at.episode,
        facility_id: e.facility_id,
        payer_id: e.payer_id,
        kind: e.kind,
        hcpcs: e.hcpcs,
        revenue_code: e.revenue_code,
        units: e.units,
        amount_cents: e.amount_cents,
        year: at.year,
        episode_day: at.episode_day,
    };
    emit(work, &at.subject, &event).await
}
