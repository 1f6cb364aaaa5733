//! The outbox relay: publishes outbox rows to the context's topic in insertion
//! order, keyed by aggregate (patient) id so each patient's events land in one
//! partition in order. The producer is idempotent with `acks=all`. A row is marked
//! published only once the broker acknowledged it and every row before it in the
//! round; anything else is retried, with backoff, until the broker is back, so no
//! row is ever dropped. Retries can publish a row twice, which consumers absorb
//! with their inbox. The one exception to retrying is a row the broker can
//! never accept (too large for `message.max.bytes`, refused as invalid or by
//! policy): it is parked with the broker's reason and logged at ERROR, and the
//! rows after it go on (see [`crate::outbox`]); retrying it forever would hold
//! back every later event of every patient of the service.
//!
//! On PostgreSQL, where several replicas may share one database, each round holds
//! a transaction-scoped advisory lock so only one replica publishes at a time and
//! per-patient order holds. SQLite has one process per file.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use iop_runtime::{
    backoff::Backoff,
    db::Database,
    settings::{KafkaSettings, OutboxSettings},
};
use rdkafka::{
    error::{KafkaError, RDKafkaErrorCode},
    producer::{FutureProducer, FutureRecord, Producer},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait, sea_query::Expr,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{cloudevents::OutboundAttributes, kafka::producer_config, outbox::entity};

/// Why a round did not publish everything.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database failed.
    #[error("outbox database: {0}")]
    Db(#[from] DbErr),
    /// The broker refused or did not acknowledge in time.
    #[error("broker: {0}")]
    Kafka(#[from] KafkaError),
}

/// Publishes one service's outbox.
pub struct Relay {
    db: Database,
    kafka: KafkaSettings,
    settings: OutboxSettings,
    topic: String,
    source: String,
    client_id: String,
    wakeup: Arc<Notify>,
    deidentified: bool,
}

/// 1 January 00:00 UTC of `time`'s year: all a de-identified record says
/// of when it was written.
fn start_of_year(time: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    use chrono::{Datelike, TimeZone};
    Utc.with_ymd_and_hms(time.year(), 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(time)
}

impl Relay {
    /// A relay for `topic`, stamping events with `ce_source = source`.
    pub fn new(
        db: Database,
        kafka: &KafkaSettings,
        settings: &OutboxSettings,
        topic: impl Into<String>,
        source: impl Into<String>,
        wakeup: Arc<Notify>,
    ) -> Self {
        let topic = topic.into();
        Self {
            db,
            kafka: kafka.clone(),
            settings: settings.clone(),
            client_id: format!("{topic}-relay"),
            topic,
            source: source.into(),
            wakeup,
            deidentified: false,
        }
    }

    /// Publishes records that say nothing of when, beyond the year, nor of
    /// which trace wrote them (the analytics stream, under Safe Harbor's
    /// date rule): `ce_time` and the Kafka timestamp are 1 January of the
    /// row's year, and no `traceparent` goes out.
    pub fn deidentified(mut self) -> Self {
        self.deidentified = true;
        self
    }

    /// Runs until `shutdown`, then flushes what is in flight.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut producer: Option<FutureProducer> = None;
        let mut backoff = Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(self.settings.max_backoff_ms),
        );
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
        match crate::outbox::parked_count(self.db.conn()).await {
            Ok(0) | Err(_) => {}
            Ok(n) => tracing::warn!(
                topic = %self.topic,
                parked = n,
                "outbox has rows the broker would not accept; see `iop outbox parked`"
            ),
        }
        let mut replay_from = self.settings.replay_on_start.then_some(0_i64);
        let mut last_prune = std::time::Instant::now();

        while !shutdown.is_cancelled() {
            let current = match &producer {
                Some(p) => p,
                None => {
                    match producer_config(&self.kafka, &self.client_id).create::<FutureProducer>() {
                        Ok(p) => producer.insert(p),
                        Err(e) => {
                            tracing::error!(error = %e, topic = %self.topic, "cannot create producer");
                            backoff.sleep(&shutdown).await;
                            continue;
                        }
                    }
                }
            };
            let result = match replay_from {
                Some(after) => self
                    .replay_round(current, after)
                    .await
                    .map(|next| match next {
                        Some(last) => {
                            replay_from = Some(last);
                            usize::MAX
                        }
                        None => {
                            tracing::info!(topic = %self.topic, "outbox replay finished");
                            replay_from = None;
                            usize::MAX
                        }
                    }),
                None => self.round(current).await,
            };
            match result {
                Ok(n) => {
                    backoff.reset();
                    if n < self.settings.batch_size as usize {
                        tokio::select! {
                            _ = shutdown.cancelled() => {}
                            _ = self.wakeup.notified() => {}
                            _ = tokio::time::sleep(poll) => {}
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, topic = %self.topic, "outbox round failed; retrying");
                    if current.client().fatal_error().is_some() {
                        // An idempotent producer with a fatal error must be replaced.
                        producer = None;
                    }
                    backoff.sleep(&shutdown).await;
                }
            }
            if self.settings.retention_hours > 0 && last_prune.elapsed() > Duration::from_secs(60) {
                last_prune = std::time::Instant::now();
                if let Err(e) = self.prune().await {
                    tracing::warn!(error = %e, "outbox prune failed");
                }
            }
        }
        if let Some(p) = producer {
            let _ = p.flush(Duration::from_secs(5));
        }
    }

    /// Publishes the oldest unpublished rows; returns how many it saw.
    async fn round(&self, producer: &FutureProducer) -> Result<usize, RelayError> {
        let lease = self.lease().await?;
        if matches!(lease, Lease::Busy) {
            return Ok(0);
        }
        let query = entity::Entity::find()
            .filter(entity::Column::PublishedAt.is_null())
            .filter(entity::Column::ParkedAt.is_null())
            .order_by_asc(entity::Column::Position)
            .limit(self.settings.batch_size);
        let rows = match &lease {
            Lease::Held(txn) => query.all(txn).await?,
            _ => query.all(self.db.conn()).await?,
        };
        if rows.is_empty() {
            return Ok(0);
        }
        let (handled, failure) = self.publish(producer, &rows).await;
        self.mark(lease, &handled).await?;
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(rows.len()),
        }
    }

    /// Republishes rows after `after` whatever their state (fresh broker).
    /// Returns the last position handled, or `None` when the outbox is exhausted.
    async fn replay_round(
        &self,
        producer: &FutureProducer,
        after: i64,
    ) -> Result<Option<i64>, RelayError> {
        let rows = entity::Entity::find()
            .filter(entity::Column::Position.gt(after))
            .filter(entity::Column::ParkedAt.is_null())
            .order_by_asc(entity::Column::Position)
            .limit(self.settings.batch_size)
            .all(self.db.conn())
            .await?;
        let Some(last) = rows.last().map(|r| r.position) else {
            return Ok(None);
        };
        let (handled, failure) = self.publish(producer, &rows).await;
        self.mark(Lease::NotNeeded, &handled).await?;
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(Some(last)),
        }
    }

    /// Sends `rows` in order and waits for every acknowledgement. Returns what
    /// happened to the prefix of rows before the first failure that may pass
    /// (acknowledged, or parked for good), and that failure.
    async fn publish(
        &self,
        producer: &FutureProducer,
        rows: &[entity::Model],
    ) -> (Handled, Option<KafkaError>) {
        let mut deliveries = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in rows {
            // The PRODUCER span: a child of the command that wrote the row,
            // and the parent (through the record's `traceparent`) of every
            // consumer that applies it.
            let span = tracing::info_span!(
                "event.publish",
                otel.name = %format!("{} publish", self.topic),
                otel.kind = "producer",
                otel.status_code = tracing::field::Empty,
                messaging.system = "kafka",
                messaging.operation = "publish",
                messaging.destination.name = %self.topic,
                messaging.message.id = %row.id,
                messaging.destination.partition.id = tracing::field::Empty,
                messaging.kafka.offset = tracing::field::Empty,
                event.r#type = %row.event_type,
            );
            iop_runtime::telemetry::set_parent(&span, row.traceparent.as_deref());
            let (traceparent, time) = if self.deidentified {
                (None, start_of_year(row.created_at))
            } else {
                (
                    iop_runtime::telemetry::traceparent_of(&span)
                        .or_else(|| row.traceparent.clone()),
                    row.created_at,
                )
            };
            let headers = OutboundAttributes {
                id: &row.id,
                source: &self.source,
                event_type: &row.event_type,
                time,
                subject: &row.aggregateid,
                sequence: row.sequence,
                traceparent: traceparent.as_deref(),
            }
            .headers();
            let mut record = FutureRecord::to(&self.topic)
                .key(&row.aggregateid)
                .payload(&row.payload)
                .headers(headers);
            if self.deidentified {
                record = record.timestamp(time.timestamp_millis());
            }
            match producer.send_result(record) {
                Ok(delivery) => deliveries.push((row, span, Ok(delivery))),
                // Refused before sending (larger than `message.max.bytes`).
                Err((e, _)) if never_accepted(&e) => deliveries.push((row, span, Err(e))),
                Err((e, _)) => {
                    span.record("otel.status_code", "ERROR");
                    failure = Some(e);
                    break;
                }
            }
        }
        let mut handled = Handled::default();
        let mut broken = failure.is_some();
        // Each span ends (is dropped) once its record's fate is known.
        for (row, span, delivery) in deliveries {
            let outcome = match delivery {
                Err(refused) => Err(refused),
                Ok(d) => match d.await {
                    Ok(Ok(delivered)) => {
                        span.record("messaging.destination.partition.id", delivered.partition);
                        span.record("messaging.kafka.offset", delivered.offset);
                        Ok(())
                    }
                    Ok(Err((e, _))) => Err(e),
                    Err(_) => Err(KafkaError::Canceled),
                },
            };
            if outcome.is_err() {
                span.record("otel.status_code", "ERROR");
            }
            match outcome {
                Ok(()) if !broken => handled.published.push(row.position),
                Ok(()) => {}
                Err(e) if never_accepted(&e) && !broken => {
                    tracing::error!(
                        topic = %self.topic,
                        position = row.position,
                        event_type = %row.event_type,
                        bytes = row.payload.len(),
                        reason = %e,
                        "outbox row parked: the broker will never accept it; later rows go on \
                         (list and release with `iop outbox`)"
                    );
                    handled.parked.push((row.position, e.to_string()));
                }
                Err(e) => {
                    failure.get_or_insert(e);
                    broken = true;
                }
            }
        }
        (handled, failure)
    }

    async fn mark(&self, lease: Lease, handled: &Handled) -> Result<(), DbErr> {
        let update = entity::Entity::update_many()
            .col_expr(entity::Column::PublishedAt, Expr::value(Utc::now()))
            .filter(entity::Column::Position.is_in(handled.published.iter().copied()));
        let txn = match lease {
            Lease::Held(txn) => Some(txn),
            Lease::NotNeeded | Lease::Busy if handled.is_empty() => None,
            Lease::NotNeeded | Lease::Busy => {
                let txn = self.db.begin_write().await?;
                write(&*txn, update, &handled.parked).await?;
                return txn.commit().await;
            }
        };
        if let Some(txn) = txn {
            if !handled.is_empty() {
                write(&txn, update, &handled.parked).await?;
            }
            txn.commit().await?;
        }
        Ok(())
    }

    async fn lease(&self) -> Result<Lease, DbErr> {
        if self.db.backend() != DbBackend::Postgres {
            return Ok(Lease::NotNeeded);
        }
        let txn = self.db.conn().begin().await?;
        let row = txn
            .query_one(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock($1) AS held",
                [advisory_key(&self.topic).into()],
            ))
            .await?;
        let held = row
            .map(|r| r.try_get::<bool>("", "held"))
            .transpose()?
            .unwrap_or(false);
        Ok(if held { Lease::Held(txn) } else { Lease::Busy })
    }

    async fn prune(&self) -> Result<(), DbErr> {
        let cutoff = Utc::now() - chrono::Duration::hours(self.settings.retention_hours as i64);
        let txn = self.db.begin_write().await?;
        entity::Entity::delete_many()
            .filter(entity::Column::PublishedAt.lt(cutoff))
            .exec(&*txn)
            .await?;
        txn.commit().await
    }
}

