//! Layered settings, built in this order (each layer overrides the one before):
//!
//! 1. the embedded defaults: `defaults.toml` here (the sections every process
//!    has) and each registered service's own section ([`Section::defaults`]);
//! 2. an optional TOML file (`--config <path>`);
//! 3. environment variables `IOP__SECTION__KEY`, e.g. `IOP__KAFKA__BOOTSTRAP_SERVERS`.
//!
//! Nothing unknown is accepted: a top-level section that neither this crate nor a
//! registered service owns, and a key a section does not have (every settings
//! struct denies unknown fields), stop the process naming the key and, when it
//! came from the environment, the variable — a typo such as
//! `IOP__KAFKA__TOPIC_REPLICATON=3` must not silently leave a default in place.
//! After loading, [`Settings::validate`] checks values and names the bad key.

use std::{collections::BTreeMap, net::SocketAddr, path::Path, time::Duration};

use config::{Config, ConfigBuilder, Environment, File, FileFormat, Value, builder::DefaultState};
use serde::{Deserialize, de::DeserializeOwned};

use crate::secret::Secret;

const DEFAULTS: &str = include_str!("defaults.toml");
/// The sections this crate owns; services own the others ([`Section`]).
const SHARED_SECTIONS: &[&str] = &[
    "site",
    "grpc",
    "database",
    "kafka",
    "auth",
    "telemetry",
    "outbox",
    "consumer",
    "audit",
    "dev",
];

/// A setting that could not be loaded or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The layers could not be read or merged (unreadable file, wrong type).
    #[error("settings: {0}")]
    Load(#[from] config::ConfigError),
    /// A key no section has (a typo, or a setting of another version).
    #[error("settings: unknown key `{key}`{}", from_env(.key))]
    Unknown {
        /// Dotted key, e.g. `kafka.topic_replicaton`.
        key: String,
    },
    /// A value was read but is not acceptable.
    #[error("settings: invalid `{key}`: {reason}")]
    Invalid {
        /// Dotted key, e.g. `kafka.bootstrap_servers`.
        key: String,
        /// Why the value is rejected.
        reason: String,
    },
}

/// ` (set by IOP__A__B)` when the environment holds the variable of `key`.
fn from_env(key: &str) -> String {
    let var = format!("IOP__{}", key.replace('.', "__").to_uppercase());
    if std::env::var_os(&var).is_some() {
        format!(" (set by {var})")
    } else {
        String::new()
    }
}

impl SettingsError {
    /// An invalid value of `key`.
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        SettingsError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// Reads config's "unknown field `x`, expected … for key `section`" back
    /// into the dotted key; other errors pass through.
    fn from_config(e: config::ConfigError) -> Self {
        let text = e.to_string();
        let between = |s: &str, start: &str| -> Option<String> {
            let rest = &s[s.find(start)? + start.len()..];
            Some(rest[..rest.find('`')?].to_owned())
        };
        if let Some(field) = text
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
        {
            let key = match between(&text, "for key `") {
                Some(section) => format!("{section}.{field}"),
                None => field.to_owned(),
            };
            return SettingsError::Unknown { key };
        }
        SettingsError::Load(e)
    }
}

/// A settings section owned by a service (e.g. `[patient_view]`), registered so
/// the loader knows it, layers its defaults and checks it before anything starts.
#[derive(Clone, Copy)]
pub struct Section {
    /// The top-level key, e.g. `patient_view`.
    pub key: &'static str,
    /// The section's embedded defaults, a TOML document with that one table.
    pub defaults: &'static str,
    /// Deserialises and validates the section (unknown keys included).
    pub check: fn(&Settings) -> Result<(), SettingsError>,
}

/// Every shared setting of an IOP process, plus the raw sections of the
/// registered services ([`Settings::section`]). Sections map to `[section]`
/// tables in TOML and to `IOP__SECTION__KEY` environment variables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// The audit trail.
    pub audit: AuditSettings,
    /// `iop dev` (one-machine mode).
    pub dev: DevSettings,
    /// Raw sections of services, by key; read with [`Settings::section`].
    #[serde(skip)]
    services: ServiceSections,
}

/// The services' raw sections; `Debug` lists only their keys, since a service
/// section may hold a secret this crate does not know to mask.
#[derive(Clone, Default)]
struct ServiceSections(BTreeMap<String, Value>);

