//! The patient view owns every site's up-to-date picture of each patient. It
//! consumes the admissions, scheduling and clinical topics (and, as they
//! arrive, the other contexts'), folds each patient's events into one row plus a timeline,
//! and serves `GetPatientView`, which honours consistency tokens so a facility
//! reads its own write from any site.
//!
//! Layout (the shape of every service): this file is the registry entry
//! ([`SERVICE`]) and start-up; [`settings`] its section; `api/` the gRPC face;
//! [`fold`], [`clinical`] and [`access`] the pure rules; `store/` queries and writes; `events`
//! the typed handlers on the shared router; `entity/` and [`migration`] the
//! storage; [`error`] the error type and its statuses.

pub mod access;
mod api;
pub mod clinical;
mod entity;
pub mod error;
mod events;
pub mod fold;
pub mod migration;
pub mod settings;
mod store;

use futures::future::BoxFuture;
use iop_messaging::mount;
use iop_proto::{
    patientview::v1::patient_view_service_server::PatientViewServiceServer, service_names, topics,
};
use iop_runtime::{
    server::Host,
    service::{BoxError, ServiceDef},
    settings::DatabaseSettings,
};

pub use api::PatientViewApi;
pub use events::ViewHandler;

/// Consumer group, inbox key and dead-letter prefix: DLQ is `iop.patientview.dlq`.
pub const CONSUMER: &str = "iop.patientview";

/// The patient view in the registry.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "patient-view",
    summary: "every site's folded, read-your-writes picture of each patient",
    grpc: &[service_names::PATIENT_VIEW],
    publishes: &[],
    consumes: &[topics::ADMISSIONS, topics::SCHEDULING, topics::CLINICAL],
    dead_letters: &[topics::PATIENT_VIEW_DLQ],
    settings: Some(settings::SECTION),
    migrate: iop_messaging::mount::migrations::<migration::Migrator>,
    start,
    seed: None,
};

/// Connects and migrates the database, mounts the gRPC service, and starts the
/// consumer once the broker answers and the topics exist (then SERVING).
pub fn start(host: &mut Host, database: DatabaseSettings) -> BoxFuture<'_, Result<(), BoxError>> {
    Box::pin(async move {
        let own: settings::PatientViewSettings = host.settings.section(settings::KEY)?;
        let ledger = mount::open::<migration::Migrator>(host, SERVICE.name, &database).await?;
        let tokens = iop_runtime::consistency::TokenKey::from_settings(&host.settings.auth);
        let api = PatientViewApi::new(ledger.clone(), own.read_your_writes_timeout(), tokens);
        iop_runtime::mount!(host, PatientViewServiceServer::new(api));
        mount::consume(host, &SERVICE, CONSUMER, ledger, events::ViewHandler::new());
        Ok(())
    })
}
