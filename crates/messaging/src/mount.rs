//! How a service mounts its messaging on a gRPC host, the same way in every
//! context: the outbox relay of its topic, and a consumer that starts once the
//! broker answers and its topics exist, which is also when the service reports
//! SERVING. A consumer that fails stops the process (its supervisor restarts it)
//! rather than leave a healthy-looking service that applies nothing.

use iop_runtime::{
    db::Database,
    server::Host,
    service::{Migrate, ServiceDef},
    settings::DatabaseSettings,
};
use sea_orm_migration::MigratorTrait;

use iop_proto::{
    audit::v1::audit_service_server::AuditServiceServer,
    ops::v1::operations_service_server::OperationsServiceServer,
};
use iop_runtime::audit::AuditChain;

use crate::{
    StartError,
    audit::{AuditApi, AuditTrails},
    consumer::{EventConsumer, EventHandler},
    kafka,
    ops::OperationsApi,
    relay::Relay,
    watch::Board,
    work::Ledger,
};

/// `M`'s migrations over `db`: the names pending, or applied now (under
/// PostgreSQL's advisory lock, so concurrent migrators queue). A service's
/// `ServiceDef::migrate` is this function for its migrator.
pub fn migrations<M: MigratorTrait>(
    db: &Database,
    what: Migrate,
) -> futures::future::BoxFuture<'_, Result<Vec<String>, sea_orm::DbErr>> {
    Box::pin(async move {
        if what == Migrate::Pending {
            return pending::<M>(db).await;
        }
        let pending: Vec<String> = M::get_pending_migrations(db.conn())
            .await?
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        if !pending.is_empty() {
            db.migrate::<M>().await?;
        }
        Ok(pending)
    })
}

/// `M`'s migrations not yet applied, read without writing anything: the
/// runtime role of a site that migrates with a Job may not create tables,
/// and sea-orm's own listing first creates its bookkeeping table. No such
/// table yet means nothing is applied.
async fn pending<M: MigratorTrait>(db: &Database) -> Result<Vec<String>, sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, Statement};
    let conn = db.conn();
    let select = Statement::from_string(
        conn.get_database_backend(),
        "SELECT version FROM seaql_migrations",
    );
    let applied: std::collections::BTreeSet<String> = match conn.query_all(select).await {
        Ok(rows) => rows
            .iter()
            .map(|r| r.try_get::<String>("", "version"))
            .collect::<Result<_, _>>()?,
        Err(e) => {
            let text = e.to_string();
            if text.contains("no such table") || text.contains("does not exist") {
                Default::default()
            } else {
                return Err(e);
            }
        }
    };
    Ok(M::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .filter(|name| !applied.contains(name))
        .collect())
}

/// Connects to `service`'s database, applies `M`'s migrations (or, with
/// `database.migrate_at_start` false, refuses a schema that is behind), seals audit
/// rows written before the chain existed, and returns the ledger every unit of
/// work of the service begins on. Its audit trail joins the process's audit
/// API (mounted with the first trail).
pub async fn open<M: MigratorTrait>(
    host: &mut Host,
    service: &'static str,
    database: &DatabaseSettings,
) -> Result<Ledger, StartError> {
    let chain = AuditChain::new(&host.settings.audit.chain_key)?;
    let db = Database::connect(database).await?;
    if database.migrate_at_start {
        db.migrate::<M>().await?;
    } else {
        let pending = migrations::<M>(&db, Migrate::Pending).await?;
        if let Some(first) = pending.first() {
            return Err(StartError::NotMigrated {
                service,
                count: pending.len(),
                first: first.clone(),
            });
        }
    }
    let sealed = chain.seal(db.conn()).await?;
    if sealed > 0 {
        tracing::info!(
            service,
            rows = sealed,
            "audit rows from before the chain sealed"
        );
    }
    let ledger = Ledger::new(db, chain);
    let (trails, first) = host.shared::<AuditTrails>();
    if first {
        iop_runtime::mount!(host, AuditServiceServer::new(AuditApi::new(trails.clone())));
        let every = host.settings.audit.verify_every_s;
        if every > 0 {
            host.spawn(crate::audit::verify_periodically(
                trails.clone(),
                std::time::Duration::from_secs(every),
                host.shutdown.clone(),
            ));
        }
        // The first service of the process opens the metrics endpoint over
        // every service's outbox and every consumer of the process.
        let listen = host.settings.telemetry.metrics_listen.clone();
        if !listen.is_empty() {
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|source| StartError::Metrics { listen, source })?;
            let (board, _) = host.shared::<Board>();
            let shutdown = host.shutdown.clone();
            host.spawn(crate::metrics::serve(
                listener,
                trails.clone(),
                board,
                shutdown,
            ));
        }
    }
    trails.add(service, ledger.clone());
    Ok(ledger)
}

