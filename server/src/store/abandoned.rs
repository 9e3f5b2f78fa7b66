//! Reads that stop when nobody waits for their answer any more.
//!
//! When a client goes away, its request's future is dropped, and with it the query it was
//! waiting for; but the database goes on computing the answer. sqlx then waits for that
//! statement to end before it hands the connection back to the pool, so a search whose
//! client gave up held a pool connection until the statement timeout (on PostgreSQL, 16
//! abandoned filters starved every other tenant). A read run through `read` is stopped
//! instead: SQLite's progress handler (`db::limit_work`) interrupts it at its next check,
//! and on PostgreSQL `pg_cancel_backend` stops the backend's statement before the
//! connection is released, so the cancel can never reach another request's query. (sqlx's
//! check of a released connection then meets the cancelled statement's error, closes the
//! connection and logs a warning; the pool opens a new one. Rolling back on it first would
//! not help: a failed ROLLBACK leaves the connection in a transaction sqlx thinks is open.)

use std::{
    str::FromStr,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sea_orm::{
    DatabaseTransaction, TransactionTrait,
    sqlx::{
        self,
        postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    },
};

use super::storage::Storage;
use crate::error::Error;

tokio::task_local! {
    /// Set while a cancellable read checks out its connection: the pools' checkout hooks
    /// (`db.rs`) read it.
    static READER: Arc<Reader>;
}

/// What the checkout of a cancellable read's connection learns, and tells.
#[derive(Default)]
pub struct Reader {
    /// Set once the read's caller is gone (SQLite's progress handler looks at it).
    pub gone: AtomicBool,
    /// The PostgreSQL backend serving the read, as its checkout found it.
    pub backend_pid: OnceLock<i32>,
}

/// The cancellable read checking out a connection right now, if it is one.
pub fn current_reader() -> Option<Arc<Reader>> {
    READER.try_with(Arc::clone).ok()
}

/// Runs `work` in a transaction on one connection of the read pool (which keeps the
/// connection the cancel names until the cancel is sent); if the returned future is
/// dropped before it finishes, the statement it was waiting for is stopped. The work only
/// reads: the transaction is rolled back, which sqlx sends with its check of the released
/// connection rather than as a round trip of its own. On PostgreSQL the checkout reads the
/// backend's pid in place of sqlx's liveness ping, so the whole cost is the `BEGIN`.
pub async fn read<T>(
    storage: &Storage,
    work: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T, Error>,
) -> Result<T, Error> {
    let reader = Arc::new(Reader::default());
    let txn = READER
        .scope(Arc::clone(&reader), storage.reads().begin())
        .await?;
    // Declared before the watch, so dropped after it: the cancel task's copy keeps the
    // connection until the cancel is sent.
    let txn = Arc::new(txn);
    let mut watch = Watch {
        txn: Arc::clone(&txn),
        reader,
        canceller: storage.canceller().cloned(),
        finished: false,
    };
    let outcome = work(&txn).await;
    watch.finished = true;
    outcome
}

/// Watches a read's transaction while its work runs; dropped before the work is done, it
/// stops what the connection is running and only then gives the connection back.
struct Watch {
    txn: Arc<DatabaseTransaction>,
    reader: Arc<Reader>,
    canceller: Option<Canceller>,
    finished: bool,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.reader.gone.store(true, Ordering::Relaxed);
        crate::metrics::read_abandoned();
        // Without a runtime (the process is ending) the statement ends with its connection.
        if let (Some(canceller), Some(&pid)) =
            (self.canceller.take(), self.reader.backend_pid.get())
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let txn = Arc::clone(&self.txn);
            runtime.spawn(async move {
                canceller.cancel(pid).await;
                drop(txn);
            });
        }
    }
}

/// Cancels PostgreSQL statements over a connection of its own, opened at start and kept,
/// so that a cancel never waits for the pool that abandoned statements fill, nor for a
/// connection slot on a server that has none left.
#[derive(Clone)]
pub struct Canceller {
    pool: PgPool,
}

impl Canceller {
    /// Connects in the background (the pool keeps its one connection open).
    pub fn new(url: &str) -> Result<Self, Error> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|err| Error::Internal(anyhow::anyhow!("the database URL: {err}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(CANCEL_WAIT)
            .idle_timeout(None)
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    async fn cancel(&self, pid: i32) {
        let cancelled = sqlx::query("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .execute(&self.pool)
            .await;
        if let Err(err) = cancelled {
            // The statement then runs until it ends or times out, as if never cancelled.
            tracing::warn!(error = %err, "could not cancel the statement of a request whose client went away");
        }
    }
}

const CANCEL_WAIT: Duration = Duration::from_secs(5);
