//! The messaging blocks against the librdkafka mock broker and SQLite: the unit
//! of work (sequences per stream, no command without its audit row, state and
//! events together or not at all); the typed router (decode, skip, one policy
//! for bad payloads); the relay keeps every outbox row through a broker outage
//! and publishes each aggregate's events in order; the consumer applies each
//! event once however often it is delivered, retries transient failures, and
//! dead-letters what keeps failing.

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
    relay::Relay,
    router::{Dispatch, Router},
    work::{Actor, Ledger, Stream, UnitOfWork},
};
use iop_proto::common::v1::Date;
use iop_runtime::{
    CancellationToken, Settings,
    audit::Purpose,
    auth::{Caller, Role},
    db::Database,
};
use prost::Message as _;
use rdkafka::{
    ClientConfig, Message,
    consumer::{Consumer, StreamConsumer},
    message::{Headers, OwnedMessage},
    mocking::MockCluster,
    producer::{FutureProducer, FutureRecord},
};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        iop_messaging::migrations()
    }
}

fn defaults() -> Settings {
    Settings::defaults(&[]).unwrap()
}

async fn database(dir: &tempfile::TempDir) -> Database {
    let settings = defaults()
        .database
        .with_url(format!("sqlite://{}/t.db", dir.path().display()));
    let db = Database::connect(&settings).await.unwrap();
    Migrator::up(db.conn(), None).await.unwrap();
    db.conn()
        .execute_unprepared("CREATE TABLE applied (event_id TEXT NOT NULL)")
        .await
        .unwrap();
    db
}

