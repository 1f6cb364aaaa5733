//! Storage: one sea-orm connection per service database, SQLite (the embedded
//! default) or PostgreSQL (production), chosen by the URL.
//!
//! SQLite runs in WAL mode with a busy timeout, and every write transaction goes
//! through [`Database::begin_write`], which serialises writers inside the process:
//! SQLite allows one writer at a time and a deferred transaction that upgrades to
//! a write lock can fail with SQLITE_BUSY no matter the timeout, so queueing
//! writers in the process is the only way no command ever fails for it. Readers
//! are not serialised. PostgreSQL needs no such lock; its transactions run
//! concurrently and conflicts are resolved by row locks.

use std::{ops::Deref, path::Path, str::FromStr, sync::Arc, time::Duration};

use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqlxSqliteConnector, TransactionTrait,
};
use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::settings::DatabaseSettings;

/// Creates `path` (and missing parent directories) readable by this user
/// only, before SQLite opens it: the file holds patient data, and SQLite gives
/// its `-wal` and `-shm` files the database file's mode. Directories are
/// created 0700, the file 0600 (never briefly wider). An existing file is left
/// as it is.
pub fn private_file(path: &Path) -> std::io::Result<()> {
    if path.as_os_str().is_empty() || path.to_str() == Some(":memory:") || path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        private_dir(parent).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    match file.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("cannot create {}: {e}", path.display()),
        )),
    }
}

/// Creates `dir` (and its parents) 0700 if it does not exist.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut dirs = std::fs::DirBuilder::new();
    dirs.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dirs, 0o700);
    dirs.create(dir)
}

/// A service's database.
#[derive(Clone)]
pub struct Database {
    conn: DatabaseConnection,
    /// Present for SQLite only: one writer at a time.
    writer: Option<Arc<Mutex<()>>>,
}

impl Database {
    /// Connects to the database named by `settings.url`, creating a SQLite file
    /// (and its directory) when absent.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, DbErr> {
        let url = settings.url.expose();
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| DbErr::Custom(format!("database.url: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_millis(settings.busy_timeout_ms))
                // Statement logging would put query text in logs; PHI never belongs there.
                .disable_statement_logging();
            private_file(Path::new(options.get_filename()))
                .map_err(|e| DbErr::Custom(format!("database.url: {e}")))?;
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.max_connections)
                .connect_with(options)
                .await
                .map_err(|e| DbErr::Custom(format!("database.url: {e}")))?;
            Ok(Self {
                conn: SqlxSqliteConnector::from_sqlx_sqlite_pool(pool),
                writer: Some(Arc::new(Mutex::new(()))),
            })
        } else {
            let mut options = ConnectOptions::new(url.clone());
            // Statement logging would put query text in logs; PHI never belongs there.
            options
                .max_connections(settings.max_connections)
                .connect_timeout(Duration::from_secs(10))
                .sqlx_logging(false);
            let conn = sea_orm::Database::connect(options).await?;
            Ok(Self { conn, writer: None })
        }
    }

    /// The connection, for reads (and for migrations).
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// A read-only transaction whose reads all see one state of the
    /// database, for a decision made from several reads that a concurrent
    /// write must not split (an access rule read beside the record it
    /// shows). SQLite: a deferred transaction, whose WAL snapshot starts at
    /// its first read and takes no writer lock; PostgreSQL: REPEATABLE READ,
    /// READ ONLY. Dropped or committed when done.
    pub async fn snapshot(&self) -> Result<DatabaseTransaction, DbErr> {
        if self.writer.is_some() {
            self.conn.begin().await
        } else {
            use sea_orm::{AccessMode, IsolationLevel};
            self.conn
                .begin_with_config(
                    Some(IsolationLevel::RepeatableRead),
                    Some(AccessMode::ReadOnly),
                )
                .await
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Applies `M`'s pending migrations. On PostgreSQL, replicas starting together
    /// queue on an advisory lock so exactly one applies them; SQLite has one
    /// process per file.
    pub async fn migrate<M: sea_orm_migration::MigratorTrait>(&self) -> Result<(), DbErr> {
        if self.backend() != DbBackend::Postgres {
            return M::up(&self.conn, None).await;
        }
        let lock = self.conn.begin().await?;
        // Any fixed key shared by all IOP services' migrators ("iopmigr").
        lock.execute_unprepared("SELECT pg_advisory_xact_lock(7598807136891497842)")
            .await?;
        let result = M::up(&self.conn, None).await;
        lock.commit().await?;
        result
    }

    /// Begins a write transaction; on SQLite it waits for the process's writer slot.
    pub async fn begin_write(&self) -> Result<WriteTxn, DbErr> {
        let guard = match &self.writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let txn = self.conn.begin().await?;
        Ok(WriteTxn { txn, _guard: guard })
    }
}

/// A write transaction; dereferences to the sea-orm transaction. Dropping it
/// without [`WriteTxn::commit`] rolls back.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTxn {
    /// Commits, then releases the writer slot.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &Self::Target {
        &self.txn
    }
}

