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
//! `iop_dlq_reason` header; the partition moves on either way. Except the
//! event types of `iop_proto::SECURITY_EVENTS` (revocations, discharges,
//! merges): a transient failure of one is retried for as long as it lasts,
//! with an ERROR per attempt, since skipping it would leave access granted. A crash between
//! commit and offset commit only redelivers events the inbox already holds.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use iop_runtime::{
    backoff::Backoff,
    server::Health,
    settings::{ConsumerSettings, KafkaSettings},
};
use rdkafka::{
    Message,
    consumer::{CommitMode, Consumer},
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
    membership::{GroupConsumer, Membership},
    watch::{self, Board, Judge, State, Verdict},
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
    watch: Option<Watch>,
}

/// Where a consumer's stall watch reports.
#[derive(Clone)]
struct Watch {
    health: Health,
    services: &'static [&'static str],
    board: Board,
}

/// Why one client stopped consuming.
enum End {
    Shutdown,
    Stalled,
}

/// What one client's stall watch works with.
struct Monitor {
    group: String,
    topics: Vec<String>,
    judge: Judge,
    interval: Duration,
    watch: Watch,
    /// Weak, so the client is closed where the run loop drops it (a blocking
    /// thread), never at the end of this task.
    consumer: std::sync::Weak<GroupConsumer>,
    started: Instant,
    last_work: Arc<AtomicU64>,
}

/// The stall watch of one client: observes every `interval`, reports verdicts
/// on the board and health, and signals a stall once.
async fn monitor(m: Monitor, stop: CancellationToken, stalled: tokio::sync::oneshot::Sender<()>) {
    let Monitor {
        group,
        topics,
        mut judge,
        interval,
        watch: w,
        consumer,
        started,
        last_work,
    } = m;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let (client, wanted, stopping) = (consumer.clone(), topics.clone(), stop.clone());
        let seen = tokio::task::spawn_blocking(move || match client.upgrade() {
            // Once stopping, the client is being closed: leave it alone.
            Some(client) if !stopping.is_cancelled() => watch::observe(&client, &wanted),
            _ => Err(KafkaError::Canceled),
        })
        .await
        .unwrap_or(Err(KafkaError::Canceled));
        let seen = match seen {
            Ok(seen) => seen,
            Err(e) => {
                tracing::debug!(consumer = %group, error = %e, "stall watch could not observe");
                continue;
            }
        };
        let worked = started + Duration::from_millis(last_work.load(Ordering::Relaxed));
        let verdict = judge.observe(Instant::now(), &seen, worked);
        tracing::debug!(consumer = %group, ?verdict, partitions = seen.len(), "stall watch");
        let now = Utc::now();
        let mut recovered = false;
        w.board.update(&group, |s| {
            s.partitions = seen;
            s.observed_at = Some(now);
            match &verdict {
                Verdict::Consuming { .. } => {
                    recovered = matches!(s.state, State::Stalled | State::Healing);
                    s.state = State::Consuming;
                    s.stalled_since = None;
                }
                Verdict::Waiting { .. } => {}
                Verdict::Stalled { .. } => {
                    s.state = State::Stalled;
                    s.stalled_since.get_or_insert(now);
                }
            }
        });
        match verdict {
            Verdict::Consuming { .. } if recovered => {
                for service in w.services {
                    w.health.set(service, true).await;
                }
                tracing::info!(consumer = %group, "consumer recovered; SERVING");
            }
            Verdict::Consuming { .. } | Verdict::Waiting { .. } => {}
            Verdict::Stalled { lag, standing } => {
                tracing::warn!(
                    consumer = %group,
                    topics = ?topics,
                    lag,
                    partitions = ?standing,
                    "consumer stalled: lag stands still; NOT_SERVING, rejoining the group"
                );
                for service in w.services {
                    w.health.set(service, false).await;
                }
                let _ = stalled.send(());
                return;
            }
        }
    }
}

/// Commits what was stored and closes the client, once the stall watch has
/// let go of it (an observation in flight holds it for a few seconds at most).
/// Blocking.
/// How long closing a consumer client may take before it is left behind.
const CLOSE_WITHIN: Duration = Duration::from_secs(30);

