//! Clinical's part: scored screenings (instrument, total, band, positive,
//! suicide risk) and level-of-care decisions, on their day of the episode.
//! Not projected: notes (free text), plans, medications, tasks, the
//! screening's item responses and ids.

use iop_messaging::{
    cloudevents::InboundEvent, consumer::ApplyError, router::Router, work::UnitOfWork,
};
use iop_proto::{
    analytics::events::v1 as out,
    clinical::events::v1::{LevelOfCareDecided, ScreeningScored},
};
use iop_runtime::wire::naive_date;

use super::{Projector, emit, on_day};

/// Clinical's routes on `router`.
pub fn routes(router: Router<Projector>) -> Router<Projector> {
    router
        .on::<ScreeningScored>(|_, w, e, m| Box::pin(scored(w, e, m)))
        .on::<LevelOfCareDecided>(|_, w, e, m| Box::pin(decided(w, e, m)))
}

async fn scored(
    work: &mut UnitOfWork,
    e: ScreeningScored,
    m: &InboundEvent,
) -> Result<(), ApplyError> {
    let day = naive_date(e.administered_on.as_ref())
        .ok_or_else(|| ApplyError::Permanent("ScreeningScored without administered_on".into()))?;
    let at = on_day(work, &e.patient_id, day, m).await?;
    let event = out::ScreeningScored {
        subject: at.subject.clone(),
        episode: at.episode,
        facility_id: e.facility_id,
        instrument: e.instrument,
        total: e.total,
        band: e.band,
        positive: e.positive,
        suicide_risk: e.suicide_risk,
        year: at.year,
        episode_day: at.episode_day,
    };
    emit(work, &at.subject, &event).await
}

async fn decided(
    work: &mut UnitOfWork,
    e: LevelOfCareDecided,
    m: &InboundEvent,
) -> Result<(), ApplyError> {
    let day = naive_date(e.effective_on.as_ref())
        .ok_or_else(|| ApplyError::Permanent("LevelOfCareDecided without effective_on".into()))?;
    let at = on_day(work, &e.patient_id, day, m).await?;
    let event = out::LevelOfCareDecided {
        subject: at.subject.clone(),
        episode: at.episode,
        facility_id: e.facility_id,
        decision: e.decision,
        from_level: e.from_level,
        to_level: e.to_level,
        year: at.year,
        episode_day: at.episode_day,
    };
    emit(work, &at.subject, &event).await
}