/// Inserts `model`, or replaces every other column of the row with its key:
/// one statement (`INSERT … ON CONFLICT (key) DO UPDATE`) on SQLite and
/// PostgreSQL alike, so a copy of another context's fact or a recomputed
/// record is kept without a read first.
pub async fn upsert<E, C>(db: &C, model: E::Model) -> Result<(), DbErr>
where
    E: sea_orm::EntityTrait,
    E::Model: sea_orm::IntoActiveModel<E::ActiveModel>,
    C: ConnectionTrait,
{
    use sea_orm::{
        ActiveModelTrait, IdenStatic, IntoActiveModel, Iterable, PrimaryKeyToColumn,
        sea_query::OnConflict,
    };
    let keys: Vec<E::Column> = E::PrimaryKey::iter().map(|k| k.into_column()).collect();
    let names: Vec<&str> = keys.iter().map(|c| c.as_str()).collect();
    let rest: Vec<E::Column> = E::Column::iter()
        .filter(|c| !names.contains(&c.as_str()))
        .collect();
    let mut conflict = OnConflict::columns(keys);
    if rest.is_empty() {
        conflict.do_nothing();
    } else {
        conflict.update_columns(rest);
    }
    let active: E::ActiveModel = model.into_active_model().reset_all();
    E::insert(active)
        .on_conflict(conflict)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_sqlite_writers_never_see_busy() {
        let dir = tempfile::tempdir().unwrap();
        let settings = DatabaseSettings {
            url: format!("sqlite://{}/nested/t.db", dir.path().display()).into(),
            max_connections: 8,
            // A tiny timeout: without the writer slot this test fails with SQLITE_BUSY.
            busy_timeout_ms: 1,
            migrate_at_start: true,
            url_file: String::new(),
        };
        let db = Database::connect(&settings).await.unwrap();
        db.conn()
            .execute_unprepared("CREATE TABLE counter (n INTEGER NOT NULL)")
            .await
            .unwrap();
        db.conn()
            .execute_unprepared("INSERT INTO counter VALUES (0)")
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..10 {
                    let txn = db.begin_write().await.unwrap();
                    // Read then write inside one transaction: the pattern that upgrades locks.
                    let row = txn
                        .query_one(Statement::from_string(
                            DbBackend::Sqlite,
                            "SELECT n FROM counter",
                        ))
                        .await
                        .unwrap()
                        .unwrap();
                    let n: i64 = row.try_get("", "n").unwrap();
                    txn.execute(Statement::from_sql_and_values(
                        DbBackend::Sqlite,
                        "UPDATE counter SET n = ?",
                        [(n + 1).into()],
                    ))
                    .await
                    .unwrap();
                    txn.commit().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let row = db
            .conn()
            .query_one(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT n FROM counter",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.try_get::<i64>("", "n").unwrap(),
            320,
            "no lost update, no failed writer"
        );
        let mode = db
            .conn()
            .query_one(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA journal_mode",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(mode.try_get::<String>("", "journal_mode").unwrap(), "wal");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            let file = dir.path().join("nested/t.db");
            assert_eq!(
                mode(&file),
                0o600,
                "patient data readable by its owner only"
            );
            assert_eq!(mode(&dir.path().join("nested")), 0o700);
            assert_eq!(mode(&dir.path().join("nested/t.db-wal")), 0o600);
        }
    }
}
