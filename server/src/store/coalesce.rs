//! Writes of one kind merged into one write job. On the embedded database each SQL
//! statement costs a round trip to SQLite's thread (two thread wake-ups, the dominant cost
//! of a write there), so writes that arrive while the writer is busy are carried together
//! and their rows written by a few multi-row statements (`user_creates.rs`,
//! `member_changes.rs`). On PostgreSQL a job is a transaction of its own on the pool, in a
//! task of its own, and carries one tenant's writes.
//!
//! One write job at a time waits to carry what is pending: the first write to find none
//! scheduled schedules it, and the job takes everything pending when it runs. The job's
//! task delivers the answers, only once the batch that carried them has committed: on the
//! embedded database that is the writer's own task, and no other task is woken in between
//! (each wake-up is a thread hand-off there, as costly as a statement).

use std::{
    collections::HashMap,
    future::Future,
    mem,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use sea_orm::{DatabaseTransaction, TransactionTrait};
use tokio::sync::oneshot;

use super::{Storage, events, storage::WritePlace};
use crate::error::{DATABASE_RETRY_SECS, Error};

/// What follows an item's write once its batch has ended, in the job's task (the writer's,
/// on the embedded database), before the item's caller is answered: also when that caller
/// has gone away (`Storage::write_then`). If the whole batch or the whole merged run
/// failed, it is called once, with that failure.
pub type Settled<R> = fn(&Storage, &Result<R, Error>);

/// What a merged run returns: one result per item, in the order given; or, when the run
/// can no longer tell what its transaction holds (a failure could not be rolled back to
/// its savepoint), why: then nothing the run did stands, and every item is answered as
/// not stored.
pub type Results<'t, R> =
    Pin<Box<dyn Future<Output = Result<Vec<Result<R, Error>>, Error>> + Send + 't>>;

/// Writes a whole set of items inside the batch's transaction. One item that cannot be
/// written gets its error; its neighbours stand, unless the run fails as a whole (see
/// `Results`).
pub type Run<P, R> = for<'t> fn(&'t DatabaseTransaction, &'t Storage, Vec<P>) -> Results<'t, R>;

type Reply<R> = oneshot::Sender<Result<R, Error>>;

/// A job's answers, each with the write waiting for it.
type Deliveries<R> = Vec<(Reply<R>, Result<R, Error>)>;

pub struct Coalesced<P, R> {
    lanes: Mutex<HashMap<String, Queue<P, R>>>,
    run: Run<P, R>,
    settled: Settled<R>,
}

/// Writes waiting in one lane: the embedded database has one (its writer runs one job at a
/// time anyway), PostgreSQL one per tenant, so that one tenant's job never waits for
/// another's locks.
struct Queue<P, R> {
    pending: Vec<(P, Reply<R>)>,
    /// A write job that will take `pending` is scheduled (see `Hold`).
    scheduled: bool,
}

impl<P, R> Default for Queue<P, R> {
    fn default() -> Self {
        Self {
            pending: Vec::new(),
            scheduled: false,
        }
    }
}

/// How long a job holds its lane.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Until it runs: the writer runs one job at a time, so the next one may be queued
    /// behind it at once.
    UntilItRuns,
    /// Until it has ended (PostgreSQL, where jobs run side by side): what arrives meanwhile
    /// waits for the next job, which starts when this one ends. Otherwise every create
    /// would start a job of its own, each waiting for the tenant's lock.
    UntilItEnds,
}

impl<P: Send + 'static, R: Send + 'static> Coalesced<P, R> {
    pub fn new(run: Run<P, R>, settled: Settled<R>) -> Self {
        Self {
            lanes: Mutex::default(),
            run,
            settled,
        }
    }

    fn lanes(&self) -> MutexGuard<'_, HashMap<String, Queue<P, R>>> {
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `item` for `tenant_id` with whatever else is pending in its lane; answers once
    /// that is committed.
    pub async fn submit(
        self: &Arc<Self>,
        db: &Storage,
        tenant_id: &str,
        item: P,
    ) -> Result<R, Error> {
        let lane = if db.merges_per_tenant() {
            tenant_id.to_owned()
        } else {
            String::new()
        };
        let (reply, answer) = oneshot::channel();
        let schedule = {
            let mut lanes = self.lanes();
            let queue = lanes.entry(lane.clone()).or_default();
            queue.pending.push((item, reply));
            !mem::replace(&mut queue.scheduled, true)
        };
        if schedule {
            self.schedule(db, lane);
        }
        answer.await.unwrap_or_else(|_| Err(Error::commit_failed()))
    }

