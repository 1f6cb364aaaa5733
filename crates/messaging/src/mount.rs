//! How a service mounts its messaging on a gRPC host, the same way in every
//! context: the outbox relay of its topic, and a consumer that starts once the
//! broker answers and its topics exist, which is also when the service reports
//! SERVING. A consumer that fails stops the process (its supervisor restarts it)
//! rather than leave a healthy-looking service that applies nothing.

use iop_runtime::{db::Database, server::Host};

use crate::{
    consumer::{EventConsumer, EventHandler},
    kafka,
    outbox::Outbox,
    relay::Relay,
};

/// Starts the relay publishing `outbox` to `iop.<context>.v1`.
pub fn relay(host: &mut Host, db: Database, outbox: &Outbox, context: &str) {
    let topic = kafka::context_topic(context);
    let source = format!("/iop/{}/{context}", host.settings.site.id);
    let relay = Relay::new(
        db,
        &host.settings.kafka,
        &host.settings.outbox,
        topic,
        source,
        outbox.wakeup(),
    );
    let shutdown = host.shutdown.clone();
    host.spawn(relay.run(shutdown));
}

/// Runs `consumer` once every topic of `topics` exists, and reports `service`
/// SERVING at that moment.
pub fn consumer<H: EventHandler + Send + Sync + 'static>(
    host: &mut Host,
    service: &'static str,
    consumer: EventConsumer<H>,
    topics: Vec<String>,
) {
    let kafka_settings = host.settings.kafka.clone();
    let shutdown = host.shutdown.clone();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    host.spawn(async move {
        if !kafka::prepare_topics(&kafka_settings, &topics, &shutdown).await {
            return;
        }
        let _ = ready_tx.send(());
        if let Err(e) = consumer.run(shutdown.clone()).await {
            tracing::error!(error = %e, service, "consumer failed; shutting down");
            shutdown.cancel();
        }
    });
    host.serving_when(service, async move { ready_rx.await.is_ok() });
}
