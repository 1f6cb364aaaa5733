//! Messaging building blocks every IOP service uses to change its state, publish
//! domain events and consume other services' events over Kafka without losing
//! or double-applying one:
//!
//! - [`work`]: the unit of work — claim the aggregate's stream, change state,
//!   append events, audit, commit, notify — through which every write goes;
//! - [`outbox`]: the transactional outbox the unit of work appends to;
//! - [`relay`]: publishes the outbox in order per patient with an idempotent
//!   producer, retrying while the broker is down, never dropping a row;
//! - [`consumer`]: applies events exactly once in effect (inbox of
//!   `(consumer, event id)` in the same unit of work), stores offsets only after
//!   that commit, and dead-letters what cannot be applied;
//! - [`membership`]: the consumer client's context: assignments logged, and
//!   the fault hook that leaves a member with no partitions;
//! - [`router`]: typed handlers per event type, one decode-and-skip policy;
//! - [`watch`]: the consumer's stall watch (lag standing still → NOT_SERVING,
//!   leave and rejoin the group) and the board [`ops`] serves to operators;
//! - [`cloudevents`]: the CloudEvents Kafka binding (binary mode) headers;
//! - [`kafka`]: client configuration, topic creation and broker reachability;
//! - [`audit`]: the audit API (trail by patient, actor and time; accounting of
//!   disclosures; chain verification) over the trails a process keeps;
//! - [`mount`]: how a service opens its ledger and starts its relay and
//!   consumer on its gRPC host.

pub mod audit;
pub mod cloudevents;
pub mod consumer;
pub mod kafka;
pub mod membership;
pub mod metrics;
pub mod mount;
pub mod ops;
pub mod outbox;
pub mod relay;
pub mod router;
pub mod watch;
pub mod work;

use sea_orm_migration::MigrationTrait;

/// The migrations of the shared tables every service has, to list first in a
/// service's migrator: audit trail (and its chain), outbox, inbox, event streams.
/// Migrations are applied by name, so one added here later reaches existing
/// databases too.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(iop_runtime::audit::CreateAuditLog),
        Box::new(iop_runtime::audit::ChainAuditLog),
        Box::new(outbox::CreateOutbox),
        Box::new(outbox::ParkOutboxRows),
        Box::new(consumer::CreateInbox),
        Box::new(work::CreateEventStreams),
    ]
}

/// Declares a service's `Migrator`: the shared tables of [`migrations`] first,
/// then the service's own, in the order given. Migrations are append-only.
#[macro_export]
macro_rules! migrator {
    ($($migration:expr),* $(,)?) => {
        /// Every migration of this service's database, in order.
        pub struct Migrator;

        impl sea_orm_migration::MigratorTrait for Migrator {
            fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
                let mut all = $crate::migrations();
                $(all.push(Box::new($migration));)*
                all
            }
        }
    };
}

/// A service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Database connection or migration failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Kafka client could not be built.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// A setting is not valid.
    #[error(transparent)]
    Settings(#[from] iop_runtime::settings::SettingsError),
    /// The gRPC host failed.
    #[error(transparent)]
    Host(#[from] iop_runtime::server::HostError),
    /// The schema is behind and the process may not migrate it.
    #[error(
        "the database of {service} is not migrated ({count} pending, first {first}); run `iop migrate --service {service}` (database.migrate_at_start is false)"
    )]
    NotMigrated {
        /// The service.
        service: &'static str,
        /// How many are pending.
        count: usize,
        /// The first pending.
        first: String,
    },
    /// The metrics endpoint cannot listen.
    #[error("telemetry.metrics_listen {listen}: {source}")]
    Metrics {
        /// The address.
        listen: String,
        /// Why.
        source: std::io::Error,
    },
    /// `audit.chain_key` is unusable.
    #[error(transparent)]
    ChainKey(#[from] iop_runtime::audit::chain::WeakChainKey),
}
