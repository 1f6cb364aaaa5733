//! Kafka client configuration from settings, topic creation at start-up, and the
//! broker reachability check that gates health. Topics follow one per bounded
//! context (`iop.<context>.v1`); dead letters go to `<consumer>.dlq`.

use std::time::Duration;

use iop_runtime::{backoff::Backoff, settings::KafkaSettings};
use rdkafka::{
    ClientConfig,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    error::{KafkaError, RDKafkaErrorCode},
};

/// The topic of a bounded context, e.g. `iop.admissions.v1`.
pub fn context_topic(context: &str) -> String {
    format!("iop.{context}.v1")
}

/// The dead-letter topic of a consumer group, e.g. `iop.patientview.dlq`.
pub fn dead_letter_topic(consumer_group: &str) -> String {
    format!("{consumer_group}.dlq")
}

/// Base client configuration: brokers, security (`[kafka.security]`, the
/// SASL password read from its file now), then any pass-through properties.
pub fn client_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.bootstrap_servers);
    let s = &settings.security;
    config.set("security.protocol", s.protocol.to_ascii_uppercase());
    for (key, path) in [
        ("ssl.ca.location", &s.ca_file),
        ("ssl.certificate.location", &s.cert_file),
        ("ssl.key.location", &s.key_file),
    ] {
        if !path.is_empty() {
            config.set(key, path);
        }
    }
    if s.sasl() {
        config.set("sasl.mechanism", &s.sasl_mechanism);
        config.set("sasl.username", &s.username);
        // Unreadable since start-up: the client fails to authenticate, loudly.
        let password = std::fs::read_to_string(&s.password_file).unwrap_or_default();
        config.set("sasl.password", password.trim_end_matches(['\n', '\r']));
    }
    for (k, v) in &settings.properties {
        config.set(k, v.expose());
    }
    config
}

/// Makes a client from the settings once, so that a property librdkafka does
/// not know, a value it refuses or a certificate it cannot load stops the
/// process at start naming it, instead of being retried forever.
pub fn check(settings: &KafkaSettings) -> Result<(), String> {
    producer_config(settings, "iop-config-check")
        .create::<rdkafka::producer::BaseProducer>()
        .map(drop)
        .map_err(|e| format!("kafka client configuration refused: {e}"))
}

/// What this build of librdkafka can do (`builtin.features`), e.g.
/// `gzip,ssl,sasl,sasl_scram,…`.
pub fn builtin_features() -> Result<String, KafkaError> {
    ClientConfig::new()
        .create_native_config()?
        .get("builtin.features")
}

/// Producer configuration: idempotent, acknowledged by all in-sync replicas.
/// Pass-through properties may tune the rest but not weaken those two.
pub fn producer_config(settings: &KafkaSettings, client_id: &str) -> ClientConfig {
    let mut config = client_config(settings);
    for (key, value) in [
        ("client.id", client_id.to_owned()),
        (
            "message.timeout.ms",
            settings.message_timeout_ms.to_string(),
        ),
        ("linger.ms", settings.linger_ms.to_string()),
        ("compression.type", settings.compression.clone()),
    ] {
        if !settings.properties.contains_key(key) {
            config.set(key, value);
        }
    }
    config.set("enable.idempotence", "true").set("acks", "all");
    config
}

/// Creates each topic that does not exist yet, with the configured partitions and
/// replication. Existing topics are left as they are.
pub async fn ensure_topics(settings: &KafkaSettings, topics: &[String]) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = client_config(settings).create()?;
    let min_insync = settings.topic_min_insync_replicas.to_string();
    let retention = settings.topic_retention_ms.to_string();
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                settings.topic_partitions,
                TopicReplication::Fixed(settings.topic_replication),
            )
            .set("min.insync.replicas", &min_insync)
            .set("retention.ms", &retention)
        })
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(10)))
        .request_timeout(Some(Duration::from_secs(15)));
    for result in admin.create_topics(new.iter(), &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::AdminOp(code)).inspect_err(|_| {
                    tracing::error!(%topic, ?code, "topic creation failed");
                });
            }
        }
    }
    Ok(())
}

