//! The unit of work: the one way any service changes its state (the role of
//! eShop's `TransactionBehavior`). Every write RPC and every applied event goes
//! through the same steps, in this order, so no handler can forget one:
//!
//! 1. **begin** a write transaction ([`Ledger::command`] for an RPC, audited as
//!    its caller; [`Ledger::system`] for the consumer applying an event);
//! 2. **claim** the aggregate's stream ([`UnitOfWork::lock`]) before reading
//!    anything the rules decide on: one row per aggregate in `event_streams`,
//!    upserted, so on PostgreSQL a concurrent command on the same patient waits
//!    for this one instead of interleaving (SQLite has one writer anyway);
//! 3. **apply** the state change in [`UnitOfWork::txn`];
//! 4. **append** its events ([`UnitOfWork::emit`]): each takes the stream's next
//!    sequence and goes into the outbox in the same transaction;
//! 5. **audit** ([`UnitOfWork::audit`]): a command that writes no audit row
//!    cannot commit;
//! 6. **commit**, then **notify** the relay (events to publish) and the
//!    consistency waiters (readers waiting for this write), and hand back the
//!    sequences reached, from which the RPC forms its consistency token.
//!
//! Reads that must be audited but change nothing write their rows through
//! [`Ledger::record_access`], a group commit: the rows of every read queued
//! meanwhile go into one transaction, and each read answers once its row is
//! durable. Nothing else in the code base writes the outbox or the audit
//! trail.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use iop_runtime::{
    audit::{AuditChain, AuditEntry, Outcome, Purpose},
    auth::Caller,
    db::{Database, WriteTxn},
    grpc::Call,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    sea_query::{Expr, OnConflict, Query},
};
use sea_orm_migration::prelude::*;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::outbox::{NewEvent, Outbox};

/// An aggregate's event stream: its kind (`patient`, `facility`) and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream<'a> {
    /// Kind of aggregate; the outbox's `aggregatetype`.
    pub aggregate: &'static str,
    /// Its id; the Kafka key.
    pub id: &'a str,
}

impl<'a> Stream<'a> {
    /// A patient's stream, in whichever context.
    pub fn patient(id: &'a str) -> Self {
        Self {
            aggregate: "patient",
            id,
        }
    }
}

/// Who a command acts for, and as what: written into its audit rows.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The caller.
    pub caller: Caller,
    /// The purpose of use stated.
    pub purpose: Purpose,
    /// The action, `<service>.<Rpc>`.
    pub action: &'static str,
}

impl Actor {
    /// The actor of `call` doing `action`.
    pub fn of(call: &Call, action: &'static str) -> Self {
        Self {
            caller: call.caller.clone(),
            purpose: call.purpose,
            action,
        }
    }
}

/// One audited access: which patient, for which facility, allowed or denied.
#[derive(Debug, Clone)]
pub struct Access {
    /// The patient, if one is concerned.
    pub patient_id: Option<String>,
    /// The facility the access was made for.
    pub facility_id: Option<String>,
    /// Allowed or denied.
    pub outcome: Outcome,
    /// The consent a disclosure relied on.
    pub consent_id: Option<String>,
}

impl Access {
    /// An allowed access to `patient_id` (if any) for `facility_id` (if any).
    pub fn allowed(patient_id: Option<&str>, facility_id: Option<&str>) -> Self {
        Self {
            patient_id: patient_id.map(str::to_owned),
            facility_id: facility_id.map(str::to_owned),
            outcome: Outcome::Allowed,
            consent_id: None,
        }
    }

    /// An allowed disclosure: the access relied on `consent_id`.
    pub fn under_consent(mut self, consent_id: Option<&str>) -> Self {
        self.consent_id = consent_id.map(str::to_owned);
        self
    }

    /// A denied access to `patient_id`.
    pub fn denied(patient_id: Option<&str>, facility_id: Option<&str>) -> Self {
        Self {
            outcome: Outcome::Denied,
            ..Self::allowed(patient_id, facility_id)
        }
    }
}

/// A service's database with its outbox and commit signals: where every unit
/// of work begins. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    db: Database,
    outbox: Outbox,
    applied: Arc<Notify>,
    chain: AuditChain,
    audits: AuditWriter,
}

impl Ledger {
    /// The ledger of a service's database, whose audit rows `chain` links.
    pub fn new(db: Database, chain: AuditChain) -> Self {
        Self {
            db,
            outbox: Outbox::new(),
            applied: Arc::new(Notify::new()),
            chain,
            audits: AuditWriter::default(),
        }
    }

