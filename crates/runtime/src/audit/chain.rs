//! The audit trail as a keyed hash chain, so nobody can quietly change it.
//!
//! Every row takes the next `sequence` of its service's trail and stores the
//! hash of the row before it and its own: HMAC-SHA256, under the service's
//! `audit.chain_key`, of its sequence, every column and the previous hash. The
//! `audit_chain` head holds the last sequence and hash; claiming it is an
//! `UPDATE`, so on PostgreSQL concurrent transactions append one after the other
//! (the lock is held from the audit write to the commit, the last step of a unit
//! of work) and SQLite has one writer anyway.
//!
//! [`AuditChain::verify`] walks the trail and names the first row that does not
//! hold: edited (its hash differs), deleted (a sequence is missing), inserted
//! outside the chain (no sequence), or cut off at the end (the head says more
//! rows were written). Without the key, a changed row cannot be given a valid
//! hash. Left to a later change: anchoring the head outside the database (a
//! replaced head together with a cut-off tail is only caught by comparing it
//! with a copy kept elsewhere).

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Query},
};
use sha2::Sha256;

use super::{AuditEntry, entity};
use crate::{secret::Secret, telemetry};

/// Hash of the row before the first.
const GENESIS: &str = "";
/// Rows read per query when verifying or sealing.
const PAGE: u64 = 1000;

/// `audit.chain_key` is unusable.
#[derive(Debug, thiserror::Error)]
#[error("settings: invalid `audit.chain_key`: must be at least 32 bytes")]
pub struct WeakChainKey;

/// A service's chain key: what appends to and verifies its trail.
#[derive(Clone)]
pub struct AuditChain {
    key: Arc<Secret<String>>,
}

impl std::fmt::Debug for AuditChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditChain(..)")
    }
}

/// What [`AuditChain::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Rows checked.
    pub rows: i64,
    /// The first row that does not hold, if any.
    pub broken: Option<Broken>,
}

/// The first row that breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Its sequence (for a missing row: the one expected there; for a row
    /// outside the chain: 0).
    pub sequence: i64,
    /// Its id, when the row exists.
    pub entry_id: Option<String>,
    /// Why it does not hold.
    pub reason: String,
}

impl Verification {
    /// True when every row and the head hold.
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }
}

impl AuditChain {
    /// The chain under `key`, at least 32 bytes.
    pub fn new(key: &Secret<String>) -> Result<Self, WeakChainKey> {
        if key.expose().len() < 32 {
            return Err(WeakChainKey);
        }
        Ok(Self {
            key: Arc::new(key.clone()),
        })
    }

