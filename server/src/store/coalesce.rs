//! Writes of one kind merged into one write job on the embedded database. Each SQL
//! statement costs a round trip to SQLite's thread (two thread wake-ups, the dominant cost
//! of a write there), so writes that arrive while the writer is busy are carried together
//! and their rows written by a few multi-row statements (`user_creates.rs`,
//! `member_changes.rs`).
//!
//! One write job at a time carries what is pending: the first write to find none scheduled
//! starts a task that submits it, and the job takes everything pending when it runs. That
//! task delivers the answers, only once the batch that carried them has committed.

use std::{
    future::Future,
    mem,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU8, Ordering},
    },
};

use sea_orm::{DatabaseTransaction, TransactionTrait};
use tokio::sync::oneshot;

use super::Storage;
use crate::error::{DATABASE_RETRY_SECS, Error};

/// What a merged run returns: one result per item, in the order given.
pub type Results<'t, R> = Pin<Box<dyn Future<Output = Vec<Result<R, Error>>> + Send + 't>>;

/// Writes a whole set of items inside the batch's transaction. One item that cannot be
/// written gets its error; its neighbours stand.
pub type Run<P, R> = for<'t> fn(&'t DatabaseTransaction, &'t Storage, Vec<P>) -> Results<'t, R>;

type Reply<R> = oneshot::Sender<Result<R, Error>>;

pub struct Coalesced<P, R> {
    state: Mutex<Queue<P, R>>,
    run: Run<P, R>,
}

struct Queue<P, R> {
    pending: Vec<(P, Reply<R>)>,
    /// A write job that will take `pending` is queued.
    scheduled: bool,
}

impl<P: Send + 'static, R: Send + 'static> Coalesced<P, R> {
    pub fn new(run: Run<P, R>) -> Self {
        Self {
            state: Mutex::new(Queue {
                pending: Vec::new(),
                scheduled: false,
            }),
            run,
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue<P, R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `item` with whatever else is pending; answers once that is committed.
    pub async fn submit(self: &Arc<Self>, db: &Storage, item: P) -> Result<R, Error> {
        let (reply, answer) = oneshot::channel();
        let schedule = {
            let mut queue = self.queue();
            queue.pending.push((item, reply));
            !mem::replace(&mut queue.scheduled, true)
        };
        if schedule {
            // A task of its own: carried by a request whose client went away, the answers
            // of every write in the job would be dropped with it, committed or not. The
            // guard exists before the task does, so a task dropped before it ever ran
            // (a stopping runtime) is covered too.
            let carrier = Carrier::new(Arc::clone(self));
            let db = db.clone();
            tokio::spawn(async move { carrier.carry(&db).await });
        }
        answer.await.unwrap_or_else(|_| Err(Error::commit_failed()))
    }

    /// Everything pending, if `decide` (run under the queue's lock) says to take it; the
    /// next write then schedules a job of its own.
    fn take_pending(&self, decide: impl FnOnce() -> bool) -> Vec<(P, Reply<R>)> {
        let mut queue = self.queue();
        if !decide() {
            return Vec::new();
        }
        queue.scheduled = false;
        mem::take(&mut queue.pending)
    }
}

fn fail<P, R>(writes: Vec<(P, Reply<R>)>, reason: &str, retry_after: u64) {
    for (_, reply) in writes {
        let _ = reply.send(Err(Error::unavailable(reason, retry_after)));
    }
}

/// What became of a carrier's job, changed only under the queue's lock.
const WAITING: u8 = 0;
/// The job took what was pending; the carrier delivers the answers.
const TAKEN: u8 = 1;
/// The carrier was dropped before its job ran; the job, if it still runs, takes nothing.
const GONE: u8 = 2;

/// The task that submits the job taking everything pending, and delivers the answers once
/// its batch committed. (If the batch failed, the answers are dropped, which tells each
/// waiting write that nothing was stored.)
struct Carrier<P: Send + 'static, R: Send + 'static> {
    queue: Arc<Coalesced<P, R>>,
    job: Arc<AtomicU8>,
    finished: bool,
}

impl<P: Send + 'static, R: Send + 'static> Carrier<P, R> {
    fn new(queue: Arc<Coalesced<P, R>>) -> Self {
        Self {
            queue,
            job: Arc::new(AtomicU8::new(WAITING)),
            finished: false,
        }
    }

    async fn carry(mut self, db: &Storage) {
        let this = Arc::clone(&self.queue);
        let job = Arc::clone(&self.job);
        let storage = db.clone();
        let outcome = db
            .write(move |txn| {
                Box::pin(async move {
                    let taken = this.take_pending(|| {
                        job.compare_exchange(WAITING, TAKEN, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                    });
                    let (items, replies): (Vec<P>, Vec<Reply<R>>) = taken.into_iter().unzip();
                    let results = (this.run)(txn, &storage, items).await;
                    debug_assert_eq!(results.len(), replies.len());
                    Ok(replies.into_iter().zip(results).collect::<Vec<_>>())
                })
            })
            .await;
        self.finished = true;
        match outcome {
            Ok(deliveries) => {
                for (reply, result) in deliveries {
                    let _ = reply.send(result);
                }
            }
            Err(err) if self.job.load(Ordering::SeqCst) == WAITING => {
                // Never ran (the queue was full, the server is stopping): nothing else will
                // take what is pending, so answer it here.
                let retry_after = match &err {
                    Error::Unavailable { retry_after, .. } => *retry_after,
                    _ => DATABASE_RETRY_SECS,
                };
                let failed = self.queue.take_pending(|| true);
                fail(failed, &err.to_string(), retry_after);
            }
            Err(_) => {}
        }
    }
}

impl<P: Send + 'static, R: Send + 'static> Drop for Carrier<P, R> {
    /// Dropped unfinished (the runtime is stopping) before its job took what is pending,
    /// the carrier would leave `scheduled` set, and every later write of this kind waiting
    /// for a job that never comes. Dropped after its job took it, the answers of that job
    /// are lost with it: those writes are told nothing was stored, whatever became of them.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let failed = self.queue.take_pending(|| {
            self.job
                .compare_exchange(WAITING, GONE, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        });
        fail(
            failed,
            "the server is stopping; the write was not carried out",
            DATABASE_RETRY_SECS,
        );
    }
}

/// Ends `savepoint` by `outcome`: kept if the work in it succeeded, rolled back if it failed.
/// Merged writes fall back to one savepoint per write, so that one failure stays its own.
pub async fn settle<T>(
    savepoint: DatabaseTransaction,
    outcome: Result<T, Error>,
) -> Result<T, Error> {
    match outcome {
        Ok(value) => {
            savepoint.commit().await?;
            Ok(value)
        }
        Err(err) => {
            savepoint.rollback().await?;
            Err(err)
        }
    }
}

/// A savepoint of `txn`, to be ended by `settle`.
pub async fn savepoint(txn: &DatabaseTransaction) -> Result<DatabaseTransaction, Error> {
    Ok(txn.begin().await?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::StorageSettings;

    fn accept_all<'t>(
        _: &'t DatabaseTransaction,
        _: &'t Storage,
        items: Vec<u32>,
    ) -> Results<'t, u32> {
        Box::pin(async move { items.into_iter().map(Ok).collect() })
    }