    /// Queues the job that takes everything pending in `lane` when it runs. Its place is
    /// reserved first, so that a full queue fails what is pending here, with the reason.
    /// Queued, the job no longer depends on the request that scheduled it: that client may
    /// go away.
    fn schedule(self: &Arc<Self>, db: &Storage, lane: String) {
        let place = match db.reserve_write() {
            Ok(place) => place,
            Err(err) => {
                let retry_after = match &err {
                    Error::Unavailable { retry_after, .. } => *retry_after,
                    _ => DATABASE_RETRY_SECS,
                };
                fail(self.leave(&lane), &err.to_string(), retry_after);
                return;
            }
        };
        let hold = match place {
            WritePlace::Queued(_) => Hold::UntilItRuns,
            WritePlace::Pooled(_) => Hold::UntilItEnds,
        };
        let unrun = Unrun::new(Arc::clone(self), lane.clone(), hold);
        let storage = db.clone();
        let (settled, settling) = (self.settled, db.clone());
        let next = Arc::clone(self);
        // The replies of a job that failed as a whole, kept until its batch has ended.
        let unanswered: Arc<Mutex<Vec<Reply<R>>>> = Arc::default();
        let keep = Arc::clone(&unanswered);
        // Whether the job ran: one that did not has left its lane already (`Unrun`).
        let ran = Arc::new(AtomicBool::new(false));
        let running = Arc::clone(&ran);
        db.write_in(
            place,
            move |txn| {
                Box::pin(async move {
                    let mut unrun = unrun;
                    running.store(true, Ordering::Relaxed);
                    let taken = unrun.run();
                    let (items, replies): (Vec<P>, Vec<Reply<R>>) = taken.into_iter().unzip();
                    // An error here has the writer roll back all the job wrote (its
                    // savepoint, or the whole batch).
                    let run = (unrun.queue.run)(txn, &storage, items);
                    let written = match hold {
                        Hold::UntilItRuns => run.await,
                        // Jobs side by side on PostgreSQL take the tenant's event lock with
                        // their last statement (see `events::held_to_the_end`).
                        Hold::UntilItEnds => events::held_to_the_end(txn, run).await,
                    };
                    let results = match written {
                        Ok(results) => results,
                        Err(lost) => {
                            *keep.lock().unwrap_or_else(PoisonError::into_inner) = replies;
                            return Err(lost);
                        }
                    };
                    debug_assert_eq!(results.len(), replies.len());
                    Ok(replies.into_iter().zip(results).collect::<Deliveries<R>>())
                })
            },
            // If the job or its batch failed, the answers are dropped, once `settled` has
            // heard of the failure: that tells each waiting write that nothing was stored.
            move |delivered: Result<Deliveries<R>, Error>| {
                // Also if what follows the write panics: the lane must not wait forever.
                let _ended =
                    (hold == Hold::UntilItEnds && ran.load(Ordering::Relaxed)).then(|| Ended {
                        queue: next,
                        db: settling.clone(),
                        lane,
                    });
                match delivered {
                    Ok(delivered) => {
                        for (reply, result) in delivered {
                            settled(&settling, &result);
                            let _ = reply.send(result);
                        }
                    }
                    Err(failed) => {
                        settled(&settling, &Err(failed));
                        drop(mem::take(
                            &mut *unanswered.lock().unwrap_or_else(PoisonError::into_inner),
                        ));
                    }
                }
            },
        );
    }

    /// A job holding its lane until it ends has ended: the next one takes what came
    /// meanwhile, if anything did.
    fn ended(self: &Arc<Self>, db: &Storage, lane: String) {
        let more = {
            let mut lanes = self.lanes();
            let more = lanes
                .get(&lane)
                .is_some_and(|queue| !queue.pending.is_empty());
            if !more {
                lanes.remove(&lane);
            }
            more
        };
        if more {
            self.schedule(db, lane);
        }
    }

