//! The single SQLite writer. SQLite lets one connection write at a time; letting every
//! request open its own write transaction made the others sleep in the busy handler and,
//! past its timeout, fail with `database is locked`. Instead one task, on a thread and
//! runtime of its own, owns the only write connection: it takes every request waiting in
//! its queue, runs each in its own savepoint (one request's failure never touches its
//! neighbours), commits once (one sync of the WAL for the whole batch), and only then
//! answers each caller. A failed commit discards the connection, so no later batch can run
//! inside a transaction that never commits.
//!
//! While writes keep coming, the writer holds the next batch's transaction already begun
//! (see `Writer::hold`): beginning it once the previous batch is answered, rather than when
//! the next write arrives, takes it off the path of that write, and the connection does not
//! go back to its pool between batches, which sqlx answers with a ping.

use std::{future::Future, panic::AssertUnwindSafe, pin::Pin, sync::Arc};

use futures_util::FutureExt;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::{Notify, mpsc, oneshot};

use super::{health::StorageHealth, transaction_watch::TransactionWatch};
use crate::error::Error;

/// How a caller learns the fate of its work once the batch it ran in has ended: `None`
/// when the batch committed, the batch's failure otherwise.
type Finish = Box<dyn FnOnce(Option<Error>) + Send>;

/// One request's write, type-erased: runs inside the batch's transaction and says how it
/// went (so its savepoint is kept or rolled back).
type Job = Box<
    dyn for<'t> FnOnce(
            &'t DatabaseTransaction,
        ) -> Pin<Box<dyn Future<Output = (Ran, Finish)> + Send + 't>>
        + Send,
>;

/// How a job went.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ran {
    Succeeded,
    /// Succeeded, and stored nothing (`Effect::ReadsOnly`): it does not tell readiness
    /// that writes work again.
    Read,
    /// Refused by a constraint: if SQLite rolled the transaction back with it, that was
    /// the data's doing, and storage is not failing.
    BrokeAConstraint,
    Failed,
}

/// What a job does to the database, as its caller declares it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Writes,
    /// Reads what the writes before it left, or writes and takes it all back (a
    /// rehearsal): it stores nothing, so its success says nothing of whether writes work.
    ReadsOnly,
}

/// A write as callers hand it over: given the transaction, the future doing the work.
pub type WriteFuture<'t, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 't>>;

/// Opens the write connection; called at start and again after a failed batch.
pub type Opener = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<DatabaseConnection, Error>> + Send>>
        + Send
        + Sync,
>;

/// Retry-After when the queue is full: the writer drains thousands of writes a second.
const QUEUE_FULL_RETRY_SECS: u64 = 1;

/// How long the writer holds a transaction begun ahead with nothing to write. It holds
/// SQLite's write lock, which another connection (an operator's `scim-server keys`, a
/// test's) waits for in its busy handler, trying again after 1, 2, 5, 10 ms and longer: at
/// tens of writes a second the lock must be free most of the time, as it was before the
/// writer held it. Sequential creates from one client come well within it.
const HOLD_WHILE_IDLE: std::time::Duration = std::time::Duration::from_millis(2);

pub struct WriteQueue {
    sender: std::sync::RwLock<Option<mpsc::Sender<Job>>>,
    /// Answered when the writer's thread has written everything queued and stopped: why,
    /// if it stopped otherwise (a panic).
    stopped: tokio::sync::Mutex<Option<oneshot::Receiver<Result<(), String>>>>,
}

/// The writer's queue and batches.
pub struct QueueSettings {
    /// Writes waiting at most; past it, 503.
    pub capacity: usize,
    /// Writes in one batch at most.
    pub max_batch: usize,
    /// Whether the writer may hold the write connection between batches (see
    /// `Writer::hold`): not where readers share it (an in-memory database).
    pub hold_between_batches: bool,
}