/// The ledger of `db`, with a chain key of its own.
fn ledger_of(db: Database) -> Ledger {
    let key = iop_runtime::auth::generate_secret().into();
    Ledger::new(db, iop_runtime::audit::AuditChain::new(&key).unwrap())
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
    let mut settings = defaults();
    settings.kafka.bootstrap_servers = broker.bootstrap_servers();
    // Short timeouts so deliveries fail during the outage and the relay must retry.
    settings.kafka.message_timeout_ms = 1000;
    settings.outbox.max_backoff_ms = 300;
    settings.outbox.poll_interval_ms = 50;

    broker.broker_down(1).unwrap();
    let ledger = ledger_of(db.clone());
    let shutdown = CancellationToken::new();
    let relay = Relay::new(
        db.clone(),
        &settings.kafka,
        &settings.outbox,
        "iop.test.v1",
        "/iop/test/x",
        ledger.outbox().wakeup(),
    );
    let task = tokio::spawn(relay.run(shutdown.clone()));

    let aggregates: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for seq in 1..=5 {
        for agg in &aggregates {
            let mut work = ledger.system().await.unwrap();
            let event = Date {
                year: seq,
                month: 1,
                day: 1,
            };
            let appended = work.emit(Stream::patient(agg), &event).await.unwrap();
            assert_eq!(i64::from(seq), appended, "the stream's next sequence");
            work.commit().await.unwrap();
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

/// Polls `sql` (a count) until it is `want`, for up to 30 s.
async fn until_count(db: &Database, sql: &str, want: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n = count(db, sql).await;
        if n == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{sql}: {n}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_the_broker_never_accepts_is_parked_and_later_rows_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let broker = MockCluster::new(1).unwrap();
    broker.create_topic("iop.test.v1", 1, 1).unwrap();
    let mut settings = defaults();
    settings.kafka.bootstrap_servers = broker.bootstrap_servers();
    settings.outbox.poll_interval_ms = 50;
    let ledger = ledger_of(db.clone());
    let shutdown = CancellationToken::new();
    let relay = Relay::new(
        db.clone(),
        &settings.kafka,
        &settings.outbox,
        "iop.test.v1",
        "/iop/test/x",
        ledger.outbox().wakeup(),
    );
    let task = tokio::spawn(relay.run(shutdown.clone()));

    // Before, a row over the broker's message.max.bytes (1 MB by default), after.
    let huge = iop_proto::common::v1::Consent {
        disclosing_party: "x".repeat(2 << 20),
        ..Default::default()
    };
    for (agg, big) in [("p-1", false), ("p-2", true), ("p-3", false)] {
        let mut work = ledger.system().await.unwrap();
        if big {
            work.emit(Stream::patient(agg), &huge).await.unwrap();
        } else {
            let small = Date {
                year: 2026,
                month: 1,
                day: 1,
            };
            work.emit(Stream::patient(agg), &small).await.unwrap();
        }
        work.commit().await.unwrap();
    }
    until_count(
        &db,
        "SELECT COUNT(*) FROM outbox WHERE published_at IS NOT NULL",
        2,
    )
    .await;
    let parked = iop_messaging::outbox::parked(db.conn(), 10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].aggregateid, "p-2");
    let reason = parked[0].park_reason.clone().unwrap();
    assert!(reason.contains("MessageSizeTooLarge"), "{reason}");
    let records = read_all(&broker.bootstrap_servers(), "iop.test.v1", 2).await;
    let keys: Vec<&[u8]> = records.iter().filter_map(|r| r.key()).collect();
    assert_eq!(keys, vec![b"p-1".as_slice(), b"p-3".as_slice()]);

    // Released, the relay tries it again; the broker still refuses, so it is
    // parked again, and nothing else is held back meanwhile.
    assert_eq!(
        iop_messaging::outbox::release(db.conn(), Some(parked[0].position))
            .await
            .unwrap(),
        1
    );
    ledger.outbox().committed();
    until_count(
        &db,
        "SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL",
        1,
    )
    .await;
    assert_eq!(
        iop_messaging::outbox::parked_count(db.conn())
            .await
            .unwrap(),
        1
    );
    shutdown.cancel();
    task.await.unwrap();
}

#[derive(Clone, Default)]
struct Counting {
    attempts: Arc<Mutex<HashMap<String, u32>>>,
}

impl EventHandler for Counting {
    async fn apply(&self, work: &mut UnitOfWork, event: &InboundEvent) -> Result<(), ApplyError> {
        let attempt = {
            let mut a = self.attempts.lock().unwrap();
            let n = a.entry(event.id.clone()).or_default();
            *n += 1;
            *n
        };
        match event.id.as_str() {
            "always-fails" => return Err(ApplyError::Transient("downstream unavailable".into())),
            "flaky" if attempt <= 2 => return Err(ApplyError::Transient("busy".into())),
            "revoked-flaky" if attempt <= 6 => {
                return Err(ApplyError::Transient("busy".into()));
            }
            _ => {}
        }
        work.txn()
            .execute(Statement::from_sql_and_values(
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
    let mut settings = defaults();
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
        "revoked-flaky",
        "twice",
        "last",
    ] {
        // A revocation is never given up on for a transient cause.
        let event_type = if id == "revoked-flaky" {
            "iop.admissions.events.v1.ConsentRevoked"
        } else {
            "iop.test.v1.Happened"
        };
        let headers = OutboundAttributes {
            id,
            source: "/iop/test/x",
            event_type,
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
        ledger_of(db.clone()),
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
        ("revoked-flaky", 1),
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
        handler.attempts.lock().unwrap()["revoked-flaky"],
        7,
        "a security-relevant event is retried past max_attempts until it applies"
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

fn caller() -> Caller {
    Caller::new("nurse-1", &[Role::Intake], &["oakland"])
}

fn actor(action: &'static str) -> Actor {
    Actor {
        caller: caller(),
        purpose: Purpose::Treatment,
        action,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_of_work_sequences_streams_and_commits_state_events_and_audit_together() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let ledger = ledger_of(db.clone());
    let day = Date {
        year: 2026,
        month: 11,
        day: 28,
    };

    // A command that writes no audit row cannot commit, and leaves nothing.
    let mut work = ledger.command(actor("test.Forgetful")).await.unwrap();
    work.emit(Stream::patient("p-1"), &day).await.unwrap();
    let err = work.commit().await.unwrap_err();
    assert!(err.to_string().contains("test.Forgetful"), "{err}");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM event_streams").await, 0);

    // Locking a new stream reads 0; each event takes the next sequence; the
    // receipt holds the last; the audit rows commit with the events.
    let mut work = ledger.command(actor("test.Write")).await.unwrap();
    assert_eq!(work.lock(Stream::patient("p-1")).await.unwrap(), 0);
    assert_eq!(work.emit(Stream::patient("p-1"), &day).await.unwrap(), 1);
    assert_eq!(work.emit(Stream::patient("p-1"), &day).await.unwrap(), 2);
    let other = Stream {
        aggregate: "facility",
        id: "p-1",
    };
    assert_eq!(
        work.emit(other, &day).await.unwrap(),
        1,
        "streams are per kind"
    );
    work.audit(Some("p-1"), Some("oakland"));
    let receipt = work.commit().await.unwrap();
    assert_eq!(receipt.sequence(Stream::patient("p-1")), Some(2));
    assert_eq!(receipt.sequence(Stream::patient("p-2")), None);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox").await, 3);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'test.Write' AND patient_id = 'p-1' \
             AND facility_id = 'oakland' AND outcome = 'allowed' AND actor = 'nurse-1'"
        )
        .await,
        1
    );

    // A unit of work dropped without commit leaves no trace.
    let mut work = ledger.command(actor("test.Abandoned")).await.unwrap();
    work.emit(Stream::patient("p-1"), &day).await.unwrap();
    work.audit(Some("p-1"), None);
    drop(work);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox").await, 3);
    let mut work = ledger.system().await.unwrap();
    assert_eq!(work.lock(Stream::patient("p-1")).await.unwrap(), 2);
    assert_eq!(work.emit(Stream::patient("p-1"), &day).await.unwrap(), 3);
    work.commit().await.unwrap();
}

/// Audited reads share write transactions (group commit) and each answers
/// only once its row is in a chain that verifies.
#[tokio::test]
async fn concurrent_audited_reads_share_one_commit_and_keep_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let ledger = ledger_of(db.clone());
    let reads = (0..200).map(|i| {
        let ledger = ledger.clone();
        async move {
            let patient = format!("p-{i}");
            let accesses = [
                iop_messaging::work::Access::allowed(Some(&patient), Some("oakland")),
                iop_messaging::work::Access::denied(Some(&patient), None),
            ];
            ledger
                .record_access(&actor("test.Read"), &accesses)
                .await
                .unwrap();
            // Answered: the row is already durable.
            count_rows(&ledger, &patient).await
        }
    });
    let seen = futures::future::join_all(reads).await;
    assert!(seen.iter().all(|n| *n == 2), "{seen:?}");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log").await, 400);
    // All 200 were queued before the writer ran: one transaction for them.
    assert_eq!(ledger.audit_commits(), 1);
    // A command's rows chain after them.
    let mut work = ledger.command(actor("test.Write")).await.unwrap();
    work.audit(Some("p-0"), Some("oakland"));
    work.commit().await.unwrap();
    let verified = ledger.chain().verify(db.conn()).await.unwrap();
    assert_eq!((verified.rows, verified.broken), (401, None));
    assert_eq!(
        count(
            &db,
            "SELECT MAX(sequence) - MIN(sequence) + 1 FROM audit_log"
        )
        .await,
        401,
        "contiguous"
    );
}

async fn count_rows(ledger: &Ledger, patient: &str) -> i64 {
    let row = ledger
        .conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT COUNT(*) FROM audit_log WHERE patient_id = ?",
            [patient.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[derive(Default)]
struct Years {
    seen: Mutex<Vec<i32>>,
}

fn event(event_type: &str, payload: Vec<u8>) -> InboundEvent {
    InboundEvent {
        id: uuid::Uuid::new_v4().to_string(),
        event_type: event_type.to_owned(),
        source: "/iop/test/x".into(),
        time: chrono::Utc::now(),
        subject: None,
        sequence: None,
        traceparent: None,
        topic: "iop.test.v1".into(),
        partition: 0,
        offset: 0,
        payload,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_decodes_by_type_skips_unknown_types_and_refuses_bad_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_of(database(&dir).await);
    let router = Router::<Years>::new().on::<Date>(|s, _, d, _| {
        Box::pin(async move {
            s.seen.lock().unwrap().push(d.year);
            Ok(())
        })
    });
    assert!(router.handles("iop.common.v1.Date"));
    let years = Years::default();
    let mut work = ledger.system().await.unwrap();
    let date = Date {
        year: 2027,
        month: 2,
        day: 3,
    };
    let handled = router
        .dispatch(
            &years,
            &mut work,
            &event("iop.common.v1.Date", date.encode_to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(handled, Dispatch::Handled);
    assert_eq!(*years.seen.lock().unwrap(), vec![2027]);
    let skipped = router
        .dispatch(
            &years,
            &mut work,
            &event("iop.common.v1.SomethingNew", vec![1]),
        )
        .await
        .unwrap();
    assert_eq!(skipped, Dispatch::Skipped);
    let bad = router
        .dispatch(
            &years,
            &mut work,
            &event("iop.common.v1.Date", vec![0xff, 0xff, 0xff]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&bad, ApplyError::Permanent(r) if r.contains("iop.common.v1.Date")),
        "{bad}"
    );
    assert_eq!(years.seen.lock().unwrap().len(), 1);
}
