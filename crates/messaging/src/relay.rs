//! The outbox relay: publishes outbox rows to the context's topic in insertion
//! order, keyed by aggregate (patient) id so each patient's events land in one
//! partition in order. The producer is idempotent with `acks=all`. A row is marked
//! published only once the broker acknowledged it and every row before it in the
//! round; anything else is retried, with backoff, until the broker is back, so no
//! row is ever dropped. Retries can publish a row twice, which consumers absorb
//! with their inbox.
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
    error::KafkaError,
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
        }
    }

    /// Runs until `shutdown`, then flushes what is in flight.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut producer: Option<FutureProducer> = None;
        let mut backoff = Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(self.settings.max_backoff_ms),
        );
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
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
            .order_by_asc(entity::Column::Position)
            .limit(self.settings.batch_size);
        let rows = match &lease {
            Lease::Held(txn) => query.all(txn).await?,
            _ => query.all(self.db.conn()).await?,
        };
        if rows.is_empty() {
            return Ok(0);
        }
        let (published, failure) = self.publish(producer, &rows).await;
        self.mark(lease, &published).await?;
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
            .order_by_asc(entity::Column::Position)
            .limit(self.settings.batch_size)
            .all(self.db.conn())
            .await?;
        let Some(last) = rows.last().map(|r| r.position) else {
            return Ok(None);
        };
        let (published, failure) = self.publish(producer, &rows).await;
        self.mark(Lease::NotNeeded, &published).await?;
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(Some(last)),
        }
    }

    /// Sends `rows` in order and waits for every acknowledgement. Returns the
    /// positions of the acknowledged prefix, and the first failure.
    async fn publish(
        &self,
        producer: &FutureProducer,
        rows: &[entity::Model],
    ) -> (Vec<i64>, Option<KafkaError>) {
        let mut deliveries = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in rows {
            let headers = OutboundAttributes {
                id: &row.id,
                source: &self.source,
                event_type: &row.event_type,
                time: row.created_at,
                subject: &row.aggregateid,
                sequence: row.sequence,
                traceparent: row.traceparent.as_deref(),
            }
            .headers();
            let record = FutureRecord::to(&self.topic)
                .key(&row.aggregateid)
                .payload(&row.payload)
                .headers(headers);
            match producer.send_result(record) {
                Ok(delivery) => deliveries.push(delivery),
                Err((e, _)) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let mut published = Vec::with_capacity(deliveries.len());
        let mut broken = failure.is_some();
        for (row, delivery) in rows.iter().zip(deliveries) {
            match delivery.await {
                Ok(Ok(_)) if !broken && failure.is_none() => published.push(row.position),
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => {
                    failure.get_or_insert(e);
                }
                Err(_) => {
                    failure.get_or_insert(KafkaError::Canceled);
                }
            }
            broken |= failure.is_some();
        }
        (published, failure)
    }

    async fn mark(&self, lease: Lease, positions: &[i64]) -> Result<(), DbErr> {
        let update = entity::Entity::update_many()
            .col_expr(entity::Column::PublishedAt, Expr::value(Utc::now()))
            .filter(entity::Column::Position.is_in(positions.iter().copied()));
        match lease {
            Lease::Held(txn) => {
                if !positions.is_empty() {
                    update.exec(&txn).await?;
                }
                txn.commit().await
            }
            Lease::NotNeeded | Lease::Busy => {
                if positions.is_empty() {
                    return Ok(());
                }
                let txn = self.db.begin_write().await?;
                update.exec(&*txn).await?;
                txn.commit().await
            }
        }
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
