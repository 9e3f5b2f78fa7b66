//! Opening the database (embedded SQLite by default, PostgreSQL when asked), its pragmas
//! and migrations. `storage.rs` decides which connection does what.

use std::{path::Path, sync::Arc, time::Duration};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, IsolationLevel, TransactionTrait,
    sqlx::{
        self,
        sqlite::{SqliteJournalMode, SqliteSynchronous},
    },
};

use super::transaction_watch::TransactionWatch;
use crate::{
    config::{Durability, StorageSettings},
    error::Error,
};

/// Arbitrary constant naming the advisory lock that serialises migrations across replicas.
const MIGRATION_LOCK: i64 = 0x5c1a_2026;

pub fn sqlite_url(file: &Path) -> String {
    format!("sqlite://{}?mode=rwc", file.display())
}

pub fn is_sqlite_url(url: &str) -> bool {
    url.starts_with("sqlite:")
}

pub fn is_sqlite_memory_url(url: &str) -> bool {
    is_sqlite_url(url) && (url.contains(":memory:") || url.contains("mode=memory"))
}

/// The file a SQLite URL names (none for an in-memory database).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if is_sqlite_memory_url(url) {
        return None;
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or_default();
    (!path.is_empty()).then(|| path.into())
}

/// Creates the database file readable by its owner only (0600) before SQLite would create
/// it with the process's umask (often world-readable); its `-wal` and `-shm` files take
/// the same permissions. An existing file is left as its owner set it.
pub fn create_private_sqlite_file(url: &str) -> Result<(), Error> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(Error::Internal(anyhow::anyhow!(
            "cannot create the database file {}: {err}",
            path.display()
        ))),
    }
}

pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A read-only transaction that sees one snapshot throughout: SQLite's do (WAL), on
/// PostgreSQL that takes REPEATABLE READ.
pub async fn begin_snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, Error> {
    let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
    let (isolation, access) = if postgres {
        (
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
    } else {
        (None, None)
    };
    Ok(db.begin_with_config(isolation, access).await?)
}

/// What a SQLite connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteRole {
    /// The one connection that writes, owned by the writer task (also the checkpointer's,
    /// which needs write access to the file).
    Writer,
    /// The read pool: opened read-only, so a write that bypasses the writer fails loudly.
    Reader,
}

/// WAL pages past which the writer checkpoints in its own commit (see `checkpointer.rs`);
/// the WAL file grows to about this many pages (40 MiB), and keeps that size. At SQLite's
/// default, 1,000, the writer's commits did most of the checkpointing under load (4.3% of
/// the server's CPU in POST with 32 connections, against 0.8% in the checkpointer), on
/// the path of every write of their batch; at 10,000, 1.1%.
const WAL_PAGES_BEFORE_CHECKPOINT: u32 = 10_000;

/// SQLite with WAL (readers never wait for the writer), foreign keys, and the configured
/// `synchronous` level. The writer's connection never idles out or expires, because the
/// writer holds it across a whole batch.
pub async fn connect_sqlite(
    url: &str,
    settings: &StorageSettings,
    role: SqliteRole,
) -> Result<DatabaseConnection, Error> {
    connect_sqlite_watched(url, settings, role, None).await
}

/// `connect_sqlite`, telling `watch` of every transaction the connection rolls back,
/// whether asked to or on its own (on some errors, a full disk, an I/O error, out of
/// memory, SQLite rolls the whole transaction back, not only the failed statement), and
/// asking it before every commit (see `transaction_watch.rs`).
pub async fn connect_sqlite_watched(
    url: &str,
    settings: &StorageSettings,
    role: SqliteRole,
    watch: Option<Arc<TransactionWatch>>,
) -> Result<DatabaseConnection, Error> {
    let mut options = ConnectOptions::new(url.to_owned());
    let memory = is_sqlite_memory_url(url);
    let pool_size = match role {
        SqliteRole::Writer => 1,
        SqliteRole::Reader if memory => 1,
        SqliteRole::Reader => settings.sqlite_read_connections.max(1),
    };
    let synchronous = match settings.durability {
        Durability::Full => SqliteSynchronous::Full,
        Durability::Normal => SqliteSynchronous::Normal,
    };
    let read_only = role == SqliteRole::Reader && !memory;
    let cache_kib = i64::from(settings.sqlite_cache_kib);
    let temp_store = match role {
        SqliteRole::Writer => "memory",
        SqliteRole::Reader => "default",
    };
    options
        .sqlx_logging(false)
        // No ping at checkout: an embedded connection is not lost as a network one is, and
        // a ping is a round trip to the connection's thread (two thread wake-ups), a tenth
        // of a sequential create here.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(pool_size)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .foreign_keys(true)
                // The writer is alone, and WAL readers do not lock: this only covers a
                // checkpoint or recovery running at the very moment a connection opens.
                .busy_timeout(Duration::from_secs(5))
                .pragma("cache_size", format!("-{cache_kib}"))
                // Each write runs in a savepoint, whose sub-journal (a copy of every page it
                // changes) would otherwise be written to a temporary file.
                .pragma("temp_store", temp_store)
                .pragma(
                    "wal_autocheckpoint",
                    WAL_PAGES_BEFORE_CHECKPOINT.to_string(),
                )
                .read_only(read_only)
                .create_if_missing(!read_only)
        });
    if let Some(watch) = watch {
        let users_limit = settings.limits.users;
        options.map_sqlx_sqlite_pool_opts(move |pool| {
            let watch = Arc::clone(&watch);
            pool.after_connect(move |conn, _| {
                let watch = Arc::clone(&watch);
                Box::pin(async move {
                    super::limits::guard_users(conn, users_limit).await?;
                    let mut handle = conn.lock_handle().await?;
                    let rolled_back = Arc::clone(&watch);
                    handle.set_rollback_hook(move || rolled_back.rolled_back());
                    handle.set_commit_hook(move || watch.may_commit());
                    Ok(())
                })
            })
        });
    }
    if role == SqliteRole::Reader {
        let limit = settings.statement_timeout;
        options.map_sqlx_sqlite_pool_opts(move |pool| {
            pool.after_connect(move |conn, _| Box::pin(limit_work(conn, limit)))
                .before_acquire(move |conn, _| {
                    Box::pin(async move { limit_work(conn, limit).await.map(|()| true) })
                })
        });
    }
    Ok(Database::connect(options).await?)
}

