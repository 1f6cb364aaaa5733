//! The analytics projector owns the de-identified stream analysts read,
//! `iop.analytics.v1`: it is the one reader of the domain topics outside the
//! services, turns each fact of care into an event with no identifier and no
//! date but the year (HIPAA Safe Harbor, 45 CFR 164.514(b)(2); the table is
//! docs/analytics.md), and publishes them through its outbox with records
//! that carry no trace and no time finer than the year.
//!
//! Layout: this file is the registry entry and start-up; [`deidentify`] the
//! pure rules (age, days, weeks); `project/` what each context's events become
//! (one file per context);
//! `store` the pseudonyms and episodes; `api/` the counts it serves;
//! `entity/` and [`migration`] the storage; [`error`] its statuses.

mod api;
pub mod deidentify;
mod entity;
pub mod error;
pub mod migration;
mod project;
mod store;

use futures::future::BoxFuture;
use iop_messaging::mount;
use iop_proto::{
    analytics::v1::analytics_service_server::AnalyticsServiceServer, contexts, service_names,
    topics,
};
use iop_runtime::{
    server::Host,
    service::{BoxError, ServiceDef},
    settings::DatabaseSettings,
};

/// Consumer group, inbox key and dead-letter prefix: DLQ is `iop.analytics.dlq`.
pub const CONSUMER: &str = "iop.analytics";

/// The projector in the registry.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "analytics",
    summary: "the de-identified stream for analysts (HIPAA Safe Harbor), projected from the domain topics",
    grpc: &[service_names::ANALYTICS],
    publishes: &[topics::ANALYTICS],
    consumes: &[
        topics::ADMISSIONS,
        topics::SCHEDULING,
        topics::CLINICAL,
        topics::LAB,
        topics::BILLING,
    ],
    dead_letters: &[topics::ANALYTICS_DLQ],
    settings: None,
    migrate: iop_messaging::mount::migrations::<migration::Migrator>,
    start,
    seed: None,
};

/// Connects and migrates the database, mounts the counts, starts the
/// de-identified relay and the consumer of the domain topics.
pub fn start(host: &mut Host, database: DatabaseSettings) -> BoxFuture<'_, Result<(), BoxError>> {
    Box::pin(async move {
        let ledger = mount::open::<migration::Migrator>(host, SERVICE.name, &database).await?;
        iop_runtime::mount!(
            host,
            AnalyticsServiceServer::new(api::AnalyticsApi::new(ledger.clone()))
        );
        mount::relay_deidentified(host, &ledger, topics::ANALYTICS, contexts::ANALYTICS);
        mount::consume(host, &SERVICE, CONSUMER, ledger, project::Projector::new());
        Ok(())
    })
}
