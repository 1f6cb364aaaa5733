//! The patient view owns every site's up-to-date picture of each patient. It
//! consumes the admissions and scheduling topics (and, as they arrive, the
//! other contexts'),
//! folds each patient's events into one row plus a timeline, and serves
//! `GetPatientView`, which honours consistency tokens so a facility reads its own
//! write from any site.
//!
//! Layout: [`fold`] is the pure fold, `handler` applies it in the consumer's
//! transaction, `api` serves it; [`start`] mounts it on a host, [`run`] runs it
//! alone.

mod api;
mod entity;
pub mod fold;
mod handler;
pub mod migration;

use std::{sync::Arc, time::Duration};

use iop_messaging::{StartError, consumer::EventConsumer, kafka, mount};
use iop_proto::{
    patientview::v1::patient_view_service_server::PatientViewServiceServer,
    service_names::PATIENT_VIEW,
};
use iop_runtime::{
    CancellationToken, Settings,
    db::Database,
    server::{self, Host},
    settings::DatabaseSettings,
};
use tokio::sync::Notify;

pub use api::PatientViewApi;

/// Consumer group, inbox key and dead-letter prefix: DLQ is `iop.patientview.dlq`.
pub const CONSUMER: &str = "iop.patientview";

/// The topics the patient view consumes and dead-letters to.
pub fn topics() -> Vec<String> {
    vec![
        kafka::context_topic(iop_proto::contexts::ADMISSIONS),
        kafka::context_topic(iop_proto::contexts::SCHEDULING),
        kafka::dead_letter_topic(CONSUMER),
    ]
}

/// Connects and migrates the database, mounts the gRPC service, and starts the
/// consumer once the broker answers and the topics exist (then SERVING).
pub async fn start(host: &mut Host, database: &DatabaseSettings) -> Result<(), StartError> {
    let db = Database::connect(database).await?;
    db.migrate::<migration::Migrator>().await?;
    let applied = Arc::new(Notify::new());
    let max_wait = Duration::from_millis(host.settings.patient_view.read_your_writes_timeout_ms);
    let grpc = &host.settings.grpc;
    let service =
        PatientViewServiceServer::new(PatientViewApi::new(db.clone(), applied.clone(), max_wait))
            .max_decoding_message_size(grpc.max_message_bytes)
            .max_encoding_message_size(grpc.max_message_bytes);
    let auth = host.auth.clone();
    host.routes()
        .add_service(tonic::service::interceptor::InterceptedService::new(
            service, auth,
        ));

    let topics = vec![
        kafka::context_topic(iop_proto::contexts::ADMISSIONS),
        kafka::context_topic(iop_proto::contexts::SCHEDULING),
    ];
    let all = self::topics();
    let consumer = EventConsumer::new(
        CONSUMER,
        topics.clone(),
        db,
        &host.settings.kafka,
        &host.settings.consumer,
        handler::ViewHandler { applied },
    );
    mount::consumer(host, PATIENT_VIEW, consumer, all);
    Ok(())
}

/// Runs the patient view alone (`iop serve --service patient-view`) until `shutdown`.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> Result<(), StartError> {
    let listener = server::bind(settings.grpc.listen)
        .await
        .map_err(server::HostError::from)?;
    let database = settings.database.clone();
    let mut host = Host::new(settings, shutdown, &[PATIENT_VIEW]).await?;
    start(&mut host, &database).await?;
    tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "patient view listening");
    host.serve(listener).await?;
    Ok(())
}