    /// The audit trail's chain key.
    pub fn chain(&self) -> &AuditChain {
        &self.chain
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The connection, for reads.
    pub fn conn(&self) -> &DatabaseConnection {
        self.db.conn()
    }

    /// The outbox the relay publishes.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Transactions the audit group commit has run so far (each holds the
    /// rows of every read queued while the one before ran).
    pub fn audit_commits(&self) -> u64 {
        self.audits.commits.load(Ordering::Relaxed)
    }

    /// Woken after every commit: what readers waiting for a write wait on.
    pub fn applied(&self) -> Arc<Notify> {
        self.applied.clone()
    }

    /// Begins the unit of work of a command by `actor`; it commits only with
    /// at least one audit row.
    pub async fn command(&self, actor: Actor) -> Result<UnitOfWork, DbErr> {
        self.begin(Some(actor)).await
    }

    /// Begins the unit of work of the system itself (a consumer applying an
    /// event): no caller, so no audit row is required.
    pub async fn system(&self) -> Result<UnitOfWork, DbErr> {
        self.begin(None).await
    }

    async fn begin(&self, actor: Option<Actor>) -> Result<UnitOfWork, DbErr> {
        Ok(UnitOfWork {
            txn: self.db.begin_write().await?,
            outbox: self.outbox.clone(),
            applied: self.applied.clone(),
            chain: self.chain.clone(),
            actor,
            accesses: Vec::new(),
            sequences: BTreeMap::new(),
            emitted: 0,
        })
    }

    /// Records accesses that change nothing else (reads, denials), durably,
    /// before the caller sees the answer: through the group commit
    /// ([`AuditWriter`]), so concurrent reads share one write transaction.
    pub async fn record_access(&self, actor: &Actor, accesses: &[Access]) -> Result<(), DbErr> {
        if accesses.is_empty() {
            return Ok(());
        }
        let rows = audit_rows(actor, accesses);
        self.audits.write(&self.db, &self.chain, rows).await
    }
}

impl iop_runtime::grpc::RecordRefusal for Ledger {
    fn record_refusal<'a>(
        &'a self,
        r: &'a iop_runtime::grpc::Refusal,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let actor = Actor {
                caller: r.caller.clone(),
                purpose: r.purpose,
                action: r.action,
            };
            self.record_access(&actor, &[Access::denied(r.patient_id.as_deref(), None)])
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The audit rows of `accesses` by `actor`, not chained yet.
fn audit_rows(actor: &Actor, accesses: &[Access]) -> Vec<iop_runtime::audit::entity::Model> {
    accesses
        .iter()
        .map(|a| {
            AuditChain::row(AuditEntry {
                caller: &actor.caller,
                action: actor.action,
                patient_id: a.patient_id.as_deref(),
                facility_id: a.facility_id.as_deref(),
                purpose: actor.purpose,
                outcome: a.outcome,
                consent_id: a.consent_id.as_deref(),
            })
        })
        .collect()
}

async fn write_audit<C: ConnectionTrait>(
    db: &C,
    chain: &AuditChain,
    actor: &Actor,
    accesses: &[Access],
) -> Result<(), DbErr> {
    chain.append_rows(db, audit_rows(actor, accesses)).await
}

/// Rows of one [`Ledger::record_access`] waiting for the group commit, and
/// who to tell once they are durable.
struct PendingAudit {
    rows: Vec<iop_runtime::audit::entity::Model>,
    done: oneshot::Sender<Result<(), String>>,
}

/// Most rows one group commit writes.
const GROUP_COMMIT_ROWS: usize = 512;

/// Group commit of the audit rows of reads and refusals: one task takes
/// every request queued while the previous transaction ran, chains and
/// writes all their rows in one transaction, and answers each request only
/// once it committed. Audited reads therefore share write transactions
/// instead of queueing for the writer one by one, and still never answer
/// before their row is durable.
#[derive(Clone, Default)]
struct AuditWriter {
    queue: Arc<OnceLock<mpsc::UnboundedSender<PendingAudit>>>,
    commits: Arc<AtomicU64>,
}

impl AuditWriter {
    /// Queues `rows` (starting the writer task on first use, inside the
    /// runtime that serves the calls) and waits until they are committed.
    async fn write(
        &self,
        db: &Database,
        chain: &AuditChain,
        rows: Vec<iop_runtime::audit::entity::Model>,
    ) -> Result<(), DbErr> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(group_commit(
                db.clone(),
                chain.clone(),
                rx,
                self.commits.clone(),
            ));
            tx
        });
        let (done, committed) = oneshot::channel();
        queue
            .send(PendingAudit { rows, done })
            .map_err(|_| DbErr::Custom("the audit writer has stopped".into()))?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DbErr::Custom(e)),
            Err(_) => Err(DbErr::Custom("the audit writer has stopped".into())),
        }
    }
}

async fn group_commit(
    db: Database,
    chain: AuditChain,
    mut queue: mpsc::UnboundedReceiver<PendingAudit>,
    commits: Arc<AtomicU64>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        let mut rows = std::mem::take(&mut batch[0].rows);
        while rows.len() < GROUP_COMMIT_ROWS {
            let Ok(mut next) = queue.try_recv() else {
                break;
            };
            rows.append(&mut next.rows);
            batch.push(next);
        }
        let written = async {
            let txn = db.begin_write().await?;
            chain.append_rows(&*txn, rows).await?;
            txn.commit().await
        }
        .await
        .map_err(|e| e.to_string());
        commits.fetch_add(1, Ordering::Relaxed);
        for pending in batch {
            // A caller that went away needs no answer.
            let _ = pending.done.send(written.clone());
        }
    }
}

