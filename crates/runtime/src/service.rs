//! What a service is to the rest of the system: one [`ServiceDef`] per service
//! crate, listed once in the registry (`crates/registry`). `iop dev`, `iop serve
//! --service`, health, the test network and the documentation all loop over the
//! registry, so adding a service is its crate plus one line there (Grafana
//! Mimir's module table, in Rust).

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::{
    Settings,
    server::{self, Host, HostError},
    settings::{DatabaseSettings, Section},
};

/// Any error a service's start-up can end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connects and migrates the service's database, mounts its gRPC API on the
/// host and spawns its background tasks (relay, consumer).
pub type StartFn =
    for<'a> fn(&'a mut Host, DatabaseSettings) -> BoxFuture<'a, Result<(), BoxError>>;

/// Fills a freshly started network with the service's demo data through its
/// own API (a channel and an admin token), when it holds none; `unlimited`
/// asks for capacities no test will meet.
pub type SeedFn =
    fn(tonic::transport::Channel, String, Seed) -> BoxFuture<'static, Result<(), tonic::Status>>;

/// What to do with a service's migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrate {
    /// Name the pending ones.
    Pending,
    /// Apply the pending ones (one process at a time on PostgreSQL).
    Apply,
}

/// A service's migrator over a database: the names pending, or applied.
pub type MigrateFn = for<'a> fn(
    &'a crate::db::Database,
    Migrate,
) -> BoxFuture<'a, Result<Vec<String>, sea_orm::DbErr>>;

/// How to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// What a newcomer's `iop dev` starts with.
    Demo,
    /// The demo data with limits no test meets by accident (tests of a limit
    /// set up their own).
    Unlimited,
}

/// One service of the network.
pub struct ServiceDef {
    /// Its name on the command line (`iop serve --service <name>`), in logs
    /// (`service.name = iop-<name>`) and of its database file under `iop dev`.
    pub name: &'static str,
    /// One line on what it owns, for `iop services` and the docs.
    pub summary: &'static str,
    /// Full gRPC service names it serves (health reports each).
    pub grpc: &'static [&'static str],
    /// Topics it publishes to (its outbox relay).
    pub publishes: &'static [&'static str],
    /// Topics it consumes.
    pub consumes: &'static [&'static str],
    /// Dead-letter topics of its consumers.
    pub dead_letters: &'static [&'static str],
    /// Its settings section, if it has one.
    pub settings: Option<Section>,
    /// Its database's migrations: the names pending, or applies them and
    /// names those applied (`iop migrate`, and `start` unless told not to).
    pub migrate: MigrateFn,
    /// How it starts on a host.
    pub start: StartFn,
    /// Its demo data, if any.
    pub seed: Option<SeedFn>,
}

impl ServiceDef {
    /// Every topic the service touches: published, consumed, dead letters.
    pub fn topics(&self) -> impl Iterator<Item = &'static str> {
        self.publishes
            .iter()
            .chain(self.consumes)
            .chain(self.dead_letters)
            .copied()
    }
}

/// The settings sections of `services`.
pub fn sections(services: &[&ServiceDef]) -> Vec<Section> {
    services.iter().filter_map(|s| s.settings).collect()
}

/// Every topic of `services`, sorted, once.
pub fn topics(services: &[&ServiceDef]) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = services.iter().flat_map(|s| s.topics()).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Every gRPC service name of `services`.
pub fn grpc_names(services: &[&ServiceDef]) -> Vec<&'static str> {
    services
        .iter()
        .flat_map(|s| s.grpc.iter().copied())
        .collect()
}

/// Runs `service` alone (`iop serve --service <name>`) until `shutdown`, with
/// the database and broker named in `settings`.
pub async fn serve_one(
    service: &ServiceDef,
    settings: Settings,
    shutdown: CancellationToken,
) -> Result<(), BoxError> {
    let listener = server::bind(settings.grpc.listen)
        .await
        .map_err(HostError::from)?;
    let database = settings.database.clone();
    let mut host = Host::new(settings, shutdown, service.grpc).await?;
    (service.start)(&mut host, database).await?;
    tracing::info!(
        service = service.name,
        address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        "listening"
    );
    host.serve(listener).await?;
    Ok(())
}
