//! What each context's events become on the analytics stream. One file per
//! context registers its events on the router ([`admissions`],
//! [`scheduling`], [`clinical`], [`lab`], [`billing`]); a new context adds a
//! file here, a line in [`Projector::new`], and its topic in the registry
//! entry. Every
//! handler works under the patient's lock in the consumer's unit of work and
//! emits under the patient's pseudonym, so the stream is in order per
//! pseudonym and a redelivered event (skipped by the inbox) emits nothing.
//! Events no file registers are skipped: nothing reaches analysts unless a
//! file here says what, field by field.

mod admissions;
mod billing;
mod clinical;
mod lab;
mod scheduling;

use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::{ApplyError, EventHandler},
    router::Router,
    work::{Stream, UnitOfWork},
};

/// The aggregate type of the stream's records: one stream per pseudonym.
const SUBJECT: &str = "subject";

/// The consumer's handler.
pub struct Projector {
    router: Router<Projector>,
}

impl Projector {
    /// The handler with every context's routes.
    pub fn new() -> Self {
        let router = admissions::routes(Router::new());
        let router = scheduling::routes(router);
        let router = clinical::routes(router);
        let router = lab::routes(router);
        let router = billing::routes(router);
        Self { router }
    }
}

/// The patient id an event names, checked against its `ce_subject`.
fn patient_of<'a>(id: &'a str, event: &InboundEvent) -> Result<&'a str, ApplyError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApplyError::Permanent(
            "event has no valid patient id".into(),
        ));
    }
    if event.subject.as_deref().is_some_and(|s| s != id) {
        return Err(ApplyError::Permanent(
            "ce_subject and the payload name different patients".into(),
        ));
    }
    Ok(id)
}

/// Where a fact dated `day` falls: the patient's pseudonym, the episode
/// then (if one had begun by that day, as far as the projector knows) and
/// the day of it, and the year.
pub struct OnDay {
    /// The patient's pseudonym.
    pub subject: String,
    /// The episode's pseudonym, or empty.
    pub episode: String,
    /// Days since the episode's start, when there is one.
    pub episode_day: Option<i32>,
    /// The year of `day`.
    pub year: i32,
}

/// Locks the patient named by `patient_id` (checked against the record)
/// and finds where `day` falls for it.
async fn on_day(
    work: &mut UnitOfWork,
    patient_id: &str,
    day: chrono::NaiveDate,
    event: &InboundEvent,
) -> Result<OnDay, ApplyError> {
    let id = patient_of(patient_id, event)?;
    work.lock(Stream::patient(id)).await?;
    let subject = crate::store::subject(work.txn(), id).await?;
    let episode = crate::store::episode_on(work.txn(), id, day).await?;
    Ok(OnDay {
        subject: subject.pseudonym,
        episode_day: episode
            .as_ref()
            .map(|e| crate::deidentify::episode_day(e.started_on, day)),
        episode: episode.map(|e| e.pseudonym).unwrap_or_default(),
        year: crate::deidentify::year(day),
    })
}

/// Emits `event` on the stream of `pseudonym`.
async fn emit<M: prost::Name>(
    work: &mut UnitOfWork,
    pseudonym: &str,
    event: &M,
) -> Result<(), ApplyError> {
    work.emit(
        Stream {
            aggregate: SUBJECT,
            id: pseudonym,
        },
        event,
    )
    .await?;
    Ok(())
}

impl EventHandler for Projector {
    async fn apply(&self, work: &mut UnitOfWork, event: &InboundEvent) -> Result<(), ApplyError> {
        self.router.dispatch(self, work, event).await.map(|_| ())
    }
}