/// One transaction of state, events and audit; see the module documentation.
pub struct UnitOfWork {
    txn: WriteTxn,
    outbox: Outbox,
    applied: Arc<Notify>,
    chain: AuditChain,
    actor: Option<Actor>,
    accesses: Vec<Access>,
    sequences: BTreeMap<(&'static str, String), i64>,
    emitted: usize,
}

impl UnitOfWork {
    /// The transaction, for the state change itself.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The actor of a command (none for the system).
    pub fn actor(&self) -> Option<&Actor> {
        self.actor.as_ref()
    }

    /// Claims `stream` before its state is read: takes the row's lock (on
    /// PostgreSQL) and returns its current sequence, 0 for a new stream.
    pub async fn lock(&mut self, stream: Stream<'_>) -> Result<i64, DbErr> {
        self.advance(stream, 0).await
    }

    /// Appends `event` to `stream` at its next sequence; returns the sequence.
    pub async fn emit<M: prost::Name>(
        &mut self,
        stream: Stream<'_>,
        event: &M,
    ) -> Result<i64, DbErr> {
        let sequence = self.advance(stream, 1).await?;
        self.outbox
            .append(
                &*self.txn,
                NewEvent::of(stream.aggregate, stream.id, sequence, event),
            )
            .await?;
        self.emitted += 1;
        Ok(sequence)
    }

    /// Adds `by` to the stream's version (upserting it) and returns the result.
    async fn advance(&mut self, stream: Stream<'_>, by: i64) -> Result<i64, DbErr> {
        let statement = Query::insert()
            .into_table(EventStreams::Table)
            .columns([
                EventStreams::AggregateType,
                EventStreams::AggregateId,
                EventStreams::Version,
            ])
            .values([stream.aggregate.into(), stream.id.into(), by.into()])
            .map_err(|e| DbErr::Custom(format!("event_streams: {e}")))?
            .on_conflict(
                OnConflict::columns([EventStreams::AggregateType, EventStreams::AggregateId])
                    .value(
                        EventStreams::Version,
                        Expr::col((EventStreams::Table, EventStreams::Version)).add(by),
                    )
                    .to_owned(),
            )
            .returning_col(EventStreams::Version)
            .to_owned();
        let backend = self.txn.get_database_backend();
        let row = self
            .txn
            .query_one(backend.build(&statement))
            .await?
            .ok_or_else(|| DbErr::Custom("event_streams: upsert returned no row".into()))?;
        let version: i64 = row.try_get("", "version")?;
        self.sequences
            .insert((stream.aggregate, stream.id.to_owned()), version);
        Ok(version)
    }

    /// Stages an allowed audit row of this command (patient, facility).
    pub fn audit(&mut self, patient_id: Option<&str>, facility_id: Option<&str>) {
        self.accesses.push(Access::allowed(patient_id, facility_id));
    }

    /// Stages an audit row of this command as given.
    pub fn audit_access(&mut self, access: Access) {
        self.accesses.push(access);
    }

    /// Commits state, events and audit rows together, then wakes the relay and
    /// the readers waiting for a write.
    pub async fn commit(self) -> Result<Receipt, DbErr> {
        let UnitOfWork {
            txn,
            outbox,
            applied,
            chain,
            actor,
            accesses,
            sequences,
            emitted,
        } = self;
        if let Some(actor) = &actor {
            if accesses.is_empty() {
                return Err(DbErr::Custom(format!(
                    "{}: a command must audit what it touched before committing",
                    actor.action
                )));
            }
            write_audit(&*txn, &chain, actor, &accesses).await?;
        }
        txn.commit().await?;
        if emitted > 0 {
            outbox.committed();
        }
        applied.notify_waiters();
        Ok(Receipt { sequences })
    }
}

/// What a committed unit of work reached: the last sequence of each stream it
/// locked or appended to.
#[derive(Debug, Clone, Default)]
pub struct Receipt {
    sequences: BTreeMap<(&'static str, String), i64>,
}

impl Receipt {
    /// The sequence `stream` reached, if the work touched it.
    pub fn sequence(&self, stream: Stream<'_>) -> Option<i64> {
        self.sequences
            .get(&(stream.aggregate, stream.id.to_owned()))
            .copied()
    }
}

/// The `event_streams` table: per aggregate, the sequence of its last event.
#[derive(DeriveIden)]
pub enum EventStreams {
    /// The table.
    Table,
    /// Kind of aggregate.
    AggregateType,
    /// Aggregate id.
    AggregateId,
    /// Sequence of its last event (0: locked, no event yet).
    Version,
}

/// Creates `event_streams`; every service's migrator lists it (services that
/// kept a sequence of their own move it here in a migration of their own).
pub struct CreateEventStreams;

impl MigrationName for CreateEventStreams {
    fn name(&self) -> &str {
        "m20261128_000500_create_event_streams"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateEventStreams {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EventStreams::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(EventStreams::AggregateType)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EventStreams::AggregateId)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EventStreams::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(EventStreams::AggregateType)
                            .col(EventStreams::AggregateId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventStreams::Table).to_owned())
            .await
    }
}