/// Virtual-machine steps between two looks at the clock: about a millisecond of work.
const STEPS_PER_CHECK: i32 = 50_000;

/// Interrupts whatever `connection` runs once `limit` has passed from now: each checkout
/// from the read pool starts a new allowance, which covers the statements of one read
/// (SQLite has no statement timeout; a long statement there holds a read connection as a
/// slow one holds a PostgreSQL connection). The request gets 503, like a cancelled statement
/// on PostgreSQL. A zero `limit` sets no time limit. A read checked out by
/// `abandoned::read` also stops as soon as its caller is gone.
async fn limit_work(
    connection: &mut sqlx::sqlite::SqliteConnection,
    limit: Duration,
) -> Result<(), sqlx::Error> {
    let deadline = (!limit.is_zero()).then(|| std::time::Instant::now() + limit);
    let reader = super::abandoned::current_reader();
    connection
        .lock_handle()
        .await?
        .set_progress_handler(STEPS_PER_CHECK, move || {
            deadline.is_none_or(|deadline| std::time::Instant::now() < deadline)
                && !reader
                    .as_ref()
                    .is_some_and(|reader| reader.gone.load(std::sync::atomic::Ordering::Relaxed))
        });
    Ok(())
}

/// The pool requests use: every statement on it is cancelled after `statement_timeout`,
/// so no request, whatever it asks, holds a connection the other tenants need for long.
pub async fn connect_postgres(
    url: &str,
    settings: &StorageSettings,
) -> Result<DatabaseConnection, Error> {
    let timeout_ms = settings.statement_timeout.as_millis().to_string();
    let mut options = postgres_options(url, settings.postgres_connections.max(2));
    // Zero turns it off: a pooler such as PgBouncer may refuse startup options.
    if !settings.statement_timeout.is_zero() {
        options
            .map_sqlx_postgres_opts(move |opts| opts.options([("statement_timeout", &timeout_ms)]));
    }
    options.map_sqlx_postgres_pool_opts(|pool| {
        pool.test_before_acquire(false)
            .after_connect(|conn, _| Box::pin(check_out(conn, false)))
            .before_acquire(|conn, _| {
                Box::pin(async move { check_out(conn, true).await.map(|()| true) })
            })
    });
    Ok(Database::connect(options).await?)
}

/// A checkout from the PostgreSQL pool: for a cancellable read (`abandoned::read`), learns
/// the backend's pid, which also proves the connection alive; otherwise pings an idle
/// connection, as sqlx's own check before use (which this replaces) does.
async fn check_out(
    connection: &mut sqlx::postgres::PgConnection,
    idle: bool,
) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    match super::abandoned::current_reader() {
        Some(reader) => {
            let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(connection)
                .await?;
            // One checkout per read: a second pid cannot come.
            let _ = reader.backend_pid.set(pid);
        }
        None if idle => connection.ping().await?,
        None => {}
    }
    Ok(())
}

/// Makes one connection directly and closes it, so that a server that cannot reach
/// PostgreSQL says why (connection refused, authentication failed, no such database) at
/// once, rather than "pool timed out" after the pool's wait.
pub async fn probe_postgres(url: &str) -> Result<(), Error> {
    use sqlx::Connection;
    // The URL is quoted in the message; the exit error redacts its password.
    let options: sqlx::postgres::PgConnectOptions = url
        .parse()
        .map_err(|err| anyhow::anyhow!("the database URL {url} cannot be parsed: {err}"))?;
    let connected = tokio::time::timeout(PROBE_TIMEOUT, sqlx::PgConnection::connect_with(&options))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "PostgreSQL did not answer within {} s",
                PROBE_TIMEOUT.as_secs()
            )
        })?
        .map_err(|err| anyhow::anyhow!("cannot connect to PostgreSQL: {err}"))?;
    let _ = connected.close().await;
    Ok(())
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections without a statement timeout, for migrations (building an index over a
/// large table may take minutes): one holds the migration lock, one migrates.
pub async fn connect_postgres_for_migrations(url: &str) -> Result<DatabaseConnection, Error> {
    Ok(Database::connect(postgres_options(url, 2)).await?)
}

fn postgres_options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(max_connections)
        .min_connections(1);
    options
}

/// Applies pending migrations. On PostgreSQL an advisory lock keeps replicas that start
/// together from migrating at the same time.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), Error> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(Migrator::up(db, None).await?);
    }
    let mut lock_conn = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(|err| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(err.into())))?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock_conn)
        .await
        .map_err(|err| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(err.into())))?;
    let outcome = Migrator::up(db, None).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock_conn)
        .await;
    outcome?;
    unlocked.map_err(|err| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(err.into())))?;
    Ok(())
}

/// A cheap round trip, for readiness checks.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}