    /// What is pending in `lane`, which a job now carries (see `Hold`): everything, or, for
    /// a job that holds its lane until it ends, the first `MOST_IN_ONE_JOB` (the next job
    /// takes the rest).
    fn take(&self, lane: &str, hold: Hold) -> Vec<(P, Reply<R>)> {
        match hold {
            Hold::UntilItRuns => self.leave(lane),
            Hold::UntilItEnds => self
                .lanes()
                .get_mut(lane)
                .map(|queue| {
                    let taken = queue.pending.len().min(MOST_IN_ONE_JOB);
                    queue.pending.drain(..taken).collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Everything pending in `lane`, which no job holds any more: the next write schedules
    /// a job of its own.
    fn leave(&self, lane: &str) -> Vec<(P, Reply<R>)> {
        self.lanes()
            .remove(lane)
            .map(|queue| queue.pending)
            .unwrap_or_default()
    }
}

fn fail<P, R>(writes: Vec<(P, Reply<R>)>, reason: &str, retry_after: u64) {
    for (_, reply) in writes {
        let _ = reply.send(Err(Error::unavailable(reason, retry_after)));
    }
}

/// Most writes one job takes while it holds its lane until it ends: a tenant's creates go
/// in one multi-row statement, at 12 parameters a row, and PostgreSQL takes 65,535 at most.
const MOST_IN_ONE_JOB: usize = 1024;

/// Ends a job's hold on its lane once dropped (`Coalesced::ended`).
struct Ended<P: Send + 'static, R: Send + 'static> {
    queue: Arc<Coalesced<P, R>>,
    db: Storage,
    lane: String,
}

impl<P: Send + 'static, R: Send + 'static> Drop for Ended<P, R> {
    fn drop(&mut self) {
        self.queue.ended(&self.db, mem::take(&mut self.lane));
    }
}

/// A queued job's hold on its lane. Dropped without having run (the writer stopped before
/// it, or could not open its connection; PostgreSQL gave it no transaction), it fails what
/// is pending and lets the next write schedule a job: otherwise the lane would stay
/// scheduled, and every later write in it would wait for a job that never comes.
struct Unrun<P: Send + 'static, R: Send + 'static> {
    queue: Arc<Coalesced<P, R>>,
    lane: String,
    hold: Hold,
    ran: bool,
}

impl<P: Send + 'static, R: Send + 'static> Unrun<P, R> {
    fn new(queue: Arc<Coalesced<P, R>>, lane: String, hold: Hold) -> Self {
        Self {
            queue,
            lane,
            hold,
            ran: false,
        }
    }

    /// The job runs: it takes everything pending in its lane.
    fn run(&mut self) -> Vec<(P, Reply<R>)> {
        self.ran = true;
        self.queue.take(&self.lane, self.hold)
    }
}

impl<P: Send + 'static, R: Send + 'static> Drop for Unrun<P, R> {
    fn drop(&mut self) {
        if !self.ran {
            fail(
                self.queue.leave(&self.lane),
                "the write was not carried out (the server is stopping, or the database cannot be reached); retry",
                DATABASE_RETRY_SECS,
            );
        }
    }
}

/// Ends `savepoint` by `outcome`: kept if the work in it succeeded, rolled back if it failed.
/// Merged writes fall back to one savepoint per write, so that one failure stays its own.
/// The outer error when the savepoint could not be ended: what the transaction holds is
/// then unknown, and the run must fail as a whole (see `Results`).
pub async fn settle<T>(
    savepoint: DatabaseTransaction,
    outcome: Result<T, Error>,
) -> Result<Result<T, Error>, Error> {
    let ended = match &outcome {
        Ok(_) => savepoint.commit().await,
        Err(_) => savepoint.rollback().await,
    };
    match ended {
        Ok(()) => Ok(outcome),
        Err(lost) => {
            tracing::error!(error = %lost, "a merged write's savepoint could not be ended; its transaction is taken as gone");
            Err(Error::commit_failed())
        }
    }
}

/// A savepoint of `txn`, to be ended by `settle`. Failing to open one is failing as a
/// whole (see `Results`): the transaction is in a state SQLite would not build on.
pub async fn savepoint(txn: &DatabaseTransaction) -> Result<DatabaseTransaction, Error> {
    Ok(txn.begin().await?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use sea_orm::ConnectionTrait;

    use crate::{
        config::StorageSettings,
        store::test_writes::{Busy, busy_writer, execute, until},
    };

    fn accept_all<'t>(
        _: &'t DatabaseTransaction,
        _: &'t Storage,
        items: Vec<u32>,
    ) -> Results<'t, u32> {
        Box::pin(async move { Ok(items.into_iter().map(Ok).collect()) })
    }

    /// Writes a row, then cannot tell what its transaction holds.
    fn write_then_lose_track<'t>(
        txn: &'t DatabaseTransaction,
        _: &'t Storage,
        _: Vec<u32>,
    ) -> Results<'t, u32> {
        Box::pin(async move {
            txn.execute_unprepared("INSERT INTO kept VALUES (1)")
                .await?;
            Err(Error::commit_failed())
        })
    }

    impl<P: Send + 'static, R: Send + 'static> Coalesced<P, R> {
        /// Writes pending in the embedded database's one lane.
        fn pending(&self) -> usize {
            self.lanes().get("").map_or(0, |queue| queue.pending.len())
        }

        fn scheduled(&self) -> bool {
            self.lanes().get("").is_some_and(|queue| queue.scheduled)
        }
    }

    async fn busy_storage() -> (Storage, Busy) {
        let storage = Storage::open("sqlite::memory:", &StorageSettings::default())
            .await
            .expect("opens");
        let busy = busy_writer(&storage).await;
        (storage, busy)
    }

    #[tokio::test]
    async fn a_write_is_answered_when_the_one_that_scheduled_its_job_has_gone() {
        let (storage, busy) = busy_storage().await;

        let merged = Arc::new(Coalesced::new(accept_all as Run<u32, u32>, |_, _| {}));
        let scheduler = tokio::spawn({
            let (merged, storage) = (Arc::clone(&merged), storage.clone());
            async move { merged.submit(&storage, "t", 1).await }
        });
        until(|| storage.stats().queued_writes == 1).await;
        let joiner = tokio::spawn({
            let (merged, storage) = (Arc::clone(&merged), storage.clone());
            async move { merged.submit(&storage, "t", 2).await }
        });
        until(|| merged.pending() == 2).await;

        // The client of the write that scheduled the job goes away.
        scheduler.abort();
        assert!(scheduler.await.is_err_and(|err| err.is_cancelled()));
        busy.finish().await;
        assert_eq!(
            joiner
                .await
                .expect("no panic")
                .expect("answered with its result"),
            2
        );
    }

    async fn create_kept(storage: &Storage) {
        storage
            .write(execute("CREATE TABLE kept (x)"))
            .await
            .expect("created");
    }

    async fn values_kept(storage: &Storage) -> Vec<i32> {
        storage
            .reads()
            .query_all_raw(sea_orm::Statement::from_string(
                storage.reads().get_database_backend(),
                "SELECT x FROM kept ORDER BY x",
            ))
            .await
            .expect("read")
            .iter()
            .map(|row| row.try_get::<i32>("", "x").expect("a number"))
            .collect()
    }

    /// A run that loses track of its transaction leaves nothing it wrote, and each of its
    /// items is told that nothing was stored; a write batched with it is stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_that_loses_track_of_its_transaction_stores_nothing() {
        let storage = Storage::open("sqlite::memory:", &StorageSettings::default())
            .await
            .expect("opens");
        create_kept(&storage).await;
        let busy = busy_writer(&storage).await;
        let neighbour = tokio::spawn({
            let storage = storage.clone();
            async move { storage.write(execute("INSERT INTO kept VALUES (7)")).await }
        });
        until(|| storage.stats().queued_writes == 1).await;
        let merged = Arc::new(Coalesced::new(
            write_then_lose_track as Run<u32, u32>,
            |_, _| {},
        ));
        let answers = tokio::spawn({
            let (merged, storage) = (Arc::clone(&merged), storage.clone());
            async move {
                futures_util::future::join_all((0..3).map(|n| merged.submit(&storage, "t", n)))
                    .await
            }
        });
        until(|| merged.pending() == 3).await;
        busy.finish().await;
        for answer in answers.await.expect("no panic") {
            assert!(
                matches!(answer, Err(Error::Unavailable { .. })),
                "{answer:?}"
            );
        }
        neighbour.await.expect("no panic").expect("stored");
        assert_eq!(values_kept(&storage).await, [7], "only the neighbour's row");
        storage.close().await;
    }