/// Marks that the process mounted the operations API.
#[derive(Clone, Default)]
struct OperationsMounted;

/// Starts `service`'s consumer: group `group` over the topics the service
/// consumes, applying events with `handler` in units of work of `ledger`;
/// the service reports SERVING once every topic it touches exists.
pub fn consume<H: EventHandler + Send + Sync + 'static>(
    host: &mut Host,
    service: &ServiceDef,
    group: &str,
    ledger: Ledger,
    handler: H,
) {
    let (board, _) = host.shared::<Board>();
    let (_, first) = host.shared::<OperationsMounted>();
    if first {
        // The first consumer of the process mounts the operations API over the board.
        let (trails, _) = host.shared::<AuditTrails>();
        iop_runtime::mount!(
            host,
            OperationsServiceServer::new(OperationsApi::new(board.clone(), trails))
        );
    }
    let consumer = EventConsumer::new(
        group,
        service.consumes.iter().map(|t| (*t).to_owned()).collect(),
        ledger,
        &host.settings.kafka,
        &host.settings.consumer,
        handler,
    )
    .watched(host.health.clone(), service.grpc, board);
    let topics = service.topics().map(str::to_owned).collect();
    self::consumer(host, service.grpc, consumer, topics);
}

/// Starts the relay publishing `ledger`'s outbox to `topic`; events carry
/// `ce_source = /iop/<site>/<context>`.
pub fn relay(host: &mut Host, ledger: &Ledger, topic: &str, context: &str) {
    let relay = new_relay(host, ledger, topic, context);
    let shutdown = host.shutdown.clone();
    host.spawn(relay.run(shutdown));
}

/// [`relay`] for a de-identified stream (see [`Relay::deidentified`]).
pub fn relay_deidentified(host: &mut Host, ledger: &Ledger, topic: &str, context: &str) {
    let relay = new_relay(host, ledger, topic, context).deidentified();
    let shutdown = host.shutdown.clone();
    host.spawn(relay.run(shutdown));
}

fn new_relay(host: &Host, ledger: &Ledger, topic: &str, context: &str) -> Relay {
    let source = format!("/iop/{}/{context}", host.settings.site.id);
    Relay::new(
        ledger.db().clone(),
        &host.settings.kafka,
        &host.settings.outbox,
        topic,
        source,
        ledger.outbox().wakeup(),
    )
}

/// Reports `services` SERVING once the broker answers and `topics` exist.
pub fn serving_when_topics(
    host: &mut Host,
    services: &'static [&'static str],
    topics: Vec<String>,
) {
    let kafka_settings = host.settings.kafka.clone();
    let shutdown = host.shutdown.clone();
    let (ready_tx, ready_rx) = tokio::sync::watch::channel(false);
    host.spawn(async move {
        let ready = kafka::prepare_topics(&kafka_settings, &topics, &shutdown).await;
        let _ = ready_tx.send(ready);
    });
    for service in services {
        let mut ready = ready_rx.clone();
        host.serving_when(service, async move { ready.wait_for(|r| *r).await.is_ok() });
    }
}

/// Runs `consumer` once every topic of `topics` exists, and reports
/// `services` SERVING at that moment.
pub fn consumer<H: EventHandler + Send + Sync + 'static>(
    host: &mut Host,
    services: &'static [&'static str],
    consumer: EventConsumer<H>,
    topics: Vec<String>,
) {
    let kafka_settings = host.settings.kafka.clone();
    let shutdown = host.shutdown.clone();
    let (ready_tx, ready_rx) = tokio::sync::watch::channel(false);
    host.spawn(async move {
        if !kafka::prepare_topics(&kafka_settings, &topics, &shutdown).await {
            return;
        }
        let _ = ready_tx.send(true);
        if let Err(e) = consumer.run(shutdown.clone()).await {
            tracing::error!(error = %e, ?services, "consumer failed; shutting down");
            shutdown.cancel();
        }
    });
    for service in services {
        let mut ready = ready_rx.clone();
        host.serving_when(service, async move { ready.wait_for(|r| *r).await.is_ok() });
    }
}
