//! Testing-lab owns drug testing: orders (with the accession cups and labs
//! carry), results from point-of-care readers and laboratories — over gRPC
//! or as HL7 v2 `ORU^R01` messages, matched to their orders by accession and
//! answered with HL7 acknowledgements, the unmatched kept in a work queue —
//! each interpreted against the patient's medications on the collection day
//! (clinical's events) and published (`ResultInterpreted` for clinical's
//! reviews, `DrugTestCodes` for billing) on `iop.lab.v1`.
//!
//! Layout (the shape of every service): this file is the registry entry
//! ([`SERVICE`]) and start-up; [`settings`] its section; `api/` the gRPC
//! face; [`validity`], [`custody`], [`interpretation`], [`codes`], [`hl7`],
//! [`draw`], [`standing`] and [`disclosure`]
//! the pure rules; `store` queries and writes; `events` the event builders
//! and the handlers of admissions' and clinical's events; `entity/` and
//! [`migration`] the storage; [`error`] the error type and its statuses.
//! Specimens are collected (observed or not, seal, temperature), handed
//! over with their chain of custody and measured for validity; a broken
//! chain or a failed check rejects or recollects the specimen, and its
//! results are kept but never interpreted. The day's tests (standing orders
//! due, the random draw) are placed by calls a site makes each day (a
//! CronJob, or a person), not by a timer in the service.

mod api;
pub mod codes;
pub mod custody;
pub mod disclosure;
pub mod draw;
mod entity;
pub mod error;
mod events;
pub mod hl7;
pub mod interpretation;
pub mod migration;
pub mod settings;
pub mod standing;
mod store;
pub mod validity;

use futures::future::BoxFuture;
use iop_messaging::mount;
use iop_proto::{
    contexts, lab::v1::testing_lab_service_server::TestingLabServiceServer, service_names, topics,
};
use iop_runtime::{
    server::Host,
    service::{BoxError, ServiceDef},
    settings::DatabaseSettings,
};

pub use api::LabApi;

/// Consumer group of admissions', scheduling's and clinical's events; dead letters go to
/// `iop.lab.dlq`.
pub const CONSUMER: &str = "iop.lab";

/// Testing-lab in the registry.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "testing-lab",
    summary: "drug-test orders, results over gRPC and HL7 v2, interpretation against medications",
    grpc: &[service_names::TESTING_LAB],
    publishes: &[topics::LAB],
    consumes: &[topics::ADMISSIONS, topics::SCHEDULING, topics::CLINICAL],
    dead_letters: &[topics::LAB_DLQ],
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
        let own: settings::LabSettings = host.settings.section(settings::KEY)?;
        let codes = own.codes().map_err(BoxError::from)?;
        let ledger = mount::open::<migration::Migrator>(host, SERVICE.name, &database).await?;
        let api = LabApi::new(ledger.clone(), codes, own.validity);
        iop_runtime::mount!(host, TestingLabServiceServer::new(api));
        mount::relay(host, &ledger, topics::LAB, contexts::LAB);
        mount::consume(host, &SERVICE, CONSUMER, ledger, events::Handler::new());
        Ok(())
    })
}