impl WriteQueue {
    /// Starts the writer task over `connection` (already open), whose transactions `watch`
    /// sees (see `db::connect_sqlite_watched`).
    pub async fn start(
        connection: DatabaseConnection,
        opener: Opener,
        watch: Arc<TransactionWatch>,
        settings: QueueSettings,
        health: Arc<StorageHealth>,
        committed: Option<Arc<Notify>>,
    ) -> Result<Self, Error> {
        let (sender, receiver) = mpsc::channel(settings.capacity.max(1));
        let writer = Writer {
            connection: Some(connection),
            ahead: None,
            hold: settings.hold_between_batches,
            opener,
            watch,
            max_batch: settings.max_batch.max(1),
            health,
            committed,
        };
        let (started, ready) = oneshot::channel::<std::io::Result<()>>();
        let (done, stopped) = oneshot::channel();
        // A thread and runtime of its own: on the server's runtime the writer's task woke
        // behind every request task queued there, after each of its trips to SQLite's
        // thread, and the writes of a whole batch waited with it. The runtime is built on
        // that thread: one dropped inside the server's runtime would panic.
        std::thread::Builder::new()
            .name("scim-writer".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = started.send(Err(err));
                        return;
                    }
                };
                let _ = started.send(Ok(()));
                let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    runtime.block_on(writer.run(receiver));
                }));
                let _ = done.send(ran.map_err(|panic| panic_text(panic.as_ref())));
            })
            .map_err(|err| cannot_start(&err))?;
        match ready.await {
            Ok(Ok(())) => Ok(Self {
                sender: std::sync::RwLock::new(Some(sender)),
                stopped: tokio::sync::Mutex::new(Some(stopped)),
            }),
            Ok(Err(err)) => Err(cannot_start(&err)),
            Err(_) => Err(cannot_start(&"its thread ended")),
        }
    }

    /// Runs `work` in the next batch and answers once that batch has ended (for a write,
    /// once it is durably committed); `settled` sees the outcome first, in the writer's
    /// task (see `WriteSlot::send`).
    pub async fn write<T, F>(
        &self,
        effect: Effect,
        work: F,
        settled: impl FnOnce(&Result<T, Error>) + Send + 'static,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, Error>>();
        self.reserve()?.send_as(effect, work, move |outcome| {
            settled(&outcome);
            // The caller may have gone away; its write stands or falls with the batch.
            let _ = reply.send(outcome);
        });
        answer.await.unwrap_or_else(|_| {
            Err(Error::unavailable(
                "the write was not carried out; retry",
                QUEUE_FULL_RETRY_SECS,
            ))
        })
    }

    /// A place in the queue for one write, taken before the write is handed over: a caller
    /// whose write holds answers for others (`coalesce.rs`) learns that the queue is full
    /// while it still has them.
    pub(super) fn reserve(&self) -> Result<WriteSlot, Error> {
        let sender = self
            .sender
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(sender) = sender.as_ref() else {
            return Err(Error::unavailable(
                "the server is shutting down",
                QUEUE_FULL_RETRY_SECS,
            ));
        };
        sender
            .clone()
            .try_reserve_owned()
            .map(WriteSlot)
            .map_err(|err| match err {
                mpsc::error::TrySendError::Full(_) => Error::unavailable(
                    "too many writes are waiting; retry shortly",
                    QUEUE_FULL_RETRY_SECS,
                ),
                mpsc::error::TrySendError::Closed(_) => {
                    Error::unavailable("the writer has stopped", QUEUE_FULL_RETRY_SECS)
                }
            })
    }

    /// Writes waiting for the writer.
    pub fn queued(&self) -> usize {
        self.sender
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map_or(0, |sender| sender.max_capacity() - sender.capacity())
    }

    /// Refuses new writes, lets the writer finish everything already queued, and waits for it.
    pub async fn close(&self) {
        self.sender
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(stopped) = self.stopped.lock().await.take() {
            match stopped.await {
                Ok(Ok(())) => {}
                Ok(Err(panic)) => tracing::error!(panic = %panic, "the database writer failed"),
                Err(_) => tracing::error!("the database writer failed"),
            }
        }
    }
}

fn cannot_start(err: &dyn std::fmt::Display) -> Error {
    Error::Internal(anyhow::anyhow!("cannot start the database writer: {err}"))
}

