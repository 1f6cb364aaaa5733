//! `iop rebuild --service patient-view --into <url>`: a projection made again
//! from the topics, into a fresh database, with progress and rate. The swap
//! is the operator's: point `database.url` at the new database and roll the
//! service out (under `iop dev`: stop it and move the file over
//! `.iop/patient-view.db`; its next start replays into it what it lacks).
//!
//! Only a service whose whole state is folded from the topics can be
//! rebuilt: the patient view. (The analytics projector draws random
//! pseudonyms and publishes; rebuilding it would give every patient a new
//! one and publish everything again.) The rebuild reads every record on
//! the view's topics from the oldest kept, applies them with the view's own
//! handler and inbox (so what the live view would skip, it skips), and stops
//! once its group has committed, in every partition, the end the partition
//! had when it began (the consumer commits only what it applied). Its inbox is
//! then keyed as the live consumer's, so the view that takes over skips a
//! redelivered event as the old one would have; the live consumer group's
//! offsets are untouched.

use std::{
    io::IsTerminal,
    time::{Duration, Instant},
};

use rdkafka::consumer::{BaseConsumer, Consumer};
use sea_orm::{ConnectionTrait, Statement};

use crate::{BoxError, schema};

/// What was rebuilt.
pub struct Rebuilt {
    /// Events the new view applied (skips of types it does not fold count),
    /// up to where the topics ended when it began, and any after.
    pub applied: u64,
    /// Applied per second.
    pub per_second: f64,
}

/// Every partition of `topics` with records, and its end (high watermark)
/// now: where the rebuild has caught up.
fn ends_now(
    settings: &iop_runtime::Settings,
    topics: &[String],
) -> Result<Vec<(String, i32, i64)>, BoxError> {
    let mut config = iop_messaging::kafka::client_config(&settings.kafka);
    config.set("group.id", "iop-rebuild-probe");
    let probe: BaseConsumer = config.create()?;
    let mut ends = Vec::new();
    for topic in topics {
        for p in schema::partitions(&probe, topic)? {
            let (low, high) = probe.fetch_watermarks(topic, p, Duration::from_secs(10))?;
            if high > low {
                ends.push((topic.clone(), p, high));
            }
        }
    }
    Ok(ends)
}

/// Whether `group` has committed, in every partition of `ends`, an offset
/// at or past its end: every record up to there applied (a consumer commits
/// only what it applied or dead-lettered).
fn caught_up(probe: &BaseConsumer, ends: &[(String, i32, i64)]) -> Result<bool, BoxError> {
    let mut asked = rdkafka::TopicPartitionList::new();
    for (topic, p, _) in ends {
        asked.add_partition(topic, *p);
    }
    let committed = probe.committed_offsets(asked, Duration::from_secs(10))?;
    Ok(ends.iter().all(|(topic, p, end)| {
        matches!(
            committed.find_partition(topic, *p).map(|e| e.offset()),
            Some(rdkafka::Offset::Offset(o)) if o >= *end
        )
    }))
}

/// Events `consumer` has applied (or skipped) in `db`, by its inbox.
pub async fn count_inbox(db: &iop_runtime::db::Database, consumer: &str) -> Result<u64, BoxError> {
    let row = db
        .conn()
        .query_one(Statement::from_sql_and_values(
            db.conn().get_database_backend(),
            match db.conn().get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    "SELECT COUNT(*) AS n FROM inbox WHERE consumer = $1"
                }
                _ => "SELECT COUNT(*) AS n FROM inbox WHERE consumer = ?",
            },
            [consumer.into()],
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0))
}

async fn count_inbox_all(db: &iop_runtime::db::Database) -> Result<u64, BoxError> {
    let row = db
        .conn()
        .query_one(Statement::from_string(
            db.conn().get_database_backend(),
            "SELECT COUNT(*) AS n FROM inbox",
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0))
}

/// Starts the patient view's handler on `db` as consumer group `group` over
/// `topics`, from the oldest record kept; cancel the token to stop it.
pub fn fold_view(
    settings: &iop_runtime::Settings,
    db: &iop_runtime::db::Database,
    group: &str,
    topics: Vec<String>,
) -> Result<
    (
        iop_runtime::CancellationToken,
        tokio::task::JoinHandle<Result<(), rdkafka::error::KafkaError>>,
    ),
    BoxError,
> {
    let key = iop_runtime::secret::Secret::new(iop_runtime::auth::generate_secret());
    let ledger =
        iop_messaging::work::Ledger::new(db.clone(), iop_runtime::audit::AuditChain::new(&key)?);
    let consumer = iop_messaging::consumer::EventConsumer::new(
        group.to_owned(),
        topics,
        ledger,
        &settings.kafka,
        &settings.consumer,
        iop_patient_view::ViewHandler::new(),
    );
    let shutdown = iop_runtime::CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { consumer.run(shutdown).await }
    });
    Ok((shutdown, running))
}

/// Rebuilds the patient view into the (new, empty) database at `into`.
pub async fn patient_view(
    settings: &iop_runtime::Settings,
    into: &str,
) -> Result<Rebuilt, BoxError> {
    let topics: Vec<String> = iop_patient_view::SERVICE
        .consumes
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    let ends = ends_now(settings, &topics)?;
    let database = settings.database.with_url(into);
    let db = iop_runtime::db::Database::connect(&database).await?;
    db.migrate::<iop_patient_view::migration::Migrator>()
        .await?;
    if count_inbox_all(&db).await? > 0 {
        return Err("--into: that database already holds a view; give a new, empty one".into());
    }
    // A group of its own: the live view (if running) keeps its partitions.
    let group = format!("iop.rebuild.patientview.{}", uuid::Uuid::new_v4().simple());
    let (shutdown, running) = fold_view(settings, &db, &group, topics)?;
    let mut probe_config = iop_messaging::kafka::client_config(&settings.kafka);
    probe_config.set("group.id", &group);
    let probe: BaseConsumer = probe_config.create()?;
    let progress = std::io::stderr().is_terminal();
    let began = Instant::now();
    let mut applied = 0;
    let mut last_change = Instant::now();
    loop {
        let now = count_inbox(&db, &group).await?;
        if now != applied {
            applied = now;
            last_change = Instant::now();
        }
        if caught_up(&probe, &ends)? {
            break;
        }
        if progress {
            let rate = applied as f64 / began.elapsed().as_secs_f64().max(1e-9);
            eprint!("\r{applied} events applied, {rate:.0}/s");
        }
        if last_change.elapsed() > Duration::from_secs(60) {
            shutdown.cancel();
            let _ = running.await;
            return Err(format!(
                "no progress for 60 s after {applied} events: the broker or the topics are \
                 unreachable, or a record waits on a failing dependency (see the logs)"
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let per_second = applied as f64 / began.elapsed().as_secs_f64().max(1e-9);
    if progress {
        eprintln!();
    }
    shutdown.cancel();
    let _ = running.await;
    // Keyed as the live consumer's, so the view taking over skips what it has.
    let backend = db.conn().get_database_backend();
    db.conn()
        .execute(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => {
                    "UPDATE inbox SET consumer = $1 WHERE consumer = $2"
                }
                _ => "UPDATE inbox SET consumer = ? WHERE consumer = ?",
            },
            [iop_patient_view::CONSUMER.into(), group.into()],
        ))
        .await?;
    db.conn().clone().close().await?;
    Ok(Rebuilt {
        applied,
        per_second,
    })
}