    async fn until(mut condition: impl FnMut() -> bool) {
        for _ in 0..1000 {
            if condition() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the condition never held");
    }

    /// A write that keeps the writer busy until `finish`, so that jobs queue behind it.
    struct Busy {
        release: oneshot::Sender<()>,
        write: tokio::task::JoinHandle<Result<(), Error>>,
    }

    impl Busy {
        async fn finish(self) {
            self.release.send(()).expect("the busy write waits");
            self.write.await.expect("no panic").expect("written");
        }
    }

    async fn busy_storage() -> (Storage, Busy) {
        let storage = Storage::open("sqlite::memory:", &StorageSettings::default())
            .await
            .expect("opens");
        let (started, running) = oneshot::channel::<()>();
        let (release, gate) = oneshot::channel::<()>();
        let write = tokio::spawn({
            let storage = storage.clone();
            async move {
                storage
                    .write(move |_| {
                        Box::pin(async move {
                            let _ = started.send(());
                            let _ = gate.await;
                            Ok(())
                        })
                    })
                    .await
            }
        });
        running.await.expect("the busy write runs");
        (storage, Busy { release, write })
    }

    #[tokio::test]
    async fn a_write_is_answered_when_the_one_that_scheduled_its_job_has_gone() {
        let (storage, busy) = busy_storage().await;

        let merged = Arc::new(Coalesced::new(accept_all as Run<u32, u32>));
        let scheduler = tokio::spawn({
            let (merged, storage) = (Arc::clone(&merged), storage.clone());
            async move { merged.submit(&storage, 1).await }
        });
        until(|| storage.stats().queued_writes == 1).await;
        let joiner = tokio::spawn({
            let (merged, storage) = (Arc::clone(&merged), storage.clone());
            async move { merged.submit(&storage, 2).await }
        });
        until(|| merged.queue().pending.len() == 2).await;

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

    /// A write waiting for a job, with its carrier: as `submit` leaves them.
    fn waiting_write(
        merged: &Arc<Coalesced<u32, u32>>,
    ) -> (Carrier<u32, u32>, oneshot::Receiver<Result<u32, Error>>) {
        let (reply, answer) = oneshot::channel();
        {
            let mut queue = merged.queue();
            queue.pending.push((1, reply));
            queue.scheduled = true;
        }
        (Carrier::new(Arc::clone(merged)), answer)
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
    async fn a_carrier_dropped_before_it_ran_fails_what_waits() {
        let merged = Arc::new(Coalesced::new(accept_all as Run<u32, u32>));
        let (carrier, answer) = waiting_write(&merged);
        // As a stopping runtime drops a task it never polled.
        drop(carrier);
        told_nothing_was_stored(answer).await;
        assert!(!merged.queue().scheduled, "the next write schedules a job");
    }

    #[tokio::test]
    async fn a_job_whose_carrier_is_gone_takes_nothing_and_later_writes_go_through() {
        let (storage, busy) = busy_storage().await;
        let merged = Arc::new(Coalesced::new(accept_all as Run<u32, u32>));
        let (carrier, answer) = waiting_write(&merged);
        let carrier = tokio::spawn({
            let storage = storage.clone();
            async move { carrier.carry(&storage).await }
        });
        until(|| storage.stats().queued_writes == 1).await;
        carrier.abort();
        assert!(carrier.await.is_err_and(|err| err.is_cancelled()));
        told_nothing_was_stored(answer).await;

        // A later write queues its own job behind the abandoned one, which runs first: if it
        // took the write, nobody would deliver its answer.
        let later = tokio::spawn({
            let (merged, storage) = (Arc::clone(&merged), storage.clone());
            async move { merged.submit(&storage, 2).await }
        });
        until(|| storage.stats().queued_writes == 2).await;
        busy.finish().await;
        let later = tokio::time::timeout(Duration::from_secs(10), later)
            .await
            .expect("a later write is carried")
            .expect("no panic");
        assert_eq!(later.expect("written"), 2);
    }
}
