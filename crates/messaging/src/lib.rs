//! Messaging building blocks every IOP service uses to publish and consume domain
//! events over Kafka without losing or double-applying one:
//!
//! - [`outbox`]: the transactional outbox, written in the same database
//!   transaction as the state change it describes;
//! - [`relay`]: publishes the outbox in order per patient with an idempotent
//!   producer, retrying while the broker is down, never dropping a row;
//! - [`consumer`]: applies events exactly once in effect (inbox of
//!   `(consumer, event id)` in the same transaction), stores offsets only after
//!   that commit, and dead-letters what cannot be applied;
//! - [`cloudevents`]: the CloudEvents Kafka binding (binary mode) headers;
//! - [`kafka`]: client configuration, topic creation and broker reachability;
//! - [`mount`]: how a service starts its relay and consumer on its gRPC host.

pub mod cloudevents;
pub mod consumer;
pub mod kafka;
pub mod mount;
pub mod outbox;
pub mod relay;

use sea_orm_migration::MigrationTrait;

/// The migrations for the outbox and inbox tables, to list in a service migrator.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(outbox::CreateOutbox),
        Box::new(consumer::CreateInbox),
    ]
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
    /// The gRPC host failed.
    #[error(transparent)]
    Host(#[from] iop_runtime::server::HostError),
}