    fn digest(&self, row: &entity::Model, sequence: i64, prev: &str) -> String {
        #[allow(
            clippy::expect_used,
            reason = "HMAC accepts keys of any length; new() checked the length anyway"
        )]
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose().as_bytes())
            .expect("HMAC takes any key length");
        let mut field = |value: Option<&str>| match value {
            // Length-prefixed, so no two rows encode alike; absent differs from empty.
            Some(v) => {
                mac.update(&(v.len() as u64).to_be_bytes());
                mac.update(v.as_bytes());
            }
            None => mac.update(&u64::MAX.to_be_bytes()),
        };
        field(Some(&sequence.to_string()));
        field(Some(&row.id));
        field(Some(&row.occurred_at.timestamp_micros().to_string()));
        field(Some(&row.actor));
        field(Some(&row.actor_roles));
        field(Some(&row.action));
        field(row.patient_id.as_deref());
        field(row.facility_id.as_deref());
        field(Some(&row.purpose));
        field(Some(&row.outcome));
        field(row.consent_id.as_deref());
        field(row.trace_id.as_deref());
        field(Some(prev));
        hex::encode(mac.finalize().into_bytes())
    }

    /// Appends `entry` to the trail in `db` (a transaction of the unit of work,
    /// so the row commits with what it records).
    pub async fn append<C: ConnectionTrait>(
        &self,
        db: &C,
        entry: AuditEntry<'_>,
    ) -> Result<(), DbErr> {
        self.append_rows(db, vec![Self::row(entry)]).await
    }

    /// The row `entry` becomes, stamped now and with the current trace, not
    /// chained yet: [`Self::append_rows`] chains it wherever it is written
    /// (a group commit writes it from another task).
    pub fn row(entry: AuditEntry<'_>) -> entity::Model {
        entity::Model {
            id: uuid::Uuid::now_v7().to_string(),
            // Microseconds: what PostgreSQL keeps, so the hash survives the round trip.
            occurred_at: Utc::now().trunc_subsecs(6),
            actor: entry.caller.subject().to_owned(),
            actor_roles: entry.caller.roles_label(),
            action: entry.action.to_owned(),
            patient_id: entry.patient_id.map(str::to_owned),
            facility_id: entry.facility_id.map(str::to_owned),
            purpose: entry.purpose.as_str().to_owned(),
            outcome: entry.outcome.as_str().to_owned(),
            sequence: None,
            prev_hash: None,
            hash: None,
            consent_id: entry.consent_id.map(str::to_owned),
            trace_id: current_trace_id(),
        }
    }

    /// Chains `rows` after the head, in order, and writes them: one claim of
    /// the head for all of them, one move of it, one insert. In `db`'s
    /// transaction, so they commit with it.
    pub async fn append_rows<C: ConnectionTrait>(
        &self,
        db: &C,
        rows: Vec<entity::Model>,
    ) -> Result<(), DbErr> {
        let Ok(count) = i64::try_from(rows.len()) else {
            return Err(DbErr::Custom("audit_chain: too many rows at once".into()));
        };
        if count == 0 {
            return Ok(());
        }
        let (last, mut prev) = claim_heads(db, count).await?;
        let mut chained = Vec::with_capacity(rows.len());
        for (sequence, mut row) in (last - count + 1..).zip(rows) {
            let hash = self.digest(&row, sequence, &prev);
            row.sequence = Some(sequence);
            row.prev_hash = Some(std::mem::replace(&mut prev, hash.clone()));
            row.hash = Some(hash);
            chained.push(entity::ActiveModel::from(row));
        }
        set_head_hash(db, &prev).await?;
        entity::Entity::insert_many(chained).exec(db).await?;
        Ok(())
    }

    /// Chains one row written before the chain existed, in place.
    async fn link<C: ConnectionTrait>(&self, db: &C, mut row: entity::Model) -> Result<(), DbErr> {
        use sea_orm::ActiveModelTrait;
        let (sequence, prev) = claim_head(db).await?;
        let hash = self.digest(&row, sequence, &prev);
        set_head_hash(db, &hash).await?;
        row.sequence = Some(sequence);
        row.prev_hash = Some(prev);
        row.hash = Some(hash);
        entity::ActiveModel::from(row)
            .reset_all()
            .update(db)
            .await?;
        Ok(())
    }

    /// Chains the rows written before the chain existed, oldest first; run at
    /// start-up before the service takes calls. Returns how many it sealed.
    pub async fn seal<C: ConnectionTrait>(&self, db: &C) -> Result<u64, DbErr> {
        let mut sealed = 0;
        loop {
            let rows = entity::Entity::find()
                .filter(entity::Column::Sequence.is_null())
                .order_by_asc(entity::Column::OccurredAt)
                .order_by_asc(entity::Column::Id)
                .limit(PAGE)
                .all(db)
                .await?;
            if rows.is_empty() {
                return Ok(sealed);
            }
            for row in rows {
                self.link(db, row).await?;
                sealed += 1;
            }
        }
    }

    /// Walks the trail in `db` and names the first row that does not hold.
    pub async fn verify<C: ConnectionTrait>(&self, db: &C) -> Result<Verification, DbErr> {
        let outside = entity::Entity::find()
            .filter(entity::Column::Sequence.is_null())
            .one(db)
            .await?;
        let mut rows = 0;
        let mut prev = GENESIS.to_owned();
        let mut expected = 1;
        let broken = |rows, sequence, entry_id: Option<&str>, reason: String| Verification {
            rows,
            broken: Some(Broken {
                sequence,
                entry_id: entry_id.map(str::to_owned),
                reason,
            }),
        };
        loop {
            let page = entity::Entity::find()
                .filter(entity::Column::Sequence.gte(expected))
                .order_by_asc(entity::Column::Sequence)
                .limit(PAGE)
                .all(db)
                .await?;
            if page.is_empty() {
                break;
            }
            for row in page {
                let sequence = row.sequence.unwrap_or_default();
                if sequence != expected {
                    return Ok(broken(
                        rows,
                        expected,
                        None,
                        format!("row {expected} is missing (the next row is {sequence})"),
                    ));
                }
                if row.prev_hash.as_deref() != Some(prev.as_str()) {
                    return Ok(broken(
                        rows,
                        sequence,
                        Some(&row.id),
                        "does not link to the row before it".into(),
                    ));
                }
                let hash = self.digest(&row, sequence, &prev);
                if row.hash.as_deref() != Some(hash.as_str()) {
                    return Ok(broken(
                        rows,
                        sequence,
                        Some(&row.id),
                        "its content does not match its hash (changed after it was written)".into(),
                    ));
                }
                rows += 1;
                prev = hash;
                expected += 1;
            }
        }
        let (head, head_hash) = read_head(db).await?;
        if head != rows || head_hash != prev {
            return Ok(broken(
                rows,
                rows + 1,
                None,
                format!("the chain head records {head} rows but the trail holds {rows}"),
            ));
        }
        if let Some(row) = outside {
            return Ok(broken(
                rows,
                0,
                Some(&row.id),
                "row outside the chain (written without a sequence)".into(),
            ));
        }
        Ok(Verification { rows, broken: None })
    }
}