    /// A savepoint that cannot be ended (here released behind its back) leaves what the
    /// transaction holds unknown: `settle` says so with its outer error, which fails the
    /// whole write, rather than answering the item alone while its row stays to be
    /// committed.
    #[tokio::test]
    async fn a_savepoint_that_cannot_be_ended_loses_track_of_the_transaction() {
        // On a file: in memory, readers share the write connection, which the writer
        // discards when it cannot end the transaction as sqlx counts it.
        let dir = tempfile::tempdir().expect("a directory");
        let url = crate::store::db::sqlite_url(&dir.path().join("scim.db"));
        let storage = Storage::open(&url, &StorageSettings::default())
            .await
            .expect("opens");
        create_kept(&storage).await;
        let lost = storage
            .write(|txn| {
                Box::pin(async move {
                    let inner = savepoint(txn).await?;
                    inner
                        .execute_unprepared("INSERT INTO kept VALUES (1)")
                        .await?;
                    inner
                        .execute_unprepared("RELEASE _sqlx_savepoint_1")
                        .await?;
                    let failed = Err::<(), _>(Error::Internal(anyhow::anyhow!("failed")));
                    let item = settle(inner, failed).await?;
                    assert!(item.is_err());
                    Ok(())
                })
            })
            .await;
        assert!(matches!(lost, Err(Error::Unavailable { .. })), "{lost:?}");
        assert!(
            values_kept(&storage).await.is_empty(),
            "nothing of the write was stored"
        );
        storage.close().await;
    }