impl std::fmt::Debug for ServiceSections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Identity of this deployment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSettings {
    /// Names this deployment in event sources (`ce_source = /iop/<site>/<service>`).
    pub id: String,
}

/// gRPC server limits and address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// TLS on the gRPC port, and mutual TLS when a client CA is given.
    pub tls: GrpcTls,
    /// A second, plaintext listener serving only `grpc.health.v1`, for
    /// kubelet gRPC probes (which cannot speak TLS); empty: none. Besides
    /// `""` and each service, it answers `liveness`: SERVING while the
    /// process runs, whatever the broker, NOT_SERVING once shutdown begins.
    #[serde(default)]
    pub health_listen: String,
}

/// `[grpc.tls]`: PEM files, read at start (a renewed certificate takes a
/// restart, e.g. a rollout when its Secret changes).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcTls {
    /// The server's certificate chain; empty: plaintext (h2c).
    pub cert_file: String,
    /// Its private key.
    pub key_file: String,
    /// CA of the client certificates to require (mutual TLS); empty: any
    /// client may connect (and still needs a bearer token).
    pub client_ca_file: String,
}

impl GrpcTls {
    /// Whether the port speaks TLS.
    pub fn enabled(&self) -> bool {
        !self.cert_file.is_empty()
    }

    /// The first key that is wrong, and why.
    pub fn check(&self) -> Result<(), SettingsError> {
        for (key, path) in [
            ("grpc.tls.cert_file", &self.cert_file),
            ("grpc.tls.key_file", &self.key_file),
            ("grpc.tls.client_ca_file", &self.client_ca_file),
        ] {
            if !path.is_empty() && !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
                return Err(SettingsError::invalid(
                    key,
                    format!("{path} is not a readable file"),
                ));
            }
        }
        if self.cert_file.is_empty() != self.key_file.is_empty() {
            return Err(SettingsError::invalid(
                "grpc.tls.key_file",
                "a certificate and its key go together",
            ));
        }
        if !self.client_ca_file.is_empty() && !self.enabled() {
            return Err(SettingsError::invalid(
                "grpc.tls.client_ca_file",
                "mutual TLS needs cert_file and key_file",
            ));
        }
        Ok(())
    }
}

impl GrpcSettings {
    /// [`Self::request_timeout_ms`] as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// Where the service keeps its state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` or `postgres://user:pass@host/db` (a secret:
    /// it may hold a password).
    pub url: Secret<String>,
    /// A file holding [`Self::url`] (a mounted Kubernetes Secret); when set,
    /// its content replaces `url`.
    #[serde(default)]
    pub url_file: String,
    /// Connection pool size.
    pub max_connections: u32,
    /// SQLite only: how long a connection waits for a lock before failing.
    pub busy_timeout_ms: u64,
    /// Apply pending migrations when a service starts (`iop dev`, small
    /// sites). Set false where a Job runs `iop migrate` under a migration
    /// role: `iop serve` then refuses to start on an unmigrated schema.
    pub migrate_at_start: bool,
}

impl DatabaseSettings {
    /// These settings pointing at `url`.
    pub fn with_url(&self, url: impl Into<String>) -> Self {
        Self {
            url: Secret::new(url.into()),
            ..self.clone()
        }
    }
}

/// Broker connection and topic layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// How long the producer waits to batch records (`linger.ms`): each event
    /// waits at most this long before it is sent. 1 ms keeps freshness and
    /// still batches a burst.
    pub linger_ms: u64,
    /// How long a consumer's fetch waits at the broker for new records
    /// (`fetch.wait.max.ms`): the longest an event waits to be delivered
    /// once written. librdkafka's 500 ms made every view trail writes by
    /// half a second; 10 ms costs an idle fetch per partition leader every
    /// 10 ms, which a broker serves from memory.
    pub fetch_wait_max_ms: u64,
    /// Create missing topics at start-up through the admin API. `iop dev` turns
    /// this off: its embedded broker has no admin API and creates them itself.
    pub create_topics: bool,
    /// `min.insync.replicas` of a topic created at start-up (2 in production,
    /// with 3 replicas: a write survives one broker down).
    pub topic_min_insync_replicas: i32,
    /// `retention.ms` of a topic created at start-up; -1 keeps records
    /// forever. Longer than any outage the outbox could replay across.
    pub topic_retention_ms: i64,
    /// Producer `compression.type`: `none` or `gzip` (zlib is built in).
    pub compression: String,
    /// How clients reach the brokers: TLS and SASL, from files.
    pub security: KafkaSecurity,
    /// Extra librdkafka properties passed through verbatim (e.g.
    /// `socket.keepalive.enable`); values are secrets. A property librdkafka
    /// does not know, or a value it refuses, stops the process naming it.
    #[serde(default)]
    pub properties: BTreeMap<String, Secret<String>>,
}