/// The trace id of the current span, if it belongs to a trace.
fn current_trace_id() -> Option<String> {
    let traceparent = telemetry::traceparent_of(&tracing::Span::current())?;
    traceparent.split('-').nth(1).map(str::to_owned)
}

/// Moves the head one on and returns the sequence claimed and the previous
/// hash; the `UPDATE` takes the head's row lock until the transaction ends.
async fn claim_head<C: ConnectionTrait>(db: &C) -> Result<(i64, String), DbErr> {
    claim_heads(db, 1).await
}

/// Moves the head's sequence on by `count` (locking it until the transaction
/// ends) and returns the new sequence and the hash it had.
async fn claim_heads<C: ConnectionTrait>(db: &C, count: i64) -> Result<(i64, String), DbErr> {
    let statement = Query::update()
        .table(Head::Table)
        .value(Head::Sequence, Expr::col(Head::Sequence).add(count))
        .and_where(Expr::col(Head::Id).eq(1))
        .returning(Query::returning().columns([Head::Sequence, Head::Hash]))
        .to_owned();
    let backend = db.get_database_backend();
    let row = db
        .query_one(backend.build(&statement))
        .await?
        .ok_or_else(|| DbErr::Custom("audit_chain: the head row is missing".into()))?;
    Ok((row.try_get("", "sequence")?, row.try_get("", "hash")?))
}

async fn set_head_hash<C: ConnectionTrait>(db: &C, hash: &str) -> Result<(), DbErr> {
    let statement = Query::update()
        .table(Head::Table)
        .value(Head::Hash, hash)
        .and_where(Expr::col(Head::Id).eq(1))
        .to_owned();
    db.execute(db.get_database_backend().build(&statement))
        .await
        .map(|_| ())
}

async fn read_head<C: ConnectionTrait>(db: &C) -> Result<(i64, String), DbErr> {
    let statement = Query::select()
        .columns([Head::Sequence, Head::Hash])
        .from(Head::Table)
        .and_where(Expr::col(Head::Id).eq(1))
        .to_owned();
    let row = db
        .query_one(db.get_database_backend().build(&statement))
        .await?
        .ok_or_else(|| DbErr::Custom("audit_chain: the head row is missing".into()))?;
    Ok((row.try_get("", "sequence")?, row.try_get("", "hash")?))
}

#[derive(sea_orm::DeriveIden)]
enum Head {
    #[sea_orm(iden = "audit_chain")]
    Table,
    Id,
    Sequence,
    Hash,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use sea_orm_migration::{MigrationTrait, MigratorTrait};

    use super::*;
    use crate::{
        audit::{ChainAuditLog, CreateAuditLog, Outcome, Purpose},
        auth::{Caller, Role},
        db::Database,
        settings::DatabaseSettings,
    };

    struct Migrator;