/// Waits until the brokers answer a metadata request, retrying every second until
/// `timeout` (or forever when `None`).
pub async fn wait_for_broker(
    settings: &KafkaSettings,
    timeout: Option<Duration>,
) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = client_config(settings).create()?;
    let admin = std::sync::Arc::new(admin);
    let started = std::time::Instant::now();
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(2));
    loop {
        let probe = admin.clone();
        let result = tokio::task::spawn_blocking(move || {
            probe
                .inner()
                .fetch_metadata(None, Duration::from_secs(3))
                .map(|_| ())
        })
        .await
        .unwrap_or(Err(KafkaError::Canceled));
        match result {
            Ok(()) => return Ok(()),
            Err(e) if timeout.is_some_and(|t| started.elapsed() >= t) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "broker not reachable yet");
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

/// Waits for the broker, then creates `topics`, retrying both until they succeed
/// or `shutdown`; true when done. Services gate SERVING and their consumers on it.
pub async fn prepare_topics(
    settings: &KafkaSettings,
    topics: &[String],
    shutdown: &tokio_util::sync::CancellationToken,
) -> bool {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));
    loop {
        let attempt = async {
            wait_for_broker(settings, Some(Duration::from_secs(10))).await?;
            if settings.create_topics {
                ensure_topics(settings, topics).await?;
            }
            Ok::<(), KafkaError>(())
        };
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            result = attempt => match result {
                Ok(()) => return true,
                Err(e) => {
                    tracing::warn!(error = %e, ?topics, "topics not ready; retrying");
                    if !backoff.sleep(shutdown).await {
                        return false;
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use iop_runtime::Settings;

    use super::*;

    fn kafka() -> KafkaSettings {
        Settings::defaults(&[]).unwrap().kafka
    }

    #[test]
    fn this_librdkafka_speaks_tls_scram_and_gzip() {
        let features = builtin_features().unwrap();
        for wanted in ["ssl", "sasl_scram", "sasl_plain", "gzip"] {
            assert!(
                features.split(',').any(|f| f == wanted),
                "{wanted} missing from {features}"
            );
        }
    }

    #[test]
    fn a_sasl_ssl_scram_gzip_client_starts_with_its_password_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let password = dir.path().join("password");
        std::fs::write(&password, "s3cret\n").unwrap();
        let mut k = kafka();
        k.compression = "gzip".into();
        k.security.protocol = "sasl_ssl".into();
        k.security.sasl_mechanism = "SCRAM-SHA-512".into();
        k.security.username = "iop-billing".into();
        k.security.password_file = password.to_string_lossy().into_owned();
        k.security.check().unwrap();
        check(&k).unwrap();
        let config = client_config(&k);
        assert_eq!(config.get("sasl.password"), Some("s3cret"));
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
    }

    #[test]
    fn a_bad_client_setting_is_refused_naming_it() {
        let mut k = kafka();
        k.properties.insert(
            "no.such.property".into(),
            iop_runtime::secret::Secret::new("1".into()),
        );
        let e = check(&k).unwrap_err();
        assert!(e.contains("no.such.property"), "{e}");
        let mut k = kafka();
        k.security.protocol = "ssl".into();
        k.security.ca_file = "/nonexistent/ca.pem".into();
        let e = k.security.check().unwrap_err().to_string();
        assert!(e.contains("kafka.security.ca_file"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("ca.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        k.security.ca_file = garbage.to_string_lossy().into_owned();
        let e = check(&k).unwrap_err();
        assert!(e.contains("ssl.ca.location"), "{e}");
        let mut k = kafka();
        k.security.protocol = "sasl_ssl".into();
        let e = k.security.check().unwrap_err().to_string();
        assert!(e.contains("kafka.security.sasl_mechanism"), "{e}");
    }
}
