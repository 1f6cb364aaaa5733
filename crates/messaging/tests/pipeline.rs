//! The messaging blocks against the librdkafka mock broker and SQLite: the relay
//! keeps every outbox row through a broker outage and publishes each aggregate's
//! events in order; the consumer applies each event once however often it is
//! delivered, retries transient failures, and dead-letters what keeps failing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "tests"
)]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use iop_messaging::{
    cloudevents::{InboundEvent, OutboundAttributes},
    consumer::{ApplyError, EventConsumer, EventHandler},
    outbox::{NewEvent, Outbox},
    relay::Relay,
};
use iop_runtime::{CancellationToken, Settings, db::Database};
use rdkafka::{
    ClientConfig, Message,
    consumer::{Consumer, StreamConsumer},
    message::{Headers, OwnedMessage},
    mocking::MockCluster,
    producer::{FutureProducer, FutureRecord},
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        iop_messaging::migrations()
    }
}

async fn database(dir: &tempfile::TempDir) -> Database {
    let mut settings = Settings::defaults().unwrap().database;
    settings.url = format!("sqlite://{}/t.db", dir.path().display());
    let db = Database::connect(&settings).await.unwrap();
    Migrator::up(db.conn(), None).await.unwrap();
    db.conn()
        .execute_unprepared("CREATE TABLE applied (event_id TEXT NOT NULL)")
        .await
        .unwrap();
    db
}

