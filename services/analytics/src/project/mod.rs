//! What each context's events become on the analytics stream. One file per
//! context registers its events on the router ([`admissions`],
//! [`scheduling`]); clinical, testing-lab and billing add a file here and a
//! line in [`Projector::new`], and their topic in the registry entry. Every
//! handler works under the patient's lock in the consumer's unit of work and
//! emits under the patient's pseudonym, so the stream is in order per
//! pseudonym and a redelivered event (skipped by the inbox) emits nothing.
//! Events no file registers are skipped: nothing reaches analysts unless a
//! file here says what, field by field.

mod admissions;
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
