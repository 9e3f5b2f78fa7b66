//! The queue between requests and the log's table. `record` never waits: past the queue's
//! capacity an entry is dropped and counted. One task takes whatever is queued (up to a
//! batch, waiting `LINGER` for it to fill) and inserts it in one statement; on shutdown it
//! writes everything queued before it stops.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use entity::activity_entry;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait, QueryTrait,
    Statement,
};
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};

use crate::{
    config::ActivitySettings,
    store::{Storage, chunks::chunks, notify},
};

/// How long the first entry of a batch waits for others to join it. A log entry is nobody's
/// acknowledgement, yet writing each one as it came cost a commit (and on SQLite an fsync)
/// per request, which the next request's own write then waited behind: sequential creates
/// took 1.7 ms instead of 1.25, a user read by id 0.33 ms instead of 0.26. A batch that is
/// full at once is written at once.
const LINGER: Duration = Duration::from_millis(25);

/// The advisory lock the log's writers of every replica take, on PostgreSQL.
const WRITERS_LOCK: i64 = 0x5c1a_c71e;

/// Makes ids become visible in increasing order, which the live streams rely on: on
/// PostgreSQL the writers of all replicas take turns until commit, so no id can commit
/// after a larger one was read. (SQLite has one writer.)
async fn in_commit_order(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [WRITERS_LOCK.into()],
        ))
        .await?;
    }
    Ok(())
}

pub struct Recorder {
    queue: Mutex<Option<mpsc::Sender<activity_entry::ActiveModel>>>,
    dropped: Arc<AtomicU64>,
    writer: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    body_bytes: usize,
    enabled: bool,
}

impl Recorder {
    pub fn start(storage: Storage, settings: &ActivitySettings) -> Self {
        let (queue, entries) = mpsc::channel(settings.queue_capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = tokio::spawn(write(
            storage,
            entries,
            // A batch larger than the queue could never fill, and would always linger.
            settings.batch.min(settings.queue_capacity).max(1),
            Arc::clone(&dropped),
        ));
        Self {
            queue: Mutex::new(Some(queue)),
            dropped,
            writer: tokio::sync::Mutex::new(Some(writer)),
            body_bytes: settings.body_bytes,
            enabled: settings.enabled,
        }
    }

    /// Whether requests are recorded at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Bytes of each body kept.
    pub fn body_bytes(&self) -> usize {
        self.body_bytes
    }

    /// Queues `entry`, or drops it if the queue is full (or closed).
    pub fn record(&self, entry: activity_entry::ActiveModel) {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let queued = queue
            .as_ref()
            .is_some_and(|queue| queue.try_send(entry).is_ok());
        if !queued {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "the provisioning log's queue is full; entries dropped"
                );
            }
        }
    }

    /// Entries dropped since start (queue full, or their insert failed).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether `close` was called: the server is shutting down.
    pub fn is_closed(&self) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// Stops taking entries and returns once everything queued is written.
    pub async fn close(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = self.writer.lock().await.take()
            && let Err(err) = writer.await
        {
            tracing::error!(error = %err, "the provisioning log's writer failed");
        }
    }
}

/// The next batch: waits for an entry, then takes what arrives within `LINGER` of it,
/// until the batch holds `batch` entries or the queue is closed. Empty once the queue is
/// closed and drained.
async fn next_batch(
    entries: &mut mpsc::Receiver<activity_entry::ActiveModel>,
    batch: usize,
) -> Vec<activity_entry::ActiveModel> {
    let mut taken = Vec::with_capacity(batch);
    if entries.recv_many(&mut taken, batch).await == 0 {
        return taken;
    }
    let deadline = Instant::now() + LINGER;
    while taken.len() < batch {
        let room = batch - taken.len();
        match tokio::time::timeout_at(deadline, entries.recv_many(&mut taken, room)).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    taken
}

async fn write(
    storage: Storage,
    mut entries: mpsc::Receiver<activity_entry::ActiveModel>,
    batch: usize,
    dropped: Arc<AtomicU64>,
) {
    loop {
        let rows = next_batch(&mut entries, batch).await;
        if rows.is_empty() {
            break;
        }
        let count = rows.len() as u64;
        // Power-of-two chunks: a handful of statements to prepare, not one per batch size.
        // Built here rather than in the write: on SQLite every write waits while the one
        // writer runs, and turning a batch of entries into its statement need not be part
        // of that wait.
        let backend = storage.backend();
        let inserts: Vec<Statement> = chunks(rows, batch)
            .map(|chunk| activity_entry::Entity::insert_many(chunk).build(backend))
            .collect();
        let written = storage
            .write(move |txn| {
                Box::pin(async move {
                    in_commit_order(txn).await?;
                    for insert in inserts {
                        txn.execute_raw(insert).await?;
                    }
                    notify::send(txn, notify::ACTIVITY, "").await?;
                    Ok(())
                })
            })
            .await;
        if written.is_ok() {
            storage.notifications().publish_local(notify::ACTIVITY, "");
        }
        if let Err(err) = written {
            dropped.fetch_add(count, Ordering::Relaxed);
            tracing::warn!(error = %err, count, "provisioning log entries could not be written");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Entry = activity_entry::ActiveModel;

    fn queue_of(entries: usize) -> (mpsc::Sender<Entry>, mpsc::Receiver<Entry>) {
        let (sender, receiver) = mpsc::channel(16);
        for _ in 0..entries {
            sender.try_send(Entry::default()).unwrap();
        }
        (sender, receiver)
    }

    /// The next batch's size, and how long (on the paused clock) it took to come.
    async fn timed_batch(receiver: &mut mpsc::Receiver<Entry>, batch: usize) -> (usize, Duration) {
        let start = Instant::now();
        let taken = next_batch(receiver, batch).await;
        (taken.len(), start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_batch_is_taken_without_waiting() {
        let (_sender, mut receiver) = queue_of(3);
        assert_eq!(timed_batch(&mut receiver, 2).await, (2, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn entries_arriving_within_the_linger_join_the_batch() {
        let (sender, mut receiver) = queue_of(1);
        let later = tokio::spawn(async move {
            tokio::time::sleep(LINGER / 2).await;
            sender.send(Entry::default()).await.unwrap();
            tokio::time::sleep(LINGER).await;
            sender.send(Entry::default()).await.unwrap();
        });
        assert_eq!(
            timed_batch(&mut receiver, 10).await,
            (2, LINGER),
            "the entry sent within the linger joins, the later one not"
        );
        later.await.unwrap();
        assert_eq!(receiver.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn closing_the_queue_ends_the_wait() {
        let (sender, mut receiver) = queue_of(1);
        let closing = tokio::spawn(async move {
            tokio::time::sleep(LINGER / 5).await;
            sender.send(Entry::default()).await.unwrap();
            drop(sender);
        });
        assert_eq!(
            timed_batch(&mut receiver, 10).await,
            (2, LINGER / 5),
            "what was sent before closing is taken"
        );
        closing.await.unwrap();
        assert_eq!(timed_batch(&mut receiver, 10).await, (0, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_queue_is_not_waited_for() {
        let (sender, mut receiver) = queue_of(1);
        drop(sender);
        assert_eq!(timed_batch(&mut receiver, 10).await, (1, Duration::ZERO));
        assert_eq!(timed_batch(&mut receiver, 10).await, (0, Duration::ZERO));
    }
}