fn close(name: &str, mut consumer: Arc<GroupConsumer>) {
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        // Nothing stored since the last commit is a normal outcome.
        tracing::debug!(consumer = %name, error = %e, "offset commit");
    }
    loop {
        match Arc::try_unwrap(consumer) {
            Ok(client) => return drop(client),
            Err(shared) => {
                consumer = shared;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Records that the consumer did work now (milliseconds since `started`).
fn touch(last_work: &AtomicU64, started: Instant) {
    let ms = <u64 as TryFrom<u128>>::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    last_work.store(ms, Ordering::Relaxed);
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
            watch: None,
        }
    }

    /// The dead-letter topic of this consumer.
    pub fn dead_letter_topic(&self) -> String {
        crate::kafka::dead_letter_topic(&self.name)
    }

    /// Has the consumer watched for stalls: its verdicts go to `board`, and
    /// `services` report NOT_SERVING on `health` while it is stalled (see
    /// [`crate::watch`]).
    pub fn watched(
        mut self,
        health: Health,
        services: &'static [&'static str],
        board: Board,
    ) -> Self {
        self.watch = Some(Watch {
            health,
            services,
            board,
        });
        self
    }

    /// A client of the group, subscribed to the topics. The first client of a
    /// process joins as the configured static member, so a restarted replica
    /// takes its partitions back at once; a healing client joins as a dynamic
    /// member, because a static member that rejoins is handed back the same
    /// membership without a rebalance — the stuck state it is healing from —
    /// while a new member makes the group rebalance, and the old static
    /// membership, no longer heartbeating, expires after the session timeout.
    fn client(&self, heals: u32) -> Result<GroupConsumer, KafkaError> {
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
        if !self.kafka.properties.contains_key("fetch.wait.max.ms") {
            config.set(
                "fetch.wait.max.ms",
                self.kafka.fetch_wait_max_ms.to_string(),
            );
        }
        if heals == 0 && !self.settings.instance_id.is_empty() {
            config.set("group.instance.id", &self.settings.instance_id);
        }
        let consumer: GroupConsumer = config.create_with_context(Membership::new(&self.name))?;
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        Ok(consumer)
    }

    /// Consumes until `shutdown`, then commits the stored offsets. A consumer
    /// that stalls leaves the group and joins again, with backoff ([`crate::watch`]).
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), KafkaError> {
        let dlq: FutureProducer =
            producer_config(&self.kafka, &format!("{}-dlq", self.name)).create()?;
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let mut heals = 0_u32;
        let mut fault = self.settings.drop_assignment_after_ms > 0;
        if let Some(w) = &self.watch {
            w.board.put(watch::Status {
                group: self.name.clone(),
                topics: self.topics.clone(),
                services: w.services.iter().map(|s| (*s).to_owned()).collect(),
                state: State::Starting,
                partitions: Vec::new(),
                heals,
                stalled_since: None,
                observed_at: None,
            });
        }
        loop {
            let consumer = Arc::new(self.client(heals)?);
            tracing::info!(consumer = %self.name, topics = ?self.topics, heals, "consumer started");
            let end = self
                .consume(&consumer, &dlq, &shutdown, std::mem::take(&mut fault))
                .await;
            // Committing and closing block on the broker: off the async workers,
            // and finished before this task ends, so the client is closed while
            // its broker is still there (a client closed later, against a
            // broker that is gone, waits forever). A dynamic member's close
            // leaves the group, so the broker rebalances at once.
            // On a thread of its own, awaited for a bounded time: librdkafka
            // has been seen to block forever closing a client in the middle
            // of a rebalance (its assign op never served), and a blocking
            // task of the runtime would then hold the process's shutdown.
            let name = self.name.clone();
            let (done, closed) = tokio::sync::oneshot::channel();
            let spawned = std::thread::Builder::new()
                .name(format!("close-{}", self.name))
                .spawn(move || {
                    close(&name, consumer);
                    let _ = done.send(());
                });
            if spawned.is_ok() && tokio::time::timeout(CLOSE_WITHIN, closed).await.is_err() {
                tracing::warn!(consumer = %self.name, "closing the consumer client did not finish; left behind");
            }
            let End::Stalled = end else {
                return Ok(());
            };
            heals += 1;
            if let Some(w) = &self.watch {
                w.board.update(&self.name, |s| {
                    s.state = State::Healing;
                    s.heals = heals;
                });
            }
            if !backoff.sleep(&shutdown).await {
                return Ok(());
            }
        }
    }

    /// Consumes with one client until shutdown or a stall.
    async fn consume(
        &self,
        consumer: &Arc<GroupConsumer>,
        dlq: &FutureProducer,
        shutdown: &CancellationToken,
        fault: bool,
    ) -> End {
        let dlq_topic = self.dead_letter_topic();
        let started = Instant::now();
        let last_work = Arc::new(AtomicU64::new(0));
        let stop_watch = shutdown.child_token();
        let (stalled_tx, mut stalled) = tokio::sync::oneshot::channel();
        if let Some(w) = &self.watch {
            tokio::spawn(monitor(
                Monitor {
                    group: self.name.clone(),
                    topics: self.topics.clone(),
                    judge: Judge::new(self.settings.stall_after()),
                    interval: self.settings.watch_interval(),
                    watch: w.clone(),
                    consumer: Arc::downgrade(consumer),
                    started,
                    last_work: last_work.clone(),
                },
                stop_watch.clone(),
                stalled_tx,
            ));
        }
        let _stop_watch = stop_watch.drop_guard();
        let drop_at = started + Duration::from_millis(self.settings.drop_assignment_after_ms);
        let mut fault = fault;
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => return End::Shutdown,
                _ = &mut stalled => return End::Stalled,
                _ = tokio::time::sleep_until(drop_at.into()), if fault => {
                    fault = false;
                    if let Err(e) = consumer.context().refuse_assignments(consumer) {
                        tracing::warn!(consumer = %self.name, error = %e, "unassign failed");
                    }
                    continue;
                }
                m = consumer.recv() => m,
            };
            touch(&last_work, started);
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(consumer = %self.name, error = %e, "consume error");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let disposition = self.handle(&message, shutdown, &last_work, started).await;
            if matches!(disposition, Disposition::Interrupted) {
                return End::Shutdown;
            }
            if let Disposition::DeadLettered(reason) = &disposition {
                if !self
                    .dead_letter(dlq, &dlq_topic, &message, reason, shutdown)
                    .await
                {
                    // Shutting down before the dead letter was accepted: leave the
                    // offset unstored so the record is read again next time.
                    return End::Shutdown;
                }
                iop_runtime::metrics::observe_dead_letter(&self.name);
            }
            if let Err(e) = consumer.store_offset_from_message(&message) {
                tracing::warn!(consumer = %self.name, error = %e, "cannot store offset");
            }
        }
    }

    async fn handle(
        &self,
        message: &BorrowedMessage<'_>,
        shutdown: &CancellationToken,
        last_work: &AtomicU64,
        started: Instant,
    ) -> Disposition {
        let event = match InboundEvent::from_message(message) {
            Ok(e) => e,
            Err(e) => return Disposition::DeadLettered(format!("malformed event: {e}")),
        };
        // The CONSUMER span, a child of the relay's PRODUCER span.
        let span = tracing::info_span!(
            "event.apply",
            otel.name = %format!("{} process", event.topic),
            otel.kind = "consumer",
            messaging.system = "kafka",
            messaging.operation = "process",
            messaging.destination.name = %event.topic,
            messaging.consumer.group.name = %self.name,
            messaging.message.id = %event.id,
            messaging.destination.partition.id = event.partition,
            messaging.kafka.offset = event.offset,
            event.r#type = %event.event_type,
        );
        iop_runtime::telemetry::set_parent(&span, event.traceparent.as_deref());
        async {
            let mut backoff = Backoff::new(
                Duration::from_millis(self.settings.retry_backoff_ms),
                Duration::from_secs(5),
            );
            let mut attempt = 1;
            loop {
                // Retrying is work: the stall watch must not mistake it for a stall.
                touch(last_work, started);
                match self.apply_once(&event).await {
                    Ok(true) => return Disposition::Applied,
                    Ok(false) => {
                        tracing::debug!("duplicate event skipped");
                        return Disposition::Duplicate;
                    }
                    Err(ApplyError::Permanent(reason)) => return Disposition::DeadLettered(reason),
                    Err(ApplyError::Transient(reason))
                        if attempt >= self.settings.max_attempts
                            && iop_proto::SECURITY_EVENTS.contains(&event.event_type.as_str()) =>
                    {
                        tracing::error!(
                            attempt,
                            %reason,
                            event_type = %event.event_type,
                            "security-relevant event keeps failing; never dead-lettered, \
                             its partition waits until it applies"
                        );
                        attempt += 1;
                    }
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