/// What a panic said, when it said it with a string.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// Runs a job's `finish` (which runs its caller's hooks, `Storage::write_then`): a panic
/// there must not stop the writer, which every later write waits for.
fn answer(finish: Finish, batch_failure: Option<Error>) {
    if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| finish(batch_failure))) {
        tracing::error!(panic = %panic_text(panic.as_ref()), "what follows a write panicked");
    }
}

/// A reserved place in the writer's queue (`WriteQueue::reserve`).
pub(super) struct WriteSlot(mpsc::OwnedPermit<Job>);

impl WriteSlot {
    /// Runs `work` in the next batch; `then` gets its outcome in the writer's task once the
    /// batch has ended (committed or not), so nothing else has to be woken to pass it on.
    /// `then` must not block. A job dropped without running (the writer stopped) never
    /// calls it.
    pub fn send<T, F>(self, work: F, then: impl FnOnce(Result<T, Error>) + Send + 'static)
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
    {
        self.send_as(Effect::Writes, work, then);
    }

    fn send_as<T, F>(
        self,
        effect: Effect,
        work: F,
        then: impl FnOnce(Result<T, Error>) + Send + 'static,
    ) where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
    {
        let succeeded = match effect {
            Effect::Writes => Ran::Succeeded,
            Effect::ReadsOnly => Ran::Read,
        };
        let job: Job = Box::new(move |txn| {
            Box::pin(async move {
                let result = AssertUnwindSafe(work(txn))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(Error::Internal(anyhow::anyhow!("a write panicked"))));
                let ran = match &result {
                    Ok(_) => succeeded,
                    Err(err) if err.is_sqlite_constraint() => Ran::BrokeAConstraint,
                    Err(_) => Ran::Failed,
                };
                let finish: Finish = Box::new(move |batch_failure| {
                    then(match batch_failure {
                        Some(err) if ran == succeeded => Err(err),
                        _ => result,
                    });
                });
                (ran, finish)
            })
        });
        self.0.send(job);
    }
}

struct Writer {
    /// `None` after a failure until reopening succeeds.
    connection: Option<DatabaseConnection>,
    /// The next batch's transaction, begun ahead (see `hold`).
    ahead: Option<DatabaseTransaction>,
    hold: bool,
    opener: Opener,
    watch: Arc<TransactionWatch>,
    max_batch: usize,
    health: Arc<StorageHealth>,
    /// Told after every commit (see `checkpointer.rs`).
    committed: Option<Arc<Notify>>,
}