    /// A write waiting for a job, with the job's hold on it: as `schedule` leaves them.
    fn waiting_write(
        merged: &Arc<Coalesced<u32, u32>>,
    ) -> (Unrun<u32, u32>, oneshot::Receiver<Result<u32, Error>>) {
        let (reply, answer) = oneshot::channel();
        {
            let mut lanes = merged.lanes();
            let queue = lanes.entry(String::new()).or_default();
            queue.pending.push((1, reply));
            queue.scheduled = true;
        }
        (
            Unrun::new(Arc::clone(merged), String::new(), Hold::UntilItRuns),
            answer,
        )
    }

    async fn told_nothing_was_stored(answer: oneshot::Receiver<Result<u32, Error>>) {
        let waited = tokio::time::timeout(Duration::from_secs(10), answer)
            .await
            .expect("answered without waiting for the writer")
            .expect("answered, not dropped");
        assert!(
            matches!(waited, Err(Error::Unavailable { .. })),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn a_job_dropped_before_it_ran_fails_what_waits() {
        let merged = Arc::new(Coalesced::new(accept_all as Run<u32, u32>, |_, _| {}));
        let (unrun, answer) = waiting_write(&merged);
        // As a writer that stops, or cannot open its connection, drops the jobs it holds.
        drop(unrun);
        told_nothing_was_stored(answer).await;
        assert!(!merged.scheduled(), "the next write schedules a job");
    }

    /// With the writer's queue full, the job cannot be queued: what waits is told why at
    /// once, and a later write schedules a job of its own.
    #[tokio::test]
    async fn a_full_queue_fails_what_waits_and_later_writes_go_through() {
        let settings = StorageSettings {
            write_queue_capacity: 1,
            ..StorageSettings::default()
        };
        let storage = Storage::open("sqlite::memory:", &settings)
            .await
            .expect("opens");
        let busy = busy_writer(&storage).await;
        let queued = tokio::spawn({
            let storage = storage.clone();
            async move { storage.write(|_| Box::pin(async { Ok(()) })).await }
        });
        until(|| storage.stats().queued_writes == 1).await;

        let merged = Arc::new(Coalesced::new(accept_all as Run<u32, u32>, |_, _| {}));
        let refused = tokio::spawn({
            let (merged, storage) = (Arc::clone(&merged), storage.clone());
            async move { merged.submit(&storage, "t", 1).await }
        });
        let refused = tokio::time::timeout(Duration::from_secs(10), refused)
            .await
            .expect("answered without waiting for the writer")
            .expect("no panic");
        assert!(
            matches!(&refused, Err(Error::Unavailable { retry_after: 1, .. })),
            "{refused:?}"
        );
        assert!(!merged.scheduled(), "the next write schedules a job");

        busy.finish().await;
        queued.await.expect("no panic").expect("written");
        assert_eq!(merged.submit(&storage, "t", 2).await.expect("written"), 2);
    }
}