/// `[kafka.security]`: the protocol, the brokers' CA, a client certificate
/// for mutual TLS, and SASL SCRAM or PLAIN credentials; every secret a file
/// (a mounted Kubernetes Secret), read when a client is made.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSecurity {
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub protocol: String,
    /// PEM of the CA that signed the brokers' certificates (`ssl.ca.location`);
    /// empty: the system's trust store.
    pub ca_file: String,
    /// PEM client certificate for mutual TLS (`ssl.certificate.location`).
    pub cert_file: String,
    /// PEM key of that certificate (`ssl.key.location`).
    pub key_file: String,
    /// `SCRAM-SHA-512`, `SCRAM-SHA-256` or `PLAIN`.
    pub sasl_mechanism: String,
    /// SASL user name.
    pub username: String,
    /// File holding the SASL password (never in the settings themselves).
    pub password_file: String,
}

impl KafkaSecurity {
    /// Whether the protocol uses TLS.
    pub fn tls(&self) -> bool {
        matches!(self.protocol.as_str(), "ssl" | "sasl_ssl")
    }

    /// Whether the protocol uses SASL.
    pub fn sasl(&self) -> bool {
        matches!(self.protocol.as_str(), "sasl_plaintext" | "sasl_ssl")
    }

    /// The first key that is wrong, and why: an unknown protocol or
    /// mechanism, a certificate without its key, SASL without credentials,
    /// a file that cannot be read.
    pub fn check(&self) -> Result<(), SettingsError> {
        if !matches!(
            self.protocol.as_str(),
            "plaintext" | "ssl" | "sasl_plaintext" | "sasl_ssl"
        ) {
            return Err(SettingsError::invalid(
                "kafka.security.protocol",
                "must be plaintext, ssl, sasl_plaintext or sasl_ssl",
            ));
        }
        let readable = |key: &'static str, path: &str| -> Result<(), SettingsError> {
            if path.is_empty() || std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
                Ok(())
            } else {
                Err(SettingsError::invalid(
                    key,
                    format!("{path} is not a readable file"),
                ))
            }
        };
        readable("kafka.security.ca_file", &self.ca_file)?;
        readable("kafka.security.cert_file", &self.cert_file)?;
        readable("kafka.security.key_file", &self.key_file)?;
        readable("kafka.security.password_file", &self.password_file)?;
        let tls_files = !self.ca_file.is_empty() || !self.cert_file.is_empty();
        if tls_files && !self.tls() {
            return Err(SettingsError::invalid(
                "kafka.security.protocol",
                "TLS files are set but the protocol has no TLS (ssl or sasl_ssl)",
            ));
        }
        if self.cert_file.is_empty() != self.key_file.is_empty() {
            return Err(SettingsError::invalid(
                "kafka.security.key_file",
                "a client certificate and its key go together",
            ));
        }
        if self.sasl() {
            if !matches!(
                self.sasl_mechanism.as_str(),
                "SCRAM-SHA-512" | "SCRAM-SHA-256" | "PLAIN"
            ) {
                return Err(SettingsError::invalid(
                    "kafka.security.sasl_mechanism",
                    "must be SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN",
                ));
            }
            if self.username.is_empty() || self.password_file.is_empty() {
                return Err(SettingsError::invalid(
                    "kafka.security.username",
                    "SASL needs username and password_file",
                ));
            }
        } else if !self.username.is_empty() || !self.password_file.is_empty() {
            return Err(SettingsError::invalid(
                "kafka.security.protocol",
                "SASL credentials are set but the protocol has no SASL",
            ));
        }
        Ok(())
    }
}