impl Writer {
    async fn run(mut self, mut receiver: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            let taken = if self.ahead.is_some() {
                match tokio::time::timeout(
                    HOLD_WHILE_IDLE,
                    receiver.recv_many(&mut batch, self.max_batch),
                )
                .await
                {
                    Ok(taken) => taken,
                    Err(_) => {
                        self.let_go().await;
                        receiver.recv_many(&mut batch, self.max_batch).await
                    }
                }
            } else {
                receiver.recv_many(&mut batch, self.max_batch).await
            };
            if taken == 0 {
                break;
            }
            crate::metrics::write_batch(batch.len());
            let started = std::time::Instant::now();
            self.commit(std::mem::take(&mut batch)).await;
            crate::metrics::writer_busy(started.elapsed());
        }
        self.let_go().await;
        if let Some(connection) = self.connection.take()
            && let Err(err) = connection.close().await
        {
            tracing::warn!(error = %err, "closing the write connection failed");
        }
    }

    async fn commit(&mut self, batch: Vec<Job>) {
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => match (self.opener)().await {
                Ok(connection) => connection,
                Err(err) => {
                    // Dropping the jobs answers their callers "not carried out".
                    self.health.failed(&err.to_string());
                    tracing::error!(error = %err, "cannot reopen the write connection");
                    return;
                }
            },
        };
        let mut finishes = Vec::with_capacity(batch.len());
        let ahead = self.ahead.take();
        let ran = async {
            let txn = match ahead {
                Some(txn) => txn,
                None => begin(&connection).await?,
            };
            run_batch(txn, self.hold, &self.watch, batch, &mut finishes).await
        }
        .await;
        match ran {
            Ok((stored, txn)) => {
                if stored {
                    self.health.succeeded();
                    if let Some(committed) = &self.committed {
                        committed.notify_one();
                    }
                }
                for finish in finishes {
                    answer(finish, None);
                }
                match txn {
                    Some(txn) => self.hold(connection, txn).await,
                    None => self.connection = Some(connection),
                }
            }
            Err(err) => {
                let reason = err.to_string();
                tracing::error!(error = %reason, writes = finishes.len(), "a write batch failed; nothing of it was stored");
                self.health.failed(&reason);
                discard(connection).await;
                for finish in finishes {
                    answer(finish, Some(Error::commit_failed()));
                }
            }
        }
    }

    /// Begins the next batch's transaction now, once this batch is answered: a write
    /// arriving finds it begun, one trip to SQLite's thread fewer on its path, and the
    /// connection is never given back to its pool between batches. `txn` has ended in
    /// SQLite (`end_batch`) but not for sea-orm and sqlx, which count it as still open;
    /// beginning again in SQLite makes the two agree.
    async fn hold(&mut self, connection: DatabaseConnection, txn: DatabaseTransaction) {
        match txn.execute_unprepared(BEGIN).await {
            Ok(_) => {
                self.ahead = Some(txn);
                self.connection = Some(connection);
            }
            Err(err) => {
                // Nothing is lost: the batch before has ended (committed, or rolled back
                // and answered so). The next batch starts on a fresh connection, as after a
                // failed batch.
                tracing::warn!(error = %err, "cannot begin the next write transaction ahead");
                drop(txn);
                discard(connection).await;
            }
        }
    }

    /// Ends the transaction held ahead (nothing was written in it), releasing SQLite's
    /// write lock.
    async fn let_go(&mut self) {
        if let Some(txn) = self.ahead.take()
            && let Err(err) = txn.commit().await
        {
            tracing::warn!(error = %err, "ending the write transaction held ahead failed");
            if let Some(connection) = self.connection.take() {
                discard(connection).await;
            }
        }
    }
}

/// What `BEGIN` the writer's transactions start with: the write lock at once, so a batch
/// never fails half-way for want of it.
const BEGIN: &str = "BEGIN IMMEDIATE";

async fn begin(connection: &DatabaseConnection) -> Result<DatabaseTransaction, Error> {
    Ok(connection
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?)
}

/// Closing a connection rolls back whatever it still holds open; the next batch starts on
/// a fresh one. Every transaction on it must have been dropped: closing waits until the
/// connection is back in its pool. (A transaction dropped after `end_batch` ended it in
/// SQLite leaves sqlx counting one still open; closing is also what keeps that connection
/// from being used again.)
async fn discard(connection: DatabaseConnection) {
    if let Err(err) = connection.close().await {
        tracing::warn!(error = %err, "closing the failed write connection failed");
    }
}

