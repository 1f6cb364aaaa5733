//! Scheduling owns structured time: per facility, recurring tracks and the
//! sessions generated from them (in the facility's time zone, right across
//! daylight-saving changes), enrollments opened by admissions' `PatientAdmitted`
//! (no call from admissions: only the event), bookings with their conflict
//! rules, attendance, and weekly clinical hours against the band of each
//! patient's level of care. It publishes on `iop.scheduling.v1`, keyed by
//! patient id; attendance is the fact billing and clinical work from.
//!
//! Layout (the shape of every service): this file is the registry entry
//! ([`SERVICE`]) and start-up; [`settings`] its section; `api/` the gRPC face;
//! [`calendar`], [`attendance`], [`booking`], [`tracks`] and [`hours`] the pure
//! rules; `store/` queries and writes; `events` event builders and the typed
//! handlers of admissions' events; `entity/` and [`migration`] the storage;
//! [`error`] the error type and its statuses.

mod api;
pub mod attendance;
pub mod booking;
mod entity;
pub mod error;
mod events;
pub mod hours;
pub mod migration;
pub mod settings;
mod store;
pub mod tracks;

use futures::future::BoxFuture;
use iop_messaging::mount;
use iop_proto::{
    contexts, scheduling::v1::scheduling_service_server::SchedulingServiceServer, service_names,
    topics,
};
use iop_runtime::{
    server::Host,
    service::{BoxError, ServiceDef},
    settings::DatabaseSettings,
};

pub use api::SchedulingApi;
/// Facility-local days and instants (shared with every context).
pub use iop_care::calendar;

/// Consumer group of admissions' events; dead letters go to `iop.scheduling.dlq`.
pub const CONSUMER: &str = "iop.scheduling";

/// Scheduling in the registry.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "scheduling",
    summary: "tracks, sessions, bookings, attendance and weekly hours, driven by admissions' events",
    grpc: &[service_names::SCHEDULING],
    publishes: &[topics::SCHEDULING],
    consumes: &[topics::ADMISSIONS],
    dead_letters: &[topics::SCHEDULING_DLQ],
    settings: Some(settings::SECTION),
    migrate: iop_messaging::mount::migrations::<migration::Migrator>,
    start,
    seed: None,
};

/// Connects and migrates the database, mounts the gRPC service, starts the
/// outbox relay and the consumer of admissions' events. SERVING once the
/// broker answers and the topics exist.
pub fn start(host: &mut Host, database: DatabaseSettings) -> BoxFuture<'_, Result<(), BoxError>> {
    Box::pin(async move {
        let own: settings::SchedulingSettings = host.settings.section(settings::KEY)?;
        let ledger = mount::open::<migration::Migrator>(host, SERVICE.name, &database).await?;
        let api = SchedulingApi::new(ledger.clone(), own.clone());
        iop_runtime::mount!(host, SchedulingServiceServer::new(api));
        mount::relay(host, &ledger, topics::SCHEDULING, contexts::SCHEDULING);
        let handler = events::AdmissionsHandler::new(own);
        mount::consume(host, &SERVICE, CONSUMER, ledger, handler);
        Ok(())
    })
}