/// Bearer-token validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC-SHA256 signing secret shared with the token issuer, at least 32 bytes.
    /// `iop dev` generates one when empty.
    #[serde(default)]
    pub hs256_secret: Secret<String>,
    /// A file holding [`Self::hs256_secret`]; when set, its content replaces it.
    #[serde(default)]
    pub hs256_secret_file: String,
    /// A JSON Web Key Set of the identity provider's signing keys (RS256,
    /// ES256, EdDSA, each with a `kid`), e.g. a mounted ConfigMap its
    /// publisher keeps current; re-read when it changes. When set, HS256
    /// tokens are refused: `hs256_secret` then signs no bearer token and only
    /// keys consistency tokens (still required, shared by the services).
    #[serde(default)]
    pub jwks_file: String,
    /// Expected `iss` claim.
    pub issuer: String,
    /// Expected `aud` claim.
    pub audience: String,
    /// Longest lifetime (`exp - iat`) a token may have, in seconds; a token
    /// minted for longer is refused whatever its expiry.
    pub max_token_lifetime_s: u64,
}

/// Log output and trace export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Address of the Prometheus endpoint (`GET /metrics`), e.g.
    /// `0.0.0.0:9464`; empty: none.
    #[serde(default)]
    pub metrics_listen: String,
}

/// Outbox relay behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
    /// replica, e.g. the pod name from the downward API. A replica restarted
    /// with the same name takes its partitions back at once instead of waiting
    /// for the broker to expire its previous session (measured with tansu:
    /// back within 15 s whatever the restart delay, where a dynamic member
    /// restarted after 10 s was never given partitions again). Empty means
    /// dynamic membership; the stall watch below still heals it. A consumer
    /// that heals rejoins as a dynamic member (see the stall watch).
    #[serde(default)]
    pub instance_id: String,
    /// How long lag may stand still while this consumer holds no partition of
    /// it or does no work, before it is declared stalled: logged (WARN), its
    /// services report NOT_SERVING, and it leaves the group and joins again.
    /// Keep it above `kafka.session_timeout_ms`, so an ordinary rebalance
    /// after a member's death is not mistaken for a stall.
    pub stall_after_ms: u64,
    /// How often the stall watch reads offsets and watermarks.
    pub watch_interval_ms: u64,
    /// Fault injection for tests: this long after (re)joining, the consumer
    /// gives up its partitions once without leaving the group, as a consumer
    /// the broker stopped assigning would. 0 (the default) never does.
    #[serde(default)]
    pub drop_assignment_after_ms: u64,
}

impl ConsumerSettings {
    /// [`Self::stall_after_ms`] as a duration.
    pub fn stall_after(&self) -> Duration {
        Duration::from_millis(self.stall_after_ms)
    }

    /// [`Self::watch_interval_ms`] as a duration.
    pub fn watch_interval(&self) -> Duration {
        Duration::from_millis(self.watch_interval_ms)
    }
}

/// The audit trail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Key of the trail's hash chain (HMAC-SHA256), at least 32 bytes, kept
    /// outside the database: whoever holds it can re-hash a changed trail.
    /// `iop dev` generates one when empty; `iop serve` refuses to start without.
    #[serde(default)]
    pub chain_key: Secret<String>,
    /// A file holding [`Self::chain_key`]; when set, its content replaces it.
    #[serde(default)]
    pub chain_key_file: String,
    /// How often the process verifies its services' chains by itself (the
    /// `iop_audit_chain_intact` metric and an ERROR log on a break), in
    /// seconds; 0: only when asked (VerifyAuditChain, `iop verify-audit`).
    pub verify_every_s: u64,
}

/// One-machine mode.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevSettings {
    /// Directory of the SQLite files and the dev signing key.
    pub data_dir: String,
}

impl Settings {
    /// Loads defaults (shared and of `sections`), then `file` if given, then
    /// `IOP__…` environment variables, and validates the result.
    pub fn load(file: Option<&Path>, sections: &[Section]) -> Result<Self, SettingsError> {
        Self::load_with(file, Environment::with_prefix("IOP"), sections)
    }

    /// Loads the embedded defaults alone (validated), for tests and tools.
    pub fn defaults(sections: &[Section]) -> Result<Self, SettingsError> {
        Self::finish(Self::base(sections), sections)
    }

