//! Scheduling owns structured time: per facility, recurring tracks and the
//! sessions generated from them (in the facility's time zone, right across
//! daylight-saving changes), enrollments opened by admissions' `PatientAdmitted`
//! (no call from admissions: only the event), bookings with their conflict
//! rules, attendance, and weekly clinical hours against the band of each
//! patient's level of care. It publishes on `iop.scheduling.v1`, keyed by
//! patient id; attendance is the fact billing and clinical work from.
//!
//! Layout: [`calendar`] and [`attendance`] are pure rules, `schedule` the shared
//! storage operations (booking, cancelling, the per-patient event stream),
//! `handler` applies admissions' events, `api` is the gRPC face; [`start`]
//! mounts the service on a host and [`run`] runs it alone.

mod api;
pub mod attendance;
pub mod calendar;
mod entity;
pub mod error;
mod handler;
pub mod migration;
mod schedule;

use iop_messaging::{StartError, consumer::EventConsumer, kafka, mount, outbox::Outbox};
use iop_proto::{
    scheduling::v1::scheduling_service_server::SchedulingServiceServer, service_names::SCHEDULING,
};
use iop_runtime::{
    CancellationToken, Settings,
    db::Database,
    server::{self, Host},
    settings::DatabaseSettings,
};

pub use api::SchedulingApi;

/// The bounded context's name: topic `iop.scheduling.v1`.
pub const CONTEXT: &str = iop_proto::contexts::SCHEDULING;
/// Consumer group of admissions' events; dead letters go to `iop.scheduling.dlq`.
pub const CONSUMER: &str = "iop.scheduling";

/// The topics scheduling publishes to, consumes and dead-letters to.
pub fn topics() -> Vec<String> {
    vec![
        kafka::context_topic(CONTEXT),
        kafka::context_topic(iop_proto::contexts::ADMISSIONS),
        kafka::dead_letter_topic(CONSUMER),
    ]
}

/// Connects and migrates the database, mounts the gRPC service, starts the
/// outbox relay and the consumer of admissions' events. SERVING once the broker
/// answers and the topics exist.
pub async fn start(host: &mut Host, database: &DatabaseSettings) -> Result<(), StartError> {
    let db = Database::connect(database).await?;
    db.migrate::<migration::Migrator>().await?;
    let outbox = Outbox::new();
    let grpc = &host.settings.grpc;
    let service = SchedulingServiceServer::new(SchedulingApi::new(db.clone(), outbox.clone()))
        .max_decoding_message_size(grpc.max_message_bytes)
        .max_encoding_message_size(grpc.max_message_bytes);
    let auth = host.auth.clone();
    host.routes()
        .add_service(tonic::service::interceptor::InterceptedService::new(
            service, auth,
        ));

    mount::relay(host, db.clone(), &outbox, CONTEXT);
    let consumer = EventConsumer::new(
        CONSUMER,
        vec![kafka::context_topic(iop_proto::contexts::ADMISSIONS)],
        db,
        &host.settings.kafka,
        &host.settings.consumer,
        handler::AdmissionsHandler { outbox },
    );
    mount::consumer(host, SCHEDULING, consumer, topics());
    Ok(())
}

/// Runs scheduling alone (`iop serve --service scheduling`) until `shutdown`.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> Result<(), StartError> {
    let listener = server::bind(settings.grpc.listen)
        .await
        .map_err(server::HostError::from)?;
    let database = settings.database.clone();
    let mut host = Host::new(settings, shutdown, &[SCHEDULING]).await?;
    start(&mut host, &database).await?;
    tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "scheduling listening");
    host.serve(listener).await?;
    Ok(())
}
