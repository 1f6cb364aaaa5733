//! Layered settings, built in this order (each layer overrides the one before):
//!
//! 1. the embedded defaults in `defaults.toml` (the one-machine values);
//! 2. an optional TOML file (`--config <path>`);
//! 3. environment variables `IOP__SECTION__KEY`, e.g. `IOP__KAFKA__BOOTSTRAP_SERVERS`.
//!
//! After loading, [`Settings::validate`] checks every value and names the bad key.

use std::{collections::BTreeMap, net::SocketAddr, path::Path, time::Duration};

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

const DEFAULTS: &str = include_str!("defaults.toml");

/// A setting that could not be loaded or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The layers could not be read or merged (unreadable file, wrong type).
    #[error("settings: {0}")]
    Load(#[from] config::ConfigError),
    /// A value was read but is not acceptable.
    #[error("settings: invalid `{key}`: {reason}")]
    Invalid {
        /// Dotted key, e.g. `kafka.bootstrap_servers`.
        key: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
}

/// Every setting of an IOP process. Sections map to `[section]` tables in TOML and
/// to `IOP__SECTION__KEY` environment variables.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Identity of this deployment.
    pub site: SiteSettings,
    /// gRPC server.
    pub grpc: GrpcSettings,
    /// The service's own database.
    pub database: DatabaseSettings,
    /// Kafka (or Kafka-protocol) broker.
    pub kafka: KafkaSettings,
    /// Bearer-token validation.
    pub auth: AuthSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// Outbox relay.
    pub outbox: OutboxSettings,
    /// Event consumers.
    pub consumer: ConsumerSettings,
    /// Patient view.
    pub patient_view: PatientViewSettings,
    /// `iop dev` (one-machine mode).
    pub dev: DevSettings,
}

/// Identity of this deployment.
#[derive(Debug, Clone, Deserialize)]
pub struct SiteSettings {
    /// Names this deployment in event sources (`ce_source = /iop/<site>/<service>`).
    pub id: String,
}

/// gRPC server limits and address.
#[derive(Debug, Clone, Deserialize)]
pub struct GrpcSettings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest request or response message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Upper bound on any request's duration; a shorter client deadline wins.
    pub request_timeout_ms: u64,
    /// On shutdown, time between reporting NOT_SERVING and closing the listener, so
    /// load balancers stop routing before connections go away.
    pub drain_ms: u64,
}

impl GrpcSettings {
    /// [`Self::request_timeout_ms`] as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// Where the service keeps its state.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` or `postgres://user:pass@host/db`.
    pub url: String,
    /// Connection pool size.
    pub max_connections: u32,
    /// SQLite only: how long a connection waits for a lock before failing.
    pub busy_timeout_ms: u64,
}

/// Broker connection and topic layout.
#[derive(Debug, Clone, Deserialize)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Partitions of a topic created at start-up.
    pub topic_partitions: i32,
    /// Replication factor of a topic created at start-up (3 in production).
    pub topic_replication: i32,
    /// How long the producer keeps retrying one record before reporting failure;
    /// the relay then retries the row itself, so nothing is dropped.
    pub message_timeout_ms: u64,
    /// Consumer group session timeout.
    pub session_timeout_ms: u64,
    /// Create missing topics at start-up through the admin API. `iop dev` turns
    /// this off: its embedded broker has no admin API and creates them itself.
    pub create_topics: bool,
    /// Extra librdkafka properties passed through verbatim (e.g. `security.protocol`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// Bearer-token validation.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// HMAC-SHA256 signing secret shared with the token issuer, at least 32 bytes.
    /// `iop dev` generates one when empty.
    #[serde(default)]
    pub hs256_secret: String,
    /// Expected `iss` claim.
    pub issuer: String,
    /// Expected `aud` claim.
    pub audience: String,
}

/// Log output and trace export.
#[derive(Debug, Clone, Deserialize)]
pub struct TelemetrySettings {
    /// `tracing` filter, e.g. `info,iop_admissions=debug`.
    pub log_filter: String,
    /// `text` or `json`.
    pub log_format: String,
    /// OTLP/gRPC collector endpoint; empty disables export (spans still carry ids).
    #[serde(default)]
    pub otlp_endpoint: String,
    /// Fraction of new traces sampled, 0.0–1.0.
    pub sample_ratio: f64,
}

/// Outbox relay behaviour.
#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSettings {
    /// How often the relay looks for new rows when idle.
    pub poll_interval_ms: u64,
    /// Rows published per round.
    pub batch_size: u64,
    /// Longest pause between retries while the broker is unreachable.
    pub max_backoff_ms: u64,
    /// Republish every retained row at start-up. Set by `iop dev`, whose embedded
    /// broker starts empty; consumers drop what they already applied.
    pub replay_on_start: bool,
    /// Published rows older than this are deleted; 0 keeps them forever.
    pub retention_hours: u64,
}

/// Consumer behaviour.
#[derive(Debug, Clone, Deserialize)]
pub struct ConsumerSettings {
    /// Attempts to apply one event before it goes to the dead-letter topic.
    pub max_attempts: u32,
    /// Pause before the first retry; doubles each time.
    pub retry_backoff_ms: u64,
    /// Longest pause between two polls before the member is considered stuck
    /// (`max.poll.interval.ms`). It also bounds how long a rebalance waits for a
    /// member that died without leaving, so it is kept well under Kafka's 5 min.
    pub max_poll_interval_ms: u64,
    /// Static group membership (`group.instance.id`, KIP-345): a stable name per
    /// replica, e.g. a StatefulSet pod name. A restarted replica with the same
    /// name takes its partitions back at once instead of waiting for the broker
    /// to expire its previous session. Empty means dynamic membership.
    #[serde(default)]
    pub instance_id: String,
}

