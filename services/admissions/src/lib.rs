//! Admissions owns the patient identity of the whole network and the episodes of
//! care: registration (with a network-wide medical record number), look-up and
//! admission, each write publishing its facts on `iop.admissions.v1`. This first
//! slice grows into the full domain (master patient index, placement, consent,
//! transfer and discharge) without changing its shape.
//!
//! Layout: [`domain`] holds the pure rules, `entity`/[`migration`] the storage,
//! `api` the gRPC face; [`start`] mounts the service on a host and [`run`] runs it
//! alone, as a pod does.

mod api;
pub mod assessment;
pub mod domain;
mod entity;
pub mod error;
pub mod matching;
pub mod migration;
pub mod placement;
pub mod records;

use iop_messaging::{StartError, kafka, mount, outbox::Outbox};
use iop_proto::{
    admissions::v1::admissions_service_server::AdmissionsServiceServer, service_names::ADMISSIONS,
};
use iop_runtime::{
    CancellationToken, Settings,
    db::Database,
    server::{self, Host},
    settings::DatabaseSettings,
};

pub use api::AdmissionsApi;
/// Part 2 consent rules, shared with every context.
pub use iop_consent as consent;

/// The bounded context's name: topic `iop.admissions.v1`, consistency-token source.
pub const CONTEXT: &str = iop_proto::contexts::ADMISSIONS;

/// The demo network `iop dev` starts with (when its registry is empty) and the
/// tests register: California facilities offering every program. Real networks
/// register theirs with `PutFacility`.
pub fn demo_facilities() -> Vec<iop_proto::admissions::v1::Facility> {
    use iop_proto::{admissions::v1::ProgramOffering, common::v1::Program};
    let programs = [
        (Program::IopDay, 24),
        (Program::IopEvening, 24),
        (Program::IopCombined, 12),
        (Program::Php, 12),
    ];
    [
        ("sf-mission", "IOP Network SF Mission", "San Francisco"),
        ("oakland", "IOP Network Oakland", "Oakland"),
        ("san-jose", "IOP Network San Jose", "San Jose"),
        ("sacramento", "IOP Network Sacramento", "Sacramento"),
        ("fresno", "IOP Network Fresno", "Fresno"),
        ("la-downtown", "IOP Network LA Downtown", "Los Angeles"),
        ("san-diego", "IOP Network San Diego", "San Diego"),
    ]
    .into_iter()
    .map(|(id, name, city)| iop_proto::admissions::v1::Facility {
        facility_id: id.to_owned(),
        name: name.to_owned(),
        city: city.to_owned(),
        time_zone: "America/Los_Angeles".to_owned(),
        programs: programs
            .iter()
            .map(|(program, capacity)| ProgramOffering {
                program: *program as i32,
                capacity: *capacity,
                census: 0,
            })
            .collect(),
    })
    .collect()
}

/// The topics admissions publishes to.
pub fn topics() -> Vec<String> {
    vec![kafka::context_topic(CONTEXT)]
}

/// Connects and migrates the database, mounts the gRPC service on `host`, and
/// starts the outbox relay. SERVING once the broker answers and topics exist.
pub async fn start(host: &mut Host, database: &DatabaseSettings) -> Result<(), StartError> {
    let db = Database::connect(database).await?;
    db.migrate::<migration::Migrator>().await?;
    let outbox = Outbox::new();
    let grpc = &host.settings.grpc;
    let service = AdmissionsServiceServer::new(AdmissionsApi::new(db.clone(), outbox.clone()))
        .max_decoding_message_size(grpc.max_message_bytes)
        .max_encoding_message_size(grpc.max_message_bytes);
    let auth = host.auth.clone();
    host.routes()
        .add_service(tonic::service::interceptor::InterceptedService::new(
            service, auth,
        ));

    mount::relay(host, db, &outbox, CONTEXT);
    let topic = kafka::context_topic(CONTEXT);
    let kafka_settings = host.settings.kafka.clone();
    let shutdown = host.shutdown.clone();
    host.serving_when(ADMISSIONS, async move {
        kafka::prepare_topics(&kafka_settings, &[topic], &shutdown).await
    });
    Ok(())
}

/// Runs admissions alone (`iop serve --service admissions`) until `shutdown`.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> Result<(), StartError> {
    let listener = server::bind(settings.grpc.listen)
        .await
        .map_err(iop_runtime::server::HostError::from)?;
    let database = settings.database.clone();
    let mut host = Host::new(settings, shutdown, &[ADMISSIONS]).await?;
    start(&mut host, &database).await?;
    tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "admissions listening");
    host.serve(listener).await?;
    Ok(())
}
