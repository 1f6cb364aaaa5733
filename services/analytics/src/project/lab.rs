//! Testing-lab's part: interpreted results (interpretation, the drug
//! classes behind an unexpected one, definitive or presumptive) on the day
//! of collection. Not projected: orders, specimens, chain of custody,
//! accessions, analyte values, HL7 messages.

use iop_messaging::{
    cloudevents::InboundEvent, consumer::ApplyError, router::Router, work::UnitOfWork,
};
use iop_proto::{analytics::events::v1::DrugTestResulted, lab::events::v1::ResultInterpreted};
use iop_runtime::wire::naive_date;

use super::{Projector, emit, on_day};

/// Testing-lab's routes on `router`.
pub fn routes(router: Router<Projector>) -> Router<Projector> {
    router.on::<ResultInterpreted>(|_, w, e, m| Box::pin(interpreted(w, e, m)))
}

async fn interpreted(
    work: &mut UnitOfWork,
    e: ResultInterpreted,
    m: &InboundEvent,
) -> Result<(), ApplyError> {
    let day = naive_date(e.collected_on.as_ref())
        .ok_or_else(|| ApplyError::Permanent("ResultInterpreted without collected_on".into()))?;
    let at = on_day(work, &e.patient_id, day, m).await?;
    let event = DrugTestResulted {
        subject: at.subject.clone(),
        episode: at.episode,
        facility_id: e.facility_id,
        interpretation: e.interpretation,
        classes: e.classes,
        definitive: e.definitive,
        year: at.year,
        episode_day: at.episode_day,
    };
    emit(work, &at.subject, &event).await
}
