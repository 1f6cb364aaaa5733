//! Clinical owns the chart: screening instruments scored from their items
//! (with a same-day follow-up when PHQ-9 item 9 is above 0), treatment plans
//! in versions with both signatures, progress notes — a group session's note
//! written once and filed in every attendee's chart without naming the others
//! — locked by signing and corrected by addenda, medications, tasks, and
//! level-of-care reviews that open themselves from scheduling's weekly
//! evaluations, testing-lab's interpreted results and worsening scores. It
//! consumes admissions' events (who the patient is, episodes, levels, merges,
//! consents), scheduling's (attendance, weeks) and testing-lab's (results), and publishes on `iop.clinical.v1`, keyed by patient
//! id, facts without text: a day documented, a score's band, a risk, a review
//! and its decision (which admissions acts on).
//!
//! Layout (the shape of every service): this file is the registry entry
//! ([`SERVICE`]) and start-up; [`settings`] its section; `api/` the gRPC face;
//! [`instruments`], [`notes`], [`reviews`] and [`treatment`] the pure rules; `store/` queries
//! and writes; `events` event builders and the typed handlers of admissions'
//! and scheduling's events; `entity/` and [`migration`] the storage;
//! [`error`] the error type and its statuses.

mod api;
mod entity;
pub mod error;
mod events;
pub mod instruments;
pub mod migration;
pub mod notes;
pub mod reviews;
pub mod settings;
mod store;
pub mod treatment;

use futures::future::BoxFuture;
use iop_messaging::mount;
use iop_proto::{
    clinical::v1::clinical_service_server::ClinicalServiceServer, contexts, service_names, topics,
};
use iop_runtime::{
    server::Host,
    service::{BoxError, ServiceDef},
    settings::DatabaseSettings,
};

pub use api::ClinicalApi;

/// Consumer group of admissions', scheduling's and testing-lab's events; dead letters go to
/// `iop.clinical.dlq`.
pub const CONSUMER: &str = "iop.clinical";

/// Clinical in the registry.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "clinical",
    summary: "screenings, treatment plans, notes, medications, tasks and level-of-care reviews",
    grpc: &[service_names::CLINICAL],
    publishes: &[topics::CLINICAL],
    consumes: &[topics::ADMISSIONS, topics::SCHEDULING, topics::LAB],
    dead_letters: &[topics::CLINICAL_DLQ],
    settings: Some(settings::SECTION),
    migrate: iop_messaging::mount::migrations::<migration::Migrator>,
    start,
    seed: None,
};

/// Connects and migrates the database, mounts the gRPC service, starts the
/// outbox relay and the consumer. SERVING once the broker answers and the
/// topics exist.
pub fn start(host: &mut Host, database: DatabaseSettings) -> BoxFuture<'_, Result<(), BoxError>> {
    Box::pin(async move {
        let own: settings::ClinicalSettings = host.settings.section(settings::KEY)?;
        let ledger = mount::open::<migration::Migrator>(host, SERVICE.name, &database).await?;
        let api = ClinicalApi::new(ledger.clone(), own.clone());
        iop_runtime::mount!(host, ClinicalServiceServer::new(api));
        mount::relay(host, &ledger, topics::CLINICAL, contexts::CLINICAL);
        mount::consume(host, &SERVICE, CONSUMER, ledger, events::Handler::new(own));
        Ok(())
    })
}