/// Patient view settings.
#[derive(Debug, Clone, Deserialize)]
pub struct PatientViewSettings {
    /// Longest wait for a consistency token when the client sets no deadline.
    pub read_your_writes_timeout_ms: u64,
}

/// One-machine mode.
#[derive(Debug, Clone, Deserialize)]
pub struct DevSettings {
    /// Directory of the SQLite files and the dev signing key.
    pub data_dir: String,
}

impl Settings {
    /// Loads defaults, then `file` if given, then `IOP__…` environment variables,
    /// and validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_with(file, Environment::with_prefix("IOP"))
    }

    /// Loads the embedded defaults alone (validated), for tests and tools.
    pub fn defaults() -> Result<Self, SettingsError> {
        let settings: Settings = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .build()?
            .try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    fn load_with(file: Option<&Path>, env: Environment) -> Result<Self, SettingsError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        let settings: Settings = builder
            .add_source(env.prefix_separator("__").separator("__").try_parsing(true))
            .build()?
            .try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value that deserialisation cannot, naming the first bad key.
    pub fn validate(&self) -> Result<(), SettingsError> {
        fn invalid(key: &'static str, reason: impl Into<String>) -> SettingsError {
            SettingsError::Invalid {
                key,
                reason: reason.into(),
            }
        }
        if self.site.id.is_empty()
            || !self
                .site
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(invalid(
                "site.id",
                "must be non-empty letters, digits and '-'",
            ));
        }
        if self.grpc.max_message_bytes < 1024 {
            return Err(invalid("grpc.max_message_bytes", "must be at least 1024"));
        }
        if self.grpc.request_timeout_ms == 0 {
            return Err(invalid("grpc.request_timeout_ms", "must be positive"));
        }
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be positive"));
        }
        if self.kafka.bootstrap_servers.trim().is_empty() {
            return Err(invalid(
                "kafka.bootstrap_servers",
                "must name at least one broker",
            ));
        }
        if self.kafka.topic_partitions < 1 {
            return Err(invalid("kafka.topic_partitions", "must be at least 1"));
        }
        if self.kafka.topic_replication < 1 {
            return Err(invalid("kafka.topic_replication", "must be at least 1"));
        }
        if !self.auth.hs256_secret.is_empty() && self.auth.hs256_secret.len() < 32 {
            return Err(invalid("auth.hs256_secret", "must be at least 32 bytes"));
        }
        if self.auth.issuer.is_empty() {
            return Err(invalid("auth.issuer", "must not be empty"));
        }
        if self.auth.audience.is_empty() {
            return Err(invalid("auth.audience", "must not be empty"));
        }
        if !matches!(self.telemetry.log_format.as_str(), "text" | "json") {
            return Err(invalid("telemetry.log_format", "must be `text` or `json`"));
        }
        if !(0.0..=1.0).contains(&self.telemetry.sample_ratio) {
            return Err(invalid(
                "telemetry.sample_ratio",
                "must be between 0.0 and 1.0",
            ));
        }
        if self.outbox.batch_size == 0 {
            return Err(invalid("outbox.batch_size", "must be positive"));
        }
        if self.outbox.poll_interval_ms == 0 {
            return Err(invalid("outbox.poll_interval_ms", "must be positive"));
        }
        if self.consumer.max_attempts == 0 {
            return Err(invalid("consumer.max_attempts", "must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use std::io::Write;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Environment::with_prefix("IOP").source(Some(map))
    }

    #[test]
    fn defaults_load_and_validate() {
        let s = Settings::defaults().unwrap();
        assert_eq!(s.kafka.topic_partitions, 6);
        assert_eq!(s.grpc.listen.port(), 50051);
    }

    #[test]
    fn file_then_environment_override_in_that_order() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "[kafka]\nbootstrap_servers = \"from-file:9092\"\ntopic_partitions = 3"
        )
        .unwrap();
        let s = Settings::load_with(
            Some(file.path()),
            env(&[("IOP__KAFKA__BOOTSTRAP_SERVERS", "from-env:9092")]),
        )
        .unwrap();
        assert_eq!(s.kafka.bootstrap_servers, "from-env:9092");
        assert_eq!(s.kafka.topic_partitions, 3, "file overrides defaults");
    }

    #[test]
    fn invalid_value_names_the_key() {
        let err =
            Settings::load_with(None, env(&[("IOP__KAFKA__TOPIC_PARTITIONS", "0")])).unwrap_err();
        assert!(err.to_string().contains("kafka.topic_partitions"), "{err}");
        let err =
            Settings::load_with(None, env(&[("IOP__DATABASE__URL", "mysql://x")])).unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        let err =
            Settings::load_with(None, env(&[("IOP__AUTH__HS256_SECRET", "short")])).unwrap_err();
        assert!(err.to_string().contains("auth.hs256_secret"), "{err}");
    }

    #[test]
    fn unparsable_value_names_the_key() {
        let err =
            Settings::load_with(None, env(&[("IOP__GRPC__LISTEN", "not-an-address")])).unwrap_err();
        assert!(err.to_string().contains("grpc.listen"), "{err}");
    }
}
