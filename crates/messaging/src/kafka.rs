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

/// Base client configuration: brokers plus any pass-through properties.
pub fn client_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.bootstrap_servers);
    for (k, v) in &settings.properties {
        config.set(k, v.expose());
    }
    config
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
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                settings.topic_partitions,
                TopicReplication::Fixed(settings.topic_replication),
            )
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
