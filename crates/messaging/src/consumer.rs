//! The idempotent consumer. For each record of its topics, in partition order:
//!
//! 1. read the CloudEvents attributes; a record that is not an IOP event goes
//!    straight to the dead-letter topic;
//! 2. in one unit of work ([`crate::work`]), insert `(consumer, event id)` into
//!    `inbox` (a duplicate means the event was applied before: skip it) and let
//!    the [`EventHandler`] apply the event, emitting events of its own if it
//!    must (they commit with it);
//! 3. commit, and only then store the record's offset (committed to the broker
//!    periodically and on shutdown).
//!
//! An event whose handler fails is retried with backoff up to
//! `consumer.max_attempts`, then dead-lettered with the reason in the
//! `iop_dlq_reason` header; the partition moves on either way. A crash between
//! commit and offset commit only redelivers events the inbox already holds.

use std::{future::Future, time::Duration};

use iop_runtime::{
    backoff::Backoff,
    settings::{ConsumerSettings, KafkaSettings},
};
use rdkafka::{
    Message,
    consumer::{CommitMode, Consumer, StreamConsumer},
    error::KafkaError,
    message::{BorrowedMessage, Header, Headers, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};
use sea_orm::{DbErr, EntityTrait, Set, sea_query::OnConflict};
use sea_orm_migration::prelude::*;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    cloudevents::{InboundEvent, header},
    kafka::{client_config, producer_config},
    work::{Ledger, UnitOfWork},
};

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The event can never be applied (undecodable payload, impossible state):
    /// dead-letter it at once.
    #[error("{0}")]
    Permanent(String),
    /// Might succeed later (a conflict, a busy dependency): retry up to
    /// `consumer.max_attempts`, then dead-letter.
    #[error("{0}")]
    Transient(String),
    /// The database is unreachable: nothing is wrong with the event, so it is
    /// retried until the database is back (or shutdown), never dead-lettered.
    #[error("{0}")]
    Unavailable(String),
}

impl From<DbErr> for ApplyError {
    fn from(e: DbErr) -> Self {
        match e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                ApplyError::Unavailable(format!("database: {e}"))
            }
            _ => ApplyError::Transient(format!("database: {e}")),
        }
    }
}

impl From<prost::DecodeError> for ApplyError {
    fn from(e: prost::DecodeError) -> Self {
        ApplyError::Permanent(format!("undecodable payload: {e}"))
    }
}

/// What a consuming service does with each event (usually: dispatch it on a
/// [`crate::router::Router`]).
pub trait EventHandler: Send + Sync + 'static {
    /// Applies `event` in `work`, which also records it in the inbox and
    /// commits after. Event types the handler does not know are skipped (the
    /// router's rule), so newer producers do not break older consumers.
    fn apply<'a>(
        &'a self,
        work: &'a mut UnitOfWork,
        event: &'a InboundEvent,
    ) -> impl Future<Output = Result<(), ApplyError>> + Send + 'a;
}

/// Runs one consumer group over its topics.
pub struct EventConsumer<H> {
    name: String,
    topics: Vec<String>,
    ledger: Ledger,
    kafka: KafkaSettings,
    settings: ConsumerSettings,
    handler: H,
}

/// What happened to one record.
enum Disposition {
    Applied,
    Duplicate,
    DeadLettered(String),
    /// Shut down while retrying: leave the offset unstored.
    Interrupted,
}

impl<H: EventHandler> EventConsumer<H> {
    /// A consumer named `name` (also its group id and inbox key) over `topics`,
    /// applying events in units of work of `ledger`.
    pub fn new(
        name: impl Into<String>,
        topics: Vec<String>,
        ledger: Ledger,
        kafka: &KafkaSettings,
        settings: &ConsumerSettings,
        handler: H,
    ) -> Self {
        Self {
            name: name.into(),
            topics,
            ledger,
            kafka: kafka.clone(),
            settings: settings.clone(),
            handler,
        }
    }

    /// The dead-letter topic of this consumer.
    pub fn dead_letter_topic(&self) -> String {
        crate::kafka::dead_letter_topic(&self.name)
    }