/// What a round did with its rows.
#[derive(Debug, Default)]
struct Handled {
    /// Positions acknowledged by the broker.
    published: Vec<i64>,
    /// Positions the broker will never accept, with its reason.
    parked: Vec<(i64, String)>,
}

impl Handled {
    fn is_empty(&self) -> bool {
        self.published.is_empty() && self.parked.is_empty()
    }
}

/// Marks a round's rows: published ones in one statement, parked ones each
/// with its reason.
async fn write<C: ConnectionTrait>(
    db: &C,
    published: sea_orm::UpdateMany<entity::Entity>,
    parked: &[(i64, String)],
) -> Result<(), DbErr> {
    published.exec(db).await?;
    for (position, reason) in parked {
        entity::Entity::update_many()
            .col_expr(entity::Column::ParkedAt, Expr::value(Utc::now()))
            .col_expr(entity::Column::ParkReason, Expr::value(reason.clone()))
            .filter(entity::Column::Position.eq(*position))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Whether the broker will refuse `e`'s record however often it is sent.
fn never_accepted(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::PolicyViolation
        )
    )
}

enum Lease {
    /// SQLite: one process per file, no lease.
    NotNeeded,
    /// PostgreSQL: this replica publishes this round.
    Held(DatabaseTransaction),
    /// PostgreSQL: another replica is publishing.
    Busy,
}

/// A stable 64-bit key for the advisory lock of `topic` (FNV-1a).
fn advisory_key(topic: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in topic.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}