/// Runs every job in its own savepoint of one `BEGIN IMMEDIATE` transaction and commits
/// (`end_batch`). Pushes each run job's `Finish` into `finishes`; jobs never run are
/// dropped, which tells their callers the write was not carried out. A job alone in its
/// batch needs no savepoint: if it fails, the whole transaction is rolled back instead.
/// Whether anything was stored, and `txn` back when `keep` asks for it.
///
/// If SQLite rolled the transaction back on its own while a job ran, the batch fails:
/// what the jobs before wrote is gone, and committing would acknowledge lost writes. (What
/// a job wrote after that could not commit: the watch refuses every commit on the
/// connection until the batch ends.) Except for a job alone in its batch refused by a
/// constraint: it answers for itself, and the transaction just ends.
async fn run_batch(
    txn: DatabaseTransaction,
    keep: bool,
    watch: &TransactionWatch,
    mut batch: Vec<Job>,
    finishes: &mut Vec<Finish>,
) -> Result<(bool, Option<DatabaseTransaction>), Error> {
    // Only once the transaction holds the connection: on an in-memory database readers
    // share it, and a reader's rollback before then is no loss of this batch.
    let watched = watch.batch();
    let rolled_back = || {
        Error::Internal(anyhow::anyhow!(
            "the database rolled the write transaction back"
        ))
    };
    if batch.len() == 1
        && let Some(job) = batch.pop()
    {
        let (ran, finish) = job(&txn).await;
        finishes.push(finish);
        let end = match (ran, watched.still_open()) {
            (Ran::Succeeded, true) => End::Commit,
            // Nothing stored (a read), or the job failed.
            (_, true) => End::Rollback,
            // The job's own constraint ended the transaction, and the job answers for
            // itself: nothing of the batch was acknowledged, and storage has not failed.
            (Ran::BrokeAConstraint, false) => End::Gone,
            // A full disk, an I/O error: storage is failing.
            (_, false) => return Err(rolled_back()),
        };
        return Ok((ran == Ran::Succeeded, end_batch(txn, end, keep).await?));
    }
    // Savepoints of our own rather than nested transactions: a successful job's savepoint
    // is never released one by one (COMMIT releases them all), which saves a round trip to
    // SQLite's thread per write, the dominant cost of a write here.
    let mut stored = false;
    for (n, job) in batch.into_iter().enumerate() {
        txn.execute_unprepared(&format!("SAVEPOINT write_{n}"))
            .await?;
        let (ran, finish) = job(&txn).await;
        finishes.push(finish);
        stored |= ran == Ran::Succeeded;
        if !watched.still_open() {
            return Err(rolled_back());
        }
        if !matches!(ran, Ran::Succeeded | Ran::Read) {
            txn.execute_unprepared(&format!("ROLLBACK TO write_{n}"))
                .await?;
        }
    }
    let end = if stored { End::Commit } else { End::Rollback };
    Ok((stored, end_batch(txn, end, keep).await?))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Commit,
    Rollback,
    /// SQLite rolled the transaction back on its own.
    Gone,
}

