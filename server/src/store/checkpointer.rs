//! WAL checkpoints off the write path. By default SQLite checkpoints inside the commit
//! that takes the WAL past 1,000 pages: that commit (and every write of its batch) waits
//! while pages are copied into the database file and it is synced, 15–300 ms on this
//! disk under load, which was the whole tail of write latency. Here a connection of its
//! own checkpoints shortly after writes commit; `PASSIVE` never blocks the writer or the
//! readers. The writer keeps SQLite's own threshold: only a checkpoint in the writer's
//! commit leaves nothing behind, which lets the next write start the WAL over (a WAL
//! always being appended to is never wholly checkpointed by another connection, and would
//! grow without end). By then the checkpointer has copied nearly everything, so that
//! checkpoint is short.

use std::{sync::Arc, time::Duration};

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::{sync::Notify, task::JoinHandle};

/// Gathers the commits of this long into one checkpoint.
const PAUSE: Duration = Duration::from_millis(100);

pub struct Checkpointer {
    committed: Arc<Notify>,
    stop: Arc<Notify>,
    task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    pub fn start(connection: DatabaseConnection) -> Self {
        let committed = Arc::new(Notify::new());
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(run(connection, Arc::clone(&committed), Arc::clone(&stop)));
        Self {
            committed,
            stop,
            task: tokio::sync::Mutex::new(Some(task)),
        }
    }

    /// Where the writer says that it committed.
    pub fn committed(&self) -> Arc<Notify> {
        Arc::clone(&self.committed)
    }

    /// Checkpoints what is left and stops.
    pub async fn close(&self) {
        self.stop.notify_one();
        if let Some(task) = self.task.lock().await.take()
            && let Err(err) = task.await
        {
            tracing::error!(error = %err, "the checkpointer failed");
        }
    }
}

async fn run(connection: DatabaseConnection, committed: Arc<Notify>, stop: Arc<Notify>) {
    loop {
        let stopping = tokio::select! {
            biased;
            () = stop.notified() => true,
            () = committed.notified() => false,
        };
        if !stopping {
            tokio::time::sleep(PAUSE).await;
        }
        if let Err(err) = connection
            .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await
        {
            // The writer's own threshold still bounds the WAL.
            tracing::warn!(error = %err, "WAL checkpoint failed");
        }
        if stopping {
            break;
        }
    }
    if let Err(err) = connection.close().await {
        tracing::warn!(error = %err, "closing the checkpoint connection failed");
    }
}