async fn count(db: &Database, sql: &str) -> i64 {
    let row = db
        .conn()
        .query_one(Statement::from_string(DbBackend::Sqlite, sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn read_all(bootstrap: &str, topic: &str, count: usize) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    while out.len() < count {
        let m = tokio::time::timeout(Duration::from_secs(20), consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} records", out.len()))
            .unwrap();
        out.push(m.detach());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_keeps_every_row_through_an_outage_and_keeps_order_per_aggregate() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let broker = MockCluster::new(1).unwrap();
    broker.create_topic("iop.test.v1", 3, 1).unwrap();
    let mut settings = Settings::defaults().unwrap();
    settings.kafka.bootstrap_servers = broker.bootstrap_servers();
    // Short timeouts so deliveries fail during the outage and the relay must retry.
    settings.kafka.message_timeout_ms = 1000;
    settings.outbox.max_backoff_ms = 300;
    settings.outbox.poll_interval_ms = 50;

    broker.broker_down(1).unwrap();
    let outbox = Outbox::new();
    let shutdown = CancellationToken::new();
    let relay = Relay::new(
        db.clone(),
        &settings.kafka,
        &settings.outbox,
        "iop.test.v1",
        "/iop/test/x",
        outbox.wakeup(),
    );
    let task = tokio::spawn(relay.run(shutdown.clone()));

    let aggregates: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for seq in 1..=5 {
        for agg in &aggregates {
            let txn = db.begin_write().await.unwrap();
            let event = NewEvent {
                aggregate_type: "patient",
                aggregate_id: agg.clone(),
                sequence: seq,
                event_type: "iop.test.v1.Happened".into(),
                payload: seq.to_string().into_bytes(),
            };
            outbox.append(&*txn, event).await.unwrap();
            txn.commit().await.unwrap();
            outbox.committed();
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"
        )
        .await,
        20,
        "nothing marked while down"
    );

    broker.broker_up(1).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count(
        &db,
        "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL",
    )
    .await
        > 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox not drained after the broker came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let records = read_all(&broker.bootstrap_servers(), "iop.test.v1", 20).await;
    let mut first_seen: HashMap<String, Vec<i64>> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    for r in &records {
        let e = InboundEvent::from_message(r).unwrap();
        // Retries may repeat a record; consumers drop repeats by id. Order is by first sight.
        if ids.insert(e.id.clone()) {
            first_seen
                .entry(e.subject.unwrap())
                .or_default()
                .push(e.sequence.unwrap());
        }
    }
    assert_eq!(ids.len(), 20, "every row published");
    for agg in &aggregates {
        assert_eq!(
            first_seen[agg],
            vec![1, 2, 3, 4, 5],
            "aggregate {agg} in order"
        );
    }
    shutdown.cancel();
    task.await.unwrap();
}

#[derive(Clone, Default)]
struct Counting {
    attempts: Arc<Mutex<HashMap<String, u32>>>,
}

impl EventHandler for Counting {
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        event: &InboundEvent,
    ) -> Result<(), ApplyError> {
        let attempt = {
            let mut a = self.attempts.lock().unwrap();
            let n = a.entry(event.id.clone()).or_default();
            *n += 1;
            *n
        };
        match event.id.as_str() {
            "always-fails" => return Err(ApplyError::Transient("downstream unavailable".into())),
            "flaky" if attempt <= 2 => return Err(ApplyError::Transient("busy".into())),
            _ => {}
        }
        txn.execute(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO applied (event_id) VALUES (?)",
            [event.id.clone().into()],
        ))
        .await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_applies_each_event_once_and_dead_letters_what_keeps_failing() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let broker = MockCluster::new(1).unwrap();
    broker.create_topic("iop.test.v1", 1, 1).unwrap();
    broker.create_topic("iop.testconsumer.dlq", 1, 1).unwrap();
    let mut settings = Settings::defaults().unwrap();
    settings.kafka.bootstrap_servers = broker.bootstrap_servers();
    settings.consumer.max_attempts = 3;
    settings.consumer.retry_backoff_ms = 5;

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .create()
        .unwrap();
    for id in [
        "once",
        "twice",
        "twice",
        "flaky",
        "always-fails",
        "twice",
        "last",
    ] {
        let headers = OutboundAttributes {
            id,
            source: "/iop/test/x",
            event_type: "iop.test.v1.Happened",
            time: chrono::Utc::now(),
            subject: "p",
            sequence: 1,
            traceparent: None,
        }
        .headers();
        producer
            .send(
                FutureRecord::to("iop.test.v1")
                    .key("p")
                    .payload(id)
                    .headers(headers),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
    }

    let handler = Counting::default();
    let shutdown = CancellationToken::new();
    let consumer = EventConsumer::new(
        "iop.testconsumer",
        vec!["iop.test.v1".into()],
        db.clone(),
        &settings.kafka,
        &settings.consumer,
        handler.clone(),
    );
    assert_eq!(consumer.dead_letter_topic(), "iop.testconsumer.dlq");
    let task = tokio::spawn(consumer.run(shutdown.clone()));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count(&db, "SELECT COUNT(*) FROM applied WHERE event_id = 'last'").await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumer did not reach the last event"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (id, expected) in [
        ("once", 1),
        ("twice", 1),
        ("flaky", 1),
        ("always-fails", 0),
        ("last", 1),
    ] {
        let n = count(
            &db,
            &format!("SELECT COUNT(*) FROM applied WHERE event_id = '{id}'"),
        )
        .await;
        assert_eq!(n, expected, "{id}");
    }
    assert_eq!(
        handler.attempts.lock().unwrap()["flaky"],
        3,
        "two failures, then applied"
    );
    assert_eq!(
        handler.attempts.lock().unwrap()["always-fails"],
        3,
        "bounded retries"
    );
    assert_eq!(
        handler.attempts.lock().unwrap()["twice"],
        1,
        "duplicates never reach the handler"
    );

    let dead = read_all(&broker.bootstrap_servers(), "iop.testconsumer.dlq", 1).await;
    assert_eq!(dead[0].payload(), Some(&b"always-fails"[..]));
    let reason = dead[0]
        .headers()
        .unwrap()
        .iter()
        .find(|h| h.key == "iop_dlq_reason")
        .map(|h| String::from_utf8_lossy(h.value.unwrap()).into_owned())
        .unwrap();
    assert!(
        reason.contains("gave up after 3 attempts") && reason.contains("downstream unavailable"),
        "{reason}"
    );

    shutdown.cancel();
    task.await.unwrap().unwrap();
}
