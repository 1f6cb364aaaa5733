//! The runtime every IOP service stands on: layered settings, telemetry and trace
//! propagation, bearer-token authentication, storage (SQLite or PostgreSQL through
//! sea-orm), the audit trail, typed ids, the gRPC server bootstrap (health,
//! reflection, limits, graceful shutdown), the gRPC glue and error model shared by
//! every API, and what a service is to the registry. A service never
//! reimplements any of these.

pub mod audit;
pub mod auth;
pub mod backoff;
pub mod bounds;
pub mod consistency;
pub mod db;
pub mod grpc;
pub mod ids;
pub mod metrics;
pub mod phi;
pub mod schema;
pub mod secret;
pub mod server;
pub mod service;
pub mod settings;
pub mod status;
pub mod telemetry;
pub mod wire;

pub use settings::Settings;
pub use tokio_util::sync::CancellationToken;