    fn base(sections: &[Section]) -> ConfigBuilder<DefaultState> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        for s in sections {
            builder = builder.add_source(File::from_str(s.defaults, FileFormat::Toml));
        }
        builder
    }

    fn load_with(
        file: Option<&Path>,
        env: Environment,
        sections: &[Section],
    ) -> Result<Self, SettingsError> {
        let mut builder = Self::base(sections);
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        builder = builder.add_source(env.prefix_separator("__").separator("__").try_parsing(true));
        Self::finish(builder, sections)
    }

    /// Splits the merged layers into the shared sections (deserialised here,
    /// unknown keys refused) and the services' raw sections, then checks both.
    fn finish(
        builder: ConfigBuilder<DefaultState>,
        sections: &[Section],
    ) -> Result<Self, SettingsError> {
        let root: BTreeMap<String, Value> = builder.build()?.try_deserialize()?;
        let mut shared = Config::builder();
        let mut services = BTreeMap::new();
        for (key, value) in root {
            if SHARED_SECTIONS.contains(&key.as_str()) {
                shared = shared.set_override(key.as_str(), value)?;
            } else if sections.iter().any(|s| s.key == key) {
                services.insert(key, value);
            } else {
                return Err(SettingsError::Unknown { key });
            }
        }
        let mut settings: Settings = shared
            .build()?
            .try_deserialize()
            .map_err(SettingsError::from_config)?;
        settings.services = ServiceSections(services);
        settings.read_secret_files()?;
        settings.validate()?;
        for s in sections {
            (s.check)(&settings)?;
        }
        Ok(settings)
    }

    /// Sets one value of a service section by its dotted key (e.g.
    /// `billing.payers.MCDMC.min_days_per_week`), as an `IOP__…` variable
    /// would; for tests and tools that start services in-process.
    pub fn set(&mut self, dotted: &str, value: impl Into<Value>) -> Result<(), SettingsError> {
        // Walked by hand: two overrides of one builder are applied in no set
        // order, so a nested one could land before (under) its section's.
        fn put(
            at: &mut Value,
            path: &[&str],
            leaf: Value,
            dotted: &str,
        ) -> Result<(), SettingsError> {
            let Some((head, rest)) = path.split_first() else {
                *at = leaf;
                return Ok(());
            };
            let config::ValueKind::Table(table) = &mut at.kind else {
                return Err(SettingsError::invalid(
                    dotted,
                    "names a value inside a non-table",
                ));
            };
            let child = table
                .entry((*head).to_owned())
                .or_insert_with(|| Value::new(None, config::ValueKind::Table(config::Map::new())));
            put(child, rest, leaf, dotted)
        }
        let parts: Vec<&str> = dotted.split('.').collect();
        let (section, path) = parts
            .split_first()
            .filter(|(_, path)| !path.is_empty())
            .ok_or_else(|| SettingsError::invalid(dotted, "is not section.key"))?;
        let current = self.services.0.get_mut(*section).ok_or_else(|| {
            SettingsError::invalid(*section, "section missing: is the service registered?")
        })?;
        put(current, path, value.into(), dotted)
    }

    /// The service section `key`, deserialised (unknown keys refused).
    pub fn section<T: DeserializeOwned>(&self, key: &str) -> Result<T, SettingsError> {
        let value = self.services.0.get(key).cloned().ok_or_else(|| {
            SettingsError::invalid(key, "section missing: is the service registered?")
        })?;
        let mut one: BTreeMap<String, T> = Config::builder()
            .set_override(key, value)?
            .build()?
            .try_deserialize()
            .map_err(SettingsError::from_config)?;
        one.remove(key)
            .ok_or_else(|| SettingsError::invalid(key, "section missing"))
    }

    /// Replaces each secret that names a file (`database.url_file`,
    /// `auth.hs256_secret_file`, `audit.chain_key_file`) with that file's
    /// content, without its final line break: Kubernetes mounts Secrets as
    /// files, and a value in a file stays out of `/proc/<pid>/environ` and
    /// out of `kubectl describe`.
    fn read_secret_files(&mut self) -> Result<(), SettingsError> {
        fn read(key: &str, path: &str) -> Result<Option<Secret<String>>, SettingsError> {
            if path.is_empty() {
                return Ok(None);
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| SettingsError::invalid(key, format!("cannot read {path}: {e}")))?;
            let value = text.trim_end_matches(['\n', '\r']);
            if value.is_empty() {
                return Err(SettingsError::invalid(key, format!("{path} is empty")));
            }
            Ok(Some(Secret::new(value.to_owned())))
        }
        if let Some(v) = read("database.url_file", &self.database.url_file)? {
            self.database.url = v;
        }
        if let Some(v) = read("auth.hs256_secret_file", &self.auth.hs256_secret_file)? {
            self.auth.hs256_secret = v;
        }
        if let Some(v) = read("audit.chain_key_file", &self.audit.chain_key_file)? {
            self.audit.chain_key = v;
        }
        Ok(())
    }

    /// Checks every value that deserialisation cannot, naming the first bad key.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = SettingsError::invalid;
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
        self.grpc.tls.check()?;
        let health = &self.grpc.health_listen;
        if !health.is_empty() && health.parse::<SocketAddr>().is_err() {
            return Err(invalid(
                "grpc.health_listen",
                "is not host:port (e.g. 0.0.0.0:8081)",
            ));
        }
        if self.grpc.request_timeout_ms == 0 {
            return Err(invalid("grpc.request_timeout_ms", "must be positive"));
        }
        let url = self.database.url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
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
        if !(1..=self.kafka.topic_replication).contains(&self.kafka.topic_min_insync_replicas) {
            return Err(invalid(
                "kafka.topic_min_insync_replicas",
                "must be 1 to topic_replication",
            ));
        }
        if self.kafka.topic_retention_ms == 0 || self.kafka.topic_retention_ms < -1 {
            return Err(invalid(
                "kafka.topic_retention_ms",
                "must be positive, or -1 (forever)",
            ));
        }
        if !matches!(self.kafka.compression.as_str(), "none" | "gzip") {
            return Err(invalid("kafka.compression", "must be none or gzip"));
        }
        self.kafka.security.check()?;
        if !self.auth.hs256_secret.is_empty() && self.auth.hs256_secret.expose().len() < 32 {
            return Err(invalid("auth.hs256_secret", "must be at least 32 bytes"));
        }
        if self.auth.max_token_lifetime_s == 0 {
            return Err(invalid("auth.max_token_lifetime_s", "must be at least 1"));
        }
        if !self.audit.chain_key.is_empty() && self.audit.chain_key.expose().len() < 32 {
            return Err(invalid("audit.chain_key", "must be at least 32 bytes"));
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
        if self.consumer.watch_interval_ms == 0 {
            return Err(invalid("consumer.watch_interval_ms", "must be positive"));
        }
        if self.consumer.stall_after_ms < 2 * self.consumer.watch_interval_ms {
            return Err(invalid(
                "consumer.stall_after_ms",
                "must be at least two watch intervals",
            ));
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

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Widget {
        wait_ms: u64,
    }

    const WIDGET: Section = Section {
        key: "widget",
        defaults: "[widget]\nwait_ms = 5\n",
        check: |s| s.section::<Widget>("widget").map(|_| ()),
    };

    #[test]
    fn defaults_load_and_validate() {
        let s = Settings::defaults(&[WIDGET]).unwrap();
        assert_eq!(s.kafka.topic_partitions, 6);
        assert_eq!(s.grpc.listen.port(), 50051);
        assert_eq!(s.section::<Widget>("widget").unwrap().wait_ms, 5);
    }

    #[test]
    fn file_then_environment_override_in_that_order() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "[kafka]\nbootstrap_servers = \"from-file:9092\"\ntopic_partitions = 3\n[widget]\nwait_ms = 7"
        )
        .unwrap();
        let s = Settings::load_with(
            Some(file.path()),
            env(&[
                ("IOP__KAFKA__BOOTSTRAP_SERVERS", "from-env:9092"),
                ("IOP__WIDGET__WAIT_MS", "9"),
            ]),
            &[WIDGET],
        )
        .unwrap();
        assert_eq!(s.kafka.bootstrap_servers, "from-env:9092");
        assert_eq!(s.kafka.topic_partitions, 3, "file overrides defaults");
        assert_eq!(s.section::<Widget>("widget").unwrap().wait_ms, 9);
    }

    #[test]
    fn invalid_value_names_the_key() {
        let load = |pairs: &[(&str, &str)]| Settings::load_with(None, env(pairs), &[WIDGET]);
        let err = load(&[("IOP__KAFKA__TOPIC_PARTITIONS", "0")]).unwrap_err();
        assert!(err.to_string().contains("kafka.topic_partitions"), "{err}");
        let err = load(&[("IOP__DATABASE__URL", "mysql://x")]).unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        let err = load(&[("IOP__AUTH__HS256_SECRET", "short")]).unwrap_err();
        assert!(err.to_string().contains("auth.hs256_secret"), "{err}");
        let err = load(&[("IOP__WIDGET__WAIT_MS", "soon")]).unwrap_err();
        assert!(err.to_string().contains("widget.wait_ms"), "{err}");
    }

    #[test]
    fn unparsable_value_names_the_key() {
        let err = Settings::load_with(
            None,
            env(&[("IOP__GRPC__LISTEN", "not-an-address")]),
            &[WIDGET],
        )
        .unwrap_err();
        assert!(err.to_string().contains("grpc.listen"), "{err}");
    }

    #[test]
    fn unknown_keys_and_sections_are_refused_by_name() {
        let load = |pairs: &[(&str, &str)]| Settings::load_with(None, env(pairs), &[WIDGET]);
        for (var, key) in [
            ("IOP__KAFKA__TOPIC_REPLICATON", "kafka.topic_replicaton"),
            ("IOP__WIDGET__WAIT_SECONDS", "widget.wait_seconds"),
            ("IOP__WIDGETS__WAIT_MS", "widgets"),
        ] {
            let err = load(&[(var, "3")]).unwrap_err();
            assert!(
                matches!(&err, SettingsError::Unknown { key: k } if k == key),
                "{var}: {err}"
            );
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[outbox]\nbatch_sise = 10").unwrap();
        let err = Settings::load_with(Some(file.path()), env(&[]), &[WIDGET]).unwrap_err();
        assert_eq!(err.to_string(), "settings: unknown key `outbox.batch_sise`");
    }

    #[test]
    fn secrets_are_read_from_files_without_the_final_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let url = write("url", "postgres://iop:pw@db:5432/iop_admissions\n");
        let secret = write("hs256", &format!("{}\r\n", "k".repeat(40)));
        let chain = write("chain", &"c".repeat(40));
        let s = Settings::load_with(
            None,
            env(&[
                ("IOP__DATABASE__URL_FILE", url.as_str()),
                ("IOP__AUTH__HS256_SECRET_FILE", secret.as_str()),
                ("IOP__AUDIT__CHAIN_KEY_FILE", chain.as_str()),
            ]),
            &[WIDGET],
        )
        .unwrap();
        assert_eq!(
            s.database.url.expose(),
            "postgres://iop:pw@db:5432/iop_admissions"
        );
        assert_eq!(s.auth.hs256_secret.expose(), &"k".repeat(40));
        assert_eq!(s.audit.chain_key.expose(), &"c".repeat(40));

        let empty = write("empty", "\n");
        for (var, path, key) in [
            (
                "IOP__AUDIT__CHAIN_KEY_FILE",
                empty.as_str(),
                "audit.chain_key_file",
            ),
            (
                "IOP__DATABASE__URL_FILE",
                "/nonexistent/url",
                "database.url_file",
            ),
        ] {
            let err = Settings::load_with(None, env(&[(var, path)]), &[WIDGET]).unwrap_err();
            assert!(err.to_string().contains(key), "{var}: {err}");
        }
        // A file's value is validated like an inline one.
        let short = write("short", "short\n");
        let err = Settings::load_with(
            None,
            env(&[("IOP__AUTH__HS256_SECRET_FILE", short.as_str())]),
            &[WIDGET],
        )
        .unwrap_err();
        assert!(err.to_string().contains("auth.hs256_secret"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings::load_with(
            None,
            env(&[("IOP__DATABASE__URL", "postgres://iop:hunter2@db/admissions")]),
            &[WIDGET],
        )
        .unwrap();
        let dump = format!("{s:?}");
        assert!(!dump.contains("hunter2"), "{dump}");
        assert_eq!(
            s.database.url.expose(),
            "postgres://iop:hunter2@db/admissions"
        );
    }
}