    impl MigratorTrait for Migrator {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            vec![Box::new(CreateAuditLog), Box::new(ChainAuditLog)]
        }
    }

    fn key(k: &str) -> AuditChain {
        AuditChain::new(&Secret::new(k.repeat(32))).unwrap()
    }

    async fn trail(dir: &tempfile::TempDir) -> Database {
        let db = Database::connect(&DatabaseSettings {
            url: format!("sqlite://{}/audit.db", dir.path().display()).into(),
            max_connections: 2,
            busy_timeout_ms: 1000,
            migrate_at_start: true,
            url_file: String::new(),
        })
        .await
        .unwrap();
        db.migrate::<Migrator>().await.unwrap();
        db
    }

    async fn write(db: &Database, chain: &AuditChain, patient: &str, consent: Option<&str>) {
        let caller = Caller::new("nurse-1", &[Role::Intake], &["oakland"]);
        let txn = db.begin_write().await.unwrap();
        chain
            .append(
                &*txn,
                AuditEntry {
                    caller: &caller,
                    action: "test.Read",
                    patient_id: Some(patient),
                    facility_id: Some("oakland"),
                    purpose: Purpose::Treatment,
                    outcome: Outcome::Allowed,
                    consent_id: consent,
                },
            )
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }

    async fn sql(db: &Database, statement: &str) -> Result<(), DbErr> {
        db.conn()
            .execute(Statement::from_string(DbBackend::Sqlite, statement))
            .await
            .map(|_| ())
    }

    async fn written(n: usize) -> (tempfile::TempDir, Database, AuditChain) {
        let dir = tempfile::tempdir().unwrap();
        let db = trail(&dir).await;
        let chain = key("k");
        for i in 0..n {
            write(&db, &chain, &format!("p-{i}"), (i == 1).then_some("c-1")).await;
        }
        (dir, db, chain)
    }

    #[tokio::test]
    async fn an_untouched_trail_verifies_and_another_key_does_not() {
        let (_dir, db, chain) = written(3).await;
        let v = chain.verify(db.conn()).await.unwrap();
        assert_eq!(
            v,
            Verification {
                rows: 3,
                broken: None
            }
        );
        let other = key("x").verify(db.conn()).await.unwrap();
        assert_eq!(
            other.broken.unwrap().sequence,
            1,
            "a forged key fails at once"
        );
    }

    #[tokio::test]
    async fn rows_cannot_be_changed_or_deleted_while_the_triggers_stand() {
        let (_dir, db, chain) = written(2).await;
        let update = sql(
            &db,
            "UPDATE audit_log SET actor = 'someone' WHERE sequence = 1",
        )
        .await;
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = sql(&db, "DELETE FROM audit_log WHERE sequence = 2").await;
        assert!(delete.unwrap_err().to_string().contains("append-only"));
        assert!(chain.verify(db.conn()).await.unwrap().intact());
    }

    #[tokio::test]
    async fn an_edited_row_is_named() {
        let (_dir, db, chain) = written(3).await;
        sql(&db, "DROP TRIGGER audit_log_sealed").await.unwrap();
        sql(
            &db,
            "UPDATE audit_log SET consent_id = NULL WHERE sequence = 2",
        )
        .await
        .unwrap();
        let v = chain.verify(db.conn()).await.unwrap();
        let broken = v.broken.unwrap();
        assert_eq!((v.rows, broken.sequence), (1, 2));
        assert!(
            broken.reason.contains("does not match its hash"),
            "{}",
            broken.reason
        );
        assert!(broken.entry_id.is_some());
    }

    #[tokio::test]
    async fn a_deleted_row_or_a_cut_tail_is_named() {
        let (_dir, db, chain) = written(4).await;
        sql(&db, "DROP TRIGGER audit_log_no_delete").await.unwrap();
        sql(&db, "DELETE FROM audit_log WHERE sequence = 4")
            .await
            .unwrap();
        let v = chain.verify(db.conn()).await.unwrap();
        assert_eq!(v.rows, 3);
        assert!(v.broken.unwrap().reason.contains("head records 4 rows"));
        sql(&db, "DELETE FROM audit_log WHERE sequence = 2")
            .await
            .unwrap();
        let broken = chain.verify(db.conn()).await.unwrap().broken.unwrap();
        assert_eq!(broken.sequence, 2);
        assert!(
            broken.reason.contains("row 2 is missing"),
            "{}",
            broken.reason
        );
    }

    #[tokio::test]
    async fn rows_from_before_the_chain_are_sealed_in_order_and_stray_rows_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = trail(&dir).await;
        let chain = key("k");
        for (id, at) in [("b", "2026-01-02"), ("a", "2026-01-01")] {
            sql(
                &db,
                &format!(
                    "INSERT INTO audit_log (id, occurred_at, actor, actor_roles, action, \
                     purpose, outcome) VALUES ('{id}', '{at}T00:00:00+00:00', 'u', 'intake', \
                     'old.Read', 'treatment', 'allowed')"
                ),
            )
            .await
            .unwrap();
        }
        let before = chain.verify(db.conn()).await.unwrap();
        assert!(before.broken.unwrap().reason.contains("outside the chain"));
        assert_eq!(chain.seal(db.conn()).await.unwrap(), 2);
        write(&db, &chain, "p-new", None).await;
        assert_eq!(chain.verify(db.conn()).await.unwrap().rows, 3);
        let first = entity::Entity::find()
            .filter(entity::Column::Sequence.eq(1))
            .one(db.conn())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.id, "a", "the oldest row is sealed first");
        assert_eq!(chain.seal(db.conn()).await.unwrap(), 0);
    }
}