    /// Consumes until `shutdown`, then commits the stored offsets.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), KafkaError> {
        let mut config = client_config(&self.kafka);
        config
            .set("group.id", &self.name)
            .set("client.id", format!("{}-consumer", self.name))
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            // Offsets are stored by hand, after the transaction commits.
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set(
                "session.timeout.ms",
                self.kafka.session_timeout_ms.to_string(),
            )
            .set(
                "max.poll.interval.ms",
                self.settings.max_poll_interval_ms.to_string(),
            );
        if !self.settings.instance_id.is_empty() {
            config.set("group.instance.id", &self.settings.instance_id);
        }
        let consumer: StreamConsumer = config.create()?;
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        let dlq: FutureProducer =
            producer_config(&self.kafka, &format!("{}-dlq", self.name)).create()?;
        let dlq_topic = self.dead_letter_topic();
        tracing::info!(consumer = %self.name, topics = ?self.topics, "consumer started");

        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => break,
                m = consumer.recv() => m,
            };
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(consumer = %self.name, error = %e, "consume error");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let disposition = self.handle(&message, &shutdown).await;
            if matches!(disposition, Disposition::Interrupted) {
                break;
            }
            if let Disposition::DeadLettered(reason) = &disposition
                && !self
                    .dead_letter(&dlq, &dlq_topic, &message, reason, &shutdown)
                    .await
            {
                // Shutting down before the dead letter was accepted: leave the
                // offset unstored so the record is read again next time.
                break;
            }
            if let Err(e) = consumer.store_offset_from_message(&message) {
                tracing::warn!(consumer = %self.name, error = %e, "cannot store offset");
            }
        }
        if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing stored since the last commit is a normal outcome.
            tracing::debug!(consumer = %self.name, error = %e, "final offset commit");
        }
        Ok(())
    }

    async fn handle(
        &self,
        message: &BorrowedMessage<'_>,
        shutdown: &CancellationToken,
    ) -> Disposition {
        let event = match InboundEvent::from_message(message) {
            Ok(e) => e,
            Err(e) => return Disposition::DeadLettered(format!("malformed event: {e}")),
        };
        let span = tracing::info_span!(
            "event.apply",
            otel.name = %format!("apply {}", event.event_type),
            consumer = %self.name,
            event.id = %event.id,
            event.r#type = %event.event_type,
            messaging.kafka.partition = event.partition,
            messaging.kafka.offset = event.offset,
        );
        iop_runtime::telemetry::set_parent(&span, event.traceparent.as_deref());
        async {
            let mut backoff = Backoff::new(
                Duration::from_millis(self.settings.retry_backoff_ms),
                Duration::from_secs(5),
            );
            let mut attempt = 1;
            loop {
                match self.apply_once(&event).await {
                    Ok(true) => return Disposition::Applied,
                    Ok(false) => {
                        tracing::debug!("duplicate event skipped");
                        return Disposition::Duplicate;
                    }
                    Err(ApplyError::Permanent(reason)) => return Disposition::DeadLettered(reason),
                    Err(ApplyError::Transient(reason)) if attempt >= self.settings.max_attempts => {
                        return Disposition::DeadLettered(format!(
                            "gave up after {attempt} attempts: {reason}"
                        ));
                    }
                    Err(ApplyError::Transient(reason)) => {
                        tracing::warn!(attempt, %reason, "apply failed; retrying");
                        attempt += 1;
                    }
                    Err(ApplyError::Unavailable(reason)) => {
                        tracing::warn!(%reason, "database unavailable; retrying");
                    }
                }
                if !backoff.sleep(shutdown).await {
                    return Disposition::Interrupted;
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Applies `event` once. `Ok(false)` when the inbox already holds it.
    async fn apply_once(&self, event: &InboundEvent) -> Result<bool, ApplyError> {
        let mut work = self.ledger.system().await?;
        let inserted = inbox::Entity::insert(inbox::ActiveModel {
            consumer: Set(self.name.clone()),
            event_id: Set(event.id.clone()),
            received_at: Set(chrono::Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([inbox::Column::Consumer, inbox::Column::EventId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(work.txn())
        .await?;
        if inserted == 0 {
            return Ok(false);
        }
        self.handler.apply(&mut work, event).await?;
        work.commit().await?;
        Ok(true)
    }

    /// Sends `message` to the dead-letter topic, retrying until the broker takes
    /// it. Returns false only if shut down first.
    async fn dead_letter(
        &self,
        producer: &FutureProducer,
        topic: &str,
        message: &BorrowedMessage<'_>,
        reason: &str,
        shutdown: &CancellationToken,
    ) -> bool {
        tracing::warn!(
            consumer = %self.name,
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            %reason,
            "dead-lettering record"
        );
        let origin = format!(
            "{}/{}/{}",
            message.topic(),
            message.partition(),
            message.offset()
        );
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            let mut headers = OwnedHeaders::new();
            if let Some(original) = message.headers() {
                for h in original.iter() {
                    headers = headers.insert(Header {
                        key: h.key,
                        value: h.value,
                    });
                }
            }
            let headers = headers
                .insert(Header {
                    key: header::DLQ_REASON,
                    value: Some(reason),
                })
                .insert(Header {
                    key: header::DLQ_CONSUMER,
                    value: Some(&self.name),
                })
                .insert(Header {
                    key: header::DLQ_ORIGIN,
                    value: Some(&origin),
                });
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            if let Some(payload) = message.payload() {
                record = record.payload(payload);
            }
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return false,
                r = producer.send(record, Duration::from_secs(30)) => r,
            };
            match outcome {
                Ok(_) => return true,
                Err((e, _)) => {
                    tracing::warn!(error = %e, "dead-letter publish failed; retrying");
                    if !backoff.sleep(shutdown).await {
                        return false;
                    }
                }
            }
        }
    }
}

/// The `inbox` table: events each consumer has applied.
#[allow(
    missing_docs,
    reason = "fields are the columns, described on the module"
)]
pub mod inbox {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "inbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub consumer: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub received_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Creates `inbox` (identifiers frozen here).
pub struct CreateInbox;

#[derive(DeriveIden)]
enum Inbox {
    Table,
    Consumer,
    EventId,
    ReceivedAt,
}

impl MigrationName for CreateInbox {
    fn name(&self) -> &str {
        "m20261128_000003_create_inbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Inbox::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Inbox::Consumer).string().not_null())
                    .col(ColumnDef::new(Inbox::EventId).string().not_null())
                    .col(
                        ColumnDef::new(Inbox::ReceivedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(Inbox::Consumer).col(Inbox::EventId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Inbox::Table).to_owned())
            .await
    }
}