/// Commits (timed: the commit is where a slow disk shows, the WAL is written and synced)
/// or rolls back. With `keep`, in SQLite only, and `txn` comes back to begin again
/// (`Writer::hold`); otherwise through sea-orm, which gives the connection back to its
/// pool.
async fn end_batch(
    txn: DatabaseTransaction,
    end: End,
    keep: bool,
) -> Result<Option<DatabaseTransaction>, Error> {
    let started = std::time::Instant::now();
    let kept = match (end, keep) {
        (End::Commit, true) => {
            txn.execute_unprepared("COMMIT").await?;
            Some(txn)
        }
        (End::Rollback, true) => {
            txn.execute_unprepared("ROLLBACK").await?;
            Some(txn)
        }
        (End::Commit, false) => {
            txn.commit().await?;
            None
        }
        (End::Rollback, false) => {
            txn.rollback().await?;
            None
        }
        (End::Gone, true) => Some(txn),
        (End::Gone, false) => {
            // Begun again only so that sea-orm's rollback finds a transaction to end, and
            // the connection goes back to its pool with none open.
            txn.execute_unprepared("BEGIN").await?;
            txn.rollback().await?;
            None
        }
    };
    if end == End::Commit {
        crate::metrics::write_commit(started.elapsed());
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::{ConnectionTrait, Statement};

    use crate::{
        config::StorageSettings,
        store::{
            Storage,
            test_writes::{busy_writer, execute, until},
        },
    };

    /// Storage on a database file (on an in-memory one the writer shares its connection).
    async fn on_file() -> (tempfile::TempDir, String, Storage) {
        let dir = tempfile::tempdir().expect("a directory");
        let url = crate::store::db::sqlite_url(&dir.path().join("scim.db"));
        let storage = Storage::open(&url, &StorageSettings::default())
            .await
            .expect("opens");
        (dir, url, storage)
    }

    /// The writer must not need the runtime of the requests it serves: there its task
    /// waited behind them after every trip to SQLite's thread.
    #[tokio::test]
    async fn the_writer_commits_while_the_callers_runtime_is_blocked() {
        let (_dir, _, storage) = on_file().await;
        // Opening used the write connection from this runtime, which sqlx then gives back
        // to its pool from here; a first write has it given back from the writer's.
        storage
            .write(|_| Box::pin(async { Ok(()) }))
            .await
            .expect("written");
        let (told, outcome) = std::sync::mpsc::channel();
        storage.write_in(
            storage.reserve_write().expect("room in the queue"),
            |txn| {
                Box::pin(async move {
                    let row = txn
                        .query_one_raw(Statement::from_string(
                            txn.get_database_backend(),
                            "SELECT 6 * 7 AS answer",
                        ))
                        .await?
                        .expect("a row");
                    Ok(row.try_get::<i32>("", "answer")?)
                })
            },
            move |result: Result<i32, crate::error::Error>| {
                let _ = told.send(result.map_err(|err| err.to_string()));
            },
        );
        // This test's runtime has one thread, and it is blocked here until the answer.
        let answered = outcome.recv_timeout(Duration::from_secs(30));
        assert_eq!(answered.expect("answered"), Ok(42));
        storage.close().await;
    }

    /// What table `once` holds, in order.
    async fn values_once(storage: &Storage) -> Vec<i32> {
        let rows = storage
            .reads()
            .query_all_raw(Statement::from_string(
                storage.reads().get_database_backend(),
                "SELECT x FROM once ORDER BY x",
            ))
            .await
            .expect("read");
        rows.iter()
            .map(|row| row.try_get::<i32>("", "x").expect("a number"))
            .collect()
    }

    /// Stores 1 in table `once`; a lone write that SQLite rolls back with its whole
    /// transaction for a constraint (`OR ROLLBACK`) gets its own error and leaves storage
    /// healthy; then 2 is stored.
    async fn lose_a_lone_write_then_write_on(storage: &Storage) {
        for sql in [
            "CREATE TABLE once (x UNIQUE)",
            "INSERT INTO once VALUES (1)",
        ] {
            storage.write(execute(sql)).await.expect("stored");
        }
        let lost = storage
            .write(execute("INSERT OR ROLLBACK INTO once VALUES (1)"))
            .await
            .expect_err("refused");
        assert!(
            matches!(&lost, crate::error::Error::Db(err) if err.to_string().contains("UNIQUE")),
            "its own error, not the batch's: {lost:?}"
        );
        assert_eq!(storage.write_problem(), None);
        storage
            .write(execute("INSERT INTO once VALUES (2)"))
            .await
            .expect("the writer goes on");
    }

    /// A write alone in its batch that SQLite rolled back with its whole transaction gets
    /// its own error; storage is not taken as failing for it (the transaction ended with
    /// the write, nothing else was in it), and the next write is stored.
    #[tokio::test]
    async fn a_write_that_lost_its_transaction_alone_leaves_the_next_one_stored() {
        let (_dir, url, storage) = on_file().await;
        lose_a_lone_write_then_write_on(&storage).await;
        storage.close().await;

        let reopened = Storage::open(&url, &StorageSettings::default())
            .await
            .expect("opens again");
        assert_eq!(values_once(&reopened).await, [1, 2]);
        reopened.close().await;
    }

    /// Creates table `kept`, then fails a write alone in its batch whose transaction
    /// storage lost (a full disk, an I/O error; here a `ROLLBACK` of its own, then an error).
    async fn create_kept_then_fail_a_lone_write(storage: &Storage) {
        storage
            .write(execute("CREATE TABLE kept (x)"))
            .await
            .expect("created");
        storage
            .write(|txn| {
                Box::pin(async move {
                    txn.execute_unprepared("ROLLBACK").await?;
                    Err::<(), _>(crate::error::Error::Internal(anyhow::anyhow!(
                        "disk I/O error, as SQLite would say"
                    )))
                })
            })
            .await
            .expect_err("failed");
    }

    /// A write alone in its batch whose transaction SQLite ended for another reason than a
    /// constraint (a full disk, an I/O error; here a `ROLLBACK` of its own, then an error)
    /// tells readiness that storage is failing; the next write goes through again.
    #[tokio::test]
    async fn a_lone_write_whose_transaction_storage_lost_marks_storage_failing() {
        let (_dir, _url, storage) = on_file().await;
        create_kept_then_fail_a_lone_write(&storage).await;
        assert!(storage.write_problem().is_some());
        storage
            .write(execute("INSERT INTO kept VALUES (1)"))
            .await
            .expect("writes go on");
        assert_eq!(storage.write_problem(), None);
        storage.close().await;
    }

    /// Work that stores nothing (a rehearsal, a read in the writer's order) succeeds while
    /// storage fails, but does not pass for a working write: readiness keeps the problem
    /// until a write is stored.
    #[tokio::test]
    async fn only_a_stored_write_tells_readiness_that_writes_work_again() {
        let (_dir, _url, storage) = on_file().await;
        create_kept_then_fail_a_lone_write(&storage).await;
        storage
            .rehearse(execute("INSERT INTO kept VALUES (1)"))
            .await
            .expect("rehearsed");
        storage
            .read_then(execute("SELECT x FROM kept"), |_| {})
            .await
            .expect("read");
        assert!(storage.write_problem().is_some());
        storage
            .write(execute("INSERT INTO kept VALUES (2)"))
            .await
            .expect("written");
        assert_eq!(storage.write_problem(), None);
        let kept = storage
            .reads()
            .query_all_raw(Statement::from_string(
                storage.reads().get_database_backend(),
                "SELECT x FROM kept",
            ))
            .await
            .expect("read");
        assert_eq!(kept.len(), 1, "the rehearsal stored nothing");
        storage.close().await;
    }

    /// A rehearsal batched with writes takes back only its own changes: the writes before
    /// and after it are stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rehearsal_batched_with_writes_takes_back_only_its_own() {
        let (_dir, _url, storage) = on_file().await;
        storage
            .write(execute("CREATE TABLE once (x)"))
            .await
            .expect("created");
        let busy = busy_writer(&storage).await;
        let queued = |n: usize| {
            let storage = storage.clone();
            until(move || storage.stats().queued_writes == n)
        };
        let before = tokio::spawn({
            let storage = storage.clone();
            async move { storage.write(execute("INSERT INTO once VALUES (1)")).await }
        });
        queued(1).await;
        let rehearsal = tokio::spawn({
            let storage = storage.clone();
            async move {
                storage
                    .rehearse(execute("INSERT INTO once VALUES (9)"))
                    .await
            }
        });
        queued(2).await;
        let after = tokio::spawn({
            let storage = storage.clone();
            async move { storage.write(execute("INSERT INTO once VALUES (2)")).await }
        });
        queued(3).await;
        busy.finish().await;
        for done in [before, rehearsal, after] {
            done.await.expect("no panic").expect("done");
        }
        assert_eq!(values_once(&storage).await, [1, 2]);
        storage.close().await;
    }

    /// The same on an in-memory database, where the writer holds no transaction ahead: the
    /// ended transaction is begun again only to be rolled back, and the shared connection
    /// goes on serving writes and reads.
    #[tokio::test]
    async fn in_memory_a_write_that_lost_its_transaction_alone_leaves_the_next_one_stored() {
        let storage = Storage::open("sqlite::memory:", &StorageSettings::default())
            .await
            .expect("opens");
        lose_a_lone_write_then_write_on(&storage).await;
        assert_eq!(values_once(&storage).await, [1, 2]);
        storage.close().await;
    }

    /// Between batches the writer holds the next transaction begun, and with it SQLite's
    /// write lock; with nothing to write it lets go, so that another connection (an
    /// operator's command, another process) can write.
    #[tokio::test]
    async fn another_connection_writes_once_the_writer_has_nothing_to_do() {
        let (_dir, url, storage) = on_file().await;
        let settings = StorageSettings::default();
        storage
            .write(execute("CREATE TABLE before (x)"))
            .await
            .expect("written");

        // Its busy handler waits up to 5 s for the lock, and fails after.
        let other =
            crate::store::db::connect_sqlite(&url, &settings, crate::store::db::SqliteRole::Writer)
                .await
                .expect("another connection");
        other
            .execute_unprepared("CREATE TABLE elsewhere (x)")
            .await
            .expect("the other connection gets the write lock");
        other.close().await.expect("closed");

        storage
            .write(execute("CREATE TABLE after (x)"))
            .await
            .expect("the writer begins again");
        for table in ["before", "elsewhere", "after"] {
            storage
                .reads()
                .execute_unprepared(&format!("SELECT x FROM {table}"))
                .await
                .expect("stored");
        }
        storage.close().await;
    }
}
