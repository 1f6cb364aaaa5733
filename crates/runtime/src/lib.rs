//! The runtime every IOP service stands on: layered settings, telemetry and trace
//! propagation, bearer-token authentication, storage (SQLite or PostgreSQL through
//! sea-orm), the audit trail, and the gRPC server bootstrap (health, reflection,
//! limits, graceful shutdown). A service never reimplements any of these.

pub mod audit;
pub mod auth;
pub mod consistency;
pub mod db;
pub mod phi;
pub mod server;
pub mod settings;
pub mod telemetry;
pub mod wire;

pub use settings::Settings;
pub use tokio_util::sync::CancellationToken;
