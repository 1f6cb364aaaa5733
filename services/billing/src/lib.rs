//! Billing owns the money side of care: which days of service may be billed
//! and which are held (every reason named, released when the missing fact
//! arrives), the per-diem and lab charges that follow, claims to payers as
//! X12 837I/837P files, eligibility as 270/271 and remittance as 835 — all
//! from the facts the other contexts publish: admissions' episodes,
//! coverages and Part 2 consents, scheduling's attendance, clinical's
//! signed notes and diagnoses, testing-lab's drug-test codes. It publishes
//! on `iop.billing.v1`. Billing is a disclosure for payment: it holds no
//! note text and no test values, only what a claim needs.
//!
//! Layout (the shape of every service): this file is the registry entry
//! ([`SERVICE`]) and start-up; [`settings`] its section (payers,
//! providers, the submitter); `api/` the gRPC face; [`rules`] the pure
//! decision of a day; [`x12`] the files; [`money`] cents; `settle` applies
//! the rules to a patient's days and charges; `store` queries and writes;
//! `events` the handlers of the other contexts' events; `entity/` and
//! [`migration`] the storage; [`error`] the error type and its statuses.

mod api;
mod entity;
pub mod error;
mod events;
pub mod migration;
pub mod money;
pub mod rules;
pub mod settings;
mod settle;
mod store;
pub mod x12;

use futures::future::BoxFuture;
use iop_messaging::mount;
use iop_proto::{
    billing::v1::billing_service_server::BillingServiceServer, contexts, service_names, topics,
};
use iop_runtime::{
    server::Host,
    service::{BoxError, ServiceDef},
    settings::DatabaseSettings,
};

pub use api::BillingApi;

/// Consumer group of admissions', scheduling's, clinical's and testing-lab's
/// events; dead letters go to `iop.billing.dlq`.
pub const CONSUMER: &str = "iop.billing";

/// Billing in the registry.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "billing",
    summary: "eligibility, authorizations, per-diem charges from attendance, X12 claims and remittance",
    grpc: &[service_names::BILLING],
    publishes: &[topics::BILLING],
    consumes: &[
        topics::ADMISSIONS,
        topics::SCHEDULING,
        topics::CLINICAL,
        topics::LAB,
    ],
    dead_letters: &[topics::BILLING_DLQ],
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
        let own: settings::BillingSettings = host.settings.section(settings::KEY)?;
        let demo = host.settings.site.id == settings::LOCAL_SITE;
        let rules = std::sync::Arc::new(own.rules(demo)?);
        let ledger = mount::open::<migration::Migrator>(host, SERVICE.name, &database).await?;
        let api = BillingApi::new(ledger.clone(), rules.clone());
        iop_runtime::mount!(host, BillingServiceServer::new(api));
        mount::relay(host, &ledger, topics::BILLING, contexts::BILLING);
        mount::consume(
            host,
            &SERVICE,
            CONSUMER,
            ledger,
            events::Handler::new(rules),
        );
        Ok(())
    })
}
